/* foreign.c - the C program of the foreign-core corpus (tests/foreign/build.sh builds it with
 * another Debian release's gcc and glibc, musl static, glibc static, non-PIE, clang and
 * frame-pointers-only flags; tests/run-foreign-corpus.sh crashes it and replays the cores).
 *
 * NTHREADS workers park in a short call chain of their own (worker -> park_outer ->
 * park_inner -> a blocking read on a pipe nobody writes, i.e. in the libc of the build); once
 * all of them are parked, main goes down main -> level_a -> level_b -> level_c ->
 * crash_here, which stores through a NULL pointer. Every function on the way is noinline and
 * does work after its call, so each is a real frame in every build.
 *
 * usage: foreign [stop]   "stop": crash_here is where gdb's breakpoint stops it for gcore
 *                          (the program then goes on and crashes all the same).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 3
#define NOINLINE __attribute__((noinline))

static int parked_pipe[2];
static volatile int parked;
static int *volatile bad_ptr;	/* NULL: the crash */
static volatile int sink;

NOINLINE static void park_inner(int n)
{
	char c;

	__atomic_add_fetch(&parked, 1, __ATOMIC_SEQ_CST);
	if (read(parked_pipe[0], &c, 1) < 0)	/* blocks: nobody writes */
		sink = n;
	sink += n;
}

NOINLINE static void park_outer(int n)
{
	park_inner(n + 1);
	sink += n;
}

static void *worker(void *arg)
{
	park_outer((int) (long) arg);
	sink++;
	return NULL;
}

NOINLINE void crash_here(int v)
{
	*bad_ptr = v;	/* SIGSEGV */
	sink = v;
}

NOINLINE static void level_c(int v)
{
	crash_here(v * 3);
	sink += v;
}

NOINLINE static void level_b(int v)
{
	level_c(v + 2);
	sink += v;
}

NOINLINE static void level_a(int v)
{
	level_b(v + 1);
	sink += v;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	long i;

	(void) argc;
	(void) argv;
	if (pipe(parked_pipe) != 0) {
		perror("pipe");
		return 2;
	}
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *) i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	while (__atomic_load_n(&parked, __ATOMIC_SEQ_CST) < NTHREADS)
		usleep(1000);
	usleep(50000);	/* from park_inner's count into read() */
	printf("crash tid %d\n", (int) getpid());
	fflush(stdout);
	level_a(argc);
	return 0;
}
