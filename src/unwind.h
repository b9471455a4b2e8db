#ifndef CP_UNWIND_H
#define CP_UNWIND_H

/*
 * unwind - native frames of every thread with libunwind (the only user of libunwind).
 */

#include <stddef.h>

struct cp_core;
struct cp_target;
struct cp_modules;
struct cp_report;

/* Unwind every thread of @core into @report->threads (which must already hold one entry
 * per core thread, in core order, with tids set), at most @max_frames frames each.
 * Returns 0 or -errno; per-thread trouble is recorded in the thread's error. */
int cp_unwind_threads(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		      struct cp_report *report, size_t max_frames);

#endif
