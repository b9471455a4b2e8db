#ifndef CP_HINT_H
#define CP_HINT_H

/*
 * hint.h - the names shared by libcrashpipe-preload.so, crashpipe-createdump and the
 * handler that reads the hint (see spec.md, "Issue 3").
 *
 * The hint is what the .NET runtime tells createdump and the kernel core cannot: the thread
 * that crashed, and for a native fault the real signal, si_code, si_errno and address (an
 * unhandled managed exception reaches the kernel as a plain SIGABRT). It is written by the
 * crashed user, so the handler treats every field as a claim to check against the core.
 *
 * Format, text, at most CP_HINT_MAX bytes, one "key value" a line, in this order:
 *	crashpipe-hint 1
 *	pid <pid>
 *	tid <crash thread>
 *	signal <n>
 *	code <n>		only when the runtime passed --code (native faults)
 *	errno <n>		only when the runtime passed --errno
 *	address <n>		only when the runtime passed --address; signed decimal,
 *				as the runtime prints si_addr ("%lld")
 *	user_dumps <0|1>
 */

#define CP_HINT_MAGIC		"crashpipe-hint 1"
#define CP_HINT_MAX		512
#define CP_HINT_DIR_DEFAULT	"/run/crashpipe/hints"

/* Environment: read by the stub; set by the preload (and by tests). */
#define CP_ENV_HINT_DIR		"CRASHPIPE_HINT_DIR"
#define CP_ENV_USER_DUMPS	"CRASHPIPE_USER_DUMPS"		/* "1": the user asked for dumps */
#define CP_ENV_REAL_CREATEDUMP	"CRASHPIPE_REAL_CREATEDUMP"	/* the runtime's createdump */
#define CP_ENV_STUB		"CRASHPIPE_STUB"		/* overrides CP_STUB_PATH */

/* The .NET runtime's switch (CLRConfigNoCache: DOTNET_ first, then COMPlus_). */
#define CP_ENV_DOTNET_MINIDUMP	"DOTNET_DbgEnableMiniDump"
#define CP_ENV_COMPLUS_MINIDUMP	"COMPlus_DbgEnableMiniDump"

#endif
