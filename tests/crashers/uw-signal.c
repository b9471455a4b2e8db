/* uw-signal.c - foreign-unwinding corpus (run-unwind-foreign.sh): a crash inside a signal
 * handler, to unwind through the libc's signal frame (glibc's __restore_rt, musl's
 * __restore_rt: each libc has its own trampoline and its own CFI for it, or none).
 *
 * main -> outer -> inner raises SIGUSR1 with kill(); on_usr1 -> handler_crash writes
 * through NULL. The crashed thread's frames:
 *   handler_crash <- on_usr1 <- (the libc's sigreturn trampoline) <- (kill's syscall
 *   wrapper, libc-internal frames) <- inner <- outer <- main ...
 *
 * Build: musl-gcc -static -g -O1 -o uw-signal uw-signal.c (or cc)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;

static NOINLINE void handler_crash(int *p)
{
	*p = 1; /* CRASH-LINE */
	KEEP_FRAME();
}

static void on_usr1(int sig)
{
	handler_crash((int *)(long)sink);
	KEEP_FRAME();
}

static NOINLINE void inner(void)
{
	kill(getpid(), SIGUSR1); /* CALL-LINE */
	KEEP_FRAME();
}

static NOINLINE void outer(void)
{
	inner();
	KEEP_FRAME();
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	outer();
	return 0;
}
