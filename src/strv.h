#ifndef CP_STRV_H
#define CP_STRV_H

/*
 * strv.h - a growable list of strings (the core's problems, the report's notes).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Append a printf-formatted string to *@v (of *@n); on ENOMEM the string is dropped. */
static inline void cp_strv_append_va(char ***v, size_t *n, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return;
	char **p = realloc(*v, (*n + 1) * sizeof(*p));
	if (!p) {
		free(s);
		return;
	}
	*v = p;
	p[(*n)++] = s;
}

#endif
