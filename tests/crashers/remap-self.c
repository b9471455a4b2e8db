/* remap-self.c - crash corpus: a program that maps its own executable once more.
 *
 * Exercises: a second mapping of the executable at file offset 0 that the program made
 * itself (any user can: mmap(/proc/self/exe)), beside the ones the kernel and ld.so made.
 * Built both as a PIE and -no-pie. The extra mapping is the same file, not another module:
 * crashpipe must keep the executable's module and unwind through it (issue 7, finding 4: the
 * second offset-0 mapping was reported to libdwfl again, libdwfl refused it and freed the
 * first module, and every frame but frame 0 was lost). main -> outer -> inner, and inner
 * writes through NULL after mapping.
 *
 * Build: cc -g -O1 -o remap-self remap-self.c (or -fno-pie -no-pie)
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;

static NOINLINE void inner(int *p)
{
	*p = 3; /* CRASH-LINE */
	KEEP_FRAME();
}

static NOINLINE void outer(int *p)
{
	inner(p); /* CALL-LINE */
	KEEP_FRAME();
}

int main(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("/proc/self/exe");
		return 1;
	}
	/* Two pages of the file from offset 0, read-only, wherever the kernel puts them. */
	void *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	printf("remapped %p\n", p);
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	outer((int *)(long)sink);
	return 0;
}
