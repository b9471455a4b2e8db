/* fillmem.c - a crasher whose core is large and partly compressible, like a real process's
 * (tests/run-keep-core.sh, bench/keepcore).
 *
 *   fillmem MIB [random|mixed]
 *
 * Fills MIB MiB of heap, then dies of SIGSEGV three calls deep (fill_done > crash_a >
 * crash_here). "random": every byte random (a core that does not compress). "mixed" (the
 * default), in 1 MiB blocks by turn, as a server's heap looks: a quarter zero pages (freed
 * and untouched buffers), a quarter random bytes (compressed or encrypted payloads, hashes),
 * a quarter text records ("GET /api/v1/items/4711 200 user=..."), a quarter structs of
 * pointers and small integers. zstd -1 makes it about 2.4:1.
 * With BENCH_TS_FD set, writes CLOCK_MONOTONIC (a struct timespec) to that fd just before
 * the fault (bench/tools/holdtime.c). Prints "pid N" and "filled" first.
 *
 * Build: cc -O2 -g -fno-optimize-sibling-calls -o fillmem fillmem.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define MIB (1u << 20)

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: fast enough to fill GiBs, not a libc call in the frames. */
static inline uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dull;
}

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rnd();
		memcpy(p + i, &v, 8);
	}
}

static void fill_text(unsigned char *p, size_t n)
{
	static const char *const words[] = { "GET /api/v1/items/", "POST /api/v1/orders/", "200 OK user=",
					     "404 session=", "timeout after ", "token=" };
	size_t off = 0;
	while (off + 64 < n) {
		uint64_t v = rnd();
		off += (size_t)snprintf((char *)p + off, 64, "%s%u id=%u\n", words[v % 6], (unsigned)(v >> 8) % 100000,
					(unsigned)(v >> 40) % 1000);
	}
	memset(p + off, ' ', n - off);
}

static void fill_structs(unsigned char *p, size_t n)
{
	uint64_t *q = (uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++) {
		uint64_t v = rnd();
		q[i] = (i & 1) ? 0x7f1234560000ull + ((v & 0xfffff) << 4) : v % 1000;
	}
}

static volatile int *volatile null_ptr;

static NOINLINE void crash_here(void)
{
	const char *ts = getenv("BENCH_TS_FD");
	if (ts) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (write(atoi(ts), &t, sizeof(t)) != (ssize_t)sizeof(t))
			_exit(3);
	}
	*null_ptr = 1;
}

static NOINLINE void crash_a(void)
{
	crash_here();
	__asm__ volatile("" ::: "memory");
}

static NOINLINE void fill_done(unsigned char *heap)
{
	printf("filled\n");
	fflush(stdout);
	crash_a();
	__asm__ volatile("" : : "r"(heap) : "memory");
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	int random_only = argc > 2 && strcmp(argv[2], "random") == 0;
	unsigned char *heap = malloc(mib * MIB);

	if (!heap)
		return 2;
	printf("pid %d\n", (int)getpid());
	for (size_t i = 0; i < mib; i++) {
		unsigned char *b = heap + i * MIB;
		switch (random_only ? 1 : i % 4) {
		case 0:
			memset(b, 0, MIB);
			break;
		case 1:
			fill_random(b, MIB);
			break;
		case 2:
			fill_text(b, MIB);
			break;
		default:
			fill_structs(b, MIB);
		}
	}
	fill_done(heap);
	return 0;
}
