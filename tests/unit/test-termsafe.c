/*
 * test-termsafe.c - the terminal sanitiser, one class of character at a time: what
 * passes as it is, and the escaped form of what must never reach a terminal.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "termsafe.h"
#include "unit.h"

static int same(const char *in, const char *want)
{
	char *got = cp_termsafe(in);
	int ok = got && strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "termsafe(\"%s\") = \"%s\", want \"%s\"\n", in, got ? got : "(null)", want);
	free(got);
	return ok;
}

/* The output holds nothing but printable ASCII and UTF-8 of other code points. */
static int clean(const char *in)
{
	char *got = cp_termsafe(in);
	int ok = got != NULL;
	for (const unsigned char *p = (const unsigned char *)got; ok && *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && *p < 0xc2) || *p > 0xf4)
			ok = 0;
	free(got);
	return ok;
}

int main(void)
{
	/* passes as it is */
	CHECK(same("", ""));
	CHECK(same("main+0x1f (a.c:12)", "main+0x1f (a.c:12)"));
	CHECK(same("caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x92\xa5", "caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x92\xa5"));
	CHECK(same("\xc2\xa0", "\xc2\xa0"));		/* U+00A0: just past C1 */
	CHECK(same("\xe2\x80\x8d", "\xe2\x80\x8d"));	/* U+200D ZWJ, not a bidi control */
	CHECK(same("\xe2\x81\xa5", "\xe2\x81\xa5"));	/* U+2065: between the isolates, unassigned */
	CHECK(cp_termsafe(NULL) == NULL);

	/* backslash: so every escape in the output is one termsafe made */
	CHECK(same("a\\x9b", "a\\\\x9b"));

	/* C0 and DEL */
	CHECK(same("a\nb\tc\rd", "a\\nb\\tc\\rd"));
	CHECK(same("\x1b[2J\x07", "\\x1b[2J\\x07"));
	CHECK(same("\x01\x1f\x7f", "\\x01\\x1f\\x7f"));

	/* C1 as raw bytes (invalid UTF-8 on their own) */
	CHECK(same("\x9b" "31m", "\\x9b31m"));
	CHECK(same("\x9d" "0;t\x07", "\\x9d0;t\\x07"));
	CHECK(same("\x80\x9f\x85", "\\x80\\x9f\\x85"));

	/* C1 as UTF-8: U+0080..U+009F */
	CHECK(same("\xc2\x9b" "31m", "\\u009b31m"));	/* CSI */
	CHECK(same("\xc2\x9d" "8;;x", "\\u009d8;;x"));	/* OSC */
	CHECK(same("\xc2\x80\xc2\x85\xc2\x9f", "\\u0080\\u0085\\u009f"));

	/* invalid UTF-8 */
	CHECK(same("\xff\xfe", "\\xff\\xfe"));
	CHECK(same("\xc0\x80", "\\xc0\\x80"));		/* overlong NUL */
	CHECK(same("\xe0\x80\xaf", "\\xe0\\x80\\xaf"));	/* overlong '/' */
	CHECK(same("\xed\xa0\x80", "\\xed\\xa0\\x80"));	/* a surrogate */
	CHECK(same("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"));	/* past U+10FFFF */
	CHECK(same("\xe2\x80", "\\xe2\\x80"));		/* cut short at the end */
	CHECK(same("\xc3" "A", "\\xc3" "A"));		/* a lead byte without its continuation */

	/* bidi controls */
	CHECK(same("\xe2\x80\xae" "cod.exe", "\\u202ecod.exe"));	/* RLO */
	CHECK(same("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
		   "\\u202a\\u202b\\u202c\\u202d"));
	CHECK(same("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
		   "\\u2066\\u2067\\u2068\\u2069"));	/* isolates */
	CHECK(same("\xe2\x80\x8e\xe2\x80\x8f", "\\u200e\\u200f"));	/* LRM, RLM */
	CHECK(same("\xd8\x9c", "\\u061c"));		/* ALM */
	CHECK(same("\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029"));	/* line/paragraph separators */

	/* Every single byte and every code point up to U+FFFF alone: never anything raw. */
	for (unsigned b = 1; b < 256; b++) {
		char s[2] = { (char)b, 0 };
		CHECK(clean(s) || (b >= 0x20 && b < 0x7f));
	}
	for (uint32_t cp = 0x80; cp < 0x10000; cp++) {
		char s[4];
		if (cp >= 0xd800 && cp < 0xe000)
			continue;
		if (cp < 0x800) {
			s[0] = (char)(0xc0 | cp >> 6);
			s[1] = (char)(0x80 | (cp & 0x3f));
			s[2] = 0;
		} else {
			s[0] = (char)(0xe0 | cp >> 12);
			s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[2] = (char)(0x80 | (cp & 0x3f));
			s[3] = 0;
		}
		char *got = cp_termsafe(s);
		/* escaped exactly when cp_termsafe_escaped_cp() says, and then as \uNNNN */
		char want[8];
		snprintf(want, sizeof(want), "\\u%04x", (unsigned)cp);
		CHECK(got && (cp_termsafe_escaped_cp(cp) ? strcmp(got, want) == 0 : strcmp(got, s) == 0));
		free(got);
	}
	return UNIT_DONE();
}
