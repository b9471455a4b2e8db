/* bigcore.c - dies on SIGSEGV with MIB (argv[1], default 8) MiB of touched heap in its core:
 * a core larger than any pipe buffer, for chain mode (tests/run-chain.sh, bench/chain). */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static void __attribute__((noinline)) crash_here(volatile int *p)
{
	*p = 42;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 8;
	char *heap = malloc(mib << 20);
	if (heap)
		memset(heap, 0x5a, mib << 20);
	crash_here((volatile int *)(uintptr_t)(heap == NULL));
	return heap != NULL;
}
