/*
 * dncrash.c - run a program that will crash (the .NET test app) and time when its crash
 * report appears; used by bench/dotnet.
 *
 *   dncrash [--watch DIR --suffix SUF] [--out FILE] [--timeout S] [--report-timeout S]
 *           [--rlimit-core N|unlimited] -- PROG ARGS...
 *
 * Forks PROG (stdout and stderr to FILE, RLIMIT_CORE unlimited unless --rlimit-core says
 * otherwise) and waits for it. With --watch, a thread watches DIR (inotify) for the report
 * of this pid: a name ending in SUF that holds the pid as a whole number ("-PID-" for
 * crashpipe's TIME-PID-COMM.json.zst, ".PID." for createdump's coredump.PID.crashreport.json),
 * that is closed after writing, renamed or linked into place (a file created empty is
 * waited on until it is closed). Its time is taken the moment inotify reports it.
 *
 * Prints one line, every time CLOCK_MONOTONIC in seconds (the clock of the tracefs
 * instance bench/dotnet reads, trace_clock "mono"):
 *   pid=<pid> start=<fork> reaped=<waitpid returned> report=<s|-> status=<sig>[+core]|exit<n> file=<name|->
 * If PROG has not died after --timeout seconds (default 60) it is SIGKILLed and
 * "status=killed" is printed, exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ino_fd = -1;
static const char *watch_dir, *suffix = "";
static pid_t child;
static double report_timeout_s = 30, t_start;
static volatile sig_atomic_t timed_out;
static double t_report = -1;
static char report_name[NAME_MAX + 1];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	kill(child, SIGKILL);
}

/* NAME ends in SUF, is not hidden, and holds the child's pid between non-digits. */
static int is_our_report(const char *name)
{
	char pid[24];
	size_t n = strlen(name), s = strlen(suffix), pl;
	const char *p;

	if (name[0] == '.' || n <= s || strcmp(name + n - s, suffix) != 0)
		return 0;
	pl = (size_t)snprintf(pid, sizeof(pid), "%d", (int)child);
	for (p = strstr(name, pid); p; p = strstr(p + 1, pid)) {
		int before = p == name || p[-1] < '0' || p[-1] > '9';
		int after = p[pl] < '0' || p[pl] > '9';

		if (before && after)
			return 1;
	}
	return 0;
}

static void *watch(void *arg)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	double deadline = t_start + report_timeout_s;

	(void)arg;
	while (now() < deadline) {
		struct pollfd p = { .fd = ino_fd, .events = POLLIN };
		ssize_t len;
		char *q;

		if (poll(&p, 1, 50) <= 0)
			continue;
		len = read(ino_fd, buf, sizeof(buf));
		if (len <= 0)
			continue;
		for (q = buf; q < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			double t = now();

			q += sizeof(*ev) + ev->len;
			if (!ev->len || !is_our_report(ev->name))
				continue;
			if (ev->mask & IN_CREATE) {
				/* linkat() of a finished O_TMPFILE: complete when created.
				 * open(O_CREAT)+write: empty now, wait for IN_CLOSE_WRITE. */
				char path[PATH_MAX];
				struct stat st;

				snprintf(path, sizeof(path), "%s/%s", watch_dir, ev->name);
				if (stat(path, &st) != 0 || st.st_size == 0)
					continue;
			}
			t_report = t;
			snprintf(report_name, sizeof(report_name), "%s", ev->name);
			return NULL;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit core_limit = { RLIM_INFINITY, RLIM_INFINITY };
	const char *out = "/dev/null";
	double timeout_s = 60, t_reaped;
	pthread_t watcher;
	int i, status;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--watch") == 0)
			watch_dir = argv[++i];
		else if (strcmp(argv[i], "--suffix") == 0)
			suffix = argv[++i];
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--report-timeout") == 0)
			report_timeout_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--rlimit-core") == 0) {
			i++;
			if (strcmp(argv[i], "unlimited") == 0)
				core_limit.rlim_cur = core_limit.rlim_max = RLIM_INFINITY;
			else
				core_limit.rlim_cur = core_limit.rlim_max = strtoull(argv[i], NULL, 0);
		} else
			break;
	}
	if (i >= argc - 1 || strcmp(argv[i], "--") != 0) {
		fprintf(stderr, "usage: dncrash [--watch DIR --suffix SUF] [--out FILE] [--timeout S] "
				"[--report-timeout S] [--rlimit-core N|unlimited] -- PROG ARGS...\n");
		return 64;
	}
	argv += i + 1;

	if (watch_dir) {
		ino_fd = inotify_init1(IN_CLOEXEC);
		if (ino_fd < 0 ||
		    inotify_add_watch(ino_fd, watch_dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
			perror(watch_dir);
			return 70;
		}
	}
	t_start = now();
	child = fork();
	if (child < 0) {
		perror("fork");
		return 70;
	}
	if (child == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setrlimit(RLIMIT_CORE, &core_limit);
		execvp(argv[0], argv);
		_exit(127);
	}
	/* The child's pid is known now; the watcher may start (events queue meanwhile). */
	if (watch_dir && pthread_create(&watcher, NULL, watch, NULL) != 0)
		return 70;
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout_s + 1);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			return 70;
		}
	}
	t_reaped = now();
	alarm(0);
	if (watch_dir)
		pthread_join(watcher, NULL);

	printf("pid=%d start=%.6f reaped=%.6f report=", (int)child, t_start, t_reaped);
	if (t_report >= 0)
		printf("%.6f", t_report);
	else
		printf("-");
	if (timed_out)
		printf(" status=killed");
	else if (WIFSIGNALED(status))
		printf(" status=%d%s", WTERMSIG(status), WCOREDUMP(status) ? "+core" : "");
	else
		printf(" status=exit%d", WEXITSTATUS(status));
	printf(" file=%s\n", report_name[0] ? report_name : "-");
	return timed_out ? 1 : 0;
}
