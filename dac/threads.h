#ifndef CP_DAC_THREADS_H
#define CP_DAC_THREADS_H

/*
 * threads - the managed side of the runtime's threads, for the DAC's process: which
 * System.Threading.Thread object a native runtime thread has, and that object's name
 * (Thread.Name). Runs inside the DAC's sandbox (worker.c) on memory the crashed user
 * controlled: every walk is bounded, every pointer read through the target.
 */

#include <sys/types.h>

#include "clrdata.h"

struct cp_target;
struct cp_dac_threads;

/* The runtime's thread list, read once through @sos (ISOSDacInterface). NULL when there
 * is none (no ISOSDacInterface, no memory). */
struct cp_dac_threads *cp_dac_threads_create(void *sos, struct cp_target *t);
void cp_dac_threads_destroy(struct cp_dac_threads *ts);

/* Thread.Name of the managed thread running as OS thread @tid: at most @cap UTF-16 units
 * into @buf, their number returned; 0: no managed thread, no name, or not found. */
size_t cp_dac_thread_name(struct cp_dac_threads *ts, pid_t tid, WCHAR *buf, size_t cap);

#endif
