#ifndef CP_CHILD_H
#define CP_CHILD_H

/*
 * child - collecting what a worker process (the analysis in handle, the DAC) writes to a
 * pipe, with a deadline: the child is killed when it runs out of time, and whatever it had
 * written by then is kept.
 */

#include <stddef.h>
#include <sys/types.h>

/* Read @fd until EOF, @max bytes, or @timeout seconds; then reap @child (killed first on
 * timeout) into *@status_ret. *@buf_ret gets a NUL-terminated buffer (NULL on ENOMEM). */
void cp_child_collect(int fd, pid_t child, unsigned timeout, size_t max, char **buf_ret,
		      size_t *len_ret, int *status_ret);

#endif
