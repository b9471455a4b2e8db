/* overflow.c - crash corpus: stack overflow by unbounded recursion.
 *
 * Exercises: the frame cap.  recurse() calls itself (not a tail call: it uses the result, and
 * a stack array keeps the frames large enough to be real) until the 8 MiB main stack runs
 * out and the kernel sends SIGSEGV.  That is tens of thousands of frames; the report must stop
 * at --max-frames and say "truncated": true, and the oracle comparison looks at the first
 * N frames only.  The innermost frames are all recurse(); main is far below.
 *
 * Build: cc -g -O2 -o overflow overflow.c
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

volatile int sink;

static NOINLINE unsigned long recurse(unsigned long depth)
{
	volatile char pad[64];

	if (depth == ~0UL)	/* never: keeps gcc from warning about the endless recursion */
		return 0;
	memset((char *)pad, (int)depth, sizeof pad);
	return recurse(depth + 1 + sink) + pad[depth % sizeof pad]; /* CALL-LINE */
}

int main(void)
{
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	printf("%lu\n", recurse(0));
	return 0;
}
