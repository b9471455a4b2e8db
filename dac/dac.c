/*
 * dac.c - see dac.h. The parent finds the runtime and its DAC, checks that they belong to
 * the crashed process, forks the child that drives the DAC, reads the child's findings
 * (one line per fact, below) and merges the managed frames with the native ones the way
 * createdump does: frames from the native unwind of the thread, the DAC's stack walk, and
 * the native unwind from each context the walk passes through, keyed and ordered by stack
 * pointer, a managed frame winning over a native one at the same SP.
 *
 * Lines from the child, fields separated by tabs, strings escaped (\\ \t \n):
 *   T tid                                  a thread the DAC knows
 *   F kind ip sp token il regs[8] name assembly
 *                                          a stack walk position: kind m (managed method),
 *                                          r (runtime-managed code), c (context only);
 *                                          regs = rip rsp rbp rbx r12 r13 r14 r15
 *   X tid depth hresult type message       an exception (depth > 0: inner exceptions)
 *   E message                              why the DAC gave up
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "clrdata.h"
#include "core.h"
#include "dac.h"
#include "datatarget.h"
#include "fsopen.h"
#include "modules.h"
#include "report.h"
#include "sandbox.h"
#include "target.h"
#include "unwind.h"
#include "zio.h"

#define RUNTIME_NAME "libcoreclr.so"
#define DAC_NAME "libmscordaccore.so"
#define MAX_NAME 2048
#define MAX_EXCEPTION_DEPTH 8
#define MAX_CHILD_OUTPUT (64u << 20)

/* ---- the child: drive the DAC ---- */

struct child {
	FILE *out;
	void *process;		/* IXCLRDataProcess */
	void *sos, *sos2;	/* ISOSDacInterface, ISOSDacInterface2 (may be NULL) */
	struct cp_target *t;
	size_t max_frames;
};

static void put_escaped(FILE *f, const char *s)
{
	fputc('\t', f);
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

/* UTF-16 from the DAC to UTF-8; unpaired surrogates become '?'. */
static void utf16_to_utf8(const WCHAR *in, size_t n, char *out, size_t cap)
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

static void method_info(struct child *c, void *walk, uint64_t ip, char *name, char *assembly,
			uint32_t *token, uint32_t *il)
{
	void *frame = NULL, *mi = NULL, *module = NULL;
	WCHAR buf[MAX_NAME];
	ULONG32 len = 0;

	name[0] = assembly[0] = '\0';
	*token = 0;
	*il = CLRDATA_IL_OFFSET_NO_MAPPING;
	if (FAILED(COM_FN(walk, XCLRWALK_GET_FRAME, HRESULT (*)(void *, void **))(walk, &frame)) || !frame)
		return;
	if (SUCCEEDED(COM_FN(frame, XCLRFRAME_GET_METHOD_INSTANCE, HRESULT (*)(void *, void **))(frame, &mi)) && mi) {
		if (SUCCEEDED(COM_FN(mi, XCLRMETHOD_GET_NAME, HRESULT (*)(void *, ULONG32, ULONG32, ULONG32 *, WCHAR *))(
			    mi, 0, MAX_NAME, &len, buf)))
			utf16_to_utf8(buf, MAX_NAME, name, MAX_NAME);
		if (SUCCEEDED(COM_FN(mi, XCLRMETHOD_GET_TOKEN_AND_SCOPE, HRESULT (*)(void *, uint32_t *, void **))(
			    mi, token, &module)) && module) {
			if (SUCCEEDED(COM_FN(module, XCLRMODULE_GET_FILE_NAME, HRESULT (*)(void *, ULONG32, ULONG32 *, WCHAR *))(
				    module, MAX_NAME, &len, buf)))
				utf16_to_utf8(buf, MAX_NAME, assembly, MAX_NAME);
			COM_RELEASE(module);
		}
		ULONG32 needed = 0, off = 0;
		if (COM_FN(mi, XCLRMETHOD_GET_IL_OFFSETS_BY_ADDRESS, HRESULT (*)(void *, CLRDATA_ADDRESS, ULONG32, ULONG32 *, ULONG32 *))(
			    mi, ip, 1, &needed, &off) == S_OK && needed >= 1)
			*il = off;
		COM_RELEASE(mi);
	}
	COM_RELEASE(frame);
}

/* A System.String object's text. */
static void object_string(struct child *c, CLRDATA_ADDRESS obj, char *out, size_t cap)
{
	WCHAR buf[MAX_NAME];
	unsigned needed = 0;

	out[0] = '\0';
	if (!obj || !c->sos)
		return;
	if (SUCCEEDED(COM_FN(c->sos, SOS_GET_OBJECT_STRING_DATA, HRESULT (*)(void *, CLRDATA_ADDRESS, unsigned, WCHAR *, unsigned *))(
		    c->sos, obj, MAX_NAME, buf, &needed)))
		utf16_to_utf8(buf, MAX_NAME, out, cap);
}

static void object_type(struct child *c, CLRDATA_ADDRESS obj, char *out, size_t cap)
{
	struct dacp_object_data od;
	WCHAR buf[MAX_NAME];
	unsigned needed = 0;

	out[0] = '\0';
	memset(&od, 0, sizeof(od));
	if (!c->sos || FAILED(COM_FN(c->sos, SOS_GET_OBJECT_DATA, HRESULT (*)(void *, CLRDATA_ADDRESS, void *))(c->sos, obj, &od)))
		return;
	if (SUCCEEDED(COM_FN(c->sos, SOS_GET_METHOD_TABLE_NAME, HRESULT (*)(void *, CLRDATA_ADDRESS, unsigned, WCHAR *, unsigned *))(
		    c->sos, od.method_table, MAX_NAME, buf, &needed)))
		utf16_to_utf8(buf, MAX_NAME, out, cap);
}

static void emit_exception(struct child *c, pid_t tid, CLRDATA_ADDRESS obj)
{
	char type[MAX_NAME], msg[MAX_NAME * 2];

	for (int depth = 0; obj && depth < MAX_EXCEPTION_DEPTH; depth++) {
		struct dacp_exception_object_data ed;
		memset(&ed, 0, sizeof(ed));
		bool have = c->sos2 && SUCCEEDED(COM_FN(c->sos2, SOS2_GET_OBJECT_EXCEPTION_DATA,
							 HRESULT (*)(void *, CLRDATA_ADDRESS, void *))(c->sos2, obj, &ed));
		object_type(c, obj, type, sizeof(type));
		object_string(c, have ? ed.message : 0, msg, sizeof(msg));
		fprintf(c->out, "X\t%d\t%d\t%08" PRIx32, (int)tid, depth, have ? (uint32_t)ed.hresult : 0u);
		put_escaped(c->out, type);
		put_escaped(c->out, msg);
		fputc('\n', c->out);
		obj = have ? ed.inner_exception : 0;
	}
}

/* The thread's current exception: the task's exception state, else (for the crashed
 * thread) the last object it threw, as SOS's CLRMA does. */
static void thread_exception(struct child *c, void *task, pid_t tid, bool crashed)
{
	void *es = NULL, *val = NULL;
	CLRDATA_ADDRESS obj = 0;

	if (FAILED(COM_FN(task, XCLRTASK_GET_CURRENT_EXCEPTION_STATE, HRESULT (*)(void *, void **))(task, &es)) || !es) {
		es = NULL;
		if (crashed && FAILED(COM_FN(task, XCLRTASK_GET_LAST_EXCEPTION_STATE, HRESULT (*)(void *, void **))(task, &es)))
			es = NULL;
	}
	if (es) {
		if (SUCCEEDED(COM_FN(es, XCLREXC_GET_MANAGED_OBJECT, HRESULT (*)(void *, void **))(es, &val)) && val) {
			(void) COM_FN(val, XCLRVALUE_GET_ADDRESS, HRESULT (*)(void *, CLRDATA_ADDRESS *))(val, &obj);
			COM_RELEASE(val);
		}
		COM_RELEASE(es);
	}
	if (!obj && crashed && c->sos) {
		struct dacp_thread_store_data ts;
		memset(&ts, 0, sizeof(ts));
		if (SUCCEEDED(COM_FN(c->sos, SOS_GET_THREAD_STORE_DATA, HRESULT (*)(void *, void *))(c->sos, &ts))) {
			CLRDATA_ADDRESS th = ts.first_thread;
			for (int i = 0; th && i < 100000; i++) {
				struct dacp_thread_data td;
				memset(&td, 0, sizeof(td));
				if (FAILED(COM_FN(c->sos, SOS_GET_THREAD_DATA, HRESULT (*)(void *, CLRDATA_ADDRESS, void *))(c->sos, th, &td)))
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
	if (obj)
		emit_exception(c, tid, obj);
}

static void walk_thread(struct child *c, pid_t tid, bool crashed)
{
	void *task = NULL, *walk = NULL;
	static uint8_t ctx[4096] __attribute__((aligned(16)));

	if (FAILED(COM_FN(c->process, XCLRPROCESS_GET_TASK_BY_OS_THREAD_ID, HRESULT (*)(void *, ULONG32, void **))(
		    c->process, tid, &task)) || !task)
		return;
	fprintf(c->out, "T\t%d\n", (int)tid);
	thread_exception(c, task, tid, crashed);
	if (FAILED(COM_FN(task, XCLRTASK_CREATE_STACK_WALK, HRESULT (*)(void *, ULONG32, void **))(task, 0xf, &walk)) || !walk) {
		COM_RELEASE(task);
		return;
	}
	for (size_t n = 0; n < c->max_frames; n++) {
		ULONG32 size = 0;
		memset(ctx, 0, sizeof(ctx));
		if (COM_FN(walk, XCLRWALK_GET_CONTEXT, HRESULT (*)(void *, ULONG32, ULONG32, ULONG32 *, uint8_t *))(
			    walk, CONTEXT_ALL, sizeof(ctx), &size, ctx) != S_OK)
			break;
		uint32_t simple = 0, detailed = 0;
		uint64_t frame_addr = 0;
		(void) COM_FN(walk, XCLRWALK_GET_FRAME_TYPE, HRESULT (*)(void *, uint32_t *, uint32_t *))(walk, &simple, &detailed);
		(void) COM_FN(walk, XCLRWALK_REQUEST, HRESULT (*)(void *, ULONG32, ULONG32, uint8_t *, ULONG32, uint8_t *))(
			walk, DACSTACKPRIV_REQUEST_FRAME_DATA, 0, NULL, sizeof(frame_addr), (uint8_t *)&frame_addr);
		/* An explicit runtime Frame (a transition record) is not a method. */
		char kind = 'c';
		if (!frame_addr && (simple & CLRDATA_SIMPFRAME_MANAGED_METHOD))
			kind = 'm';
		else if (!frame_addr && (simple & CLRDATA_SIMPFRAME_RUNTIME_MANAGED_CODE))
			kind = 'r';
		static char name[MAX_NAME], assembly[MAX_NAME];
		uint32_t token = 0, il = CLRDATA_IL_OFFSET_NO_MAPPING;
		uint64_t ip = ctx64(ctx, CTX_RIP), sp = ctx64(ctx, CTX_RSP);
		name[0] = assembly[0] = '\0';
		if (kind != 'c')
			method_info(c, walk, ip, name, assembly, &token, &il);
		fprintf(c->out, "F\t%c\t%" PRIx64 "\t%" PRIx64 "\t%" PRIx32 "\t", kind, ip, sp, token);
		if (il == CLRDATA_IL_OFFSET_NO_MAPPING || (int32_t)il < 0)
			fputc('-', c->out);
		else
			fprintf(c->out, "%" PRIu32, il);
		static const size_t regs[] = { CTX_RIP, CTX_RSP, CTX_RBP, CTX_RBX, CTX_R12, CTX_R13, CTX_R14, CTX_R15 };
		for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
			fprintf(c->out, "%c%" PRIx64, i ? ' ' : '\t', ctx64(ctx, regs[i]));
		put_escaped(c->out, name);
		put_escaped(c->out, assembly);
		fputc('\n', c->out);
		if (COM_FN(walk, XCLRWALK_NEXT, HRESULT (*)(void *))(walk) != S_OK)
			break;
	}
	COM_RELEASE(walk);
	COM_RELEASE(task);
}

typedef int (*dllmain_fn)(void *, uint32_t, void *);
typedef int (*pal_init_fn)(void);
typedef HRESULT (*create_fn)(const GUID *, void *, void **);

/* The sandbox of the DAC's process (src/sandbox.c) before the load: the files the target
 * reads from opened now, every other fd closed, the DAC's own directory @dir_fd as the root.
 * Then the DAC is loaded by its name there, and must be the file @dac_fd checked. */
static int confine_dac(int out_fd, int dac_fd, int dir_fd, struct cp_core *core, struct cp_target *t,
		       const char *name, const char **why)
{
	_cleanup_free_ int *keep = malloc((core->n_maps + 8) * sizeof(*keep));
	struct stat a, b;
	size_t n;
	int r;

	*why = "out of memory";
	if (!keep)
		return -ENOMEM;
	n = cp_target_open_files(t, keep);
	keep[n++] = out_fd;
	keep[n++] = dac_fd;
	keep[n++] = dir_fd;
	if (core->live_fd >= 0)
		keep[n++] = core->live_fd;
	if (core->in)
		keep[n++] = cp_input_fd(core->in);
	if ((r = cp_child_enter_dac_sandbox(dir_fd, keep, n, why)) < 0)
		return r;
	close(dir_fd);
	*why = "the DAC is not the file that was checked";
	if (fstat(dac_fd, &a) < 0 || stat(name, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -ESTALE;
	close(dac_fd);
	return 0;
}

static void __attribute__((noreturn)) run_child(int out_fd, int dac_fd, int dir_fd, const char *dac_name,
					       struct cp_core *core, struct cp_target *t,
					       uint64_t runtime_base, const struct cp_dac_options *opts)
{
	struct child c = { .t = t, .max_frames = opts->max_frames };
	char path[MAX_NAME];
	const char *why;

	c.out = fdopen(out_fd, "w");
	if (!c.out)
		_exit(3);
	int r = cp_child_confine(opts->timeout, opts->drop_privileges ? opts->uid : 0,
				 opts->drop_privileges ? opts->gid : 0);
	if (r < 0) {
		fprintf(c.out, "E\tcannot drop privileges for the DAC: %s\n", strerror(-r));
		fflush(c.out);
		_exit(0);
	}
	/* With this set, the DAC would look for the cDAC and fail (runtime daccess.cpp). */
	unsetenv("DOTNET_ENABLE_CDAC");
	unsetenv("COMPlus_ENABLE_CDAC");

	/* Confined before the load: the DAC's constructors run inside dlopen(). */
	snprintf(path, sizeof(path), "/%s", dac_name);
	r = confine_dac(out_fd, dac_fd, dir_fd, core, t, path, &why);
	if (r < 0) {
		fprintf(c.out, "E\tnot loaded: the DAC's sandbox failed (%s: %s)\n", why, strerror(-r));
		fflush(c.out);
		_exit(0);
	}
	void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		fprintf(c.out, "E\tcannot load the DAC: %s\n", dlerror());
		fflush(c.out);
		_exit(0);
	}
	dllmain_fn dllmain = (dllmain_fn)dlsym(h, "DllMain");
	pal_init_fn pal_init = (pal_init_fn)dlsym(h, "DAC_PAL_InitializeDLL");
	create_fn create = (create_fn)dlsym(h, "CLRDataCreateInstance");
	if (!create) {
		fprintf(c.out, "E\tthe DAC has no CLRDataCreateInstance\n");
		fflush(c.out);
		_exit(0);
	}
	if (dllmain)
		dllmain(h, 1 /* DLL_PROCESS_ATTACH */, NULL);
	else if (pal_init)
		pal_init();

	void *target = cp_datatarget_create(core, t, runtime_base);
	HRESULT hr = target ? create(&IID_IXCLRDataProcess, target, &c.process) : E_FAIL;
	if (FAILED(hr) || !c.process) {
		why = (uint32_t)hr == 0x80131c4f ? " (the runtime's debugger exports cannot be read)" :
				  (uint32_t)hr == 0x80131c4e ? " (the runtime had not started)" :
				  (uint32_t)hr == 0x80131c30 ? " (wrong platform)" : "";
		fprintf(c.out, "E\tCLRDataCreateInstance failed with HRESULT 0x%08" PRIx32 "%s\n", (uint32_t)hr, why);
		fflush(c.out);
		_exit(0);
	}
	/* Loaded and initialised: from here on, memory, threads and this pipe only. */
	fflush(c.out);
	r = cp_sandbox_dac_allowlist(out_fd);
	if (r < 0) {
		fprintf(c.out, "E\tthe DAC's system call filter failed: %s\n", strerror(-r));
		fflush(c.out);
		_exit(0);
	}
	if (FAILED(COM_FN(c.process, 0, HRESULT (*)(void *, const GUID *, void **))(c.process, &IID_ISOSDacInterface, &c.sos)))
		c.sos = NULL;
	if (FAILED(COM_FN(c.process, 0, HRESULT (*)(void *, const GUID *, void **))(c.process, &IID_ISOSDacInterface2, &c.sos2)))
		c.sos2 = NULL;
	for (size_t i = 0; i < core->n_threads; i++) {
		walk_thread(&c, core->threads[i].tid, i == 0);
		fflush(c.out);
	}
	fflush(c.out);
	/* Never dlclose the DAC (its TLS destructors live in it); just leave. */
	_exit(0);
}

/* ---- the parent ---- */

struct dac_frame {
	char kind;
	uint64_t ip, sp;
	uint32_t token, il;
	bool has_il;
	struct user_regs_struct regs;
	char *name, *assembly;
};

struct dac_thread {
	pid_t tid;
	struct dac_frame *frames;
	size_t n;
	struct cp_exception *exception;
};

struct dac_result {
	struct dac_thread *threads;
	size_t n;
	char *error;
};

static void result_deinit(struct dac_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->threads[i].n; j++) {
			free(r->threads[i].frames[j].name);
			free(r->threads[i].frames[j].assembly);
		}
		free(r->threads[i].frames);
		cp_exception_destroy(r->threads[i].exception);
	}
	free(r->threads);
	free(r->error);
}

/* Split @line at tabs in place, unescaping each field; returns the number of fields. */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		fields[n++] = p;
		char *w = p;
		for (; *p && *p != '\t'; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				*w++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
			} else {
				*w++ = *p;
			}
		}
		bool more = *p == '\t';
		*w = '\0';
		if (!more)
			break;
		p++;
	}
	return n;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static void parse_line(struct dac_result *r, char *line)
{
	char *f[16];
	size_t n = split(line, f, ARRAY_SIZE(f));
	struct dac_thread *t = r->n ? &r->threads[r->n - 1] : NULL;

	if (strcmp(f[0], "E") == 0 && n >= 2 && !r->error) {
		r->error = strdup(f[1]);
	} else if (strcmp(f[0], "T") == 0 && n >= 2) {
		struct dac_thread *p = realloc(r->threads, (r->n + 1) * sizeof(*p));
		if (!p)
			return;
		r->threads = p;
		memset(&p[r->n], 0, sizeof(*p));
		p[r->n++].tid = strtol(f[1], NULL, 10);
	} else if (strcmp(f[0], "F") == 0 && n >= 9 && t) {
		struct dac_frame *p = realloc(t->frames, (t->n + 1) * sizeof(*p));
		if (!p)
			return;
		t->frames = p;
		struct dac_frame *fr = &p[t->n++];
		memset(fr, 0, sizeof(*fr));
		fr->kind = f[1][0];
		fr->ip = strtoull(f[2], NULL, 16);
		fr->sp = strtoull(f[3], NULL, 16);
		fr->token = strtoul(f[4], NULL, 16);
		fr->has_il = f[5][0] != '-';
		fr->il = fr->has_il ? strtoul(f[5], NULL, 10) : 0;
		unsigned long long v[8] = { 0 };
		sscanf(f[6], "%llx %llx %llx %llx %llx %llx %llx %llx", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		fr->regs.rip = v[0];
		fr->regs.rsp = v[1];
		fr->regs.rbp = v[2];
		fr->regs.rbx = v[3];
		fr->regs.r12 = v[4];
		fr->regs.r13 = v[5];
		fr->regs.r14 = v[6];
		fr->regs.r15 = v[7];
		fr->name = dup_or_null(f[7]);
		fr->assembly = n > 8 ? dup_or_null(f[8]) : NULL;
	} else if (strcmp(f[0], "X") == 0 && n >= 6) {
		pid_t tid = strtol(f[1], NULL, 10);
		int depth = strtol(f[2], NULL, 10);
		for (size_t i = 0; i < r->n; i++) {
			if (r->threads[i].tid != tid)
				continue;
			struct cp_exception **slot = &r->threads[i].exception;
			for (int d = 0; d < depth && *slot; d++)
				slot = &(*slot)->inner;
			if (*slot)
				return;
			struct cp_exception *e = calloc(1, sizeof(*e));
			if (!e)
				return;
			e->hresult = (int32_t)strtoul(f[3], NULL, 16);
			e->has_hresult = e->hresult != 0;
			e->type = dup_or_null(f[4]);
			e->message = dup_or_null(f[5]);
			*slot = e;
		}
	}
}

/* Parse the child's lines, once it has ended or run out of time. */
static void read_child(int fd, pid_t child, unsigned timeout, struct dac_result *r, int *status)
{
	char *buf;
	size_t len;

	cp_child_collect(fd, child, timeout + 2, MAX_CHILD_OUTPUT, &buf, &len, status);
	if (!buf)
		return;
	/* For debugging crashpipe itself: what the DAC's process said, as it said it. */
	if (getenv("CRASHPIPE_DAC_TRACE"))
		fputs(buf, stderr);
	/* Only whole lines count: a child killed mid-line leaves half a fact. */
	for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		parse_line(r, line);
	}
	free(buf);
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

static void merge_thread(struct cp_target *t, struct cp_modules *mods, struct cp_thread *th,
			 struct dac_thread *dt, size_t max_frames)
{
	struct cp_thread all = { .tid = th->tid };

	/* The native frames up to the first one outside every ELF module (JIT code). */
	for (size_t i = 0; i < th->n_frames; i++) {
		struct cp_frame *f = &th->frames[i];
		if (i > 0 && !cp_modules_find(mods, f->ip - 1))
			break;
		take_frame(&all, f);
	}
	for (size_t i = 0; i < dt->n; i++) {
		struct dac_frame *d = &dt->frames[i];
		if (d->kind == 'm' || d->kind == 'r') {
			struct cp_frame *f = cp_thread_add_frame(&all, d->ip, d->sp);
			if (!f)
				break;
			f->kind = d->kind == 'm' ? CP_FRAME_MANAGED : CP_FRAME_RUNTIME;
			f->function = TAKE_PTR(d->name);
			f->assembly = TAKE_PTR(d->assembly);
			f->module = f->assembly ? strdup(f->assembly) : NULL;
			f->token = d->token;
			f->has_token = d->token != 0;
			f->il_offset = d->il;
			f->has_il_offset = d->has_il;
		}
		/* Native code called from here (a P/Invoke target, the runtime below Main);
		 * from JIT code this stops at once. */
		(void) cp_unwind_regs(t, mods, &d->regs, max_frames, d->kind != 'c', &all);
	}
	qsort(all.frames, all.n_frames, sizeof(*all.frames), cmp_sp);

	/* One frame per SP, at most max_frames. */
	for (size_t i = 0; i < th->n_frames; i++)
		cp_frame_deinit(&th->frames[i]);
	th->n_frames = 0;
	for (size_t i = 0; i < all.n_frames; i++) {
		struct cp_frame *f = &all.frames[i];
		if ((th->n_frames > 0 && th->frames[th->n_frames - 1].sp == f->sp) || th->n_frames >= max_frames) {
			if (th->n_frames >= max_frames)
				th->truncated = true;
			cp_frame_deinit(f);
			continue;
		}
		take_frame(th, f);
	}
	free(all.frames);
	free(all.error);
	th->exception = TAKE_PTR(dt->exception);
}

static const struct cp_mapping *find_runtime(const struct cp_core *core)
{
	for (size_t i = 0; i < core->n_maps; i++) {
		const struct cp_mapping *m = &core->maps[i];
		const char *base = strrchr(m->path, '/');
		if (m->offset == 0 && base && strcmp(base + 1, RUNTIME_NAME) == 0)
			return m;
	}
	return NULL;
}

struct runtime_info {
	unsigned char dac_id[20];	/* the build-id of the DAC the runtime needs */
	size_t dac_id_len;
	char version[32];
};

/*
 * A single-file app exports DotNetRuntimeInfo (runtime's debugger headers; read the way
 * ClrMD's RuntimeInfo does): "DotNetRuntimeInfo\0" (18 bytes), int version at 20, then
 * three module indexes of 24 bytes (length byte, build-id) for the runtime, the DAC and the
 * DBI from 24; version 2 and later add the runtime's file version (major, minor, build)
 * at 96, whose build number is the product's patch number times 100.
 */
static int find_single_file(struct cp_target *t, struct cp_modules *mods, uint64_t entry,
			    const char **path_ret, uint64_t *base_ret, struct runtime_info *info)
{
	unsigned char b[112];
	uint64_t addr;
	int32_t version, v[3];

	if (cp_modules_lookup(mods, entry, "DotNetRuntimeInfo", &addr, path_ret, base_ret) < 0 ||
	    cp_target_read(t, addr, b, sizeof(b)) < 0 || memcmp(b, "DotNetRuntimeInfo", 18) != 0)
		return -ENOENT;
	memcpy(&version, b + 20, 4);
	if (b[48] > 0 && b[48] <= sizeof(info->dac_id)) {
		info->dac_id_len = b[48];
		memcpy(info->dac_id, b + 49, b[48]);
	}
	if (version >= 2) {
		memcpy(v, b + 96, sizeof(v));
		snprintf(info->version, sizeof(info->version), "%d.%d.%d", v[0], v[1], v[2] / 100);
	}
	return 0;
}

/* "10.0.12" from the shared framework's directory name, else from libcoreclr.so's
 * "@(#)Version 10.0.1226.42308" (the product's patch number is the build number / 100). */
static char *runtime_version(const char *dir, int fd)
{
	const char *base = strrchr(dir, '/');
	unsigned a, b, c;
	char tail;

	base = base ? base + 1 : dir;
	if (sscanf(base, "%u.%u.%u%c", &a, &b, &c, &tail) == 3)
		return strdup(base);
	if (fd < 0)
		return NULL;
	static char buf[1 << 16];
	static const char tag[] = "@(#)Version ";
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, off);
		if (n <= (ssize_t)sizeof(tag))
			return NULL;
		buf[n] = '\0';
		char *p = memmem(buf, n, tag, sizeof(tag) - 1);
		if (p && p + sizeof(tag) + 24 < buf + n) {
			if (sscanf(p + sizeof(tag) - 1, "%u.%u.%u", &a, &b, &c) == 3) {
				char *v;
				return asprintf(&v, "%u.%u.%u", a, b, c / 100) < 0 ? NULL : v;
			}
			return NULL;
		}
		off += n - (ssize_t)sizeof(tag);
	}
}

static int start(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		 struct cp_report *report, int rootfd, const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	struct cp_runtime *rt = &report->runtime;
	const struct cp_mapping *runtime = find_runtime(core);
	_cleanup_free_ char *dir = NULL, *dac_path = NULL;
	_cleanup_close_ int dac_fd = -1;
	struct runtime_info info = { 0 };
	const char *runtime_path;
	uint64_t runtime_base, entry;

	if (!cp_core_is_dotnet(core))
		return 0;
	rt->present = true;
	if (runtime) {
		runtime_path = runtime->path;
		runtime_base = runtime->start;
	} else if (cp_core_auxv(core, AT_ENTRY, &entry) &&
		   find_single_file(t, mods, entry, &runtime_path, &runtime_base, &info) == 0) {
		/* A single-file app: the runtime is the executable; the DAC is not in it. */
	} else {
		rt->dac_error = strdup("neither " RUNTIME_NAME " nor a single-file app's DotNetRuntimeInfo was found");
		return 0;
	}
	_cleanup_free_ char *copy = strdup(runtime_path);
	if (!copy)
		return -ENOMEM;
	dir = strdup(dirname(copy));
	rt->directory = strdup(dir);
	rt->version = info.version[0] ? strdup(info.version) : runtime_version(dir, cp_target_file_fd(t, runtime_path));

	/* The DAC does not check that it matches the runtime; we do, by build-id. */
	const struct cp_module *rm = cp_modules_find(mods, runtime_base);
	if (rm && cp_module_build_id_match(rm) == 0) {
		if (asprintf(&rt->dac_error, "%s on disk is not the one the process ran (its build-id differs)",
			     runtime_path) < 0)
			rt->dac_error = NULL;
		return 0;
	}
	if (opts->disabled) {
		rt->dac_error = strdup("not used (--no-dac)");
		return 0;
	}
	if (opts->dac_path) {
		dac_path = strdup(opts->dac_path);
		dac_fd = open(dac_path, O_RDONLY | O_CLOEXEC);
	} else {
		if (asprintf(&dac_path, "%s/%s", opts->runtime_dir ? opts->runtime_dir : dir, DAC_NAME) < 0) {
			dac_path = NULL;
			return -ENOMEM;
		}
		dac_fd = opts->runtime_dir ? open(dac_path, O_RDONLY | O_CLOEXEC) :
			 cp_open_in_root(rootfd, dac_path, false);
	}
	if (dac_fd < 0) {
		int err = dac_fd == -1 ? errno : -dac_fd;
		if (asprintf(&rt->dac_error, "%s: %s%s", dac_path, strerror(err),
			     info.dac_id_len ? " (a single-file app: give its DAC with --dac or --runtime-dir)" : "") < 0)
			rt->dac_error = NULL;
		return 0;
	}
	/* A single-file app names the build-id of the DAC it needs. */
	if (info.dac_id_len) {
		unsigned char id[64];
		int n = cp_elf_build_id(dac_fd, id, sizeof(id));
		if (n != (int)info.dac_id_len || memcmp(id, info.dac_id, n) != 0) {
			if (asprintf(&rt->dac_error, "%s is not the DAC of this runtime (build-id differs)", dac_path) < 0)
				rt->dac_error = NULL;
			return 0;
		}
	}
	rt->dac = strdup(dac_path);

	/* The DAC's process gets the DAC's own directory as its root. */
	_cleanup_free_ char *dac_copy = strdup(dac_path);
	if (!dac_copy)
		return -ENOMEM;
	const char *dac_name = strrchr(dac_path, '/') ? strrchr(dac_path, '/') + 1 : dac_path;
	const char *dac_dir = dirname(dac_copy);
	_cleanup_close_ int dir_fd = opts->dac_path || opts->runtime_dir ?
		open(dac_dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : cp_open_dir_in_root(rootfd, dac_dir);
	if (dir_fd < 0) {
		int err = dir_fd == -1 ? errno : -dir_fd;
		if (asprintf(&rt->dac_error, "%s: %s", dac_dir, strerror(err)) < 0)
			rt->dac_error = NULL;
		return 0;
	}

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t child = cp_child_fork();
	if (child == 0) {
		close(pfd[0]);
		run_child(pfd[1], dac_fd, dir_fd, dac_name, core, t, runtime_base, opts);
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

static void finish(struct cp_target *t, struct cp_modules *mods, struct cp_report *report,
		   const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	struct cp_runtime *rt = &report->runtime;
	struct dac_result res = { 0 };
	int status = 0;

	read_child(run->fd, run->child, opts->timeout, &res, &status);
	close(run->fd);
	run->fd = -1;
	run->child = -1;

	if (res.error) {
		rt->dac_error = TAKE_PTR(res.error);
	} else if (WIFSIGNALED(status)) {
		rt->dac_timed_out = WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGKILL;
		if (asprintf(&rt->dac_error, "the DAC %s (signal %d); managed frames of the threads it had not reached are missing",
			     rt->dac_timed_out ? "timed out" : "crashed", WTERMSIG(status)) < 0)
			rt->dac_error = NULL;
	}
	for (size_t i = 0; i < res.n; i++)
		for (size_t j = 0; j < report->n_threads; j++)
			if (report->threads[j].tid == res.threads[i].tid)
				merge_thread(t, mods, &report->threads[j], &res.threads[i], opts->max_frames);
	result_deinit(&res);
}

int cp_dac_start(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		 struct cp_report *report, int rootfd, const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	run->child = -1;
	run->fd = -1;
	return start(core, t, mods, report, rootfd, opts, run);
}

int cp_dac_finish(struct cp_target *t, struct cp_modules *mods, struct cp_report *report,
		  const struct cp_dac_options *opts, struct cp_dac_run *run)
{
	if (run->child > 0)
		finish(t, mods, report, opts, run);
	/* Managed frames that should be there and are not make the report partial. */
	if (report->runtime.dac_error && !opts->disabled)
		cp_report_note(report, true, "managed frames: %s", report->runtime.dac_error);
	return 0;
}
