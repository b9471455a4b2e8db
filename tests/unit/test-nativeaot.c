/*
 * test-nativeaot.c - the NativeAOT crash-info parser and C# names (src/nativeaot.c).
 *
 * The crash info below is what the .NET 10.0.12 runtime of tests/dotnet/AotApp wrote into
 * its g_CrashInfoBuffer (read with gdb from a core of `Aot main`), the symbols are the
 * ILCompiler's for the same app; the names expected are the ones the runtime printed on
 * stderr for those methods.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nativeaot.h"
#include "report.h"
#include "unit.h"

static const char real[] =
	"{\"version\":\"1.0.0\",\"runtime_base\":\"0x555555554000\",\"runtime_type\":\"4\","
	"\"runtime_version\":\"10.0.12\",\"reason\":\"1\",\"thread\":\"0x61FA\","
	"\"message\":\"crashpipe-aot: card declined for order 42 (\\\"quoted\\\" \\\\ backslash)\","
	"\"exception\":{\"address\":\"0x7FF42D8060C8\",\"hr\":\"0x80131509\","
	"\"message\":\"crashpipe-aot: card declined for order 42 (\\\"quoted\\\" \\\\ backslash)\","
	"\"type\":\"System.InvalidOperationException\",\"stack\":["
	"{\"ip\":\"0x5555555BE298\",\"module\":\"0x555555554000\",\"offset\":\"0x168\",\"name\":\"Program.Charge(Int32)\"},"
	"{\"ip\":\"0x5555555BE128\",\"module\":\"0x555555554000\",\"offset\":\"0x8\",\"name\":\"Program.Bill(Int32)\"},"
	"{\"ip\":\"0x5555555BE118\",\"module\":\"0x555555554000\",\"offset\":\"0x8\",\"name\":\"Program.Checkout(Int32)\"},"
	"{\"ip\":\"0x5555555BE069\",\"module\":\"0x555555554000\",\"offset\":\"0xF9\",\"name\":\"Program.Main(String[] args)\"},"
	"{\"ip\":\"0x55555560E22A\",\"module\":\"0x555555554000\",\"offset\":\"0xBA\"}],"
	"\"inner\":[{\"address\":\"0x7FF42D805FD8\",\"hr\":\"0x80131537\","
	"\"message\":\"crashpipe-aot: the amount was not a number\",\"type\":\"System.FormatException\","
	"\"stack\":[{\"ip\":\"0x5555555BE30E\",\"module\":\"0x555555554000\",\"offset\":\"0x5E\",\"name\":\"Program.ParseAmount(String)\"},"
	"{\"ip\":\"0x5555555BE152\",\"module\":\"0x555555554000\",\"offset\":\"0x22\",\"name\":\"Program.Charge(Int32)\"}]}]}}";

static void test_real(void)
{
	struct cp_crashinfo *ci = NULL;
	const char *why = "unset";

	CHECK(cp_crashinfo_parse(real, strlen(real), &ci, &why) == 0);
	if (!ci)
		return;
	CHECK(ci->reason == 1);
	CHECK(ci->thread == 0x61FA);
	CHECK(ci->runtime_base == 0x555555554000);
	CHECK(ci->runtime_version && strcmp(ci->runtime_version, "10.0.12") == 0);
	struct cp_exception *e = ci->exception;
	CHECK(e != NULL);
	if (e) {
		CHECK(strcmp(e->type, "System.InvalidOperationException") == 0);
		CHECK(strcmp(e->message, "crashpipe-aot: card declined for order 42 (\"quoted\" \\ backslash)") == 0);
		CHECK(e->has_hresult && (uint32_t)e->hresult == 0x80131509);
		CHECK(e->has_stack && e->n_stack == 5);
		CHECK(e->stack[0].ip == 0x5555555BE298 && e->stack[0].offset == 0x168 && e->stack[0].has_offset);
		CHECK(strcmp(e->stack[0].display, "Program.Charge(Int32)") == 0);
		CHECK(strcmp(e->stack[3].display, "Program.Main(String[] args)") == 0);
		CHECK(e->stack[4].display == NULL);	/* no name: none made up */
		CHECK(e->n_inners == 1);
		if (e->n_inners == 1) {
			CHECK(strcmp(e->inners[0]->type, "System.FormatException") == 0);
			CHECK(e->inners[0]->n_stack == 2 && e->inners[0]->stack[1].offset == 0x22);
			CHECK(e->inners[0]->n_inners == 0);
		}
	}
	cp_crashinfo_destroy(ci);
}

/* Each must be refused with a reason, none may crash. */
static void test_refused(void)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{}",					/* no version */
		"{\"version\":\"2.0.0\"}",
		"{\"version\":1}",
		"{\"version\":\"1.0.0\",\"runtime_type\":\"2\"}",	/* CoreCLR's, not ours */
		"{\"version\":\"1.0.0\",\"thread\":\"0x1FFFFFFFF\"}",
		"{\"version\":\"1.0.0\",\"thread\":\"17\"}",
		"{\"version\":\"1.0.0\",\"thread\":\"0x\"}",
		"{\"version\":\"1.0.0\",\"thread\":\"0x00000000000000001\"}",
		"{\"version\":\"1.0.0\",\"exception\":{}}",	/* no type */
		"{\"version\":\"1.0.0\",\"exception\":{\"type\":\"T\",\"hr\":\"0x100000000\"}}",
		"{\"version\":\"1.0.0\",\"exception\":{\"type\":\"T\",\"stack\":{}}}",
		"{\"version\":\"1.0.0\",\"exception\":{\"type\":\"T\",\"stack\":[{\"name\":\"x\"}]}}",
		"{\"version\":\"1.0.0\",\"exception\":{\"type\":\"T\",\"stack\":[{\"ip\":\"0x1\",\"name\":7}]}}",
		"{\"version\":\"1.0.0\",\"exception\":{\"type\":\"T\",\"inner\":[1]}}",
		"{\"version\":\"1.0.0\"} x",
		"{\"version\":\"1.0.0\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cp_crashinfo *ci = NULL;
		const char *why = NULL;
		int r = cp_crashinfo_parse(bad[i], strlen(bad[i]), &ci, &why);
		CHECK(r == -EINVAL && why && !ci);
		if (r != -EINVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
	}
	/* a NUL inside, and more than the runtime's buffer holds */
	struct cp_crashinfo *ci = NULL;
	const char *why = NULL;
	CHECK(cp_crashinfo_parse("{\"version\":\"1.0\0\"}", 17, &ci, &why) == -EINVAL && why);
	char *big = malloc(CP_NATIVEAOT_CRASHINFO_MAX + 2);
	if (big) {
		memset(big, ' ', CP_NATIVEAOT_CRASHINFO_MAX + 1);
		memcpy(big, "{\"version\":\"1.0\"}", 17);
		CHECK(cp_crashinfo_parse(big, CP_NATIVEAOT_CRASHINFO_MAX + 1, &ci, &why) == -EINVAL && why);
		CHECK(cp_crashinfo_parse(big, CP_NATIVEAOT_CRASHINFO_MAX, &ci, &why) == 0);
		cp_crashinfo_destroy(ci);
		free(big);
	}
	/* inner exceptions nested deeper than the bound */
	char deep[4096] = "{\"version\":\"1.0.0\",\"exception\":";
	for (int i = 0; i < CP_NATIVEAOT_MAX_DEPTH + 2; i++)
		strcat(deep, "{\"type\":\"T\",\"inner\":[");
	strcat(deep, "{\"type\":\"T\"}");
	for (int i = 0; i < CP_NATIVEAOT_MAX_DEPTH + 2; i++)
		strcat(deep, "]}");
	strcat(deep, "}");
	ci = NULL;
	CHECK(cp_crashinfo_parse(deep, strlen(deep), &ci, &why) == -EINVAL && why && !ci);
}

static void expect_display(const char *symbol, const char *method, char *const *params, size_t n,
			   const char *want)
{
	char *prefixes[] = { "Aot_" };
	char *got = cp_nativeaot_display(symbol, method, params, n, prefixes, 1);
	CHECK(got && strcmp(got, want) == 0);
	if (!got || strcmp(got, want) != 0)
		fprintf(stderr, "  %s: got %s, want %s\n", symbol, got ? got : "NULL", want);
	free(got);
}

static void test_display(void)
{
	char *int32[] = { "int" }, *nint[] = { "nint" }, *none[] = { NULL };
	char *str[] = { "String" }, *arr[] = { "__Array<String>" };
	char *two[] = { "S_P_CoreLib_System_Exception", "byte*" };

	expect_display("Aot_Program__Charge", "Charge", int32, 1, "Program.Charge(Int32)");
	expect_display("Aot_Program__ParseAmount", "ParseAmount", str, 1, "Program.ParseAmount(String)");
	expect_display("Aot_Program__Main", "Main", arr, 1, "Program.Main(String[])");
	expect_display("Aot_Program__WorkerEntry", "WorkerEntry", none, 0, "Program.WorkerEntry()");
	expect_display("S_P_CoreLib_System_Threading_Thread__StartThread", "StartThread", nint, 1,
		       "System.Threading.Thread.StartThread(IntPtr)");
	expect_display("S_P_CoreLib_System_Runtime_EH__RhThrowEx", "RhThrowEx", two, 2,
		       "System.Runtime.EH.RhThrowEx(Exception, Byte*)");
	/* the symbol alone: no parameters known */
	expect_display("Aot_Program__Charge", NULL, NULL, 0, "Program.Charge");
	expect_display("S_P_CoreLib_System_Collections_Generic_List_1<Int32>__Add", NULL, NULL, 0,
		       "System.Collections.Generic.List`1<Int32>.Add");
	/* assembly named like its namespace */
	expect_display("System_Linq_System_Linq_Enumerable__Count", NULL, NULL, 0, "System.Linq.Enumerable.Count");
	/* a constructor: the method's own name, sanitized in the symbol */
	expect_display("Aot_Program__cctor", ".cctor", none, 0, "Program..cctor()");
	/* not managed methods */
	CHECK(cp_nativeaot_display("RhpThrowEx", NULL, NULL, 0, NULL, 0) == NULL);
	CHECK(cp_nativeaot_display("__managed__Main", NULL, NULL, 0, NULL, 0) == NULL);
	CHECK(cp_nativeaot_display("UnixEvent::Wait(unsigned int)", NULL, NULL, 0, NULL, 0) == NULL);
	CHECK(cp_nativeaot_display("", NULL, NULL, 0, NULL, 0) == NULL);
	/* hostile: unbalanced and deep generics do not crash */
	free(cp_nativeaot_display("A_B<<<<<<<<<<<<<<<<<<<<<<<<__C", NULL, NULL, 0, NULL, 0));
	free(cp_nativeaot_display("A_B<C<D<E<F<G<H<I<J<K<L<M>>>>>>>>>>>__C", NULL, NULL, 0, NULL, 0));
	free(cp_nativeaot_display("A__>>>>", NULL, NULL, 0, NULL, 0));
}

int main(void)
{
	test_real();
	test_refused();
	test_display();
	return UNIT_DONE();
}
