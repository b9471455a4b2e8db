/*
 * preload.c - libcrashpipe-preload.so: run crashpipe-createdump where the .NET runtime
 * would run its createdump on a crash.
 *
 * CoreCLR (.NET 8, 9, 10) launches createdump from its crash path only when
 * DOTNET_DbgEnableMiniDump (or COMPlus_DbgEnableMiniDump) is a non-zero decimal, read once
 * at PAL start-up (PROCAbortInitialize in pal/src/thread/process.cpp). Then, on the
 * crashing thread, PROCCreateCrashDump fork()s and the child calls
 *	execve("<dir of libcoreclr.so>/createdump",
 *	       {path, [options], "<pid>", "--signal", "<n>", "--crashthread", "<tid>",
 *		[--code <n> --errno <n> --address <n>], NULL}, palEnvironment)
 * through libcoreclr.so's PLT, so an LD_PRELOADed execve sees it. The on-demand dump
 * (PAL_GenerateCoreDump: dotnet-dump collect, the diagnostics IPC) has no --signal and is
 * left alone.
 *
 * So: the constructor turns the switch on when the user had not, and remembers which it was
 * (CRASHPIPE_USER_DUMPS) for the stub; execve swaps in the stub on the crash path only.
 * Single-file apps run a createdump linked into them, with no exec: nothing to do there.
 * Checked against .NET 10.0.12 with strace and tests/run-preload.sh.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "stub/hint.h"

#ifndef CP_STUB_PATH
#error "build with -DCP_STUB_PATH='\"/abs/path/crashpipe-createdump\"'"
#endif

typedef int (*cp_execve_fn)(const char *path, char *const argv[], char *const envp[]);

/*
 * Everything execve needs is decided here at load time: the hook runs in the forked child
 * of a crashing, multi-threaded process, where another thread may have held the malloc or
 * environment lock at fork time. From there on: no malloc, no stdio, no getenv, no locks.
 */
static cp_execve_fn cp_next_execve;
static char cp_stub[PATH_MAX];		/* empty: never redirect */
static bool cp_user_dumps;
static const char *cp_user_dumps_entry = CP_ENV_USER_DUMPS "=0";

static const char cp_real_prefix[] = CP_ENV_REAL_CREATEDUMP "=";

/* The envp we build lives on the stack up to this size (the crash path runs on the crashing
 * thread's stack, or the runtime's stack-overflow stack); a larger environment goes to mmap. */
#define CP_ENV_ARENA 2048

/*
 * glibc declares execve's arguments nonnull, which lets the compiler drop our NULL checks;
 * a bad caller must reach the kernel (EFAULT), not crash in here.
 */
#define CP_LAUNDER(p) __asm__("" : "+r"(p))

/* The runtime's own test (CLRConfigNoCache::TryAsInteger(10) && value != 0): strtoul, any
 * digits at all, within 32 bits. */
static bool cp_minidump_enabled(const char *v)
{
	unsigned long n;
	char *end;

	if (!v)
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (end == v || errno == ERANGE || n > 0xffffffffUL)
		return false;
	return n != 0;
}

/*
 * A single-file app (the runtime linked into the program) runs the createdump linked in
 * with it in the forked child, without an exec (PAL_SetCreateDumpCallback, .NET 8+): there
 * is nothing to redirect, and turning dumps on would only make that createdump run (for
 * single-file it refuses all but full dumps, after a quarter of a second, on stderr). Such
 * a program exports the runtime's DotNetRuntimeInfo itself; a host's libcoreclr.so is not
 * loaded yet while preloaded constructors run, except where a host links it in directly.
 */
static bool cp_runtime_linked_in(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "DotNetRuntimeInfo");
	const char *base;
	Dl_info info;

	/* A NativeAOT app has its runtime compiled in, too, and no createdump: turned on, its
	 * runtime would fork and execv(3) a createdump beside the program that is not there.
	 * crashpipe reads its crash info from the core instead (nativeaot.c). */
	if (dlsym(RTLD_DEFAULT, "DotNetRuntimeDebugHeader"))
		return true;
	if (!sym)
		return false;
	if (!dladdr(sym, &info) || !info.dli_fname)
		return true;
	base = strrchr(info.dli_fname, '/');
	base = base ? base + 1 : info.dli_fname;
	return strcmp(base, "libcoreclr.so") != 0;
}

__attribute__((constructor)) static void cp_preload_init(void)
{
	const char *dotnet = getenv(CP_ENV_DOTNET_MINIDUMP);
	const char *complus = getenv(CP_ENV_COMPLUS_MINIDUMP);
	const char *inherited = getenv(CP_ENV_USER_DUMPS);
	const char *stub = getenv(CP_ENV_STUB);
	bool ours;

	cp_next_execve = (cp_execve_fn)dlsym(RTLD_NEXT, "execve");

	/* Relative paths would resolve against whatever the crashing process's cwd is. */
	if (!stub || stub[0] != '/')
		stub = CP_STUB_PATH;
	if (stub[0] == '/' && strlen(stub) < sizeof(cp_stub))
		strcpy(cp_stub, stub);

	/*
	 * A child of a preloaded process inherits our DOTNET_DbgEnableMiniDump=1 together with
	 * CRASHPIPE_USER_DUMPS=0: that 1 is ours, not the user's. Otherwise the runtime's
	 * lookup order decides: DOTNET_ when set at all, else COMPlus_.
	 */
	ours = dotnet && inherited && !strcmp(inherited, "0") && !strcmp(dotnet, "1");
	cp_user_dumps = !ours && cp_minidump_enabled(dotnet ? dotnet : complus);

	if (!cp_user_dumps) {
		if (!cp_runtime_linked_in())
			(void)setenv(CP_ENV_DOTNET_MINIDUMP, "1", 1);
		else if (ours)
			/* An ancestor's 1: back to off, which is what the user had. */
			(void)setenv(CP_ENV_DOTNET_MINIDUMP, "0", 1);
	}
	(void)setenv(CP_ENV_USER_DUMPS, cp_user_dumps ? "1" : "0", 1);
	cp_user_dumps_entry = cp_user_dumps ? CP_ENV_USER_DUMPS "=1" : CP_ENV_USER_DUMPS "=0";
}

static int cp_execve_next(const char *path, char *const argv[], char *const envp[])
{
	if (cp_next_execve)
		return cp_next_execve(path, argv, envp);
	/* Called before our constructor ran (another library's constructor). */
	return (int)syscall(SYS_execve, path, argv, envp);
}

static bool cp_has_prefix(const char *s, const char *prefix, size_t len)
{
	return strncmp(s, prefix, len) == 0;
}

/* The runtime's crash path: ".../createdump ... --signal N ...". */
static bool cp_is_crash_createdump(const char *path, char *const argv[])
{
	const char *base;

	if (!path || !argv || !argv[0])
		return false;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(base, "createdump") != 0)
		return false;
	for (size_t i = 1; argv[i]; i++)
		if (strcmp(argv[i], "--signal") == 0)
			return true;
	return false;
}

/*
 * Exec the stub with the caller's argv and envp, less every LD_PRELOAD (the stub and the
 * real createdump it may chain to must not load us), plus where the real createdump is and
 * whether the user asked for dumps. Returns only if the exec failed.
 */
static int cp_exec_stub(const char *path, char *const argv[], char *const envp[])
{
	static const char preload[] = "LD_PRELOAD=";
	static const char user_dumps[] = CP_ENV_USER_DUMPS "=";
	char *arena[CP_ENV_ARENA / sizeof(char *)];
	size_t n = 0, k = 0, plen = strlen(path), size;
	char **env = arena, *real;
	bool mapped = false;
	int r, saved;

	while (envp && envp[n])
		n++;
	size = (n + 3) * sizeof(char *) + sizeof(cp_real_prefix) + plen;
	if (size > sizeof(arena)) {
		/* mmap is a bare system call: no lock, safe after fork. */
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			/*
			 * No envp of our own. Whoever asked for dumps gets the real createdump;
			 * otherwise the stub with the environment as it is still writes the hint
			 * and then exits, where the real createdump would write a dump nobody
			 * asked for (we turned DbgEnableMiniDump on).
			 */
			if (cp_user_dumps)
				return cp_execve_next(path, argv, envp);
			return cp_execve_next(cp_stub, argv, envp);
		}
		env = p;
		mapped = true;
	}

	for (size_t i = 0; i < n; i++) {
		if (cp_has_prefix(envp[i], preload, sizeof(preload) - 1) ||
		    cp_has_prefix(envp[i], cp_real_prefix, sizeof(cp_real_prefix) - 1) ||
		    cp_has_prefix(envp[i], user_dumps, sizeof(user_dumps) - 1))
			continue;
		env[k++] = envp[i];
	}
	real = (char *)(env + n + 3);
	memcpy(real, cp_real_prefix, sizeof(cp_real_prefix) - 1);
	memcpy(real + sizeof(cp_real_prefix) - 1, path, plen + 1);
	env[k++] = real;
	env[k++] = (char *)cp_user_dumps_entry;
	env[k] = NULL;

	r = cp_execve_next(cp_stub, argv, env);
	saved = errno;
	if (mapped)
		(void)munmap(env, size);
	/*
	 * The stub is missing or not executable. With dumps asked for, run the real one.
	 * Without, fail the way a missing createdump fails: the runtime prints one line and
	 * goes on to abort, instead of waiting for a dump nobody wanted.
	 */
	if (cp_user_dumps)
		return cp_execve_next(path, argv, envp);
	errno = saved;
	return r;
}

__attribute__((visibility("default")))
int execve(const char *path, char *const argv[], char *const envp[])
{
	CP_LAUNDER(path);
	CP_LAUNDER(argv);
	if (cp_stub[0] && cp_is_crash_createdump(path, argv))
		return cp_exec_stub(path, argv, envp);
	return cp_execve_next(path, argv, envp);
}
