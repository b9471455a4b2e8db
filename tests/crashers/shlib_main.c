/* shlib_main.c - crash corpus: main program for libcrash.c (see there).
 *
 * Exercises: calling into a shared library that crashes; main -> call_library ->
 * lib_crash_entry (in libcrash.so).
 *
 * Build: cc -g -O2 -o shlib_main shlib_main.c -L. -lcrash -Wl,-rpath,$PWD
 */
#include <stdio.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

void lib_crash_entry(int v);

static NOINLINE void call_library(int v)
{
	lib_crash_entry(v); /* CALL-LINE */
	KEEP_FRAME();
}

int main(void)
{
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	call_library(7);
	return 0;
}
