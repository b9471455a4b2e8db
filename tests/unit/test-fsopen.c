/*
 * test-fsopen.c - cp_reopen_regular() / cp_open_regular_at(), the look-then-reopen that
 * hint.c, report-file.c and cp_open_in_root() share: each refusal with its -errno and its
 * why, the rules (owner, one link, size), a FIFO never opened, the fd blocking, and
 * (as root, in a mount namespace of its own without /proc) the fallback and the
 * same-inode check after it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/fsopen.h"
#include "unit.h"

static int dirfd_;

static void put(const char *name, const char *text)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* cp_open_regular_at() on @name: the result, *why in @why_ret. */
static int open_at(const char *name, const struct cp_regular_rules *rules, enum cp_regular_why *why_ret)
{
	struct stat st;
	*why_ret = (enum cp_regular_why)-1;
	int fd = cp_open_regular_at(dirfd_, name, rules, &st, why_ret);
	if (fd >= 0) {
		struct stat st2;
		CHECK(fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino && S_ISREG(st.st_mode));
		CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));	/* blocking again */
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
		return 0;
	}
	return fd;
}

static int fallback_calls;

/* Opens @userdata (a name in dirfd_) instead: the same inode, or another one. */
static int open_name(void *userdata, int pfd, int flags)
{
	(void) pfd;
	fallback_calls++;
	int fd = openat(dirfd_, userdata, flags | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* In a child with a mount namespace of its own and no /proc: the fallback. */
static int without_proc(void)
{
	enum cp_regular_why why;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2("/proc", MNT_DETACH) < 0) {
		printf("# no mount namespace without /proc (%m): fallback not tested\n");
		fflush(stdout);
		return 77;
	}
	CHECK(access("/proc/self/fd", F_OK) < 0);
	CHECK(open_at("a", NULL, &why) == -ENOENT && why == CP_REGULAR_ERRNO);
	struct cp_regular_rules rules = { .fallback = open_name, .userdata = "a" };
	CHECK(open_at("a", &rules, &why) == 0 && fallback_calls == 1);
	rules.userdata = "b";		/* another inode behind the name */
	CHECK(open_at("a", &rules, &why) == -EINVAL && why == CP_REGULAR_CHANGED && fallback_calls == 2);
	rules.userdata = "link";	/* a link swapped in: the fallback's -ELOOP */
	CHECK(open_at("a", &rules, &why) == -ELOOP && why == CP_REGULAR_ERRNO);
	rules.userdata = "missing";
	CHECK(open_at("a", &rules, &why) == -ENOENT && why == CP_REGULAR_ERRNO);
	printf("# without /proc: %d checks, %d failed\n", unit_checks, unit_failures);
	fflush(stdout);
	return unit_failures ? 1 : 0;
}

int main(void)
{
	char dir[] = "/tmp/test-fsopen-XXXXXX";
	enum cp_regular_why why;

	if (!mkdtemp(dir))
		return 99;
	dirfd_ = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(dirfd_ >= 0);
	put("a", "0123456789");
	put("b", "other");
	CHECK(symlinkat("a", dirfd_, "link") == 0);
	CHECK(mkfifoat(dirfd_, "fifo", 0600) == 0);
	CHECK(mkdirat(dirfd_, "sub", 0700) == 0);

	CHECK(open_at("a", NULL, &why) == 0 && why == CP_REGULAR_ERRNO);
	CHECK(open_at("missing", NULL, &why) == -ENOENT && why == CP_REGULAR_ERRNO);
	CHECK(open_at("link", NULL, &why) == -ELOOP && why == CP_REGULAR_SYMLINK);
	CHECK(open_at("sub", NULL, &why) == -EINVAL && why == CP_REGULAR_NOT_REGULAR);
	CHECK(open_at("fifo", NULL, &why) == -EINVAL && why == CP_REGULAR_NOT_REGULAR);
	/* the FIFO was never opened for reading: a writer finds no reader */
	char fifo[sizeof(dir) + 8];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC) < 0 && errno == ENXIO);

	struct cp_regular_rules rules = { .check_owner = true, .owner = geteuid() };
	CHECK(open_at("a", &rules, &why) == 0);
	rules.owner = geteuid() + 1;
	CHECK(open_at("a", &rules, &why) == -EPERM && why == CP_REGULAR_OWNER);
	rules = (struct cp_regular_rules){ .max_size = 10 };
	CHECK(open_at("a", &rules, &why) == 0);
	rules.max_size = 9;
	CHECK(open_at("a", &rules, &why) == -EFBIG && why == CP_REGULAR_TOO_LARGE);
	rules = (struct cp_regular_rules){ .single_link = true };
	CHECK(open_at("a", &rules, &why) == 0);
	CHECK(linkat(dirfd_, "a", dirfd_, "a2", 0) == 0);
	CHECK(open_at("a", &rules, &why) == -EINVAL && why == CP_REGULAR_LINKS);
	CHECK(unlinkat(dirfd_, "a2", 0) == 0);
	/* a refusal before the open never reaches the fallback */
	rules = (struct cp_regular_rules){ .fallback = open_name, .userdata = "b" };
	CHECK(open_at("link", &rules, &why) == -ELOOP && fallback_calls == 0);
	/* /proc is there: the fallback is not used */
	CHECK(open_at("a", &rules, &why) == 0 && fallback_calls == 0);

	int status = 0;
	if (geteuid() == 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(without_proc());
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
		CHECK(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77);
	} else {
		printf("# not root: the fallback without /proc is not tested\n");
	}

	const char *names[] = { "a", "b", "link", "fifo" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlinkat(dirfd_, names[i], 0);
	unlinkat(dirfd_, "sub", AT_REMOVEDIR);
	close(dirfd_);
	rmdir(dir);
	return UNIT_DONE();
}
