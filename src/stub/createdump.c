/*
 * createdump.c - crashpipe-createdump: what the .NET runtime runs instead of its createdump
 * when libcrashpipe-preload.so is loaded (see preload.c).
 *
 * The runtime waits for us with the crashing thread stopped, and only then aborts (or
 * re-faults) into the kernel core that crashpipe handle reads. So this is quick and quiet:
 * record what only the runtime knows (crash thread, real signal, si_code, si_errno,
 * address) as a hint file, make sure the kernel core will hold what the report needs,
 * chain to the real createdump only where the user had asked for dumps, and exit 0.
 * Any argv at all must end in exit 0 without touching memory it does not own: it comes
 * from a crashing process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stub/hint.h"

/* Anonymous memory and ELF headers: the report needs the stacks and the heap of the
 * crashed process; the kernel default is 0x33, but a unit file or a parent may lower it. */
#define CP_FILTER_NEEDED 0x33UL

struct cp_crash {
	long long pid, tid, signo, code, err, address;
	bool saw_pid, has_pid, has_tid, has_signo, has_code, has_err, has_address;
};

/* A whole decimal number in [min, max], nothing else around it. */
static bool cp_parse_ll(const char *s, long long min, long long max, long long *ret)
{
	long long v;
	char *end;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* createdump's options (createdumpmain.cpp, .NET 8-10) that take a value; the runtime
 * passes the long forms, a person may type the short ones. */
static bool cp_takes_value(const char *opt)
{
	static const char *const with_value[] = {
		"--name", "-f", "--logtofile", "-l",
		"--signal", "--crashthread", "--code", "--errno", "--address",
	};

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (strcmp(opt, with_value[i]) == 0)
			return true;
	return false;
}

/*
 * Unknown options and bad numbers are skipped, never fatal: a newer runtime may pass more,
 * and a number we cannot trust is simply left out of the hint.
 */
static void cp_parse_args(int argc, char **argv, struct cp_crash *c)
{
	for (int i = 1; i < argc && argv[i]; i++) {
		const char *a = argv[i], *v;

		if (a[0] != '-') {
			/* The target pid (gone in .NET 11, which dumps getppid()). */
			if (!c->saw_pid)
				c->has_pid = cp_parse_ll(a, 1, INT_MAX, &c->pid);
			c->saw_pid = true;
			continue;
		}
		if (!cp_takes_value(a))
			continue;	/* --normal, --withheap, --full, --diag, --singlefile, ... */
		if (i + 1 >= argc || !argv[i + 1])
			break;
		v = argv[++i];
		if (!strcmp(a, "--signal"))
			c->has_signo = cp_parse_ll(v, 1, 64, &c->signo);
		else if (!strcmp(a, "--crashthread"))
			c->has_tid = cp_parse_ll(v, 1, INT_MAX, &c->tid);
		else if (!strcmp(a, "--code"))
			c->has_code = cp_parse_ll(v, INT_MIN, INT_MAX, &c->code);
		else if (!strcmp(a, "--errno"))
			c->has_err = cp_parse_ll(v, INT_MIN, INT_MAX, &c->err);
		else if (!strcmp(a, "--address"))
			c->has_address = cp_parse_ll(v, LLONG_MIN, LLONG_MAX, &c->address);
	}
}

static int cp_format_hint(char *buf, size_t size, const struct cp_crash *c, bool user_dumps)
{
	int n = snprintf(buf, size, CP_HINT_MAGIC "\npid %lld\ntid %lld\nsignal %lld\n",
			 c->pid, c->tid, c->signo);

	if (c->has_code && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, "code %lld\n", c->code);
	if (c->has_err && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, "errno %lld\n", c->err);
	if (c->has_address && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, "address %lld\n", c->address);
	if (n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, "user_dumps %d\n", user_dumps ? 1 : 0);
	return n >= 0 && (size_t)n < size ? n : -1;
}

static bool cp_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/*
 * DIR/<pid>, written whole or not at all: the handler may look for it the moment the
 * process dies. The directory is mode 1733 (anyone may create, nobody may list), so the
 * temporary name carries our own pid to stay unique, and nothing is followed.
 */
static void cp_write_hint(const struct cp_crash *c, bool user_dumps)
{
	const char *dir = getenv(CP_ENV_HINT_DIR);
	char buf[CP_HINT_MAX + 1], tmp[64], name[32];
	int dfd, fd = -1, len;

	len = cp_format_hint(buf, sizeof(buf), c, user_dumps);
	if (len < 0)
		return;
	if (!dir || !*dir)
		dir = CP_HINT_DIR_DEFAULT;
	/* O_PATH: the directory is 1733, searchable and writable but not readable by the
	 * crashed user; openat(O_CREAT|O_EXCL), renameat and unlinkat need only w+x. */
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;		/* not installed, or not ours to write: no hint */
	snprintf(name, sizeof(name), "%lld", c->pid);
	snprintf(tmp, sizeof(tmp), ".%lld.%ld.tmp", c->pid, (long)getpid());

	for (int tries = 0; tries < 2 && fd < 0; tries++) {
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		/* A leftover of an earlier stub with our pid: ours to remove (sticky dir). */
		if (fd < 0 && (errno != EEXIST || unlinkat(dfd, tmp, 0) < 0))
			break;
	}
	if (fd < 0)
		goto out;
	/* Exactly 0600 whatever the umask: the handler checks the owner, nobody else reads it. */
	if (fchmod(fd, 0600) < 0 || !cp_write_all(fd, buf, len) || close(fd) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		(void)unlinkat(dfd, tmp, 0);
		goto out;
	}
out:
	close(dfd);
}

/* Make sure the kernel core will have at least CP_FILTER_NEEDED; errors are ignored. */
static void cp_ready_coredump_filter(long long pid)
{
	char path[64], buf[32];
	unsigned long filter;
	char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%lld/coredump_filter", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	errno = 0;
	filter = strtoul(buf, &end, 16);	/* the kernel prints "%08lx\n" */
	if (errno || end == buf || (filter & CP_FILTER_NEEDED) == CP_FILTER_NEEDED)
		return;
	filter |= CP_FILTER_NEEDED;
	/* The kernel reads it back with base 0: the 0x matters. */
	n = snprintf(buf, sizeof(buf), "0x%lx\n", filter);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)cp_write_all(fd, buf, n);
	close(fd);
}

static bool cp_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Run the runtime's createdump with the runtime's arguments. Returns only on failure. */
static int cp_chain(const char *real, int argc, char **argv)
{
	char **nargv = calloc((size_t)(argc > 0 ? argc : 1) + 1, sizeof(char *));

	if (!nargv)
		return 1;
	nargv[0] = (char *)real;
	for (int i = 1; i < argc && argv[i]; i++)
		nargv[i] = argv[i];
	execv(real, nargv);
	fprintf(stderr, "crashpipe-createdump: cannot run %s: %s\n", real, strerror(errno));
	free(nargv);
	return 1;
}

int main(int argc, char **argv)
{
	struct cp_crash c = { 0 };
	const char *ud = getenv(CP_ENV_USER_DUMPS);
	const char *real = getenv(CP_ENV_REAL_CREATEDUMP);
	bool user_dumps = ud && strcmp(ud, "1") == 0;
	long long parent = (long long)getppid();

	cp_parse_args(argc, argv, &c);
	if (!c.saw_pid) {
		c.pid = parent;
		c.has_pid = true;
	}

	/*
	 * The runtime forks us and waits: our parent is the crashed process. Anything else is
	 * someone running us by hand, and we touch no other process's files for them.
	 */
	if (c.has_pid && c.pid == parent) {
		if (c.has_signo && c.has_tid)
			cp_write_hint(&c, user_dumps);
		cp_ready_coredump_filter(c.pid);
	}

	if (user_dumps && real && real[0] == '/' && cp_ends_with(real, "/createdump"))
		return cp_chain(real, argc, argv);
	return 0;
}
