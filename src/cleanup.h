#ifndef CP_CLEANUP_H
#define CP_CLEANUP_H

/*
 * cleanup.h - scope-bound cleanup, after systemd's and drgn's.
 *
 * _cleanup_free_ char *s = ...;   freed when s leaves scope
 * return TAKE_PTR(s);             hand ownership on; the variable becomes NULL
 */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Closes without clobbering errno, so "return -errno" after a failed call stays right. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#endif
