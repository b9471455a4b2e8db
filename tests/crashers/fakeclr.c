/* fakeclr.c - a native program that looks like .NET to a crash handler that goes by names.
 *
 * fakeclr FILE [MIB]: mmap() FILE (any file, named libcoreclr.so by the test), dirty MIB MiB
 * of heap with data that is not zeros (so a core reader cannot drop it as untouched pages),
 * print "crash tid N", then crash with a NULL write (SIGSEGV). Used by run-handle-hints.sh
 * (a .NET-looking crash that makes the handler read its hint) and run-handle-budget.sh (a
 * big dirty heap that claims the .NET stream budget by the name alone).
 *
 * Build: cc -g -O1 -o fakeclr fakeclr.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile int *crash_at;

int main(int argc, char **argv)
{
	struct stat st;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	int fd;

	if (argc < 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) < 0) {
		perror("fakeclr: open");
		return 2;
	}
	if (mmap(NULL, st.st_size ? st.st_size : 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		perror("fakeclr: mmap");
		return 2;
	}
	for (size_t i = 0; i < mib; i++) {
		unsigned char *p = malloc(1 << 20);
		if (!p)
			return 2;
		for (size_t j = 0; j < (1 << 20); j++)
			p[j] = (unsigned char)(i + j * 7 + 1) | 1;
	}
	printf("crash tid %d\n", (int)syscall(SYS_gettid));
	fflush(stdout);
	*crash_at = 1;
	return 0;
}
