/* stackloop.c - crash corpus: a frame-pointer chain to bend into a loop.
 *
 * Exercises: loop detection in the unwinder (issue 7, finding 12). Built with frame
 * pointers, every function's CFI computes its CFA from %rbp and its caller's %rbp is saved
 * on the stack: tests/mutate-core.py cycle rewrites one saved %rbp in a real core of it so
 * that the CFI unwind cycles over 2 or 3 real frames (real return addresses, real stack
 * memory), which must stop at the first repeat instead of running to --max-frames.
 * main -> level_one -> level_two -> level_three -> level_four writes through NULL (level_four
 * is a leaf: gcc gives it no frame, so %rbp at the crash is level_three's; main and the three
 * above it keep theirs, enough for a cycle of 3 over frames of this file).
 *
 * Build: cc -g -O1 -fno-omit-frame-pointer -o stackloop stackloop.c
 */
#include <stdio.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;

static NOINLINE void level_four(int *p)
{
	*p = 4; /* CRASH-LINE */
	KEEP_FRAME();
}

static NOINLINE void level_three(int *p)
{
	level_four(p);
	KEEP_FRAME();
}

static NOINLINE void level_two(int *p)
{
	level_three(p);
	KEEP_FRAME();
}

static NOINLINE void level_one(int *p)
{
	level_two(p);
	KEEP_FRAME();
}

int main(void)
{
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	level_one((int *)(long)sink);
	return 0;
}
