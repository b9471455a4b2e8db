/*
 * exects.c - LD_PRELOAD shim for bench/dotnet when tracefs cannot be used: note the time
 * at which the .NET runtime's crash path calls execve(".../createdump", ...).
 *
 *   LD_PRELOAD="exects.so[:libcrashpipe-preload.so]" BENCH_EXEC_LOG=FILE PROG ...
 *
 * Listed first, it sees the runtime's execve before libcrashpipe-preload.so does (that one
 * then swaps in crashpipe-createdump), so the time is the same point for both kinds of
 * crash report: the forked child of the crashing process, just before execve. Appends
 * "<CLOCK_MONOTONIC seconds>\n" to FILE. The hook runs in the child of a crashing,
 * multi-threaded process: no malloc, no stdio, no locks, only the fd opened at load time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*execve_fn)(const char *, char *const[], char *const[]);

static execve_fn next_execve;
static int log_fd = -1;

__attribute__((constructor)) static void exects_init(void)
{
	const char *path = getenv("BENCH_EXEC_LOG");

	next_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
	if (path && *path)
		log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void stamp(void)
{
	struct timespec ts;
	char buf[48], *p = buf + sizeof(buf);
	unsigned long long s, ns;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = (unsigned long long)ts.tv_sec;
	ns = (unsigned long long)ts.tv_nsec;
	*--p = '\n';
	for (i = 0; i < 9; i++, ns /= 10)
		*--p = (char)('0' + ns % 10);
	*--p = '.';
	do {
		*--p = (char)('0' + s % 10);
		s /= 10;
	} while (s);
	(void)!write(log_fd, p, (size_t)(buf + sizeof(buf) - p));
}

__attribute__((visibility("default")))
int execve(const char *path, char *const argv[], char *const envp[])
{
	const char *base;

	/* glibc declares path nonnull; a bad caller must still reach the kernel (EFAULT). */
	__asm__("" : "+r"(path));
	base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	if (log_fd >= 0 && base && strcmp(base, "createdump") == 0)
		stamp();
	if (next_execve)
		return next_execve(path, argv, envp);
	return (int)syscall(SYS_execve, path, argv, envp);
}
