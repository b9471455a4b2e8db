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
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libunwind-coredump.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "core.h"
#include "fold.h"
#include "modules.h"
#include "report.h"
#include "target.h"
#include "unwind.h"

/* Exported by libunwind but not declared in its headers; perf declares it the same way. */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

struct unwind_ctx {
	struct UCD_info *ucd;
	const struct user_regs_struct *regs;	/* instead of ucd: a context the DAC gave */
	struct cp_target *t;
	struct cp_modules *mods;
};

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
	if (!m || cp_module_eh_frame_table(m, &hdr, &table, &count, &start, &end) < 0)
		return -UNW_ENOINFO;

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
	return dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
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
 * cfa (frame j+1's sp, or @sp itself when j is the last frame). */
static bool repeats(const unw_cursor_t *c, const struct loop_check *lc, size_t j, uint64_t ip, uint64_t sp)
{
	unw_cursor_t next = *c;	/* a cursor is copied by assignment (libunwind(3)) */
	unw_word_t cfa;

	if (lc->ip[j] != ip || lc->sp[j] != sp)
		return false;
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

/* Unwind into @th: through @fold when given (to the bottom, at most CP_UNWIND_MAX_WALK
 * frames, fold.c keeping what fits), else appending at most @max_frames frames. With
 * @stop_outside_modules, the walk ends at the first frame outside every ELF module, except
 * frame 0 when @start_anywhere. Returns true when it stopped at a loop. */
static bool unwind_one(unw_addr_space_t as, struct unwind_ctx *ctx, struct cp_thread *th, struct cp_fold *fold,
		       size_t max_frames, bool stop_outside_modules, bool start_anywhere)
{
	size_t first = th->n_frames;
	struct loop_check lc = { .base = fold ? 0 : first };
	unw_cursor_t c;
	bool exact_ip = true;	/* frame 0, and a frame a signal interrupted */
	bool prev_signal = false;	/* the frame before is a signal frame */

	int r = unw_init_remote(&c, as, ctx);
	if (r < 0) {
		thread_error(th, "cannot start unwinding", r);
		return false;
	}
	for (;;) {
		unw_word_t ip, sp;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
			break;
		if (lc.n > 0 && ip == 0)
			break;	/* the end of the chain in most ABIs' outermost frames */
		if (!frame_ok(&lc, th, &c, ip, sp, prev_signal))
			break;
		if (lc.n == (fold ? CP_UNWIND_MAX_WALK : max_frames)) {
			th->truncated = true;
			break;
		}
		/* JIT code: the DAC's walk takes over there (createdump stops the same way). */
		if (stop_outside_modules && !(start_anywhere && lc.n == 0) &&
		    !cp_modules_find(ctx->mods, exact_ip ? ip : ip - 1))
			break;
		if (loop_record(&lc, ip, sp) < 0)
			break;
		struct cp_frame one = { .ip = ip, .sp = sp };
		struct cp_frame *f = fold ? &one : cp_thread_add_frame(th, ip, sp);
		if (!f)
			break;
		/* The trampoline itself is entered by a "return" to its first byte. */
		bool sigreturn = is_sigreturn(ctx->t, ip);
		cp_modules_symbolize(ctx->mods, exact_ip || sigreturn ? ip : ip - 1, f);
		lc.prev_morestack = f->function && strcmp(f->function, "__morestack") == 0;
		/* Frame 0 is where it crashed: never a copy in a cycle, its own ip and line. */
		if (fold && (lc.n == 1 ? cp_fold_push_alone(fold, f) : cp_fold_push(fold, f)) < 0)
			break;

		exact_ip = sigreturn || unw_is_signal_frame(&c) > 0;
		prev_signal = exact_ip;
		r = unw_step(&c);
		if (r == 0)
			break;
		if (r < 0) {
			thread_error(th, "unwinding stopped", r);
			break;
		}
	}
	free(lc.ip);
	free(lc.sp);
	return lc.looped;
}

int cp_unwind_threads(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		      struct cp_report *report, size_t max_frames)
{
	_cleanup_close_ int fd = memfd_create("crashpipe-notes", MFD_CLOEXEC);
	char path[64];

	if (fd < 0)
		return -errno;
	int r = cp_core_write_notes(core, fd);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct unwind_ctx ctx = { .ucd = _UCD_create(path), .t = t, .mods = mods };
	if (!ctx.ucd) {
		cp_report_note(report, true, "libunwind-coredump could not read the core's notes; no native frames");
		return -EINVAL;
	}
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
	if (!as) {
		_UCD_destroy(ctx.ucd);
		return -ENOMEM;
	}
	unw_set_caching_policy(as, UNW_CACHE_GLOBAL);

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
		bool looped = unwind_one(as, &ctx, th, fold, max_frames, false, false);
		if ((cp_fold_finish(fold) < 0) | (cp_fold_to_thread(fold, th) < 0))
			cp_report_note(report, true, "thread %d: out of memory keeping its frames", th->tid);
		if (looped)
			cp_report_note(report, false, "thread %d: %s", th->tid, th->error);
	}
	unw_destroy_addr_space(as);
	_UCD_destroy(ctx.ucd);
	return 0;
}

int cp_unwind_regs(struct cp_target *t, struct cp_modules *mods, const struct user_regs_struct *regs,
		   size_t max_frames, bool start_anywhere, struct cp_thread *out)
{
	/* One address space for every call: the DAC's walk asks for hundreds of these, and
	 * libunwind's cache of unwind info (by address) stays valid for the process's life. */
	static unw_addr_space_t as;
	struct unwind_ctx ctx = { .regs = regs, .t = t, .mods = mods };

	if (!as) {
		as = unw_create_addr_space(&accessors, 0);
		if (!as)
			return -ENOMEM;
		unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	}
	unwind_one(as, &ctx, out, NULL, max_frames, true, start_anywhere);
	return 0;
}
