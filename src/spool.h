#ifndef CP_SPOOL_H
#define CP_SPOOL_H

/*
 * spool - the directories `crashpipe handle` writes into as root (the spool, the debuginfo
 * cache), and the one way files are made in them. Reports of every user's crashes go
 * there, so nobody but its owner may be able to add, swap or rename anything in the spool
 * or in any directory above it; and a file is made by name in a directory fd, never by a
 * path looked up twice.
 */

#include <stdbool.h>
#include <sys/types.h>

/* A file being made in a directory: see cp_newfile_create(). */
struct cp_newfile {
	int dir_fd;		/* borrowed */
	int fd;
	bool named;		/* tmp exists in dir_fd */
	char tmp[64];
};

/* Start a new file in @dir_fd that nobody else can have opened: an unnamed O_TMPFILE where
 * the file system has it, else a fresh random name made with O_EXCL|O_NOFOLLOW. @flags is
 * O_WRONLY or O_RDWR. Write to f->fd, then cp_newfile_commit() or cp_newfile_abort().
 * Returns 0 or -errno. */
int cp_newfile_create(int dir_fd, int flags, struct cp_newfile *f);

/* Give the file @mode (and root:root when we are root) through its fd, then the name
 * @name in its directory: linked under a fresh random name (linkat refuses an existing
 * one), then renameat() within the directory fd, so that whatever was at @name (a symlink,
 * a hard link to another file) is replaced, never followed or written. Closes f->fd and
 * removes what is left on failure. Returns 0 or -errno. */
int cp_newfile_commit(struct cp_newfile *f, const char *name, mode_t mode);

/* Drop a file from cp_newfile_create(). */
void cp_newfile_abort(struct cp_newfile *f);

/* Open the spool @dir (made mode 0700 when it is missing), checked: not a symbolic link,
 * a directory owned by us, writable by nobody else; each directory above it owned by root
 * or us and writable by nobody else unless sticky (/tmp). Logs one line naming @dir and
 * what is wrong otherwise. Returns an O_PATH fd of the directory or -errno (-ELOOP: a
 * symlink, -ENOTDIR, -EPERM: wrong owner or mode). */
int cp_spool_open(const char *dir);

/* The same check, without keeping the fd. Returns 0 or -errno. */
int cp_spool_check(const char *dir);

#endif
