#ifndef CP_FOLLOW_H
#define CP_FOLLOW_H

/*
 * follow - `crashpipe follow [--once]`: reports of the cores systemd-coredump stored, read
 * from its journal entries (follow.c says how).
 */

/* Where systemd-coredump stores cores (systemd 252, src/coredump/coredump.c), the only
 * directory follow opens one in. */
#define CP_FOLLOW_COREDUMP_DIR "/var/lib/systemd/coredump"

#include <stdint.h>
#include <sys/types.h>

int cp_cmd_follow(int argc, char **argv);

/* The core systemd-coredump stored for the crash of @pid of @uid at @time (seconds, the
 * kernel's %t) in the boot @boot_id (with or without dashes), when it is there now: a
 * regular file directly in CP_FOLLOW_COREDUMP_DIR named as systemd 252 names it,
 * "core.COMM.UID.BOOTID.PID.USEC" with or without a compression suffix. A new string (the
 * path), or NULL. For chain mode's journal entry: whichever of the two entries of a pid
 * is the newer one, `coredumpctl dump PID` returns the core. */
char *cp_coredump_stored_core(pid_t pid, uid_t uid, const char *boot_id, int64_t time);

#endif
