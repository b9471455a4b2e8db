/*
 * fuzz-symcache.c - libFuzzer target for the symcache reader (src/symcache.c): the bytes
 * are a .sym file in the cache directory.
 *
 * Root writes that file, but the reader takes it as data (a full disk, a crash half-way,
 * an older crashpipe), so each input is written where cp_symcache_open() looks for build-id
 * HEX in a private temporary directory, root-owned and 0644 as the builder leaves it, then
 * opened at two biases and asked for functions and lines at a spread of addresses: the
 * 8-byte words of the file itself (its symbols, region starts and row addresses) plus and
 * minus one, and the extremes. Every name it answers must be a string inside the file;
 * an inline chain (version 2) is at most CP_INLINE_MAX_DEPTH calls with lines >= 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inline.h"
#include "symcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEX "00112233445566778899aabbccddeeff00112233"
#define MAX_WORDS 512

static char dir[64];
static char sub[96];
static char path[160];
static volatile uint64_t sink;

static void cleanup(void)
{
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/fuzz-symcache-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/%.2s", dir, HEX);
	snprintf(path, sizeof(path), "%s/%s.sym", sub, &HEX[2]);
	if (mkdir(sub, 0755) < 0)
		abort();
	atexit(cleanup);
	if (geteuid() != 0)
		fprintf(stderr, "fuzz-symcache: not root: the reader refuses files root does not own, "
			"so this run covers nothing\n");
}

static void lookup(const struct cp_symcache *c, uint64_t addr)
{
	uint64_t start = 0;
	const char *name = cp_symcache_function(c, addr, &start);
	if (name)
		sink += strlen(name) + start;
	const char *file = NULL;
	int line = 0;
	int r = cp_symcache_line(c, addr, &file, &line);
	if (r < -1 || r > 1)
		abort();
	if (r == 1) {
		if (!file)
			abort();
		sink += strlen(file) + line;
	}
	struct cp_inline_chain chain;
	int n = cp_symcache_inline(c, addr, &chain);
	if (n < -1 || n > (int)CP_INLINE_MAX_DEPTH || (n >= 0 && (size_t)n != chain.n))
		abort();
	for (int i = 0; i < n; i++) {
		if (chain.calls[i].call_line < 0)
			abort();
		if (chain.calls[i].name)
			sink += strlen(chain.calls[i].name);
		if (chain.calls[i].call_file)
			sink += strlen(chain.calls[i].call_file);
	}
}

static void probe(const uint8_t *data, size_t size, uint64_t bias)
{
	struct cp_symcache *c = cp_symcache_open(dir, HEX, bias);
	if (!c)
		return;
	static const uint64_t fixed[] = { 0, 1, 0x1000, 0x400000, INT64_MAX, UINT64_MAX - 1, UINT64_MAX };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		lookup(c, fixed[i]);
	for (size_t off = 0; off + 8 <= size && off / 8 < MAX_WORDS; off += 8) {
		uint64_t v;
		memcpy(&v, data + off, 8);
		lookup(c, bias + v);
		lookup(c, bias + v - 1);
		lookup(c, bias + v + 1);
	}
	cp_symcache_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	if (fchmod(fd, 0644) < 0)
		abort();
	close(fd);
	probe(data, size, 0);
	probe(data, size, 0x7f0000000000ull);
	return 0;
}
