#ifndef CP_DAC_H
#define CP_DAC_H

/*
 * dac - managed frames and exceptions of a .NET process through the runtime's own DAC
 * (libmscordaccore.so). The only code that knows the DAC exists.
 *
 * The DAC is a large C++ library from the crashed process's runtime directory, parsing
 * memory the crashed user controlled. It runs in a child process of its own, without
 * root's privileges, with a time limit, and speaks to us through a pipe: when it crashes,
 * hangs or fails, the report keeps its native frames and says why the managed ones are
 * missing. It is also out of reach of libunwind: a libunwind that unmaps a range twice
 * (upstream issue 738) in our process cannot free memory the DAC was given.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime.h"

struct cp_core;
struct cp_target;
struct cp_modules;
struct cp_report;

struct cp_dac_options {
	const char *dac_path;		/* --dac: use this DAC */
	const char *runtime_dir;	/* --runtime-dir: look for the DAC here */
	bool disabled;			/* --no-dac: report the runtime, skip the DAC */
	enum cp_dac_trust trust;	/* where a DAC may come from (runtime.h) */
	size_t max_frames;
	unsigned timeout;		/* seconds for the DAC child */
	bool drop_privileges;		/* run the DAC as @uid/@gid (when root) */
	uid_t uid;
	gid_t gid;
};

/* The DAC's process at work. */
struct cp_dac_run {
	pid_t child;
	int fd;
	struct cp_core *core;
};

/* Add the runtime to @report and start the DAC's process, which walks the managed stacks
 * while the caller unwinds the native ones. Failures are noted in report->runtime.dac_error;
 * returns -errno only on ENOMEM. cp_dac_finish() must follow, whatever this returned. */
int cp_dac_start(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
		 struct cp_report *report, int rootfd, const struct cp_dac_options *opts, struct cp_dac_run *run);

/* Wait for the DAC's process and add the managed frames and exceptions to @report, whose
 * threads hold their native frames by now. */
int cp_dac_finish(struct cp_target *t, struct cp_modules *mods, struct cp_report *report,
		  const struct cp_dac_options *opts, struct cp_dac_run *run);

#endif
