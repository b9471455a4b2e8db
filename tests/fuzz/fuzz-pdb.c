/*
 * fuzz-pdb.c - libFuzzer target for the portable PDB reader (src/pdb.c): the bytes are a
 * PDB file (or, starting with "MZ", an assembly whose embedded PDB is inflated), which the
 * crashed user controls.
 *
 * Every method's sequence points are looked up at a spread of IL offsets; a line found is
 * below 2^29 and its document name a NUL-terminated string. Seeds
 * (tests/fuzz/corpus/pdb/): the test app's Crasher.pdb from tests/dotnet/build.sh and the
 * Crasher.dll built with its PDB embedded.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecma335.h"
#include "pdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(struct cp_pdb *pdb, uint32_t n_methods)
{
	static const uint32_t offsets[] = { 0, 1, 2, 7, 16, 40, 81, 300, 0xffff, 0xffffffff };
	for (uint32_t m = 1; m <= n_methods + 1 && m <= 2048; m++)
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			const char *doc, *why;
			uint32_t line;
			if (cp_pdb_lookup(pdb, cp_md_token(CP_MD_METHODDEF, m), offsets[i], &doc, &line, &why) == 0 &&
			    (line >= 0x20000000 || strlen(doc) > 4096))
				abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_pdb *pdb = NULL;
	const char *why;
	struct cp_md md;

	if (size >= 2 && data[0] == 'M' && data[1] == 'Z') {
		struct cp_pe pe;
		struct cp_pe_debug d;
		if (cp_pe_parse(data, size, &pe, &why) < 0 ||
		    cp_pe_debug_find(&pe, CP_PE_DEBUG_EMBEDDED_PDB, &d) < 0 ||
		    cp_pdb_open_embedded(&d, &pdb, &why) < 0)
			return 0;
	} else {
		uint8_t *copy = malloc(size ? size : 1);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		if (cp_pdb_open(copy, size, &pdb, &why) < 0)
			return 0;
	}
	/* the method count from the PDB's own view of the assembly's MethodDef table */
	uint32_t n = 0;
	if (cp_md_open(data, size, &md, &why) == 0)
		n = md.pdb_rows[CP_MD_METHODDEF];
	lookups(pdb, n ? n : 64);
	(void) cp_pdb_id(pdb);
	cp_pdb_destroy(pdb);
	return 0;
}
