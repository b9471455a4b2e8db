#ifndef CP_CHILD_H
#define CP_CHILD_H

/*
 * child - the worker processes of crashpipe (the analysis in handle, the DAC's process):
 * starting one confined (sandbox.h), and collecting what it writes to a pipe with a hard
 * deadline: the parent kills and reaps a child that runs out of time or writes too much,
 * and keeps whatever it had written by then.
 */

#include <stddef.h>
#include <sys/types.h>

/* fork(), remembering our pid for the child's cp_child_confine(). */
pid_t cp_child_fork(void);

/* Confine a worker process just forked by cp_child_fork(), in this order: when root, drop
 * the capability bounding set, then setgroups(0), setresgid(), setresuid() to @uid/@gid (uid
 * 0 and gid 0 become nobody: cp_sandbox_uid()), clear every capability; then the
 * parent-death signal (after the uid change, which clears it) and a check that the parent
 * is still there; no_new_privs, not dumpable; SIGALRM after @timeout seconds. Logs the step
 * that failed and returns -errno: the caller must then exit. */
int cp_child_confine(unsigned timeout, uid_t uid, gid_t gid);

/* cp_child_confine(), then the analysis' seccomp filter (cp_sandbox_deny(), letting a DAC's
 * process forked later enter its own sandbox). */
int cp_child_confine_analysis(unsigned timeout, uid_t uid, gid_t gid);

/* The DAC's process, confined with cp_child_confine(), before it loads the DAC: every fd
 * but the @n in @keep closed, the DAC's runtime libraries loaded from the host, its own
 * user, mount, network and IPC namespace with @dirfd as its root, no capability, the
 * parent-death signal again, and the deny filter without unshare() or chroot(). On failure
 * *@why says what failed; the DAC must not be loaded. */
int cp_child_enter_dac_sandbox(int dirfd, const int *keep, size_t n, const char **why);

/* Read @fd until EOF, @max bytes, or @timeout seconds. A child that writes more than @max
 * bytes or outlives @timeout is killed (SIGKILL) at once; the caller still reaps it.
 * *@buf_ret gets a NUL-terminated buffer (NULL on ENOMEM) of at most @max bytes. */
void cp_child_read(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret, size_t *len_ret);

/* Reap @child into *@status_ret, waiting at most @timeout seconds before killing it
 * (SIGKILL) and reaping it. */
void cp_child_reap(pid_t child, unsigned timeout, int *status_ret);

/* cp_child_read(), then cp_child_reap() within what is left of the same @timeout. */
void cp_child_collect(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret,
		      size_t *len_ret, int *status_ret);

#endif
