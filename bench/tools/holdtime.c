/*
 * holdtime.c - how long does the kernel hold a crashing process while the
 * core_pattern handler runs?
 *
 *   holdtime [--spool DIR] [--timeout S] [--report-timeout S]
 *            [--rlimit-core N|unlimited] -- CRASHER ARGS...
 *
 * Forks CRASHER (RLIMIT_CORE unlimited unless --rlimit-core says otherwise; the kernel
 * passes it to the handler as %c) with BENCH_TS_FD pointing at a pipe; the
 * crasher writes CLOCK_MONOTONIC just before it faults (bench/crashers/crasher.c).
 * We take CLOCK_MONOTONIC when waitpid() returns. With core_pipe_limit > 0 the
 * kernel does not let the process finish dying until the handler has closed the
 * pipe (or exited), so
 *   hold = waitpid return - fault
 * is the delay the handler costs the dying process (plus the kernel's own work to
 * stop the threads, write the core into the pipe and tear down the address space,
 * which is the same whatever the handler).
 *
 * With --spool DIR, a thread watches DIR (inotify) for the report of this pid,
 * a file "*-PID-*.json.zst" that is renamed/linked into place or closed after
 * writing, and prints the time from the fault until it appeared (waiting at most
 * --report-timeout seconds, default 20, after the fault).
 *
 * Prints one line:  hold=<s> report=<s|-> status=<signal>[+core] file=<name|->
 * If the crasher is still held after --timeout seconds it is SIGKILLed (that ends the
 * kernel's wait) and "hold=timeout" is printed, exit status 1.
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
static const char *spool;
static pid_t child;
static double timeout_s = 60;
static double report_timeout_s = 20;
static volatile sig_atomic_t timed_out;

/* The handler never let go: kill the crasher (a fatal signal ends the kernel's
 * wait for the handler) so the benchmark does not hang. */
static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	kill(child, SIGKILL);
}
static double t_report = -1;
static char report_name[NAME_MAX + 1];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int is_our_report(const char *name)
{
	char tag[32];
	size_t n = strlen(name), s = strlen(".json.zst");

	snprintf(tag, sizeof(tag), "-%d-", (int)child);
	return name[0] != '.' && n > s && strcmp(name + n - s, ".json.zst") == 0 &&
	       strstr(name, tag) != NULL;
}

static void *watch(void *arg)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	double deadline = now() + report_timeout_s;

	(void)arg;
	while (now() < deadline) {
		struct pollfd p = { .fd = ino_fd, .events = POLLIN };
		ssize_t len;
		char *q;

		if (poll(&p, 1, 100) <= 0)
			continue;
		len = read(ino_fd, buf, sizeof(buf));
		if (len <= 0)
			continue;
		for (q = buf; q < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)q;

			q += sizeof(*ev) + ev->len;
			if (!ev->len || !is_our_report(ev->name))
				continue;
			if (ev->mask & IN_CREATE) {
				/* linkat() of a finished O_TMPFILE: complete when created.
				 * open(O_CREAT)+write: empty now, wait for IN_CLOSE_WRITE. */
				char path[PATH_MAX];
				struct stat st;

				snprintf(path, sizeof(path), "%s/%s", spool, ev->name);
				if (stat(path, &st) != 0 || st.st_size == 0)
					continue;
			}
			t_report = now();
			snprintf(report_name, sizeof(report_name), "%s", ev->name);
			return NULL;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit core_limit = { RLIM_INFINITY, RLIM_INFINITY };	/* or --rlimit-core */
	struct timespec fault;
	pthread_t watcher;
	int i, pfd[2], status;
	double t_exit, t_fault;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--spool") == 0 && i + 1 < argc)
			spool = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--report-timeout") == 0 && i + 1 < argc)
			report_timeout_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--rlimit-core") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "unlimited") == 0)
				core_limit.rlim_cur = core_limit.rlim_max = RLIM_INFINITY;
			else
				core_limit.rlim_cur = core_limit.rlim_max = strtoull(argv[i], NULL, 0);
		}
		else
			break;
	}
	if (i >= argc - 1 || strcmp(argv[i], "--") != 0) {
		fprintf(stderr, "usage: holdtime [--spool DIR] [--timeout S] [--report-timeout S] [--rlimit-core N|unlimited] -- CRASHER ARGS...\n");
		return 64;
	}
	argv += i + 1;

	if (spool) {
		ino_fd = inotify_init1(IN_CLOEXEC);
		if (ino_fd < 0 ||
		    inotify_add_watch(ino_fd, spool, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
			perror(spool);
			return 70;
		}
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("pipe");
		return 70;
	}
	child = fork();
	if (child < 0) {
		perror("fork");
		return 70;
	}
	if (child == 0) {
		char fdstr[16];

		if (pfd[1] == 3)
			fcntl(3, F_SETFD, 0);
		else
			dup2(pfd[1], 3);	/* dup2 clears O_CLOEXEC on the copy */
		snprintf(fdstr, sizeof(fdstr), "3");
		setenv("BENCH_TS_FD", fdstr, 1);
		setrlimit(RLIMIT_CORE, &core_limit);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout_s + 1);
	if (spool && pthread_create(&watcher, NULL, watch, NULL) != 0)
		return 70;

	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			return 70;
		}
	}
	t_exit = now();
	alarm(0);
	if (timed_out) {
		printf("hold=timeout report=- status=killed file=-\n");
		return 1;
	}

	if (read(pfd[0], &fault, sizeof(fault)) != (ssize_t)sizeof(fault)) {
		fprintf(stderr, "holdtime: the crasher did not report its fault time\n");
		return 70;
	}
	t_fault = fault.tv_sec + fault.tv_nsec / 1e9;
	if (spool)
		pthread_join(watcher, NULL);

	printf("hold=%.6f report=", t_exit - t_fault);
	if (t_report >= 0)
		printf("%.6f", t_report - t_fault);
	else
		printf("-");
	if (WIFSIGNALED(status))
		printf(" status=%d%s", WTERMSIG(status), WCOREDUMP(status) ? "+core" : "");
	else
		printf(" status=exit%d", WEXITSTATUS(status));
	printf(" file=%s\n", report_name[0] ? report_name : "-");
	return 0;
}
