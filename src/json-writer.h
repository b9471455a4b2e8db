#ifndef CP_JSON_WRITER_H
#define CP_JSON_WRITER_H

/*
 * json-writer - JSON text for reports, written straight into one growing buffer, in
 * exactly the form cJSON_Print() gives (tabs, "key":<tab>value, ", " between array
 * elements, numbers as cJSON prints them): a report of a hundred threads has tens of thousands of values, and a
 * cJSON tree of them cost a malloc for every node, key and string, three times the time of
 * the text itself. The text is an interface too; tests/unit/test-report-text.c holds it
 * to cJSON_Print()'s. Start from a zeroed struct cp_jw.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct cp_jw {
	char *buf;
	size_t len, cap;
	unsigned depth;		/* open objects and arrays */
	bool first;		/* nothing yet in the innermost one */
	bool in_array;		/* the innermost one is an array */
	bool failed;		/* out of memory: everything after is dropped */
	uint64_t arrays;	/* bit i: level i + 1 is an array */
};

/* Each value below goes into the innermost open object under @key, or into the innermost
 * open array (@key ignored). After an allocation failure everything is dropped and
 * cp_jw_finish() fails. */
void cp_jw_open(struct cp_jw *w, const char *key, bool array);	/* an object or an array */
void cp_jw_close(struct cp_jw *w);
void cp_jw_str(struct cp_jw *w, const char *key, const char *s);	/* NULL: null */
void cp_jw_null(struct cp_jw *w, const char *key);
void cp_jw_bool(struct cp_jw *w, const char *key, bool v);
void cp_jw_hex(struct cp_jw *w, const char *key, uint64_t v);	/* "0x..." */
void cp_jw_num(struct cp_jw *w, const char *key, double d);
void cp_jw_num_or_null(struct cp_jw *w, const char *key, bool has, double v);

/* The text, NUL-terminated, owned by the caller; NULL (and the buffer freed) when memory
 * ran out or the objects and arrays opened were not all closed. */
char *cp_jw_finish(struct cp_jw *w);

#endif
