#ifndef CP_ANALYZE_H
#define CP_ANALYZE_H

/*
 * analyze - the pipeline shared by `crashpipe analyze` and `crashpipe handle`: from a read
 * core to a filled report (process facts, threads, frames, modules, notes).
 */

#include <stddef.h>

struct cp_core;
struct cp_report;

#define CP_DEFAULT_MAX_FRAMES 1024

/* Fill @report from @core; files are opened inside @rootfd. Whatever fails is noted in the
 * report, which is then partial; returns -errno only when no report can be made at all. */
int cp_analyze_core(struct cp_core *core, int rootfd, size_t max_frames, struct cp_report *report);

/* Parse a --max-frames argument (1 to 1000000). Returns 0 or -EINVAL. */
int cp_parse_max_frames(const char *arg, size_t *ret);

int cp_cmd_analyze(int argc, char **argv);

#endif
