/*
 * unwind.c - native stacks with libunwind.
 *
 * libunwind-coredump serves the threads and their registers (_UCD_create,
 * _UCD_select_thread, _UCD_access_reg) from a core that holds nothing but the notes,
 * written to a memfd: with no NT_FILE note and no memory in it, libunwind-coredump has no
 * file to open on its own and no segment offsets to get wrong (Debian's 1.6.2 computes the
 * file offsets of segments that do not start at offset 0 wrongly).
 *
 * Memory and unwind tables come from us: access_mem reads the target (the core, else the
 * mapped file), and find_proc_info hands the module's .eh_frame_hdr table to libunwind's
 * dwarf_search_unwind_table as a UNW_INFO_FORMAT_REMOTE_TABLE, the way perf drives
 * libunwind. An address outside every ELF module gets -UNW_ENOINFO without libunwind being
 * asked about it: libunwind up to 1.8.3 can unmap a range twice when it tries to map an
 * image that is not ELF (upstream issue 738), and a .NET thread runs code from mapped PE
 * files and JIT memory; the second munmap can free memory the DAC has since been given.
 *
 * Where libunwind has no table for a frame inside an ELF module (a static executable is
 * linked without .eh_frame_hdr; code whose CFI is only in .debug_frame; code with no CFI
 * at all), the walk goes on from that frame with libdwfl's unwinder (unwind-dwfl.c): its
 * CFI from .eh_frame or .debug_frame, else its frame-pointer step. It stays with libdwfl
 * from there, except through a kernel signal frame no CFI describes (musl's __restore_rt):
 * libunwind knows that one by its code and steps it from the frame's registers. Each frame
 * says which unwinder found it (enum cp_unwinder).
 *
 * The state all this keeps (libunwind's address space, with its cache of unwind info by
 * address, and libdwfl's attached thread state) is valid for one set of modules: it
 * belongs to the struct cp_modules it unwinds through (cp_modules_set_unwinder()), made at
 * the first unwind and destroyed with the modules.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libunwind-coredump.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include "cleanup.h"
#include "core.h"
#include "fold.h"
#include "modules.h"
#include "report.h"
#include "target.h"
#include "unwind-dwfl.h"
#include "unwind.h"

/* Exported by libunwind but not declared in its headers; perf declares it the same way. */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

struct unwind_ctx {
	struct UCD_info *ucd;
	const struct user_regs_struct *regs;	/* instead of ucd: a context the DAC gave, or
						 * a frame the walk restarts from */
	struct cp_target *t;
	struct cp_modules *mods;
	bool noinfo;			/* find_proc_info found no table for an address */
};

/* What the unwinder keeps over one struct cp_modules (owned by it). */
struct cp_unwind_state {
	unw_addr_space_t as;
	struct cp_dwfl_unwind *dwfl;	/* NULL: libdwfl could not be attached */
};

static void unwinder_destroy(void *p)
{
	struct cp_unwind_state *uw = p;

	unw_destroy_addr_space(uw->as);
	cp_dwfl_unwind_destroy(uw->dwfl);
	free(uw);
}

static unw_accessors_t accessors;

/* The unwinder state of @mods, made at the first call. */
static struct cp_unwind_state *unwinder_get(struct cp_modules *mods, struct cp_target *t)
{
	struct cp_unwind_state *uw = cp_modules_unwinder(mods);

	if (uw)
		return uw;
	uw = calloc(1, sizeof(*uw));
	if (!uw)
		return NULL;
	uw->as = unw_create_addr_space(&accessors, 0);
	if (!uw->as) {
		free(uw);
		return NULL;
	}
	unw_set_caching_policy(uw->as, UNW_CACHE_GLOBAL);
	if (cp_dwfl_unwind_create(mods, t, &uw->dwfl) < 0)
		uw->dwfl = NULL;
	cp_modules_set_unwinder(mods, uw, unwinder_destroy);
	return uw;
}

/* libunwind's x86_64 register numbers, in the order of <libunwind-x86_64.h>. */
static int regs_get(const struct user_regs_struct *r, unw_regnum_t reg, unw_word_t *val)
{
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = r->rip; break;
	default: return -UNW_EBADREG;
	}
	return 0;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct unwind_ctx *ctx = arg;
	uint64_t hdr, table, count, start, end;

	const struct cp_module *m = cp_modules_find(ctx->mods, ip);
	if (!m || cp_module_eh_frame_table(m, &hdr, &table, &count, &start, &end) < 0) {
		ctx->noinfo = true;
		return -UNW_ENOINFO;
	}

	unw_dyn_info_t di = {
		.format = UNW_INFO_FORMAT_REMOTE_TABLE,
		.start_ip = start,
		.end_ip = end,
		.u.rti = {
			.segbase = hdr,
			.table_data = table,
			/* in unw_word_t units: each entry is two 32-bit words */
			.table_len = count * 8 / sizeof(unw_word_t),
		},
	};
	int r = dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	if (r == -UNW_ENOINFO)
		ctx->noinfo = true;
	return r;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* dwarf_search_unwind_table's info is freed by libunwind itself. */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil_addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct unwind_ctx *ctx = arg;

	if (write)
		return -UNW_EREADONLYREG;
	return cp_target_read(ctx->t, addr, val, sizeof(*val)) < 0 ? -UNW_EINVAL : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	struct unwind_ctx *ctx = arg;
	if (ctx->regs)
		return write ? -UNW_EREADONLYREG : regs_get(ctx->regs, reg, val);
	return _UCD_access_reg(as, reg, val, write, ctx->ucd);
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	struct unwind_ctx *ctx = arg;
	if (ctx->regs)
		return -UNW_EBADREG;
	return _UCD_access_fpreg(as, reg, val, write, ctx->ucd);
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

/* Symbols come from libdwfl; libunwind never looks them up. */
static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

/* Is @ip the kernel's signal return trampoline (glibc's __restore_rt: mov $15,%rax;
 * syscall)? The frame it returns to was interrupted, not called: its ip is exact. */
static bool is_sigreturn(struct cp_target *t, uint64_t ip)
{
	static const unsigned char code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
	unsigned char buf[sizeof(code)];

	return cp_target_read(t, ip, buf, sizeof(buf)) == 0 && memcmp(buf, code, sizeof(code)) == 0;
}

static void thread_error(struct cp_thread *th, const char *what, int r)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s: %s", what, unw_strerror(r));
	free(th->error);
	th->error = strdup(buf);
}

/*
 * Loops. A crafted stack can make the unwind cycle: A -> B -> A -> B ..., over any number
 * of frames, and would run to the walk's limit. Two rules, gdb's ("previous frame inner to
 * this frame (corrupt stack?)", and no frame id twice):
 *  - a caller's frame is outer to its callee's: its sp is strictly above the callee's
 *    (libunwind's sp of frame k is the CFA of frame k-1). Except above a signal frame: the
 *    interrupted code can be on another stack than the handler (sigaltstack), below it; and
 *    above __morestack, which switches stacks (-fsplit-stack). A stack that goes inward
 *    anywhere else is corrupt: the walk stops there.
 *  - a frame whose state (ip, sp, cfa) is the one of a frame before it is a loop: every
 *    frame after it would repeat the frames in between. Only possible once the sp went
 *    down (or does now): it rises strictly otherwise. The cfa of the new frame is found by
 *    stepping a copy of the cursor.
 * The walk goes to the bottom of deep stacks (fold.c keeps what fits), so the frames seen
 * are not all kept: their ip and sp are (16 bytes a frame). Between two steps down the sp
 * rises strictly, so the one earlier frame of a run with the new frame's sp is found by
 * binary search, in each of the (few) runs.
 */
#define MAX_RUNS 1024u

struct loop_check {
	uint64_t *ip, *sp;	/* every frame of the walk so far */
	size_t n, alloc;
	size_t runs[MAX_RUNS];	/* where each run of rising sps starts */
	size_t n_runs;
	size_t base;		/* the walk's first frame's number in the thread */
	bool went_down;		/* some sp was not above the one before (after a signal frame) */
	bool prev_morestack;	/* the frame before is __morestack */
	bool looped;		/* the walk stopped at a loop */
};

static int loop_record(struct loop_check *lc, uint64_t ip, uint64_t sp)
{
	if (lc->n == lc->alloc) {
		size_t n = lc->alloc ? lc->alloc * 2 : 256;
		uint64_t *a = realloc(lc->ip, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		lc->ip = a;
		a = realloc(lc->sp, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		lc->sp = a;
		lc->alloc = n;
	}
	lc->ip[lc->n] = ip;
	lc->sp[lc->n] = sp;
	lc->n++;
	return 0;
}

/* The frame at @c, with @ip and @sp, repeats frame @j: the same ip and sp, and the same
 * cfa (frame j+1's sp, or @sp itself when j is the last frame). Without a libunwind
 * cursor (a frame libdwfl found), the same ip and sp. */
static bool repeats(const unw_cursor_t *c, const struct loop_check *lc, size_t j, uint64_t ip, uint64_t sp)
{
	unw_word_t cfa;

	if (lc->ip[j] != ip || lc->sp[j] != sp)
		return false;
	if (!c)
		return true;
	unw_cursor_t next = *c;	/* a cursor is copied by assignment (libunwind(3)) */
	if (unw_step(&next) <= 0 || unw_get_reg(&next, UNW_REG_SP, &cfa) < 0)
		return false;
	return cfa == (j + 1 < lc->n ? lc->sp[j + 1] : sp);
}

/* The earlier frame that the one at @c repeats, or SIZE_MAX. */
static size_t find_repeat(const unw_cursor_t *c, const struct loop_check *lc, uint64_t ip, uint64_t sp)
{
	for (size_t r = 0; r < lc->n_runs; r++) {
		size_t lo = lc->runs[r], hi = r + 1 < lc->n_runs ? lc->runs[r + 1] : lc->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (lc->sp[mid] < sp)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < (r + 1 < lc->n_runs ? lc->runs[r + 1] : lc->n) && lc->sp[lo] == sp &&
		    repeats(c, lc, lo, ip, sp))
			return lo;
	}
	return SIZE_MAX;
}

/* The frame at @c with @ip, @sp is about to be the walk's next; the one before was
 * @prev_signal. Returns false (with the thread's error set) when the walk must stop. */
static bool frame_ok(struct loop_check *lc, struct cp_thread *th, const unw_cursor_t *c, uint64_t ip,
		     uint64_t sp, bool prev_signal)
{
	size_t k = lc->n;
	char buf[160];

	if (k == 0) {
		lc->runs[lc->n_runs++] = 0;
		return true;
	}
	uint64_t prev_sp = lc->sp[k - 1];
	bool down = sp <= prev_sp;
	if (down || lc->went_down) {
		size_t j = find_repeat(c, lc, ip, sp);
		if (j != SIZE_MAX) {
			snprintf(buf, sizeof(buf), "unwinding stopped: the stack loops (frame %zu repeats frame %zu)",
				 lc->base + k, lc->base + j);
			lc->looped = true;
			goto stop;
		}
	}
	if (down) {
		if (!prev_signal && !lc->prev_morestack) {
			snprintf(buf, sizeof(buf),
				 "unwinding stopped: frame %zu's sp 0x%" PRIx64 " is not above frame %zu's 0x%" PRIx64 " (corrupt stack?)",
				 lc->base + k, sp, lc->base + k - 1, prev_sp);
			goto stop;
		}
		if (lc->n_runs == MAX_RUNS) {
			snprintf(buf, sizeof(buf), "unwinding stopped: the stack switches more than %u times", MAX_RUNS);
			goto stop;
		}
		lc->runs[lc->n_runs++] = k;
		lc->went_down = true;
	}
	return true;
stop:
	free(th->error);
	th->error = strdup(buf);
	return false;
}

/* One thread's walk: the frames so far and where they go. */
struct walk {
	struct unwind_ctx *ctx;
	struct cp_unwind_state *uw;
	struct cp_thread *th;
	struct cp_fold *fold;		/* NULL: append to th, at most max_frames */
	size_t max_frames;
	bool stop_outside_modules, start_anywhere;
	struct loop_check lc;
	bool last_sigreturn;		/* the last frame added is a sigreturn trampoline */
	bool last_exact;		/* its ip is exact */
	uint64_t last_fn_offset;	/* its ip - its function's start, when last_has_offset */
	bool last_has_offset;
	bool frameless;			/* libdwfl's frame-pointer step out of the last frame
					 * was refused: its function keeps no frame pointer, */
	uint64_t frameless_at;		/* its return address is at its sp + this */
};

static void thread_error_str(struct cp_thread *th, const char *what, const char *why)
{
	char buf[200];

	snprintf(buf, sizeof(buf), "%s: %s", what, why);
	free(th->error);
	th->error = strdup(buf);
}

/* Add the frame at @ip, @sp (@exact_ip: frame 0 or a frame a signal interrupted), found
 * by @u; @c is libunwind's cursor at it, NULL for libdwfl's. Returns false when the walk
 * ends here (the frame is then not added). */
static bool walk_add(struct walk *w, const unw_cursor_t *c, uint64_t ip, uint64_t sp, bool exact_ip,
		     enum cp_unwinder u)
{
	struct loop_check *lc = &w->lc;

	if (lc->n > 0 && ip == 0)
		return false;	/* the end of the chain in most ABIs' outermost frames */
	if (!frame_ok(lc, w->th, c, ip, sp, lc->n > 0 && exact_ip))
		return false;
	if (lc->n == (w->fold ? CP_UNWIND_MAX_WALK : w->max_frames)) {
		w->th->truncated = true;
		return false;
	}
	/* JIT code: the DAC's walk takes over there (createdump stops the same way). */
	if (w->stop_outside_modules && !(w->start_anywhere && lc->n == 0) &&
	    !cp_modules_find(w->ctx->mods, exact_ip ? ip : ip - 1))
		return false;
	if (loop_record(lc, ip, sp) < 0)
		return false;
	struct cp_frame one = { .ip = ip, .sp = sp };
	struct cp_frame *f = w->fold ? &one : cp_thread_add_frame(w->th, ip, sp);
	if (!f)
		return false;
	f->unwinder = lc->n == 1 ? CP_UNWINDER_NONE : u;
	/* The trampoline itself is entered by a "return" to its first byte. */
	w->last_sigreturn = is_sigreturn(w->ctx->t, ip);
	cp_modules_symbolize(w->ctx->mods, exact_ip || w->last_sigreturn ? ip : ip - 1, f);
	lc->prev_morestack = f->function && strcmp(f->function, "__morestack") == 0;
	w->last_exact = exact_ip;
	w->last_has_offset = f->has_offset;
	w->last_fn_offset = f->offset;
	/* Frame 0 is where it crashed: never a copy in a cycle, its own ip and line. */
	if (w->fold && (lc->n == 1 ? cp_fold_push_alone(w->fold, f) : cp_fold_push(w->fold, f)) < 0)
		return false;
	return true;
}

/* Where the frame with the exact @ip, @fn_offset bytes into its function, has its
 * return address, for a function without CFI: at its sp + *@at, when the function has
 * not set up a frame pointer there (before its "push %rbp; mov %rsp,%rbp", or it has none,
 * like a leaf function); false when it has. The stack adjustments of the prologue before
 * @ip (pushes, "sub $n,%rsp") are added up, to the first other instruction; gdb's amd64
 * prologue analysis makes the same call. */
static bool frameless_ra(struct cp_target *t, uint64_t ip, uint64_t fn_offset, uint64_t *at)
{
	enum {
		PUSH_RBP = 0x55, PUSH_REG = 0x50, PUSH_REG_LAST = 0x57, REX_B = 0x41, REX_W = 0x48,
		PUSH_IMM8 = 0x6a, PUSH_IMM32 = 0x68, GRP1_IMM8 = 0x83, GRP1_IMM32 = 0x81,
		MODRM_SUB_RSP = 0xec,
	};
	static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const unsigned char mov_rsp_rbp[] = { REX_W, 0x89, 0xe5 };
	unsigned char code[64];

	if (fn_offset > ip)
		return false;
	/* the prologue's first bytes up to ip (n), and a few more for the patterns */
	size_t n = fn_offset < sizeof(code) - 8 ? fn_offset : sizeof(code) - 8;
	if (cp_target_read(t, ip - fn_offset, code, n + 8) < 0)
		return false;
	size_t p = 0;
	uint64_t adj = 0;
	if (memcmp(code, endbr64, sizeof(endbr64)) == 0)
		p = sizeof(endbr64);
	if (code[p] == PUSH_RBP && memcmp(code + p + 1, mov_rsp_rbp, sizeof(mov_rsp_rbp)) == 0) {
		if (fn_offset > p + sizeof(mov_rsp_rbp))
			return false;	/* rbp is the frame pointer */
		*at = fn_offset > p ? 8 : 0;
		return true;
	}
	/* The instructions wholly before ip, while they are ones that move rsp. */
	while (p < n) {
		size_t len;
		uint64_t d;
		if (code[p] >= PUSH_REG && code[p] <= PUSH_REG_LAST)
			len = 1, d = 8;
		else if (code[p] == REX_B && code[p + 1] >= PUSH_REG && code[p + 1] <= PUSH_REG_LAST)
			len = 2, d = 8;
		else if (code[p] == PUSH_IMM8)
			len = 2, d = 8;
		else if (code[p] == PUSH_IMM32)
			len = 5, d = 8;
		else if (code[p] == REX_W && code[p + 1] == GRP1_IMM8 && code[p + 2] == MODRM_SUB_RSP)
			len = 4, d = (uint64_t)(int64_t)(int8_t)code[p + 3];
		else if (code[p] == REX_W && code[p + 1] == GRP1_IMM32 && code[p + 2] == MODRM_SUB_RSP) {
			int32_t imm;
			memcpy(&imm, code + p + 3, sizeof(imm));
			len = 7, d = (uint64_t)(int64_t)imm;
		} else
			break;
		if (p + len > n)
			break;	/* ip is inside it: not done yet */
		adj += d;
		p += len;
	}
	if (adj > (1u << 20))
		return false;
	*at = adj;
	return true;
}

static bool dwfl_frame(void *arg, uint64_t ip, uint64_t sp, bool exact, bool by_frame_pointer)
{
	struct walk *w = arg;
	uint64_t at;

	/* The frame pointer chain skips the caller of a frame that has none of its own. */
	if (by_frame_pointer && w->last_exact && w->last_has_offset && w->lc.n > 0 &&
	    frameless_ra(w->ctx->t, w->lc.ip[w->lc.n - 1], w->last_fn_offset, &at)) {
		w->frameless = true;
		w->frameless_at = at;
		return false;
	}
	/* A frame a signal trampoline returns to was interrupted, not called. */
	bool exact_ip = exact || w->last_sigreturn;

	return walk_add(w, NULL, ip, sp, exact_ip, by_frame_pointer ? CP_UNWINDER_FRAME_POINTER : CP_UNWINDER_LIBDWFL);
}

/* The registers the kernel saved in the signal frame of the trampoline frame at @sp
 * (the ucontext it returns through: its layout is the kernel's, the same for every libc). */
static int sigframe_regs(struct cp_target *t, uint64_t sp, struct cp_dwfl_regs *regs)
{
	/* The x86-64 DWARF number of each of the kernel's saved registers, REG_R8 .. REG_RIP */
	static const int8_t dwarf_of[] = {
		[REG_R8] = 8, [REG_R9] = 9, [REG_R10] = 10, [REG_R11] = 11, [REG_R12] = 12,
		[REG_R13] = 13, [REG_R14] = 14, [REG_R15] = 15, [REG_RDI] = 5, [REG_RSI] = 4,
		[REG_RBP] = 6, [REG_RBX] = 3, [REG_RDX] = 1, [REG_RAX] = 0, [REG_RCX] = 2,
		[REG_RSP] = CP_DWFL_REG_SP, [REG_RIP] = CP_DWFL_REG_IP,
	};
	uint64_t gregs[REG_RIP + 1];

	if (cp_target_read(t, sp + offsetof(ucontext_t, uc_mcontext.gregs), gregs, sizeof(gregs)) < 0)
		return -EFAULT;
	regs->have = 0;
	for (int i = 0; i <= REG_RIP; i++) {
		regs->val[dwarf_of[i]] = gregs[i];
		regs->have |= 1u << dwarf_of[i];
	}
	return 0;
}

/* Go on with libdwfl from @regs (the last frame added, exact or a return address). A
 * kernel signal frame without CFI (musl's __restore_rt; libunwind steps those only in its
 * debug builds) is stepped here, from the registers the kernel saved. */
static void walk_libdwfl(struct walk *w, const struct cp_dwfl_regs *from, bool exact)
{
	struct cp_dwfl_regs regs = *from, last;

	for (;;) {
		const char *err = NULL;
		w->frameless = false;
		int r = cp_dwfl_unwind_walk(w->uw->dwfl, &regs, exact, dwfl_frame, w, &err, &last);
		if (r == 1 && !w->frameless)
			return;
		/* libdwfl's frame-pointer step refused, or failed (no frame pointer to
		 * follow) out of an exact frame without CFI: */
		uint64_t at;
		if (r < 0 && !w->last_sigreturn && w->last_exact && w->last_has_offset &&
		    frameless_ra(w->ctx->t, w->lc.ip[w->lc.n - 1], w->last_fn_offset, &at) &&
		    !cp_dwfl_unwind_has_cfi(w->uw->dwfl, w->lc.ip[w->lc.n - 1])) {
			w->frameless = true;
			w->frameless_at = at;
		}
		if (w->frameless) {
			/* The caller's ip is at the frameless frame's sp, its sp above it, the
			 * other registers still the caller's. */
			uint64_t sp = w->lc.sp[w->lc.n - 1] + w->frameless_at, ip;
			if (cp_target_read(w->ctx->t, sp, &ip, sizeof(ip)) < 0 ||
			    !walk_add(w, NULL, ip, sp + 8, false, CP_UNWINDER_FRAME_POINTER))
				return;
			regs = last;
			regs.val[CP_DWFL_REG_IP] = ip;
			regs.val[CP_DWFL_REG_SP] = sp + 8;
			regs.have |= 1u << CP_DWFL_REG_IP | 1u << CP_DWFL_REG_SP;
			exact = false;
			continue;
		}
		if (r == 1 || w->lc.n == 0)
			return;
		if (w->last_sigreturn && sigframe_regs(w->ctx->t, w->lc.sp[w->lc.n - 1], &regs) == 0) {
			if (!walk_add(w, NULL, regs.val[CP_DWFL_REG_IP], regs.val[CP_DWFL_REG_SP], true,
				      CP_UNWINDER_SIGNAL_FRAME))
				return;
			exact = true;
			continue;
		}
		if (r < 0)
			thread_error_str(w->th, "unwinding stopped (libdwfl)", err ? err : "unknown error");
		return;
	}
}

/* The registers libunwind has for the frame at @c, for libdwfl. */
static void cursor_regs(unw_cursor_t *c, struct cp_dwfl_regs *regs)
{
	regs->have = 0;
	for (int i = 0; i < CP_DWFL_NREGS; i++) {
		unw_word_t v;
		/* UNW_X86_64_RAX .. UNW_X86_64_RIP are the DWARF numbers 0..16 */
		if (unw_get_reg(c, i, &v) == 0) {
			regs->val[i] = v;
			regs->have |= 1u << i;
		}
	}
}

/* Walk with libunwind from the thread's registers (the thread selected in ctx->ucd, or
 * ctx->regs); where it has no table, with libdwfl from there on. */
static void walk_libunwind(struct walk *w)
{
	struct unwind_ctx *ctx = w->ctx;
	unw_cursor_t c;
	bool exact_ip = true;	/* frame 0, and a frame a signal interrupted */

	int r = unw_init_remote(&c, w->uw->as, ctx);
	if (r < 0) {
		thread_error(w->th, "cannot start unwinding", r);
		return;
	}
	for (;;) {
		unw_word_t ip, sp;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
			break;
		if (!walk_add(w, &c, ip, sp, exact_ip, CP_UNWINDER_LIBUNWIND))
			break;
		bool sigreturn = w->last_sigreturn || unw_is_signal_frame(&c) > 0;
		unw_cursor_t here = c;
		ctx->noinfo = false;
		r = unw_step(&c);
		/* No table for a frame in an ELF module: libunwind's guess is not CFI. libdwfl
		 * goes on from here (a signal frame libunwind knows by its code is stepped). */
		if ((ctx->noinfo || r < 0) && !(sigreturn && r > 0) && w->uw->dwfl &&
		    cp_modules_find(ctx->mods, exact_ip ? ip : ip - 1)) {
			struct cp_dwfl_regs regs;
			cursor_regs(&here, &regs);
			walk_libdwfl(w, &regs, exact_ip);
			return;
		}
		if (r == 0)
			break;
		if (r < 0) {
			thread_error(w->th, "unwinding stopped", r);
			break;
		}
		exact_ip = sigreturn;
	}
}

/* Unwind into @th: through @fold when given (to the bottom, at most CP_UNWIND_MAX_WALK
 * frames, fold.c keeping what fits), else appending at most @max_frames frames. With
 * @stop_outside_modules, the walk ends at the first frame outside every ELF module, except
 * frame 0 when @start_anywhere. Returns true when it stopped at a loop. */
static bool unwind_one(struct cp_unwind_state *uw, struct unwind_ctx *ctx, struct cp_thread *th, struct cp_fold *fold,
		       size_t max_frames, bool stop_outside_modules, bool start_anywhere)
{
	struct walk w = {
		.ctx = ctx,
		.uw = uw,
		.th = th,
		.fold = fold,
		.max_frames = max_frames,
		.stop_outside_modules = stop_outside_modules,
		.start_anywhere = start_anywhere,
		.lc = { .base = fold ? 0 : th->n_frames },
	};

	walk_libunwind(&w);
	free(w.lc.ip);
	free(w.lc.sp);
	return w.lc.looped;
}

int cp_unwind_threads(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		      struct cp_report *report, size_t max_frames)
{
	_cleanup_close_ int fd = memfd_create("crashpipe-notes", MFD_CLOEXEC);
	char path[64];

	if (fd < 0)
		return -errno;
	struct cp_unwind_state *uw = unwinder_get(mods, t);
	if (!uw)
		return -ENOMEM;
	int r = cp_core_write_notes(core, fd);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct unwind_ctx ctx = { .ucd = _UCD_create(path), .t = t, .mods = mods };
	if (!ctx.ucd) {
		cp_report_note(report, true, "libunwind-coredump could not read the core's notes; no native frames");
		return -EINVAL;
	}

	int n = _UCD_get_num_threads(ctx.ucd);
	if ((size_t)n != core->n_threads)
		cp_report_note(report, true, "libunwind-coredump sees %d threads, the core %zu", n, core->n_threads);
	for (int i = 0; i < n && (size_t)i < report->n_threads; i++) {
		_UCD_select_thread(ctx.ucd, i);
		struct cp_thread *th = &report->threads[i];
		/* To the bottom: the first frames and the last ones are kept, cycles folded. */
		struct cp_fold *fold = cp_fold_create(&cp_fold_frame_ops, max_frames);
		if (!fold)
			break;
		bool looped = unwind_one(uw, &ctx, th, fold, max_frames, false, false);
		if ((cp_fold_finish(fold) < 0) | (cp_fold_to_thread(fold, th) < 0))
			cp_report_note(report, true, "thread %d: out of memory keeping its frames", th->tid);
		if (looped)
			cp_report_note(report, false, "thread %d: %s", th->tid, th->error);
	}
	_UCD_destroy(ctx.ucd);
	return 0;
}

int cp_unwind_regs(struct cp_target *t, struct cp_modules *mods, const struct user_regs_struct *regs,
		   size_t max_frames, bool start_anywhere, struct cp_thread *out)
{
	/* The DAC's walk asks for hundreds of these: libunwind's cache of unwind info (by
	 * address) is the modules' for their life. */
	struct cp_unwind_state *uw = unwinder_get(mods, t);
	struct unwind_ctx ctx = { .regs = regs, .t = t, .mods = mods };

	if (!uw)
		return -ENOMEM;
	unwind_one(uw, &ctx, out, NULL, max_frames, true, start_anywhere);
	return 0;
}
