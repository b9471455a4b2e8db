#ifndef CP_ANALYZE_CHILD_H
#define CP_ANALYZE_CHILD_H

/*
 * analyze-child - `crashpipe analyze`'s analysis (cp_analyze_core(): libdw, libunwind, the
 * DAC, the PDB readers, all on the core's hostile bytes) run in a confined child with a time
 * limit, as `handle` runs it; the calling process never runs them.
 */

#include <stddef.h>

struct cp_core;
struct cp_report;
struct cp_analyze_options;

/* The analysis child's time limit unless --timeout says otherwise: the DAC's own limit and
 * a minute for the rest, as in `handle`. */
#define CP_ANALYZE_TIMEOUT (CP_DEFAULT_DAC_TIMEOUT + 60)

/* Analyse @core in a child confined by cp_child_confine_analysis() (as the caller, nobody
 * for root) that must end within @timeout seconds. @r is the report as the caller has it so
 * far (the child starts from it). When the child sends a report that parses strictly and
 * lists the core's threads, *@json_ret gets its JSON (@len_ret bytes, the caller frees it)
 * and @r is unchanged. Otherwise (the child crashed, ran out of time, failed, sent too much
 * or nonsense) *@json_ret is NULL and @r holds what is known without the analysis (the
 * process, the signal, each thread with frame 0 from its registers) and a note, with
 * partial set, saying why the rest is missing. Returns 0, or -ENOMEM. */
int cp_analyze_core_isolated(struct cp_core *core, int rootfd, const struct cp_analyze_options *opts,
			     unsigned timeout, struct cp_report *r, char **json_ret, size_t *len_ret);

#endif
