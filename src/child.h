#ifndef CP_CHILD_H
#define CP_CHILD_H

/*
 * child - collecting what a worker process (the analysis in handle, the DAC) writes to a
 * pipe, with a deadline: the child is killed when it runs out of time, and whatever it had
 * written by then is kept.
 */

#include <stddef.h>
#include <sys/types.h>

/* Set up a worker process just forked: it dies with its parent, gets SIGALRM after
 * @timeout seconds, takes on @uid/@gid when it runs as root (unless both are 0), and is not
 * dumpable. Returns 0, or -errno when the privileges could not be dropped. */
int cp_child_confine(unsigned timeout, uid_t uid, gid_t gid);

/* Read @fd until EOF, @max bytes, or @timeout seconds, killing @child on timeout.
 * *@buf_ret gets a NUL-terminated buffer (NULL on ENOMEM). */
void cp_child_read(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret, size_t *len_ret);

/* cp_child_read(), then reap @child into *@status_ret. */
void cp_child_collect(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret,
		      size_t *len_ret, int *status_ret);

#endif
