/* uw-threads.c - foreign-unwinding corpus (run-unwind-foreign.sh): one program built many
 * ways (static glibc, static musl, non-PIE, frame pointers without CFI, .debug_frame only,
 * clang), each a different set of unwind tables for the same stacks.
 *
 * main starts a worker that parks in a blocking read() on a pipe nobody writes under
 * worker_a -> worker_b, then crashes with a NULL write in level_three
 * (main -> level_one -> level_two -> level_three). Every thread's frames must be the ones
 * gdb and eu-stack agree on.
 *
 * Build: cc -g -O1 -o uw-threads uw-threads.c -pthread (plus the variant's flags)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NOINLINE __attribute__((noinline))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;
static int fds[2];
static pthread_barrier_t started;

static NOINLINE void worker_b(void)
{
	char c;

	printf("worker %d\n", (int)syscall(SYS_gettid));
	fflush(stdout);
	pthread_barrier_wait(&started);
	while (read(fds[0], &c, 1) != 0)
		;
	KEEP_FRAME();
}

static NOINLINE void worker_a(void)
{
	worker_b();
	KEEP_FRAME();
}

static void *worker(void *arg)
{
	worker_a();
	KEEP_FRAME();
	return arg;
}

static NOINLINE void level_three(int *p)
{
	*p = 3; /* CRASH-LINE */
	KEEP_FRAME();
}

static NOINLINE void level_two(int *p)
{
	level_three(p); /* CALL-LINE */
	KEEP_FRAME();
}

static NOINLINE void level_one(int *p)
{
	level_two(p);
	KEEP_FRAME();
}

int main(void)
{
	pthread_t th;

	if (pipe(fds) < 0)
		return 1;
	pthread_barrier_init(&started, NULL, 2);
	if (pthread_create(&th, NULL, worker, NULL) != 0)
		return 1;
	pthread_barrier_wait(&started);
	usleep(100000);	/* the worker is in read() */
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	level_one((int *)(long)sink);
	return 0;
}
