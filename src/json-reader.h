#ifndef CP_JSON_READER_H
#define CP_JSON_READER_H

/*
 * json-reader - the strict JSON reader the report reader is built on (json-reader.c):
 * a bounded parse, and getters for one member each that accept it absent, null, or of
 * its type and range, and otherwise refuse it with a reason that names it by its path.
 */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CP_JR_MAX_PATH 40

/* Where the reader is, for the reasons it gives: a stack of "name" or "name[index]". */
struct cp_jr {
	const char **why;
	unsigned depth;
	struct {
		const char *name;
		long index;		/* -1: none */
	} path[CP_JR_MAX_PATH];
};

void cp_jr_push(struct cp_jr *rd, const char *name, long index);
void cp_jr_pop(struct cp_jr *rd);
/* Set the index of the innermost path element. */
void cp_jr_index(struct cp_jr *rd, long index);

/* Refuse: *rd->why becomes "PATH.KEY: WHAT" (a static buffer), returns -EINVAL. */
int cp_jr_bad(struct cp_jr *rd, const char *key, const char *what);

/* The member @key of object @o, NULL when absent or JSON null. */
const cJSON *cp_jr_member(const cJSON *o, const char *key);

/* Each getter returns 0 (the member absent or null: *ret NULL or *has false), -EINVAL
 * through cp_jr_bad(), or -ENOMEM. */
int cp_jr_str(struct cp_jr *rd, const cJSON *o, const char *key, char **ret);
/* An integral number from @lo to @hi (both exactly representable as doubles); @range is
 * the reason for one outside. */
int cp_jr_num(struct cp_jr *rd, const cJSON *o, const char *key, double lo, double hi, const char *range,
	      double *ret, bool *has);
/* "0x" and 1 to 16 hex digits, at most @bits (32 or 64) wide. */
int cp_jr_hex(struct cp_jr *rd, const cJSON *o, const char *key, unsigned bits, uint64_t *ret, bool *has);
int cp_jr_bool(struct cp_jr *rd, const cJSON *o, const char *key, bool *ret);
/* An array of at most @max elements (@too_many the reason for more); *ret NULL when the
 * member is absent or null. */
int cp_jr_array(struct cp_jr *rd, const cJSON *o, const char *key, size_t max, const char *too_many,
		const cJSON **ret);

/* The arena a tree lives in (json-reader.c). */
struct cp_jr_arena;
void cp_jr_release(struct cp_jr_arena **arena);

/* Parse @len bytes as exactly one JSON object (only whitespace after it) with no NUL byte,
 * nested at most CP_REPORT_MAX_DEPTH deep, of at most CP_REPORT_MAX_VALUES values, no
 * object naming a member twice. The tree lives in *@arena_ret (cp_jr_release()). Returns 0
 * or -errno; -EINVAL with a static reason in *@why. */
int cp_jr_parse(const char *json, size_t len, const cJSON **root_ret, struct cp_jr_arena **arena_ret,
		const char **why);

/* Whether @json is an object whose member @key is the string @value (no bounds: for text
 * this process made or already bounded). */
bool cp_jr_has_string(const char *json, size_t len, const char *key, const char *value);

#endif
