/*
 * chain.c - chain mode (chain.h): save the handler crashpipe replaces, and run it for every
 * crash with the arguments, stdin and pidfd the kernel would have given it.
 *
 * The kernel splits a pipe pattern into arguments at white space first and expands the %
 * specifiers of each one after (fs/coredump.c, since Linux 5.3: %e with spaces stays one
 * argument). So the saved pattern is split the same way here; an argument without % is
 * passed as it is, one that is exactly a specifier crashpipe also receives takes crashpipe's
 * value, and every other one was put after "--chain" in crashpipe's own pattern for the
 * kernel to expand, and is taken from there in order.
 *
 * The kernel runs a pipe helper (call_usermodehelper, envp NULL) as root with every
 * capability, an empty environment, fd 0 the pipe and nothing else open, cwd / and umask
 * 022, RLIMIT_CORE 1 (which handle inherits and passes on). The same here.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "cleanup.h"
#include "log.h"
#include "procfs.h"
#include "spill.h"
#include "spool.h"
#include "zio.h"

/* The kernel keeps core_pattern in 128 bytes: no more arguments than that. */
#define MAX_TOKENS 64

struct cp_chain {
	pid_t pid;		/* the other handler; 0 once reaped */
	pid_t feeder;		/* the spill's reader that feeds it; 0 once reaped */
	int wfd;		/* its stdin's write end; -1 once closed (the feeder's) */
	int ready;		/* from the feeder: it reads, or is gone; -1 */
	const char *crash_pid;	/* for the log */
	char *path;
	int64_t deadline_ms;	/* what it may cost crashpipe, in all, ends here */
};

static const char *const own_specifiers[] = { "%P", "%i", "%u", "%g", "%s", "%t", "%c", "%h", "%F" };

bool cp_chain_token_expands(const char *tok)
{
	if (!strchr(tok, '%'))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(own_specifiers); i++)
		if (strcmp(tok, own_specifiers[i]) == 0)
			return false;
	return true;
}

/* Split @s (modified) at white space runs, as the kernel does; returns the count, -E2BIG. */
static int split(char *s, char **tok)
{
	int n = 0;

	while (*s) {
		while (isspace((unsigned char)*s))
			*s++ = '\0';
		if (!*s)
			break;
		if (n == MAX_TOKENS)
			return -E2BIG;
		tok[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
	}
	return n;
}

int cp_chain_suffix(const char *old_pattern, char **suffix_ret)
{
	_cleanup_free_ char *copy = strdup(old_pattern), *suffix = NULL;
	char *tok[MAX_TOKENS];
	size_t len = 0;

	if (!copy)
		return -ENOMEM;
	if (copy[0] != '|')
		return -EINVAL;
	int n = split(copy + 1, tok);
	if (n <= 0 || tok[0][0] != '/' || strchr(tok[0], '%'))
		return n < 0 ? n : -EINVAL;
	for (int i = 1; i < n; i++)
		if (cp_chain_token_expands(tok[i]))
			len += strlen(tok[i]) + 1;
	suffix = malloc(strlen(" " CP_CHAIN_MARKER) + len + 1);
	if (!suffix)
		return -ENOMEM;
	strcpy(suffix, " " CP_CHAIN_MARKER);
	for (int i = 1; i < n; i++)
		if (cp_chain_token_expands(tok[i]))
			strcat(strcat(suffix, " "), tok[i]);
	*suffix_ret = TAKE_PTR(suffix);
	return 0;
}

int cp_chain_save(int spool_fd, const char *old_pattern)
{
	_cleanup_free_ char *line = NULL;

	if (asprintf(&line, "%s\n", old_pattern) < 0) {
		line = NULL;
		return -ENOMEM;
	}
	struct cp_newfile f;
	int r = cp_newfile_create(spool_fd, O_WRONLY, &f);
	if (r < 0)
		return r;
	if ((r = cp_write_all(f.fd, line, strlen(line))) < 0) {
		cp_newfile_abort(&f);
		return r;
	}
	/* Replaces an older one: install --chain over a crashpipe that chained already. */
	(void) unlinkat(spool_fd, CP_CHAIN_FILE, 0);
	return cp_newfile_commit(&f, CP_CHAIN_FILE, 0600);
}

void cp_chain_uninstall(int spool_fd)
{
	(void) unlinkat(spool_fd, CP_CHAIN_FILE, 0);
}

/* SPOOL/.chain, when it is root's own: it names a program root runs. */
static char *read_saved(int spool_fd)
{
	_cleanup_close_ int fd = openat(spool_fd, CP_CHAIN_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		errno = EPERM;
		return NULL;
	}
	char *s = cp_read_small_fd(fd);
	if (s)
		s[strcspn(s, "\n")] = '\0';
	return s;
}

static const char *own_value(const struct cp_chain_args *a, const char *tok)
{
	const char *v[] = { a->pid, a->tid, a->uid, a->gid, a->signal, a->time, a->rlimit, a->hostname, a->pidfd };
	for (size_t i = 0; i < ARRAY_SIZE(own_specifiers); i++)
		if (strcmp(tok, own_specifiers[i]) == 0)
			return v[i] ? v[i] : "";
	return tok;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: become what the kernel would have started. Never returns. */
static void __attribute__((noreturn)) exec_handler(int rfd, int pidfd, char **argv)
{
	static char *const envp[] = { NULL };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (dup2(rfd, STDIN_FILENO) < 0)
		_exit(127);
	/* Only stdin, as from the kernel; and the pidfd, wherever it is. */
	if (pidfd != STDOUT_FILENO)
		close(STDOUT_FILENO);
	if (pidfd != STDERR_FILENO)
		close(STDERR_FILENO);
	if (pidfd >= 0)
		(void) fcntl(pidfd, F_SETFD, 0);
	if (pidfd > STDERR_FILENO) {
		if (pidfd > 3)
			(void) syscall(SYS_close_range, 3u, (unsigned)pidfd - 1, 0u);
		(void) syscall(SYS_close_range, (unsigned)pidfd + 1, ~0u, 0u);
	} else {
		(void) syscall(SYS_close_range, 3u, ~0u, 0u);
	}
	(void) setsid();
	if (chdir("/") < 0)
		_exit(127);
	umask(022);
	execve(argv[0], argv, envp);
	_exit(127);
}

int cp_chain_start(int spool_fd, const struct cp_chain_args *args, char **extra, int n_extra,
		   unsigned timeout, int pidfd, struct cp_chain **ret)
{
	const char *crash_pid = args->pid ? args->pid : "?";
	_cleanup_free_ char *saved = read_saved(spool_fd);
	char *tok[MAX_TOKENS + 1];
	int n, used = 0;

	if (!saved)
		return cp_log_errno(LOG_ERR, -errno, "pid %s: chain: %s: %m; the other handler gets no core", crash_pid,
				    CP_CHAIN_FILE);
	n = saved[0] == '|' ? split(saved + 1, tok) : -EINVAL;
	if (n <= 0 || tok[0][0] != '/')
		return cp_log_errno(LOG_ERR, -EINVAL, "pid %s: chain: %s is not a pipe pattern; the other handler gets no core",
				    crash_pid, CP_CHAIN_FILE);
	bool short_of = false, wants_pidfd = false;
	for (int i = 1; i < n; i++) {
		/* The kernel gives a helper a pidfd only when its pattern asks for one. */
		wants_pidfd |= strcmp(tok[i], "%F") == 0;
		if (!cp_chain_token_expands(tok[i]))
			tok[i] = (char *)own_value(args, tok[i]);
		else if (used < n_extra)
			tok[i] = extra[used++];
		else
			short_of = true;
	}
	if (short_of || used != n_extra)
		return cp_log_errno(LOG_ERR, -EINVAL,
				    "pid %s: chain: the arguments after --chain (%d) are not the ones %s needs; run `crashpipe install --chain` again",
				    crash_pid, n_extra, CP_CHAIN_FILE);
	tok[n] = NULL;

	_cleanup_free_ struct cp_chain *ch = calloc(1, sizeof(*ch));
	int pfd[2];
	if (!ch || !(ch->path = strdup(tok[0])))
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(ch->path);
		return cp_log_errno(LOG_ERR, -errno, "pid %s: chain: pipe: %m", crash_pid);
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		exec_handler(pfd[0], wants_pidfd ? pidfd : -1, tok);
	}
	int e = -errno;
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		free(ch->path);
		return cp_log_errno(LOG_ERR, e, "pid %s: chain: fork: %m", crash_pid);
	}
	ch->pid = pid;
	ch->wfd = pfd[1];
	ch->ready = -1;
	ch->crash_pid = crash_pid;
	ch->deadline_ms = now_ms() + (int64_t)timeout * 1000;
	*ret = TAKE_PTR(ch);
	return 0;
}

/* Has the other handler taken any of the @sent bytes from its pipe, or closed it? */
static bool taken(int wfd, uint64_t sent)
{
	int queued = 0;
	struct pollfd p = { .fd = wfd, .events = 0 };
	if (poll(&p, 1, 0) > 0 && (p.revents & POLLERR))
		return true;
	return ioctl(wfd, FIONREAD, &queued) == 0 && (uint64_t)queued < sent;
}

/* The feeder's process: the spill into the other handler's stdin, at its pace. It says on
 * @ready when that handler has started to read, which it does only after it has read what
 * it wants of /proc/PID (systemd-coredump: every field but the core): until then the
 * process must be held. Exits 0 or an errno. */
static int feed(struct cp_spill_reader *r, void *data)
{
	const struct cp_chain *ch = data;
	uint64_t sent = 0;
	bool started = false;
	ssize_t n;
	int e = 0;

	int64_t left = ch->deadline_ms - now_ms();
	alarm(left > 0 ? (unsigned)(left / 1000) + 1 : 1);
	/* A pipe of one page, until it reads: the first byte it takes is seen at once. */
	(void) fcntl(ch->wfd, F_SETPIPE_SZ, 4096);
	while ((n = cp_spill_splice(r, ch->wfd, 1u << 20)) > 0) {
		sent += (uint64_t)n;
		if (!started && taken(ch->wfd, sent)) {
			started = true;
			(void) !write(ch->ready, "", 1);
			(void) fcntl(ch->wfd, F_SETPIPE_SZ, 1 << 20);
		}
	}
	if (n < 0)
		e = (int)-n;
	/* All of it is in the pipe: still held until it reads (a core of a page or two). */
	while (!e && !started && !taken(ch->wfd, sent))
		(void) poll(NULL, 0, 2);
	if (e && e != EPIPE)
		cp_log_errno(LOG_WARNING, -e, "pid %s: chain: feeding %s its core: %m", ch->crash_pid, ch->path);
	return e == EPIPE ? 0 : e;
}

int cp_chain_attach(struct cp_chain *ch, struct cp_spill *spill)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	ch->ready = pfd[1];
	pid_t pid = cp_spill_fork(spill, feed, ch);
	close(pfd[1]);
	ch->ready = -1;
	if (pid < 0) {
		close(pfd[0]);
		return (int)pid;
	}
	ch->feeder = pid;
	ch->ready = pfd[0];
	/* Its stdin is the feeder's now: its end of file comes when the feeder is done. */
	close(ch->wfd);
	ch->wfd = -1;
	return 0;
}

void cp_chain_release(struct cp_chain *ch)
{
	if (!ch)
		return;
	if (ch->wfd >= 0) {
		close(ch->wfd);	/* never fed: end of file now */
		ch->wfd = -1;
	}
	if (ch->ready < 0)
		return;
	struct pollfd p = { .fd = ch->ready, .events = POLLIN };
	int64_t left = ch->deadline_ms - now_ms();
	if (left > 0 && poll(&p, 1, (int)left) == 0)
		cp_log(LOG_WARNING, "pid %s: chain: %s did not read its core within the chain timeout; the process is let go",
		       ch->crash_pid, ch->path);
	close(ch->ready);
	ch->ready = -1;
}

/* Wait for @pid until the deadline; killed (its process group too) past it. */
static int reap(struct cp_chain *ch, pid_t pid, const char *what)
{
	int status = 0, pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	pid_t w;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
		int64_t left = ch->deadline_ms - now_ms();
		if (left <= 0)
			break;
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			(void) poll(&p, 1, (int)left);
		} else {
			usleep(2000);
		}
	}
	if (pfd >= 0)
		close(pfd);
	if (w == 0) {
		cp_log(LOG_WARNING, "pid %s: chain: %s%s did not exit within the chain timeout; killed", ch->crash_pid,
		       what, ch->path);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		(void) waitpid(pid, &status, 0);
		return -ETIMEDOUT;
	}
	return status;
}

void cp_chain_finish(struct cp_chain *ch)
{
	if (!ch)
		return;
	cp_chain_release(ch);
	if (ch->feeder) {
		(void) reap(ch, ch->feeder, "the feeder of ");
		ch->feeder = 0;
	}
	if (!ch->pid)
		return;
	/* Its own time to store what it was fed, within the same timeout. */
	int status = reap(ch, ch->pid, "");
	if (status >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		cp_log(LOG_WARNING, "pid %s: chain: %s failed (%s %d)", ch->crash_pid, ch->path,
		       WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	ch->pid = 0;
}

void cp_chain_destroy(struct cp_chain *ch)
{
	if (!ch)
		return;
	if (ch->wfd >= 0)
		close(ch->wfd);
	if (ch->ready >= 0)
		close(ch->ready);
	/* Not waited for here (cp_chain_finish() does): the kernel reparents what is left. */
	free(ch->path);
	free(ch);
}
