/*
 * maps-coreclr.c - a native program that "is .NET" to crashpipe: it maps the file given as
 * argv[1] (named libcoreclr.so, in a directory of the test's) and dies of SIGSEGV. Nothing
 * of .NET runs; a DAC next to that file is all a core of it offers an analyser
 * (tests/run-dac-trust.sh).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "usage: maps-coreclr PATH/libcoreclr.so\n");
		return 2;
	}
	void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	*(volatile int *)0 = *(volatile char *)p;	/* CRASH-LINE */
	return 0;
}
