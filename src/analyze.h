#ifndef CP_ANALYZE_H
#define CP_ANALYZE_H

/*
 * analyze - the pipeline shared by `crashpipe analyze` and `crashpipe handle`: from a read
 * core to a filled report (process facts, threads, frames, modules, notes).
 */

#include <stdbool.h>
#include <stddef.h>

#include "dac.h"
#include "locate.h"

struct cp_core;
struct cp_report;

#define CP_DEFAULT_MAX_FRAMES 1024
#define CP_DEFAULT_DAC_TIMEOUT 60

struct cp_analyze_options {
	size_t max_frames;
	bool no_dac;			/* native frames only */
	const char *debug_cache;	/* decompressed debuginfo to use (debugcache.h), or NULL */
	bool exiting;			/* the caller exits next: leave libdw's memory to the kernel */
	const char *symbol_path;	/* ':'-separated directories of portable PDBs, or NULL */
	struct cp_locate_options locate;	/* --exe, --module-dir, --debug-dir, debuginfod */
	int live_fd;			/* /proc/PID/mem of the process being dumped (handle), or -1 */
	struct cp_dac_options dac;
};

/* Defaults, with the DAC run as @uid/@gid when we are root (nobody for a root process). */
void cp_analyze_options_init(struct cp_analyze_options *opts, uid_t uid, gid_t gid);

/* Fill @report from @core; files are opened inside @rootfd. Whatever fails is noted in the
 * report, which is then partial; returns -errno only when no report can be made at all. */
int cp_analyze_core(struct cp_core *core, int rootfd, const struct cp_analyze_options *opts,
		    struct cp_report *report);

/* What is known of @core without analysing it (no libdw, no libunwind): the process, the
 * signal, the core's own problems, and each thread with frame 0 from its registers. For a
 * report whose analysis failed. Returns 0 or -ENOMEM. */
int cp_analyze_core_registers_only(struct cp_core *core, struct cp_report *report);

/* Does @report, as an analysis child sent it, list exactly @core's threads? The same tids as
 * many times as the core has each (a hostile core may repeat a tid, or give several threads
 * none), and with @each_once no tid twice (the kernel's core of a live crash, in handle). */
bool cp_analyze_same_threads(const struct cp_report *report, const struct cp_core *core, bool each_once);

/* `crashpipe analyze`'s path for a saved core open at @fd (plain or compressed): read here,
 * analysed in the confined child (analyze-child.h: cp_analyze_core_isolated(), whose
 * *@json_ret, *@len_ret and @report it passes on). @path names the file in messages and
 * tells whether systemd-coredump stored it (NULL: standard input). Logs one line naming it
 * and returns -errno when the core cannot be read or no report made. */
int cp_analyze_saved_core(int fd, const char *path, int rootfd, const struct cp_analyze_options *opts,
			  unsigned timeout, struct cp_report *report, char **json_ret, size_t *len_ret);

/* Parse a --max-frames argument (1 to 1000000). Returns 0 or -EINVAL. */
int cp_parse_max_frames(const char *arg, size_t *ret);

int cp_cmd_analyze(int argc, char **argv);

#endif
