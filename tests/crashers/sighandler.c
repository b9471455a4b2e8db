/* sighandler.c - crash corpus: SIGSEGV inside a SIGUSR1 handler.
 *
 * Exercises: unwinding through a signal frame.  The crashed thread's stack is
 *   handler_crash <- on_usr1 <- __restore_rt (signal trampoline, sa_restorer) <- spin_here
 *   <- spin_outer <- main <- libc start code
 * SIGUSR1 comes from a POSIX timer while main spins in spin_here(), a leaf with no call in
 * its loop: the frame under __restore_rt is an interrupted PC, not a return address, so an
 * unwinder that looks it up at ip-1 or treats it as a call site goes wrong.
 *
 * Build: cc -g -O2 -o sighandler sighandler.c
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;		/* always 0 */
static volatile unsigned long spins;

static NOINLINE void handler_crash(int *p)
{
	*p = 42; /* CRASH-LINE */
	KEEP_FRAME();
}

static void on_usr1(int sig)
{
	handler_crash((int *)(long)(sink + sig - SIGUSR1)); /* CALL-LINE */
	KEEP_FRAME();
}

static NOINLINE void spin_here(void)
{
	while (!sink)	/* forever; gcc must not know that spin_here() never returns */
		spins++;
}

static NOINLINE void spin_outer(void)
{
	spin_here();
	KEEP_FRAME();
}

int main(void)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 2;

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	memset(&its, 0, sizeof its);
	its.it_value.tv_nsec = 20 * 1000 * 1000;	/* 20 ms */
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0 || timer_settime(timer, 0, &its, NULL) != 0)
		return 2;
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	spin_outer();
	return 0;
}
