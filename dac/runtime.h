#ifndef CP_DAC_RUNTIME_H
#define CP_DAC_RUNTIME_H

/*
 * runtime - finding the crashed process's .NET runtime (libcoreclr.so, or a single-file
 * app's DotNetRuntimeInfo export), its version and its DAC, and deciding whether that DAC
 * may be loaded at all. Runs in the analysis process; loads nothing.
 *
 * The trust policy:
 *  - the runtime on disk must be the one the process ran (build-id of libcoreclr.so);
 *  - when the runtime names its DAC's build-id (DotNetRuntimeInfo: single-file apps; the
 *    shared framework's libcoreclr.so exports no such record, checked on .NET 8 and 10),
 *    the DAC's build-id must be that one, wherever it comes from;
 *  - with CP_DAC_TRUST_SYSTEM (`analyze` without --dac, --runtime-dir or --sysroot), a DAC
 *    found through the core's own paths is loaded only from a directory chain that is
 *    root-owned and not writable by group or others, the file itself root-owned, not group-
 *    or other-writable, regular, opened without following links; a runtime that names
 *    no DAC build-id is trusted on the directory alone;
 *  - with CP_DAC_TRUST_NAMED (the user named the DAC, its directory or the sysroot) the
 *    named file is used;
 *  - with CP_DAC_TRUST_ROOT (`handle`) the DAC is opened inside the crashed process's own
 *    root and runs confined (see worker.h).
 * Anything refused is a note in runtime.dac_error saying why and how to name a DAC.
 */

#include <stdint.h>

struct cp_core;
struct cp_target;
struct cp_modules;
struct cp_report;
struct cp_dac_options;

enum cp_dac_trust {
	CP_DAC_TRUST_ROOT,	/* handle: the crashed process's root, DAC confined */
	CP_DAC_TRUST_SYSTEM,	/* analyze: root-owned runtime directories only */
	CP_DAC_TRUST_NAMED,	/* analyze with --dac, --runtime-dir or --sysroot */
};

/* Find the runtime of a .NET @core and fill report->runtime (present, directory, version);
 * then find, open and check its DAC. Returns 0 with *@dac_fd_ret an fd of the DAC to load
 * and *@runtime_base_ret the runtime's load address, or 0 with *@dac_fd_ret -1 and
 * report->runtime.dac_error saying why not (also when @core is not .NET: then nothing is
 * set), or -ENOMEM. */
int cp_dac_runtime_find(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
			struct cp_report *report, int rootfd, const struct cp_dac_options *opts,
			uint64_t *runtime_base_ret, int *dac_fd_ret);

/* Open @path (absolute) for reading only if every directory from / down to it is owned by
 * root and not writable by group or others, and it is a regular file with the same
 * properties; no symbolic link is followed. Returns an fd or -errno; *@why (static text)
 * says what failed for -EPERM. */
int cp_dac_open_trusted(const char *path, const char **why);

#endif
