#ifndef CP_CLRNAME_H
#define CP_CLRNAME_H

/*
 * clrname - a managed frame's `display`: its method exactly as the .NET runtime prints it
 * in a stack trace, the text between "   at " and " in FILE:line N" of
 * System.Diagnostics.StackTrace.ToString() ("Orders.FireAndForget(Int32 id)" for the DAC's
 * "Orders+<FireAndForget>d__0.MoveNext()"). The raw DAC name stays in `function`.
 *
 * From the assembly's ECMA-335 metadata when it can be read (cp_clrname_format: the
 * runtime's algorithm, see clrname.c), else from the DAC's name alone
 * (cp_clrname_from_dac: the same shape, without what only the metadata knows: parameter
 * names, generic parameter names).
 */

#include <stdbool.h>
#include <stdint.h>

struct cp_md;
struct cp_report;

/* The longest display made; a longer one is not made (the caller falls back). */
#define CP_CLRNAME_MAX 4096

/* What cp_clrname_format also finds out about a method. */
enum {
	/* The runtime leaves the frame out of its traces ([StackTraceHidden] on the method or
	 * its type, or AggressiveInlining), unless it is the trace's last frame. */
	CP_CLRNAME_HIDDEN = 1 << 0,
	/* The method is an async state machine's (its type a [CompilerGenerated]
	 * IAsyncStateMachine): the runtime prints no "--- End of stack trace from previous
	 * location ---" after such a frame. */
	CP_CLRNAME_ASYNC = 1 << 1,
};

/* Method @token (a MethodDef token) of @md as the runtime prints it. The new string goes to
 * *@ret, CP_CLRNAME_* flags to *@flags_ret (if not NULL). Returns 0, -ENOMEM,
 * -ENAMETOOLONG (longer than CP_CLRNAME_MAX), or the metadata reader's -errno when @md
 * does not hold the method. */
int cp_clrname_format(const struct cp_md *md, uint32_t token, char **ret, unsigned *flags_ret);

/* The display made from the DAC's method name @dac_name
 * (IXCLRDataMethodInstance::GetName: "Ns.Type+Nested`1[[Arg, Asm]].Method(System.String, Int32 ByRef)"):
 * nested types joined with '.', instantiations dropped from types, parameter types by
 * their short names, an async state machine's MoveNext() named as its method. A new
 * string; NULL for NULL, for a name longer than CP_CLRNAME_MAX, or on ENOMEM. */
char *cp_clrname_from_dac(const char *dac_name);

/* How cp_clrname_fill gets the metadata of the assembly at @path (as the DAC names it):
 * 0 and *@md_ret (owned by @ctx, valid until the fill returns), or -errno. */
typedef int cp_clrname_lookup(void *ctx, const char *path, const struct cp_md **md_ret);

/* Fill `display` of every managed frame of @report that has none: the threads' frames and
 * the exceptions' stacks, inner exceptions too. Each method is named from its assembly's
 * metadata, which @lookup gives (srclines reads every assembly once per analysis), else
 * (no @lookup, no metadata, a method it does not hold) from the DAC's name. A frame left
 * without one keeps its `function`.
 * An exception stack's `segment`s then count only the boundaries the runtime prints: one
 * after a hidden frame or an async state machine's is not (CP_CLRNAME_HIDDEN,
 * CP_CLRNAME_ASYNC), so the segments on either side of it become one. Returns 0. */
int cp_clrname_fill(struct cp_report *report, cp_clrname_lookup *lookup, void *ctx);

#endif
