#ifndef CP_HINT_READ_H
#define CP_HINT_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cp_core;

struct cp_hint {
	pid_t tid;		/* the thread the runtime says crashed */
	int signal, code;
	bool has_code, has_address, user_dumps;
	uint64_t address;
};

/* Read DIR/PID (DIR inside @rootfd) as written by crashpipe-createdump for process @pid
 * (its pid as the process itself saw it), owned by @uid, and check it against @core.
 * Returns 0, or -errno with *@why saying what was wrong for a hint that was there. */
int cp_hint_read(int rootfd, const char *dir, pid_t pid, uid_t uid, const struct cp_core *core,
		 struct cp_hint *ret, const char **why);

#endif
