/*
 * test-report-text.c - the report's JSON text, written by cp_report_to_json() without a
 * cJSON tree, is byte for byte what cJSON_Print() makes of the same values (the text form
 * every report had before, which readers and tests may rely on), and reads back with
 * cp_report_parse() to the same text. Reports with every kind of field: null and present,
 * numbers past INT_MAX and near 2^64, escapes, control characters and invalid UTF-8
 * (U+FFFD in the text), empty and nested arrays, inner exceptions.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "unit.h"

/* @text is in cJSON_Print()'s form: parsing and printing it again gives it back. */
static void check_cjson_form(const char *text)
{
	cJSON *root = cJSON_Parse(text);
	CHECK(root != NULL);
	if (!root)
		return;
	char *again = cJSON_Print(root);
	CHECK(again && strcmp(again, text) == 0);
	if (again && strcmp(again, text) != 0) {
		size_t i = 0;
		while (again[i] && again[i] == text[i])
			i++;
		fprintf(stderr, "differs at byte %zu: ours \"%.40s\", cJSON's \"%.40s\"\n", i, text + i, again + i);
	}
	free(again);
	cJSON_Delete(root);
}

/* What cp_report_parse() reads back from @text is written as @text again. */
static void check_round_trip(const char *text)
{
	struct cp_report *back = NULL;
	const char *why = NULL;
	CHECK(cp_report_parse(text, strlen(text), &back, &why) == 0);
	if (!back) {
		fprintf(stderr, "not read back: %s\n", why ? why : "?");
		return;
	}
	char *again = cp_report_to_json(back);
	CHECK(again && strcmp(again, text) == 0);
	free(again);
	cp_report_destroy(back);
}

static void add_frames(struct cp_thread *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct cp_frame *f = cp_thread_add_frame(t, 0x7fff00001000ull + i * 16, 0x7ffe00000000ull + i * 64);
		if (!f)
			return;
		f->kind = i % 3 == 1 ? CP_FRAME_MANAGED : i % 3 == 2 ? CP_FRAME_RUNTIME : CP_FRAME_NATIVE;
		if (i % 2 == 0) {
			f->module = strdup("/usr/lib/x86_64-linux-gnu/libc.so.6");
			f->build_id = strdup("93ac61ec5a8eb1396f9fbd350e3169a558528a40");
			f->module_offset = 0x8aeec + i;
			f->has_module_offset = true;
			f->function = strdup(i % 4 ? "std::vector<int>::at(unsigned long) const" : "raise");
			f->offset = i == 0 ? 18446744073709549568ull : i == 2 ? 2147483648ull : i == 4 ? 123456789012345ull : i;
			f->has_offset = true;
			f->file = strdup("../sysdeps/posix/raise.c");
			f->line = i == 6 ? 2147483647 : (int)i + 1;
		}
		if (f->kind != CP_FRAME_NATIVE && i % 2) {
			f->assembly = strdup("Crasher.dll");
			f->token = 0x06000001 + i;
			f->has_token = true;
			f->il_offset = i == 7 ? UINT32_MAX : i;
			f->has_il_offset = true;
		}
	}
}

int main(void)
{
	struct cp_report *r = cp_report_create();
	CHECK(r != NULL);
	if (!r)
		return UNIT_DONE();
	r->partial = true;
	r->live = true;
	r->process.pid = 4194304;
	r->process.tid = 17;
	r->process.exe = strdup("/opt/app/Crasher");
	/* Escapes, C0 and C1 controls, DEL, invalid UTF-8 (a lone continuation byte, a
	 * truncated sequence, a surrogate, an overlong form) and valid UTF-8. */
	r->process.comm = strdup("a\x01\x1f\"\\\b\f\n\r\t\x7f\xc2\x9b\x80\xe2\x82\xed\xa0\x80\xc0\xaf\xc3\xa9z");
	r->process.cmdline = strdup("/opt/app/Crasher threads100 \"quoted\" back\\slash");
	r->process.has_ids = true;
	r->process.uid = 4294967294u;
	r->process.gid = 2147483648u;
	r->process.signal = 6;
	r->process.si_code = -6;
	r->process.has_si_code = true;
	r->process.has_fault_address = true;
	r->process.fault_address = UINT64_MAX;
	r->process.time = 253402300799;
	r->process.boot_id = strdup("0123456789abcdef0123456789abcdef");
	r->process.rlimit_core = INT64_MAX;
	r->process.restricted = true;
	r->runtime.present = true;
	r->runtime.version = strdup("10.0.12");
	r->runtime.directory = strdup("/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12");
	r->runtime.dac_error = strdup("no DAC");

	for (unsigned i = 0; i < 4; i++) {
		struct cp_thread *t = cp_report_add_thread(r, 100 + i);
		if (!t)
			break;
		if (i != 2)
			t->name = strdup(i ? "worker" : "Crasher");
		t->crashed = i == 1;
		t->truncated = i == 3;
		if (i == 3)
			t->error = strdup("loop: the same frame twice");
		add_frames(t, i == 2 ? 0 : 9 + i);
	}
	struct cp_exception *e = calloc(1, sizeof(*e)), *inner = calloc(1, sizeof(*inner));
	CHECK(e && inner);
	if (e && inner) {
		e->type = strdup("System.InvalidOperationException");
		e->message = strdup("bad state\n\ttab \"q\"");
		e->hresult = (int32_t)0x80131509u;
		e->has_hresult = true;
		inner->type = strdup("System.Exception");
		CHECK(cp_exception_add_inner(e, inner) == 0);
		r->threads[1].exception = e;
	}
	for (int i = -1; i <= 1; i++) {
		struct cp_module_info *m = cp_report_add_module(r);
		if (!m)
			break;
		m->path = strdup("/usr/lib/x86_64-linux-gnu/libc.so.6");
		m->base = 0x7ffff7a00000ull;
		m->end = 0x7ffff7bfffffull;
		if (i >= 0)
			m->build_id = strdup("93ac61ec5a8eb1396f9fbd350e3169a558528a40");
		m->build_id_match = i;
		if (i == 1) {
			m->debuginfo = strdup("/usr/lib/debug/.build-id/93/ac61.debug");
			m->debuginfo_source = strdup("debug-dir");
		}
		if (i >= 0)
			m->source = strdup(i ? "module-dir" : "exe");
	}
	cp_report_note(r, false, "note with \x1b[31m an escape and \xff");
	cp_report_note(r, false, "a second note");

	char *text = cp_report_to_json(r);
	CHECK(text != NULL);
	if (text) {
		check_cjson_form(text);
		/* Every invalid byte became U+FFFD; the valid ones stayed. */
		CHECK(strstr(text, "\"a\\u0001\\u001f\\\"\\\\\\b\\f\\n\\r\\t\x7f\xc2\x9b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9z\"") != NULL);
		CHECK(strstr(text, "\"uid\":\t4294967294,\n") != NULL);
		CHECK(strstr(text, "\"rlimit_core\":\t-1,\n") != NULL);
		CHECK(strstr(text, "\"offset\":\t1.844674407370955e+19,\n") != NULL);
		CHECK(strstr(text, "\"frames\":\t[]\n") != NULL);
		CHECK(strstr(text, "\"source\":\t\"module-dir\",\n\t\t\t\"debuginfo_source\":\t\"debug-dir\"") != NULL);
		CHECK(strstr(text, "\"notes\":\t[\"note with \\u001b[31m an escape and \xef\xbf\xbd\", \"a second note\"]\n}") != NULL);
	}
	free(text);
	/* "restricted" is not read back from a report (the writer of a report sets it): the
	 * round trip is of a report without it. */
	r->process.restricted = false;
	text = cp_report_to_json(r);
	CHECK(text != NULL);
	if (text)
		check_round_trip(text);
	free(text);
	cp_report_destroy(r);

	/* The smallest report: no runtime, threads, modules or notes. */
	r = cp_report_create();
	CHECK(r != NULL);
	if (r) {
		r->process.time = -1;
		r->process.rlimit_core = -1;
		text = cp_report_to_json(r);
		CHECK(text != NULL);
		if (text) {
			check_cjson_form(text);
			check_round_trip(text);
			CHECK(strstr(text, "\"threads\":\t[],\n\t\"modules\":\t[],\n\t\"notes\":\t[]\n}") != NULL);
		}
		free(text);
		cp_report_destroy(r);
	}
	return UNIT_DONE();
}
