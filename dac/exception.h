#ifndef CP_DAC_EXCEPTION_H
#define CP_DAC_EXCEPTION_H

/*
 * exception - a managed exception object as the DAC's process sends it (wire.h): its type,
 * message and HRESULT, the stack trace the object recorded where it was thrown (its
 * _stackTrace, every segment an ExceptionDispatchInfo rethrow added), and the same for
 * its inner exceptions: InnerException, or all of an AggregateException's. Runs in the
 * DAC's process only (worker.c calls it); what it reads is the crashed process's memory,
 * so every count and length is bounded before use.
 */

#include <stddef.h>
#include <stdint.h>

struct cp_target;

struct cp_dac_exception_ctx {
	int out;			/* the wire */
	void *process;			/* IXCLRDataProcess */
	void *sos, *sos2;		/* ISOSDacInterface, ISOSDacInterface2 (may be NULL) */
	struct cp_target *t;
	size_t max_frames;		/* per exception stack */
};

/* Send the exception object at @obj and its inner ones: EXCEPTION records (a tree, @obj
 * its root), each followed by its EXCEPTION_FRAMEs. At most CP_WIRE_MAX_EXCEPTIONS of them,
 * CP_WIRE_MAX_EXCEPTION_DEPTH deep, CP_DAC_MAX_AGGREGATE inner ones of an aggregate. */
#define CP_DAC_MAX_AGGREGATE 64u
void cp_dac_exception_send(const struct cp_dac_exception_ctx *c, uint64_t obj);

#endif
