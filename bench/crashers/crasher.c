/*
 * crasher.c - the program whose kernel core the benchmarks analyse.
 *
 * NTHREADS worker threads each allocate and touch HEAP_MB MiB of heap (so the pages
 * are really in the core, not holes), then park several frames deep in pause().
 * When all are parked, main() crashes with SIGSEGV three frames deep.
 *
 * Built twice by bench/run:
 *   crash-big    -DNTHREADS=64 -DHEAP_MB=6 -DSTACK_KB=1024   (core ~ 450 MB)
 *   crash-small  -DNTHREADS=8  -DHEAP_MB=1 -DSTACK_KB=256    (core ~ 10 MB)
 *
 * If BENCH_TS_FD is set in the environment, the CLOCK_MONOTONIC time taken just
 * before the fault is written to that fd as a struct timespec (bench/tools/holdtime.c
 * uses it to measure how long the kernel holds the dying process).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef NTHREADS
#define NTHREADS 64
#endif
#ifndef HEAP_MB
#define HEAP_MB 6
#endif
#ifndef STACK_KB
#define STACK_KB 1024
#endif

#define NOINLINE __attribute__((noinline))
/* An empty asm after each call keeps the compiler from turning calls into jumps. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static pthread_barrier_t parked;
static void *volatile heaps[NTHREADS];

static NOINLINE void park_here(int id)
{
	size_t len = (size_t)HEAP_MB << 20;
	char *p = malloc(len);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	memset(p, 'A' + id % 26, len);	/* non-zero: every page is present in the core */
	heaps[id] = p;
	pthread_barrier_wait(&parked);
	for (;;)
		pause();
}

static NOINLINE void park_c(int id) { park_here(id); KEEP_FRAME(); }
static NOINLINE void park_b(int id) { park_c(id); KEEP_FRAME(); }
static NOINLINE void park_a(int id) { park_b(id); KEEP_FRAME(); }

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	char name[16];

	snprintf(name, sizeof(name), "worker-%d", id);
	pthread_setname_np(pthread_self(), name);
	park_a(id);
	return NULL;
}

static void stamp(void)
{
	const char *s = getenv("BENCH_TS_FD");
	struct timespec ts;

	if (!s)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (write(atoi(s), &ts, sizeof(ts)) != (ssize_t)sizeof(ts))
		_exit(3);
}

static NOINLINE void crash_here(int *volatile p)
{
	stamp();
	*p = 42;	/* SIGSEGV, SEGV_MAPERR at 0x0 */
	KEEP_FRAME();
}

static NOINLINE void crash_b(void) { crash_here(NULL); KEEP_FRAME(); }
static NOINLINE void crash_a(void) { crash_b(); KEEP_FRAME(); }

int main(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int i;

	pthread_barrier_init(&parked, NULL, NTHREADS + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)STACK_KB << 10);
	for (i = 0; i < NTHREADS; i++) {
		if (pthread_create(&t, &attr, worker, (void *)(long)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	pthread_barrier_wait(&parked);
	usleep(50 * 1000);	/* let every worker get from the barrier into pause() */
	crash_a();
	return 0;
}
