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

#endif
