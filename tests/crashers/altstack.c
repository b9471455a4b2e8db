/* altstack.c - crash corpus: SIGSEGV in a signal handler on an alternate stack that lies
 * above the interrupted one.
 *
 * Exercises: the unwinder's rule that a caller's sp is above its callee's, and its one
 * exception: the signal frame. A worker thread (its stack is mmap()ed, below the main
 * stack) spins in spin_here(), a naked function that is one jmp to itself; SIGUSR1 from a
 * periodic timer (blocked in main, so the worker takes it) runs on_usr1 on an alternate
 * signal stack that is a buffer in main's frame, on the main stack, above the worker's
 * stack. The crashed thread's frames
 *   handler_crash <- on_usr1 <- __restore_rt <- spin_here <- spin_outer <- spinner
 *   <- start_thread <- clone
 * go *down* from __restore_rt (on the alternate stack) to spin_here (the worker's stack):
 * legitimate, and the walk must go on through it (issue 7, finding 12: loop detection must
 * not cut signal frames on another stack).
 *
 * Build: cc -g -O2 -o altstack altstack.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define ALTSTACK_SIZE (64 * 1024)

static __attribute__((naked, noinline)) void spin_here(void)
{
	__asm__ volatile("1:\tjmp 1b"); /* SPIN-LINE */
}

volatile int sink;	/* always 0 */
static char *altstack;	/* in main's frame */

static NOINLINE void handler_crash(int *p)
{
	*p = 42; /* CRASH-LINE */
	KEEP_FRAME();
}

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)si;
	if ((unsigned long)uc->uc_mcontext.gregs[REG_RIP] != (unsigned long)spin_here)
		return;	/* not in the loop yet: wait for the next tick */
	handler_crash((int *)(long)(sink + sig - SIGUSR1)); /* CALL-LINE */
	KEEP_FRAME();
}

static NOINLINE void spin_outer(void)
{
	spin_here();
	KEEP_FRAME();
}

static void *spinner(void *arg)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_SIZE };
	sigset_t set;
	int here;

	if (sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(2);
	}
	if ((unsigned long)&here > (unsigned long)altstack) {
		fprintf(stderr, "the thread's stack %p is above the alternate stack %p\n", (void *)&here,
			(void *)altstack);
		exit(2);
	}
	printf("crash tid %d\n", (int)syscall(SYS_gettid));
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	spin_outer();
	return arg;
}

int main(void)
{
	char stack[ALTSTACK_SIZE] __attribute__((aligned(16)));
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its;
	sigset_t set;
	timer_t timer;
	pthread_t th;

	if (memcmp((const void *)spin_here, "\xeb\xfe", 2) != 0) {
		fprintf(stderr, "spin_here does not start with jmp to itself\n");
		return 2;
	}
	altstack = stack;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 2;
	/* Only the spinner takes SIGUSR1: main blocks it (the thread inherits the mask and
	 * unblocks it once on its alternate stack). */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	memset(&its, 0, sizeof its);
	its.it_value.tv_nsec = 10 * 1000 * 1000;	/* every 10 ms */
	its.it_interval.tv_nsec = 10 * 1000 * 1000;
	if (pthread_create(&th, NULL, spinner, NULL) != 0)
		return 2;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0 || timer_settime(timer, 0, &its, NULL) != 0)
		return 2;
	pthread_join(th, NULL);
	KEEP_FRAME();
	return 0;
}
