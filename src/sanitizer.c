/*
 * sanitizer.c - the sanitizers' defaults for `crashpipe` built with --enable-asan or
 * --enable-fuzz (empty otherwise). They are compiled in because `crashpipe handle` runs
 * under the kernel with an empty environment; ASAN_OPTIONS and UBSAN_OPTIONS still
 * override them.
 *
 * - A fatal signal stays the signal it is (handle_segv=0 and friends): ASan would turn a
 *   crash into exit(1), and the parent of an analysis or DAC child tells "it crashed" from
 *   "it failed" by the signal, as in a build without sanitizers (tests/run-dac-failure.sh).
 * - Undefined behaviour stops the program (halt_on_error), so a test sees it fail.
 */
#include "config.h"

#if defined(__SANITIZE_ADDRESS__)
#define CP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CP_ASAN 1
#endif
#endif

#ifdef CP_ASAN
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0";
}

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}
#endif
