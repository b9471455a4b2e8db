/* libcrash.c - crash corpus: the crash is inside a shared library (with shlib_main.c).
 *
 * Exercises: frames in a module other than the executable and libc: a PIC .so loaded by the
 * dynamic linker from a DT_RUNPATH directory, its own build-id, module offsets relative to its
 * own load base, symbols and file:line from its own DWARF.
 *   lib_crash_inner <- lib_crash_entry (both here) <- call_library <- main (shlib_main.c)
 *
 * Build: cc -g -O2 -shared -fPIC -o libcrash.so libcrash.c
 */
#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int lib_sink;

NOINLINE void lib_crash_inner(int *p, int v)
{
	*p = v; /* CRASH-LINE */
	KEEP_FRAME();
}

NOINLINE void lib_crash_entry(int v)
{
	lib_crash_inner((int *)(long)lib_sink, v); /* CALL-LINE */
	KEEP_FRAME();
}
