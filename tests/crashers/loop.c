/* loop.c - the smallest crash, for crash loops (run-threat-loop.sh) and spool listings
 * (run-list.sh): one thread, a NULL write in crash_a() or, given the argument "b", in
 * crash_b() (two crash sites of one program, two signatures). Built with -g -O0. */
#include <string.h>

static void __attribute__((noinline)) crash_a(volatile int *p)
{
	*p = 1;		/* CRASH-A */
}

static void __attribute__((noinline)) crash_b(volatile int *p)
{
	*p = 2;		/* CRASH-B */
}

int main(int argc, char **argv)
{
	volatile int *p = NULL;

	if (argc > 1 && strcmp(argv[1], "b") == 0)
		crash_b(p);
	else
		crash_a(p);
	return 0;
}
