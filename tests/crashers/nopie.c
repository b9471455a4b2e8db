/* nopie.c - crash corpus: a non-PIE (ET_EXEC) executable with a worker thread.
 *
 * Exercises: a program linked -no-pie, whose executable is ET_EXEC at a fixed address and is
 * mapped by the kernel in several pieces that all belong to one file (its text, read-only data
 * and data segments; with ld's -z separate-code two of them start at file offset 0 in some
 * layouts). Every piece must be one module: the frames of every thread, the worker's too,
 * must be unwound through the executable's own CFI (issue 7, finding 4: a second offset-0
 * mapping of the file was reported to libdwfl again, which freed the first module).
 * main starts a worker that parks in pause() under worker_a -> worker_b, then crashes with a
 * NULL write in level_three (main -> level_one -> level_two -> level_three).
 *
 * Build: cc -g -O1 -fno-pie -no-pie -o nopie nopie.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;
static pthread_barrier_t started;

static NOINLINE void worker_b(void)
{
	printf("worker %d nopie-worker\n", (int)syscall(SYS_gettid));
	fflush(stdout);
	pthread_barrier_wait(&started);
	while (!sink)
		pause();
	KEEP_FRAME();
}

static NOINLINE void worker_a(void)
{
	worker_b();
	KEEP_FRAME();
}

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "nopie-worker");
	worker_a();
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

	pthread_barrier_init(&started, NULL, 2);
	if (pthread_create(&th, NULL, worker, NULL) != 0)
		return 1;
	pthread_barrier_wait(&started);
	usleep(100000);	/* the worker is in pause() */
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	level_one((int *)(long)sink);
	return 0;
}
