/*
 * signame.c - names of signals and of their si_code values, as <signal.h> spells them:
 * the report's "signal_name" and "si_code_name", and what show prints.
 */
#include "config.h"

#include <signal.h>
#include <stddef.h>

#include "cleanup.h"
#include "signame.h"

const char *cp_signal_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
		[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
		[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
		[SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
		[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
		[SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
	};
	if (sig > 0 && (size_t)sig < ARRAY_SIZE(names) && names[sig])
		return names[sig];
	return NULL;
}

const char *cp_si_code_name(int sig, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TIMER: return "SI_TIMER";
	case SI_MESGQ: return "SI_MESGQ";
	case SI_ASYNCIO: return "SI_ASYNCIO";
	case SI_SIGIO: return "SI_SIGIO";
	case SI_TKILL: return "SI_TKILL";
	}
	if (sig == SIGSEGV) {
		static const char *const n[] = { NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR",
						 "SEGV_PKUERR", "SEGV_ACCADI", "SEGV_ADIDERR",
						 "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGBUS) {
		static const char *const n[] = { NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR",
						 "BUS_MCEERR_AR", "BUS_MCEERR_AO" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGILL) {
		static const char *const n[] = { NULL, "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR",
						 "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC",
						 "ILL_BADSTK", "ILL_BADIADDR" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGFPE) {
		static const char *const n[] = { NULL, "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV",
						 "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV",
						 "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	} else if (sig == SIGTRAP) {
		static const char *const n[] = { NULL, "TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH",
						 "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF" };
		if (code > 0 && (size_t)code < ARRAY_SIZE(n))
			return n[code];
	}
	return NULL;
}
