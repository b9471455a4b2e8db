#ifndef CP_PROCFS_H
#define CP_PROCFS_H

/*
 * procfs - what /proc/PID tells about a process the kernel is holding while it dumps:
 * read before the core is drained, because the process is gone once it is.
 */

#include <stdbool.h>
#include <sys/types.h>

struct cp_proc_thread {
	pid_t tid;
	char name[16];
};

struct cp_proc {
	pid_t pid;
	char *exe, *comm, *cmdline, *cgroup;
	struct cp_proc_thread *threads;
	size_t n_threads;
	int rootfd;		/* /proc/PID/root, for files seen from inside a container; -1 */
	int memfd;		/* /proc/PID/mem, readable while the kernel holds the process; -1 */
	bool valid;		/* read, and still the process the kernel is dumping */
	bool restricted;	/* privileged: set-user-ID, file capabilities, changed ids, not dumpable */
};

/* Read what can be read of /proc/@pid; missing pieces stay NULL. Only a process the kernel
 * is dumping ("CoreDumping: 1" in its status, before and after the reads) is read: a PID
 * reused by another process is refused. Returns 0 or -errno (-ESRCH when the process is
 * not there or not dumping). */
int cp_proc_read(pid_t pid, struct cp_proc *ret);
void cp_proc_deinit(struct cp_proc *p);

/* The name of thread @tid, or NULL. */
const char *cp_proc_thread_name(const struct cp_proc *p, pid_t tid);

/* Does @pidfd refer to process @pid (checked through /proc/self/fdinfo)? */
bool cp_pidfd_is(int pidfd, pid_t pid);

/* Read a small file into a new NUL-terminated string without its trailing newline;
 * NULs inside (cmdline) become spaces. Returns NULL on failure. */
char *cp_read_small_file(int dirfd, const char *path);
/* The same from the open file @fd (borrowed). */
char *cp_read_small_fd(int fd);

#endif
