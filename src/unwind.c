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
 * of frames, and would run to --max-frames. Two rules, gdb's ("previous frame inner to this
 * frame (corrupt stack?)", and no frame id twice):
 *  - a caller's frame is outer to its callee's: its sp is strictly above the callee's
 *    (libunwind's sp of frame k is the CFA of frame k-1). Except above a signal frame: the
 *    interrupted code can be on another stack than the handler (sigaltstack), below it; and
 *    above __morestack, which switches stacks (-fsplit-stack). A stack that goes inward
 *    anywhere else is corrupt: the walk stops there.
 *  - a frame whose state (ip, sp, cfa) is the one of a frame before it is a loop: every
 *    frame after it would repeat the frames in between. Only possible once the sp went
 *    down (or does now): it rises strictly otherwise. The cfa of the new frame is found by
 *    stepping a copy of the cursor.
 */
struct loop_check {
	size_t first;		/* the walk's first frame in th->frames */
	bool went_down;		/* some sp was not above the one before (after a signal frame) */
	bool looped;		/* the walk stopped at a loop */
};

/* The frame at @c, with @ip and @sp, repeats frame @j of @th: the same ip and sp, and the
 * same cfa (frame j+1's sp, or @sp itself when j is the last frame). */
static bool repeats(const unw_cursor_t *c, const struct cp_thread *th, size_t j, uint64_t ip, uint64_t sp)
{
	const struct cp_frame *f = &th->frames[j];
	unw_cursor_t next = *c;	/* a cursor is copied by assignment (libunwind(3)) */
	unw_word_t cfa;

	if (f->ip != ip || f->sp != sp)
		return false;
	if (unw_step(&next) <= 0 || unw_get_reg(&next, UNW_REG_SP, &cfa) < 0)
		return false;
	return cfa == (j + 1 < th->n_frames ? th->frames[j + 1].sp : sp);
}

/* The frame at @c with @ip, @sp is about to be added as frame k of @th; frame k-1 was
 * @prev_signal. Returns false (with the thread's error set) when the walk must stop. */
static bool frame_ok(struct loop_check *lc, struct cp_thread *th, const unw_cursor_t *c, uint64_t ip,
		     uint64_t sp, bool prev_signal)
{
	size_t k = th->n_frames;
	char buf[160];

	if (k == lc->first)
		return true;
	const struct cp_frame *prev = &th->frames[k - 1];
	bool down = sp <= prev->sp;
	if (down || lc->went_down) {
		for (size_t j = lc->first; j < k; j++) {
			if (repeats(c, th, j, ip, sp)) {
				snprintf(buf, sizeof(buf), "unwinding stopped: the stack loops (frame %zu repeats frame %zu)", k, j);
				lc->looped = true;
				goto stop;
			}
		}
	}
	if (down) {
		bool morestack = prev->function && strcmp(prev->function, "__morestack") == 0;
		if (!prev_signal && !morestack) {
			snprintf(buf, sizeof(buf),
				 "unwinding stopped: frame %zu's sp 0x%" PRIx64 " is not above frame %zu's 0x%" PRIx64 " (corrupt stack?)",
				 k, sp, k - 1, prev->sp);
			goto stop;
		}
		lc->went_down = true;
	}
	return true;
stop:
	free(th->error);
	th->error = strdup(buf);
	return false;
}

/* With @stop_outside_modules, the walk ends at the first frame outside every ELF module,
 * except frame 0 when @start_anywhere. Returns true when it stopped at a loop. */
static bool unwind_one(unw_addr_space_t as, struct unwind_ctx *ctx, struct cp_thread *th,
		       size_t max_frames, bool stop_outside_modules, bool start_anywhere)
{
	size_t first = th->n_frames;
	struct loop_check lc = { .first = first };
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
		if (th->n_frames > first && ip == 0)
			break;	/* the end of the chain in most ABIs' outermost frames */
		if (!frame_ok(&lc, th, &c, ip, sp, prev_signal))
			break;
		if (th->n_frames == max_frames) {
			th->truncated = true;
			break;
		}
		/* JIT code: the DAC's walk takes over there (createdump stops the same way). */
		if (stop_outside_modules && !(start_anywhere && th->n_frames == first) &&
		    !cp_modules_find(ctx->mods, exact_ip ? ip : ip - 1))
			break;
		struct cp_frame *f = cp_thread_add_frame(th, ip, sp);
		if (!f)
			break;
		/* The trampoline itself is entered by a "return" to its first byte. */
		bool sigreturn = is_sigreturn(ctx->t, ip);
		cp_modules_symbolize(ctx->mods, exact_ip || sigreturn ? ip : ip - 1, f);

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
		if (unwind_one(as, &ctx, th, max_frames, false, false))
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
	unwind_one(as, &ctx, out, out->n_frames + max_frames, true, start_anywhere);
	return 0;
}
