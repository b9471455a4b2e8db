#ifndef CP_CHAIN_H
#define CP_CHAIN_H

/*
 * chain - chain mode: crashpipe is the core_pattern handler and hands every core on to the
 * handler that was there before (systemd-coredump, usually), as the kernel would have run it.
 *
 * `install --chain` keeps the old pattern in SPOOL/.chain and makes crashpipe's pattern end
 * in "--chain" plus every argument of the old one that holds a % specifier crashpipe's own
 * arguments (%P %i %u %g %s %t %c %h %F) do not already carry: so the kernel expands them
 * all, and `handle` rebuilds the old handler's argv exactly. `handle` then runs that handler
 * as the kernel would (root, an empty environment, only stdin open, cwd /), its stdin a pipe
 * fed with every byte of the core from the spill (spill.h) by a process of its own, at the
 * other handler's pace: the dying process is held until handle has read the core and the
 * other handler has started to read (by then it has read /proc/PID), not until it has
 * read it all. The other handler can cost only its own core: it may delay crashpipe at most
 * the chain timeout in all, after which it is cut off (and killed if still there).
 */

#include <stdbool.h>
#include <sys/types.h>

#define CP_CHAIN_FILE ".chain"
#define CP_CHAIN_MARKER "--chain"
#define CP_DEFAULT_CHAIN_TIMEOUT 10	/* seconds */

struct cp_chain;
struct cp_spill;

/* install: *@suffix_ret is what crashpipe's pattern must end with to chain to @old_pattern
 * (the core_pattern being replaced, "|/path args..."): " --chain" and the arguments the
 * kernel has to expand. -EINVAL when @old_pattern is not a pipe to an absolute path. */
int cp_chain_suffix(const char *old_pattern, char **suffix_ret);

/* install: save @old_pattern as @spool_fd/.chain (root's, 0600), for handle. */
int cp_chain_save(int spool_fd, const char *old_pattern);

/* uninstall: forget the saved handler. */
void cp_chain_uninstall(int spool_fd);

/* The kernel's expansion of crashpipe's own arguments, raw strings as they arrived (NULL
 * when missing), for the old handler's tokens that are exactly one of them. */
struct cp_chain_args {
	const char *pid, *tid, *uid, *gid, *signal, *time, *rlimit, *hostname, *pidfd;
};

/* handle: read @spool_fd/.chain (a regular file of root's only root can write, else
 * refused), build the old handler's argv from it, @args and @extra (the @n_extra arguments
 * after "--chain"), and start it. Returns 0 with *@ret, or -errno (logged). */
int cp_chain_start(int spool_fd, const struct cp_chain_args *args, char **extra, int n_extra,
		   unsigned timeout, int pidfd, struct cp_chain **ret);

/* Feed it the core from @spill (before the first byte is written to it): forks the feeder.
 * Returns 0 or -errno (the other handler then gets an empty core). */
int cp_chain_attach(struct cp_chain *ch, struct cp_spill *spill);

/* The core is read: wait, within what is left of the timeout, until the other handler has
 * started to read it (or is gone). Call before letting the process go. */
void cp_chain_release(struct cp_chain *ch);

/* After the report: wait for the feeder and the other handler to exit within what is left
 * of the timeout; killed past it. */
void cp_chain_finish(struct cp_chain *ch);

/* NULL is a no-op. */
void cp_chain_destroy(struct cp_chain *ch);

/* Shared by install and handle: does old-handler argument @tok need the kernel's expansion
 * (a % that is not exactly one of crashpipe's own specifiers)? */
bool cp_chain_token_expands(const char *tok);

#endif
