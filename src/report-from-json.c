/*
 * report-from-json.c - the strict reader of "crashpipe/1" reports: one *_from_json() per
 * object of the schema, each the mirror of its *_to_json() in report-to-json.c, members in
 * the same order, on the bounded parse and typed getters of json-reader.c.
 *
 * Nothing in a report is trusted: it is a file in a spool anyone may have planted, or
 * JSON a child wrote. Every member is absent, null, or of its type and range; anything
 * else refuses the whole report with a reason naming the member by its path. Members this
 * reader does not know are ignored (crashpipe/1 grows by additions).
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json-reader.h"
#include "report.h"
#include "signature.h"

#define PID_MAX 4194304.0		/* the kernel's PID_MAX_LIMIT */
#define TIME_MAX 253402300799.0		/* 9999-12-31 23:59:59 UTC */
#define U64_MAX_DOUBLE 18446744073709549568.0	/* the largest double below 2^64 */

#define CHECK(x) do { int _r = (x); if (_r < 0) return _r; } while (0)

/* A build-id: a string of hex digits (any length: a core may carry a long one). It names
 * files in the debuginfo cache, so nothing else gets through. */
static int get_build_id(struct cp_jr *rd, const cJSON *o, const char *key, char **ret)
{
	int r = cp_jr_str(rd, o, key, ret);
	if (r < 0 || !*ret)
		return r;
	if ((*ret)[strspn(*ret, "0123456789abcdefABCDEF")] != '\0') {
		free(*ret);
		*ret = NULL;
		return cp_jr_bad(rd, key, "not a string of hex digits");
	}
	return 0;
}

/* A string naming one of @known (kept, *@ret one of them, static), or another string (a
 * value of a later crashpipe/1 this reader does not know: *@ret NULL, unknown). */
static int get_enum(struct cp_jr *rd, const cJSON *o, const char *key, const char *const *known, char **ret)
{
	const cJSON *v = cp_jr_member(o, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return cp_jr_bad(rd, key, "not a string");
	for (; *known; known++)
		if (strcmp(v->valuestring, *known) == 0) {
			*ret = strdup(*known);
			return *ret ? 0 : -ENOMEM;
		}
	return 0;
}

/* "repeat" of frame @index of @n: null, or {"length": L >= 1, "count": N >= 2} with the
 * cycle within the array. */
static int repeat_from_json(struct cp_jr *rd, const cJSON *fr, size_t index, size_t n, struct cp_frame *f)
{
	const cJSON *o = cp_jr_member(fr, "repeat");
	double d;
	bool has;

	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return cp_jr_bad(rd, "repeat", "not an object");
	cp_jr_push(rd, "repeat", -1);
	CHECK(cp_jr_num(rd, o, "length", 1, UINT32_MAX, "not an integer from 1 to 4294967295", &d, &has));
	if (!has)
		return cp_jr_bad(rd, "length", "missing");
	if (d > (double)(n - index))
		return cp_jr_bad(rd, "length", "the cycle runs past the last frame");
	f->repeat_length = (uint32_t)d;
	CHECK(cp_jr_num(rd, o, "count", 2, UINT32_MAX, "not an integer from 2 to 4294967295", &d, &has));
	if (!has)
		return cp_jr_bad(rd, "count", "missing");
	f->repeat_count = (uint32_t)d;
	cp_jr_pop(rd);
	return 0;
}

/* Frame @index of the @n of an array; @in_stack: of an exception's stack. */
/* "unwinder": absent, or a string; one this reader does not know is taken as absent
 * (crashpipe-report(5): later versions may add unwinders). */
static int unwinder_from_json(struct cp_jr *rd, const cJSON *fr, struct cp_frame *f)
{
	const cJSON *u = cp_jr_member(fr, "unwinder");

	if (!u)
		return 0;
	if (!cJSON_IsString(u))
		return cp_jr_bad(rd, "unwinder", "not a string");
	for (int k = CP_UNWINDER_NONE + 1; k < _CP_UNWINDER_MAX; k++)
		if (strcmp(u->valuestring, cp_unwinder_name(k)) == 0)
			f->unwinder = k;
	return 0;
}

static int frame_from_json(struct cp_jr *rd, const cJSON *fr, size_t index, size_t n, bool in_stack,
			   struct cp_frame *f)
{
	uint64_t v;
	bool has;
	double d;

	if (!cJSON_IsObject(fr))
		return cp_jr_bad(rd, NULL, "not an object");
	CHECK(cp_jr_hex(rd, fr, "ip", 64, &f->ip, &has));
	CHECK(cp_jr_hex(rd, fr, "sp", 64, &f->sp, &has));
	const cJSON *kind = cp_jr_member(fr, "kind");
	if (kind) {
		int k;
		if (!cJSON_IsString(kind))
			return cp_jr_bad(rd, "kind", "not a string");
		/* crashpipe-report(5): new kinds may appear within crashpipe/1; one this
		 * reader does not know is shown as native. */
		for (k = 0; k < _CP_FRAME_KIND_MAX; k++)
			if (strcmp(kind->valuestring, cp_frame_kind_name(k)) == 0)
				break;
		f->kind = k < _CP_FRAME_KIND_MAX ? k : CP_FRAME_NATIVE;
	}
	CHECK(cp_jr_str(rd, fr, "module", &f->module));
	CHECK(get_build_id(rd, fr, "build_id", &f->build_id));
	CHECK(cp_jr_hex(rd, fr, "module_offset", 64, &f->module_offset, &f->has_module_offset));
	CHECK(cp_jr_str(rd, fr, "function", &f->function));
	CHECK(cp_jr_str(rd, fr, "display", &f->display));
	CHECK(cp_jr_num(rd, fr, "offset", 0, U64_MAX_DOUBLE, "not an integer from 0 to 2^64-1", &d, &f->has_offset));
	if (f->has_offset)
		f->offset = (uint64_t)d;
	CHECK(cp_jr_str(rd, fr, "file", &f->file));
	CHECK(cp_jr_num(rd, fr, "line", 0, INT32_MAX, "not an integer from 0 to 2147483647", &d, &has));
	if (has)
		f->line = (int)d;
	CHECK(unwinder_from_json(rd, fr, f));
	CHECK(cp_jr_str(rd, fr, "assembly", &f->assembly));
	CHECK(cp_jr_hex(rd, fr, "token", 32, &v, &f->has_token));
	if (f->has_token)
		f->token = (uint32_t)v;
	CHECK(cp_jr_num(rd, fr, "il_offset", 0, UINT32_MAX, "not an integer from 0 to 4294967295", &d,
			&f->has_il_offset));
	if (f->has_il_offset)
		f->il_offset = (uint32_t)d;
	if (in_stack) {
		CHECK(cp_jr_num(rd, fr, "segment", 0, INT32_MAX, "not an integer from 0 to 2147483647", &d, &has));
		if (has)
			f->segment = (int)d;
	}
	return repeat_from_json(rd, fr, index, n, f);
}

static void cp_exception_destroyp(struct cp_exception **e)
{
	cp_exception_destroy(*e);
}

/* The exception object @o (the caller has pushed its name), @depth below the thread's. */
static int exception_from_json(struct cp_jr *rd, const cJSON *o, int depth, struct cp_exception **ret)
{
	_cleanup_(cp_exception_destroyp) struct cp_exception *e = NULL;
	const cJSON *arr, *item;
	uint64_t hr;
	bool has;
	long i;

	*ret = NULL;
	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return cp_jr_bad(rd, NULL, "not an object");
	if (depth > (int)CP_REPORT_MAX_NESTING)
		return cp_jr_bad(rd, NULL, "inner exceptions nested deeper than 16");
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	CHECK(cp_jr_str(rd, o, "type", &e->type));
	CHECK(cp_jr_str(rd, o, "message", &e->message));
	CHECK(cp_jr_hex(rd, o, "hresult", 32, &hr, &has));
	if ((e->has_hresult = has))
		e->hresult = (int32_t)(uint32_t)hr;
	/* "frames" is the thread's (read there), not the exception's. */
	CHECK(cp_jr_array(rd, o, "stack", CP_REPORT_MAX_FRAMES, "more than 1000000 frames", &arr));
	if (arr) {
		size_t n = (size_t)cJSON_GetArraySize(arr);
		e->has_stack = true;
		cp_jr_push(rd, "stack", 0);
		i = 0;
		cJSON_ArrayForEach(item, arr) {
			struct cp_frame *f = cp_exception_add_frame(e, 0, 0);
			if (!f)
				return -ENOMEM;
			cp_jr_index(rd, i);
			CHECK(frame_from_json(rd, item, (size_t)i++, n, true, f));
		}
		cp_jr_pop(rd);
	}
	CHECK(cp_jr_array(rd, o, "inner", CP_REPORT_MAX_INNERS, "more than 64 inner exceptions", &arr));
	cp_jr_push(rd, "inner", 0);
	i = 0;
	cJSON_ArrayForEach(item, arr) {
		struct cp_exception *in;
		cp_jr_index(rd, i++);
		CHECK(exception_from_json(rd, item, depth + 1, &in));
		if (!in)
			return cp_jr_bad(rd, NULL, "not an object");
		CHECK(cp_exception_add_inner(e, in));
	}
	cp_jr_pop(rd);
	*ret = TAKE_PTR(e);
	return 0;
}

/* "omitted" of @t (its frames read): null, or {"after": K <= frames, "count": C >= 1}. */
static int omitted_from_json(struct cp_jr *rd, const cJSON *item, struct cp_thread *t)
{
	const cJSON *o = cp_jr_member(item, "omitted");
	double d;
	bool has;

	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return cp_jr_bad(rd, "omitted", "not an object");
	cp_jr_push(rd, "omitted", -1);
	CHECK(cp_jr_num(rd, o, "after", 0, CP_REPORT_MAX_FRAMES, "not an integer from 0 to 1000000", &d, &has));
	if (!has)
		return cp_jr_bad(rd, "after", "missing");
	if (d > (double)t->n_frames)
		return cp_jr_bad(rd, "after", "more than the frames there are");
	t->omitted_after = (size_t)d;
	CHECK(cp_jr_num(rd, o, "count", 1, UINT32_MAX, "not an integer from 1 to 4294967295", &d, &has));
	if (!has)
		return cp_jr_bad(rd, "count", "missing");
	t->n_omitted = (size_t)d;
	cp_jr_pop(rd);
	return 0;
}

static int thread_from_json(struct cp_jr *rd, const cJSON *item, struct cp_report *r)
{
	const cJSON *frames, *fr;
	double d;
	bool has;

	if (!cJSON_IsObject(item))
		return cp_jr_bad(rd, NULL, "not an object");
	CHECK(cp_jr_num(rd, item, "tid", 0, PID_MAX, "not an integer from 0 to 4194304", &d, &has));
	struct cp_thread *t = cp_report_add_thread(r, has ? (pid_t)d : 0);
	if (!t)
		return -ENOMEM;
	CHECK(cp_jr_str(rd, item, "name", &t->name));
	CHECK(cp_jr_str(rd, item, "managed_name", &t->managed_name));
	CHECK(cp_jr_bool(rd, item, "crashed", &t->crashed));
	CHECK(cp_jr_bool(rd, item, "truncated", &t->truncated));
	CHECK(cp_jr_str(rd, item, "error", &t->error));
	cp_jr_push(rd, "exception", -1);
	CHECK(exception_from_json(rd, cp_jr_member(item, "exception"), 0, &t->exception));
	cp_jr_pop(rd);
	CHECK(cp_jr_array(rd, item, "frames", CP_REPORT_MAX_FRAMES, "more than 1000000 frames", &frames));
	size_t n = frames ? (size_t)cJSON_GetArraySize(frames) : 0;
	cp_jr_push(rd, "frames", 0);
	long i = 0;
	cJSON_ArrayForEach(fr, frames) {
		struct cp_frame *f = cp_thread_add_frame(t, 0, 0);
		if (!f)
			return -ENOMEM;
		cp_jr_index(rd, i);
		CHECK(frame_from_json(rd, fr, (size_t)i++, n, false, f));
	}
	cp_jr_pop(rd);
	/* After the frames: "after" is bounded by their number. */
	return omitted_from_json(rd, item, t);
}

static int process_from_json(struct cp_jr *rd, const cJSON *p, struct cp_process *pr)
{
	static const char *const core_writers[] = { "kernel", "createdump", "systemd-coredump", "gcore", NULL };
	double d;
	bool has;

	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return cp_jr_bad(rd, NULL, "not an object");
	CHECK(cp_jr_num(rd, p, "pid", 0, PID_MAX, "not an integer from 0 to 4194304", &d, &has));
	if (has)
		pr->pid = (pid_t)d;
	CHECK(cp_jr_num(rd, p, "tid", 0, PID_MAX, "not an integer from 0 to 4194304", &d, &has));
	if (has)
		pr->tid = (pid_t)d;
	CHECK(cp_jr_str(rd, p, "exe", &pr->exe));
	CHECK(cp_jr_str(rd, p, "comm", &pr->comm));
	CHECK(cp_jr_str(rd, p, "cmdline", &pr->cmdline));
	/* (uid_t)-1 is no uid. */
	CHECK(cp_jr_num(rd, p, "uid", 0, UINT32_MAX - 1, "not an integer from 0 to 4294967294", &d, &pr->has_ids));
	if (pr->has_ids) {
		pr->uid = (uid_t)d;
		CHECK(cp_jr_num(rd, p, "gid", 0, UINT32_MAX - 1, "not an integer from 0 to 4294967294", &d, &has));
		if (has)
			pr->gid = (gid_t)d;
	}
	CHECK(cp_jr_num(rd, p, "signal", 0, 64, "not a signal number from 0 to 64", &d, &has));
	if (has)
		pr->signal = (int)d;
	/* signal_name and si_code_name follow from the numbers. */
	CHECK(cp_jr_num(rd, p, "si_code", INT32_MIN, INT32_MAX, "not a 32-bit integer", &d, &pr->has_si_code));
	if (pr->has_si_code)
		pr->si_code = (int)d;
	CHECK(cp_jr_hex(rd, p, "fault_address", 64, &pr->fault_address, &pr->has_fault_address));
	CHECK(cp_jr_num(rd, p, "time", 0, TIME_MAX, "not a time from 0 to 253402300799 (year 9999)", &d, &has));
	if (has)
		pr->time = (int64_t)d;
	CHECK(cp_jr_str(rd, p, "hostname", &pr->hostname));
	CHECK(cp_jr_str(rd, p, "boot_id", &pr->boot_id));
	CHECK(cp_jr_str(rd, p, "cgroup", &pr->cgroup));
	/* -1 is unlimited; so is anything from 2^63 on, which int64_t does not hold. */
	CHECK(cp_jr_num(rd, p, "rlimit_core", -1, U64_MAX_DOUBLE, "not an integer from -1 to 2^64-1", &d, &has));
	if (has)
		pr->rlimit_core = d < 0 || d >= 9223372036854775808.0 ? INT64_MAX : (int64_t)d;
	CHECK(get_enum(rd, p, "core_writer", core_writers, &pr->core_writer));
	/* "restricted" is not read: the one who writes the report decides it. */
	return 0;
}

static int runtime_from_json(struct cp_jr *rd, const cJSON *rt, struct cp_runtime *r)
{
	/* "dotnet" (a runtime of a kind not known) is read as unknown, like a later kind. */
	static const char *const kinds[] = { "coreclr", "nativeaot", NULL };

	if (!rt)
		return 0;
	if (!cJSON_IsObject(rt))
		return cp_jr_bad(rd, NULL, "not an object");
	r->present = true;
	CHECK(get_enum(rd, rt, "kind", kinds, &r->kind));
	CHECK(cp_jr_str(rd, rt, "version", &r->version));
	CHECK(cp_jr_str(rd, rt, "directory", &r->directory));
	CHECK(cp_jr_str(rd, rt, "dac", &r->dac));
	CHECK(cp_jr_str(rd, rt, "dac_error", &r->dac_error));
	return 0;
}

static int module_from_json(struct cp_jr *rd, const cJSON *item, struct cp_report *r)
{
	struct cp_module_info *m = cp_report_add_module(r);
	bool has;

	if (!m)
		return -ENOMEM;
	if (!cJSON_IsObject(item))
		return cp_jr_bad(rd, NULL, "not an object");
	CHECK(cp_jr_str(rd, item, "path", &m->path));
	CHECK(cp_jr_hex(rd, item, "base", 64, &m->base, &has));
	CHECK(cp_jr_hex(rd, item, "end", 64, &m->end, &has));
	CHECK(get_build_id(rd, item, "build_id", &m->build_id));
	const cJSON *match = cp_jr_member(item, "file_build_id_match");
	if (match && !cJSON_IsBool(match))
		return cp_jr_bad(rd, "file_build_id_match", "not true, false or null");
	m->build_id_match = match ? cJSON_IsTrue(match) : -1;
	CHECK(cp_jr_str(rd, item, "debuginfo", &m->debuginfo));
	CHECK(cp_jr_str(rd, item, "source", &m->source));
	CHECK(cp_jr_str(rd, item, "debuginfo_source", &m->debuginfo_source));
	return 0;
}

/* The array @key of @root, each element read by @one() under the path "key[i]". */
static int array_from_json(struct cp_jr *rd, const cJSON *root, const char *key, size_t max, const char *too_many,
			   int (*one)(struct cp_jr *, const cJSON *, struct cp_report *), struct cp_report *r)
{
	const cJSON *arr, *item;
	long i = 0;

	CHECK(cp_jr_array(rd, root, key, max, too_many, &arr));
	cp_jr_push(rd, key, 0);
	cJSON_ArrayForEach(item, arr) {
		cp_jr_index(rd, i++);
		CHECK(one(rd, item, r));
	}
	cp_jr_pop(rd);
	return 0;
}

static int note_from_json(struct cp_jr *rd, const cJSON *item, struct cp_report *r)
{
	if (!cJSON_IsString(item) || !item->valuestring)
		return cp_jr_bad(rd, NULL, "not a string");
	size_t n = r->n_notes;
	cp_report_note(r, false, "%s", item->valuestring);
	return r->n_notes == n ? -ENOMEM : 0;
}

static int report_from_json(const cJSON *root, struct cp_report *r, const char **why)
{
	struct cp_jr rd = { .why = why };

	CHECK(cp_jr_bool(&rd, root, "partial", &r->partial));
	const cJSON *ms = cp_jr_member(root, "memory_source");
	if (ms) {
		if (!cJSON_IsString(ms) || (strcmp(ms->valuestring, "live") != 0 && strcmp(ms->valuestring, "core") != 0))
			return cp_jr_bad(&rd, "memory_source", "not \"live\" or \"core\"");
		r->live = strcmp(ms->valuestring, "live") == 0;
	}
	CHECK(cp_jr_str(&rd, root, "signature", &r->signature));
	if (r->signature && !cp_signature_valid(r->signature))
		return cp_jr_bad(&rd, "signature", "not 16 lowercase hex digits");
	cp_jr_push(&rd, "process", -1);
	CHECK(process_from_json(&rd, cp_jr_member(root, "process"), &r->process));
	cp_jr_pop(&rd);
	cp_jr_push(&rd, "runtime", -1);
	CHECK(runtime_from_json(&rd, cp_jr_member(root, "runtime"), &r->runtime));
	cp_jr_pop(&rd);
	/* The top-level "exception" is the crashed thread's, read there. */
	CHECK(array_from_json(&rd, root, "threads", CP_REPORT_MAX_THREADS, "more than 100000 threads",
			      thread_from_json, r));
	CHECK(array_from_json(&rd, root, "modules", CP_REPORT_MAX_MODULES, "more than 100000 modules",
			      module_from_json, r));
	CHECK(array_from_json(&rd, root, "notes", CP_REPORT_MAX_NOTES, "more than 100000 notes", note_from_json, r));
	return 0;
}

int cp_report_parse(const char *json, size_t len, struct cp_report **ret, const char **why)
{
	const cJSON *root;
	int r;

	*why = NULL;
	if (len > CP_REPORT_MAX_SIZE) {
		*why = "larger than 64 MiB";
		return -EINVAL;
	}
	_cleanup_(cp_jr_release) struct cp_jr_arena *arena = NULL;
	r = cp_jr_parse(json, len, &root, &arena, why);
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
