#ifndef CP_NATIVEAOT_H
#define CP_NATIVEAOT_H

/*
 * nativeaot - .NET applications compiled ahead of time (PublishAot): no libcoreclr.so, no
 * DAC. What marks one, what its frames are called in C#, and the exception the runtime
 * wrote into its crash-info ("triage") buffer before it aborted.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_core;
struct cp_target;
struct cp_modules;
struct cp_report;
struct cp_exception;

/* The runtime's crash-info buffer is a fixed array of this size (dotnet/runtime
 * src/coreclr/nativeaot/Runtime/RuntimeInstance.cpp, MAX_CRASHINFOBUFFER_SIZE). */
#define CP_NATIVEAOT_CRASHINFO_MAX 8192u
/* Bounds of the parser, beyond the runtime's own: it writes at most 500 frames per
 * exception; inner exceptions nest at most this deep. */
#define CP_NATIVEAOT_MAX_FRAMES 1000u
#define CP_NATIVEAOT_MAX_DEPTH 16

/* The crash-info JSON, parsed. */
struct cp_crashinfo {
	char *runtime_version;		/* "10.0.12", or NULL */
	char *message;			/* the fail-fast message, or NULL */
	int reason;			/* 1 unhandled exception, 2 Environment.FailFast, 3 internal */
	uint64_t thread;		/* the OS thread id that failed */
	uint64_t runtime_base;
	/* The exception, or NULL. Its frames have ip, display (the runtime's own name for the
	 * method, when it gave one) and offset (from the method's start) set. */
	struct cp_exception *exception;
};
void cp_crashinfo_destroy(struct cp_crashinfo *ci);

/* Parse @len bytes of crash-info JSON (need not be NUL-terminated; at most
 * CP_NATIVEAOT_CRASHINFO_MAX), strictly: one JSON object, version "1.x", every member the
 * runtime writes of its type (strings; numbers as "0x" hex strings), unknown members
 * ignored. Returns 0 or -errno; -EINVAL with a static reason in *@why. */
int cp_crashinfo_parse(const char *json, size_t len, struct cp_crashinfo **ret, const char **why);

/* The C# form of a NativeAOT symbol, as far as it can be rebuilt: @symbol is the mangled
 * name ("S_P_CoreLib_System_Threading_Thread__StartThread"), @method (may be NULL) the
 * method's own name from the DWARF, @params its parameter types' DWARF names (@n_params;
 * @params NULL: unknown, no parentheses). @prefixes (@n_prefixes, may be 0) are mangled
 * assembly prefixes known to be such ("Aot_"). "System.Threading.Thread.StartThread(IntPtr)".
 * NULL when @symbol is not a mangled method name, or on ENOMEM. */
char *cp_nativeaot_display(const char *symbol, const char *method, char *const *params, size_t n_params,
			   char *const *prefixes, size_t n_prefixes);

/* When the process is a NativeAOT application (its executable exports
 * DotNetRuntimeDebugHeader): set report->runtime (kind "nativeaot", the version when the
 * crash info has it), give every frame in its code its C# name (display), and attach the
 * exception of the crash info with its stack and inner exceptions to the thread that
 * threw. Reads through @t only; runs in the analysis child. Returns 1 when it was one,
 * 0 when not, -ENOMEM. */
int cp_nativeaot_annotate(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
			  struct cp_report *report);

#endif
