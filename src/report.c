/*
 * report.c - the report's structs and their JSON form, schema "crashpipe/1"; the only
 * user of cJSON. Field names are an interface other tools read: they change only with
 * the schema's version (crashpipe-report(5)).
 *
 * Addresses are hex strings: cJSON keeps numbers as doubles, which cannot hold every
 * 64-bit address.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "report.h"
#include "spool.h"
#include "strv.h"
#include "termsafe.h"
#include "zio.h"

#define MAX_REPORT (256u << 20)

static void cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}

struct cp_report *cp_report_create(void)
{
	struct cp_report *r = calloc(1, sizeof(*r));
	if (r) {
		r->process.time = -1;
		r->process.rlimit_core = -1;
	}
	return r;
}

void cp_frame_deinit(struct cp_frame *f)
{
	free(f->module);
	free(f->build_id);
	free(f->function);
	free(f->file);
	free(f->assembly);
	free(f->display);
}

/* Recursion is bounded: the reader nests inner exceptions at most 16 deep, the DAC's
 * worker its chain likewise (dac/wire.h). */
void cp_exception_destroy(struct cp_exception *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_inners; i++)
		cp_exception_destroy(e->inners[i]);
	free(e->inners);
	for (size_t i = 0; i < e->n_stack; i++)
		cp_frame_deinit(&e->stack[i]);
	free(e->stack);
	free(e->type);
	free(e->message);
	free(e);
}

const char *cp_frame_kind_name(enum cp_frame_kind kind)
{
	static const char *const names[] = { "native", "managed", "runtime" };
	return kind < _CP_FRAME_KIND_MAX ? names[kind] : "native";
}

void cp_report_destroy(struct cp_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_threads; i++) {
		struct cp_thread *t = &r->threads[i];
		for (size_t j = 0; j < t->n_frames; j++)
			cp_frame_deinit(&t->frames[j]);
		free(t->frames);
		cp_exception_destroy(t->exception);
		free(t->name);
		free(t->managed_name);
		free(t->error);
	}
	free(r->threads);
	for (size_t i = 0; i < r->n_modules; i++) {
		free(r->modules[i].path);
		free(r->modules[i].build_id);
		free(r->modules[i].debuginfo);
	}
	free(r->modules);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	free(r->runtime.kind);
	free(r->runtime.version);
	free(r->runtime.directory);
	free(r->runtime.dac);
	free(r->runtime.dac_error);
	struct cp_process *p = &r->process;
	free(p->exe);
	free(p->comm);
	free(p->cmdline);
	free(p->hostname);
	free(p->boot_id);
	free(p->cgroup);
	free(p->core_writer);
	free(r);
}

/* Grow *@array of @size-byte items to hold one more; returns the new (zeroed) item. */
static void *grow(void *array_ptr, size_t *n, size_t size)
{
	void **array = array_ptr;
	/* Capacity doubles at powers of two. */
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;
		void *p = realloc(*array, cap * size);
		if (!p)
			return NULL;
		*array = p;
	}
	void *item = (char *)*array + *n * size;
	memset(item, 0, size);
	(*n)++;
	return item;
}

struct cp_thread *cp_report_add_thread(struct cp_report *r, pid_t tid)
{
	struct cp_thread *t = grow(&r->threads, &r->n_threads, sizeof(*t));
	if (t)
		t->tid = tid;
	return t;
}

struct cp_frame *cp_thread_add_frame(struct cp_thread *t, uint64_t ip, uint64_t sp)
{
	struct cp_frame *f = grow(&t->frames, &t->n_frames, sizeof(*f));
	if (f) {
		f->ip = ip;
		f->sp = sp;
	}
	return f;
}

struct cp_frame *cp_exception_add_frame(struct cp_exception *e, uint64_t ip, uint64_t sp)
{
	struct cp_frame *f = grow(&e->stack, &e->n_stack, sizeof(*f));
	if (f) {
		f->ip = ip;
		f->sp = sp;
	}
	e->has_stack = true;
	return f;
}

int cp_exception_add_inner(struct cp_exception *e, struct cp_exception *inner)
{
	struct cp_exception **slot = grow(&e->inners, &e->n_inners, sizeof(*slot));
	if (!slot) {
		cp_exception_destroy(inner);
		return -ENOMEM;
	}
	*slot = inner;
	return 0;
}

struct cp_module_info *cp_report_add_module(struct cp_report *r)
{
	struct cp_module_info *m = grow(&r->modules, &r->n_modules, sizeof(*m));
	if (m)
		m->build_id_match = -1;
	return m;
}

void cp_report_note(struct cp_report *r, bool partial, const char *fmt, ...)
{
	va_list ap;

	if (partial)
		r->partial = true;
	va_start(ap, fmt);
	cp_strv_append_va(&r->notes, &r->n_notes, fmt, ap);
	va_end(ap);
}

const char *cp_signal_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
		[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
		[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
		[SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
		[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
		[SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
	};
	if (sig > 0 && (size_t)sig < ARRAY_SIZE(names) && names[sig])
		return names[sig];
	return NULL;
}

const char *cp_si_code_name(int sig, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TIMER: return "SI_TIMER";
	case SI_MESGQ: return "SI_MESGQ";
	case SI_ASYNCIO: return "SI_ASYNCIO";
	case SI_SIGIO: return "SI_SIGIO";
	case SI_TKILL: return "SI_TKILL";
	}
	if (sig == SIGSEGV) {
		static const char *const n[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR",
						 "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR",
						 "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGBUS) {
		static const char *const n[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR",
						 "BUS_MCEERR_AR", "BUS_MCEERR_AO" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGILL) {
		static const char *const n[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR",
						 "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC",
						 "ILL_BADSTK", "ILL_BADIADDR" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGFPE) {
		static const char *const n[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV",
						 "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV",
						 "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGTRAP) {
		static const char *const n[] = { NULL, "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH",
						 "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	}
	return NULL;
}

/* ---- writing ---- */



/*
 * The JSON text is written straight into one growing buffer, in exactly the form
 * cJSON_Print() gives (tabs, "key":<tab>value, ", " between array elements, numbers as
 * cJSON prints them): a report of a hundred threads has tens of thousands of values, and a
 * cJSON tree of them cost a malloc for every node, key and string, three times the time of
 * the text itself. The text is an interface too; tests/unit/test-report.c holds it to
 * cJSON_Print()'s.
 */
struct jw {
	char *buf;
	size_t len, cap;
	unsigned depth;		/* open objects and arrays */
	bool first;		/* nothing yet in the innermost one */
	bool in_array;		/* the innermost one is an array */
	bool failed;		/* out of memory: everything after is dropped */
	uint64_t arrays;	/* bit i: level i + 1 is an array */
};

static bool jw_reserve(struct jw *w, size_t n)
{
	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			w->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *b = realloc(w->buf, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (!jw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_char(struct jw *w, char c)
{
	if (!jw_reserve(w, 1))
		return;
	w->buf[w->len++] = c;
}

static void jw_tabs(struct jw *w, unsigned n)
{
	if (!jw_reserve(w, n))
		return;
	memset(w->buf + w->len, '\t', n);
	w->len += n;
}

/* A string as cJSON escapes it, with every byte that is not valid UTF-8 made U+FFFD
 * (strings from a core or /proc are whatever bytes the crashed user chose). NULL is "". */
static void jw_string(struct jw *w, const char *s)
{
	jw_char(w, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
		unsigned c = *p;
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = cp_utf8_decode(p, &cp);
			if (n) {
				jw_raw(w, (const char *)p, n);
				p += n;
			} else {
				jw_raw(w, "\xef\xbf\xbd", 3);
				p++;
			}
			continue;
		}
		p++;
		switch (c) {
		case '"': jw_raw(w, "\\\"", 2); break;
		case '\\': jw_raw(w, "\\\\", 2); break;
		case '\b': jw_raw(w, "\\b", 2); break;
		case '\f': jw_raw(w, "\\f", 2); break;
		case '\n': jw_raw(w, "\\n", 2); break;
		case '\r': jw_raw(w, "\\r", 2); break;
		case '\t': jw_raw(w, "\\t", 2); break;
		default:
			if (c < 0x20) {
				char esc[8];
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				jw_raw(w, esc, 6);
			} else {
				jw_char(w, (char)c);
			}
		}
	}
	jw_char(w, '"');
}

/* Before a value: the separator from the one before it and, in an object, the key. */
static void jw_key(struct jw *w, const char *key)
{
	if (w->in_array) {
		if (!w->first)
			jw_raw(w, ", ", 2);
	} else if (w->depth > 0) {
		jw_raw(w, w->first ? "\n" : ",\n", w->first ? 1 : 2);
		jw_tabs(w, w->depth);
		jw_string(w, key);
		jw_raw(w, ":\t", 2);
	}
	w->first = false;
}

static void jw_open(struct jw *w, const char *key, bool array)
{
	jw_key(w, key);
	jw_char(w, array ? '[' : '{');
	if (w->depth >= 63) {
		w->failed = true;
		return;
	}
	if (array)
		w->arrays |= UINT64_C(1) << w->depth;
	else
		w->arrays &= ~(UINT64_C(1) << w->depth);
	w->depth++;
	w->first = true;
	w->in_array = array;
}

static void jw_close(struct jw *w)
{
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	w->depth--;
	bool array = w->arrays >> w->depth & 1;
	if (!array) {
		jw_char(w, '\n');
		jw_tabs(w, w->depth);
	}
	jw_char(w, array ? ']' : '}');
	w->first = false;
	w->in_array = w->depth > 0 && (w->arrays >> (w->depth - 1) & 1);
}

static void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	if (s)
		jw_string(w, s);
	else
		jw_raw(w, "null", 4);
}

static void jw_null(struct jw *w, const char *key)
{
	jw_str(w, key, NULL);
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

static void jw_hex(struct jw *w, const char *key, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "\"0x%" PRIx64 "\"", v);
	jw_key(w, key);
	jw_raw(w, buf, (size_t)n);
}

/* A number as cJSON prints one: an int as %d, else the shortest of %1.15g and %1.17g that
 * reads back as the same double. */
static void jw_num(struct jw *w, const char *key, double d)
{
	char buf[32];
	int n;

	if (isnan(d) || isinf(d)) {
		n = snprintf(buf, sizeof(buf), "null");
	} else {
		int i = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
		if (d == (double)i) {
			n = snprintf(buf, sizeof(buf), "%d", i);
		} else {
			n = snprintf(buf, sizeof(buf), "%1.15g", d);
			double back = strtod(buf, NULL);
			double big = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
			if (!(fabs(back - d) <= big * DBL_EPSILON))
				n = snprintf(buf, sizeof(buf), "%1.17g", d);
		}
	}
	jw_key(w, key);
	jw_raw(w, buf, (size_t)n);
}

static void jw_num_or_null(struct jw *w, const char *key, bool has, double v)
{
	if (has)
		jw_num(w, key, v);
	else
		jw_null(w, key);
}

static void frame_to_json(struct jw *w, const struct cp_frame *f, size_t index)
{
	jw_open(w, NULL, false);
	jw_num(w, "index", index);
	jw_hex(w, "ip", f->ip);
	jw_hex(w, "sp", f->sp);
	jw_str(w, "kind", cp_frame_kind_name(f->kind));
	jw_str(w, "module", f->module);
	jw_str(w, "build_id", f->build_id);
	if (f->has_module_offset)
		jw_hex(w, "module_offset", f->module_offset);
	else
		jw_null(w, "module_offset");
	jw_str(w, "function", f->function);
	jw_num_or_null(w, "offset", f->has_offset, f->offset);
	jw_str(w, "file", f->file);
	jw_num_or_null(w, "line", f->line > 0, f->line);
	if (f->kind != CP_FRAME_NATIVE) {
		char tok[16];
		snprintf(tok, sizeof(tok), "0x%08" PRIx32, f->token);
		jw_str(w, "assembly", f->assembly);
		jw_str(w, "token", f->has_token ? tok : NULL);
		jw_num_or_null(w, "il_offset", f->has_il_offset, f->il_offset);
	}
	jw_close(w);
}

static void exception_to_json(struct jw *w, const char *key, const struct cp_exception *e, pid_t tid,
			      const struct cp_thread *frames_of)
{
	char hr[16];

	snprintf(hr, sizeof(hr), "0x%08" PRIx32, (uint32_t)e->hresult);
	jw_open(w, key, false);
	if (tid)
		jw_num(w, "thread", tid);
	jw_str(w, "type", e->type);
	jw_str(w, "message", e->message);
	jw_str(w, "hresult", e->has_hresult ? hr : NULL);
	if (frames_of) {
		/* The stack the exception was thrown on: the thread's managed frames. */
		jw_open(w, "frames", true);
		for (size_t i = 0, n = 0; i < frames_of->n_frames; i++)
			if (frames_of->frames[i].kind == CP_FRAME_MANAGED)
				frame_to_json(w, &frames_of->frames[i], n++);
		jw_close(w);
	}
	jw_open(w, "inner", true);
	for (size_t i = 0; i < e->n_inners; i++)
		exception_to_json(w, NULL, e->inners[i], 0, NULL);
	jw_close(w);
	jw_close(w);
}

static void add_exception(struct jw *w, const char *key, const struct cp_thread *t)
{
	if (!t || !t->exception)
		jw_null(w, key);
	else
		exception_to_json(w, key, t->exception, t->tid, t);
}

static void thread_to_json(struct jw *w, const struct cp_thread *t)
{
	jw_open(w, NULL, false);
	jw_num(w, "tid", t->tid);
	jw_str(w, "name", t->name);
	jw_bool(w, "crashed", t->crashed);
	jw_bool(w, "truncated", t->truncated);
	jw_str(w, "error", t->error);
	add_exception(w, "exception", t);
	jw_open(w, "frames", true);
	for (size_t i = 0; i < t->n_frames; i++)
		frame_to_json(w, &t->frames[i], i);
	jw_close(w);
	jw_close(w);
}

static void process_to_json(struct jw *w, const struct cp_process *p)
{
	jw_open(w, "process", false);
	jw_num(w, "pid", p->pid);
	jw_num(w, "tid", p->tid);
	jw_str(w, "exe", p->exe);
	jw_str(w, "comm", p->comm);
	jw_str(w, "cmdline", p->cmdline);
	jw_num_or_null(w, "uid", p->has_ids, p->uid);
	jw_num_or_null(w, "gid", p->has_ids, p->gid);
	jw_num(w, "signal", p->signal);
	jw_str(w, "signal_name", cp_signal_name(p->signal));
	jw_num_or_null(w, "si_code", p->has_si_code, p->si_code);
	jw_str(w, "si_code_name", p->has_si_code ? cp_si_code_name(p->signal, p->si_code) : NULL);
	if (p->has_fault_address)
		jw_hex(w, "fault_address", p->fault_address);
	else
		jw_null(w, "fault_address");
	jw_num_or_null(w, "time", p->time >= 0, p->time);
	jw_str(w, "hostname", p->hostname);
	jw_str(w, "boot_id", p->boot_id);
	jw_str(w, "cgroup", p->cgroup);
	jw_num_or_null(w, "rlimit_core", p->rlimit_core >= 0, p->rlimit_core == INT64_MAX ? -1 : (double)p->rlimit_core);
	jw_bool(w, "restricted", p->restricted);
	jw_close(w);
}

static void module_to_json(struct jw *w, const struct cp_module_info *m)
{
	jw_open(w, NULL, false);
	jw_str(w, "path", m->path);
	jw_hex(w, "base", m->base);
	jw_hex(w, "end", m->end);
	jw_str(w, "build_id", m->build_id);
	if (m->build_id_match < 0)
		jw_null(w, "file_build_id_match");
	else
		jw_bool(w, "file_build_id_match", m->build_id_match);
	jw_str(w, "debuginfo", m->debuginfo);
	jw_close(w);
}

char *cp_report_to_json(const struct cp_report *r)
{
	struct jw w = {};

	jw_open(&w, NULL, false);
	jw_str(&w, "schema", CP_SCHEMA);
	jw_str(&w, "generator", PACKAGE_NAME " " PACKAGE_VERSION);
	jw_bool(&w, "partial", r->partial);
	jw_str(&w, "memory_source", r->live ? "live" : "core");
	process_to_json(&w, &r->process);
	if (!r->runtime.present) {
		jw_null(&w, "runtime");
	} else {
		const struct cp_runtime *rt = &r->runtime;
		jw_open(&w, "runtime", false);
		jw_str(&w, "kind", "dotnet");
		jw_str(&w, "version", rt->version);
		jw_str(&w, "directory", rt->directory);
		jw_str(&w, "dac", rt->dac);
		jw_str(&w, "dac_error", rt->dac_error);
		jw_close(&w);
	}
	const struct cp_thread *crashed = NULL;
	for (size_t i = 0; i < r->n_threads && !crashed; i++)
		if (r->threads[i].crashed)
			crashed = &r->threads[i];
	add_exception(&w, "exception", crashed);
	jw_open(&w, "threads", true);
	for (size_t i = 0; i < r->n_threads; i++)
		thread_to_json(&w, &r->threads[i]);
	jw_close(&w);
	jw_open(&w, "modules", true);
	for (size_t i = 0; i < r->n_modules; i++)
		module_to_json(&w, &r->modules[i]);
	jw_close(&w);
	jw_open(&w, "notes", true);
	for (size_t i = 0; i < r->n_notes; i++)
		jw_str(&w, NULL, r->notes[i]);
	jw_close(&w);
	jw_close(&w);
	if (w.failed || w.depth != 0 || !jw_reserve(&w, 0)) {
		free(w.buf);
		return NULL;
	}
	w.buf[w.len] = '\0';
	return w.buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int write_json(const char *json, size_t len, const char *path);
static int write_json_at(int dir_fd, const char *name, const char *json, size_t len);

int cp_report_write(const struct cp_report *r, const char *path)
{
	_cleanup_free_ char *json = cp_report_to_json(r);

	if (!json)
		return -ENOMEM;
	return write_json(json, strlen(json), path);
}

int cp_report_write_at(const struct cp_report *r, int dir_fd, const char *name)
{
	_cleanup_free_ char *json = cp_report_to_json(r);

	if (!json)
		return -ENOMEM;
	return write_json_at(dir_fd, name, json, strlen(json));
}

static bool json_is_report(const char *json, size_t len)
{
	_cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *schema = root ? cJSON_GetObjectItemCaseSensitive(root, "schema") : NULL;

	return cJSON_IsString(schema) && strcmp(schema->valuestring, CP_SCHEMA) == 0;
}

int cp_report_write_json(const char *json, size_t len, const char *path)
{
	if (!json_is_report(json, len))
		return -EINVAL;
	return write_json(json, len, path);
}

int cp_report_write_json_at(int dir_fd, const char *name, const char *json, size_t len)
{
	if (!json_is_report(json, len))
		return -EINVAL;
	return write_json_at(dir_fd, name, json, len);
}

/* The bytes that go to the file: the JSON and its newline, compressed for a ".zst" name. */
static int file_bytes(const char *name, const char *json, size_t len, void **ret, size_t *len_ret)
{
	_cleanup_free_ char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, json, len);
	copy[len] = '\n';
	if (ends_with(name, ".zst"))
		return cp_zstd_compress(copy, len + 1, ret, len_ret);
	*ret = TAKE_PTR(copy);
	*len_ret = len + 1;
	return 0;
}

/*
 * The one way a report file is made, by name in a directory fd, so that no path is looked
 * up twice: a new file only we hold (cp_newfile_create), written, synced, made mode 0600
 * and (as root) root:root through its fd, then given its name with renameat() within the
 * same directory fd: a reader sees the old file or the whole new one, and whatever was at
 * the name (a symlink, a hard link to /etc/shadow) is replaced, never followed or written.
 */
static int write_json_at(int dir_fd, const char *name, const char *json, size_t len)
{
	_cleanup_free_ void *data = NULL;
	struct cp_newfile f;
	int ret;

	if (!*name || strchr(name, '/'))
		return -EINVAL;
	ret = file_bytes(name, json, len, &data, &len);
	if (ret < 0)
		return ret;
	ret = cp_newfile_create(dir_fd, O_WRONLY, &f);
	if (ret < 0)
		return ret;
	ret = cp_write_all(f.fd, data, len);
	if (ret == 0 && fsync(f.fd) < 0 && errno != EINVAL)
		ret = -errno;
	if (ret < 0) {
		cp_newfile_abort(&f);
		return ret;
	}
	return cp_newfile_commit(&f, name, 0600);
}

static int write_json(const char *json, size_t len, const char *path)
{
	int ret;

	if (strcmp(path, "-") == 0) {
		ret = cp_write_all(STDOUT_FILENO, json, len);
		return ret < 0 ? ret : cp_write_all(STDOUT_FILENO, "\n", 1);
	}
	/* A device or a FIFO a person named (/dev/null, /dev/stdout) is written as it is;
	 * a FIFO nobody reads fails at once (O_NONBLOCK) instead of hanging. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		_cleanup_free_ void *data = NULL;
		_cleanup_close_ int out = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (out < 0)
			return -errno;
		if (fcntl(out, F_SETFL, 0) < 0)
			return -errno;
		ret = file_bytes(path, json, len, &data, &len);
		return ret < 0 ? ret : cp_write_all(out, data, len);
	}
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	_cleanup_close_ int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	return write_json_at(dir_fd, slash ? slash + 1 : path, json, len);
}

/* ---- reading ---- */

/*
 * Nothing in a report is trusted: it is a file in a spool anyone may have planted, or JSON a
 * child wrote. Every field is absent, null, or of its type and range; anything else refuses
 * the whole report with a reason naming the field. Numbers are doubles in cJSON: each one is
 * checked finite, integral and in range before it becomes an integer (a cast of one that is
 * not is undefined behaviour).
 */
struct reader {
	const char **why;
	const char *section;		/* "process", "runtime", "threads", "modules", "notes" */
	long thread, frame;		/* indices, -1 outside */
};

/* The reason of the last refusal: *why points here, so it outlives the reader. */
static __thread char why_buf[160];

static int bad(struct reader *rd, const char *key, const char *what)
{
	char *buf = why_buf;
	size_t size = sizeof(why_buf);
	int n = snprintf(buf, size, "%s", rd->section ? rd->section : "report");
	if (rd->thread >= 0 && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, "[%ld]", rd->thread);
	if (rd->frame >= 0 && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, ".frames[%ld]", rd->frame);
	if (n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, "%s%s: %s", key ? "." : "", key ? key : "", what);
	*rd->why = buf;
	return -EINVAL;
}

/* The member @key of object @o, NULL when absent or JSON null. */
static const cJSON *member(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNull(v) ? NULL : v;
}

static int get_str(struct reader *rd, const cJSON *o, const char *key, char **ret)
{
	const cJSON *v = member(o, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(rd, key, "not a string");
	*ret = strdup(v->valuestring);
	return *ret ? 0 : -ENOMEM;
}

/* A build-id: a string of hex digits (any length: a core may carry a long one). It names
 * files in the debuginfo cache, so nothing else gets through. */
static int get_build_id(struct reader *rd, const cJSON *o, const char *key, char **ret)
{
	int r = get_str(rd, o, key, ret);
	if (r < 0 || !*ret)
		return r;
	if ((*ret)[strspn(*ret, "0123456789abcdefABCDEF")] != '\0') {
		free(*ret);
		*ret = NULL;
		return bad(rd, key, "not a string of hex digits");
	}
	return 0;
}

/* An integral number from @lo to @hi (both exactly representable as doubles). */
static int get_num(struct reader *rd, const cJSON *o, const char *key, double lo, double hi, const char *range,
		   double *ret, bool *has)
{
	const cJSON *v = member(o, key);

	*has = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return bad(rd, key, "not a number");
	double d = v->valuedouble;
	if (!isfinite(d) || d != trunc(d) || d < lo || d > hi)
		return bad(rd, key, range);
	*ret = d;
	*has = true;
	return 0;
}

#define PID_MAX 4194304.0		/* the kernel's PID_MAX_LIMIT */
#define TIME_MAX 253402300799.0		/* 9999-12-31 23:59:59 UTC */
#define U64_MAX_DOUBLE 18446744073709549568.0	/* the largest double below 2^64 */

/* A hex string as the writer makes them: "0x" and 1 to 16 hex digits, at most @bits wide. */
static int get_hex(struct reader *rd, const cJSON *o, const char *key, unsigned bits, uint64_t *ret, bool *has)
{
	const cJSON *v = member(o, key);
	uint64_t x = 0;
	size_t n = 0;

	*has = false;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(rd, key, "not a hex string");
	const char *s = v->valuestring;
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return bad(rd, key, "not a hex string (0x...)");
	for (s += 2; *s; s++, n++) {
		int dig;
		if (*s >= '0' && *s <= '9')
			dig = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			dig = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			dig = *s - 'A' + 10;
		else
			return bad(rd, key, "not a hex string (0x...)");
		if (n >= 16 || (bits < 64 && (x >> (bits - 4)) != 0))
			return bad(rd, key, bits == 32 ? "hex number wider than 32 bits" : "hex number wider than 64 bits");
		x = x << 4 | (uint64_t)dig;
	}
	if (n == 0)
		return bad(rd, key, "not a hex string (0x...)");
	*ret = x;
	*has = true;
	return 0;
}

static int get_bool(struct reader *rd, const cJSON *o, const char *key, bool *ret)
{
	const cJSON *v = member(o, key);

	*ret = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return bad(rd, key, "not true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* The array @key of @o, at most @max long: *@ret NULL when absent or null. */
static int get_array(struct reader *rd, const cJSON *o, const char *key, size_t max, const char *too_many,
		     const cJSON **ret)
{
	const cJSON *v = member(o, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return bad(rd, key, "not an array");
	if ((size_t)cJSON_GetArraySize(v) > max)
		return bad(rd, key, too_many);
	*ret = v;
	return 0;
}

static void cp_exception_destroyp(struct cp_exception **e)
{
	cp_exception_destroy(*e);
}

#define CHECK(x) do { int _r = (x); if (_r < 0) return _r; } while (0)

static int exception_from_json(struct reader *rd, const cJSON *o, int depth, struct cp_exception **ret)
{
	_cleanup_(cp_exception_destroyp) struct cp_exception *e = NULL;
	const cJSON *inner;
	uint64_t hr;
	bool has;

	*ret = NULL;
	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return bad(rd, "exception", "not an object");
	if (depth > 16)
		return bad(rd, "exception", "inner exceptions nested deeper than 16");
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	CHECK(get_str(rd, o, "type", &e->type));
	CHECK(get_str(rd, o, "message", &e->message));
	CHECK(get_hex(rd, o, "hresult", 32, &hr, &has));
	if ((e->has_hresult = has))
		e->hresult = (int32_t)(uint32_t)hr;
	CHECK(get_array(rd, o, "inner", 1, "more than one inner exception", &inner));
	const cJSON *first = cJSON_GetArrayItem(inner, 0);
	if (first) {
		struct cp_exception *in;
		CHECK(exception_from_json(rd, first, depth + 1, &in));
		if (in)
			CHECK(cp_exception_add_inner(e, in));
	}
	*ret = TAKE_PTR(e);
	return 0;
}

static int frame_from_json(struct reader *rd, const cJSON *fr, struct cp_thread *t)
{
	uint64_t ip, sp, v;
	bool has_ip, has_sp, has;
	double d;

	if (!cJSON_IsObject(fr))
		return bad(rd, NULL, "not an object");
	CHECK(get_hex(rd, fr, "ip", 64, &ip, &has_ip));
	CHECK(get_hex(rd, fr, "sp", 64, &sp, &has_sp));
	struct cp_frame *f = cp_thread_add_frame(t, has_ip ? ip : 0, has_sp ? sp : 0);
	if (!f)
		return -ENOMEM;
	CHECK(get_str(rd, fr, "module", &f->module));
	CHECK(get_build_id(rd, fr, "build_id", &f->build_id));
	CHECK(get_hex(rd, fr, "module_offset", 64, &f->module_offset, &f->has_module_offset));
	CHECK(get_str(rd, fr, "function", &f->function));
	CHECK(get_num(rd, fr, "offset", 0, U64_MAX_DOUBLE, "not an integer from 0 to 2^64-1", &d, &f->has_offset));
	if (f->has_offset)
		f->offset = (uint64_t)d;
	CHECK(get_str(rd, fr, "file", &f->file));
	CHECK(get_num(rd, fr, "line", 0, INT32_MAX, "not an integer from 0 to 2147483647", &d, &has));
	if (has)
		f->line = (int)d;
	const cJSON *kind = member(fr, "kind");
	if (kind) {
		int k;
		if (!cJSON_IsString(kind))
			return bad(rd, "kind", "not a string");
		/* crashpipe-report(5): new kinds may appear within crashpipe/1; one this
		 * reader does not know is shown as native. */
		for (k = 0; k < _CP_FRAME_KIND_MAX; k++)
			if (strcmp(kind->valuestring, cp_frame_kind_name(k)) == 0)
				break;
		f->kind = k < _CP_FRAME_KIND_MAX ? k : CP_FRAME_NATIVE;
	}
	CHECK(get_str(rd, fr, "assembly", &f->assembly));
	CHECK(get_hex(rd, fr, "token", 32, &v, &f->has_token));
	if (f->has_token)
		f->token = (uint32_t)v;
	CHECK(get_num(rd, fr, "il_offset", 0, UINT32_MAX, "not an integer from 0 to 4294967295", &d, &f->has_il_offset));
	if (f->has_il_offset)
		f->il_offset = (uint32_t)d;
	return 0;
}

static int thread_from_json(struct reader *rd, const cJSON *item, struct cp_report *r)
{
	const cJSON *frames, *fr;
	double d;
	bool has;

	if (!cJSON_IsObject(item))
		return bad(rd, NULL, "not an object");
	CHECK(get_num(rd, item, "tid", 0, PID_MAX, "not an integer from 0 to 4194304", &d, &has));
	struct cp_thread *t = cp_report_add_thread(r, has ? (pid_t)d : 0);
	if (!t)
		return -ENOMEM;
	CHECK(get_str(rd, item, "name", &t->name));
	CHECK(get_bool(rd, item, "crashed", &t->crashed));
	CHECK(get_bool(rd, item, "truncated", &t->truncated));
	CHECK(get_str(rd, item, "error", &t->error));
	CHECK(exception_from_json(rd, member(item, "exception"), 0, &t->exception));
	CHECK(get_array(rd, item, "frames", CP_REPORT_MAX_FRAMES, "more than 1000000 frames", &frames));
	rd->frame = 0;
	cJSON_ArrayForEach(fr, frames) {
		CHECK(frame_from_json(rd, fr, t));
		rd->frame++;
	}
	rd->frame = -1;
	return 0;
}

static int process_from_json(struct reader *rd, const cJSON *p, struct cp_process *pr)
{
	double d;
	bool has;

	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return bad(rd, NULL, "not an object");
	CHECK(get_num(rd, p, "pid", 0, PID_MAX, "not an integer from 0 to 4194304", &d, &has));
	if (has)
		pr->pid = (pid_t)d;
	CHECK(get_num(rd, p, "tid", 0, PID_MAX, "not an integer from 0 to 4194304", &d, &has));
	if (has)
		pr->tid = (pid_t)d;
	CHECK(get_str(rd, p, "exe", &pr->exe));
	CHECK(get_str(rd, p, "comm", &pr->comm));
	CHECK(get_str(rd, p, "cmdline", &pr->cmdline));
	/* (uid_t)-1 is no uid. */
	CHECK(get_num(rd, p, "uid", 0, UINT32_MAX - 1, "not an integer from 0 to 4294967294", &d, &pr->has_ids));
	if (pr->has_ids) {
		pr->uid = (uid_t)d;
		CHECK(get_num(rd, p, "gid", 0, UINT32_MAX - 1, "not an integer from 0 to 4294967294", &d, &has));
		if (has)
			pr->gid = (gid_t)d;
	}
	CHECK(get_num(rd, p, "signal", 0, 64, "not a signal number from 0 to 64", &d, &has));
	if (has)
		pr->signal = (int)d;
	CHECK(get_num(rd, p, "si_code", INT32_MIN, INT32_MAX, "not a 32-bit integer", &d, &pr->has_si_code));
	if (pr->has_si_code)
		pr->si_code = (int)d;
	CHECK(get_hex(rd, p, "fault_address", 64, &pr->fault_address, &pr->has_fault_address));
	CHECK(get_num(rd, p, "time", 0, TIME_MAX, "not a time from 0 to 253402300799 (year 9999)", &d, &has));
	if (has)
		pr->time = (int64_t)d;
	CHECK(get_str(rd, p, "hostname", &pr->hostname));
	CHECK(get_str(rd, p, "boot_id", &pr->boot_id));
	CHECK(get_str(rd, p, "cgroup", &pr->cgroup));
	/* -1 is unlimited; so is anything from 2^63 on, which int64_t does not hold. */
	CHECK(get_num(rd, p, "rlimit_core", -1, U64_MAX_DOUBLE, "not an integer from -1 to 2^64-1", &d, &has));
	if (has)
		pr->rlimit_core = d < 0 || d >= 9223372036854775808.0 ? INT64_MAX : (int64_t)d;
	return 0;
}

static int report_from_json(const cJSON *root, struct cp_report *r, const char **why)
{
	struct reader rd = { .why = why, .thread = -1, .frame = -1 };
	const cJSON *arr, *item;

	rd.section = "runtime";
	const cJSON *rt = member(root, "runtime");
	if (rt) {
		if (!cJSON_IsObject(rt))
			return bad(&rd, NULL, "not an object");
		r->runtime.present = true;
		CHECK(get_str(&rd, rt, "version", &r->runtime.version));
		CHECK(get_str(&rd, rt, "directory", &r->runtime.directory));
		CHECK(get_str(&rd, rt, "dac", &r->runtime.dac));
		CHECK(get_str(&rd, rt, "dac_error", &r->runtime.dac_error));
	}
	rd.section = NULL;
	CHECK(get_bool(&rd, root, "partial", &r->partial));
	const cJSON *ms = member(root, "memory_source");
	if (ms) {
		if (!cJSON_IsString(ms) || (strcmp(ms->valuestring, "live") != 0 && strcmp(ms->valuestring, "core") != 0))
			return bad(&rd, "memory_source", "not \"live\" or \"core\"");
		r->live = strcmp(ms->valuestring, "live") == 0;
	}
	rd.section = "process";
	CHECK(process_from_json(&rd, member(root, "process"), &r->process));

	rd.section = NULL;
	CHECK(get_array(&rd, root, "threads", CP_REPORT_MAX_THREADS, "more than 100000 threads", &arr));
	rd.section = "threads";
	rd.thread = 0;
	cJSON_ArrayForEach(item, arr) {
		CHECK(thread_from_json(&rd, item, r));
		rd.thread++;
	}
	rd.thread = -1;

	rd.section = NULL;
	CHECK(get_array(&rd, root, "modules", CP_REPORT_MAX_MODULES, "more than 100000 modules", &arr));
	rd.section = "modules";
	rd.thread = 0;	/* the index of the module, in the message */
	cJSON_ArrayForEach(item, arr) {
		struct cp_module_info *m = cp_report_add_module(r);
		bool has;
		if (!m)
			return -ENOMEM;
		if (!cJSON_IsObject(item))
			return bad(&rd, NULL, "not an object");
		CHECK(get_str(&rd, item, "path", &m->path));
		CHECK(get_hex(&rd, item, "base", 64, &m->base, &has));
		CHECK(get_hex(&rd, item, "end", 64, &m->end, &has));
		CHECK(get_build_id(&rd, item, "build_id", &m->build_id));
		const cJSON *match = member(item, "file_build_id_match");
		if (match && !cJSON_IsBool(match))
			return bad(&rd, "file_build_id_match", "not true, false or null");
		m->build_id_match = match ? cJSON_IsTrue(match) : -1;
		CHECK(get_str(&rd, item, "debuginfo", &m->debuginfo));
		rd.thread++;
	}
	rd.thread = -1;

	rd.section = NULL;
	CHECK(get_array(&rd, root, "notes", CP_REPORT_MAX_NOTES, "more than 100000 notes", &arr));
	rd.section = "notes";
	rd.thread = 0;
	cJSON_ArrayForEach(item, arr) {
		if (!cJSON_IsString(item) || !item->valuestring)
			return bad(&rd, NULL, "not a string");
		size_t n = r->n_notes;
		cp_report_note(r, false, "%s", item->valuestring);
		if (r->n_notes == n)
			return -ENOMEM;
		rd.thread++;
	}
	return 0;
}

/* Before cJSON sees the text: its nesting (cJSON recurses once per level), the number of
 * values it would allocate a node for, and no NUL byte. A value is counted at each '[', '{'
 * and ',' outside strings, one more than there are. */
static int prescan(const char *json, size_t len, const char **why)
{
	size_t depth = 0, values = 1;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = json[i];
		if (c == '\0') {
			*why = "NUL byte in the JSON text";
			return -EINVAL;
		}
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (++depth > CP_REPORT_MAX_DEPTH) {
				*why = "JSON nested deeper than 64 levels";
				return -EINVAL;
			}
			/* fallthrough */
		case ',':
			if (++values > CP_REPORT_MAX_VALUES) {
				*why = "more than 2000000 JSON values";
				return -EINVAL;
			}
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No object names a member twice: readers differ on which one counts (cJSON takes the
 * first, jq the last), and a forger would pick the one each tool shows. Recursion is
 * bounded by the prescan's depth. */
static int no_duplicate_keys(const cJSON *node, const char **why)
{
	const cJSON *c;
	size_t n = 0, i = 0;

	for (c = node->child; c; c = c->next)
		n++;
	if (cJSON_IsObject(node) && n > 1) {
		_cleanup_free_ const char **keys = malloc(n * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (c = node->child; c; c = c->next)
			keys[i++] = c->string ? c->string : "";
		qsort(keys, n, sizeof(*keys), cmp_key);
		for (i = 1; i < n; i++)
			if (strcmp(keys[i - 1], keys[i]) == 0) {
				*why = "a JSON object names a member twice";
				return -EINVAL;
			}
	}
	for (c = node->child; c; c = c->next) {
		int r = no_duplicate_keys(c, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The tree cJSON parses into lives in an arena of 1 MiB chunks, freed in one go: a report
 * of a hundred threads is ~100,000 nodes and strings, and a malloc() and free() for each
 * cost the root parent of `crashpipe handle` as much as the parse itself. The arena is
 * cJSON's allocator only while cJSON_ParseWithLengthOpts() runs (the hooks are global;
 * crashpipe has one thread); the tree is then only read, never freed node by node. It
 * holds what the nodes hold, plus at most a chunk's tail per chunk: the bounds of
 * CP_REPORT_MAX_SIZE and CP_REPORT_MAX_VALUES (prescan) hold for it as for malloc().
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define ARENA_CHUNK (1u << 20)

static struct arena_chunk *parse_arena;

static void *arena_alloc(size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct arena_chunk *c = parse_arena;

	if (n > SIZE_MAX - align - sizeof(*c))
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (!(c = malloc(sizeof(*c) + size)))
			return NULL;
		c->next = parse_arena;
		c->used = 0;
		c->size = size;
		parse_arena = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(void *p)
{
	(void) p;	/* all at once, in arena_release() */
}

static void arena_release(struct arena_chunk **head)
{
	while (*head) {
		struct arena_chunk *next = (*head)->next;
		free(*head);
		*head = next;
	}
}

/* The tree of @json, in the arena *@arena_ret (freed with arena_release(), never with
 * cJSON_Delete()). */
static cJSON *parse_tree(const char *json, size_t len, const char **end, struct arena_chunk **arena_ret)
{
	cJSON_Hooks hooks = { .malloc_fn = arena_alloc, .free_fn = arena_free };

	parse_arena = NULL;
	cJSON_InitHooks(&hooks);
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, end, false);
	cJSON_InitHooks(NULL);
	*arena_ret = parse_arena;
	parse_arena = NULL;
	return root;
}

int cp_report_parse(const char *json, size_t len, struct cp_report **ret, const char **why)
{
	const char *end = NULL;
	int r;

	*why = NULL;
	if (len > CP_REPORT_MAX_SIZE) {
		*why = "larger than 64 MiB";
		return -EINVAL;
	}
	r = prescan(json, len, why);
	if (r < 0)
		return r;
	_cleanup_(arena_release) struct arena_chunk *arena = NULL;
	const cJSON *root = parse_tree(json, len, &end, &arena);
	if (!root) {
		*why = "not JSON";
		return -EINVAL;
	}
	/* Exactly one value: a second one after it is what a forger appends. */
	for (size_t off = end - json; off < len; off++)
		if (json[off] != ' ' && json[off] != '\t' && json[off] != '\r' && json[off] != '\n') {
			*why = "more than one JSON value (or text after it)";
			return -EINVAL;
		}
	if (!cJSON_IsObject(root)) {
		*why = "not a JSON object";
		return -EINVAL;
	}
	r = no_duplicate_keys(root, why);
	if (r < 0)
		return r;
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, CP_SCHEMA) != 0) {
		*why = "not a crashpipe report (schema is not " CP_SCHEMA ")";
		return -EINVAL;
	}
	struct cp_report *rep = cp_report_create();
	if (!rep)
		return -ENOMEM;
	r = report_from_json(root, rep, why);
	if (r < 0) {
		cp_report_destroy(rep);
		if (r == -EINVAL && !*why)
			*why = "malformed report";
		return r;
	}
	*ret = rep;
	return 0;
}

int cp_report_loadat(int dir_fd, const char *name, struct cp_report **ret, const char **error_ret)
{
	struct cp_input *in;
	_cleanup_free_ char *buf = NULL;
	struct stat st, st2;
	size_t len;
	int r;

	/* Anyone may have put the entry there: look at it through O_PATH first (that opens
	 * no device and waits on no FIFO), then open that very inode. */
	*error_ret = NULL;
	_cleanup_close_ int pfd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		*error_ret = "a symbolic link, not read";
		return -ELOOP;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_ret = "not a regular file, not read";
		return -EBADF;
	}
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	_cleanup_close_ int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)	/* no /proc: the entry again, with the same rules */
		fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			*error_ret = "a symbolic link, not read";
		return -errno;
	}
	if (fstat(fd, &st2) < 0)
		return -errno;
	if (!S_ISREG(st2.st_mode) || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		*error_ret = "not a regular file, not read";
		return -EBADF;
	}
	st = st2;
	if ((uint64_t)st.st_size > CP_REPORT_MAX_SIZE) {
		*error_ret = "larger than 64 MiB";
		return -EFBIG;
	}
	r = cp_input_open(fd, &in);
	if (r == -ENODATA) {
		*error_ret = "empty file";
		return -EINVAL;
	}
	if (r < 0)
		return r;
	/* crashpipe writes level 3 (a 2 MiB window at most); 16 MiB leaves room for a report
	 * recompressed by hand and keeps the decoder small. */
	r = cp_input_set_max_window(in, 24);
	if (r >= 0)
		r = cp_input_read_all(in, CP_REPORT_MAX_SIZE, &buf, &len);
	cp_input_destroy(in);
	if (r == -EBADMSG) {
		*error_ret = "corrupt zstd data (or a window larger than 16 MiB)";
		return -EINVAL;
	}
	if (r == -EFBIG) {
		*error_ret = "decompresses to more than 64 MiB";
		return -EFBIG;
	}
	if (r < 0)
		return r;
	return cp_report_parse(buf, len, ret, error_ret);
}

int cp_report_load(const char *path, struct cp_report **ret, const char **error_ret)
{
	return cp_report_loadat(AT_FDCWD, path, ret, error_ret);
}
