/*
 * json-writer.c - JSON text in exactly cJSON_Print()'s form, written straight into one
 * growing buffer (json-writer.h says why). Knows nothing of reports: report-to-json.c
 * says what goes in.
 */
#include "config.h"

#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-writer.h"
#include "termsafe.h"

static bool jw_reserve(struct cp_jw *w, size_t n)
{
	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			w->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *b = realloc(w->buf, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void jw_raw(struct cp_jw *w, const char *s, size_t n)
{
	if (!jw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_char(struct cp_jw *w, char c)
{
	if (!jw_reserve(w, 1))
		return;
	w->buf[w->len++] = c;
}

static void jw_tabs(struct cp_jw *w, unsigned n)
{
	if (!jw_reserve(w, n))
		return;
	memset(w->buf + w->len, '\t', n);
	w->len += n;
}

/* A string as cJSON escapes it, with every byte that is not valid UTF-8 made U+FFFD
 * (strings from a core or /proc are whatever bytes the crashed user chose). NULL is "". */
static void jw_string(struct cp_jw *w, const char *s)
{
	jw_char(w, '"');
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
		unsigned c = *p;
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = cp_utf8_decode(p, &cp);
			if (n) {
				jw_raw(w, (const char *)p, n);
				p += n;
			} else {
				jw_raw(w, "\xef\xbf\xbd", 3);
				p++;
			}
			continue;
		}
		p++;
		switch (c) {
		case '"': jw_raw(w, "\\\"", 2); break;
		case '\\': jw_raw(w, "\\\\", 2); break;
		case '\b': jw_raw(w, "\\b", 2); break;
		case '\f': jw_raw(w, "\\f", 2); break;
		case '\n': jw_raw(w, "\\n", 2); break;
		case '\r': jw_raw(w, "\\r", 2); break;
		case '\t': jw_raw(w, "\\t", 2); break;
		default:
			if (c < 0x20) {
				char esc[8];
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				jw_raw(w, esc, 6);
			} else {
				jw_char(w, (char)c);
			}
		}
	}
	jw_char(w, '"');
}

/* Before a value: the separator from the one before it and, in an object, the key. */
static void jw_key(struct cp_jw *w, const char *key)
{
	if (w->in_array) {
		if (!w->first)
			jw_raw(w, ", ", 2);
	} else if (w->depth > 0) {
		jw_raw(w, w->first ? "\n" : ",\n", w->first ? 1 : 2);
		jw_tabs(w, w->depth);
		jw_string(w, key);
		jw_raw(w, ":\t", 2);
	}
	w->first = false;
}

void cp_jw_open(struct cp_jw *w, const char *key, bool array)
{
	jw_key(w, key);
	jw_char(w, array ? '[' : '{');
	if (w->depth >= 63) {
		w->failed = true;
		return;
	}
	if (array)
		w->arrays |= UINT64_C(1) << w->depth;
	else
		w->arrays &= ~(UINT64_C(1) << w->depth);
	w->depth++;
	w->first = true;
	w->in_array = array;
}

void cp_jw_close(struct cp_jw *w)
{
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	w->depth--;
	bool array = w->arrays >> w->depth & 1;
	if (!array) {
		jw_char(w, '\n');
		jw_tabs(w, w->depth);
	}
	jw_char(w, array ? ']' : '}');
	w->first = false;
	w->in_array = w->depth > 0 && (w->arrays >> (w->depth - 1) & 1);
}

void cp_jw_str(struct cp_jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	if (s)
		jw_string(w, s);
	else
		jw_raw(w, "null", 4);
}

void cp_jw_null(struct cp_jw *w, const char *key)
{
	cp_jw_str(w, key, NULL);
}

void cp_jw_bool(struct cp_jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void cp_jw_hex(struct cp_jw *w, const char *key, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "\"0x%" PRIx64 "\"", v);
	jw_key(w, key);
	jw_raw(w, buf, (size_t)n);
}

/* A number as cJSON prints one: an int as %d, else the shortest of %1.15g and %1.17g that
 * reads back as the same double. */
void cp_jw_num(struct cp_jw *w, const char *key, double d)
{
	char buf[32];
	int n;

	if (isnan(d) || isinf(d)) {
		n = snprintf(buf, sizeof(buf), "null");
	} else {
		int i = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
		if (d == (double)i) {
			n = snprintf(buf, sizeof(buf), "%d", i);
		} else {
			n = snprintf(buf, sizeof(buf), "%1.15g", d);
			double back = strtod(buf, NULL);
			double big = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
			if (!(fabs(back - d) <= big * DBL_EPSILON))
				n = snprintf(buf, sizeof(buf), "%1.17g", d);
		}
	}
	jw_key(w, key);
	jw_raw(w, buf, (size_t)n);
}

void cp_jw_num_or_null(struct cp_jw *w, const char *key, bool has, double v)
{
	if (has)
		cp_jw_num(w, key, v);
	else
		cp_jw_null(w, key);
}

char *cp_jw_finish(struct cp_jw *w)
{
	if (w->failed || w->depth != 0 || !jw_reserve(w, 0)) {
		free(w->buf);
		w->buf = NULL;
		return NULL;
	}
	w->buf[w->len] = '\0';
	return w->buf;
}
