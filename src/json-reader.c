/*
 * json-reader.c - the strict JSON reader under the report's: a bounded parse (no NUL, the
 * nesting and value bounds checked before cJSON runs, exactly one value, no member named
 * twice) into an arena, and the typed getters that refuse a member with a reason naming
 * it by its path ("threads[3].frames[0].line: ..."). With report-from-json.c the only
 * user of cJSON.
 *
 * Nothing read is trusted: it is a file in a spool anyone may have planted, or JSON a
 * child wrote. Numbers are doubles in cJSON: each one is checked finite, integral and in
 * range before it becomes an integer (a cast of one that is not is undefined behaviour).
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json-reader.h"
#include "report.h"

/* The reason of the last refusal: *why points here, so it outlives the reader. */
static __thread char why_buf[256];

void cp_jr_push(struct cp_jr *rd, const char *name, long index)
{
	if (rd->depth < CP_JR_MAX_PATH) {
		rd->path[rd->depth].name = name;
		rd->path[rd->depth].index = index;
	}
	rd->depth++;
}

void cp_jr_pop(struct cp_jr *rd)
{
	if (rd->depth > 0)
		rd->depth--;
}

void cp_jr_index(struct cp_jr *rd, long index)
{
	if (rd->depth > 0 && rd->depth <= CP_JR_MAX_PATH)
		rd->path[rd->depth - 1].index = index;
}

int cp_jr_bad(struct cp_jr *rd, const char *key, const char *what)
{
	char *buf = why_buf;
	size_t size = sizeof(why_buf), n = 0;
	unsigned depth = rd->depth < CP_JR_MAX_PATH ? rd->depth : CP_JR_MAX_PATH;

#define APPEND(...) do { \
		if (n < size) { \
			int _k = snprintf(buf + n, size - n, __VA_ARGS__); \
			n += _k > 0 ? (size_t)_k : 0; \
		} \
	} while (0)
	if (depth == 0)
		APPEND("report");
	for (unsigned i = 0; i < depth; i++) {
		APPEND("%s%s", i ? "." : "", rd->path[i].name);
		if (rd->path[i].index >= 0)
			APPEND("[%ld]", rd->path[i].index);
	}
	APPEND("%s%s: %s", key ? "." : "", key ? key : "", what);
#undef APPEND
	*rd->why = buf;
	return -EINVAL;
}

/* The member @key of object @o, NULL when absent or JSON null. */
const cJSON *cp_jr_member(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNull(v) ? NULL : v;
}

int cp_jr_str(struct cp_jr *rd, const cJSON *o, const char *key, char **ret)
{
	const cJSON *v = cp_jr_member(o, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return cp_jr_bad(rd, key, "not a string");
	*ret = strdup(v->valuestring);
	return *ret ? 0 : -ENOMEM;
}

/* An integral number from @lo to @hi (both exactly representable as doubles). */
int cp_jr_num(struct cp_jr *rd, const cJSON *o, const char *key, double lo, double hi, const char *range,
	      double *ret, bool *has)
{
	const cJSON *v = cp_jr_member(o, key);

	*has = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return cp_jr_bad(rd, key, "not a number");
	double d = v->valuedouble;
	if (!isfinite(d) || d != trunc(d) || d < lo || d > hi)
		return cp_jr_bad(rd, key, range);
	*ret = d;
	*has = true;
	return 0;
}

/* A hex string as the writer makes them: "0x" and 1 to 16 hex digits, at most @bits wide. */
int cp_jr_hex(struct cp_jr *rd, const cJSON *o, const char *key, unsigned bits, uint64_t *ret, bool *has)
{
	const cJSON *v = cp_jr_member(o, key);
	uint64_t x = 0;
	size_t n = 0;

	*has = false;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return cp_jr_bad(rd, key, "not a hex string");
	const char *s = v->valuestring;
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return cp_jr_bad(rd, key, "not a hex string (0x...)");
	for (s += 2; *s; s++, n++) {
		int dig;
		if (*s >= '0' && *s <= '9')
			dig = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			dig = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			dig = *s - 'A' + 10;
		else
			return cp_jr_bad(rd, key, "not a hex string (0x...)");
		if (n >= 16 || (bits < 64 && (x >> (bits - 4)) != 0))
			return cp_jr_bad(rd, key, bits == 32 ? "hex number wider than 32 bits" : "hex number wider than 64 bits");
		x = x << 4 | (uint64_t)dig;
	}
	if (n == 0)
		return cp_jr_bad(rd, key, "not a hex string (0x...)");
	*ret = x;
	*has = true;
	return 0;
}

int cp_jr_bool(struct cp_jr *rd, const cJSON *o, const char *key, bool *ret)
{
	const cJSON *v = cp_jr_member(o, key);

	*ret = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return cp_jr_bad(rd, key, "not true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* The array @key of @o, at most @max long: *@ret NULL when absent or null. */
int cp_jr_array(struct cp_jr *rd, const cJSON *o, const char *key, size_t max, const char *too_many,
		const cJSON **ret)
{
	const cJSON *v = cp_jr_member(o, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return cp_jr_bad(rd, key, "not an array");
	if ((size_t)cJSON_GetArraySize(v) > max)
		return cp_jr_bad(rd, key, too_many);
	*ret = v;
	return 0;
}

/* Before cJSON sees the text: its nesting (cJSON recurses once per level), the number of
 * values it would allocate a node for, and no NUL byte. A value is counted at each '[', '{'
 * and ',' outside strings, one more than there are. */
static int prescan(const char *json, size_t len, const char **why)
{
	size_t depth = 0, values = 1;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = json[i];
		if (c == '\0') {
			*why = "NUL byte in the JSON text";
			return -EINVAL;
		}
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (++depth > CP_REPORT_MAX_DEPTH) {
				*why = "JSON nested deeper than 64 levels";
				return -EINVAL;
			}
			/* fallthrough */
		case ',':
			if (++values > CP_REPORT_MAX_VALUES) {
				*why = "more than 2000000 JSON values";
				return -EINVAL;
			}
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No object names a member twice: readers differ on which one counts (cJSON takes the
 * first, jq the last), and a forger would pick the one each tool shows. Recursion is
 * bounded by the prescan's depth. */
static int no_duplicate_keys(const cJSON *node, const char **why)
{
	const cJSON *c;
	size_t n = 0, i = 0;

	for (c = node->child; c; c = c->next)
		n++;
	if (cJSON_IsObject(node) && n > 1) {
		_cleanup_free_ const char **keys = malloc(n * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		for (c = node->child; c; c = c->next)
			keys[i++] = c->string ? c->string : "";
		qsort(keys, n, sizeof(*keys), cmp_key);
		for (i = 1; i < n; i++)
			if (strcmp(keys[i - 1], keys[i]) == 0) {
				*why = "a JSON object names a member twice";
				return -EINVAL;
			}
	}
	for (c = node->child; c; c = c->next) {
		int r = no_duplicate_keys(c, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The tree cJSON parses into lives in an arena of 1 MiB chunks, freed in one go: a report
 * of a hundred threads is ~100,000 nodes and strings, and a malloc() and free() for each
 * cost the root parent of `crashpipe handle` as much as the parse itself. The arena is
 * cJSON's allocator only while cJSON_ParseWithLengthOpts() runs (the hooks are global;
 * crashpipe has one thread); the tree is then only read, never freed node by node. It
 * holds what the nodes hold, plus at most a chunk's tail per chunk: the bounds of
 * CP_REPORT_MAX_SIZE and CP_REPORT_MAX_VALUES (prescan) hold for it as for malloc().
 */
struct cp_jr_arena {
	struct cp_jr_arena *next;
	size_t used, size;
	max_align_t data[];
};

#define ARENA_CHUNK (1u << 20)

static struct cp_jr_arena *parse_arena;

static void *arena_alloc(size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct cp_jr_arena *c = parse_arena;

	if (n > SIZE_MAX - align - sizeof(*c))
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (!(c = malloc(sizeof(*c) + size)))
			return NULL;
		c->next = parse_arena;
		c->used = 0;
		c->size = size;
		parse_arena = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(void *p)
{
	(void) p;	/* all at once, in cp_jr_release() */
}

void cp_jr_release(struct cp_jr_arena **head)
{
	while (*head) {
		struct cp_jr_arena *next = (*head)->next;
		free(*head);
		*head = next;
	}
}

/* The tree of @json, in the arena *@arena_ret (freed with cp_jr_release(), never with
 * cJSON_Delete()). */
static cJSON *parse_tree(const char *json, size_t len, const char **end, struct cp_jr_arena **arena_ret)
{
	cJSON_Hooks hooks = { .malloc_fn = arena_alloc, .free_fn = arena_free };

	parse_arena = NULL;
	cJSON_InitHooks(&hooks);
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, end, false);
	cJSON_InitHooks(NULL);
	*arena_ret = parse_arena;
	parse_arena = NULL;
	return root;
}

int cp_jr_parse(const char *json, size_t len, const cJSON **root_ret, struct cp_jr_arena **arena_ret,
		const char **why)
{
	const char *end = NULL;
	int r;

	*why = NULL;
	*arena_ret = NULL;
	r = prescan(json, len, why);
	if (r < 0)
		return r;
	const cJSON *root = parse_tree(json, len, &end, arena_ret);
	if (!root) {
		cp_jr_release(arena_ret);
		*why = "not JSON";
		return -EINVAL;
	}
	/* Exactly one value: a second one after it is what a forger appends. */
	for (size_t off = end - json; off < len; off++)
		if (json[off] != ' ' && json[off] != '\t' && json[off] != '\r' && json[off] != '\n') {
			*why = "more than one JSON value (or text after it)";
			goto fail;
		}
	if (!cJSON_IsObject(root)) {
		*why = "not a JSON object";
		goto fail;
	}
	r = no_duplicate_keys(root, why);
	if (r < 0) {
		cp_jr_release(arena_ret);
		return r;
	}
	*root_ret = root;
	return 0;
fail:
	cp_jr_release(arena_ret);
	return -EINVAL;
}

bool cp_jr_has_string(const char *json, size_t len, const char *key, const char *value)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *v = root ? cJSON_GetObjectItemCaseSensitive(root, key) : NULL;
	bool ok = cJSON_IsString(v) && strcmp(v->valuestring, value) == 0;

	cJSON_Delete(root);
	return ok;
}
