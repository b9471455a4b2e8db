/* stripped.c - crash corpus: a binary with no symbols at all.
 *
 * Exercises: unwinding a PIE that was stripped with strip --strip-all (no .symtab, no DWARF
 * .debug_*; only .eh_frame / .eh_frame_hdr and the dynamic symbols remain).  Frames of the
 * program itself must still be found, at the right addresses, with "function": null (or a
 * name from .dynsym only; there is none for these static functions); libc frames keep their
 * names.  main -> level_one -> level_two -> level_three writes through NULL.
 *
 * Build: cc -g -O2 -o stripped stripped.c && strip --strip-all stripped
 */
#include <stdio.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;

static NOINLINE void level_three(int *p)
{
	*p = 3; /* CRASH-LINE */
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
