#ifndef CP_UNWIND_H
#define CP_UNWIND_H

/*
 * unwind - native frames of every thread with libunwind (the only user of libunwind).
 */

#include <stdbool.h>
#include <stddef.h>

struct cp_core;
struct cp_target;
struct cp_modules;
struct cp_report;

/* A walk ends after this many frames: 8 MiB of stack in frames of 8 bytes. */
#define CP_UNWIND_MAX_WALK (1u << 20)

/* Unwind every thread of @core into @report->threads (which must already hold one entry
 * per core thread, in core order, with tids set), each to the bottom of its stack (at most
 * CP_UNWIND_MAX_WALK frames), keeping at most @max_frames of them (fold.h: recursive
 * cycles stored once, the first frames and the last ones, the count of those between).
 * Returns 0 or -errno; per-thread trouble is recorded in the thread's error. */
int cp_unwind_threads(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		      struct cp_report *report, size_t max_frames);

struct cp_thread;
struct user_regs_struct;

/* Unwind from the registers @regs (a context the DAC handed out), appending at most
 * @max_frames frames to @out, stopping at the first address outside every ELF module (JIT
 * code); with @start_anywhere the first frame may lie outside (a managed frame whose
 * caller may be native: libunwind steps out of it by its frame pointer). */
int cp_unwind_regs(struct cp_target *t, struct cp_modules *mods, const struct user_regs_struct *regs,
		   size_t max_frames, bool start_anywhere, struct cp_thread *out);

#endif
