/*
 * hint.c - the crash context crashpipe-createdump left for us (src/stub/hint.h): the
 * thread the .NET runtime says crashed, and its signal, code and address. Written by the
 * crashed user, so it is looked at inside the process's root through O_PATH without
 * following links, and opened only when it is a small regular file owned by that user with
 * one link (never a device, FIFO, directory or symlink); it is parsed strictly, and used
 * only when it agrees with the core: the pid must be the process's, the thread one of its
 * threads.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "core.h"
#include "fsopen.h"
#include "hint.h"
#include "stub/hint.h"

static bool parse_i64(const char *s, int64_t *ret)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*ret = v;
	return true;
}

int cp_hint_read(int rootfd, const char *dir, pid_t pid, uid_t uid, const struct cp_core *core,
		 struct cp_hint *ret, const char **why)
{
	char name[16], buf[CP_HINT_MAX + 1];
	struct stat st;
	struct cp_hint h = { .has_code = false };

	*why = NULL;
	snprintf(name, sizeof(name), "%d", (int)pid);
	_cleanup_close_ int dirfd = cp_open_dir_in_root(rootfd, dir);
	if (dirfd < 0)
		return dirfd;
	/* Look before opening: the user may have bind-mounted a device or a FIFO over the
	 * name in their own mount namespace, and an open as root is already an action (a
	 * device's open handler runs, a FIFO's writer wakes up). O_PATH opens nothing; then
	 * that very inode, and nothing else, is opened through our own fd, not the name. A
	 * hard link to someone else's file is refused by the owner check already; a second
	 * name of the user's own is not what the stub writes either. */
	static const char *const whys[] = {
		[CP_REGULAR_SYMLINK] = "a symbolic link",
		[CP_REGULAR_NOT_REGULAR] = "not a regular file",
		[CP_REGULAR_OWNER] = "owned by another user",
		[CP_REGULAR_LINKS] = "has more than one link",
		[CP_REGULAR_TOO_LARGE] = "too large",
		[CP_REGULAR_CHANGED] = "changed while it was opened",
	};
	const struct cp_regular_rules rules = {
		.check_owner = true, .owner = uid, .single_link = true, .max_size = CP_HINT_MAX,
	};
	enum cp_regular_why refused;
	_cleanup_close_ int fd = cp_open_regular_at(dirfd, name, &rules, &st, &refused);
	if (fd < 0) {
		*why = whys[refused];
		return fd;
	}
	ssize_t n = read(fd, buf, CP_HINT_MAX);
	if (n < 0)
		return -errno;
	buf[n] = '\0';

	char *save, *line = strtok_r(buf, "\n", &save);
	if (!line || strcmp(line, CP_HINT_MAGIC) != 0) {
		*why = "not a crashpipe hint";
		return -EINVAL;
	}
	bool have_pid = false, have_tid = false, have_signal = false;
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *val = strchr(line, ' ');
		int64_t v;
		if (!val || !parse_i64(val + 1, &v)) {
			*why = "a line is not \"key number\"";
			return -EINVAL;
		}
		*val = '\0';
		if (strcmp(line, "pid") == 0 && v > 0 && v <= INT32_MAX) {
			have_pid = v == pid;
		} else if (strcmp(line, "tid") == 0 && v > 0 && v <= INT32_MAX) {
			h.tid = v;
			have_tid = true;
		} else if (strcmp(line, "signal") == 0 && v > 0 && v < 65) {
			h.signal = v;
			have_signal = true;
		} else if (strcmp(line, "code") == 0 && v >= INT32_MIN && v <= INT32_MAX) {
			h.code = v;
			h.has_code = true;
		} else if (strcmp(line, "errno") == 0) {
			/* not reported */
		} else if (strcmp(line, "address") == 0) {
			h.address = (uint64_t)v;
			h.has_address = true;
		} else if (strcmp(line, "user_dumps") == 0) {
			h.user_dumps = v == 1;
		}
	}
	if (!have_pid || !have_tid || !have_signal) {
		*why = "pid, tid or signal missing, or the pid is not the crashed process's";
		return -EINVAL;
	}
	bool known = false;
	for (size_t i = 0; i < core->n_threads; i++)
		known |= core->threads[i].tid == h.tid;
	if (!known) {
		*why = "its thread is not one of the core's";
		return -EINVAL;
	}
	/* Used once: a later crash of a process with the same pid must not find it. */
	(void) unlinkat(dirfd, name, 0);
	*ret = h;
	return 0;
}
