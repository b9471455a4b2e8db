#ifndef CP_SPOOL_H
#define CP_SPOOL_H

/*
 * spool - the directory `crashpipe handle` writes reports into, as root. Reports of every
 * user's crashes go there, so nobody but its owner may be able to add, swap or rename
 * anything in it or in any directory above it.
 */

/* Open the spool @dir (made mode 0700 when it is missing), checked: not a symbolic link,
 * a directory owned by us, writable by nobody else; each directory above it owned by root
 * or us and writable by nobody else unless sticky (/tmp). Logs one line naming @dir and
 * what is wrong otherwise. Returns an O_PATH fd of the directory or -errno (-ELOOP: a
 * symlink, -ENOTDIR, -EPERM: wrong owner or mode). */
int cp_spool_open(const char *dir);

/* The same check, without keeping the fd. Returns 0 or -errno. */
int cp_spool_check(const char *dir);

#endif
