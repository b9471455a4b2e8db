/*
 * clrname.c - see clrname.h. How the runtime names a frame (.NET 8, 9 and 10 alike:
 * dotnet/runtime src/libraries/System.Private.CoreLib/src/System/Diagnostics/StackTrace.cs,
 * ToString(TraceFormat, StringBuilder), TryResolveStateMachineMethod, ShowInStackTrace),
 * for the frame's method M, taken as its typical definition (StackFrameHelper strips
 * instantiations):
 *
 *   - if M's declaring type D carries [CompilerGenerated] and is an IAsyncStateMachine or
 *     an IEnumerator, look in D's enclosing type for the method whose [AsyncStateMachine],
 *     [IteratorStateMachine] or [AsyncIteratorStateMachine] names D: that method is named
 *     instead of M, and for the two iterator kinds "+M()" follows ("It(Int32 n)+MoveNext()");
 *   - D's FullName (namespace, nested types joined with '+', generic types with their
 *     `arity and no arguments), every '+' printed as '.', then '.'; nothing for a global
 *     method (the <Module> type);
 *   - the method's name; a generic method's parameter names in brackets, joined by ','
 *     ("Bar[T,U]");
 *   - "(" then each parameter as Type.Name (the short name: "Int32", "String[]", "List`1",
 *     "Int32&" for ref, in and out, "T" for a generic parameter), a space and its name (no
 *     space when the parameter has no Param row: its Name is null), joined by ", ", ")".
 *
 * Frames are hidden from the runtime's trace by [StackTraceHidden] on the method or its
 * type or by MethodImplOptions.AggressiveInlining (the trace's last frame excepted). The
 * "--- End of stack trace from previous location ---" that follows the last frame of an
 * earlier throw's segment is printed with that frame only, and not for an async state
 * machine's frame: an exception stack's segments are renumbered to count only those.
 *
 * Everything read comes from an assembly the crashed user controls: cp_md's accessors check
 * every index, signatures are walked at most MAX_DEPTH deep, nesting chains at most
 * MAX_NESTING long, and the text is bounded by CP_CLRNAME_MAX.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clrname.h"
#include "cleanup.h"
#include "ecma335.h"
#include "report.h"

#define MAX_DEPTH 32		/* signature types nested in each other */
#define MAX_NESTING 64		/* types nested in types */
#define MAX_EXCEPTION_DEPTH 256	/* inner exceptions of inner exceptions */

/* MethodImplAttributes.AggressiveInlining (ECMA-335 II.23.1.11 + CoreCLR's 0x0100) */
#define IMPL_AGGRESSIVE_INLINING 0x0100

/* ---- a bounded string builder ------------------------------------------------------------ */

struct sb {
	char buf[CP_CLRNAME_MAX + 1];
	size_t len;
	bool over;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
	if (b->over || n > CP_CLRNAME_MAX - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sb *b, char c)
{
	sb_putn(b, &c, 1);
}

/* A type or generic parameter name as reflection gives it (Type.Name, Type.FullName): the
 * characters of its type name grammar escaped with a backslash (CoreCLR's TypeNameBuilder::
 * EscapeName and IsTypeNameReservedChar, src/coreclr/vm/typestring.cpp). */
static void sb_puts_escaped(struct sb *b, const char *s)
{
	for (; *s; s++) {
		if (strchr(",[]&*+\\", *s))
			sb_putc(b, '\\');
		sb_putc(b, *s);
	}
}

/* @s with every '+' as '.' (how the runtime prints a type's FullName). */
static void sb_puts_dotted(struct sb *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_putc(b, s[i] == '+' ? '.' : s[i]);
}

static void sb_put_number(struct sb *b, const char *prefix, uint32_t n)
{
	char tmp[16];
	sb_puts(b, prefix);
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n && i > 0);
	sb_putn(b, tmp + i, sizeof(tmp) - i);
}

/* ---- metadata ------------------------------------------------------------------------------ */

/* Type.FullName of TypeDef @row: "Ns.Outer`1+Nested" ('+' kept; the caller prints it). */
static int typedef_fullname(const struct cp_md *md, uint32_t row, struct sb *b, unsigned depth)
{
	const char *ns, *name;
	uint32_t enclosing;

	if (depth > MAX_NESTING)
		return -EBADMSG;
	int r = cp_md_type_name(md, CP_MD_TYPEDEF, row, &ns, &name);
	if (r < 0)
		return r;
	r = cp_md_enclosing_type(md, row, &enclosing);
	if (r == 0) {
		if (enclosing == row)
			return -EBADMSG;
		r = typedef_fullname(md, enclosing, b, depth + 1);
		if (r < 0)
			return r;
		sb_putc(b, '+');
	} else if (r != -ENOENT) {
		return r;
	} else if (ns[0]) {
		sb_puts_escaped(b, ns);
		sb_putc(b, '.');
	}
	sb_puts_escaped(b, name);
	return 0;
}

/* The name of generic parameter @number of @owner (a TypeDef or MethodDef row). */
static int generic_param_name(const struct cp_md *md, enum cp_md_table table, uint32_t owner,
			      uint32_t number, const char **name_ret)
{
	uint32_t coded, first, end, v;

	int r = cp_md_encode(CP_MD_CODED_TYPEORMETHODDEF, table, owner, &coded);
	if (r < 0)
		return r;
	r = cp_md_find(md, CP_MD_GENERICPARAM, CP_MD_GENERICPARAM_OWNER, coded, &first, &end);
	if (r < 0)
		return r;
	for (uint32_t i = first; i < end; i++) {
		r = cp_md_cell(md, CP_MD_GENERICPARAM, i, CP_MD_GENERICPARAM_NUMBER, &v);
		if (r < 0)
			return r;
		if (v != number)
			continue;
		r = cp_md_cell(md, CP_MD_GENERICPARAM, i, CP_MD_GENERICPARAM_NAME, &v);
		if (r < 0)
			return r;
		return cp_md_string(md, v, name_ret);
	}
	return -ENOENT;
}

/* Whose generic parameters VAR and MVAR name. */
struct generic_context {
	uint32_t type;			/* TypeDef row, 0: none */
	uint32_t method;		/* MethodDef row */
};

static int sig_type_name(const struct cp_md *md, const struct generic_context *gc, struct cp_sig *s,
			 struct sb *b, unsigned depth);

/* A cursor *@s over the blob that column @column of row @row of @table indexes (a
 * signature, a custom attribute's value). */
static int cell_blob(const struct cp_md *md, enum cp_md_table table, uint32_t row, unsigned column,
		     struct cp_sig *s)
{
	const uint8_t *blob;
	uint32_t index, size;

	int r = cp_md_cell(md, table, row, column, &index);
	if (r < 0)
		return r;
	r = cp_md_blob(md, index, &blob, &size);
	if (r < 0)
		return r;
	cp_sig_init(s, blob, size);
	return 0;
}

/* Type.Name of a TypeDef, TypeRef or TypeSpec row. */
static int typedeforref_name(const struct cp_md *md, const struct generic_context *gc,
			     enum cp_md_table table, uint32_t row, struct sb *b, unsigned depth)
{
	const char *ns, *name;

	if (table == CP_MD_TYPESPEC) {
		struct cp_sig s;
		int r = cell_blob(md, CP_MD_TYPESPEC, row, CP_MD_TYPESPEC_SIGNATURE, &s);
		if (r < 0)
			return r;
		return sig_type_name(md, gc, &s, b, depth + 1);
	}
	int r = cp_md_type_name(md, table, row, &ns, &name);
	if (r < 0)
		return r;
	sb_puts_escaped(b, name);
	return 0;
}

static const char *primitive_name(uint8_t type)
{
	switch (type) {
	case CP_ELEMENT_VOID: return "Void";
	case CP_ELEMENT_BOOLEAN: return "Boolean";
	case CP_ELEMENT_CHAR: return "Char";
	case CP_ELEMENT_I1: return "SByte";
	case CP_ELEMENT_U1: return "Byte";
	case CP_ELEMENT_I2: return "Int16";
	case CP_ELEMENT_U2: return "UInt16";
	case CP_ELEMENT_I4: return "Int32";
	case CP_ELEMENT_U4: return "UInt32";
	case CP_ELEMENT_I8: return "Int64";
	case CP_ELEMENT_U8: return "UInt64";
	case CP_ELEMENT_R4: return "Single";
	case CP_ELEMENT_R8: return "Double";
	case CP_ELEMENT_STRING: return "String";
	case CP_ELEMENT_TYPEDBYREF: return "TypedReference";
	case CP_ELEMENT_I: return "IntPtr";
	case CP_ELEMENT_U: return "UIntPtr";
	case CP_ELEMENT_OBJECT: return "Object";
	default: return NULL;
	}
}

/* Skip a method signature (FNPTR's), header and all. */
static int skip_method_sig(struct cp_sig *s, unsigned depth)
{
	struct cp_sig_method m;
	int r = cp_sig_method_header(s, &m);
	if (r < 0)
		return r;
	if (m.n_params > CP_CLRNAME_MAX)
		return -EBADMSG;
	for (uint32_t i = 0; i <= m.n_params; i++) {
		r = cp_sig_skip_type(s, MAX_DEPTH - depth);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Type.Name of the Type at @s (II.23.2.12), which the cursor passes. */
static int sig_type_name(const struct cp_md *md, const struct generic_context *gc, struct cp_sig *s,
			 struct sb *b, unsigned depth)
{
	struct cp_sig_elem e;
	const char *name;
	uint32_t rank;
	int r;

	if (depth > MAX_DEPTH)
		return -EBADMSG;
	r = cp_sig_elem(s, &e);
	if (r < 0)
		return r;
	name = primitive_name(e.type);
	if (name) {
		sb_puts(b, name);
		return 0;
	}
	switch (e.type) {
	case CP_ELEMENT_CLASS:
	case CP_ELEMENT_VALUETYPE:
		return typedeforref_name(md, gc, e.table, e.row, b, depth);
	case CP_ELEMENT_GENERICINST:
		/* A constructed type's Name is its definition's: "List`1". */
		r = typedeforref_name(md, gc, e.table, e.row, b, depth);
		if (r < 0)
			return r;
		if (e.number > CP_CLRNAME_MAX)
			return -EBADMSG;
		for (uint32_t i = 0; i < e.number; i++) {
			r = cp_sig_skip_type(s, MAX_DEPTH - depth);
			if (r < 0)
				return r;
		}
		return 0;
	case CP_ELEMENT_PTR:
	case CP_ELEMENT_BYREF:
	case CP_ELEMENT_SZARRAY:
		r = sig_type_name(md, gc, s, b, depth + 1);
		if (r < 0)
			return r;
		sb_puts(b, e.type == CP_ELEMENT_PTR ? "*" : e.type == CP_ELEMENT_BYREF ? "&" : "[]");
		return 0;
	case CP_ELEMENT_PINNED:
		return sig_type_name(md, gc, s, b, depth + 1);
	case CP_ELEMENT_ARRAY:
		r = sig_type_name(md, gc, s, b, depth + 1);
		if (r < 0)
			return r;
		r = cp_sig_array_shape(s, &rank);
		if (r < 0)
			return r;
		if (rank > 32)		/* the runtime's own limit on array ranks */
			return -EBADMSG;
		sb_putc(b, '[');
		if (rank <= 1)
			sb_putc(b, '*');
		for (uint32_t i = 1; i < rank; i++)
			sb_putc(b, ',');
		sb_putc(b, ']');
		return 0;
	case CP_ELEMENT_VAR:
	case CP_ELEMENT_MVAR: {
		bool var = e.type == CP_ELEMENT_VAR;
		uint32_t owner = var ? gc->type : gc->method;
		r = owner ? generic_param_name(md, var ? CP_MD_TYPEDEF : CP_MD_METHODDEF, owner, e.number, &name)
			  : -ENOENT;
		if (r == -ENOENT) {
			/* ILDasm's notation, for a parameter the metadata does not name */
			sb_put_number(b, var ? "!" : "!!", e.number);
			return 0;
		}
		if (r < 0)
			return r;
		sb_puts_escaped(b, name);
		return 0;
	}
	case CP_ELEMENT_FNPTR:
		/* A function pointer parameter reads back as IntPtr. */
		sb_puts(b, "IntPtr");
		return skip_method_sig(s, depth + 1);
	default:
		return -EBADMSG;
	}
}

/* Is TypeDef @row, or a base of it in this module, declared to implement @ns.@name? */
static int implements(const struct cp_md *md, uint32_t row, const char *ns, const char *name)
{
	for (unsigned depth = 0; row && depth < MAX_NESTING; depth++) {
		uint32_t first, end, v, irow, extends;
		enum cp_md_table table;
		const char *ins, *iname;

		int r = cp_md_find(md, CP_MD_INTERFACEIMPL, CP_MD_INTERFACEIMPL_CLASS, row, &first, &end);
		if (r < 0)
			return r;
		for (uint32_t i = first; i < end; i++) {
			r = cp_md_cell(md, CP_MD_INTERFACEIMPL, i, CP_MD_INTERFACEIMPL_INTERFACE, &v);
			if (r < 0)
				return r;
			r = cp_md_decode(CP_MD_CODED_TYPEDEFORREF, v, &table, &irow);
			if (r < 0)
				return r;
			if (table == CP_MD_TYPESPEC)	/* a generic interface: not one we look for */
				continue;
			r = cp_md_type_name(md, table, irow, &ins, &iname);
			if (r < 0)
				return r;
			if (!strcmp(ins, ns) && !strcmp(iname, name))
				return 1;
		}
		r = cp_md_cell(md, CP_MD_TYPEDEF, row, CP_MD_TYPEDEF_EXTENDS, &v);
		if (r < 0)
			return r;
		if (!v || cp_md_decode(CP_MD_CODED_TYPEDEFORREF, v, &table, &extends) < 0 ||
		    table != CP_MD_TYPEDEF || extends == row)
			return 0;
		row = extends;
	}
	return 0;
}

static const char compiler_services[] = "System.Runtime.CompilerServices";

/* The string argument of a custom attribute whose constructor takes one (a SerString,
 * II.23.3): its bytes in *@s_ret / *@n_ret. -ENOENT for a null string. */
static int attribute_string(const struct cp_md *md, uint32_t ca, const char **s_ret, uint32_t *n_ret)
{
	uint32_t n;
	uint16_t prolog;
	struct cp_sig s;

	int r = cell_blob(md, CP_MD_CUSTOMATTRIBUTE, ca, CP_MD_CUSTOMATTRIBUTE_VALUE, &s);
	if (r < 0)
		return r;
	r = cp_sig_u16(&s, &prolog);
	if (r < 0)
		return r;
	if (prolog != 1)
		return -EBADMSG;
	if (cp_sig_done(&s))
		return -EBADMSG;
	if (*s.p == 0xff)
		return -ENOENT;
	r = cp_sig_uint(&s, &n);
	if (r < 0)
		return r;
	if (n > (size_t)(s.end - s.p))
		return -EBADMSG;
	*s_ret = (const char *)s.p;
	*n_ret = n;
	return 0;
}

/* Does the state machine attribute's type name @s/@n (a serialised System.Type: the type's
 * FullName, assembly-qualified when in another assembly) name @fullname? */
static bool names_type(const char *s, uint32_t n, const char *fullname)
{
	size_t len = strlen(fullname);
	if (n < len || memcmp(s, fullname, len))
		return false;
	return n == len || s[len] == ',';
}

/* TryResolveStateMachineMethod: the method of @type's enclosing type whose state machine
 * attribute names @type. 1 when found (*method_ret, *type_ret; *iterator_ret for the
 * iterator kinds), 0 when not, or -errno. */
static int resolve_state_machine(const struct cp_md *md, uint32_t type, uint32_t *method_ret,
				 uint32_t *type_ret, bool *iterator_ret)
{
	uint32_t parent, first, end;
	struct sb *full = calloc(1, sizeof(*full));
	int r;

	if (!full)
		return -ENOMEM;
	r = cp_md_enclosing_type(md, type, &parent);
	if (r < 0)
		goto out;
	r = typedef_fullname(md, type, full, 0);
	if (r < 0)
		goto out;
	r = -ENAMETOOLONG;
	if (full->over)
		goto out;
	r = cp_md_list(md, CP_MD_TYPEDEF, parent, CP_MD_TYPEDEF_METHODLIST, &first, &end);
	if (r < 0)
		goto out;
	for (uint32_t m = first; m < end; m++) {
		uint32_t coded, cfirst, cend;
		r = cp_md_encode(CP_MD_CODED_HASCUSTOMATTRIBUTE, CP_MD_METHODDEF, m, &coded);
		if (r < 0)
			goto out;
		r = cp_md_find(md, CP_MD_CUSTOMATTRIBUTE, CP_MD_CUSTOMATTRIBUTE_PARENT, coded, &cfirst, &cend);
		if (r < 0)
			goto out;
		for (uint32_t ca = cfirst; ca < cend; ca++) {
			const char *ns, *name, *s;
			uint32_t n;
			bool iterator;
			if (cp_md_attribute_type(md, ca, &ns, &name) < 0 || strcmp(ns, compiler_services))
				continue;
			if (!strcmp(name, "AsyncStateMachineAttribute"))
				iterator = false;
			else if (!strcmp(name, "IteratorStateMachineAttribute") ||
				 !strcmp(name, "AsyncIteratorStateMachineAttribute"))
				iterator = true;
			else
				continue;
			if (attribute_string(md, ca, &s, &n) < 0 || !names_type(s, n, full->buf))
				continue;
			*method_ret = m;
			*type_ret = parent;
			*iterator_ret = iterator;
			r = 1;
			goto out;
		}
	}
	r = 0;
out:
	free(full);
	return r == -ENOENT ? 0 : r;
}

/* ShowInStackTrace's negation for MethodDef @method of TypeDef @type. */
static bool hidden(const struct cp_md *md, uint32_t method, uint32_t type)
{
	uint32_t impl;
	if (cp_md_cell(md, CP_MD_METHODDEF, method, CP_MD_METHODDEF_IMPLFLAGS, &impl) == 0 &&
	    (impl & IMPL_AGGRESSIVE_INLINING))
		return true;
	if (cp_md_has_attribute(md, CP_MD_METHODDEF, method, "System.Diagnostics", "StackTraceHiddenAttribute", NULL) > 0)
		return true;
	return type && cp_md_has_attribute(md, CP_MD_TYPEDEF, type, "System.Diagnostics",
					   "StackTraceHiddenAttribute", NULL) > 0;
}

/* "(Int32 id, String[] args)" of MethodDef @method, generic context @gc. */
static int parameters(const struct cp_md *md, uint32_t method, const struct generic_context *gc, struct sb *b)
{
	uint32_t pfirst, pend;
	struct cp_sig s;
	struct cp_sig_method h;

	int r = cell_blob(md, CP_MD_METHODDEF, method, CP_MD_METHODDEF_SIGNATURE, &s);
	if (r < 0)
		return r;
	r = cp_sig_method_header(&s, &h);
	if (r < 0)
		return r;
	if (h.n_params > CP_CLRNAME_MAX)
		return -EBADMSG;
	r = cp_sig_skip_type(&s, MAX_DEPTH);	/* the return type */
	if (r < 0)
		return r;
	r = cp_md_list(md, CP_MD_METHODDEF, method, CP_MD_METHODDEF_PARAMLIST, &pfirst, &pend);
	if (r < 0)
		return r;
	sb_putc(b, '(');
	for (uint32_t i = 1; i <= h.n_params && !b->over; i++) {
		if (i > 1)
			sb_puts(b, ", ");
		r = sig_type_name(md, gc, &s, b, 0);
		if (r < 0)
			return r;
		/* Param rows are sorted by Sequence; 0 is the return value's. */
		for (uint32_t p = pfirst; p < pend; p++) {
			uint32_t seq, name_index;
			const char *name;
			if (cp_md_cell(md, CP_MD_PARAM, p, CP_MD_PARAM_SEQUENCE, &seq) < 0 || seq != i)
				continue;
			if (cp_md_cell(md, CP_MD_PARAM, p, CP_MD_PARAM_NAME, &name_index) < 0 ||
			    cp_md_string(md, name_index, &name) < 0)
				break;
			sb_putc(b, ' ');
			sb_puts(b, name);
			break;
		}
	}
	sb_putc(b, ')');
	return 0;
}

int cp_clrname_format(const struct cp_md *md, uint32_t token, char **ret, unsigned *flags_ret)
{
	uint32_t method = cp_md_token_row(token), type, shown, shown_type, v;
	bool iterator = false, changed = false, is_async = false;
	unsigned flags = 0;
	const char *name, *orig_name;
	int r;

	if (cp_md_token_table(token) != CP_MD_METHODDEF || !method || method > cp_md_rows(md, CP_MD_METHODDEF))
		return -ERANGE;
	r = cp_md_method_owner(md, method, &type);
	if (r < 0)
		return r;
	r = cp_md_cell(md, CP_MD_METHODDEF, method, CP_MD_METHODDEF_NAME, &v);
	if (r < 0)
		return r;
	r = cp_md_string(md, v, &orig_name);
	if (r < 0)
		return r;
	if (hidden(md, method, type))
		flags |= CP_CLRNAME_HIDDEN;

	shown = method;
	shown_type = type;
	if (cp_md_has_attribute(md, CP_MD_TYPEDEF, type, compiler_services, "CompilerGeneratedAttribute", NULL) > 0 &&
	    ((is_async = implements(md, type, compiler_services, "IAsyncStateMachine") > 0) ||
	     implements(md, type, "System.Collections", "IEnumerator") > 0)) {
		if (is_async)
			flags |= CP_CLRNAME_ASYNC;
		r = resolve_state_machine(md, type, &shown, &shown_type, &iterator);
		if (r < 0)
			return r;
		changed = r > 0 && iterator;
	}

	_cleanup_free_ struct sb *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	/* Row 1 of TypeDef is <Module>: its methods are global, with no declaring type. */
	if (shown_type != 1) {
		_cleanup_free_ struct sb *full = calloc(1, sizeof(*full));
		if (!full)
			return -ENOMEM;
		r = typedef_fullname(md, shown_type, full, 0);
		if (r < 0)
			return r;
		sb_puts_dotted(b, full->buf, full->len);
		b->over |= full->over;
		sb_putc(b, '.');
	}
	r = cp_md_cell(md, CP_MD_METHODDEF, shown, CP_MD_METHODDEF_NAME, &v);
	if (r < 0)
		return r;
	r = cp_md_string(md, v, &name);
	if (r < 0)
		return r;
	sb_puts(b, name);

	struct generic_context gc = { .type = shown_type, .method = shown };
	{
		struct cp_sig s;
		struct cp_sig_method h;
		r = cell_blob(md, CP_MD_METHODDEF, shown, CP_MD_METHODDEF_SIGNATURE, &s);
		if (r < 0)
			return r;
		r = cp_sig_method_header(&s, &h);
		if (r < 0)
			return r;
		if (h.n_generic > CP_CLRNAME_MAX)
			return -EBADMSG;
		if (h.n_generic > 0) {
			sb_putc(b, '[');
			for (uint32_t i = 0; i < h.n_generic && !b->over; i++) {
				const char *gname;
				if (i > 0)
					sb_putc(b, ',');
				r = generic_param_name(md, CP_MD_METHODDEF, shown, i, &gname);
				if (r == -ENOENT)
					sb_put_number(b, "!!", i);
				else if (r < 0)
					return r;
				else
					sb_puts_escaped(b, gname);
			}
			sb_putc(b, ']');
		}
	}
	r = parameters(md, shown, &gc, b);
	if (r < 0)
		return r;
	if (changed) {
		sb_putc(b, '+');
		sb_puts(b, orig_name);
		sb_puts(b, "()");
	}
	if (b->over)
		return -ENAMETOOLONG;
	*ret = strdup(b->buf);
	if (!*ret)
		return -ENOMEM;
	if (flags_ret)
		*flags_ret = flags;
	return 0;
}

/* ---- from the DAC's name ------------------------------------------------------------------- */

/* The end of the bracketed group that starts at @s[i] ('['), or @n if it never ends. */
static size_t group_end(const char *s, size_t i, size_t n)
{
	unsigned depth = 0;
	for (; i < n; i++) {
		if (s[i] == '[')
			depth++;
		else if (s[i] == ']' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* Does @s/@n end in a generic type's arity ("List`1")? */
static bool after_arity(const char *s, size_t n)
{
	size_t i = n;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	return i < n && i > 0 && s[i - 1] == '`';
}

/* A type name of the DAC's (@s/@n: "System.Collections.Generic.List`1[[System.Int32,
 * System.Private.CoreLib]][]", "System.String ByRef") by its short name ("List`1[]",
 * "String&"). */
static void short_type(struct sb *b, const char *s, size_t n)
{
	static const char byref[] = " ByRef";
	bool ref = false;
	char tmp[CP_CLRNAME_MAX + 1];
	size_t len = 0, start = 0;

	while (n > 0 && s[0] == ' ')
		s++, n--;
	if (n >= sizeof(byref) - 1 && !memcmp(s + n - (sizeof(byref) - 1), byref, sizeof(byref) - 1)) {
		ref = true;
		n -= sizeof(byref) - 1;
	}
	/* Instantiations ("[[...]]" after a type, "<...>" after its `arity) dropped; array
	 * ranks ("[]", "[,]") kept. */
	for (size_t i = 0; i < n && len < sizeof(tmp) - 1;) {
		if (s[i] == '[' && i + 1 < n && s[i + 1] == '[') {
			i = group_end(s, i, n);
			continue;
		}
		if (s[i] == '<' && after_arity(tmp, len)) {
			unsigned depth = 0;
			for (; i < n; i++) {
				if (s[i] == '<')
					depth++;
				else if (s[i] == '>' && --depth == 0)
					break;
			}
			i++;
			continue;
		}
		tmp[len++] = s[i++];
	}
	/* The name after the last namespace or nesting separator outside brackets. */
	unsigned depth = 0;
	for (size_t i = 0; i < len; i++) {
		if (tmp[i] == '[')
			depth++;
		else if (tmp[i] == ']' && depth)
			depth--;
		else if (!depth && (tmp[i] == '.' || tmp[i] == '+'))
			start = i + 1;
	}
	sb_putn(b, tmp + start, len - start);
	if (ref)
		sb_putc(b, '&');
}

/* Each top-level item of @s/@n separated by @sep (',' outside brackets), to short_type(),
 * joined by @join. @inst: the items are instantiation arguments "[Type, Assembly]". */
static void short_list(struct sb *b, const char *s, size_t n, const char *join, bool inst)
{
	unsigned depth = 0;
	size_t start = 0;
	bool first = true;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && (s[i] == '[' || s[i] == '<' || s[i] == '('))
			depth++;
		else if (i < n && (s[i] == ']' || s[i] == '>' || s[i] == ')') && depth)
			depth--;
		if (i < n && (s[i] != ',' || depth))
			continue;
		const char *item = s + start;
		size_t len = i - start;
		start = i + 1;
		while (len > 0 && *item == ' ')
			item++, len--;
		if (!len)
			continue;
		if (inst) {
			/* "[System.Int32, System.Private.CoreLib]": the type before the assembly */
			if (item[0] == '[') {
				item++;
				len = len > 1 && item[len - 2] == ']' ? len - 2 : len - 1;
			}
			unsigned d = 0;
			for (size_t k = 0; k < len; k++) {
				if (item[k] == '[')
					d++;
				else if (item[k] == ']' && d)
					d--;
				else if (item[k] == ',' && !d) {
					len = k;
					break;
				}
			}
		}
		if (!first)
			sb_puts(b, join);
		first = false;
		short_type(b, item, len);
	}
}

/* "<Name>d__N" or "<Name>d__N`K": the state machine the C# and VB compilers make for an
 * async method or an iterator; @name_ret/@len_ret the method's name. */
static bool state_machine_name(const char *s, size_t n, const char **name_ret, size_t *len_ret)
{
	if (n < 6 || s[0] != '<')
		return false;
	const char *close = memchr(s, '>', n);
	if (!close || close == s + 1)
		return false;
	size_t i = (size_t)(close - s) + 1;
	if (n - i < 4 || memcmp(s + i, "d__", 3))
		return false;
	i += 3;
	size_t digits = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == digits)
		return false;
	if (i < n && s[i] == '`') {
		size_t k = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == k)
			return false;
	}
	if (i != n)
		return false;
	*name_ret = s + 1;
	*len_ret = (size_t)(close - s) - 1;
	return true;
}

/* cp_clrname_from_dac(), and whether it named an async state machine's MoveNext. */
static char *from_dac(const char *dac_name, bool *state_machine_ret)
{
	*state_machine_ret = false;
	if (!dac_name)
		return NULL;
	size_t n = strlen(dac_name);
	if (n == 0 || n > CP_CLRNAME_MAX)
		return NULL;
	const char *s = dac_name;

	/* The parameter list: the parenthesis that closes the name, and its opening. */
	size_t head = n, popen = n, pclose = n;
	if (s[n - 1] == ')') {
		unsigned depth = 0;
		for (size_t i = n; i-- > 0;) {
			if (s[i] == ')')
				depth++;
			else if (s[i] == '(' && --depth == 0) {
				popen = i;
				break;
			}
		}
		if (popen < n) {
			head = popen;
			pclose = n - 1;
		}
	}

	/* The head without instantiations; the method's own (the last group, at the end)
	 * kept aside. */
	char typ[CP_CLRNAME_MAX + 1];
	size_t tlen = 0, minst = 0, minst_len = 0;
	for (size_t i = 0; i < head;) {
		if (s[i] == '[') {
			size_t end = group_end(s, i, head);
			if (end == head && end - i >= 4 && s[i + 1] == '[' && s[end - 1] == ']') {
				minst = i;
				minst_len = end - i;
			}
			i = end;
			continue;
		}
		typ[tlen++] = s[i++];
	}
	typ[tlen] = '\0';

	/* Type and method: ".ctor"/".cctor", else after the last '.' outside <...>. */
	size_t mstart = 0;
	if (tlen > 6 && !memcmp(typ + tlen - 6, "..ctor", 6))
		mstart = tlen - 5;
	else if (tlen > 7 && !memcmp(typ + tlen - 7, "..cctor", 7))
		mstart = tlen - 6;
	else {
		unsigned depth = 0;
		for (size_t i = 0; i < tlen; i++) {
			if (typ[i] == '<')
				depth++;
			else if (typ[i] == '>' && depth)
				depth--;
			else if (typ[i] == '.' && !depth)
				mstart = i + 1;
		}
	}
	const char *method = typ + mstart;
	size_t mlen = tlen - mstart, type_len = mstart ? mstart - 1 : 0;
	bool params_known = popen < n;

	/* An async method's state machine: "Orders+<FireAndForget>d__0.MoveNext()" is
	 * printed as the method "Orders.FireAndForget" (its parameters are not known here). */
	if (mlen == 8 && !memcmp(method, "MoveNext", 8)) {
		const char *plus = NULL;
		for (size_t i = type_len; i-- > 0;)
			if (typ[i] == '+') {
				plus = typ + i;
				break;
			}
		const char *sm_name;
		size_t sm_len;
		if (plus && state_machine_name(plus + 1, (size_t)(typ + type_len - plus - 1), &sm_name, &sm_len)) {
			type_len = (size_t)(plus - typ);
			method = sm_name;
			mlen = sm_len;
			minst_len = 0;
			params_known = false;
			*state_machine_ret = true;
		}
	}

	_cleanup_free_ struct sb *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	if (type_len) {
		sb_puts_dotted(b, typ, type_len);
		sb_putc(b, '.');
	}
	sb_putn(b, method, mlen);
	if (minst_len >= 2) {
		sb_putc(b, '[');
		short_list(b, s + minst + 1, minst_len - 2, ",", true);
		sb_putc(b, ']');
	}
	sb_putc(b, '(');
	if (params_known)
		short_list(b, s + popen + 1, pclose - popen - 1, ", ", false);
	sb_putc(b, ')');
	if (b->over)
		return NULL;
	return strdup(b->buf);
}

char *cp_clrname_from_dac(const char *dac_name)
{
	bool state_machine;
	return from_dac(dac_name, &state_machine);
}

/* ---- the report ------------------------------------------------------------------------------ */

/* The last few names made: a deep recursion repeats one method a thousand times. */
#define MEMO_SIZE 16

struct memo_entry {
	char *assembly;
	uint32_t token;
	char *display;			/* NULL: not made */
	unsigned flags;
};

struct fill {
	cp_clrname_lookup *lookup;
	void *ctx;
	struct memo_entry memo[MEMO_SIZE];
	unsigned next;
};

/* The display of @f, a new string (NULL if none can be made), and its CP_CLRNAME_* flags. */
static char *display_of(struct fill *fl, const struct cp_frame *f, unsigned *flags_ret)
{
	char *display = NULL;

	*flags_ret = 0;
	if (fl->lookup && f->assembly && f->has_token) {
		for (unsigned i = 0; i < MEMO_SIZE; i++) {
			struct memo_entry *m = &fl->memo[i];
			if (m->display && m->token == f->token && !strcmp(m->assembly, f->assembly)) {
				*flags_ret = m->flags;
				return strdup(m->display);
			}
		}
		const struct cp_md *md;
		if (fl->lookup(fl->ctx, f->assembly, &md) == 0 &&
		    cp_clrname_format(md, f->token, &display, flags_ret) == 0) {
			struct memo_entry *m = &fl->memo[fl->next++ % MEMO_SIZE];
			char *a = strdup(f->assembly), *d = strdup(display);
			if (a && d) {
				free(m->assembly);
				free(m->display);
				m->assembly = a;
				m->display = d;
				m->token = f->token;
				m->flags = *flags_ret;
			} else {
				free(a);
				free(d);
			}
			return display;
		}
	}
	bool state_machine;
	display = from_dac(f->function, &state_machine);
	if (state_machine)
		*flags_ret |= CP_CLRNAME_ASYNC;
	return display;
}

/* Name the managed frames that have no display; a frame left without one (a name too long,
 * no memory) keeps its `function`. @stack: an exception's stack, whose segments are then
 * counted as the runtime prints them. */
static void fill_frames(struct fill *fl, struct cp_frame *frames, size_t n, bool stack)
{
	int segment = 0, prev_raw = 0;
	bool prev_unprinted = false;

	for (size_t i = 0; i < n; i++) {
		struct cp_frame *f = &frames[i];
		unsigned flags = 0;
		if (f->kind == CP_FRAME_MANAGED && (f->function || f->has_token)) {
			char *d = display_of(fl, f, &flags);
			if (!f->display)
				f->display = d;
			else
				free(d);
		}
		if (!stack)
			continue;
		/* StackTrace.ToString prints the boundary after the last frame of a segment
		 * only if it prints that frame (not hidden) and it is no async state machine's
		 * ("Skip EDI boundary for async"). */
		if (i > 0 && f->segment != prev_raw && !prev_unprinted)
			segment++;
		prev_raw = f->segment;
		prev_unprinted = flags & (CP_CLRNAME_ASYNC | CP_CLRNAME_HIDDEN);
		f->segment = segment;
	}
}

static void fill_exception(struct fill *fl, struct cp_exception *e, unsigned depth)
{
	if (!e || depth > MAX_EXCEPTION_DEPTH)
		return;
	fill_frames(fl, e->stack, e->n_stack, true);
	for (size_t i = 0; i < e->n_inners; i++)
		fill_exception(fl, e->inners[i], depth + 1);
}

int cp_clrname_fill(struct cp_report *report, cp_clrname_lookup *lookup, void *ctx)
{
	struct fill fl = { .lookup = lookup, .ctx = ctx };

	for (size_t i = 0; i < report->n_threads; i++) {
		struct cp_thread *t = &report->threads[i];
		fill_frames(&fl, t->frames, t->n_frames, false);
		fill_exception(&fl, t->exception, 0);
	}
	for (unsigned i = 0; i < MEMO_SIZE; i++) {
		free(fl.memo[i].assembly);
		free(fl.memo[i].display);
	}
	return 0;
}
