/*
 * analyze-child.c - `crashpipe analyze`'s analysis in a child process, as `handle` runs it
 * (see analyze-child.h).
 *
 * The parent reads the core with crashpipe's own reader (core.c), then forks. Everything that
 * runs libdw, libdwfl, libunwind, the DAC's process, the PDB and metadata readers on the core
 * runs in the child: cp_analyze_core(), confined by cp_child_confine_analysis() (as the
 * caller's uid, nobody for root; no_new_privs; the analysis' seccomp filter; SIGALRM at its
 * time limit). The child sends the report's JSON through a pipe and exits without tearing
 * libdw down. The parent reads it with a deadline and a size limit (child.c), takes it only
 * when it parses strictly as one report about the core's own threads, and writes those very
 * bytes; otherwise it fills the report with what it knows without libdw
 * (cp_analyze_core_registers_only(): process, signal, threads with frame 0) and a note that
 * says why the rest is missing.
 *
 * debuginfod: the child may open no socket (its seccomp filter), so when analyze may fetch
 * (DEBUGINFOD_URLS, no --no-debuginfod) it asks its parent through a socketpair made before
 * the fork. A thread of the parent (the broker) takes each request, a build-id checked as
 * such and nothing else, fetches it with libdebuginfod as the caller (cp_locate_fetch()) and
 * sends back the fetched file's fd (SCM_RIGHTS) and name; the child only ever reads what a
 * server the caller named has sent. At most MAX_FETCHES requests per analysis. Run as root,
 * analyze fetches nothing (threats.md T19: a download runs unprivileged): a note says so.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyze.h"
#include "analyze-child.h"
#include "buildid.h"
#include "child.h"
#include "cleanup.h"
#include "core.h"
#include "locate.h"
#include "log.h"
#include "report.h"
#include "signature.h"
#include "signame.h"
#include "zio.h"

/* How the child ends, besides a signal. */
enum {
	CHILD_EXIT_OK = 0,
	CHILD_EXIT_CONFINE = 3,		/* privileges could not be dropped */
	CHILD_EXIT_ENOMEM,		/* no memory for the report or its JSON */
	CHILD_EXIT_ANALYZE,		/* cp_analyze_core() made no report at all */
	CHILD_EXIT_WRITE,		/* the JSON could not be sent */
};

/* ---- debuginfod through the parent ---- */

#define MAX_FETCHES 1024
#define MAX_HEX 128		/* a build-id of up to 64 bytes */

/* A request: 'E' (executable) or 'D' (debuginfo), then the build-id's hex, no NUL. A reply:
 * an int32 (0, or -errno), then on success the file's name, with its fd attached. */

/* In the child: locate's fetch hook. */
static int ask_parent(void *arg, const char *hex, bool exe, char **name_ret)
{
	int sock = *(int *)arg;
	char req[1 + MAX_HEX];
	size_t n = strlen(hex);

	if (n > MAX_HEX)
		return -EINVAL;
	req[0] = exe ? 'E' : 'D';
	memcpy(req + 1, hex, n);
	if (send(sock, req, 1 + n, MSG_NOSIGNAL) < 0)
		return -errno;

	char buf[sizeof(int32_t) + PATH_MAX];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	ssize_t got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (got < 0)
		return -errno;
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	int32_t res;
	if ((size_t)got < sizeof(res)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	memcpy(&res, buf, sizeof(res));
	if (res < 0 || fd < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd >= 0)
			close(fd);
		return res < 0 ? res : -EPROTO;
	}
	char *name = strndup(buf + sizeof(res), (size_t)got - sizeof(res));
	if (!name) {
		close(fd);
		return -ENOMEM;
	}
	*name_ret = name;
	return fd;
}

/* In the parent: one thread serves the child's requests until it closes its end. */
static void *broker(void *arg)
{
	int sock = *(int *)arg;
	char req[1 + MAX_HEX + 1];

	for (unsigned served = 0;; served++) {
		ssize_t n = recv(sock, req, sizeof(req) - 1, 0);
		if (n <= 0)
			break;
		req[n] = '\0';
		int32_t res;
		char *name = NULL;
		int fd = -EINVAL;
		if (served >= MAX_FETCHES)
			fd = -EMFILE;
		else if ((req[0] == 'E' || req[0] == 'D') && n <= 1 + MAX_HEX && cp_build_id_hex_valid(req + 1))
			fd = cp_locate_fetch(req + 1, req[0] == 'E', &name);
		res = fd < 0 ? fd : 0;

		char buf[sizeof(res) + PATH_MAX];
		size_t len = sizeof(res);
		memcpy(buf, &res, sizeof(res));
		if (fd >= 0) {
			size_t nl = strnlen(name, PATH_MAX);
			memcpy(buf + len, name, nl);
			len += nl;
		}
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = { buf, len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (fd >= 0) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.b;
			mh.msg_controllen = sizeof(ctl.b);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		ssize_t sent = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (fd >= 0)
			close(fd);
		free(name);
		if (sent < 0)
			break;
	}
	return NULL;
}

static bool asked_to_fetch(const struct cp_analyze_options *opts)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	return opts->locate.debuginfod && urls && *urls;
}

static void __attribute__((noreturn)) child_main(int out, int fetch_sock, struct cp_core *core, int rootfd,
						 const struct cp_analyze_options *opts, unsigned timeout,
						 struct cp_report *r)
{
	static int sock;

	uid_t geteuid_at_start = geteuid();

	if (cp_child_confine_analysis(timeout, getuid(), getgid()) < 0)
		_exit(CHILD_EXIT_CONFINE);
	struct cp_analyze_options o = *opts;
	if (fetch_sock >= 0) {
		sock = fetch_sock;
		o.locate.fetch = ask_parent;
		o.locate.fetch_arg = &sock;
	} else if (asked_to_fetch(opts)) {
		o.locate.debuginfod = false;
		cp_report_note(r, false, "debuginfod: nothing fetched: %s",
			       geteuid_at_start == 0 ? "analyze runs as root (run it as another user to fetch)" :
						       "no channel to the fetching process");
	}
	/* The kernel takes libdw's memory back faster than libdw gives it back. */
	o.exiting = true;
	int ret = cp_analyze_core(core, rootfd, &o, r);
	if (ret < 0)
		_exit(ret == -ENOMEM ? CHILD_EXIT_ENOMEM : CHILD_EXIT_ANALYZE);
	if (cp_report_sign(r) < 0)
		_exit(CHILD_EXIT_ENOMEM);
	char *json = cp_report_to_json(r);
	if (!json)
		_exit(CHILD_EXIT_ENOMEM);
	if (cp_write_all(out, json, strlen(json)) < 0)
		_exit(CHILD_EXIT_WRITE);
	/* The end of the report now, not after the kernel has torn down our memory. */
	close(out);
	_exit(CHILD_EXIT_OK);
}

/* The most JSON a child may send: a report of @core at @max_frames per thread, generously
 * (a frame takes a few hundred bytes), at least 64 MiB, at most 1 GiB. */
static size_t json_max(const struct cp_core *core, size_t max_frames)
{
	const size_t lo = (size_t)64 << 20, hi = (size_t)1 << 30;
	size_t n = core->n_threads ? core->n_threads : 1;
	if (max_frames > hi / 1024 / n)
		return hi;
	size_t m = n * max_frames * 1024;
	return m < lo ? lo : m;
}

int cp_analyze_core_isolated(struct cp_core *core, int rootfd, const struct cp_analyze_options *opts,
			     unsigned timeout, struct cp_report *r, char **json_ret, size_t *len_ret)
{
	int pfd[2], sv[2] = { -1, -1 };
	int status = 0;
	size_t max = json_max(core, opts->max_frames);
	pthread_t brk;
	bool brk_running = false;

	*json_ret = NULL;
	*len_ret = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		int e = -errno;
		cp_analyze_core_registers_only(core, r);
		cp_report_note(r, true, "the analysis could not start (pipe: %s); only frame 0 of each thread is shown",
			       strerror(-e));
		return 0;
	}
	/* Without the socketpair the child fetches nothing (a note says what it could not find). */
	if (asked_to_fetch(opts) && geteuid() != 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		sv[0] = sv[1] = -1;
	pid_t child = cp_child_fork();
	if (child == 0) {
		close(pfd[0]);
		if (sv[0] >= 0)
			close(sv[0]);
		child_main(pfd[1], sv[1], core, rootfd, opts, timeout, r);
	}
	close(pfd[1]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (child >= 0 && sv[0] >= 0)
		brk_running = pthread_create(&brk, NULL, broker, &sv[0]) == 0;
	if (child < 0) {
		int e = errno;
		close(pfd[0]);
		if (sv[0] >= 0)
			close(sv[0]);
		cp_analyze_core_registers_only(core, r);
		cp_report_note(r, true, "the analysis could not start (fork: %s); only frame 0 of each thread is shown",
			       strerror(e));
		return 0;
	}

	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	/* The child's alarm comes first; the parent's deadline is for a child that blocks it. */
	cp_child_collect(pfd[0], child, timeout + 5, max, &json, &len, &status);
	close(pfd[0]);
	if (sv[0] >= 0) {
		/* The child is gone: its end is closed, the broker's recv() returns 0 (or fails now). */
		shutdown(sv[0], SHUT_RDWR);
		if (brk_running)
			pthread_join(brk, NULL);
		close(sv[0]);
	}

	bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == CHILD_EXIT_OK;
	bool too_big = len >= max;
	const char *why = NULL;
	if (exited_ok && !too_big) {
		struct cp_report *parsed = NULL;
		if (!json || len == 0)
			why = "none";
		else if (cp_report_parse(json, len, &parsed, &why) < 0) {
			if (!why)
				why = "no memory to read it";
		} else if (!cp_analyze_same_threads(parsed, core, false)) {
			why = "its threads are not the core's";
		}
		cp_report_destroy(parsed);
		if (!why) {
			*json_ret = TAKE_PTR(json);
			*len_ret = len;
			return 0;
		}
	}

	cp_analyze_core_registers_only(core, r);
	if (too_big) {
		cp_report_note(r, true, "the analysis sent more than %zu bytes; only frame 0 of each thread is shown", max);
		cp_log(LOG_WARNING, "the analysis sent more than %zu bytes; the report is partial", max);
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *name = cp_signal_name(sig);
		if (sig == SIGALRM || sig == SIGKILL)
			cp_report_note(r, true, "the analysis ran out of time (%u s; signal %d, %s); only frame 0 of each thread is shown",
				       timeout, sig, name ? name : "unknown");
		else
			cp_report_note(r, true, "the analysis crashed (signal %d, %s); only frame 0 of each thread is shown",
				       sig, name ? name : "unknown");
		cp_log(LOG_WARNING, "the analysis died on signal %d (%s); the report is partial", sig,
		       name ? name : "unknown");
	} else if (!exited_ok) {
		int e = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		const char *what = e == CHILD_EXIT_CONFINE ? "it could not drop its privileges" :
				   e == CHILD_EXIT_ENOMEM ? "out of memory" :
				   e == CHILD_EXIT_WRITE ? "it could not send its report" : "it failed";
		cp_report_note(r, true, "the analysis failed (exit status %d: %s); only frame 0 of each thread is shown",
			       e, what);
		cp_log(LOG_WARNING, "the analysis failed (exit status %d: %s); the report is partial", e, what);
	} else {
		cp_report_note(r, true, "the analysis sent no valid report (%s); only frame 0 of each thread is shown", why);
		cp_log(LOG_WARNING, "the analysis sent no valid report (%s); the report is partial", why);
	}
	return 0;
}
