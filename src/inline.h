#ifndef CP_INLINE_H
#define CP_INLINE_H

/*
 * inline - inline frames: the calls the compiler inlined into a physical native frame,
 * from DWARF's DW_TAG_inlined_subroutine scopes at the frame's lookup address, as gdb and
 * `eu-stack -i` show them.
 *
 * A physical frame whose lookup address lies in K nested inlined subroutines becomes K + 1
 * frames, innermost first: K frames of kind "inline" (the physical frame's ip, sp and
 * module; the inlined function's name; the line the pc is at in it, or for the outer ones
 * the line where the next inner one was inlined), then the physical frame itself, its
 * function the symbol's, its file and line where the outermost inlined call was made.
 *
 * The expansion runs last, on the frames as they are kept: after the frame cap and the
 * folding of cycles (fold.h) and after the DAC's frames are merged in, so --max-frames
 * counts physical frames and a physical frame and its inline frames are kept or left out
 * together. A folded cycle's length and the place of the left-out frames are counted in
 * the expanded frames.
 *
 * This file is the only one that reads DW_TAG_inlined_subroutine: modules.c asks it for
 * a chain (when no symcache knows the module), symcache.c for every inline range of a
 * module when it builds one.
 */

#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdw.h>

struct cp_modules;
struct cp_report;
struct cp_thread;

/* The deepest inline chain kept for one frame; deeper ones (hostile DWARF) keep their
 * innermost CP_INLINE_MAX_DEPTH. */
#define CP_INLINE_MAX_DEPTH 64u

/* One inlined call: the inlined function's name (raw: the DIE's linkage name, else its
 * name; the caller demangles it), and where it was called from. The strings belong to
 * whoever filled the chain (libdw's data, a symcache's mapping) and live as long as it. */
struct cp_inline_call {
	const char *name;
	const char *call_file;		/* NULL: unknown */
	int call_line;			/* 0: unknown */
};

/* The inlined calls at an address, innermost first. */
struct cp_inline_chain {
	struct cp_inline_call calls[CP_INLINE_MAX_DEPTH];
	size_t n;
};

/* The chain at @addr (in the Dwarf's own addresses) of the compilation unit @cu. Returns
 * the number of calls (0: none, or unknown). */
size_t cp_inline_chain_dwarf(Dwarf_Die *cu, uint64_t addr, struct cp_inline_chain *ret);

/* Every address range of every inlined subroutine of @dw, each with its depth (0: inlined
 * straight into a subprogram, +1 per inlined subroutine around it): @cb is called with
 * [@low, @high) and the call; a non-zero return from @cb stops the walk and is returned.
 * Returns 0, or what @cb returned. */
typedef int (*cp_inline_range_cb)(void *arg, uint64_t low, uint64_t high, unsigned depth,
				  const struct cp_inline_call *call);
int cp_inline_walk(Dwarf *dw, cp_inline_range_cb cb, void *arg);

/* Expand every native frame of every thread of @report that has a lookup address into its
 * inline frames (above). Frames without DWARF, managed frames and exception stacks are
 * left as they are. Returns 0 or -ENOMEM (the thread at hand then keeps its frames
 * unexpanded). */
int cp_inline_expand_report(struct cp_modules *mods, struct cp_report *report);
int cp_inline_expand_thread(struct cp_modules *mods, struct cp_thread *th);

#endif
