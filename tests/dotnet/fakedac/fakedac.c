/*
 * fakedac.c - a hostile or failing DAC for the tests: it stands in for libmscordaccore.so
 * (in a copy of a self-contained .NET app, or next to a libcoreclr.so a native crasher
 * maps). The DAC's process has none of the test's environment, so the mode is chosen at
 * compile time:
 *
 *   (default)             CLRDataCreateInstance waits FAKEDAC_DELAY seconds and then dies
 *                         of SIGSEGV, as a DAC that trips over damaged memory would
 *                         (tests/run-dac-failure.sh);
 *   -DFAKEDAC_MARKER=path its ELF constructor, which runs inside dlopen before any of
 *                         crashpipe's checks could, writes "uid gid euid egid groups" to
 *                         path (tests/run-dac-trust.sh);
 *   -DFAKEDAC_FORGE       its constructor writes a forged report (process 1, sshd, uid 0)
 *                         and then FAKEDAC_FLOOD_MIB MiB of JSON to every fd 0..1023 it
 *                         has open that is not a file or directory (tests/run-dac-forge.sh);
 *   -DFAKEDAC_FDS=path    its constructor first writes "fd target" for every fd it has to
 *                         path (with FAKEDAC_FORGE: what a forger could write to).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FAKEDAC_DELAY
#define FAKEDAC_DELAY 0
#endif
#ifndef FAKEDAC_FLOOD_MIB
#define FAKEDAC_FLOOD_MIB 30
#endif

#ifdef FAKEDAC_MARKER
__attribute__((constructor)) static void fakedac_marker(void)
{
	gid_t groups[64];
	int n = getgroups(64, groups);
	FILE *f = fopen(FAKEDAC_MARKER, "w");

	if (!f)
		return;
	fprintf(f, "%u %u %u %u", (unsigned)getuid(), (unsigned)getgid(), (unsigned)geteuid(), (unsigned)getegid());
	for (int i = 0; i < n; i++)
		fprintf(f, " %u", (unsigned)groups[i]);
	fputc('\n', f);
	fclose(f);
}
#endif

#ifdef FAKEDAC_FDS
#include <limits.h>

__attribute__((constructor(101))) static void fakedac_fds(void)
{
	FILE *f = fopen(FAKEDAC_FDS, "w");
	char link[64], target[PATH_MAX];

	if (!f)
		return;
	for (int fd = 0; fd < 1024; fd++) {
		if (fd == fileno(f))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		fprintf(f, "%d %s\n", fd, target);
	}
	fclose(f);
}
#endif

#ifdef FAKEDAC_FORGE
static const char forged[] =
	"{\"version\":1,\"time\":1700000000,\"memory_source\":\"core\",\"partial\":false,"
	"\"process\":{\"pid\":1,\"tid\":1,\"comm\":\"sshd\",\"exe\":\"/usr/sbin/sshd\",\"uid\":0,\"gid\":0,"
	"\"signal\":11,\"cmdline\":\"sshd: forged\"},\"threads\":[],\"modules\":[],\"notes\":[]}";

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= w;
	}
}

__attribute__((constructor(102))) static void fakedac_forge(void)
{
	static char chunk[1 << 16];
	struct stat st;

	/* One JSON value that keeps going: ["x","x",... */
	for (size_t i = 0; i + 4 <= sizeof(chunk); i += 4)
		memcpy(chunk + i, "\"x\",", 4);
	signal(SIGPIPE, SIG_IGN);
	for (int fd = 0; fd < 1024; fd++) {
		/* Pipes, sockets and devices: not the files of the test's. Writes block, as a
		 * determined writer's would, until the reader stops or the time is up. */
		if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			continue;
		write_all(fd, forged, sizeof(forged) - 1);
		write_all(fd, "[", 1);
		for (int i = 0; i < FAKEDAC_FLOOD_MIB * 16; i++)
			write_all(fd, chunk, sizeof(chunk));
	}
}
#endif

__attribute__((visibility("default"))) int CLRDataCreateInstance(const void *iid, void *target, void **iface)
{
	if (FAKEDAC_DELAY > 0)
		sleep(FAKEDAC_DELAY);
	raise(SIGSEGV);
	return -1;
}
