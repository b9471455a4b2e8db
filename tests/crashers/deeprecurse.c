/* deeprecurse.c - crash corpus: a stack 100000 frames deep that crashes at its top.
 *
 * Exercises: the walk to the bottom of a deep stack and the folding of its cycle (issue 8,
 * item 5). main -> outer_two -> outer_one -> ping -> pong -> ping ... (100000 frames of the
 * two, a cycle of two functions) -> crash_here, which writes through NULL. The report must
 * keep crash_here, ping and pong once with the cycle's count, and the bottom: outer_one,
 * outer_two, main and libc's frames below it, as gdb's `bt -N` prints them; the frames
 * in all must be as many as gdb counts. Neither ping nor pong is a tail call (each uses
 * the result), and their frames are small enough for 100000 of them in an 8 MiB stack.
 *
 * Build: cc -g -O1 -o deeprecurse deeprecurse.c
 */
#include <stdio.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define DEPTH 100000

volatile int sink;

static NOINLINE int crash_here(int n)
{
	*(volatile int *)(long)sink = n; /* CRASH-LINE */
	return n;
}

static NOINLINE int pong(int n);

static NOINLINE int ping(int n)
{
	if (n == 0)
		return crash_here(n);
	return pong(n - 1) + sink; /* PING-LINE */
}

static NOINLINE int pong(int n)
{
	if (n == 0)
		return crash_here(n);
	return ping(n - 1) + sink; /* PONG-LINE */
}

static NOINLINE int outer_one(int n)
{
	return ping(n - 1) + sink;
}

static NOINLINE int outer_two(int n)
{
	return outer_one(n) + sink;
}

int main(void)
{
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	return outer_two(DEPTH) + sink;
}
