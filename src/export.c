/*
 * export.c - `crashpipe export --format=createdump|otlp REPORT...` (export.h): a report read
 * back with cp_report_load() written in another tool's shape, through json-writer (so every
 * string is escaped: createdump's own writer appends method names unescaped).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "export.h"
#include "json-writer.h"
#include "log.h"
#include "report.h"
#include "signature.h"
#include "signame.h"
#include "termsafe.h"
#include "zio.h"

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

static const struct cp_module_info *module_of(const struct cp_report *r, uint64_t ip)
{
	for (size_t i = 0; i < r->n_modules; i++)
		if (ip >= r->modules[i].base && ip < r->modules[i].end)
			return &r->modules[i];
	return NULL;
}

static void hex_str(struct cp_jw *w, const char *key, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	cp_jw_str(w, key, buf);
}

/* createdump writes booleans as the strings "true" and "false". */
static void bool_str(struct cp_jw *w, const char *key, bool v)
{
	cp_jw_str(w, key, v ? "true" : "false");
}

/* createdump's ExceptionType codes (crashreportwriter.cpp), by signal. */
static const char *createdump_exception_type(const struct cp_report *r, const struct cp_thread *t)
{
	if (t && t->exception)
		return "0x05000000";	/* managed exception */
	switch (r->process.signal) {
	case 0: return NULL;
	case 4: return "0x50000000";	/* SIGILL */
	case 8: return "0x70000000";	/* SIGFPE */
	case 7: return "0x60000000";	/* SIGBUS */
	case 5: return "0x03000000";	/* SIGTRAP */
	case 11: return "0x20000000";	/* SIGSEGV */
	case 15: return "0x02000000";	/* SIGTERM */
	case 6: return "0x30000000";	/* SIGABRT */
	default: return "0x00000000";
	}
}

static void createdump_frame(struct cp_jw *w, const struct cp_report *r, const struct cp_frame *f)
{
	bool managed = f->kind == CP_FRAME_MANAGED;
	const struct cp_module_info *m = module_of(r, f->ip);

	cp_jw_open(w, NULL, false);
	bool_str(w, "is_managed", managed);
	hex_str(w, "module_address", m ? m->base : 0);
	hex_str(w, "stack_pointer", f->sp);
	hex_str(w, "native_address", f->ip);
	hex_str(w, "native_offset", f->has_module_offset ? f->module_offset : m ? f->ip - m->base : 0);
	if (managed) {
		hex_str(w, "token", f->token);
		hex_str(w, "il_offset", f->il_offset);
		if (f->function)
			cp_jw_str(w, "method_name", f->function);
		if (f->assembly)
			cp_jw_str(w, "filename", base_name(f->assembly));
	} else {
		if (f->function)
			cp_jw_str(w, "unmanaged_name", f->function);
		if (f->module)
			cp_jw_str(w, "native_module", base_name(f->module));
	}
	cp_jw_close(w);
}

char *cp_export_createdump(const struct cp_report *r)
{
	struct cp_jw w = { 0 };
	const struct cp_thread *crashed = cp_report_crashed_thread(r);

	cp_jw_open(&w, NULL, false);
	cp_jw_open(&w, "payload", false);
	cp_jw_str(&w, "protocol_version", "1.0.0");
	cp_jw_open(&w, "configuration", false);
	cp_jw_str(&w, "architecture", "amd64");
	char version[128];
	/* createdump's analyzers want a space after the version. */
	snprintf(version, sizeof(version), "%s ", r->runtime.version ? r->runtime.version : PACKAGE_VERSION);
	cp_jw_str(&w, "version", version);
	cp_jw_close(&w);
	if (r->process.exe)
		cp_jw_str(&w, "process_name", base_name(r->process.exe));
	cp_jw_open(&w, "threads", true);
	for (size_t i = 0; i < r->n_threads; i++) {
		const struct cp_thread *t = &r->threads[i];
		bool managed = false;
		for (size_t j = 0; j < t->n_frames && !managed; j++)
			managed = t->frames[j].kind == CP_FRAME_MANAGED;
		cp_jw_open(&w, NULL, false);
		bool_str(&w, "is_managed", managed);
		bool_str(&w, "crashed", t == crashed);
		if (t->exception && t->exception->type)
			cp_jw_str(&w, "managed_exception_type", t->exception->type);
		if (t->exception && t->exception->has_hresult && t->exception->hresult)
			hex_str(&w, "managed_exception_hresult", (uint32_t)t->exception->hresult);
		hex_str(&w, "native_thread_id", (uint64_t)t->tid);
		cp_jw_open(&w, "ctx", false);
		hex_str(&w, "IP", t->n_frames ? t->frames[0].ip : 0);
		hex_str(&w, "SP", t->n_frames ? t->frames[0].sp : 0);
		cp_jw_close(&w);
		cp_jw_open(&w, "stack_frames", true);
		for (size_t j = 0; j < t->n_frames; j++)
			if (t->frames[j].kind != CP_FRAME_INLINE)
				createdump_frame(&w, r, &t->frames[j]);
		cp_jw_close(&w);
		cp_jw_close(&w);
	}
	cp_jw_close(&w);	/* threads */
	cp_jw_close(&w);	/* payload */
	cp_jw_open(&w, "parameters", false);
	const char *type = createdump_exception_type(r, crashed);
	if (type)
		cp_jw_str(&w, "ExceptionType", type);
	cp_jw_str(&w, "OSVersion", NULL);
	cp_jw_close(&w);
	cp_jw_close(&w);
	return cp_jw_finish(&w);
}

/* ---- otlp ---- */

/* A growing string for exception.stacktrace; NULL once memory ran out. */
struct text {
	char *s;
	size_t len;
	bool failed;
};

static void __attribute__((format(printf, 2, 3))) text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *more = NULL;

	if (t->failed)
		return;
	va_start(ap, fmt);
	int n = vasprintf(&more, fmt, ap);
	va_end(ap);
	char *s = n < 0 ? NULL : realloc(t->s, t->len + (size_t)n + 1);
	if (!s) {
		free(more);
		t->failed = true;
		return;
	}
	memcpy(s + t->len, more, (size_t)n + 1);
	t->s = s;
	t->len += (size_t)n;
	free(more);
}

/* One frame as a line of a stack trace: the runtime's own form for managed frames
 * ("   at Type.Method(args) in file:line N"), gdb's for native ones. */
static void add_frame_line(struct text *t, size_t i, const struct cp_frame *f)
{
	if (f->kind == CP_FRAME_MANAGED || f->display) {
		text_add(t, "   at %s", f->display ? f->display : f->function ? f->function : "?");
		if (f->file && f->line > 0)
			text_add(t, " in %s:line %d", f->file, f->line);
		text_add(t, "\n");
		return;
	}
	text_add(t, "#%zu 0x%016" PRIx64 " in %s", i, f->ip, f->function ? f->function : "??");
	if (f->file && f->line > 0)
		text_add(t, " at %s:%d", f->file, f->line);
	if (f->module)
		text_add(t, " (%s)", base_name(f->module));
	text_add(t, "\n");
}

static char *stacktrace(const struct cp_thread *t)
{
	struct text out = { 0 };

	if (!t)
		return NULL;
	if (t->exception && t->exception->has_stack && t->exception->n_stack) {
		text_add(&out, "%s: %s\n", t->exception->type ? t->exception->type : "?",
			 t->exception->message ? t->exception->message : "");
		for (size_t i = 0; i < t->exception->n_stack; i++)
			add_frame_line(&out, i, &t->exception->stack[i]);
		text_add(&out, "--- thread %d ---\n", (int)t->tid);
	}
	for (size_t i = 0; i < t->n_frames; i++)
		add_frame_line(&out, i, &t->frames[i]);
	if (out.failed) {
		free(out.s);
		return NULL;
	}
	return out.s;
}

static void attr_str(struct cp_jw *w, const char *key, const char *v)
{
	if (!v)
		return;
	cp_jw_open(w, NULL, false);
	cp_jw_str(w, "key", key);
	cp_jw_open(w, "value", false);
	cp_jw_str(w, "stringValue", v);
	cp_jw_close(w);
	cp_jw_close(w);
}

/* OTLP/JSON carries 64-bit integers as decimal strings. */
static void attr_int(struct cp_jw *w, const char *key, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	cp_jw_open(w, NULL, false);
	cp_jw_str(w, "key", key);
	cp_jw_open(w, "value", false);
	cp_jw_str(w, "intValue", buf);
	cp_jw_close(w);
	cp_jw_close(w);
}

static void otlp_record(struct cp_jw *w, const struct cp_report *r, const char *path)
{
	const struct cp_process *p = &r->process;
	const struct cp_thread *crashed = cp_report_crashed_thread(r);
	const struct cp_exception *e = crashed ? crashed->exception : NULL;
	const char *sig = cp_signal_name(p->signal);
	const char *code = p->has_si_code ? cp_si_code_name(p->signal, p->si_code) : NULL;
	const char *top = NULL;
	_cleanup_free_ char *message = NULL, *body = NULL, *trace = stacktrace(crashed);
	char num[32];

	for (size_t i = 0; crashed && i < crashed->n_frames && !top; i++)
		top = crashed->frames[i].function;
	if (e) {
		message = strdup(e->message ? e->message : "");
	} else {
		char addr[40] = "";
		if (p->has_fault_address)
			snprintf(addr, sizeof(addr), " at 0x%" PRIx64, p->fault_address);
		if (asprintf(&message, "signal %d (%s%s%s)%s%s%s", p->signal, sig ? sig : "?", code ? ", " : "",
			     code ? code : "", addr, top ? " in " : "", top ? top : "") < 0)
			message = NULL;
	}
	if (asprintf(&body, "%s (pid %d) died: %s%s%s", p->exe ? base_name(p->exe) : p->comm ? p->comm : "process",
		     (int)p->pid, e && e->type ? e->type : sig ? sig : "signal", message && *message ? ": " : "",
		     message ? message : "") < 0)
		body = NULL;

	cp_jw_open(w, NULL, false);
	cp_jw_open(w, "resource", false);
	cp_jw_open(w, "attributes", true);
	attr_str(w, "service.name", p->exe ? base_name(p->exe) : p->comm);
	if (p->pid)
		attr_int(w, "process.pid", p->pid);
	attr_str(w, "process.executable.path", p->exe);
	attr_str(w, "process.executable.name", p->exe ? base_name(p->exe) : p->comm);
	attr_str(w, "process.command_line", p->cmdline);
	if (p->has_ids) {
		attr_int(w, "process.user.id", p->uid);
		attr_int(w, "process.group.id", p->gid);
	}
	attr_str(w, "process.runtime.name", r->runtime.present ? ".NET" : NULL);
	attr_str(w, "process.runtime.version", r->runtime.version);
	attr_str(w, "host.name", p->hostname);
	attr_str(w, "host.boot.id", p->boot_id);
	cp_jw_close(w);
	cp_jw_close(w);	/* resource */
	cp_jw_open(w, "scopeLogs", true);
	cp_jw_open(w, NULL, false);
	cp_jw_open(w, "scope", false);
	cp_jw_str(w, "name", PACKAGE_NAME);
	cp_jw_str(w, "version", PACKAGE_VERSION);
	cp_jw_close(w);
	cp_jw_open(w, "logRecords", true);
	cp_jw_open(w, NULL, false);
	if (p->time >= 0) {
		snprintf(num, sizeof(num), "%" PRId64 "000000000", p->time);
		cp_jw_str(w, "timeUnixNano", num);
	}
	cp_jw_num(w, "severityNumber", 21);	/* FATAL */
	cp_jw_str(w, "severityText", "FATAL");
	cp_jw_open(w, "body", false);
	cp_jw_str(w, "stringValue", body ? body : "crash");
	cp_jw_close(w);
	cp_jw_open(w, "attributes", true);
	attr_str(w, "exception.type", e && e->type ? e->type : sig ? sig : "signal");
	attr_str(w, "exception.message", message);
	attr_str(w, "exception.stacktrace", trace);
	attr_int(w, "crashpipe.signal", p->signal);
	if (crashed)
		attr_int(w, "thread.id", crashed->tid);
	attr_str(w, "crashpipe.signature", r->signature);
	attr_str(w, "crashpipe.report", path);
	cp_jw_close(w);
	cp_jw_close(w);	/* the record */
	cp_jw_close(w);	/* logRecords */
	cp_jw_close(w);
	cp_jw_close(w);	/* scopeLogs */
	cp_jw_close(w);
}

char *cp_export_otlp(struct cp_report *const *reports, const char *const *paths, size_t n)
{
	struct cp_jw w = { 0 };

	cp_jw_open(&w, NULL, false);
	cp_jw_open(&w, "resourceLogs", true);
	for (size_t i = 0; i < n; i++)
		otlp_record(&w, reports[i], paths ? paths[i] : NULL);
	cp_jw_close(&w);
	cp_jw_close(&w);
	return cp_jw_finish(&w);
}

/* ---- the command ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: crashpipe export --format=createdump|otlp [--output-dir=DIR] REPORT...\n"
		   "Write reports in the shape other tools read:\n"
		   "  createdump  a *.crashreport.json document per report, as .NET's createdump\n"
		   "              writes them: on standard output for one REPORT, else (and with\n"
		   "              --output-dir) DIR/NAME.crashreport.json for each\n"
		   "  otlp        one OTLP/JSON logs request on standard output, one log record per\n"
		   "              crash with the OpenTelemetry exception.* attributes\n");
}

static int write_file(const char *dir, const char *report_path, const char *text)
{
	_cleanup_free_ char *name = NULL;
	const char *b = base_name(report_path);
	size_t len = strlen(b);

	if (len > 9 && strcmp(b + len - 9, ".json.zst") == 0)
		len -= 9;
	else if (len > 5 && strcmp(b + len - 5, ".json") == 0)
		len -= 5;
	if (asprintf(&name, "%s/%.*s.crashreport.json", dir, (int)len, b) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cp_log_errno(LOG_ERR, -errno, "%s: %m", name);
	int r = cp_write_all(fd, text, strlen(text));
	if (r == 0)
		r = cp_write_all(fd, "\n", 1);
	if (r < 0)
		return cp_log_errno(LOG_ERR, r, "%s: %m", name);
	return 0;
}

int cp_cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum cp_export_format format = _CP_EXPORT_FORMAT_MAX;
	const char *dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "createdump") == 0)
				format = CP_EXPORT_CREATEDUMP;
			else if (strcmp(optarg, "otlp") == 0)
				format = CP_EXPORT_OTLP;
			else {
				cp_log(LOG_ERR, "export: --format: '%s' is not createdump or otlp", optarg);
				return 2;
			}
			break;
		case 'o':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	size_t n = (size_t)(argc - optind);
	if (format == _CP_EXPORT_FORMAT_MAX || n == 0) {
		usage(stderr);
		return 2;
	}
	if (format == CP_EXPORT_CREATEDUMP && n > 1 && !dir) {
		cp_log(LOG_ERR, "export: createdump writes one document per report: give --output-dir for %zu reports", n);
		return 2;
	}
	_cleanup_free_ struct cp_report **reports = calloc(n, sizeof(*reports));
	if (!reports)
		return 1;
	int ret = 0;
	size_t loaded = 0;
	for (size_t i = 0; i < n; i++, loaded++) {
		const char *why = NULL;
		int r = cp_report_load(argv[optind + i], &reports[i], &why);
		if (r < 0) {
			_cleanup_free_ char *safe = cp_termsafe(argv[optind + i]);
			if (why)
				cp_log(LOG_ERR, "%s: %s", safe ? safe : "?", why);
			else
				cp_log_errno(LOG_ERR, r, "%s: %m", safe ? safe : "?");
			ret = 1;
			break;
		}
		/* A report written before signatures existed gets one now. */
		if (!reports[i]->signature)
			(void) cp_report_sign(reports[i]);
	}
	if (ret == 0 && format == CP_EXPORT_OTLP) {
		_cleanup_free_ char *text = cp_export_otlp(reports, (const char *const *)argv + optind, n);
		if (!text || printf("%s\n", text) < 0 || fflush(stdout) != 0)
			ret = 1;
	}
	for (size_t i = 0; ret == 0 && format == CP_EXPORT_CREATEDUMP && i < n; i++) {
		_cleanup_free_ char *text = cp_export_createdump(reports[i]);
		if (!text)
			ret = 1;
		else if (dir)
			ret = write_file(dir, argv[optind + i], text) < 0;
		else if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
			ret = 1;
	}
	for (size_t i = 0; i < loaded; i++)
		cp_report_destroy(reports[i]);
	return ret;
}
