/* sighandler.c - crash corpus: SIGSEGV inside a SIGUSR1 handler.
 *
 * Exercises: unwinding through a signal frame.  The crashed thread's stack is
 *   handler_crash <- on_usr1 <- __restore_rt (signal trampoline, sa_restorer) <- spin_here
 *   <- spin_outer <- main <- libc start code
 * SIGUSR1 comes from a periodic POSIX timer while main spins in spin_here(), a leaf looping
 * on one jmp: the frame under __restore_rt is an interrupted PC, not a return address, so an
 * unwinder that treats it as a call site goes wrong.  The handler crashes only when it
 * interrupted that very jmp (and returns otherwise, to be called again 10 ms later), so every
 * run crashes at the same PCs: with ASLR off (setarch -R) two runs give identical frames.
 *
 * Build: cc -g -O2 -o sighandler sighandler.c
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;			/* always 0 */
static volatile unsigned long spin_pc;	/* address of spin_here's loop, once it runs */

static NOINLINE void handler_crash(int *p)
{
	*p = 42; /* CRASH-LINE */
	KEEP_FRAME();
}

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)si;
	if (spin_pc == 0 || (unsigned long)uc->uc_mcontext.gregs[REG_RIP] != spin_pc)
		return;	/* not in the loop yet: wait for the next tick */
	handler_crash((int *)(long)(sink + sig - SIGUSR1)); /* CALL-LINE */
	KEEP_FRAME();
}

/* Publish the address of the loop, then spin on one jmp forever (gcc does not know that). */
static NOINLINE void spin_here(void)
{
	__asm__ volatile("lea 1f(%%rip), %%rax\n\t"
			 "mov %%rax, %0\n"
			 "1:\tjmp 1b"
			 : "=m"(spin_pc) : : "rax", "memory");
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
