#ifndef CP_SANDBOX_H
#define CP_SANDBOX_H

/*
 * sandbox - what a worker process of crashpipe may still do: the privileges it gives up, the
 * namespaces it enters and the system calls it keeps. The only code that calls setresuid(),
 * unshare(), chroot(), capset() or libseccomp. See sandbox.c for the order and the reasons.
 *
 * Every function returns 0 or -errno; a worker whose confinement failed must stop (never go
 * on with more privilege than intended).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The user and group a worker runs as, given the crashed process's: uid 0 becomes nobody
 * (65534), and so does gid 0 (whatever the uid): a worker is never host root, not even
 * root's group. */
#define CP_SANDBOX_NOBODY 65534
uid_t cp_sandbox_uid(uid_t uid);
gid_t cp_sandbox_gid(uid_t uid, gid_t gid);

/* When we are root: drop the capability bounding set (while still privileged), then
 * setgroups(0), setresgid(), setresuid() to @uid/@gid (all three ids; @uid must not be 0),
 * clear every capability set, and check that root cannot be taken back. Does nothing when
 * we are not root. */
int cp_sandbox_drop_root(uid_t uid, gid_t gid);

/* SIGKILL when @parent dies (PR_SET_PDEATHSIG, which every change of credentials clears: call
 * it after the last), and -ESRCH when @parent is already gone (the parent-death signal would
 * then never come). */
int cp_sandbox_tie_to_parent(pid_t parent);

/* PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE 0. */
int cp_sandbox_lock(void);

/* The system calls the analysis never needs, denied with EPERM (seccomp, libseccomp): see
 * sandbox.c. With @dac_may_follow, a child may still enter the DAC's sandbox
 * (cp_sandbox_enter_dac(): unshare() with exactly its flags, chroot()). */
int cp_sandbox_deny(bool dac_may_follow);

/* The DAC's own process, before the DAC is loaded: a new user, mount, network and IPC
 * namespace, the directory @dirfd as its root (chroot; the cwd too), no capabilities in any
 * namespace, no_new_privs. On failure *@step names the step that failed ("unshare": this
 * kernel lets no unprivileged process make a user namespace). */
int cp_sandbox_enter_dac(int dirfd, const char **step);

/* Load the C and C++ runtime libraries the DAC links against from the host, before the
 * chroot: the DAC's DT_NEEDED entries then resolve to them. */
int cp_sandbox_preload_dac_deps(void);

/* The DAC's process once the DAC is loaded and initialised: an allowlist of system calls
 * (memory, threads, time, reading fds already open, writing to @out_fd only); everything
 * else fails with EPERM (ENOSYS for clone3, so that threads are made with clone). */
int cp_sandbox_dac_allowlist(int out_fd);

/* Close every fd but the @n in @keep, and point 0, 1 and 2 at /dev/null unless kept. */
int cp_sandbox_close_fds(const int *keep, size_t n);

#endif
