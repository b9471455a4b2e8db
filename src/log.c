/*
 * log.c - one place that decides where messages go: stderr for a person, syslog under the
 * kernel (stdout and stderr of a core_pattern helper go nowhere).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static bool log_syslog;
static int log_kmsg = -1;	/* the kernel log, where no syslog daemon listens */
static int log_max = LOG_INFO;

void cp_log_open(bool to_syslog, int max_level)
{
	log_syslog = to_syslog;
	log_max = max_level;
	if (!to_syslog)
		return;
	/* Like systemd-coredump: the journal when there is one, else the kernel's log. */
	if (access("/dev/log", W_OK) == 0)
		openlog("crashpipe", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else
		log_kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

static void log_va(int level, const char *fmt, va_list ap)
{
	if (level > log_max)
		return;
	if (log_syslog && log_kmsg >= 0) {
		char msg[1024];
		int n = snprintf(msg, sizeof(msg), "<%d>crashpipe[%d]: ", LOG_DAEMON | level, (int)getpid());
		if (n > 0 && n < (int)sizeof(msg)) {
			vsnprintf(msg + n, sizeof(msg) - n - 1, fmt, ap);
			/* A record without its newline is a continuation the kernel holds back
			 * (no reader sees it) until the next record: a crash's last line would
			 * wait for another crash. */
			size_t len = strnlen(msg, sizeof(msg) - 1);
			msg[len++] = '\n';
			(void) !write(log_kmsg, msg, len);
		}
		return;
	}
	if (log_syslog) {
		vsyslog(level, fmt, ap);
		return;
	}
	fputs("crashpipe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cp_log(int level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	errno = saved;
	log_va(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

int cp_log_errno(int level, int err, const char *fmt, ...)
{
	va_list ap;

	errno = err < 0 ? -err : err;
	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}
