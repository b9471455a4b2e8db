/* sighandler.c - crash corpus: SIGSEGV inside a SIGUSR1 handler.
 *
 * Exercises: unwinding through a signal frame.  The crashed thread's stack is
 *   handler_crash <- on_usr1 <- __restore_rt (signal trampoline, sa_restorer) <- spin_here
 *   <- spin_outer <- main <- libc start code
 * SIGUSR1 comes from a periodic POSIX timer while main spins in spin_here(), a naked
 * function that is one jmp to itself.  Two frames are not like the others:
 *  - __restore_rt's ip is the first byte of __restore_rt (the handler "returns" there);
 *  - spin_here's ip is the interrupted PC, here the first byte of spin_here, not a return
 *    address.
 * Looking either up at ip-1, as for a call's return address, lands before the function: the
 * wrong name (or none) and the wrong line.  The handler crashes only when it interrupted that
 * jmp (it returns otherwise, to be called again 10 ms later), so every run crashes at the
 * same PCs: with ASLR off (setarch -R) two runs give identical frames.
 *
 * Build: cc -g -O2 -o sighandler sighandler.c
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

/* Spin forever on one jmp, the function's first instruction (naked: no prologue, not even
 * endbr64; gcc still emits its CFI and line). */
static __attribute__((naked, noinline)) void spin_here(void)
{
	__asm__ volatile("1:\tjmp 1b"); /* SPIN-LINE */
}

volatile int sink;	/* always 0 */

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

int main(void)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;

	if (memcmp((const void *)spin_here, "\xeb\xfe", 2) != 0) {
		fprintf(stderr, "spin_here does not start with jmp to itself\n");
		return 2;	/* the handler would wait forever */
	}
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 2;

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	memset(&its, 0, sizeof its);
	its.it_value.tv_nsec = 10 * 1000 * 1000;	/* every 10 ms */
	its.it_interval.tv_nsec = 10 * 1000 * 1000;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0 || timer_settime(timer, 0, &its, NULL) != 0)
		return 2;
	spin_outer();
	return 0;
}
