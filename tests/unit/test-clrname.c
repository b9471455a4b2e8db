/*
 * test-clrname - frame display names (src/clrname.c).
 *
 *   test-clrname                   names made from the DAC's own strings (the fallback):
 *                                  the forms tests/dotnet/NOTES.md records of
 *                                  IXCLRDataMethodInstance::GetName, and hostile ones
 *   test-clrname ASSEMBLY...       every method of real assemblies named from their metadata
 *                                  (tests/run-clrname.sh: the test app's, System.Private.CoreLib's)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clrname.h"
#include "ecma335.h"
#include "report.h"
#include "unit.h"

static void check_dac(const char *dac, const char *want)
{
	char *got = cp_clrname_from_dac(dac);
	bool ok = want ? got && !strcmp(got, want) : !got;
	if (!ok)
		fprintf(stderr, "from_dac(%s): got '%s', want '%s'\n", dac ? dac : "(null)",
			got ? got : "(null)", want ? want : "(null)");
	CHECK(ok);
	free(got);
}

static void test_from_dac(void)
{
	check_dac("Crasher.Program.MainLevel3(Int32)", "Crasher.Program.MainLevel3(Int32)");
	check_dac("Crasher.Program.Main(System.String[])", "Crasher.Program.Main(String[])");
	check_dac("Crasher.Program+<>c__DisplayClass31_1.<RunThreads100>b__0()",
		  "Crasher.Program.<>c__DisplayClass31_1.<RunThreads100>b__0()");
	check_dac("Crasher.Outer`1[[System.__Canon, System.Private.CoreLib]].Inner[[System.Int32, System.Private.CoreLib]](Int32, System.__Canon, Int32)",
		  "Crasher.Outer`1.Inner[Int32](Int32, __Canon, Int32)");
	check_dac("Crasher.Outer`1[[System.__Canon, System.Private.CoreLib]].Bottom[[System.Int32, System.Private.CoreLib]](System.__Canon, Int32)",
		  "Crasher.Outer`1.Bottom[Int32](__Canon, Int32)");
	check_dac("System.Threading.Tasks.Task+<>c.<ThrowAsync>b__128_1(System.Object)",
		  "System.Threading.Tasks.Task.<>c.<ThrowAsync>b__128_1(Object)");
	check_dac("System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()",
		  "System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()");
	check_dac("System.Threading.PortableThreadPool+WorkerThread.WorkerThreadStart()",
		  "System.Threading.PortableThreadPool.WorkerThread.WorkerThreadStart()");
	check_dac("System.Environment.FailFast(System.Threading.StackCrawlMarkHandle, System.String, System.Exception, System.String)",
		  "System.Environment.FailFast(StackCrawlMarkHandle, String, Exception, String)");
	check_dac("System.Threading.Monitor.Wait(System.Object, Int32, System.Threading.StackCrawlMark ByRef)",
		  "System.Threading.Monitor.Wait(Object, Int32, StackCrawlMark&)");
	/* async state machines: named as the method (its parameters are the metadata's) */
	check_dac("Orders+<FireAndForget>d__0.MoveNext()", "Orders.FireAndForget()");
	check_dac("Crasher.Program+<AsyncLevel2>d__12.MoveNext()", "Crasher.Program.AsyncLevel2()");
	check_dac("Ns.P+<AG>d__3`1[[System.__Canon, System.Private.CoreLib]].MoveNext()", "Ns.P.AG()");
	/* not a state machine: MoveNext of an ordinary type, a display class */
	check_dac("System.Collections.Generic.List`1+Enumerator[[System.Int32, System.Private.CoreLib]].MoveNext()",
		  "System.Collections.Generic.List`1.Enumerator.MoveNext()");
	check_dac("Ns.P+<>c__DisplayClass6_0.MoveNext()", "Ns.P.<>c__DisplayClass6_0.MoveNext()");
	/* constructors, global methods, generic and array parameters */
	check_dac("Ns.Sub.Boom..ctor(Int32)", "Ns.Sub.Boom..ctor(Int32)");
	check_dac("Ns.Sub.Static..cctor()", "Ns.Sub.Static..cctor()");
	check_dac("Global(Int32)", "Global(Int32)");
	check_dac("Ns.T.M(System.Collections.Generic.List`1[[System.Int32, System.Private.CoreLib]], System.Nullable`1[[System.Int32, System.Private.CoreLib]][], Int32[,], Byte*)",
		  "Ns.T.M(List`1, Nullable`1[], Int32[,], Byte*)");
	check_dac("Ns.T.M[[System.Collections.Generic.List`1[[System.Int32, System.Private.CoreLib]], System.Private.CoreLib],[System.String, System.Private.CoreLib]](Int32)",
		  "Ns.T.M[List`1,String](Int32)");
	check_dac("Ns.Outer`1+Nested`1[[System.__Canon, System.Private.CoreLib],[System.Int32, System.Private.CoreLib]].Deep(Int32 ByRef)",
		  "Ns.Outer`1.Nested`1.Deep(Int32&)");
	/* parameters' instantiations in angle brackets, as GetName prints them */
	check_dac("Crasher.NameShapes.Pointer(Int32*, System.ValueTuple`2<Int32,System.String>)",
		  "Crasher.NameShapes.Pointer(Int32*, ValueTuple`2)");
	check_dac("Crasher.NameOuter`1+Nested`1[[System.__Canon, System.Private.CoreLib],[Crasher.NameValue, Crasher]].Deep[[System.Int64, System.Private.CoreLib]](System.__Canon, Crasher.NameValue, Int64, Int32 ByRef, System.String ByRef, System.Collections.Generic.List`1<Int32>, System.Collections.Generic.Dictionary`2<System.String,System.Collections.Generic.List`1<System.__Canon>>, Int32[,], System.Nullable`1<Int32>[], System.Object[])",
		  "Crasher.NameOuter`1.Nested`1.Deep[Int64](__Canon, NameValue, Int64, Int32&, String&, List`1, Dictionary`2, Int32[,], Nullable`1[], Object[])");
	check_dac("A.B.M(Crasher.Program+<>c__DisplayClass2_0, X`1<<>f__AnonymousType0`1<Int32>>)",
		  "A.B.M(<>c__DisplayClass2_0, X`1)");
	check_dac("A.B.M(X`1<Int32)", "A.B.M(X`1)");
	/* no parameter list at all */
	check_dac("Ns.T.M", "Ns.T.M()");
	/* hostile: unbalanced, empty, NULL, too long */
	check_dac("(((", "(((()");
	check_dac("A.B[[[[", "A.B()");
	check_dac("]]]).x(", "]]]).x(()");
	check_dac("", NULL);
	check_dac(NULL, NULL);
	char *big = malloc(CP_CLRNAME_MAX + 2);
	memset(big, 'a', CP_CLRNAME_MAX + 1);
	big[CP_CLRNAME_MAX + 1] = '\0';
	check_dac(big, NULL);
	/* within the bound, but its display would not be: "()" added */
	big[CP_CLRNAME_MAX - 1] = '\0';
	check_dac(big, NULL);
	free(big);
}

/* cp_clrname_fill on a report without metadata: managed frames of threads and exception
 * stacks (inners too) get the DAC-name display, others none. */
static void test_fill(void)
{
	struct cp_report *r = cp_report_create();
	CHECK(r);
	if (!r)
		return;
	struct cp_thread *t = cp_report_add_thread(r, 42);
	struct cp_frame *native = cp_thread_add_frame(t, 1, 16);
	native->function = strdup("abort");
	struct cp_frame *m = cp_thread_add_frame(t, 2, 32);
	m->kind = CP_FRAME_MANAGED;
	m->function = strdup("Orders+<FireAndForget>d__0.MoveNext()");
	struct cp_frame *rt = cp_thread_add_frame(t, 3, 48);
	rt->kind = CP_FRAME_RUNTIME;
	rt->function = strdup("X.Y(Int32)");
	struct cp_frame *kept = cp_thread_add_frame(t, 4, 64);
	kept->kind = CP_FRAME_MANAGED;
	kept->function = strdup("A.B()");
	kept->display = strdup("made elsewhere");
	t->exception = calloc(1, sizeof(*t->exception));
	struct cp_frame *ef = cp_exception_add_frame(t->exception, 5, 80);
	ef->kind = CP_FRAME_MANAGED;
	ef->function = strdup("Orders.Validate(Int32)");
	struct cp_exception *inner = calloc(1, sizeof(*inner));
	struct cp_frame *inf = cp_exception_add_frame(inner, 6, 96);
	inf->kind = CP_FRAME_MANAGED;
	inf->function = strdup("Crasher.Program+Helper.Deep(System.String)");
	CHECK(cp_exception_add_inner(t->exception, inner) == 0);

	CHECK(cp_clrname_fill(r, NULL, NULL) == 0);
	CHECK(!t->frames[0].display);
	CHECK(t->frames[1].display && !strcmp(t->frames[1].display, "Orders.FireAndForget()"));
	CHECK(!t->frames[2].display);
	CHECK(!strcmp(t->frames[3].display, "made elsewhere"));
	CHECK(t->exception->stack[0].display && !strcmp(t->exception->stack[0].display, "Orders.Validate(Int32)"));
	CHECK(inner->stack[0].display && !strcmp(inner->stack[0].display, "Crasher.Program.Helper.Deep(String)"));
	cp_report_destroy(r);
}

/* Segments of an exception stack count the boundaries the runtime prints: none after an
 * async state machine's frame (here known from the DAC's name). */
static void test_segments(void)
{
	static const struct {
		const char *function;
		int raw, want;
	} frames[] = {
		{ "Orders+<Validate>d__1.MoveNext()", 0, 0 },
		{ "Orders+<FireAndForget>d__0.MoveNext()", 1, 0 },
		{ "Orders.Sync(Int32)", 2, 0 },
		{ "Orders.Caller()", 2, 0 },
		{ "System.Threading.Tasks.Task+<>c.<ThrowAsync>b__128_1(System.Object)", 3, 1 },
		{ "System.Threading.QueueUserWorkItemCallback.Execute()", 3, 1 },
		{ "X.Y()", 5, 2 },
	};
	struct cp_report *r = cp_report_create();
	struct cp_thread *t = cp_report_add_thread(r, 7);
	t->exception = calloc(1, sizeof(*t->exception));
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		struct cp_frame *f = cp_exception_add_frame(t->exception, i, i);
		f->kind = CP_FRAME_MANAGED;
		f->function = strdup(frames[i].function);
		f->segment = frames[i].raw;
	}
	CHECK(cp_clrname_fill(r, NULL, NULL) == 0);
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		if (t->exception->stack[i].segment != frames[i].want)
			fprintf(stderr, "frame %zu (%s): segment %d, want %d\n", i, frames[i].function,
				t->exception->stack[i].segment, frames[i].want);
		CHECK(t->exception->stack[i].segment == frames[i].want);
	}
	cp_report_destroy(r);
}

/* ---- a real assembly --------------------------------------------------------------------- */

struct image {
	uint8_t *data;
	size_t size;
	struct cp_pe pe;
	struct cp_md md;
};

static int load(const char *path, struct image *img)
{
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = cp_ecma_read_fd(fd, CP_ECMA_MAX_FILE, &img->data, &img->size);
	close(fd);
	if (r < 0)
		return r;
	r = cp_pe_parse(img->data, img->size, &img->pe, &why);
	if (r == 0 && !img->pe.has_cli)
		r = -ENOENT;
	if (r == 0)
		r = cp_md_open(img->pe.metadata, img->pe.metadata_size, &img->md, &why);
	if (r < 0)
		fprintf(stderr, "%s: %s\n", path, why ? why : strerror(-r));
	return r;
}

static int lookup_one(void *ctx, const char *path, const struct cp_md **md_ret)
{
	(void) path;
	*md_ret = ctx;
	return 0;
}

/* What cp_clrname_fill costs a report: a thread with every method of @img as a frame, then
 * a stack overflow's 1000 frames of one method. */
static void time_fill(struct image *img, const char *path)
{
	struct cp_report *r = cp_report_create();
	CHECK(cp_report_add_thread(r, 1) && cp_report_add_thread(r, 2));
	struct cp_thread *t = &r->threads[0], *so = &r->threads[1];	/* after both: realloc */
	uint32_t n = cp_md_rows(&img->md, CP_MD_METHODDEF);
	struct timespec a, b, c;

	for (uint32_t i = 1; i <= n; i++) {
		struct cp_frame *f = cp_thread_add_frame(t, i, i);
		f->kind = CP_FRAME_MANAGED;
		f->assembly = strdup(path);
		f->token = cp_md_token(CP_MD_METHODDEF, i);
		f->has_token = true;
	}
	for (uint32_t i = 0; i < 1000; i++) {
		struct cp_frame *f = cp_thread_add_frame(so, i, i);
		f->kind = CP_FRAME_MANAGED;
		f->assembly = strdup(path);
		f->token = cp_md_token(CP_MD_METHODDEF, n);
		f->has_token = true;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(cp_clrname_fill(r, NULL, NULL) == 0);	/* no metadata, no DAC name: nothing */
	CHECK(!t->frames[0].display);
	CHECK(cp_clrname_fill(r, lookup_one, &img->md) == 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	size_t named = 0;
	for (size_t i = 0; i < t->n_frames; i++)
		named += t->frames[i].display != NULL;
	CHECK(named == n);
	CHECK(so->frames[999].display && !strcmp(so->frames[999].display, so->frames[0].display));
	cp_report_destroy(r);
	clock_gettime(CLOCK_MONOTONIC, &c);
	printf("%s: cp_clrname_fill: %u frames of distinct methods and 1000 of one in %.1f ms\n", path, n,
	       (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
}

/* Every method of the assembly is named without a failure: nothing a compiler made is out
 * of reach. Each display is printed, for the log. */
static void test_assembly(const char *path)
{
	struct image img = {};
	int r = load(path, &img);
	CHECK(r == 0);
	if (r < 0)
		return;

	uint32_t n = cp_md_rows(&img.md, CP_MD_METHODDEF), failed = 0, n_hidden = 0;
	for (uint32_t i = 1; i <= n; i++) {
		uint32_t token = cp_md_token(CP_MD_METHODDEF, i);
		char *d = NULL;
		unsigned flags = 0;
		r = cp_clrname_format(&img.md, token, &d, &flags);
		bool hidden = flags & CP_CLRNAME_HIDDEN;
		if (r < 0) {
			fprintf(stderr, "%s: method 0x%08x: no display: %s\n", path, token, strerror(-r));
			failed++;
		} else {
			printf("0x%08x%s%s\t%s\n", token, hidden ? " hidden" : "",
			       flags & CP_CLRNAME_ASYNC ? " async" : "", d);
			n_hidden += hidden;
		}
		free(d);
	}
	printf("%s: %u methods named (%u hidden), %u failed\n", path, n, n_hidden, failed);
	CHECK(n > 0 && failed == 0);
	char *d = NULL;
	CHECK(cp_clrname_format(&img.md, cp_md_token(CP_MD_METHODDEF, n + 1), &d, NULL) == -ERANGE);
	CHECK(cp_clrname_format(&img.md, cp_md_token(CP_MD_TYPEDEF, 1), &d, NULL) == -ERANGE);
	CHECK(cp_clrname_format(&img.md, cp_md_token(CP_MD_METHODDEF, 0), &d, NULL) == -ERANGE);
	CHECK(!d);
	time_fill(&img, path);
	free(img.data);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			test_assembly(argv[i]);
		return UNIT_DONE();
	}
	test_from_dac();
	test_fill();
	test_segments();
	return UNIT_DONE();
}
