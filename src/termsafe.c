/*
 * termsafe.c - strings made safe for a terminal (see termsafe.h for what is escaped).
 *
 * A terminal acts on C0 bytes, on the 8-bit C1 controls (0x9b is CSI on many terminals,
 * and some decode U+009B the same way) and renders bidi overrides by reordering text: a
 * report's function name or a spool file's name could otherwise rewrite the screen or make
 * "exe: /usr/bin/evil" read as something else. The escaped forms are plain ASCII.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "termsafe.h"

bool cp_termsafe_escaped_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t cp_utf8_decode(const unsigned char *s, uint32_t *cp_ret)
{
	unsigned c = s[0];
	uint32_t cp;
	size_t n;

	if (c < 0x80) {
		*cp_ret = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		/* A NUL ends the string here too: (0 & 0xc0) != 0x80. */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	*cp_ret = cp;
	return n;
}

/* Append the safe form of @s to @out (which has room for 6 bytes per input byte), or only
 * count it when @out is NULL. Returns its length. */
static size_t escape(const char *s, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;
	char tmp[8];

	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		size_t n = cp_utf8_decode(p, &cp), k = 0;

		if (n == 0) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[*p >> 4];
			tmp[k++] = hex[*p & 15];
			n = 1;
		} else if (cp == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = '\\';
		} else if (cp == '\n' || cp == '\t' || cp == '\r') {
			tmp[k++] = '\\';
			tmp[k++] = cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r';
		} else if (cp < 0x20 || cp == 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[cp >> 4];
			tmp[k++] = hex[cp & 15];
		} else if (cp_termsafe_escaped_cp(cp)) {
			tmp[k++] = '\\';
			tmp[k++] = 'u';
			for (int shift = 12; shift >= 0; shift -= 4)
				tmp[k++] = hex[(cp >> shift) & 15];
		} else {
			if (out)
				memcpy(out + len, p, n);
			len += n;
			p += n;
			continue;
		}
		if (out)
			memcpy(out + len, tmp, k);
		len += k;
		p += n;
	}
	return len;
}

char *cp_termsafe(const char *s)
{
	if (!s)
		return NULL;
	size_t len = escape(s, NULL);
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	escape(s, out);
	out[len] = '\0';
	return out;
}

void cp_termsafe_fputs(const char *s, FILE *out)
{
	char *safe = cp_termsafe(s);

	/* Without memory for the copy, a placeholder: never the raw bytes. */
	fputs(safe ? safe : "?", out);
	free(safe);
}
