/*
 * child.c - see child.h.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

int cp_child_confine(unsigned timeout, uid_t uid, gid_t gid)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(timeout);
	if (geteuid() == 0 && (uid != 0 || gid != 0)) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			return -errno;
	}
	prctl(PR_SET_DUMPABLE, 0);
	return 0;
}

void cp_child_read(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret, size_t *len_ret)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	time_t deadline = time(NULL) + timeout;

	while (buf) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms = (int)(deadline - time(NULL)) * 1000;
		if (ms <= 0 || poll(&pfd, 1, ms) == 0) {
			kill(child, SIGKILL);
			break;
		}
		if (len == cap) {
			if (cap >= max)
				break;
			char *p = realloc(buf, cap * 2 + 1);
			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	if (buf)
		buf[len] = '\0';
	*buf_ret = buf;
	*len_ret = buf ? len : 0;
}

void cp_child_collect(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret,
		      size_t *len_ret, int *status_ret)
{
	cp_child_read(fd, child, timeout, max, buf_ret, len_ret);
	while (waitpid(child, status_ret, 0) < 0 && errno == EINTR)
		;
}
