/*
 * test-report.c - the strict report reader, cp_report_parse(): one value, the schema, the
 * nesting and value bounds, each type and range, and a written report reading back the same.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "unit.h"

/* Parse @json; 1 when it is accepted (and @want_why NULL) or refused with a reason that
 * contains @want_why. */
static int parses(const char *json, const char *want_why)
{
	struct cp_report *r = NULL;
	const char *why = NULL;
	int ret = cp_report_parse(json, strlen(json), &r, &why);
	int ok = want_why ? ret == -EINVAL && why && strstr(why, want_why) : ret == 0 && r;
	if (!ok)
		fprintf(stderr, "parse(%.80s): %d %s, want %s\n", json, ret, why ? why : "(no reason)",
			want_why ? want_why : "success");
	cp_report_destroy(r);
	return ok;
}

/* '{"schema":"crashpipe/1","x":' @n '[' and as many ']' '}' */
static char *nested(size_t n)
{
	const char *head = "{\"schema\":\"crashpipe/1\",\"x\":";
	size_t h = strlen(head);
	char *s = malloc(h + 2 * n + 2);
	memcpy(s, head, h);
	memset(s + h, '[', n);
	memset(s + h + n, ']', n);
	strcpy(s + h + 2 * n, "}");
	return s;
}

int main(void)
{
	CHECK(parses("{\"schema\":\"crashpipe/1\"}", NULL));
	CHECK(parses("  {\"schema\":\"crashpipe/1\"}\n\t ", NULL));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"unknown\":{\"a\":[1,2]}}", NULL));	/* ignored */
	CHECK(parses("", "not JSON"));
	CHECK(parses("[1]", "not a JSON object"));
	CHECK(parses("{\"schema\":\"crashpipe/2\"}", "schema is not"));
	CHECK(parses("{\"schema\":7}", "schema is not"));
	CHECK(parses("{\"schema\":\"crashpipe/1\"} {\"schema\":\"crashpipe/1\"}", "more than one JSON value"));
	CHECK(parses("{\"schema\":\"crashpipe/1\"}x", "more than one JSON value"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"pid\":1,\"comm\":\"a\",\"pid\":2}}", "member twice"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"schema\":\"crashpipe/1\"}", "member twice"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"x\":[{\"a\":1,\"b\":2},{\"a\":1}]}", NULL));

	/* A NUL byte inside the length: refused, not cut short. */
	{
		static const char nul[] = "{\"schema\":\"crashpipe/1\"}\0{\"forged\":1}";
		struct cp_report *r = NULL;
		const char *why = NULL;
		CHECK(cp_report_parse(nul, sizeof(nul) - 1, &r, &why) == -EINVAL && why && strstr(why, "NUL"));
	}

	/* nesting: the report's own objects count (root = 1) */
	char *s = nested(CP_REPORT_MAX_DEPTH - 1);
	CHECK(parses(s, NULL));
	free(s);
	s = nested(CP_REPORT_MAX_DEPTH);
	CHECK(parses(s, "nested deeper"));
	free(s);
	s = nested(100000);
	CHECK(parses(s, "nested deeper"));
	free(s);
	/* brackets inside strings are text */
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"notes\":[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"]}", NULL));

	/* the value count */
	{
		size_t n = CP_REPORT_MAX_VALUES + 1, h;
		const char *head = "{\"schema\":\"crashpipe/1\",\"x\":[";
		h = strlen(head);
		char *big = malloc(h + 2 * n + 3);
		memcpy(big, head, h);
		for (size_t i = 0; i < n; i++)
			memcpy(big + h + 2 * i, "0,", 2);
		strcpy(big + h + 2 * n - 1, "]}");
		CHECK(parses(big, "JSON values"));
		free(big);
	}

	/* numbers: integral, finite, in range */
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"pid\":4194304,\"uid\":4294967294,\"time\":253402300799}}", NULL));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"time\":1e17}}", "process.time"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"time\":-1}}", "process.time"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"pid\":4194305}}", "process.pid"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"pid\":1.5}}", "process.pid"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"pid\":1e400}}", "process.pid"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"pid\":\"1\"}}", "process.pid: not a number"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"uid\":4294967295}}", "process.uid"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"uid\":0,\"gid\":-1}}", "process.gid"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"signal\":65}}", "process.signal"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"si_code\":2147483648}}", "process.si_code"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"rlimit_core\":-2}}", "process.rlimit_core"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"rlimit_core\":1e19}}", NULL));	/* unlimited */
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"rlimit_core\":1e20}}", "process.rlimit_core"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"tid\":1,\"frames\":[{\"line\":-1}]}]}",
		     "threads[0].frames[0].line"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{},{\"frames\":[{},{\"il_offset\":4294967296}]}]}",
		     "threads[1].frames[1].il_offset"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"offset\":18446744073709551616}]}]}",
		     ".offset"));

	/* types */
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":[]}", "process: not an object"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"process\":{\"comm\":{}}}", "process.comm: not a string"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":{}}", "threads: not an array"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[1]}", "threads[0]: not an object"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"crashed\":1}]}", "threads[0].crashed"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"notes\":[\"a\",2]}", "notes[1]: not a string"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"partial\":\"yes\"}", "partial"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"memory_source\":\"disk\"}", "memory_source"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"runtime\":true}", "runtime: not an object"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"modules\":[{\"file_build_id_match\":0}]}", "file_build_id_match"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"modules\":[{\"build_id\":\"ab/..\"}]}", "modules[0].build_id"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"kind\":\"future\"}]}]}", NULL));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"kind\":3}]}]}", ".kind: not a string"));

	/* hex strings */
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"ip\":\"0xffffffffffffffff\",\"token\":\"0xffffffff\"}]}]}", NULL));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"ip\":\"0x10000000000000000\"}]}]}", ".ip"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"ip\":\" 0x1\"}]}]}", ".ip"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"ip\":\"0x\"}]}]}", ".ip"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"ip\":\"12\"}]}]}", ".ip"));
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"frames\":[{\"token\":\"0x100000000\"}]}]}", ".token"));

	/* exceptions: at most 64 inner ones each (an AggregateException's), at most 16 deep */
	CHECK(parses("{\"schema\":\"crashpipe/1\",\"threads\":[{\"exception\":{\"inner\":[{},{}]}}]}", NULL));
	for (int n = 64; n <= 65; n++) {
		char ex[1024] = "{\"schema\":\"crashpipe/1\",\"threads\":[{\"exception\":{\"inner\":[{}";
		for (int i = 1; i < n; i++)
			strcat(ex, ",{}");
		strcat(ex, "]}}]}");
		CHECK(parses(ex, n == 64 ? NULL : "threads[0].exception.inner: more than 64 inner exceptions"));
	}
	{
		char ex[2048] = "{\"schema\":\"crashpipe/1\",\"threads\":[{\"exception\":";
		for (int i = 0; i < 18; i++)
			strcat(ex, "{\"inner\":[");
		strcat(ex, "{}");
		for (int i = 0; i < 18; i++)
			strcat(ex, "]}");
		strcat(ex, "}]}");
		CHECK(parses(ex, "deeper than 16"));
	}

	/* A report written by cp_report_to_json() reads back with the same values. */
	{
		struct cp_report *r = cp_report_create(), *back = NULL;
		const char *why;
		r->process.pid = 4194304;
		r->process.time = 253402300799;
		r->process.has_ids = true;
		r->process.uid = 4294967294u;
		r->process.comm = strdup("x\x9b\xe2\x80\xae");
		r->process.rlimit_core = INT64_MAX;
		struct cp_thread *t = cp_report_add_thread(r, 7);
		t->crashed = true;
		struct cp_frame *f = cp_thread_add_frame(t, UINT64_MAX, 1);
		f->kind = CP_FRAME_MANAGED;
		f->line = 12;
		f->has_il_offset = true;
		f->il_offset = UINT32_MAX;
		f->has_token = true;
		f->token = 0x06000001;
		char *json = cp_report_to_json(r);
		CHECK(json && cp_report_parse(json, strlen(json), &back, &why) == 0);
		if (back) {
			CHECK(back->process.pid == 4194304 && back->process.time == 253402300799 &&
			      back->process.uid == 4294967294u && back->process.rlimit_core == INT64_MAX);
			CHECK(back->n_threads == 1 && back->threads[0].n_frames == 1 &&
			      back->threads[0].frames[0].ip == UINT64_MAX &&
			      back->threads[0].frames[0].il_offset == UINT32_MAX &&
			      back->threads[0].frames[0].token == 0x06000001 &&
			      back->threads[0].frames[0].kind == CP_FRAME_MANAGED);
		}
		free(json);
		cp_report_destroy(back);
		cp_report_destroy(r);
	}
	return UNIT_DONE();
}
