/*
 * child.c - see child.h.
 *
 * The parent never waits on a child without a deadline: a child blocked writing to a pipe
 * nobody reads any more would hold waitpid() (and with it the crashed process, which the
 * kernel keeps until the handler ends) for as long as it likes. So the parent kills first
 * and reaps after, whenever it stops reading early.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "sandbox.h"

static pid_t parent_pid;

pid_t cp_child_fork(void)
{
	parent_pid = getpid();
	return fork();
}

int cp_child_confine(unsigned timeout, uid_t uid, gid_t gid)
{
	const char *step;
	int r;

	alarm(timeout);
	step = "drop root";
	if ((r = cp_sandbox_drop_root(cp_sandbox_uid(uid), cp_sandbox_gid(uid, gid))) < 0)
		goto fail;
	step = "parent-death signal";
	if (parent_pid > 0 && (r = cp_sandbox_tie_to_parent(parent_pid)) < 0)
		goto fail;
	step = "no_new_privs";
	if ((r = cp_sandbox_lock()) < 0)
		goto fail;
	return 0;
fail:
	cp_log_errno(LOG_ERR, r, "worker %d: cannot confine (%s): %m", (int)getpid(), step);
	return r;
}

int cp_child_confine_analysis(unsigned timeout, uid_t uid, gid_t gid)
{
	int r = cp_child_confine(timeout, uid, gid);
	if (r < 0)
		return r;
	if ((r = cp_sandbox_deny(true)) < 0)
		cp_log_errno(LOG_ERR, r, "worker %d: cannot confine (seccomp): %m", (int)getpid());
	return r;
}

int cp_child_enter_dac_sandbox(int dirfd, const int *keep, size_t n, const char **why)
{
	const char *step;
	int r;

	*why = "closing fds";
	if ((r = cp_sandbox_close_fds(keep, n)) < 0)
		return r;
	(void) cp_sandbox_preload_dac_deps();
	if ((r = cp_sandbox_enter_dac(dirfd, &step)) < 0) {
		*why = strcmp(step, "unshare") == 0 ?
		       "unshare (no user namespace for an unprivileged process: see /proc/sys/user/max_user_namespaces)" :
		       step;
		return r;
	}
	/* A new user namespace is a change of credentials: the parent-death signal again. */
	*why = "parent-death signal";
	if (parent_pid > 0 && (r = cp_sandbox_tie_to_parent(parent_pid)) < 0)
		return r;
	*why = "seccomp";
	return cp_sandbox_deny(false);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_child(pid_t child)
{
	if (child > 0)
		(void) kill(child, SIGKILL);
}

static void read_until(int fd, pid_t child, int64_t deadline, size_t max, char **buf_ret, size_t *len_ret)
{
	size_t cap = max < (1 << 16) ? max : 1 << 16, len = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t ms = deadline - now_ms();
		int n_ready = ms > 0 ? poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms) : 0;
		if (n_ready < 0 && errno == EINTR)
			continue;
		if (n_ready <= 0) {
			/* Out of time (or poll failed): the child goes now, not at its alarm. */
			kill_child(child);
			break;
		}
		if (len == cap && cap < max) {
			size_t ncap = cap > max / 2 ? max : cap * 2;
			char *p = realloc(buf, ncap + 1);
			if (!p) {
				kill_child(child);
				break;
			}
			buf = p;
			cap = ncap;
		}
		/* At the limit, one more byte tells a child that says too much. */
		char extra;
		ssize_t n = len < cap ? read(fd, buf + len, cap - len) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len == cap) {
			kill_child(child);
			break;
		}
		len += n;
	}
	if (buf)
		buf[len] = '\0';
	*buf_ret = buf;
	*len_ret = buf ? len : 0;
}

void cp_child_read(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret, size_t *len_ret)
{
	read_until(fd, child, now_ms() + (int64_t)timeout * 1000, max, buf_ret, len_ret);
}

/* Wait for @child to end until @deadline; then kill it and reap it. */
static void reap_until(pid_t child, int64_t deadline, int *status_ret)
{
	int status = 0;

#ifdef SYS_pidfd_open
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd >= 0) {
		for (;;) {
			struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
			int64_t ms = deadline - now_ms();
			int n = ms > 0 ? poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms) : 0;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				kill_child(child);
			break;
		}
		close(pidfd);
	} else
#endif
	{
		/* Without pidfds: poll the child's state every 5 ms. */
		for (;;) {
			pid_t p = waitpid(child, &status, WNOHANG);
			if (p == child) {
				*status_ret = status;
				return;
			}
			if (p < 0 && errno != EINTR)
				break;
			if (now_ms() >= deadline) {
				kill_child(child);
				break;
			}
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	*status_ret = status;
}

void cp_child_reap(pid_t child, unsigned timeout, int *status_ret)
{
	reap_until(child, now_ms() + (int64_t)timeout * 1000, status_ret);
}

void cp_child_collect(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret,
		      size_t *len_ret, int *status_ret)
{
	int64_t deadline = now_ms() + (int64_t)timeout * 1000;

	read_until(fd, child, deadline, max, buf_ret, len_ret);
	/* After EOF, the child has until the same deadline to end. */
	reap_until(child, deadline, status_ret);
}
