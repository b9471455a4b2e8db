/* burst.c - crash corpus for bursts (tests/run-burst.sh, run-spool-full.sh, bench/burst).
 *
 * Many copies start, wait together, then crash at the same moment: each reads standard input
 * until end of file (the test holds one FIFO open for all of them and closes it to let them
 * go), then crashes in burst_crash() the way MODE says. With THREADS > 0 that many workers
 * park in pause() first, so the core has THREADS + 1 threads.
 *
 * Built once per -DVARIANT=N: the constant below is part of the text, so each build has its
 * own GNU build-id (and its crashes their own signature).
 *
 *   burst [THREADS [segv|abort|fpe|ill]]
 *
 * Build: cc -g -O1 -DVARIANT=N -o burst-N burst.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VARIANT
#define VARIANT 0
#endif
#define NOINLINE __attribute__((noinline, noclone))

volatile int variant = VARIANT;
static volatile int zero;

static void *worker(void *arg)
{
	(void) arg;
	for (;;)
		pause();
	return NULL;
}

NOINLINE static void burst_crash(const char *mode)
{
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "fpe") == 0)
		printf("%d\n", variant / zero);
	if (strcmp(mode, "ill") == 0)
		__builtin_trap();
	*(volatile int *)(long)zero = variant;	/* segv: a write to address 0 */
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 0;
	const char *mode = argc > 2 ? argv[2] : "segv";
	char buf[64];

	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, NULL) != 0)
			return 2;
	}
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	burst_crash(mode);
	return 1;
}
