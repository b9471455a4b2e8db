/* threads.c - crash corpus: many threads, frame pointers omitted.
 *
 * Exercises: unwinding every thread of a multi-threaded process at -O2 -fomit-frame-pointer
 * (CFI only, no %rbp chain), thread names (pthread_setname_np, read back from
 * /proc/PID/task/TID/comm by "crashpipe handle"), and the crashed thread being main.
 *
 * NTHREADS workers each descend a chain of distinct non-inlined functions, two to five calls
 * deep (worker_N_a -> worker_N_b ...), and park in pause().  Main waits on a barrier until all
 * have started, then until every worker is past it and asleep in pause() (state 'S' in
 * /proc/self/task/TID/stat), prints "worker TID NAME" for each, then crashes with a NULL write
 * in crash_inner() (main -> crash_outer -> crash_inner).
 *
 * Build: cc -g -O2 -fomit-frame-pointer -o threads threads.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NTHREADS 16
#define NOINLINE __attribute__((noinline, noclone))
/* An empty asm after a call stops gcc from turning it into a tail call (the caller's
 * frame must stay on the stack for the oracle comparison to mean anything). */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

static pthread_barrier_t started;
static volatile pid_t worker_tid[NTHREADS];
static volatile int parked[NTHREADS];
volatile int sink;
volatile int trail;

static NOINLINE void park(int n)
{
	worker_tid[n] = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	parked[n] = 1;	/* past the barrier: the next sleep is pause() */
	while (!sink)	/* forever, but gcc must not know park() never returns */
		pause();
}

/* worker_N_a calls worker_N_b ... down to a depth of 2 + N % 4; the last one parks.  Each
 * function leaves its own mark in trail after the call, so no two have the same body (gcc's
 * identical code folding would otherwise merge worker_0_a .. worker_15_a into one). */
#define CHAIN(N)                                                                   \
	static NOINLINE void worker_##N##_d(int n) { park(n); trail = N * 10 + 4; } \
	static NOINLINE void worker_##N##_c(int n)                                 \
	{                                                                          \
		if (n % 4 >= 3) worker_##N##_d(n); else park(n);                   \
		trail = N * 10 + 3;                                                \
	}                                                                          \
	static NOINLINE void worker_##N##_b(int n)                                 \
	{                                                                          \
		if (n % 4 >= 2) worker_##N##_c(n); else park(n);                   \
		trail = N * 10 + 2;                                                \
	}                                                                          \
	static NOINLINE void worker_##N##_a(int n)                                 \
	{                                                                          \
		if (n % 4 >= 1) worker_##N##_b(n); else park(n);                   \
		trail = N * 10 + 1;                                                \
	}                                                                          \
	static NOINLINE void *worker_##N(void *arg)                                \
	{                                                                          \
		worker_##N##_a((int)(long)arg);                                    \
		trail = N * 10;                                                    \
		return NULL;                                                       \
	}

CHAIN(0) CHAIN(1) CHAIN(2) CHAIN(3) CHAIN(4) CHAIN(5) CHAIN(6) CHAIN(7)
CHAIN(8) CHAIN(9) CHAIN(10) CHAIN(11) CHAIN(12) CHAIN(13) CHAIN(14) CHAIN(15)

static void *(*const entry[NTHREADS])(void *) = {
	worker_0, worker_1, worker_2, worker_3, worker_4, worker_5, worker_6, worker_7,
	worker_8, worker_9, worker_10, worker_11, worker_12, worker_13, worker_14, worker_15,
};

/* Wait until worker N is past the barrier and sleeps in pause(), so its stack no longer
 * moves. */
static void wait_asleep(int n)
{
	pid_t tid = worker_tid[n];
	char path[64], buf[512], *p;
	for (int tries = 0; tries < 2000; tries++) {
		FILE *f;
		snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
		if (parked[n] && (f = fopen(path, "r")) != NULL) {
			size_t len = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[len] = '\0';
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S')
				return;
		}
		usleep(1000);
	}
	fprintf(stderr, "thread %d never went to sleep\n", (int)tid);
	exit(2);
}

static NOINLINE void crash_inner(int *p)
{
	*p = 42; /* CRASH-LINE */
	KEEP_FRAME();
}

static NOINLINE void crash_outer(int *p)
{
	crash_inner(p); /* CALL-LINE */
	KEEP_FRAME();
}

int main(void)
{
	pthread_t t[NTHREADS];
	char name[16];

	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	for (long i = 0; i < NTHREADS; i++) {
		if (pthread_create(&t[i], NULL, entry[i], (void *)i) != 0)
			return 2;
		snprintf(name, sizeof name, "worker-%02ld", i);
		pthread_setname_np(t[i], name);
	}
	pthread_barrier_wait(&started);
	for (int i = 0; i < NTHREADS; i++) {
		wait_asleep(i);
		printf("worker %d worker-%02d\n", (int)worker_tid[i], i);
	}
	printf("crash tid %d\n", (int)syscall(SYS_gettid));
	fflush(stdout);
	crash_outer((int *)(long)sink); /* sink is 0: a NULL write the compiler cannot see */
	return 0;
}
