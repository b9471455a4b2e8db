/*
 * test-child.c - the parent side of a worker (src/child.c): a child that writes more than
 * the limit and then blocks, one that never writes, and one that closes its pipe and hangs
 * are all killed and reaped within a second or two of their deadline, never waited on for
 * good (finding 8 of issue 7: the parent stopped reading and then sat in waitpid while the
 * child blocked in write). And, as root, the confinement itself: the worker is nobody with
 * no capability, and it dies with its parent (finding 7: PR_SET_PDEATHSIG was set before
 * setresuid(), which clears it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "unit.h"

#define LIMIT (256u << 10)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum behaviour { TOO_MUCH, SILENT, CLOSE_AND_HANG, GOOD };

/* A child that behaves as asked; returns its pid and the read end of its pipe in *@fd. */
static pid_t start(enum behaviour b, int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		exit(99);
	pid_t pid = fork();
	if (pid < 0)
		exit(99);
	if (pid == 0) {
		close(p[0]);
		alarm(60);	/* never outlive the test by long, whatever the code under test does */
		if (b == TOO_MUCH) {
			static char buf[LIMIT + 1];
			memset(buf, 'x', sizeof(buf));
			for (size_t off = 0; off < sizeof(buf);) {
				ssize_t n = write(p[1], buf + off, sizeof(buf) - off);
				if (n <= 0)
					_exit(1);
				off += n;
			}
		} else if (b == CLOSE_AND_HANG) {
			close(p[1]);
		} else if (b == GOOD) {
			(void) !write(p[1], "hello", 5);
			_exit(0);
		}
		for (;;)
			pause();
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

static bool reaped(pid_t pid)
{
	int st;
	return waitpid(pid, &st, WNOHANG) < 0 && errno == ECHILD;
}

static void collect(enum behaviour b, unsigned timeout, double max_seconds, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, status = 0;
	pid_t pid = start(b, &fd);
	double t0 = now();

	cp_child_collect(fd, pid, timeout, LIMIT, &buf, &len, &status);
	double dt = now() - t0;
	close(fd);
	printf("%s: %.2f s, %zu bytes, status %#x\n", what, dt, len, status);
	CHECK(dt < max_seconds);
	CHECK(reaped(pid));
	CHECK(buf != NULL);
	CHECK(len <= LIMIT);
	if (b == GOOD) {
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK(len == 5 && buf && memcmp(buf, "hello", 5) == 0);
	} else {
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	free(buf);
}

/* As the live analysis in handle does it: read first, reap after. */
static void read_then_reap(void)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, status = 0;
	pid_t pid = start(TOO_MUCH, &fd);
	double t0 = now();

	cp_child_read(fd, pid, 30, LIMIT, &buf, &len);
	close(fd);
	cp_child_reap(pid, 30, &status);
	double dt = now() - t0;
	printf("read, then reap: %.2f s, %zu bytes, status %#x\n", dt, len, status);
	CHECK(dt < 3);
	CHECK(reaped(pid));
	CHECK(len <= LIMIT);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	free(buf);
}

/* Root only: a worker forked with cp_child_fork() and confined as if for a crash of uid 0
 * is nobody, with no capability, and dies when its parent does. */
static void confinement(void)
{
	int p[2], q[2], m[2];
	if (geteuid() != 0) {
		printf("confinement: skipped, not root\n");
		return;
	}
	if (pipe(p) < 0 || pipe(q) < 0 || pipe(m) < 0)
		exit(99);
	pid_t mid = fork();
	if (mid == 0) {
		/* The parent of the worker, which dies once the worker is confined. */
		close(p[0]);
		close(q[0]);
		pid_t w = cp_child_fork();
		if (w == 0) {
			alarm(30);
			close(m[0]);
			char ok = cp_child_confine(30, 0, 0) == 0 && getuid() == 65534 && geteuid() == 65534 &&
				  getgid() == 65534 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 &&
				  prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 && prctl(PR_CAPBSET_READ, 0, 0, 0, 0) == 0 &&
				  setuid(0) < 0 ? 'y' : 'n';
			(void) !write(q[1], &ok, 1);
			close(q[1]);
			close(m[1]);
			/* p[1] stays open for as long as the worker lives. */
			for (;;)
				pause();
		}
		char c;
		close(m[1]);
		(void) !read(m[0], &c, 1);
		_exit(0);
	}
	close(m[0]);
	close(m[1]);
	close(p[1]);
	close(q[1]);
	char ok = 'n';
	CHECK(read(q[0], &ok, 1) == 1);
	CHECK(ok == 'y');
	int st;
	waitpid(mid, &st, 0);
	/* The parent is gone: the worker must go within a second, closing p[1]. */
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	double t0 = now();
	int n = poll(&pfd, 1, 3000);
	char c;
	bool gone = n == 1 && read(p[0], &c, 1) == 0;
	printf("confinement: worker %s, parent-death after %.2f s\n", ok == 'y' ? "confined" : "NOT confined",
	       now() - t0);
	CHECK(gone);
	CHECK(now() - t0 < 1.5);
	close(p[0]);
	close(q[0]);
}

int main(void)
{
	/* The code under test, if broken, waits forever: fail instead of hanging. */
	alarm(40);
	signal(SIGPIPE, SIG_IGN);
	collect(GOOD, 10, 2, "a good child");
	collect(TOO_MUCH, 30, 3, "limit + 1 bytes, then blocked");
	collect(SILENT, 1, 2.5, "silent past its deadline");
	collect(CLOSE_AND_HANG, 1, 2.5, "closed its pipe, then hung");
	read_then_reap();
	confinement();
	return UNIT_DONE();
}
