/*
 * nativeaot.c - .NET applications compiled ahead of time (PublishAot).
 *
 * A NativeAOT executable holds the runtime and every managed method as machine code; there
 * is no libcoreclr.so and no DAC. What marks it is the runtime's debug header, the data
 * symbol DotNetRuntimeDebugHeader its executable exports for diagnostic tools (dotnet/runtime
 * src/coreclr/nativeaot/Runtime/DebugHeader.cpp): the cookie "DNDH", a major and a minor
 * version (3 in .NET 8, 4 in .NET 9, 5 in .NET 10), flags (bit 0: 8-byte pointers, bit 1:
 * big endian), 4 bytes of padding, then a pointer to the type table and one to the globals
 * table: pairs {const char *name, void *address} ending with a NULL name.
 *
 * On an unhandled exception, Environment.FailFast or an internal failure the runtime writes
 * a JSON text into its global g_CrashInfoBuffer (8192 bytes) before it aborts
 * (System.Private.CoreLib src/System/Runtime/CrashInfo.cs). SOS's crashinfo command finds
 * it through that globals table (dotnet/diagnostics
 * src/Microsoft.Diagnostics.DebugServices.Implementation/CrashInfoService.cs); so do we,
 * reading the crashed process's memory through the target: every pointer and byte there is
 * the crashed program's, and the JSON is parsed strictly, within the buffer's size.
 *
 * The frames: ILCompiler names a method's symbol <assembly>_<namespace>_<type>__<method>,
 * every character that is not a letter or a digit turned into '_', System.Private.* shortened
 * to S_P_ (dotnet/runtime src/coreclr/tools/Common/Compiler/NativeAotNameMangler.cs). The
 * mangling loses where the assembly ends and which '_' was a '.', so the C# name is taken,
 * in this order, from the runtime's own name for that method in the crash info, from the
 * DWARF of the .dbg file beside the executable (modules.c: the method's own name and its
 * parameter types), or from the symbol alone.
 *
 * cJSON parses the crash info here, the one other user beside report.c: its reader is for
 * crashpipe's schema, this text is the runtime's.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "core.h"
#include "modules.h"
#include "nativeaot.h"
#include "report.h"
#include "target.h"

#define DEBUG_HEADER_SYMBOL "DotNetRuntimeDebugHeader"
#define CRASHINFO_GLOBAL "g_CrashInfoBuffer"
#define MAX_GLOBALS 16		/* the runtime has 6 (.NET 8) or 8 (.NET 9+) slots */
#define MAX_GLOBAL_NAME 32	/* SOS reads at most 32 characters of a name */
#define MAX_INNERS 64
#define MAX_PREFIXES 64

/* ---- the crash-info JSON ---- */

void cp_crashinfo_destroy(struct cp_crashinfo *ci)
{
	if (!ci)
		return;
	free(ci->runtime_version);
	free(ci->message);
	cp_exception_destroy(ci->exception);
	free(ci);
}

static void cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}

static void cp_crashinfo_destroyp(struct cp_crashinfo **p)
{
	cp_crashinfo_destroy(*p);
}

static void cp_exception_destroyp(struct cp_exception **p)
{
	cp_exception_destroy(*p);
}

/* A member that must be a string when present. 1 present, 0 absent, -EINVAL. */
static int get_string(const cJSON *o, const char *key, const char **ret, const char **why, const char *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring) {
		*why = bad;
		return -EINVAL;
	}
	*ret = v->valuestring;
	return 1;
}

/* "0x" and 1 to 16 hex digits (the runtime writes "0x{value:X}"), at most @max. */
static int parse_hex(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	for (s += 2; *s; s++, n++) {
		int d = isdigit((unsigned char)*s) ? *s - '0' :
			(*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 :
			(*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
		if (d < 0 || n >= 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0 || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int get_hex(const cJSON *o, const char *key, uint64_t max, uint64_t *ret, const char **why, const char *bad)
{
	const char *s;
	int r = get_string(o, key, &s, why, bad);
	if (r <= 0)
		return r;
	if (parse_hex(s, max, ret) < 0) {
		*why = bad;
		return -EINVAL;
	}
	return 1;
}

/* A small decimal number written as a string ("4"). */
static int get_small(const cJSON *o, const char *key, int *ret, const char **why, const char *bad)
{
	const char *s;
	int r = get_string(o, key, &s, why, bad);
	if (r <= 0)
		return r;
	int v = 0;
	size_t n = 0;
	for (; s[n]; n++) {
		if (!isdigit((unsigned char)s[n]) || n >= 6) {
			*why = bad;
			return -EINVAL;
		}
		v = v * 10 + (s[n] - '0');
	}
	if (n == 0) {
		*why = bad;
		return -EINVAL;
	}
	*ret = v;
	return 1;
}

static int dup_member(const cJSON *o, const char *key, char **ret, const char **why, const char *bad)
{
	const char *s;
	int r = get_string(o, key, &s, why, bad);
	if (r <= 0)
		return r;
	if (!(*ret = strdup(s)))
		return -ENOMEM;
	return 1;
}

static int parse_frame(const cJSON *o, struct cp_exception *e, const char **why)
{
	uint64_t ip, offset, sp = 0;
	int r;

	if (!cJSON_IsObject(o)) {
		*why = "a stack frame is not an object";
		return -EINVAL;
	}
	if ((r = get_hex(o, "ip", UINT64_MAX, &ip, why, "a frame's ip is not a hex string")) < 0)
		return r;
	if (r == 0) {
		*why = "a frame has no ip";
		return -EINVAL;
	}
	if ((r = get_hex(o, "sp", UINT64_MAX, &sp, why, "a frame's sp is not a hex string")) < 0)
		return r;
	uint64_t module;
	if ((r = get_hex(o, "module", UINT64_MAX, &module, why, "a frame's module is not a hex string")) < 0)
		return r;
	int has_offset = get_hex(o, "offset", UINT32_MAX, &offset, why, "a frame's offset is not a 32-bit hex string");
	if (has_offset < 0)
		return has_offset;
	const char *name = NULL;
	if ((r = get_string(o, "name", &name, why, "a frame's name is not a string")) < 0)
		return r;

	struct cp_frame *f = cp_exception_add_frame(e, ip, sp);
	if (!f)
		return -ENOMEM;
	f->kind = CP_FRAME_NATIVE;
	if (has_offset) {
		f->offset = offset;
		f->has_offset = true;
	}
	if (name && name[0] && !(f->display = strdup(name)))
		return -ENOMEM;
	return 0;
}

static int parse_exception(const cJSON *o, int depth, struct cp_exception **ret, const char **why)
{
	_cleanup_(cp_exception_destroyp) struct cp_exception *e = NULL;
	uint64_t hr, address;
	int r;

	if (!cJSON_IsObject(o)) {
		*why = "an exception is not an object";
		return -EINVAL;
	}
	if (depth > CP_NATIVEAOT_MAX_DEPTH) {
		*why = "inner exceptions nested too deep";
		return -EINVAL;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	if ((r = dup_member(o, "type", &e->type, why, "an exception's type is not a string")) < 0)
		return r;
	if (r == 0) {
		*why = "an exception has no type";
		return -EINVAL;
	}
	if ((r = dup_member(o, "message", &e->message, why, "an exception's message is not a string")) < 0)
		return r;
	if ((r = get_hex(o, "hr", UINT32_MAX, &hr, why, "an exception's hr is not a 32-bit hex string")) < 0)
		return r;
	if (r > 0) {
		e->hresult = (int32_t)(uint32_t)hr;
		e->has_hresult = true;
	}
	if ((r = get_hex(o, "address", UINT64_MAX, &address, why, "an exception's address is not a hex string")) < 0)
		return r;

	const cJSON *stack = cJSON_GetObjectItemCaseSensitive(o, "stack");
	if (stack) {
		if (!cJSON_IsArray(stack)) {
			*why = "an exception's stack is not an array";
			return -EINVAL;
		}
		if ((size_t)cJSON_GetArraySize(stack) > CP_NATIVEAOT_MAX_FRAMES) {
			*why = "an exception's stack has too many frames";
			return -EINVAL;
		}
		e->has_stack = true;
		const cJSON *fr;
		cJSON_ArrayForEach(fr, stack)
			if ((r = parse_frame(fr, e, why)) < 0)
				return r;
	}
	const cJSON *inner = cJSON_GetObjectItemCaseSensitive(o, "inner");
	if (inner) {
		if (!cJSON_IsArray(inner)) {
			*why = "an exception's inner is not an array";
			return -EINVAL;
		}
		if (cJSON_GetArraySize(inner) > MAX_INNERS) {
			*why = "an exception has too many inner exceptions";
			return -EINVAL;
		}
		const cJSON *in;
		cJSON_ArrayForEach(in, inner) {
			struct cp_exception *ie;
			if ((r = parse_exception(in, depth + 1, &ie, why)) < 0)
				return r;
			if ((r = cp_exception_add_inner(e, ie)) < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(e);
	return 0;
}

int cp_crashinfo_parse(const char *json, size_t len, struct cp_crashinfo **ret, const char **why)
{
	_cleanup_(cp_crashinfo_destroyp) struct cp_crashinfo *ci = NULL;
	const char *end = NULL, *version;
	uint64_t v;
	int r;

	*why = NULL;
	if (len > CP_NATIVEAOT_CRASHINFO_MAX) {
		*why = "larger than the runtime's buffer";
		return -EINVAL;
	}
	if (memchr(json, '\0', len)) {
		*why = "a NUL byte inside the text";
		return -EINVAL;
	}
	_cleanup_(cjson_deletep) cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root) {
		*why = "not JSON";
		return -EINVAL;
	}
	for (; end && end < json + len; end++)
		if (!isspace((unsigned char)*end)) {
			*why = "text after the JSON value";
			return -EINVAL;
		}
	if (!cJSON_IsObject(root)) {
		*why = "not a JSON object";
		return -EINVAL;
	}
	if ((r = get_string(root, "version", &version, why, "version is not a string")) < 0)
		return r;
	if (r == 0 || strncmp(version, "1.", 2) != 0) {
		*why = "not crash-info version 1";
		return -EINVAL;
	}
	if (!(ci = calloc(1, sizeof(*ci))))
		return -ENOMEM;
	int type = 0;
	if ((r = get_small(root, "runtime_type", &type, why, "runtime_type is not a number")) < 0)
		return r;
	if (r > 0 && type != 4) {	/* CrashInfo.RuntimeType.NativeAOT */
		*why = "runtime_type is not NativeAOT";
		return -EINVAL;
	}
	if ((r = get_small(root, "reason", &ci->reason, why, "reason is not a number")) < 0)
		return r;
	if ((r = get_hex(root, "thread", UINT32_MAX, &ci->thread, why, "thread is not a hex string")) < 0)
		return r;
	if ((r = get_hex(root, "runtime_base", UINT64_MAX, &v, why, "runtime_base is not a hex string")) < 0)
		return r;
	if (r > 0)
		ci->runtime_base = v;
	if ((r = dup_member(root, "runtime_version", &ci->runtime_version, why, "runtime_version is not a string")) < 0)
		return r;
	if ((r = dup_member(root, "message", &ci->message, why, "message is not a string")) < 0)
		return r;
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "exception");
	if (ex && (r = parse_exception(ex, 0, &ci->exception, why)) < 0)
		return r;
	*ret = TAKE_PTR(ci);
	return 0;
}

/* ---- names ---- */

/* The CLR names the runtime prints for C#'s keyword types, which are the DWARF's names. */
static const char *const keyword_types[][2] = {
	{ "bool", "Boolean" }, { "char", "Char" }, { "sbyte", "SByte" }, { "byte", "Byte" },
	{ "short", "Int16" }, { "ushort", "UInt16" }, { "int", "Int32" }, { "uint", "UInt32" },
	{ "long", "Int64" }, { "ulong", "UInt64" }, { "float", "Single" }, { "double", "Double" },
	{ "nint", "IntPtr" }, { "nuint", "UIntPtr" }, { "decimal", "Decimal" }, { "void", "Void" },
	{ "string", "String" }, { "object", "Object" },
};

/* A growing string; on ENOMEM it stays failed and sb_take() gives NULL. */
struct sb {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static char *sb_take(struct sb *b)
{
	if (b->failed || !b->s) {
		free(b->s);
		return b->failed ? NULL : strdup("");
	}
	return b->s;
}

/* The end of the <...> group starting at @s ('<'), or NULL when unbalanced. */
static const char *group_end(const char *s, const char *end)
{
	int depth = 0;
	for (; s < end; s++) {
		if (*s == '<')
			depth++;
		else if (*s == '>' && --depth == 0)
			return s;
	}
	return NULL;
}

/* The last "__" in [s, end) outside <...>, or NULL. */
static const char *last_separator(const char *s, const char *end)
{
	const char *found = NULL;
	int depth = 0;
	for (const char *p = s; p + 1 < end; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>')
			depth--;
		else if (depth == 0 && p[0] == '_' && p[1] == '_')
			found = p;
	}
	/* "a___b": the separator is the last two of the run */
	return found;
}

static size_t prefix_len(const char *s, size_t n, char *const *prefixes, size_t n_prefixes)
{
	size_t best = 0;
	for (size_t i = 0; i < n_prefixes; i++) {
		size_t l = strlen(prefixes[i]);
		if (l < n && l > best && strncmp(s, prefixes[i], l) == 0)
			best = l;
	}
	if (best)
		return best;
	/* System.Private.X is S_P_X */
	if (n > 4 && strncmp(s, "S_P_", 4) == 0) {
		const char *u = memchr(s + 4, '_', n - 4);
		if (u && (size_t)(u - s) + 1 < n)
			return (size_t)(u - s) + 1;
	}
	/* An assembly named like its namespace ("System.Linq" with System.Linq.Enumerable)
	 * shows as the same words twice: strip the first. */
	for (size_t k = n / 2; k >= 2; k--) {
		if (s[k - 1] == '_' && k * 2 <= n && strncmp(s, s + k, k - 1) == 0 &&
		    (s[2 * k - 1] == '_' || 2 * k - 1 == n))
			return k;
		if (k == 2)
			break;
	}
	return 0;
}

/* A mangled type name (without its <...> instantiation) in C# form: '_' is '.', a
 * trailing "_N" the generic arity ("List`1"). @short_form: the last part only. */
static void add_type_base(struct sb *b, const char *s, size_t n, bool short_form)
{
	size_t arity = n;
	while (arity > 0 && isdigit((unsigned char)s[arity - 1]))
		arity--;
	if (arity == n || arity < 2 || s[arity - 1] != '_')
		arity = n;
	else
		arity--;	/* s[arity] is the '_' before the digits */
	size_t start = 0;
	if (short_form)
		for (size_t i = 0; i < arity; i++)
			if (s[i] == '_' && i + 1 < arity)
				start = i + 1;
	for (size_t i = start; i < arity; i++)
		sb_addn(b, s[i] == '_' ? "." : &s[i], 1);
	if (arity < n) {
		sb_add(b, "`");
		sb_addn(b, s + arity + 1, n - arity - 1);
	}
}

static void add_type(struct sb *b, const char *s, size_t n, char *const *prefixes, size_t n_prefixes,
		     bool short_form, int depth);

/* "__" separated type arguments inside <...>. */
static void add_type_args(struct sb *b, const char *s, size_t n, char *const *prefixes, size_t n_prefixes,
			  int depth)
{
	const char *end = s + n, *arg = s;
	int d = 0;
	sb_add(b, "<");
	for (const char *p = s; p <= end; p++) {
		if (p < end && *p == '<')
			d++;
		else if (p < end && *p == '>')
			d--;
		if (p == end || (d == 0 && p + 1 < end && p[0] == '_' && p[1] == '_')) {
			if (arg != s)
				sb_add(b, ",");
			add_type(b, arg, (size_t)(p - arg), prefixes, n_prefixes, true, depth + 1);
			if (p < end)
				p++;
			arg = p + 1;
		}
	}
	sb_add(b, ">");
}

static void add_type(struct sb *b, const char *s, size_t n, char *const *prefixes, size_t n_prefixes,
		     bool short_form, int depth)
{
	if (depth > 8) {
		sb_add(b, "...");
		return;
	}
	/* the compiler's own names for constructed types */
	if (n > 9 && strncmp(s, "__Array<", 8) == 0 && s[n - 1] == '>') {
		add_type(b, s + 8, n - 9, prefixes, n_prefixes, short_form, depth + 1);
		sb_add(b, "[]");
		return;
	}
	size_t stars = 0;
	while (stars < n && s[n - 1 - stars] == '*')
		stars++;
	n -= stars;
	for (size_t i = 0; i < ARRAY_SIZE(keyword_types); i++)
		if (strlen(keyword_types[i][0]) == n && strncmp(s, keyword_types[i][0], n) == 0) {
			sb_add(b, keyword_types[i][1]);
			sb_addn(b, "********", stars);
			return;
		}
	const char *lt = memchr(s, '<', n);
	size_t base = lt ? (size_t)(lt - s) : n;
	size_t skip = short_form ? 0 : prefix_len(s, base, prefixes, n_prefixes);
	add_type_base(b, s + skip, base - skip, short_form);
	const char *gt = lt ? group_end(lt, s + n) : NULL;
	if (gt && gt > lt + 1)
		add_type_args(b, lt + 1, (size_t)(gt - lt - 1), prefixes, n_prefixes, depth);
	sb_addn(b, "********", stars);
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

char *cp_nativeaot_display(const char *symbol, const char *method, char *const *params, size_t n_params,
			   char *const *prefixes, size_t n_prefixes)
{
	size_t n = strlen(symbol);
	const char *end = symbol + n, *sep = NULL;
	struct sb b = { 0 };

	if (n == 0 || n > 4096 || symbol[0] == '_')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!ident_char(symbol[i]) && !strchr("<>", symbol[i]))
			return NULL;
	/* The method's own name, sanitized as the mangler does, ends the symbol after "__". */
	if (method && method[0]) {
		size_t m = strlen(method);
		if (m + 2 < n && symbol[n - m - 1] == '_' && symbol[n - m - 2] == '_') {
			bool same = true;
			for (size_t i = 0; i < m && same; i++)
				same = symbol[n - m + i] == (isalnum((unsigned char)method[i]) ? method[i] : '_');
			if (same)
				sep = end - m - 2;
		}
	}
	if (!sep)
		sep = last_separator(symbol, end);
	if (!sep || sep == symbol)
		return NULL;

	add_type(&b, symbol, (size_t)(sep - symbol), prefixes, n_prefixes, false, 0);
	sb_add(&b, ".");
	if (method && method[0]) {
		sb_add(&b, method);
	} else {
		const char *m = sep + 2, *lt = strchr(m, '<');
		sb_addn(&b, m, lt ? (size_t)(lt - m) : strlen(m));
		const char *gt = lt ? group_end(lt, end) : NULL;
		if (gt && gt > lt + 1)
			add_type_args(&b, lt + 1, (size_t)(gt - lt - 1), prefixes, n_prefixes, 0);
	}
	if (params) {
		sb_add(&b, "(");
		for (size_t i = 0; i < n_params; i++) {
			if (i)
				sb_add(&b, ", ");
			add_type(&b, params[i], strlen(params[i]), prefixes, n_prefixes, true, 0);
		}
		sb_add(&b, ")");
	}
	return sb_take(&b);
}

/* ---- the process ---- */

struct aot {
	struct cp_target *t;
	struct cp_modules *mods;
	struct cp_report *r;
	const char *path;		/* the executable, as mapped */
	char *prefixes[MAX_PREFIXES];	/* mangled assembly prefixes, "Aot_" */
	size_t n_prefixes;
	/* the runtime's names by method start, from the crash info */
	struct known {
		uint64_t start;
		const char *display;	/* borrowed from the crash info's frames */
	} *known;
	size_t n_known;
};

static void add_prefix(struct aot *a, const char *p, size_t n)
{
	if (n == 0 || a->n_prefixes >= MAX_PREFIXES)
		return;
	for (size_t i = 0; i < a->n_prefixes; i++)
		if (strlen(a->prefixes[i]) == n && strncmp(a->prefixes[i], p, n) == 0)
			return;
	char *s = strndup(p, n);
	if (s)
		a->prefixes[a->n_prefixes++] = s;
}

/* The runtime named the method of @symbol @display ("Program.Charge(Int32)"): the part of
 * the symbol before the sanitized type name is an assembly prefix. */
static void learn_prefix(struct aot *a, const char *symbol, const char *display)
{
	const char *paren = strchr(display, '(');
	size_t dn = paren ? (size_t)(paren - display) : strlen(display);
	const char *sep = last_separator(symbol, symbol + strlen(symbol));
	if (!sep || dn == 0)
		return;
	/* the type is the display up to its last '.' (".ctor" keeps its own dot) */
	size_t dot = dn;
	while (dot > 0 && display[dot - 1] != '.')
		dot--;
	if (dot >= 2 && display[dot - 2] == '.')
		dot--;
	if (dot < 2)
		return;
	size_t tn = dot - 1, sn = (size_t)(sep - symbol);
	const char *lt = memchr(display, '<', tn);
	if (lt)
		return;		/* generic: not worth the guess */
	if (tn + 1 > sn)
		return;
	const char *tail = symbol + sn - tn;
	for (size_t i = 0; i < tn; i++)
		if (tail[i] != (isalnum((unsigned char)display[i]) ? display[i] : '_'))
			return;
	if (tail[-1] != '_')
		return;
	add_prefix(a, symbol, (size_t)(tail - symbol));
}

static const char *known_display(const struct aot *a, uint64_t start)
{
	for (size_t i = 0; i < a->n_known; i++)
		if (a->known[i].start == start)
			return a->known[i].display;
	return NULL;
}

/* The C# name of @f (in the executable): the runtime's, the DWARF's or the symbol's. */
static int name_frame(struct aot *a, struct cp_frame *f, uint64_t lookup)
{
	if (f->display || !f->module || strcmp(f->module, a->path) != 0 || !f->function)
		return 0;
	const char *known = f->has_offset ? known_display(a, f->ip - f->offset) : NULL;
	if (known)
		return (f->display = strdup(known)) ? 0 : -ENOMEM;

	struct cp_clr_method m;
	int r = cp_modules_clr_method(a->mods, lookup, &m);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		char *none[1] = { NULL };	/* no parameters: "()", not unknown ones */
		f->display = cp_nativeaot_display(m.linkage, m.name, m.params ? m.params : none, m.n_params,
						  a->prefixes, a->n_prefixes);
		cp_clr_method_deinit(&m);
		return 0;
	}
	/* No DWARF for it: a managed method by its symbol alone (the runtime's C and C++
	 * code has no "__" inside its names, or a C++ name libdwfl demangled) */
	const char *s = f->function, *sep = strstr(s, "__");
	if (!sep || sep == s || strpbrk(s, ":( "))
		return 0;
	f->display = cp_nativeaot_display(s, NULL, NULL, 0, a->prefixes, a->n_prefixes);
	return 0;
}

/* Symbolize the crash info's frames, learn its names, recursively. */
static int symbolize_exception(struct aot *a, struct cp_exception *e, int depth)
{
	for (size_t i = 0; i < e->n_stack; i++) {
		struct cp_frame *f = &e->stack[i];
		bool had_offset = f->has_offset;
		uint64_t offset = f->offset;
		/* a return address (every frame of a thrown exception's trace), looked up at
		 * the call */
		cp_modules_symbolize(a->mods, f->ip ? f->ip - 1 : 0, f);
		if (f->function && f->display) {
			learn_prefix(a, f->function, f->display);
			if (f->has_offset) {
				struct known *k = realloc(a->known, (a->n_known + 1) * sizeof(*k));
				if (!k)
					return -ENOMEM;
				a->known = k;
				a->known[a->n_known++] = (struct known){ f->ip - f->offset, f->display };
			}
		}
		if (had_offset && !f->has_offset) {
			f->offset = offset;
			f->has_offset = true;
		}
	}
	for (size_t i = 0; i < e->n_inners && depth < CP_NATIVEAOT_MAX_DEPTH; i++) {
		int r = symbolize_exception(a, e->inners[i], depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int name_exception(struct aot *a, struct cp_exception *e, int depth)
{
	for (size_t i = 0; i < e->n_stack; i++) {
		int r = name_frame(a, &e->stack[i], e->stack[i].ip - 1);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < e->n_inners && depth < CP_NATIVEAOT_MAX_DEPTH; i++) {
		int r = name_exception(a, e->inners[i], depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_u64(struct cp_target *t, uint64_t addr, uint64_t *ret)
{
	unsigned char b[8];
	int r = cp_target_read(t, addr, b, sizeof(b));
	if (r < 0)
		return r;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	*ret = v;
	return 0;
}

/* The crash-info buffer's address from the debug header at @hdr, or 0. */
static uint64_t find_crashinfo(struct aot *a, uint64_t hdr, unsigned *major_ret)
{
	unsigned char h[16];
	uint64_t globals;

	if (cp_target_read(a->t, hdr, h, sizeof(h)) < 0) {
		cp_report_note(a->r, false, "nativeaot: the runtime's debug header at 0x%" PRIx64 " cannot be read", hdr);
		return 0;
	}
	unsigned major = h[4] | h[5] << 8, minor = h[6] | h[7] << 8;
	uint32_t flags = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;
	*major_ret = major;
	if (memcmp(h, "DNDH", 4) != 0 || major < 3 || (flags & 3) != 1) {
		cp_report_note(a->r, false, "nativeaot: the runtime's debug header is not one this version reads (cookie %02x%02x%02x%02x, version %u.%u, flags 0x%x)",
			       h[0], h[1], h[2], h[3], major, minor, flags);
		return 0;
	}
	if (read_u64(a->t, hdr + 24, &globals) < 0 || !globals)
		return 0;
	for (unsigned i = 0; i < MAX_GLOBALS; i++) {
		uint64_t name, value;
		char s[MAX_GLOBAL_NAME + 1];
		if (read_u64(a->t, globals + 16 * i, &name) < 0 || !name ||
		    read_u64(a->t, globals + 16 * i + 8, &value) < 0 || !value)
			break;
		/* a name is at most 32 characters; read byte-wise near the end of a mapping */
		size_t n = 0;
		for (; n < MAX_GLOBAL_NAME; n++)
			if (cp_target_read(a->t, name + n, &s[n], 1) < 0 || s[n] == '\0')
				break;
		s[n] = '\0';
		if (strcmp(s, CRASHINFO_GLOBAL) == 0)
			return value;
	}
	return 0;
}

/* Read the buffer up to its NUL: *@len_ret 0 when the runtime wrote nothing. */
static int read_crashinfo(struct aot *a, uint64_t addr, char *buf, size_t *len_ret)
{
	size_t got = 0;
	/* the buffer may end a mapping: page by page */
	while (got < CP_NATIVEAOT_CRASHINFO_MAX) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > CP_NATIVEAOT_CRASHINFO_MAX - got)
			chunk = CP_NATIVEAOT_CRASHINFO_MAX - got;
		if (cp_target_read(a->t, addr + got, buf + got, chunk) < 0)
			break;
		char *nul = memchr(buf + got, '\0', chunk);
		got += chunk;
		if (nul) {
			*len_ret = (size_t)(nul - buf);
			return 0;
		}
	}
	return got ? -E2BIG : -EFAULT;
}

static struct cp_thread *thread_of(struct cp_report *r, pid_t tid)
{
	for (size_t i = 0; i < r->n_threads; i++)
		if (r->threads[i].tid == tid)
			return &r->threads[i];
	return NULL;
}

static int use_crashinfo(struct aot *a, struct cp_crashinfo *ci)
{
	struct cp_report *r = a->r;
	int ret;

	if (ci->runtime_version && !r->runtime.version && !(r->runtime.version = strdup(ci->runtime_version)))
		return -ENOMEM;
	if (!ci->exception) {
		if (ci->message && ci->message[0])
			cp_report_note(r, false, "nativeaot: the runtime failed fast (reason %d) on thread %" PRIu64 ": %s",
				       ci->reason, ci->thread, ci->message);
		return 0;
	}
	if ((ret = symbolize_exception(a, ci->exception, 0)) < 0)
		return ret;
	struct cp_thread *th = ci->thread ? thread_of(r, (pid_t)ci->thread) : NULL;
	if (!th && r->n_threads)
		th = &r->threads[0];
	if (!th) {
		cp_report_note(r, false, "nativeaot: the crash info's thread %" PRIu64 " is not in the core", ci->thread);
		return 0;
	}
	if (th->exception) {
		cp_report_note(r, false, "nativeaot: thread %d already has an exception; the crash info's is left out", th->tid);
		return 0;
	}
	th->exception = TAKE_PTR(ci->exception);
	if (ci->thread && (pid_t)ci->thread != r->process.tid)
		cp_report_note(r, false, "nativeaot: the exception was thrown on thread %" PRIu64 ", the core's crashed thread is %d",
			       ci->thread, r->process.tid);
	return 0;
}

int cp_nativeaot_annotate(struct cp_core *core, struct cp_target *t, struct cp_modules *mods, struct cp_report *r)
{
	uint64_t entry, hdr, start;
	const char *path;
	struct aot a = { .t = t, .mods = mods, .r = r };
	_cleanup_(cp_crashinfo_destroyp) struct cp_crashinfo *ci = NULL;
	int ret = 0;

	if (!mods || !cp_core_auxv(core, AT_ENTRY, &entry) ||
	    cp_modules_lookup(mods, entry, DEBUG_HEADER_SYMBOL, &hdr, &path, &start) < 0)
		return 0;
	a.path = path;
	r->runtime.present = true;
	free(r->runtime.kind);
	if (!(r->runtime.kind = strdup("nativeaot")))
		return -ENOMEM;

	/* the entry assembly is normally named like the executable */
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char exe[256];
	size_t n = 0;
	for (; base[n] && n + 2 < sizeof(exe); n++)
		exe[n] = isalnum((unsigned char)base[n]) ? base[n] : '_';
	exe[n++] = '_';
	add_prefix(&a, exe, n);

	unsigned major = 0;
	uint64_t buf_addr = find_crashinfo(&a, hdr, &major);
	if (buf_addr) {
		_cleanup_free_ char *buf = malloc(CP_NATIVEAOT_CRASHINFO_MAX);
		size_t len = 0;
		const char *why;
		if (!buf)
			return -ENOMEM;
		int rr = read_crashinfo(&a, buf_addr, buf, &len);
		if (rr < 0)
			cp_report_note(r, false, "nativeaot: the crash info at 0x%" PRIx64 " %s", buf_addr,
				       rr == -E2BIG ? "has no end within its 8192 bytes" : "cannot be read");
		else if (len > 0 && (rr = cp_crashinfo_parse(buf, len, &ci, &why)) < 0) {
			if (rr == -ENOMEM)
				return rr;
			cp_report_note(r, false, "nativeaot: the crash info is not usable: %s", why);
		}
		if (ci && (ret = use_crashinfo(&a, ci)) < 0)
			goto out;
	}

	/* every frame in the executable's code, exception stacks first (their names are the
	 * runtime's) */
	for (size_t i = 0; i < r->n_threads && ret >= 0; i++) {
		struct cp_thread *th = &r->threads[i];
		if (th->exception)
			ret = name_exception(&a, th->exception, 0);
	}
	for (size_t i = 0; i < r->n_threads && ret >= 0; i++) {
		struct cp_thread *th = &r->threads[i];
		for (size_t j = 0; j < th->n_frames && ret >= 0; j++) {
			struct cp_frame *f = &th->frames[j];
			ret = name_frame(&a, f, j == 0 ? f->ip : f->ip - 1);
		}
	}
out:
	for (size_t i = 0; i < a.n_prefixes; i++)
		free(a.prefixes[i]);
	free(a.known);
	return ret < 0 ? ret : 1;
}
