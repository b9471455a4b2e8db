/*
 * procfs.c - see procfs.h. Every read is relative to an fd of /proc/PID opened once, so a
 * PID reused in between cannot mix two processes' facts; the caller also checks the pidfd
 * the kernel passed (%F, Linux 6.16+) against the PID.
 */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "procfs.h"

#define SMALL_FILE_MAX 65536

char *cp_read_small_file(int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	return fd < 0 ? NULL : cp_read_small_fd(fd);
}

char *cp_read_small_fd(int fd)
{
	char *buf;
	size_t len = 0;

	if (!(buf = malloc(SMALL_FILE_MAX + 1)))
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

/* The value of "@key:" in a /proc status text, or NULL. */
static const char *status_field(const char *status, const char *key)
{
	size_t n = strlen(key);

	for (const char *line = status; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			return line + n + 1;
	return NULL;
}

/* Is the process of @dfd (a /proc/PID fd: it stays the same process even when the PID is
 * reused) in the middle of a core dump? */
static int core_dumping_in(int dfd, const char *status_path)
{
	_cleanup_free_ char *status = cp_read_small_file(dfd, status_path);
	const char *v = status ? status_field(status, "CoreDumping") : NULL;

	return v ? strtol(v, NULL, 10) == 1 : -1;
}

static bool core_dumping(int dfd)
{
	int r = core_dumping_in(dfd, "status");

	if (r >= 0)
		return r;
	/* No memory to show (a main thread that exited before another one crashed): ask the
	 * threads. */
	_cleanup_close_ int tfd = openat(dfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = tfd >= 0 ? fdopendir(tfd) : NULL;
	if (!d)
		return false;
	tfd = -1;
	bool dumping = false;
	int n = 0;
	for (struct dirent *de; !dumping && n < 256 && (de = readdir(d)); n++) {
		char path[64];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "task/%.20s/status", de->d_name);
		dumping = core_dumping_in(dfd, path) == 1;
	}
	closedir(d);
	return dumping;
}

/* Are the four ids of a "Uid:" or "Gid:" line (real, effective, saved, fs) one? */
static bool ids_differ(const char *v)
{
	char *end;
	long first = v ? strtol(v, &end, 10) : 0;

	if (!v)
		return false;
	for (int i = 1; i < 4; i++) {
		const char *s = end;
		long id = strtol(s, &end, 10);
		if (end == s)
			break;
		if (id != first)
			return true;
	}
	return false;
}

/* AT_SECURE in /proc/PID/auxv: the kernel ran the program set-user-ID, set-group-ID or
 * with file capabilities. */
static bool at_secure(int dfd)
{
	_cleanup_close_ int fd = openat(dfd, "auxv", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	Elf64_auxv_t aux[128];
	size_t len = 0;

	if (fd < 0)
		return false;
	while (len < sizeof(aux)) {
		ssize_t n = read(fd, (char *)aux + len, sizeof(aux) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	for (size_t i = 0; i < len / sizeof(aux[0]) && aux[i].a_type != AT_NULL; i++)
		if (aux[i].a_type == AT_SECURE)
			return aux[i].a_un.a_val != 0;
	return false;
}

/* A process whose dump the kernel hands over only because fs.suid_dumpable is 2: its
 * /proc files belong to root though it does not run as root (the kernel's "not dumpable"),
 * its ids differ, or it was started with privileges (AT_SECURE). */
static bool privileged(int dfd)
{
	_cleanup_free_ char *status = cp_read_small_file(dfd, "status");
	struct stat st;
	const char *uid = status ? status_field(status, "Uid") : NULL;

	if (!status)
		return true;	/* unknown: the careful answer */
	if (ids_differ(uid) || ids_differ(status_field(status, "Gid")))
		return true;
	/* (the files in /proc/PID say it, the directory does not) */
	if (fstatat(dfd, "status", &st, 0) < 0 || (uid && st.st_uid == 0 && strtol(uid, NULL, 10) != 0))
		return true;
	return at_secure(dfd);
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
	/* Without a pidfd (%F) nothing else says that this is the process that crashed. */
	if (!core_dumping(dfd))
		return -ESRCH;
	p->restricted = privileged(dfd);

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
	/* Still the same dump: the fd is of one process, not of a PID. */
	if (!core_dumping(dfd)) {
		cp_proc_deinit(p);
		return -ESRCH;
	}
	p->valid = true;
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
