/*
 * unit.c - `crashpipe install --follow` / `uninstall --follow`: systemctl enable (disable)
 * --now crashpipe-follow.service, run only when systemd is the service manager.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* As sd_booted(3): systemd is PID 1 when /run/systemd/system is a directory. */
static bool systemd_booted(void)
{
	struct stat st;
	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

int cp_unit_follow(bool enable, bool dry_run)
{
	const char *verb = enable ? "enable" : "disable";
	char *const argv[] = { "systemctl", "--no-pager", (char *)verb, "--now", CP_FOLLOW_UNIT, NULL };
	/* No PATH search and no environment of the caller's (sudo keeps some): systemctl from
	 * its own directory, without a pager (threats.md T16, T21). */
	static const char *const where[] = { "/usr/bin/systemctl", "/bin/systemctl" };
	char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_PAGER=", "LC_ALL=C", NULL };

	if (dry_run) {
		printf("systemctl %s --now %s\n", verb, CP_FOLLOW_UNIT);
		return 0;
	}
	if (!systemd_booted()) {
		cp_log(LOG_ERR, "systemd is not PID 1 here (no /run/systemd/system): nothing %s. On a machine "
		       "booted with systemd, run: systemctl %s --now %s%s", enable ? "enabled" : "disabled", verb,
		       CP_FOLLOW_UNIT, enable ? "; elsewhere run `crashpipe follow` under the service manager" : "");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return cp_log_errno(LOG_ERR, -errno, "fork: %m"), 1;
	if (pid == 0) {
		for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
			execve(where[i], argv, envp);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cp_log_errno(LOG_ERR, -errno, "waitpid: %m"), 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("%s: %s\n", CP_FOLLOW_UNIT, enable ? "enabled and started" : "stopped and disabled");
		return 0;
	}
	cp_log(LOG_ERR, "systemctl %s --now %s failed (%s %d)", verb, CP_FOLLOW_UNIT,
	       WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
}
