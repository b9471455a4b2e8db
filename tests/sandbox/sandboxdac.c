/*
 * sandboxdac.c - a hostile DAC, for tests/run-sandbox.sh: it stands in for
 * libmscordaccore.so in a container's /dotnet and tries, from its constructor (which runs
 * inside dlopen(), before any check of ours could), what a planted DAC would:
 *   bit 0  open SANDBOXDAC_HOST_FILE, a file on the host outside the container
 *   bit 1  create SANDBOXDAC_MARKER on the host
 *   bit 2  run as uid 0 or gid 0
 *   bit 3  make a socket
 *   bit 4  see the host's / (SANDBOXDAC_HOST_FILE's directory is there)
 * With SANDBOXDAC_HOLD 0, CLRDataCreateInstance fails with HRESULT 0xa0f00000 | those bits,
 * which the report carries in runtime.dac_error. With SANDBOXDAC_HOLD N it succeeds, and the
 * first call the DAC's process makes after its system call filter (the first method but
 * QueryInterface) sleeps N seconds, so that the test can look at the process while it is held. Paths and times are
 * compile-time constants: the DAC's process has no environment of the test's.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SANDBOXDAC_HOLD
#define SANDBOXDAC_HOLD 0
#endif

static uint32_t seen;

__attribute__((constructor)) static void probe(void)
{
	int fd = open(SANDBOXDAC_HOST_FILE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		seen |= 1;
		close(fd);
	}
	fd = open(SANDBOXDAC_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		seen |= 2;
		close(fd);
	}
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0)
		seen |= 4;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		seen |= 8;
		close(s);
	}
	char dir[] = SANDBOXDAC_HOST_FILE;
	struct stat st;
	if (stat(dirname(dir), &st) == 0)
		seen |= 16;
}

typedef long (*slot_fn)(void);

/* QueryInterface: no ISOSDacInterface; crashpipe goes on with the process alone. */
static long query_interface(void)
{
	return (long)(int32_t)0x80004002;	/* E_NOINTERFACE */
}

/* Every other method: E_FAIL, after the hold on the first call (the first stack walk,
 * which comes after crashpipe's system call filter). */
static long fail(void)
{
	static int held;
	if (!held++)
		sleep(SANDBOXDAC_HOLD);
	return (long)(int32_t)0x80004005;	/* E_FAIL */
}

static slot_fn vtable[256];
static struct { slot_fn *vtbl; } process = { vtable };

__attribute__((visibility("default"))) int CLRDataCreateInstance(const void *iid, void *target, void **iface)
{
	if (SANDBOXDAC_HOLD == 0)
		return (int)(0xa0f00000u | seen);
	for (size_t i = 0; i < sizeof(vtable) / sizeof(vtable[0]); i++)
		vtable[i] = fail;
	vtable[0] = query_interface;
	*iface = &process;
	return 0;
}
