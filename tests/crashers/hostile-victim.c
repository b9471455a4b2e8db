/* hostile-victim.c - the small, honest core that tests/run-hostile.sh mutates.
 *
 * Two threads (so the core has two NT_PRSTATUS notes), a short call chain in the
 * crashing main thread, and nothing large mapped: the worker gets a 64 KiB stack
 * and no one calls malloc from it, so the core stays a few hundred KiB and a few
 * hundred mutants of it fit in a test directory.
 *
 * Build: cc -g -O1 -o hostile-victim hostile-victim.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static pthread_barrier_t started;
volatile int sink;

static void *worker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&started);
	for (;;)
		pause();
	return NULL;
}

static NOINLINE void victim_crash(int *p)
{
	*p = 42;	/* SIGSEGV, SEGV_MAPERR at address 0 */
	__asm__ volatile("" ::: "memory");
}

static NOINLINE void victim_middle(int *p)
{
	victim_crash(p);
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_barrier_init(&started, NULL, 2);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&t, &attr, worker, NULL) != 0)
		return 2;
	pthread_setname_np(t, "hv-worker");
	pthread_barrier_wait(&started);
	usleep(20000);	/* let the worker reach pause() */
	victim_middle((int *)(long)sink);
	return 0;
}
