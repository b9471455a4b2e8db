#ifndef CP_DAC_WORKER_H
#define CP_DAC_WORKER_H

/*
 * worker - the DAC's process: everything that runs after the fork in dac.c. It keeps only
 * its own out pipe, the DAC's fd and the target's fds (every other fd is closed before the
 * DAC is loaded), is confined (the two hooks below), loads the DAC, walks the managed
 * stacks of the core's threads and writes what it found to the out pipe in the wire
 * protocol (wire.h). Nothing it writes is trusted by the parent.
 */

#include <stddef.h>
#include <stdint.h>

struct cp_core;
struct cp_target;
struct cp_dac_options;

struct cp_dac_worker {
	int out_fd;			/* the write end of the pipe made for this process */
	int dac_fd;			/* libmscordaccore.so, checked by runtime.c */
	int dir_fd;			/* its directory: the process's root (sandbox.c) */
	const char *dac_name;		/* its name there */
	int rootfd;			/* the crashed process's root: closed before the load */
	char path[2048];		/* where the DAC is loaded from, once confined */
	struct cp_core *core;
	struct cp_target *t;
	uint64_t runtime_base;
	const struct cp_dac_options *opts;
};

#define CP_DAC_MAX_NAME 2048		/* UTF-16 units of a name from the DAC */

/* UTF-16 from the DAC (@n units at most, up to a NUL) to UTF-8 in @out (@cap bytes, NUL
 * ended); unpaired surrogates become '?'. */
void cp_dac_utf16_to_utf8(const uint16_t *in, size_t n, char *out, size_t cap);

/* The IXCLRDataMethodInstance @mi: its name and assembly (CP_DAC_MAX_NAME bytes each, left
 * as they were when unknown), token, and the IL offset of code address @ip (*@il left as it
 * was without a mapping). */
void cp_dac_method_describe(void *mi, uint64_t ip, char *name, char *assembly, uint32_t *token, uint32_t *il);

/* Run the DAC's process; never returns. */
void cp_dac_worker_run(struct cp_dac_worker *w) __attribute__((noreturn));

/*
 * The confinement hooks (the sandbox plugs in here). Each returns 0, or -errno with a
 * static reason in *@why; a failure stops the worker before the DAC is (further) used.
 *  - before_load: after the fds are closed, before dlopen (the DAC's constructors run
 *    inside dlopen): namespaces, root, ids, capabilities, no_new_privs, pdeathsig;
 *  - after_load: after the DAC is loaded and initialised and CLRDataCreateInstance has
 *    returned, before the first stack walk: the syscall filter.
 */
int cp_dac_worker_confine_before_load(struct cp_dac_worker *w, const char **why);
int cp_dac_worker_confine_after_load(struct cp_dac_worker *w, const char **why);

/* Close every fd but out_fd, dac_fd and the target's own; 0, 1 and 2 become /dev/null
 * (or stay closed). Returns 0 or -errno. */
int cp_dac_worker_close_fds(struct cp_dac_worker *w);

#endif
