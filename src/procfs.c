/*
 * procfs.c - see procfs.h. Every read is relative to an fd of /proc/PID opened once, so a
 * PID reused in between cannot mix two processes' facts; the caller also checks the pidfd
 * the kernel passed (%F, Linux 6.16+) against the PID.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "procfs.h"

#define SMALL_FILE_MAX 65536

char *cp_read_small_file(int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	char *buf;
	size_t len = 0;

	if (fd < 0 || !(buf = malloc(SMALL_FILE_MAX + 1)))
		return NULL;
	for (;;) {
		ssize_t n = read(fd, buf + len, SMALL_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (len == SMALL_FILE_MAX)
			break;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return buf;
}

int cp_proc_read(pid_t pid, struct cp_proc *p)
{
	char path[64];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->rootfd = p->memfd = -1;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	_cleanup_close_ int dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	p->comm = cp_read_small_file(dfd, "comm");
	p->cmdline = cp_read_small_file(dfd, "cmdline");
	if (p->cmdline && !*p->cmdline) {
		free(p->cmdline);
		p->cmdline = NULL;
	}
	p->cgroup = cp_read_small_file(dfd, "cgroup");
	/* The unified hierarchy's line ("0::/system.slice/foo.service") names the service or
	 * container; on a v1-only machine keep the whole file. */
	char *unified = p->cgroup ? strstr(p->cgroup, "0::") : NULL;
	if (unified && (unified == p->cgroup || unified[-1] == '\n')) {
		size_t len = strcspn(unified + 3, "\n");
		memmove(p->cgroup, unified + 3, len);
		p->cgroup[len] = '\0';
	}
	char exe[4096];
	ssize_t n = readlinkat(dfd, "exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		p->exe = strdup(exe);
	}
	p->rootfd = openat(dfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	p->memfd = openat(dfd, "mem", O_RDONLY | O_CLOEXEC);

	_cleanup_close_ int tfd = openat(dfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = tfd >= 0 ? fdopendir(tfd) : NULL;
	if (d) {
		tfd = -1;	/* owned by d now */
		struct dirent *de;
		while ((de = readdir(d))) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			if (*end || tid <= 0)
				continue;
			struct cp_proc_thread *t = realloc(p->threads, (p->n_threads + 1) * sizeof(*t));
			if (!t)
				break;
			p->threads = t;
			t += p->n_threads;
			t->tid = tid;
			snprintf(path, sizeof(path), "task/%ld/comm", tid);
			_cleanup_free_ char *name = cp_read_small_file(dfd, path);
			snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
			p->n_threads++;
		}
		closedir(d);
	}
	return 0;
}

void cp_proc_deinit(struct cp_proc *p)
{
	free(p->exe);
	free(p->comm);
	free(p->cmdline);
	free(p->cgroup);
	free(p->threads);
	if (p->rootfd >= 0)
		close(p->rootfd);
	if (p->memfd >= 0)
		close(p->memfd);
	memset(p, 0, sizeof(*p));
	p->rootfd = p->memfd = -1;
}

const char *cp_proc_thread_name(const struct cp_proc *p, pid_t tid)
{
	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].tid == tid && p->threads[i].name[0])
			return p->threads[i].name;
	return NULL;
}

bool cp_pidfd_is(int pidfd, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	_cleanup_free_ char *info = cp_read_small_file(AT_FDCWD, path);
	if (!info)
		return false;
	for (char *line = info; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, "Pid:", 4) == 0)
			return strtol(line + 4, NULL, 10) == pid;
	}
	return false;
}
