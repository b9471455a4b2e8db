/* tiny-crasher.c - the smallest real crash for the fuzzers' seed cores (make-corpus.sh).
 *
 * Static, no libc, so the kernel's core holds little but its notes: one thread (or two
 * with an argument) that faults on a NULL write. Each thread gets a stack of its own in a
 * small mapping, so the core's PT_LOADs stay a few pages.
 *
 * Build: cc -static -nostdlib -O1 -fno-stack-protector -o tiny-crasher tiny-crasher.c
 */
#include <linux/sched.h>
#include <sys/syscall.h>

static char stack2[4096] __attribute__((aligned(16)));

static long sys(long n, long a, long b, long c, long d, long e)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return r;
}

static int *volatile target;	/* NULL, and the compiler cannot know it */

static void __attribute__((noinline)) crash(void)
{
	*target = 42;
}

static void __attribute__((noreturn, used)) second(void)
{
	for (;;)
		sys(SYS_pause, 0, 0, 0, 0, 0);
}

void __attribute__((noreturn)) _start(void);
void __attribute__((noreturn, naked)) _start(void)
{
	__asm__ volatile(
		"mov (%rsp), %rdi\n"		/* argc */
		"and $-16, %rsp\n"
		"call main_\n"
		"hlt\n");
}

void __attribute__((noreturn, used)) main_(long argc);
void __attribute__((noreturn, used)) main_(long argc)
{
	if (argc > 1) {
		/* A second thread, parked in pause(), on its own stack. */
		long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
		char *top = stack2 + sizeof(stack2) - 16;
		*(void (**)(void))top = second;
		long r;
		__asm__ volatile("syscall\n"
				 "test %%rax, %%rax\n"
				 "jnz 1f\n"
				 "ret\n"		/* the child pops second() off its stack */
				 "1:\n"
				 : "=a"(r) : "a"((long)SYS_clone), "D"(flags), "S"(top), "d"(0L)
				 : "rcx", "r11", "memory");
		for (volatile long i = 0; i < 10000000; i++)
			;
	}
	crash();
	for (;;)
		;
}
