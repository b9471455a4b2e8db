/*
 * worker.c - see worker.h. The order, which matters:
 *   1. close every fd but the kept ones (nothing of the analysis process's, such as its
 *      pipe to the root parent, may reach the DAC);
 *   2. confine (hook before the load);
 *   3. dlopen the DAC (its constructors run here), initialise it, CLRDataCreateInstance;
 *   4. confine further (hook after the load);
 *   5. walk each thread of the core and send what the walk found, then END.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "clrdata.h"
#include "core.h"
#include "dac.h"
#include "datatarget.h"
#include "exception.h"
#include "fold.h"
#include "sandbox.h"
#include "target.h"
#include "threads.h"
#include "wire.h"
#include "worker.h"
#include "zio.h"

#define MAX_NAME CP_DAC_MAX_NAME

struct walker {
	int out;
	void *process;		/* IXCLRDataProcess */
	void *sos, *sos2;	/* ISOSDacInterface, ISOSDacInterface2 (may be NULL) */
	struct cp_dac_threads *threads;	/* the managed threads (threads.c), or NULL */
	struct cp_target *t;
	size_t max_frames;
	double deadline;	/* CLOCK_MONOTONIC seconds: a walk still going then stops */
	bool out_of_time;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the confinement hooks ---- */

int cp_dac_worker_confine_before_load(struct cp_dac_worker *w, const char **why)
{
	const struct cp_dac_options *o = w->opts;
	struct stat a, b;
	int r = cp_child_confine(o->timeout, o->drop_privileges ? o->uid : 0, o->drop_privileges ? o->gid : 0);
	if (r < 0) {
		*why = "cannot drop privileges for the DAC";
		return r;
	}
	/* Every file the target reads from, opened now: none can be opened later, and the
	 * root they are opened in must not reach the DAC (a directory fd leads out of a
	 * chroot). */
	_cleanup_free_ int *keep = malloc((w->core->n_maps + 8) * sizeof(*keep));
	if (!keep) {
		*why = "out of memory";
		return -ENOMEM;
	}
	size_t n = cp_target_open_files(w->t, keep);
	keep[n++] = w->out_fd;
	keep[n++] = w->dac_fd;
	keep[n++] = w->dir_fd;
	if (cp_target_live_fd(w->t) >= 0)
		keep[n++] = cp_target_live_fd(w->t);
	if (w->core->in)
		keep[n++] = cp_input_fd(w->core->in);
	if (w->rootfd >= 0 && w->rootfd != w->dir_fd)
		close(w->rootfd);
	r = cp_child_enter_dac_sandbox(w->dir_fd, keep, n, why);
	if (r < 0)
		return r;
	close(w->dir_fd);
	/* Loaded by its name in its directory, which must still be the file checked. */
	*why = "the DAC is not the file that was checked";
	snprintf(w->path, sizeof(w->path), "/%s", w->dac_name);
	if (fstat(w->dac_fd, &a) < 0 || stat(w->path, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -ESTALE;
	close(w->dac_fd);
	return 0;
}

int cp_dac_worker_confine_after_load(struct cp_dac_worker *w, const char **why)
{
	/* Memory, threads, time, the fds already open and writes to the pipe only. */
	*why = "the system call filter";
	return cp_sandbox_dac_allowlist(w->out_fd);
}

/* ---- the fds ---- */

int cp_dac_worker_close_fds(struct cp_dac_worker *w)
{
	size_t n = 0;
	_cleanup_free_ int *target_fds = cp_target_fds(w->t, &n);
	if (!target_fds)
		return -ENOMEM;
	_cleanup_free_ int *keep = malloc((n + 3) * sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	memcpy(keep, target_fds, n * sizeof(*keep));
	keep[n++] = w->out_fd;
	keep[n++] = w->dac_fd;
	keep[n++] = w->dir_fd;
	/* 0, 1 and 2 become /dev/null, unless kept (a core read from standard input). */
	return cp_sandbox_close_fds(keep, n);
}

/* ---- the walk ---- */

void cp_dac_utf16_to_utf8(const uint16_t *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && in[i]; i++) {
		uint32_t c = in[i];
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && in[i + 1] >= 0xdc00 && in[i + 1] < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (in[i + 1] - 0xdc00);
			i++;
		} else if (c >= 0xd800 && c < 0xe000) {
			c = '?';
		}
		if (o + 4 >= cap)
			break;
		if (c < 0x80) {
			out[o++] = c;
		} else if (c < 0x800) {
			out[o++] = 0xc0 | (c >> 6);
			out[o++] = 0x80 | (c & 0x3f);
		} else if (c < 0x10000) {
			out[o++] = 0xe0 | (c >> 12);
			out[o++] = 0x80 | ((c >> 6) & 0x3f);
			out[o++] = 0x80 | (c & 0x3f);
		} else {
			out[o++] = 0xf0 | (c >> 18);
			out[o++] = 0x80 | ((c >> 12) & 0x3f);
			out[o++] = 0x80 | ((c >> 6) & 0x3f);
			out[o++] = 0x80 | (c & 0x3f);
		}
	}
	out[o] = '\0';
}

static uint64_t ctx64(const uint8_t *ctx, size_t off)
{
	uint64_t v;
	memcpy(&v, ctx + off, 8);
	return v;
}

void cp_dac_method_describe(void *mi, uint64_t ip, char *name, char *assembly, uint32_t *token, uint32_t *il)
{
	WCHAR buf[MAX_NAME];
	ULONG32 len = 0;
	void *module = NULL;

	if (SUCCEEDED(xclr_method_get_name(mi, 0, MAX_NAME, &len, buf)))
		cp_dac_utf16_to_utf8(buf, MAX_NAME, name, MAX_NAME);
	if (SUCCEEDED(xclr_method_get_token_and_scope(mi, token, &module)) && module) {
		if (SUCCEEDED(xclr_module_get_file_name(module, MAX_NAME, &len, buf)))
			cp_dac_utf16_to_utf8(buf, MAX_NAME, assembly, MAX_NAME);
		xclr_release(module);
	}
	ULONG32 needed = 0, off = 0;
	if (xclr_method_get_il_offsets_by_address(mi, ip, 1, &needed, &off) == S_OK && needed >= 1)
		*il = off;
}

static void method_info(void *walk, uint64_t ip, char *name, char *assembly, uint32_t *token, uint32_t *il)
{
	void *frame = NULL, *mi = NULL;

	name[0] = assembly[0] = '\0';
	*token = 0;
	*il = CLRDATA_IL_OFFSET_NO_MAPPING;
	if (FAILED(xclr_walk_get_frame(walk, &frame)) || !frame)
		return;
	if (SUCCEEDED(xclr_frame_get_method_instance(frame, &mi)) && mi) {
		cp_dac_method_describe(mi, ip, name, assembly, token, il);
		xclr_release(mi);
	}
	xclr_release(frame);
}

/* The thread's current exception: the task's exception state, else (for the crashed
 * thread) the last object it threw, as SOS's CLRMA does. */
static void thread_exception(struct walker *c, void *task, pid_t tid, bool crashed)
{
	void *es = NULL, *val = NULL;
	CLRDATA_ADDRESS obj = 0;

	if (FAILED(xclr_task_get_current_exception_state(task, &es)) || !es) {
		es = NULL;
		if (crashed && FAILED(xclr_task_get_last_exception_state(task, &es)))
			es = NULL;
	}
	if (es) {
		if (SUCCEEDED(xclr_exception_get_managed_object(es, &val)) && val) {
			(void) xclr_value_get_address(val, &obj);
			xclr_release(val);
		}
		xclr_release(es);
	}
	if (!obj && crashed && c->sos) {
		struct dacp_thread_store_data ts;
		memset(&ts, 0, sizeof(ts));
		if (SUCCEEDED(sos_get_thread_store_data(c->sos, &ts))) {
			CLRDATA_ADDRESS th = ts.first_thread;
			for (int i = 0; th && i < 100000; i++) {
				struct dacp_thread_data td;
				memset(&td, 0, sizeof(td));
				if (FAILED(sos_get_thread_data(c->sos, th, &td)))
					break;
				if ((pid_t)td.os_thread_id == tid) {
					if (td.last_thrown_object_handle)
						(void) cp_target_read(c->t, td.last_thrown_object_handle, &obj, sizeof(obj));
					break;
				}
				th = td.next_thread;
			}
		}
	}
	if (obj) {
		struct cp_dac_exception_ctx x = {
			.out = c->out, .process = c->process, .sos = c->sos, .sos2 = c->sos2, .t = c->t,
			.max_frames = c->max_frames,
		};
		cp_dac_exception_send(&x, obj);
	}
}

/* A deep recursion returns to the same few ips over and over: what the DAC said of an ip
 * is kept (direct-mapped by ip), so that a stack overflow's walk asks it once per call
 * site, not once per frame. */
#define INFO_CACHE 1024u

static struct {
	uint64_t ip;
	char *name, *assembly;
	uint32_t token, il;
	bool used;
} info_cache[INFO_CACHE];

static void cached_method_info(void *walk, uint64_t ip, char *name, char *assembly, uint32_t *token, uint32_t *il)
{
	__typeof__(info_cache[0]) *e = &info_cache[(ip ^ (ip >> 12)) % INFO_CACHE];

	if (e->used && e->ip == ip) {
		snprintf(name, MAX_NAME, "%s", e->name ? e->name : "");
		snprintf(assembly, MAX_NAME, "%s", e->assembly ? e->assembly : "");
		*token = e->token;
		*il = e->il;
		return;
	}
	method_info(walk, ip, name, assembly, token, il);
	free(e->name);
	free(e->assembly);
	e->ip = ip;
	e->name = name[0] ? strdup(name) : NULL;
	e->assembly = assembly[0] ? strdup(assembly) : NULL;
	e->token = *token;
	e->il = *il;
	e->used = true;
}

/* The walk's frames, folded (fold.h) before they are sent: the same method (name and
 * module) makes a cycle; a context-only frame is the same as another one. */
static bool wire_frame_same(const void *pa, const void *pb)
{
	const struct cp_wire_frame *a = pa, *b = pb;

	if (a->kind != b->kind)
		return false;
	if (a->kind == 'c')
		return true;
	return a->name && b->name && strcmp(a->name, b->name) == 0 &&
	       (a->assembly == b->assembly || (a->assembly && b->assembly && strcmp(a->assembly, b->assembly) == 0));
}

static void wire_frame_drop(void *p)
{
	struct cp_wire_frame *f = p;

	free(f->name);
	free(f->assembly);
}

static const struct cp_fold_ops wire_frame_ops = {
	.size = sizeof(struct cp_wire_frame),
	.same = wire_frame_same,
	.drop = wire_frame_drop,
};

/* What the fold kept: FRAMEs, each cycle's REPEAT after its first frame, and the OMITTED
 * where frames were left out. */
static void send_folded(struct walker *c, struct cp_fold *fold)
{
	size_t after = 0, n = cp_fold_count(fold);
	uint64_t omitted = cp_fold_omitted(fold, &after);

	for (size_t i = 0; i <= n; i++) {
		if (omitted && i == after)
			(void) cp_wire_put_omitted(c->out, omitted > CP_WIRE_MAX_REPEAT ? CP_WIRE_MAX_REPEAT : omitted);
		if (i == n)
			break;
		uint32_t len, count;
		struct cp_wire_frame *f = cp_fold_item(fold, i, &len, &count);
		(void) cp_wire_put_frame(c->out, f);
		if (len)
			(void) cp_wire_put_repeat(c->out, len, count);
	}
}


/* Thread.Name, when the thread has one and the DAC knows the thread. */
static void thread_name(struct walker *c, pid_t tid)
{
	static WCHAR wname[MAX_NAME];
	static char name[MAX_NAME * 2];

	size_t n = cp_dac_thread_name(c->threads, tid, wname, MAX_NAME);
	cp_dac_utf16_to_utf8(wname, n, name, sizeof(name));
	if (name[0])
		(void) cp_wire_put_thread_name(c->out, tid, name);
}

/*
 * A deep stack's walk restarted where it is once it has slowed down: the DAC keeps each
 * piece of target memory it reads in a hash table of a fixed number of buckets (its
 * DacInstanceManager), so without a Flush a walk slows down as it goes, each frame costing
 * more than the one before (.NET 9.0.20: 45,000 frames of a 261,000-frame stack overflow in
 * 60 s; .NET 8 and 10 replaced that table in 2026, dotnet/runtime#122459). Flush() ages every
 * object the DAC gave out, so the walk is made again: the task asked for anew, a new walk set
 * to the context of the frame reached (a managed method's frame, where the DAC can start a
 * walk), and on from there. False when that fails: the walk is gone then. A Flush costs
 * what the DAC must read again (much more from a live process's memory than from a core),
 * so it is done only when the walk slows down as it goes: when 256 frames take REWALK_GROWTH
 * times what the first 256 of this walk took (a deep stack whose frames cost the same all the
 * way, as with a DAC without that table, is never walked again).
 */
#define REWALK_GROWTH 4		/* the last 256 frames took this many times the first 256 */
#define REWALK_SLOW 0.002	/* and at least this long (seconds) */
#define REWALK_MIN_FRAMES 1024	/* and not before this many frames since the last walk */

static bool rewalk(struct walker *c, pid_t tid, void **task, void **walk, uint8_t *ctx)
{
	xclr_release(*walk);
	xclr_release(*task);
	*walk = *task = NULL;
	(void) xclr_process_flush(c->process);
	if (FAILED(xclr_process_get_task_by_os_thread_id(c->process, tid, task)) || !*task)
		return false;
	if (FAILED(xclr_task_create_stack_walk(*task, 0xf, walk)) || !*walk)
		return false;
	/* GetContext leaves the DAC's own flags (with CONTEXT_XSTATE, whose state is not
	 * in an AMD64 CONTEXT's size): SetContext2 refuses the size for those. */
	uint32_t flags = CONTEXT_ALL;
	memcpy(ctx + CTX_FLAGS, &flags, sizeof(flags));
	return xclr_walk_set_context2(*walk, CLRDATA_STACK_SET_CURRENT_CONTEXT, AMD64_CONTEXT_SIZE, ctx) == S_OK;
}

/* Walk @tid; false when the DAC does not know it (no THREAD sent). */
static bool walk_thread(struct walker *c, pid_t tid, bool crashed)
{
	void *task = NULL, *walk = NULL;
	static uint8_t ctx[4096] __attribute__((aligned(16)));
	static char name[MAX_NAME], assembly[MAX_NAME];
	static const size_t regs[] = { CTX_RIP, CTX_RSP, CTX_RBP, CTX_RBX, CTX_R12, CTX_R13, CTX_R14, CTX_R15 };

	if (FAILED(xclr_process_get_task_by_os_thread_id(c->process, tid, &task)) || !task)
		return false;
	(void) cp_wire_put_thread(c->out, tid);
	thread_exception(c, task, tid, crashed);
	if (FAILED(xclr_task_create_stack_walk(task, 0xf, &walk)) || !walk) {
		xclr_release(task);
		return true;
	}
	/* To the bottom (a stack overflow's is the request that started it): at most
	 * CP_WIRE_MAX_REPEAT frames, max_frames of them sent. */
	struct cp_fold *fold = cp_fold_create(&wire_frame_ops, c->max_frames);
	size_t walked = 0;	/* frames since the walk was (re)made */
	double checked = now();	/* when the last 256 frames began */
	double first = 0;	/* what the first 256 frames of this walk took */
	bool slow = false;	/* the walk slows down: walk again */
	for (size_t n = 0; fold && n < CP_WIRE_MAX_REPEAT; n++, walked++) {
		ULONG32 size = 0;
		memset(ctx, 0, sizeof(ctx));
		/* The DAC copies as many bytes as it is told, from a CONTEXT of its own: the
		 * size is the AMD64 CONTEXT's, not our buffer's. */
		if (xclr_walk_get_context(walk, CONTEXT_ALL, AMD64_CONTEXT_SIZE, &size, ctx) != S_OK)
			break;
		uint32_t simple = 0, detailed = 0;
		uint64_t frame_addr = 0;
		(void) xclr_walk_get_frame_type(walk, &simple, &detailed);
		(void) xclr_walk_request(walk, DACSTACKPRIV_REQUEST_FRAME_DATA, 0, NULL, sizeof(frame_addr),
					 (uint8_t *)&frame_addr);
		/* An explicit runtime Frame (a transition record) is not a method. */
		struct cp_wire_frame f = { .kind = 'c' };
		if (!frame_addr && (simple & CLRDATA_SIMPFRAME_MANAGED_METHOD))
			f.kind = 'm';
		else if (!frame_addr && (simple & CLRDATA_SIMPFRAME_RUNTIME_MANAGED_CODE))
			f.kind = 'r';
		f.ip = ctx64(ctx, CTX_RIP);
		f.sp = ctx64(ctx, CTX_RSP);
		name[0] = assembly[0] = '\0';
		f.il = CLRDATA_IL_OFFSET_NO_MAPPING;
		/* A caller's ip is a return address, after its call: the IL offset (and so the
		 * source line) is that of ip - 1, inside the call, as the runtime maps its own
		 * stack traces (dotnet/runtime src/coreclr/vm/debugdebugger.cpp,
		 * DebugStackTrace::Element::InitPass2). Only a thread stopped in managed code has
		 * its exact ip in the first frame. */
		if (f.kind != 'c')
			cached_method_info(walk, n == 0 ? f.ip : f.ip - 1, name, assembly, &f.token, &f.il);
		f.has_il = f.il != CLRDATA_IL_OFFSET_NO_MAPPING && (int32_t)f.il >= 0;
		for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
			f.regs[i] = ctx64(ctx, regs[i]);
		f.name = name[0] ? strdup(name) : NULL;
		f.assembly = assembly[0] ? strdup(assembly) : NULL;
		if (cp_fold_push(fold, &f) < 0)
			break;
		/* A deep stack must not cost the other threads their frames, nor this one what
		 * was walked: past the deadline the walk stops, and what it found is sent. */
		if (n % 256 == 255) {
			double t = now();
			if (t > c->deadline) {
				c->out_of_time = true;
				break;
			}
			double dt = t - checked;
			if (walked < 512)
				first = dt;	/* the first whole 256 frames of this walk */
			slow = walked >= REWALK_MIN_FRAMES && dt >= REWALK_SLOW && dt >= REWALK_GROWTH * first;
			checked = t;
		}
		if (slow && f.kind == 'm') {
			if (!rewalk(c, tid, &task, &walk, ctx))
				break;
			walked = 0;
			slow = false;
		}
		if (xclr_walk_next(walk) != S_OK)
			break;
	}
	if (fold && cp_fold_finish(fold) == 0)
		send_folded(c, fold);
	cp_fold_destroy(fold);
	xclr_release(walk);
	xclr_release(task);
	return true;
}

typedef int (*dllmain_fn)(void *, uint32_t, void *);
typedef int (*pal_init_fn)(void);
typedef HRESULT (*create_fn)(const GUID *, void *, void **);

/* Say why (@what: @detail) and stop. */
static void __attribute__((noreturn)) give_up(int out, const char *what, const char *detail)
{
	if (detail)
		(void) cp_wire_put_error(out, "%s: %s", what, detail);
	else
		(void) cp_wire_put_error(out, "%s", what);
	(void) cp_wire_put_end(out);
	_exit(0);
}

void cp_dac_worker_run(struct cp_dac_worker *w)
{
	struct walker c = { .out = w->out_fd, .t = w->t, .max_frames = w->opts->max_frames };
	const char *why = NULL;
	int r;

	/* The DAC's time (its alarm) runs from here: three quarters of it for loading and
	 * walking, the rest for sending what the walks found. */
	c.deadline = now() + (w->opts->timeout ? w->opts->timeout * 0.75 : 1e9);
	(void) cp_wire_put_start(c.out);
	r = cp_dac_worker_close_fds(w);
	if (r < 0)
		give_up(c.out, "cannot close the fds the DAC must not have", strerror(-r));
	if (cp_dac_worker_confine_before_load(w, &why) < 0)
		give_up(c.out, "the DAC was not loaded", why ? why : "its process could not be confined");
	/* With this set, the DAC would look for the cDAC and fail (runtime daccess.cpp). */
	unsetenv("DOTNET_ENABLE_CDAC");
	unsetenv("COMPlus_ENABLE_CDAC");

	/* Confined: its name in its own directory, now the root (the hook above). */
	void *h = dlopen(w->path, RTLD_LAZY | RTLD_LOCAL);
	if (!h)
		give_up(c.out, "cannot load the DAC", dlerror());
	dllmain_fn dllmain = (dllmain_fn)dlsym(h, "DllMain");
	pal_init_fn pal_init = (pal_init_fn)dlsym(h, "DAC_PAL_InitializeDLL");
	create_fn create = (create_fn)dlsym(h, "CLRDataCreateInstance");
	if (!create)
		give_up(c.out, "the DAC has no CLRDataCreateInstance", NULL);
	if (dllmain)
		dllmain(h, 1 /* DLL_PROCESS_ATTACH */, NULL);
	else if (pal_init)
		pal_init();

	void *target = cp_datatarget_create(w->core, w->t, w->runtime_base);
	HRESULT hr = target ? create(&IID_IXCLRDataProcess, target, &c.process) : E_FAIL;
	if (FAILED(hr) || !c.process) {
		const char *what = (uint32_t)hr == 0x80131c4f ? " (the runtime's debugger exports cannot be read)" :
				   (uint32_t)hr == 0x80131c4e ? " (the runtime had not started)" :
				   (uint32_t)hr == 0x80131c30 ? " (wrong platform)" : "";
		(void) cp_wire_put_error(c.out, "CLRDataCreateInstance failed with HRESULT 0x%08x%s", (unsigned)hr, what);
		(void) cp_wire_put_end(c.out);
		_exit(0);
	}
	if (FAILED(xclr_query_interface(c.process, &IID_ISOSDacInterface, &c.sos)))
		c.sos = NULL;
	if (FAILED(xclr_query_interface(c.process, &IID_ISOSDacInterface2, &c.sos2)))
		c.sos2 = NULL;
	if (cp_dac_worker_confine_after_load(w, &why) < 0)
		give_up(c.out, "the DAC's process could not be confined", why);
	c.threads = cp_dac_threads_create(c.sos, c.t);

	/* The crashed thread (for the last-thrown fallback): none in a dump that does not say
	 * (analyze.c then takes the thread with an exception in flight). */
	bool *sent = calloc(w->core->n_threads + 1, sizeof(*sent));
	for (size_t i = 0; i < w->core->n_threads; i++) {
		bool s = walk_thread(&c, w->core->threads[i].tid, w->core->crash_known && i == w->core->crashed);
		if (sent)
			sent[i] = s;
		if (c.out_of_time) {
			(void) cp_wire_put_error(c.out, "the DAC's walk of thread %d ran out of time before the bottom of its stack",
						 (int)w->core->threads[i].tid);
			break;
		}
	}
	/* Names last, of the threads sent: a DAC that fails on them has sent every thread's
	 * frames already. */
	for (size_t i = 0; sent && !c.out_of_time && i < w->core->n_threads; i++)
		if (sent[i])
			thread_name(&c, w->core->threads[i].tid);
	(void) cp_wire_put_end(c.out);
	/* Never dlclose the DAC (its TLS destructors live in it); just leave. */
	_exit(0);
}
