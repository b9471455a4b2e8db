/*
 * spool.c - see spool.h. The checks systemd-coredump and apport learnt from their CVEs
 * (CVE-2009-1295, CVE-2015-1325): a report written as root into a directory someone else
 * can write to, or reached through one, can be swapped for a link to any file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "spool.h"

/* May @st, a directory on the way to the spool, be changed by someone but root and us? */
static const char *unsafe_dir(const struct stat *st, bool last)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != geteuid() && (last || st->st_uid != 0))
		return "not owned by root";
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st->st_mode & S_ISVTX)))
		return "writable by group or others";
	return NULL;
}

int cp_spool_open(const char *dir)
{
	struct stat st;

	if (!dir || !*dir)
		return cp_log_errno(LOG_ERR, -EINVAL, "spool: no directory given");
	if (lstat(dir, &st) < 0 && errno == ENOENT && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cp_log_errno(LOG_ERR, -errno, "spool %s: cannot create it: %m", dir);
	if (lstat(dir, &st) < 0)
		return cp_log_errno(LOG_ERR, -errno, "spool %s: %m", dir);
	if (S_ISLNK(st.st_mode))
		return cp_log_errno(LOG_ERR, -ELOOP, "spool %s: is a symbolic link; refusing it", dir);

	/* Walk the resolved path from / without following anything, checking each step. */
	_cleanup_free_ char *real = realpath(dir, NULL);
	if (!real)
		return cp_log_errno(LOG_ERR, -errno, "spool %s: %m", dir);
	_cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t done = 0;	/* real[0..done) is what fd is */
	for (;;) {
		size_t start = done + strspn(real + done, "/"), n = strcspn(real + start, "/");
		if (fstat(fd, &st) < 0)
			return -errno;
		const char *why = unsafe_dir(&st, n == 0);
		if (why) {
			int err = S_ISDIR(st.st_mode) ? -EPERM : -ENOTDIR;
			if (n == 0)
				return cp_log_errno(LOG_ERR, err, "spool %s: it is %s (uid %u, mode %04o); refusing it",
						    dir, why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
			return cp_log_errno(LOG_ERR, err, "spool %s: %.*s above it is %s (uid %u, mode %04o); refusing it",
					    dir, (int)(done ? done : 1), real, why, (unsigned)st.st_uid,
					    (unsigned)(st.st_mode & 07777));
		}
		if (n == 0)
			break;
		_cleanup_free_ char *comp = strndup(real + start, n);
		if (!comp)
			return -ENOMEM;
		int sub = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return cp_log_errno(LOG_ERR, -errno, "spool %s: %.*s: %m", dir, (int)(start + n), real);
		close(fd);
		fd = sub;
		done = start + n;
	}
	return TAKE_FD(fd);
}

int cp_spool_check(const char *dir)
{
	int fd = cp_spool_open(dir);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* A fresh random temporary name, hidden (a leading dot) from `crashpipe list`. */
static int random_name(char tmp[static 64])
{
	uint64_t rnd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	snprintf(tmp, 64, ".#cp%016" PRIx64 ".tmp", rnd);
	return 0;
}

int cp_newfile_create(int dir_fd, int flags, struct cp_newfile *f)
{
	int r;

	*f = (struct cp_newfile) { .dir_fd = dir_fd, .fd = -1 };
	f->fd = openat(dir_fd, ".", O_TMPFILE | flags | O_CLOEXEC, 0600);
	if (f->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT)
		return -errno;
	for (int i = 0; i < 100; i++) {
		if ((r = random_name(f->tmp)) < 0)
			return r;
		f->fd = openat(dir_fd, f->tmp, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
		if (f->fd >= 0) {
			f->named = true;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

void cp_newfile_abort(struct cp_newfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->named)
		(void) unlinkat(f->dir_fd, f->tmp, 0);
	f->named = false;
}

int cp_newfile_commit(struct cp_newfile *f, const char *name, mode_t mode)
{
	int r = 0;

	if (!*name || strchr(name, '/'))
		r = -EINVAL;
	if (r == 0 && fchmod(f->fd, mode) < 0)
		r = -errno;
	/* A set-group-ID directory would hand its group the file. */
	if (r == 0 && geteuid() == 0 && fchown(f->fd, 0, 0) < 0)
		r = -errno;
	if (r == 0 && !f->named) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		r = -EEXIST;
		for (int i = 0; i < 100 && r == -EEXIST; i++) {
			if ((r = random_name(f->tmp)) < 0)
				break;
			/* Without /proc mounted, AT_EMPTY_PATH (root only) does the same. */
			if (linkat(AT_FDCWD, proc, f->dir_fd, f->tmp, AT_SYMLINK_FOLLOW) == 0 ||
			    (errno == ENOENT && linkat(f->fd, "", f->dir_fd, f->tmp, AT_EMPTY_PATH) == 0))
				f->named = true;
			else
				r = -errno;
		}
	}
	if (r == 0 && renameat(f->dir_fd, f->tmp, f->dir_fd, name) < 0)
		r = -errno;
	if (r == 0)
		f->named = false;
	cp_newfile_abort(f);
	return r;
}
