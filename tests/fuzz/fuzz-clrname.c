/*
 * fuzz-clrname.c - libFuzzer target for frame display names (src/clrname.c), both of its
 * inputs untrusted: the first byte chooses
 *   'D'    the rest is a method name as the DAC's process sends it (cp_clrname_from_dac);
 *   other  the rest is an ECMA-335 metadata root (as an assembly's CLI header points to it,
 *          which the crashed user wrote): every method it holds is named (at most
 *          MAX_METHODS), with ecma335's strict reader under it.
 * A display made is never longer than CP_CLRNAME_MAX.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clrname.h"
#include "ecma335.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_METHODS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 'D') {
		char *s = malloc(size);
		if (!s)
			return 0;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		char *d = cp_clrname_from_dac(s);
		if (d && strlen(d) > CP_CLRNAME_MAX)
			abort();
		free(d);
		free(s);
		return 0;
	}
	struct cp_md md;
	const char *why;
	if (cp_md_open(data + 1, size - 1, &md, &why) < 0)
		return 0;
	uint32_t n = cp_md_rows(&md, CP_MD_METHODDEF);
	for (uint32_t i = 1; i <= n && i <= MAX_METHODS; i++) {
		char *d = NULL;
		unsigned flags;
		if (cp_clrname_format(&md, cp_md_token(CP_MD_METHODDEF, i), &d, &flags) == 0 &&
		    strlen(d) > CP_CLRNAME_MAX)
			abort();
		free(d);
	}
	return 0;
}
