#ifndef CP_FOLLOW_H
#define CP_FOLLOW_H

/*
 * follow - `crashpipe follow [--once]`: reports of the cores systemd-coredump stored, read
 * from its journal entries (follow.c says how).
 */

/* Where systemd-coredump stores cores (systemd 252, src/coredump/coredump.c), the only
 * directory follow opens one in. */
#define CP_FOLLOW_COREDUMP_DIR "/var/lib/systemd/coredump"

int cp_cmd_follow(int argc, char **argv);

#endif
