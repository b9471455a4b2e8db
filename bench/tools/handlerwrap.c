/*
 * handlerwrap.c - put between core_pattern and a handler to learn the handler's own
 * wall time and peak RSS (the kernel reaps handlers itself, so nobody else can).
 *
 *   core_pattern = |/dir/handlerwrap HANDLER ARGS...
 *
 * The wrapper closes its own copy of stdin at once, so the kernel (which, with
 * core_pipe_limit > 0, waits until every reader of the pipe has gone) is held exactly
 * as long as it would be by HANDLER alone. After HANDLER exits, appends
 *   <wall seconds> <peak RSS KiB> <exit status>
 * to /dir/handler-stats (next to the wrapper: core_pattern is limited to 127
 * characters, so there is no room for another path). Used only for the RSS/wall figures, never for the hold-time figures.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	char stats[PATH_MAX];
	const char *slash = strrchr(argv[0], '/');
	int status, code;
	FILE *f;
	pid_t pid;

	if (argc < 2 || !slash)
		return 64;
	snprintf(stats, sizeof(stats), "%.*s/handler-stats", (int)(slash - argv[0]), argv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		return 70;
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	close(0);
	if (wait4(pid, &status, 0, &ru) < 0)
		return 70;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(stats, "a");
	if (!f)
		return 70;
	fprintf(f, "%.6f %ld %d\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		ru.ru_maxrss, code);
	fclose(f);
	return 0;
}
