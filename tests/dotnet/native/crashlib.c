/* crashlib.c - libcrashlib.so, the native half of the Crasher app's "pinvoke" scenario.
 * Crasher.Program.PInvokeLevel2 calls crashlib_crash(3) through P/Invoke; it recurses
 * through crashlib_level and crashlib_deref reads through a NULL pointer: SIGSEGV, SEGV_MAPERR,
 * fault address 0, in native code the runtime does not handle (createdump gets --signal 11,
 * then the fault re-executes and the kernel dumps the process).
 * Built -O0 -g -fno-omit-frame-pointer so every call stays a real frame. */
#include <stddef.h>

__attribute__((noinline)) int crashlib_deref(volatile int *p)
{
	return *p + 1; /* CRASH-LINE */
}

__attribute__((noinline)) int crashlib_level(int depth, volatile int *p)
{
	int r;

	if (depth <= 0)
		r = crashlib_deref(p);
	else
		r = crashlib_level(depth - 1, p);
	return r + 1;
}

__attribute__((visibility("default"))) int crashlib_crash(int depth)
{
	int r = crashlib_level(depth, NULL);

	return r + 1;
}
