#ifndef CP_FSOPEN_H
#define CP_FSOPEN_H

/*
 * fsopen - opening files that the crashed user controls.
 *
 * The handler runs as root, and the paths it opens come from a core (NT_FILE) and may lie
 * inside a container's root. Every such file is opened relative to a root directory fd,
 * never escaping it, without following symbolic links (unless asked, and then only within
 * the root), without blocking on a FIFO, and it must turn out to be a regular file.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Open @path (absolute, interpreted inside @rootfd) read-only. With @follow, symbolic links
 * are followed but resolved inside @rootfd (for /usr/lib/debug/.build-id links). Returns
 * an fd or -errno (-ELOOP: a link where none may be; -EINVAL: not a regular file). */
int cp_open_in_root(int rootfd, const char *path, bool follow);

/* The same without openat2(2), as on kernels before 5.6 and under valgrind: used when
 * openat2 is missing, and by the tests. */
int cp_open_in_root_walk(int rootfd, const char *path, bool follow);

/* Open the directory @path inside @rootfd, with the same rules. Returns an fd or -errno. */
int cp_open_dir_in_root(int rootfd, const char *path);

/* Open a directory to serve as the root for cp_open_in_root(). Returns an fd or -errno. */
int cp_open_root(const char *dir);

/* What cp_reopen_regular() asks of a file besides being a regular file. */
struct cp_regular_rules {
	bool check_owner;		/* st_uid must be @owner */
	uid_t owner;
	bool single_link;		/* st_nlink must be 1 */
	uint64_t max_size;		/* st_size at most this; 0: any size */
	/* Where /proc is not mounted (/proc/self/fd/N gives ENOENT): another way to open
	 * the inode @pfd refers to with @flags, returning an fd or -errno; what it opens is
	 * checked like the /proc one. NULL: -ENOENT. */
	int (*fallback)(void *userdata, int pfd, int flags);
	void *userdata;
};

/* Which check cp_reopen_regular() refused the file by, so that each caller can say it in
 * its own words (each comes with the -errno given). */
enum cp_regular_why {
	CP_REGULAR_ERRNO,		/* a system call failed: its -errno; also 0 (success) */
	CP_REGULAR_SYMLINK,		/* -ELOOP: a symbolic link */
	CP_REGULAR_NOT_REGULAR,		/* -EINVAL: a device, FIFO, socket or directory */
	CP_REGULAR_OWNER,		/* -EPERM: not owned by rules->owner */
	CP_REGULAR_LINKS,		/* -EINVAL: more than one link */
	CP_REGULAR_TOO_LARGE,		/* -EFBIG: larger than rules->max_size */
	CP_REGULAR_CHANGED,		/* -EINVAL: what was opened is not the inode looked at */
};

/* Look before opening: fstat() the O_PATH fd @pfd (which opened no device and woke no
 * FIFO) and, only when it is a regular file that meets @rules (NULL: none), open that
 * very inode for reading through /proc/self/fd/@pfd (never by a name again; else through
 * rules->fallback), O_NONBLOCK|O_NOCTTY, then check that the fd is the same inode and
 * make it block normally. Returns the fd (O_RDONLY|O_CLOEXEC, the caller closes it) with
 * its fstat() in *@st_ret, or -errno; *@why_ret (may be NULL) says which check failed.
 * @pfd stays the caller's. */
int cp_reopen_regular(int pfd, const struct cp_regular_rules *rules, struct stat *st_ret,
		      enum cp_regular_why *why_ret);

/* The same for the entry @name of the directory @dirfd (or AT_FDCWD), opened O_PATH
 * without following a final symbolic link (that is CP_REGULAR_SYMLINK). */
int cp_open_regular_at(int dirfd, const char *name, const struct cp_regular_rules *rules, struct stat *st_ret,
		       enum cp_regular_why *why_ret);

#endif
