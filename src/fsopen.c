/*
 * fsopen.c - see fsopen.h. openat2(2) (Linux 5.6) does the work: RESOLVE_IN_ROOT keeps
 * ".." and absolute links inside the root, RESOLVE_NO_SYMLINKS refuses every link on the
 * way, RESOLVE_NO_MAGICLINKS refuses /proc/self/fd-style escapes.
 *
 * A file is first opened O_PATH: that reaches no driver and no FIFO (a device or FIFO
 * planted in a container's root is never opened by root, not even for a moment, finding
 * 6's hazard), and only when fstat() says it is a regular file is that same inode opened
 * for reading, through its fd (/proc/self/fd/N, or its file handle where /proc is not
 * mounted), never by its path again. cp_reopen_regular() is that second step for every
 * file opened this way (hint.c and report-file.c use it too, with rules of their own).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsopen.h"

int cp_open_root(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * The same rules without openat2 (kernels before 5.6, valgrind): walk the path one
 * component at a time from @rootfd with O_NOFOLLOW. ".." stops at the root; with @follow a
 * symbolic link is read and its target walked the same way (absolute ones from the root),
 * at most 16 of them; without it a link fails with ELOOP.
 */
static int walk_in_root(int rootfd, const char *path, bool follow, int final_flags)
{
	char work[PATH_MAX * 2];
	static char stack[64][NAME_MAX + 1];	/* the directories we are in, from the root */
	size_t depth = 0;
	int hops = 0, dir = -1, ret;

	if (strlen(path) >= sizeof(work) / 2)
		return -ENAMETOOLONG;
	strcpy(work, path);
	char *rest = work;
restart:
	if (dir >= 0)
		close(dir);
	dir = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (dir < 0)
		return -errno;
	/* Re-open the directories we are in, from the root. */
	for (size_t i = 0; i < depth; i++) {
		int d = openat(dir, stack[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0) {
			ret = -errno;
			goto out;
		}
		close(dir);
		dir = d;
	}
	for (;;) {
		while (*rest == '/')
			rest++;
		if (!*rest) {
			ret = -EISDIR;
			goto out;
		}
		char *comp = rest, *slash = strchr(rest, '/');
		bool last = !slash;
		if (slash) {
			*slash = '\0';
			rest = slash + 1;
			while (*rest == '/')
				rest++;
			last = !*rest;
		} else {
			rest += strlen(rest);
		}
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0)
				depth--;
			goto restart;
		}
		int fd = openat(dir, comp, (last ? final_flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
		/* O_PATH|O_NOFOLLOW opens a symlink itself instead of failing: the same as ELOOP */
		if (fd >= 0 && last && (final_flags & O_PATH)) {
			struct stat lst;
			if (fstat(fd, &lst) == 0 && S_ISLNK(lst.st_mode)) {
				close(fd);
				fd = -1;
				errno = ELOOP;
			}
		}
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && follow) {
			char target[PATH_MAX], tail[PATH_MAX];
			ssize_t n = readlinkat(dir, comp, target, sizeof(target) - 1);
			if (n < 0 || ++hops > 16) {
				ret = -ELOOP;
				goto out;
			}
			target[n] = '\0';
			/* The link's target, then whatever was left of the path. */
			snprintf(tail, sizeof(tail), "%s", rest);
			if (snprintf(work, sizeof(work), "%s%s%s", target, *tail ? "/" : "", tail) >= (int)sizeof(work)) {
				ret = -ENAMETOOLONG;
				goto out;
			}
			rest = work;
			if (target[0] == '/')
				depth = 0;
			goto restart;
		}
		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		if (last) {
			ret = fd;
			goto out;
		}
		if (depth == ARRAY_SIZE(stack)) {
			close(fd);
			ret = -ENAMETOOLONG;
			goto out;
		}
		snprintf(stack[depth++], sizeof(stack[0]), "%s", comp);
		close(dir);
		dir = fd;
	}
out:
	close(dir);
	return ret;
}

int cp_reopen_regular(int pfd, const struct cp_regular_rules *rules, struct stat *st_ret,
		      enum cp_regular_why *why_ret)
{
	static const struct cp_regular_rules none = { .check_owner = false };
	enum cp_regular_why dummy;
	struct stat st, st2;
	char proc[64];

	if (!rules)
		rules = &none;
	if (!why_ret)
		why_ret = &dummy;
	*why_ret = CP_REGULAR_ERRNO;
	if (fstat(pfd, &st) < 0)
		return -errno;
	/* O_PATH|O_NOFOLLOW gives the link itself where nothing refused it before */
	if (S_ISLNK(st.st_mode)) {
		*why_ret = CP_REGULAR_SYMLINK;
		return -ELOOP;
	}
	if (!S_ISREG(st.st_mode)) {
		*why_ret = CP_REGULAR_NOT_REGULAR;
		return -EINVAL;
	}
	if (rules->check_owner && st.st_uid != rules->owner) {
		*why_ret = CP_REGULAR_OWNER;
		return -EPERM;
	}
	if (rules->single_link && st.st_nlink != 1) {
		*why_ret = CP_REGULAR_LINKS;
		return -EINVAL;
	}
	if (rules->max_size && (uint64_t)st.st_size > rules->max_size) {
		*why_ret = CP_REGULAR_TOO_LARGE;
		return -EFBIG;
	}

	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	_cleanup_close_ int fd = open(proc, flags);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	if (fd < 0) {
		if (!rules->fallback)
			return -ENOENT;
		fd = rules->fallback(rules->userdata, pfd, flags);
		if (fd < 0)
			return fd;
	}
	if (fstat(fd, &st2) < 0)
		return -errno;
	if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino || !S_ISREG(st2.st_mode)) {
		*why_ret = CP_REGULAR_CHANGED;
		return -EINVAL;
	}
	/* Reads must block normally from here on. */
	if (fcntl(fd, F_SETFL, 0) < 0)
		return -errno;
	*st_ret = st2;
	return TAKE_FD(fd);
}

int cp_open_regular_at(int dirfd, const char *name, const struct cp_regular_rules *rules, struct stat *st_ret,
		       enum cp_regular_why *why_ret)
{
	if (why_ret)
		*why_ret = CP_REGULAR_ERRNO;
	_cleanup_close_ int pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	return cp_reopen_regular(pfd, rules, st_ret, why_ret);
}

/* The inode behind the O_PATH fd @pfd (for @path in @rootfd), where /proc is not mounted:
 * through its file handle, which root may open, decoded in the file system of @path's
 * directory (open_by_handle_at() wants a mount fd that is not O_PATH; a directory cannot
 * be a device or FIFO). cp_reopen_regular() checks that it is @pfd's inode. */
struct in_root {
	int rootfd;
	const char *path;
};

static int reopen_by_handle(void *userdata, int pfd, int flags)
{
	const struct in_root *where = userdata;
	const char *path = where->path;
	int r, fd, mount_id;
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	if (!h)
		return -ENOMEM;
	h->handle_bytes = MAX_HANDLE_SZ;
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "/%.*s", slash ? (int)(slash - path) : 0, path);
	_cleanup_close_ int mfd = -1;
	if (name_to_handle_at(pfd, "", h, &mount_id, AT_EMPTY_PATH) < 0)
		r = -errno;
	else if ((mfd = cp_open_dir_in_root(where->rootfd, dir)) < 0)
		r = mfd;
	else if ((fd = open_by_handle_at(mfd, h, flags)) < 0)
		r = -errno;
	else
		r = fd;
	free(h);
	return r;
}

static int open_in_root(int rootfd, const char *path, bool follow, bool walk)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (follow ? 0 : RESOLVE_NO_SYMLINKS),
	};
	struct stat st;

	while (*path == '/')
		path++;
	if (!*path)
		return -EINVAL;
	_cleanup_close_ int pfd = walk ? -1 : syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (walk || (pfd < 0 && errno == ENOSYS))
		pfd = walk_in_root(rootfd, path, follow, O_PATH);
	else if (pfd < 0)
		pfd = -errno;
	if (pfd < 0)
		return pfd;
	/* -ELOOP for a link RESOLVE_NO_SYMLINKS did not refuse, -EINVAL for anything but a
	 * regular file, or one that changed while it was opened */
	struct in_root where = { rootfd, path };
	struct cp_regular_rules rules = { .fallback = reopen_by_handle, .userdata = &where };
	return cp_reopen_regular(pfd, &rules, &st, NULL);
}

int cp_open_in_root(int rootfd, const char *path, bool follow)
{
	return open_in_root(rootfd, path, follow, false);
}

int cp_open_in_root_walk(int rootfd, const char *path, bool follow)
{
	return open_in_root(rootfd, path, follow, true);
}

int cp_open_dir_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};

	while (*path == '/')
		path++;
	int fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS && *path)
		return walk_in_root(rootfd, path, false, O_RDONLY | O_DIRECTORY);
	return fd < 0 ? -errno : fd;
}
