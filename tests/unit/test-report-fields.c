/*
 * test-report-fields.c - the members issue 8 added to crashpipe/1: a report with every one
 * of them set (frame display, exception stack with segments, inner exceptions of an
 * AggregateException nested two deep, a folded cycle, omitted frames, managed thread name,
 * runtime kind, core writer) is written, read back with the same values, and written again
 * to the same text; each one unset is written as null; the reader refuses each out of its
 * type or range with a reason naming the member by its path.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "unit.h"

static int parses(const char *json, const char *want_why)
{
	struct cp_report *r = NULL;
	const char *why = NULL;
	int ret = cp_report_parse(json, strlen(json), &r, &why);
	int ok = want_why ? ret == -EINVAL && why && strstr(why, want_why) : ret == 0 && r;
	if (!ok)
		fprintf(stderr, "parse(%.100s): %d %s, want %s\n", json, ret, why ? why : "(no reason)",
			want_why ? want_why : "success");
	cp_report_destroy(r);
	return ok;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static struct cp_exception *exception_new(const char *type, const char *message)
{
	struct cp_exception *e = calloc(1, sizeof(*e));
	if (e) {
		e->type = strdup(type);
		e->message = message ? strdup(message) : NULL;
	}
	return e;
}

static void add_stack_frame(struct cp_exception *e, const char *display, const char *file, int line, int segment)
{
	struct cp_frame *f = cp_exception_add_frame(e, 0x7f0000001000ull + e->n_stack * 0x10, 0);
	if (!f)
		return;
	f->kind = CP_FRAME_MANAGED;
	f->display = strdup(display);
	f->function = strdup(display);
	f->assembly = strdup("Orders.dll");
	f->token = 0x06000010 + (uint32_t)e->n_stack;
	f->has_token = true;
	f->il_offset = 7;
	f->has_il_offset = true;
	f->file = file ? strdup(file) : NULL;
	f->line = line;
	f->segment = segment;
}

static struct cp_report *full_report(void)
{
	struct cp_report *r = cp_report_create();
	if (!r)
		return NULL;
	r->process.pid = 4242;
	r->process.comm = strdup("Orders");
	r->process.core_writer = strdup("createdump");
	r->runtime.present = true;
	r->runtime.kind = strdup("coreclr");
	r->runtime.version = strdup("10.0.0");

	struct cp_thread *t = cp_report_add_thread(r, 4242);
	t->name = strdup("settlement-work");
	t->managed_name = strdup("settlement-worker");
	t->crashed = true;
	t->truncated = true;
	for (unsigned i = 0; i < 8; i++) {
		struct cp_frame *f = cp_thread_add_frame(t, 0x7f0000100000ull + i, 0x7ffc00000000ull + i * 0x40);
		/* frame 6: a call inlined into frame 7 (inline.h) */
		f->kind = i < 6 ? CP_FRAME_MANAGED : i == 6 ? CP_FRAME_INLINE : CP_FRAME_NATIVE;
		f->function = strdup(i < 6 ? "Newtonsoft.Json.Serialization.JsonSerializerInternalWriter.SerializeObject" : "start_thread");
		if (i < 6)
			f->display = strdup("Newtonsoft.Json.Serialization.JsonSerializerInternalWriter.SerializeObject(JsonWriter writer)");
	}
	t->frames[1].repeat_length = 4;		/* frames 1..4 ran 250 times in a row */
	t->frames[1].repeat_count = 250;
	t->omitted_after = 6;
	t->n_omitted = 9000;

	struct cp_exception *agg = exception_new("System.AggregateException", "One or more errors occurred.");
	add_stack_frame(agg, "Orders.Validate(Int32 id)", "/src/Orders/Program.cs", 22, 0);
	add_stack_frame(agg, "Orders.FireAndForget(Int32 id)", "/src/Orders/Program.cs", 20, 0);
	add_stack_frame(agg, "System.Threading.Tasks.Task.<>c.<ThrowAsync>b__128_1(Object state)", NULL, 0, 1);
	struct cp_exception *a = exception_new("System.InvalidOperationException", "first");
	add_stack_frame(a, "Orders.First()", "/src/Orders/Program.cs", 31, 0);
	struct cp_exception *b = exception_new("System.IO.IOException", NULL);
	struct cp_exception *bb = exception_new("System.Exception", "deepest");
	CHECK(cp_exception_add_inner(b, bb) == 0);
	CHECK(cp_exception_add_inner(agg, a) == 0);
	CHECK(cp_exception_add_inner(agg, b) == 0);
	t->exception = agg;
	return r;
}

static void check_frame_eq(const struct cp_frame *x, const struct cp_frame *y)
{
	CHECK(x->ip == y->ip && x->kind == y->kind && x->segment == y->segment);
	CHECK(str_eq(x->display, y->display) && str_eq(x->function, y->function) && str_eq(x->file, y->file));
	CHECK(x->line == y->line && x->repeat_length == y->repeat_length && x->repeat_count == y->repeat_count);
}

static void check_exception_eq(const struct cp_exception *x, const struct cp_exception *y)
{
	CHECK(str_eq(x->type, y->type) && str_eq(x->message, y->message));
	CHECK(x->has_stack == y->has_stack && x->n_stack == y->n_stack && x->n_inners == y->n_inners);
	if (x->n_stack == y->n_stack)
		for (size_t i = 0; i < x->n_stack; i++)
			check_frame_eq(&x->stack[i], &y->stack[i]);
	if (x->n_inners == y->n_inners)
		for (size_t i = 0; i < x->n_inners; i++)
			check_exception_eq(x->inners[i], y->inners[i]);
}

static void round_trip(void)
{
	struct cp_report *r = full_report(), *back = NULL;
	const char *why = NULL;
	CHECK(r != NULL);
	if (!r)
		return;
	char *json = cp_report_to_json(r);
	CHECK(json != NULL);
	if (!json)
		return;
	CHECK(strstr(json, "\"managed_name\":\t\"settlement-worker\"") != NULL);
	CHECK(strstr(json, "\"omitted\":\t{\n\t\t\t\t\"after\":\t6,\n\t\t\t\t\"count\":\t9000\n\t\t\t}") != NULL);
	CHECK(strstr(json, "\"repeat\":\t{\n") != NULL && strstr(json, "\"count\":\t250\n") != NULL);
	CHECK(strstr(json, "\"kind\":\t\"coreclr\"") != NULL);
	CHECK(strstr(json, "\"kind\":\t\"inline\"") != NULL);
	CHECK(strstr(json, "\"core_writer\":\t\"createdump\"") != NULL);
	CHECK(strstr(json, "\"display\":\t\"Orders.Validate(Int32 id)\"") != NULL);
	CHECK(strstr(json, "\"segment\":\t1,\n") != NULL);
	CHECK(cp_report_parse(json, strlen(json), &back, &why) == 0);
	if (back) {
		CHECK(str_eq(back->process.core_writer, "createdump") && str_eq(back->runtime.kind, "coreclr"));
		CHECK(back->n_threads == 1);
		const struct cp_thread *t = &back->threads[0], *o = &r->threads[0];
		CHECK(str_eq(t->managed_name, "settlement-worker") && t->omitted_after == 6 && t->n_omitted == 9000);
		CHECK(t->n_frames == o->n_frames);
		for (size_t i = 0; i < t->n_frames && i < o->n_frames; i++)
			check_frame_eq(&t->frames[i], &o->frames[i]);
		CHECK(t->exception != NULL);
		if (t->exception)
			check_exception_eq(t->exception, o->exception);
		char *again = cp_report_to_json(back);
		CHECK(again && strcmp(again, json) == 0);
		free(again);
	}
	cp_report_destroy(back);
	free(json);
	cp_report_destroy(r);
}

/* Unset, every new member is null (and "stack" of an exception without one too). */
static void nulls(void)
{
	struct cp_report *r = cp_report_create();
	r->runtime.present = true;
	struct cp_thread *t = cp_report_add_thread(r, 1);
	t->crashed = true;
	cp_thread_add_frame(t, 1, 2);
	t->exception = exception_new("System.Exception", NULL);
	/* A cycle or an omitted run the reader would refuse is written as none. */
	t->frames[0].repeat_length = 2;
	t->frames[0].repeat_count = 5;
	t->omitted_after = 3;
	t->n_omitted = 1;
	char *json = cp_report_to_json(r);
	CHECK(json != NULL);
	if (json) {
		CHECK(strstr(json, "\"managed_name\":\tnull") != NULL);
		CHECK(strstr(json, "\"omitted\":\tnull") != NULL);
		CHECK(strstr(json, "\"repeat\":\tnull") != NULL);
		CHECK(strstr(json, "\"display\":\tnull") != NULL);
		CHECK(strstr(json, "\"stack\":\tnull") != NULL);
		CHECK(strstr(json, "\"core_writer\":\tnull") != NULL);
		CHECK(strstr(json, "\"kind\":\t\"dotnet\"") != NULL);
		CHECK(strstr(json, "\"segment\"") == NULL);	/* only in exception stacks */
		CHECK(strstr(json, "\"truncated\":\tfalse") != NULL);
		CHECK(parses(json, NULL));
	}
	free(json);
	cp_report_destroy(r);
}

#define HEAD "{\"schema\":\"crashpipe/1\","

int main(void)
{
	round_trip();
	nulls();

	/* display */
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"display\":\"A.B()\"}]}]}", NULL));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"display\":7}]}]}", "threads[0].frames[0].display: not a string"));

	/* repeat: length >= 1, count >= 2, within the frames */
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":{\"length\":2,\"count\":2}},{}]}]}", NULL));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{},{\"repeat\":{\"length\":2,\"count\":2}}]}]}",
		     "threads[0].frames[1].repeat.length: the cycle runs past the last frame"));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":{\"length\":0,\"count\":2}}]}]}",
		     "threads[0].frames[0].repeat.length: not an integer from 1"));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":{\"length\":1,\"count\":1}}]}]}",
		     "threads[0].frames[0].repeat.count: not an integer from 2"));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":{\"length\":1}}]}]}", "repeat.count: missing"));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":{\"count\":3}}]}]}", "repeat.length: missing"));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":[1,2]}]}]}", "threads[0].frames[0].repeat: not an object"));
	CHECK(parses(HEAD "\"threads\":[{\"frames\":[{\"repeat\":{\"length\":1,\"count\":4294967296}}]}]}", "repeat.count"));

	/* omitted: after <= frames, count >= 1 */
	CHECK(parses(HEAD "\"threads\":[{\"truncated\":true,\"omitted\":{\"after\":1,\"count\":5},\"frames\":[{}]}]}", NULL));
	CHECK(parses(HEAD "\"threads\":[{\"omitted\":{\"after\":2,\"count\":5},\"frames\":[{}]}]}",
		     "threads[0].omitted.after: more than the frames there are"));
	CHECK(parses(HEAD "\"threads\":[{\"omitted\":{\"after\":0,\"count\":0}}]}", "threads[0].omitted.count: not an integer from 1"));
	CHECK(parses(HEAD "\"threads\":[{\"omitted\":{\"after\":-1,\"count\":1}}]}", "threads[0].omitted.after"));
	CHECK(parses(HEAD "\"threads\":[{\"omitted\":{\"count\":1}}]}", "omitted.after: missing"));
	CHECK(parses(HEAD "\"threads\":[{\"omitted\":true}]}", "threads[0].omitted: not an object"));

	/* managed_name */
	CHECK(parses(HEAD "\"threads\":[{\"managed_name\":[]}]}", "threads[0].managed_name: not a string"));

	/* exception stack and segments */
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"stack\":[]}}]}", NULL));
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"stack\":{}}}]}", "threads[0].exception.stack: not an array"));
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"stack\":[{\"segment\":0},{\"segment\":-1}]}}]}",
		     "threads[0].exception.stack[1].segment: not an integer from 0"));
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"stack\":[{\"segment\":1.5}]}}]}", "stack[0].segment"));
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"inner\":[{},{\"stack\":[{\"ip\":\"x\"}]}]}}]}",
		     "threads[0].exception.inner[1].stack[0].ip"));
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"inner\":[{},7]}}]}", "threads[0].exception.inner[1]: not an object"));
	CHECK(parses(HEAD "\"threads\":[{\"exception\":{\"stack\":[{\"repeat\":{\"length\":2,\"count\":2}}]}}]}",
		     "threads[0].exception.stack[0].repeat.length: the cycle runs past"));

	/* runtime kind and core writer: known values kept, another string is unknown (a later
	 * crashpipe/1), anything else refused */
	{
		struct cp_report *r = NULL;
		const char *why;
		const char *j = HEAD "\"runtime\":{\"kind\":\"nativeaot\"},\"process\":{\"core_writer\":\"systemd-coredump\"}}";
		CHECK(cp_report_parse(j, strlen(j), &r, &why) == 0 && r && str_eq(r->runtime.kind, "nativeaot") &&
		      str_eq(r->process.core_writer, "systemd-coredump"));
		cp_report_destroy(r);
		r = NULL;
		j = HEAD "\"process\":{\"core_writer\":\"gcore\"}}";
		CHECK(cp_report_parse(j, strlen(j), &r, &why) == 0 && r && str_eq(r->process.core_writer, "gcore"));
		cp_report_destroy(r);
		r = NULL;
		j = HEAD "\"runtime\":{\"kind\":\"dotnet\"},\"process\":{\"core_writer\":\"minicoredumper\"}}";
		CHECK(cp_report_parse(j, strlen(j), &r, &why) == 0 && r && r->runtime.present && !r->runtime.kind &&
		      !r->process.core_writer);
		cp_report_destroy(r);
	}
	CHECK(parses(HEAD "\"runtime\":{\"kind\":1}}", "runtime.kind: not a string"));
	CHECK(parses(HEAD "\"process\":{\"core_writer\":false}}", "process.core_writer: not a string"));
	return UNIT_DONE();
}
