/*
 * dac.c - see dac.h. The parent: runtime.c finds the runtime and decides whether its DAC
 * may be loaded; we fork the DAC's process (worker.c) with a pipe made for it alone,
 * collect at most CP_WIRE_MAX_TOTAL bytes from it within its time, parse them strictly
 * (wire.c) and merge the managed frames with the native ones the way createdump does:
 * frames from the native unwind of the thread, the DAC's stack walk, and the native unwind
 * from each context the walk passes through, keyed and ordered by stack pointer, a managed
 * frame winning over a native one at the same SP.
 *
 * What the DAC's process sends is not trusted: it can cost the report its own managed
 * frames and exceptions, nothing else. Its threads must be the core's, its sizes are
 * bounded, and the first violation ends the stream, with a note saying why.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "core.h"
#include "dac.h"
#include "fold.h"
#include "fsopen.h"
#include "modules.h"
#include "report.h"
#include "runtime.h"
#include "target.h"
#include "unwind.h"
#include "wire.h"
#include "worker.h"

/* The method a FRAME or an EXCEPTION_FRAME names, into the report's frame @f: its name
 * and assembly taken from the wire (*@name and *@assembly become NULL). */
static void set_method(struct cp_frame *f, char **name, char **assembly, uint32_t token, bool has_il, uint32_t il)
{
	f->function = TAKE_PTR(*name);
	f->assembly = TAKE_PTR(*assembly);
	f->module = f->assembly ? strdup(f->assembly) : NULL;
	f->token = token;
	f->has_token = token != 0;
	f->il_offset = il;
	f->has_il_offset = has_il;
}

/* One exception of the wire as the report's, with the stack its object recorded. */
static struct cp_exception *exception_node(struct cp_wire_exception *w)
{
	struct cp_exception *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->hresult = (int32_t)w->hresult;
	e->has_hresult = w->hresult != 0;
	e->type = TAKE_PTR(w->type);
	e->message = TAKE_PTR(w->message);
	for (size_t i = 0; i < w->n_frames; i++) {
		struct cp_wire_exception_frame *d = &w->frames[i];
		struct cp_frame *f = cp_exception_add_frame(e, d->ip, d->sp);
		if (!f)
			break;
		f->kind = CP_FRAME_MANAGED;
		set_method(f, &d->name, &d->assembly, d->token, d->has_il, d->il);
		f->segment = (int)d->segment;
	}
	/* No frames (an exception never thrown, or a stack the DAC could not read): has_stack
	 * stays false, "stack" null. */
	return e;
}

/* The thread's exceptions as the report's tree: [0] the root, each other one an inner one
 * of its parent, which came before it (wire.c checked that). */
static struct cp_exception *exception_tree(struct cp_wire_thread *dt)
{
	_cleanup_free_ struct cp_exception **made = calloc(dt->n_exceptions + 1, sizeof(*made));
	if (!made)
		return NULL;
	for (size_t i = 0; i < dt->n_exceptions; i++) {
		struct cp_wire_exception *w = &dt->exceptions[i];
		if (i > 0 && (w->parent >= i || !made[w->parent]))
			break;
		struct cp_exception *e = exception_node(w);
		if (!e)
			break;
		if (i > 0 && cp_exception_add_inner(made[w->parent], e) < 0)
			break;
		made[i] = e;
	}
	return made[0];
}

static int cmp_sp(const void *a, const void *b)
{
	const struct cp_frame *x = a, *y = b;
	if (x->sp != y->sp)
		return x->sp < y->sp ? -1 : 1;
	/* At one SP a managed frame comes first, so it is the one kept. */
	return (x->kind == CP_FRAME_NATIVE) - (y->kind == CP_FRAME_NATIVE);
}

/* Append a copy of @f to @th (taking its strings). */
static void take_frame(struct cp_thread *th, struct cp_frame *f)
{
	struct cp_frame *n = cp_thread_add_frame(th, f->ip, f->sp);
	if (!n) {
		cp_frame_deinit(f);
		return;
	}
	*n = *f;
	memset(f, 0, sizeof(*f));
}

/* A folded cycle or a gap of one source (the native walk, the DAC's), by stack pointer:
 * after the merge it covers the merged frames with sp in [sp, sp_end). */
struct fold_mark {
	uint64_t sp, sp_end;
	uint32_t count;		/* 0: a gap of @gap frames before the first frame at sp */
	uint64_t gap;
};

struct fold_marks {
	struct fold_mark *m;
	size_t n, cap;		/* at most one a frame of either source, and two gaps */
};

static void mark_add(struct fold_marks *ms, struct fold_mark m)
{
	if (ms->n < ms->cap)
		ms->m[ms->n++] = m;
}

/* The first frame of @th with sp >= @sp. */
static size_t lower_bound(const struct cp_thread *th, uint64_t sp)
{
	size_t lo = 0, hi = th->n_frames;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (th->frames[mid].sp < sp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_mark(const void *a, const void *b)
{
	const struct fold_mark *x = a, *y = b;
	return x->sp < y->sp ? -1 : x->sp > y->sp;
}

/* Put the sources' cycles and gaps on the merged frames of @th: a cycle becomes the
 * merged frames in its sp range (the native frames between its managed ones too); one
 * gap is kept, its count the sum of all. Overlapping cycles keep the first. */
static void apply_marks(struct cp_thread *th, struct fold_marks *ms)
{
	size_t end = 0, gap_at = SIZE_MAX;
	uint64_t gap = 0;

	qsort(ms->m, ms->n, sizeof(ms->m[0]), cmp_mark);
	for (size_t k = 0; k < ms->n; k++) {
		struct fold_mark *m = &ms->m[k];
		size_t i = lower_bound(th, m->sp);
		if (!m->count) {
			if (gap_at == SIZE_MAX || i < gap_at)
				gap_at = i;
			gap += m->gap;
			continue;
		}
		size_t j = m->sp_end == UINT64_MAX ? th->n_frames : lower_bound(th, m->sp_end);
		if (i < end || j <= i || i >= th->n_frames)
			continue;
		th->frames[i].repeat_length = (uint32_t)(j - i);
		th->frames[i].repeat_count = m->count;
		end = j;
	}
	if (gap) {
		/* Never inside a cycle: after it. */
		for (size_t i = 0; i < th->n_frames && i < gap_at; i++)
			if (th->frames[i].repeat_length && i + th->frames[i].repeat_length > gap_at)
				gap_at = i + th->frames[i].repeat_length;
		th->omitted_after = gap_at > th->n_frames ? th->n_frames : gap_at;
		th->n_omitted = gap;
		th->truncated = true;
	}
}

static void merge_thread(struct cp_target *t, struct cp_modules *mods, struct cp_thread *th,
			 struct cp_wire_thread *dt, size_t max_frames)
{
	struct cp_thread all = { .tid = th->tid };
	struct fold_marks marks = { .cap = th->n_frames + dt->n_frames + 2 };

	marks.m = calloc(marks.cap, sizeof(*marks.m));
	if (!marks.m)
		marks.cap = 0;

	/* The native frames up to the first one outside every ELF module (JIT code), and
	 * before any the native walk left out; its cycles are kept by their sp. */
	size_t native_end = th->n_omitted ? th->omitted_after : th->n_frames;
	for (size_t i = 0; i < native_end; i++) {
		struct cp_frame *f = &th->frames[i];
		if (i > 0 && !cp_modules_find(mods, f->ip - 1))
			break;
		uint32_t len = f->repeat_length;
		if (len && i + len <= native_end)
			mark_add(&marks, (struct fold_mark){ .sp = f->sp, .count = f->repeat_count,
				 .sp_end = i + len < th->n_frames ? th->frames[i + len].sp : UINT64_MAX });
		f->repeat_length = f->repeat_count = 0;
		take_frame(&all, f);
	}
	for (size_t i = 0; i < dt->n_frames; i++) {
		struct cp_wire_frame *d = &dt->frames[i];
		struct user_regs_struct regs = {
			.rip = d->regs[0], .rsp = d->regs[1], .rbp = d->regs[2], .rbx = d->regs[3],
			.r12 = d->regs[4], .r13 = d->regs[5], .r14 = d->regs[6], .r15 = d->regs[7],
		};
		/* The DAC's cycles (wire.c checked them whole) and its gap, by sp. */
		if (d->repeat_length)
			mark_add(&marks, (struct fold_mark){ .sp = d->sp, .count = d->repeat_count,
				 .sp_end = i + d->repeat_length < dt->n_frames ? dt->frames[i + d->repeat_length].sp
									   : UINT64_MAX });
		if (dt->n_omitted && i == dt->omitted_after)
			mark_add(&marks, (struct fold_mark){ .sp = d->sp, .gap = dt->n_omitted });
		if (d->kind == 'm' || d->kind == 'r') {
			struct cp_frame *f = cp_thread_add_frame(&all, d->ip, d->sp);
			if (!f)
				break;
			f->kind = d->kind == 'm' ? CP_FRAME_MANAGED : CP_FRAME_RUNTIME;
			set_method(f, &d->name, &d->assembly, d->token, d->has_il, d->il);
		}
		/* Native code called from here (a P/Invoke target, the runtime below Main);
		 * from JIT code this stops at once. */
		(void) cp_unwind_regs(t, mods, &regs, max_frames, d->kind != 'c', &all);
	}
	if (dt->n_omitted && dt->omitted_after >= dt->n_frames)
		mark_add(&marks, (struct fold_mark){ .sp = UINT64_MAX, .gap = dt->n_omitted });
	qsort(all.frames, all.n_frames, sizeof(*all.frames), cmp_sp);

	/* One frame per SP; the cycles and the gap on them; then at most max_frames, the
	 * first ones and the last ones (fold.h). */
	for (size_t i = 0; i < th->n_frames; i++)
		cp_frame_deinit(&th->frames[i]);
	th->n_frames = 0;
	th->omitted_after = th->n_omitted = 0;
	for (size_t i = 0; i < all.n_frames; i++) {
		struct cp_frame *f = &all.frames[i];
		if (th->n_frames > 0 && th->frames[th->n_frames - 1].sp == f->sp) {
			cp_frame_deinit(f);
			continue;
		}
		take_frame(th, f);
	}
	free(all.frames);
	free(all.error);
	apply_marks(th, &marks);
	free(marks.m);
	if (cp_fold_cap_thread(th, max_frames) < 0)
		th->truncated = true;
	th->exception = exception_tree(dt);
	if (dt->managed_name && !th->managed_name)
		th->managed_name = TAKE_PTR(dt->managed_name);
}

/* The DAC's directory, opened as the DAC was: the root of the DAC's process (sandbox.c). */
static int open_dac_dir(const char *dac_path, int rootfd, const struct cp_dac_options *opts)
{
	_cleanup_free_ char *copy = strdup(dac_path);
	if (!copy)
		return -ENOMEM;
	const char *dir = dirname(copy);
	if (!opts->dac_path && !opts->runtime_dir && opts->trust != CP_DAC_TRUST_SYSTEM)
		return cp_open_dir_in_root(rootfd, dir);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int start(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		 struct cp_report *report, int rootfd, const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	struct cp_runtime *rt = &report->runtime;
	_cleanup_close_ int dac_fd = -1;
	uint64_t runtime_base;
	int pfd[2];

	int r = cp_dac_runtime_find(core, t, mods, report, rootfd, opts, &runtime_base, &dac_fd);
	if (r < 0 || dac_fd < 0)
		return r;
	_cleanup_close_ int dir_fd = open_dac_dir(rt->dac, rootfd, opts);
	if (dir_fd < 0) {
		if (asprintf(&rt->dac_error, "the directory of %s: %s", rt->dac, strerror(-dir_fd)) < 0)
			rt->dac_error = NULL;
		return 0;
	}
	const char *dac_name = strrchr(rt->dac, '/') ? strrchr(rt->dac, '/') + 1 : rt->dac;
	/* A pipe of its own: the DAC's process never holds ours to the root parent. */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t child = cp_child_fork();
	if (child == 0) {
		close(pfd[0]);
		struct cp_dac_worker w = {
			.out_fd = pfd[1], .dac_fd = dac_fd, .dir_fd = dir_fd, .dac_name = dac_name,
			.rootfd = rootfd, .core = core, .t = t,
			.runtime_base = runtime_base, .opts = opts,
		};
		cp_dac_worker_run(&w);
	}
	close(pfd[1]);
	if (child < 0) {
		close(pfd[0]);
		rt->dac_error = strdup("cannot start the DAC's process");
		return 0;
	}
	run->child = child;
	run->fd = pfd[0];
	return 0;
}

/* For debugging crashpipe itself: what the DAC's process sent, one tab-separated line per
 * record (T thread, X exception with its parent, S a frame of its stack, F stack position,
 * E error or violation). */
static void trace(const struct cp_wire_result *res, size_t len)
{
	for (size_t i = 0; i < res->n_threads; i++) {
		const struct cp_wire_thread *th = &res->threads[i];
		fprintf(stderr, "T\t%d\t%s\n", (int)th->tid, th->managed_name ? th->managed_name : "");
		for (size_t j = 0; j < th->n_exceptions; j++) {
			const struct cp_wire_exception *e = &th->exceptions[j];
			fprintf(stderr, "X\t%d\t%zu\t%d\t%08x\t%s\t%s\n", (int)th->tid, j,
				e->parent == CP_WIRE_NO_PARENT ? -1 : (int)e->parent, e->hresult, e->type ? e->type : "",
				e->message ? e->message : "");
			for (size_t k = 0; k < e->n_frames; k++)
				fprintf(stderr, "S\t%zu\t%u\t%" PRIx64 "\t%x\t%s\t%s\n", j, e->frames[k].segment,
					e->frames[k].ip, e->frames[k].token, e->frames[k].name ? e->frames[k].name : "",
					e->frames[k].assembly ? e->frames[k].assembly : "");
		}
		for (size_t j = 0; j < th->n_frames; j++) {
			const struct cp_wire_frame *f = &th->frames[j];
			fprintf(stderr, "F\t%c\t%" PRIx64 "\t%" PRIx64 "\t%x\t%s\t%s\n", f->kind, f->ip, f->sp, f->token,
				f->name ? f->name : "", f->assembly ? f->assembly : "");
		}
	}
	if (res->error)
		fprintf(stderr, "E\t%s\n", res->error);
	if (res->malformed[0])
		fprintf(stderr, "E\tmalformed: %s\n", res->malformed);
	fprintf(stderr, "# %zu bytes%s\n", len, res->ended ? ", END" : "");
}

/* Collect at most CP_WIRE_MAX_TOTAL bytes (a stream that reaches it is too long); a process
 * that has more to say is killed. */
static void collect(struct cp_dac_run *run, unsigned timeout, char **buf, size_t *len, int *status)
{
	cp_child_read(run->fd, run->child, timeout, CP_WIRE_MAX_TOTAL, buf, len);
	/* Past the limit, or the pipe still open: the process is done for either way. */
	kill(run->child, SIGKILL);
	while (waitpid(run->child, status, 0) < 0 && errno == EINTR)
		;
}

static void finish(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		   struct cp_report *report, const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	struct cp_runtime *rt = &report->runtime;
	struct cp_wire_result res = { 0 };
	_cleanup_free_ pid_t *tids = calloc(core->n_threads + 1, sizeof(*tids));
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int status = 0;

	collect(run, opts->timeout + 2, &buf, &len, &status);
	close(run->fd);
	run->fd = -1;
	run->child = -1;
	if (!tids || !buf) {
		rt->dac_error = strdup("out of memory reading the DAC's process");
		return;
	}
	for (size_t i = 0; i < core->n_threads; i++)
		tids[i] = core->threads[i].tid;
	struct cp_wire_limits lim = { .tids = tids, .n_tids = core->n_threads, .max_frames = opts->max_frames };
	if (cp_wire_parse((const uint8_t *)buf, len, &lim, &res) < 0) {
		rt->dac_error = strdup("out of memory parsing what the DAC's process sent");
		cp_wire_result_deinit(&res);
		return;
	}
	if (getenv("CRASHPIPE_DAC_TRACE"))
		trace(&res, len);
	bool killed = WIFSIGNALED(status) && !res.ended;
	if (res.malformed[0]) {
		if (asprintf(&rt->dac_error, "the DAC's process sent a malformed message: %s", res.malformed) < 0)
			rt->dac_error = NULL;
	} else if (res.error) {
		rt->dac_error = TAKE_PTR(res.error);
	} else if (killed) {
		rt->dac_timed_out = WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGKILL;
		if (asprintf(&rt->dac_error, "the DAC %s (signal %d); managed frames of the threads it had not reached are missing",
			     rt->dac_timed_out ? "timed out" : "crashed", WTERMSIG(status)) < 0)
			rt->dac_error = NULL;
	} else if (!res.ended) {
		if (asprintf(&rt->dac_error, "the DAC's process sent a malformed message: it ended without END (after %zu bytes)",
			     len) < 0)
			rt->dac_error = NULL;
	}
	for (size_t i = 0; i < res.n_threads; i++)
		for (size_t j = 0; j < report->n_threads; j++)
			if (report->threads[j].tid == res.threads[i].tid)
				merge_thread(t, mods, &report->threads[j], &res.threads[i], opts->max_frames);
	cp_wire_result_deinit(&res);
}

int cp_dac_start(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		 struct cp_report *report, int rootfd, const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	run->child = -1;
	run->fd = -1;
	run->core = core;
	return start(core, t, mods, report, rootfd, opts, run);
}

int cp_dac_finish(struct cp_target *t, struct cp_modules *mods, struct cp_report *report,
		  const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	if (run->child > 0)
		finish(run->core, t, mods, report, opts, run);
	/* Managed frames that should be there and are not make the report partial. */
	if (report->runtime.dac_error && !opts->disabled)
		cp_report_note(report, true, "managed frames: %s", report->runtime.dac_error);
	return 0;
}
