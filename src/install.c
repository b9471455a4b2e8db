/*
 * install.c - `crashpipe install` / `uninstall`: point kernel.core_pattern at this binary
 * and put back what was there before (systemd-coredump's line, usually).
 *
 * Only one program can own core_pattern. The previous core_pattern and core_pipe_limit
 * are kept in SPOOL/.saved-sysctl; installing twice keeps the first saved values, so an
 * uninstall always returns to what the machine had before crashpipe. For a permanent
 * setup, the sysctl.d snippet (50-crashpipe.conf) does the same at boot.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "buildid.h"
#include "chain.h"
#include "cleanup.h"
#include "conf.h"
#include "debugcache.h"
#include "install.h"
#include "unit.h"
#include "log.h"
#include "procfs.h"
#include "show.h"
#include "spool.h"
#include "symcache.h"
#include "zio.h"
#include "stub/hint.h"

#define CORE_PATTERN "/proc/sys/kernel/core_pattern"
#define CORE_PIPE_LIMIT "/proc/sys/kernel/core_pipe_limit"
#define CORENAME_MAX 128	/* the kernel's limit on core_pattern, NUL included */
#define SAVED ".saved-sysctl"

/*
 * The core_pipe_limit install sets (when the machine's is lower): how many crashes the
 * kernel hands to handlers at once. Every crash beyond it is dropped by the kernel with only
 * "over core_pipe_limit" in its log (50 copies of a 17-thread program crashing together:
 * 1 report of 50 at 1, 19 at systemd-coredump's 16, 50 at 64; DESIGN.md), and 0 would not
 * make the kernel wait for the handler at all. A waiting handler is cheap (its crash's
 * notes, registers and stacks, the dying process already let go), and the analyses
 * themselves are bounded by handle's own slots (gate.h), so the limit can be far above any
 * burst: crash loops and prefork servers with hundreds of workers included.
 */
#define PIPE_LIMIT 1024

static int write_string(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(s);
	if (write(fd, s, len) != (ssize_t)len)
		return -errno;
	return 0;
}

/* %F (a pidfd for the helper) exists since Linux 6.16; older kernels would pass "". */
static bool kernel_has_pidfd_specifier(void)
{
	struct utsname u;
	int major, minor;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 16);
}

/* *@ret is set only on success: the caller's _cleanup_free_ owns nothing on failure. */
/* crashpipe.conf, for the spool's default; a --config file is also handle's. */
static struct cp_conf conf;
static const char *config_path;

static int make_pattern(const char *spool, const char *suffix, char **ret)
{
	_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL), *pattern = NULL;
	if (!exe)
		return -errno;
	if (asprintf(&pattern, "|%s handle --spool %s%s%s %%P %%i %%u %%g %%s %%t %%c %%h%s%s", exe, spool,
		     config_path ? " --config " : "", config_path ? config_path : "",
		     kernel_has_pidfd_specifier() ? " %F" : "", suffix ? suffix : "") < 0) {
		pattern = NULL;
		return -ENOMEM;
	}
	if (strlen(pattern) >= CORENAME_MAX)
		return -ENAMETOOLONG;
	*ret = TAKE_PTR(pattern);
	return 0;
}

static int parse(int argc, char **argv, const char **spool, bool *dry_run, bool *follow, bool *chain, bool install)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "follow", no_argument, NULL, 'f' },
		{ "chain", no_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*spool = NULL;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			*spool = optarg;
			break;
		case 'c':
			if (optarg[0] != '/') {
				cp_log(LOG_ERR, "--config: %s: must be an absolute path", optarg);
				return 2;
			}
			config_path = optarg;
			break;
		case 'n':
			if (!install)
				return 2;
			*dry_run = true;
			break;
		case 'f':
			*follow = true;
			break;
		case 'C':
			if (!install)
				return 2;
			*chain = true;
			break;
		case 'h':
			if (install)
				printf("Usage: crashpipe install [--spool DIR] [--config FILE] [--chain] [--dry-run]\n"
				       "       crashpipe install --follow [--dry-run]\n"
				       "Set kernel.core_pattern so the kernel pipes every core to `crashpipe handle`,\n"
				       "and core_pipe_limit to at least %d, saving the previous values in DIR/%s\n"
				       "(default DIR %s). --chain hands every core on to the pipe handler that was\n"
				       "there (systemd-coredump) as the kernel would have. --dry-run prints the\n"
				       "core_pattern line and changes nothing. --config FILE: handle reads it\n"
				       "(crashpipe.conf(5)); its Spool= is the default DIR.\n"
				       "--follow leaves core_pattern to systemd-coredump and enables %s\n"
				       "(`crashpipe follow`) with systemctl instead.\n",
				       PIPE_LIMIT, SAVED, CP_DEFAULT_SPOOL, CP_FOLLOW_UNIT);
			else
				printf("Usage: crashpipe uninstall [--spool DIR] [--config FILE] | --follow\n"
				       "Restore the core_pattern and core_pipe_limit saved by `crashpipe install`;\n"
				       "--follow stops and disables %s.\n", CP_FOLLOW_UNIT);
			exit(0);
		default:
			return 2;
		}
	}
	if (optind != argc)
		return 2;
	cp_conf_init(&conf);
	(void) cp_conf_load(&conf, config_path, config_path != NULL);
	if (!*spool)
		*spool = conf.spool ? conf.spool : CP_DEFAULT_SPOOL;
	if (spool[0][0] != '/') {
		cp_log(LOG_ERR, "--spool: %s: must be an absolute path", *spool);
		return 2;
	}
	return 0;
}

/* The libraries nearly every report has frames in: their debuginfo decompressed and their
 * symcaches made now (debugcache.h, symcache.h), so that the first crash is reported as
 * fast as the next. Libraries without separate debuginfo are skipped. */
static void warm_debug_cache(void)
{
	static const char *const libs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
		"/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libm.so.6",
		"/lib/x86_64-linux-gnu/libgcc_s.so.1",
	};
	int made = 0;

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		_cleanup_free_ char *path = realpath(libs[i], NULL);
		_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		_cleanup_free_ char *hex = fd >= 0 ? cp_elf_build_id_hex(fd) : NULL;
		if (!hex)
			continue;
		int r = cp_debug_cache_add(CP_DEBUG_CACHE_DEFAULT, hex);
		if (r >= 0)
			r = cp_symcache_build(CP_DEBUG_CACHE_DEFAULT, hex, path);
		if (r < 0)
			cp_log_errno(LOG_WARNING, r, "debuginfo cache: %s: %m", path);
		made += r > 0;
	}
	if (made)
		printf("debuginfo cache: %d librar%s ready in %s\n", made, made == 1 ? "y" : "ies", CP_DEBUG_CACHE_DEFAULT);
}

/* The core_pattern crashpipe replaces: the one saved by an earlier install (the machine's
 * own, not crashpipe's), else the current one. */
static char *pattern_to_chain(int spool_fd, const char *current)
{
	_cleanup_close_ int fd = spool_fd >= 0 ? openat(spool_fd, SAVED, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
	_cleanup_free_ char *saved = fd >= 0 ? cp_read_small_fd(fd) : NULL;
	char *p = saved ? strstr(saved, "core_pattern=") : NULL;

	if (!p)
		return strdup(current);
	p += strlen("core_pattern=");
	p[strcspn(p, "\n")] = '\0';
	return strdup(p);
}

int cp_cmd_install(int argc, char **argv)
{
	const char *spool = CP_DEFAULT_SPOOL;
	bool dry_run = false, follow = false, chain = false;
	_cleanup_free_ char *pattern = NULL, *saved_path = NULL, *tmp = NULL, *suffix = NULL, *chained = NULL;
	int r = parse(argc, argv, &spool, &dry_run, &follow, &chain, true);

	if (r)
		return r;
	if (follow)
		return cp_unit_follow(true, dry_run);
	_cleanup_free_ char *old_pattern = cp_read_small_file(AT_FDCWD, CORE_PATTERN);
	_cleanup_free_ char *old_limit = cp_read_small_file(AT_FDCWD, CORE_PIPE_LIMIT);
	if (!old_pattern || !old_limit) {
		cp_log_errno(LOG_ERR, -errno, "%s: %m", CORE_PATTERN);
		return 1;
	}
	old_pattern[strcspn(old_pattern, "\n")] = '\0';
	/* The spool is where `uninstall` reads the values back as root: one only root can
	 * write to (spool.h), the file made in its fd, nothing at the name followed. */
	_cleanup_close_ int spool_fd = dry_run ? -1 : cp_spool_open(spool);
	if (!dry_run && spool_fd < 0)
		return 1;
	if (chain) {
		chained = pattern_to_chain(spool_fd, old_pattern);
		r = chained ? cp_chain_suffix(chained, &suffix) : -ENOMEM;
		if (r < 0) {
			cp_log(LOG_ERR, "--chain: the core_pattern '%s' is not a pipe to a handler crashpipe can run", chained);
			return 1;
		}
	}
	r = make_pattern(spool, suffix, &pattern);
	if (r == -ENAMETOOLONG) {
		cp_log(LOG_ERR, "the core_pattern line would be longer than the kernel's %d bytes; use a shorter path",
		       CORENAME_MAX - 1);
		return 1;
	}
	if (r < 0) {
		cp_log_errno(LOG_ERR, r, "cannot find this program's path: %m");
		return 1;
	}
	if (dry_run) {
		printf("%s\n", pattern);
		return 0;
	}
	if (chain && (r = cp_chain_save(spool_fd, chained)) < 0) {
		cp_log_errno(LOG_ERR, r, "%s/%s: cannot save the handler to chain to: %m", spool, CP_CHAIN_FILE);
		return 1;
	}
	if (!chain)
		cp_chain_uninstall(spool_fd);
	if (asprintf(&saved_path, "%s/%s", spool, SAVED) < 0 ||
	    asprintf(&tmp, "core_pattern=%s\ncore_pipe_limit=%s\n", old_pattern, old_limit) < 0)
		return 1;
	/* Keep the first values saved: they are what the machine had before crashpipe. */
	if (faccessat(spool_fd, SAVED, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		struct cp_newfile f;
		r = cp_newfile_create(spool_fd, O_WRONLY, &f);
		if (r == 0 && (r = cp_write_all(f.fd, tmp, strlen(tmp))) < 0)
			cp_newfile_abort(&f);
		else if (r == 0)
			r = cp_newfile_commit(&f, SAVED, 0600);
		if (r < 0) {
			cp_log_errno(LOG_ERR, r, "%s: cannot save the current values: %m", saved_path);
			return 1;
		}
	}
	/* Where crashpipe-createdump, running as any crashed user, leaves its hints: a sticky
	 * directory everyone may write to, like /tmp (tmpfiles.d makes it at boot). */
	if ((mkdir("/run/crashpipe", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(CP_HINT_DIR_DEFAULT, 01733) < 0 && errno != EEXIST) || chmod(CP_HINT_DIR_DEFAULT, 01733) < 0)
		cp_log_errno(LOG_WARNING, -errno, "%s: %m; .NET crash hints will be missing", CP_HINT_DIR_DEFAULT);
	r = write_string(CORE_PATTERN, pattern);
	if (r < 0) {
		cp_log_errno(LOG_ERR, r, "%s: %m", CORE_PATTERN);
		return 1;
	}
	/* With 0 the kernel does not wait for the handler, and /proc/PID may be gone (or be
	 * another process) before the handler reads it; below PIPE_LIMIT a burst loses crashes. */
	long old = strtol(old_limit, NULL, 10);
	if (old < PIPE_LIMIT) {
		char value[16];
		snprintf(value, sizeof(value), "%d", PIPE_LIMIT);
		if ((r = write_string(CORE_PIPE_LIMIT, value)) < 0) {
			cp_log_errno(LOG_ERR, r, "%s: %m", CORE_PIPE_LIMIT);
			return 1;
		}
	}
	printf("core_pattern: %s\n", pattern);
	if (old < PIPE_LIMIT)
		printf("core_pipe_limit: %d (was %ld): the kernel drops every crash beyond this many at once%s;"
		       " crashpipe handle bounds its own analyses (--max-analyses, --max-memory)\n",
		       PIPE_LIMIT, old, old == 0 ? ", and with 0 it does not wait for the handler" : "");
	else
		printf("core_pipe_limit: %ld (kept: at least %d)\n", old, PIPE_LIMIT);
	warm_debug_cache();
	return 0;
}

int cp_cmd_uninstall(int argc, char **argv)
{
	const char *spool = CP_DEFAULT_SPOOL;
	bool dry_run = false, follow = false, chain = false;
	_cleanup_free_ char *saved_path = NULL;
	int r = parse(argc, argv, &spool, &dry_run, &follow, &chain, false);

	if (r)
		return r;
	if (follow)
		return cp_unit_follow(false, false);
	if (asprintf(&saved_path, "%s/%s", spool, SAVED) < 0)
		return 1;
	/* What is written back into core_pattern must be what root saved there. */
	_cleanup_close_ int spool_fd = cp_spool_open(spool);
	if (spool_fd < 0)
		return 1;
	_cleanup_close_ int saved_fd = openat(spool_fd, SAVED, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (saved_fd < 0) {
		cp_log_errno(LOG_ERR, -errno, "%s: nothing saved to restore: %m", saved_path);
		return 1;
	}
	if (fstat(saved_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		cp_log(LOG_ERR, "%s: not a regular file of ours that only we can write; not restoring from it", saved_path);
		return 1;
	}
	_cleanup_free_ char *saved = cp_read_small_fd(saved_fd);
	if (!saved) {
		cp_log_errno(LOG_ERR, -errno, "%s: nothing saved to restore: %m", saved_path);
		return 1;
	}
	char *pattern = strstr(saved, "core_pattern="), *limit = strstr(saved, "\ncore_pipe_limit=");
	if (!pattern || !limit) {
		cp_log(LOG_ERR, "%s: not a file `crashpipe install` wrote", saved_path);
		return 1;
	}
	*limit = '\0';
	pattern += strlen("core_pattern=");
	limit += strlen("\ncore_pipe_limit=");
	limit[strcspn(limit, "\n")] = '\0';
	if ((r = write_string(CORE_PATTERN, pattern)) < 0 || (r = write_string(CORE_PIPE_LIMIT, limit)) < 0) {
		cp_log_errno(LOG_ERR, r, "cannot restore: %m");
		return 1;
	}
	(void) unlinkat(spool_fd, SAVED, 0);
	cp_chain_uninstall(spool_fd);
	printf("core_pattern: %s\n", pattern);
	return 0;
}
