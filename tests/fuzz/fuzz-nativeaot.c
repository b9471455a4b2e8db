/*
 * fuzz-nativeaot.c - libFuzzer target for the NativeAOT crash-info parser and the C# names
 * of its symbols (src/nativeaot.c). The bytes are what the crashed process wrote into its
 * runtime's g_CrashInfoBuffer, which crashpipe reads from the core: anything at all, at most
 * the buffer's 8192 bytes. Every frame name the parser keeps is also fed to
 * cp_nativeaot_display() as a symbol, with and without parameter types.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nativeaot.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void names(const struct cp_exception *e, int depth)
{
	char *params[] = { "int", "__Array<String>", "S_P_CoreLib_System_Collections_Generic_List_1<Int32>*" };
	char *prefixes[] = { "Aot_" };

	for (size_t i = 0; i < e->n_stack; i++) {
		const char *s = e->stack[i].display;
		if (!s)
			continue;
		free(cp_nativeaot_display(s, NULL, NULL, 0, NULL, 0));
		free(cp_nativeaot_display(s, "Charge", params, 3, prefixes, 1));
	}
	for (size_t i = 0; i < e->n_inners && depth < CP_NATIVEAOT_MAX_DEPTH; i++)
		names(e->inners[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_crashinfo *ci = NULL;
	const char *why = NULL;

	if (size > CP_NATIVEAOT_CRASHINFO_MAX + 16)
		return -1;
	int r = cp_crashinfo_parse((const char *)data, size, &ci, &why);
	if (r == -EINVAL && !why)
		abort();	/* every refusal says why */
	if (r == 0) {
		if (ci->exception)
			names(ci->exception, 0);
		cp_crashinfo_destroy(ci);
	}
	/* the bytes as one symbol, too */
	char *sym = strndup((const char *)data, size < 512 ? size : 512);
	if (sym) {
		free(cp_nativeaot_display(sym, NULL, NULL, 0, NULL, 0));
		free(sym);
	}
	return 0;
}
