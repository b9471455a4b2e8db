#ifndef CP_LOG_H
#define CP_LOG_H

#include <stdbool.h>
#include <syslog.h>

/*
 * Logging. Interactive subcommands log to stderr as "crashpipe: message"; the kernel-run
 * handler has no stderr worth writing to and logs through syslog(3), which reaches the
 * journal. Library-style code logs at LOG_DEBUG only and returns errors to its caller.
 */

/* Send messages to syslog (true) or stderr (false); messages above @max_level are dropped. */
void cp_log_open(bool to_syslog, int max_level);

/* Log a message at @level (a syslog priority). */
void cp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log with errno set to -@err (so %m prints it) and return @err, which must be negative. */
int cp_log_errno(int level, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
