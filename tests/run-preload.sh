#!/bin/bash
# run-preload.sh - libcrashpipe-preload.so and crashpipe-createdump (the .NET crash path).
#
# Part 1, no .NET needed: a small C "fake runtime" (fakert, below) does what CoreCLR's
# PROCCreateCrashDump does - from a process with a second thread running, fork() and in the
# child execve() a program called createdump with the runtime's argv - here a shell script
# standing in for the real createdump. With the preload:
#   --signal in argv (the crash path)   the stub runs instead: hint file with the runtime's
#                                       facts, coredump_filter readied, the real createdump
#                                       run only when the user had asked for dumps, with no
#                                       LD_PRELOAD and CRASHPIPE_REAL_CREATEDUMP in its env
#   no --signal (dotnet-dump collect)   the real createdump runs, untouched
#   any other program                   passes through
# and the constructor turns DOTNET_DbgEnableMiniDump on only where the user had not.
# Then the stub alone on hostile argv: always exit 0, never a hint for a stranger's pid.
#
# Part 2, when dotnet is on PATH: a console app that throws, run with the preload: exit 134
# (SIGABRT), a hint with signal 6 and the crashing tid, and next to no time added. Core
# dumps are suppressed with RLIMIT_CORE = 1 byte (the kernel skips even a pipe core_pattern
# then), so whatever handler is installed, or another test's, never sees these crashes.
. "${srcdir:-.}/test-subr.sh"

PRELOAD=$abs_top_builddir/libcrashpipe-preload.so
STUB=$abs_top_builddir/crashpipe-createdump
[ -e "$PRELOAD" ] || skip "libcrashpipe-preload.so is not built ($PRELOAD)"
[ -x "$STUB" ] || skip "crashpipe-createdump is not built ($STUB)"
need "${CC:-cc}"

# The caller's own crash settings must not leak into the cases below.
unset DOTNET_DbgEnableMiniDump COMPlus_DbgEnableMiniDump CRASHPIPE_USER_DUMPS \
	CRASHPIPE_REAL_CREATEDUMP CRASHPIPE_STUB CRASHPIPE_HINT_DIR LD_PRELOAD \
	DOTNET_DbgMiniDumpName DOTNET_DbgMiniDumpType DOTNET_EnableCrashReport \
	DOTNET_EnableCrashReportOnly

cat >fakert.c <<'EOF'
/* fakert PROG ARGS...: fork, and in the child execve(PROG, {PROG, ARGS...}, environ) with
 * the words PID and TID replaced by our pid and tid, as CoreCLR launches createdump. A second
 * thread runs meanwhile. FAKERT_FILTER=HEX first sets our coredump_filter. Prints
 * "status S ms N filter F pid P tid T" (S = exit status, or 128+signal).
 * fakert -0 PROG: the same with an empty argv. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static void filter(char *buf, size_t size, const char *set)
{
	int fd = open("/proc/self/coredump_filter", set ? O_WRONLY : O_RDONLY);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return;
	if (set) {
		if (write(fd, set, strlen(set)) < 0)
			perror("fakert: coredump_filter");
	} else if ((n = read(fd, buf, size - 1)) > 0) {
		buf[n - 1] = '\0';
	}
	close(fd);
}

int main(int argc, char **argv)
{
	static char *av[4096];
	char pid[32], tid[32], f[32];
	struct timespec a, b;
	pthread_t t;
	int ac = 0, st, empty = argc > 2 && !strcmp(argv[1], "-0");
	const char *prog;
	pid_t c;

	if (argc < 2 || argc > 4000)
		return 2;
	pthread_create(&t, NULL, idle, NULL);
	if (getenv("FAKERT_FILTER"))
		filter(f, sizeof(f), getenv("FAKERT_FILTER"));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(tid, sizeof(tid), "%d", (int)syscall(SYS_gettid));
	prog = argv[empty ? 2 : 1];
	for (int i = 1; !empty && i < argc; i++)
		av[ac++] = !strcmp(argv[i], "PID") ? pid : !strcmp(argv[i], "TID") ? tid : argv[i];
	av[ac] = NULL;
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &a);
	c = fork();
	if (c == 0) {
		execve(prog, av, environ);
		_exit(127);
	}
	waitpid(c, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	filter(f, sizeof(f), NULL);
	printf("status %d ms %ld filter %s pid %s tid %s\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
	       (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000), f, pid, tid);
	return 0;
}
EOF
${CC:-cc} -O1 -Wall -o fakert fakert.c -lpthread || fail "cannot build fakert"

# The stand-in for the runtime's createdump: records its argv and environment.
mkdir rt hints
cat >rt/createdump <<EOF
#!/bin/sh
{ printf 'argv'; for a in "\$0" "\$@"; do printf ' [%s]' "\$a"; done; echo; } >"$test_dir/real.out"
env >"$test_dir/real.env"
EOF
chmod +x rt/createdump
cp rt/createdump rt/notcreatedump
RT=$test_dir/rt/createdump
HINTS=$test_dir/hints

# ---- the constructor: DOTNET_DbgEnableMiniDump and CRASHPIPE_USER_DUMPS ----
# show_env CMD...: "DOTNET COMPlus USER" as the preloaded env(1) at the end of CMD sees them
# in its environ, which is where the runtime's getenv() looks. (Not a shell: bash, for one,
# takes its variables from main()'s envp, which a constructor's setenv need not change.)
show_env() {
	local out d=unset c=unset u=unset line
	out=$("$@") || fail "preloaded env failed ($*)"
	while IFS= read -r line; do
		case $line in
		DOTNET_DbgEnableMiniDump=*) d=${line#*=} ;;
		COMPlus_DbgEnableMiniDump=*) c=${line#*=} ;;
		CRASHPIPE_USER_DUMPS=*) u=${line#*=} ;;
		esac
	done <<<"$out"
	printf '%s %s %s' "${d:-empty}" "${c:-empty}" "${u:-empty}"
}
expect_env() {
	local want=$1 got
	shift
	got=$(show_env env "$@" LD_PRELOAD="$PRELOAD" /usr/bin/env)
	[ "$got" = "$want" ] || fail "constructor with [$*]: got '$got', expected '$want'"
}
expect_env "1 unset 0"
expect_env "1 unset 0" DOTNET_DbgEnableMiniDump=0
expect_env "1 unset 0" DOTNET_DbgEnableMiniDump=
expect_env "1 unset 0" DOTNET_DbgEnableMiniDump=-1	# the runtime reads it as 2^64-1: off
expect_env "1 unset 1" DOTNET_DbgEnableMiniDump=1
expect_env "2 unset 1" DOTNET_DbgEnableMiniDump=2
expect_env "unset 1 1" COMPlus_DbgEnableMiniDump=1
expect_env "1 1 0" DOTNET_DbgEnableMiniDump=0 COMPlus_DbgEnableMiniDump=1	# DOTNET_ wins, as in the runtime
expect_env "1 0 0" COMPlus_DbgEnableMiniDump=0
# A preloaded child inherits our 1 and must not take it for the user's.
got=$(show_env env LD_PRELOAD="$PRELOAD" /usr/bin/env /usr/bin/env)
[ "$got" = "1 unset 0" ] || fail "nested, no user dumps: got '$got'"
got=$(show_env env DOTNET_DbgEnableMiniDump=1 LD_PRELOAD="$PRELOAD" /usr/bin/env /usr/bin/env)
[ "$got" = "1 unset 1" ] || fail "nested, user dumps: got '$got'"

# A program with the runtime linked in (single-file: it exports DotNetRuntimeInfo itself) runs
# its own createdump in the forked child, no exec to redirect: dumps stay as the user set them,
# and an ancestor's 1 is turned back off. A host that links libcoreclr.so is not such a one.
cat >fakesf.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#ifdef LINKED_IN
int DotNetRuntimeInfo[4] = { 1 };
int coreclr_probe(void) { return DotNetRuntimeInfo[0]; }
#else
int coreclr_probe(void);	/* a host calls into libcoreclr.so, it does not copy its data */
#endif
static const char *v(const char *n)
{
	const char *s = getenv(n);
	return s ? (*s ? s : "empty") : "unset";
}
int main(void)
{
	printf("%s %s %s", v("DOTNET_DbgEnableMiniDump"), v("COMPlus_DbgEnableMiniDump"),
	       v("CRASHPIPE_USER_DUMPS"));
	return coreclr_probe() - 1;
}
EOF
mkdir clr
printf '%s\n' 'int DotNetRuntimeInfo[4] = { 1 };' 'int coreclr_probe(void) { return DotNetRuntimeInfo[0]; }' >clr/coreclr.c
${CC:-cc} -DLINKED_IN -rdynamic -o fakesf fakesf.c &&
	${CC:-cc} -shared -fPIC -o clr/libcoreclr.so clr/coreclr.c &&
	${CC:-cc} -o fakehost fakesf.c -Lclr -lcoreclr -Wl,-rpath,"$test_dir/clr" ||
	fail "cannot build fakesf / fakehost"
expect_out() {
	local want=$1 got
	shift
	got=$("$@") || fail "$*: exit $?"
	[ "$got" = "$want" ] || fail "$*: got '$got', expected '$want'"
}
expect_out "unset unset 0" env LD_PRELOAD="$PRELOAD" ./fakesf
expect_out "1 unset 1" env DOTNET_DbgEnableMiniDump=1 LD_PRELOAD="$PRELOAD" ./fakesf
expect_out "0 unset 0" env LD_PRELOAD="$PRELOAD" /usr/bin/env ./fakesf
expect_out "1 unset 0" env LD_PRELOAD="$PRELOAD" ./fakehost

# ---- the hook ----
# fakert_run OUTVAR [VAR=VALUE...] -- ARGS...: run fakert preloaded with the stub and the hint
# dir of this test; parse its report line into fr_status fr_ms fr_filter fr_pid fr_tid.
fakert_run() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	rm -f real.out real.env
	line=$(env LD_PRELOAD="$PRELOAD" CRASHPIPE_STUB="$STUB" CRASHPIPE_HINT_DIR="$HINTS" \
		"${envs[@]}" ./fakert "$@") || fail "fakert $* failed"
	read -r _ fr_status _ fr_ms _ fr_filter _ fr_pid _ fr_tid <<<"$line"
	[ -n "$fr_tid" ] || fail "fakert printed '$line'"
}

# expect_hint PID LINES...: the hint for PID is exactly these lines (after the magic line),
# mode 0600, and nothing else is left in the hint dir.
expect_hint() {
	local pid=$1 want got
	shift
	[ -f "$HINTS/$pid" ] || fail "no hint $HINTS/$pid ($(ls -A "$HINTS"))"
	want=$(printf '%s\n' "crashpipe-hint 1" "pid $pid" "$@")
	got=$(cat "$HINTS/$pid")
	[ "$got" = "$want" ] || fail "hint for $pid:"$'\n'"$got"$'\n'"expected:"$'\n'"$want"
	[ "$(stat -c %a "$HINTS/$pid")" = 600 ] || fail "hint mode $(stat -c %a "$HINTS/$pid")"
	[ "$(ls -A "$HINTS")" = "$pid" ] || fail "hint dir holds more: $(ls -A "$HINTS")"
	[ "$(stat -c %s "$HINTS/$pid")" -le 512 ] || fail "hint larger than 512 bytes"
	rm -f "$HINTS/$pid"
}
no_hint() {
	[ -z "$(ls -A "$HINTS")" ] || fail "$1: unexpected hint files: $(ls -A "$HINTS")"
}

# A native fault, user asked for no dumps: the stub only, the full hint, filter readied.
fakert_run FAKERT_FILTER=0x4 -- "$RT" --name /tmp/never.%p --full --diag --crashreport PID \
	--signal 11 --crashthread TID --code 1 --errno 0 --address -8
[ "$fr_status" = 0 ] || fail "crash path, no user dumps: status $fr_status"
[ ! -e real.out ] || fail "the real createdump ran though the user asked for no dumps: $(cat real.out)"
expect_hint "$fr_pid" "tid $fr_tid" "signal 11" "code 1" "errno 0" "address -8" "user_dumps 0"
[ "$fr_filter" = 00000037 ] || fail "coredump_filter 0x4 became $fr_filter, expected 00000037"
[ "$fr_ms" -lt 250 ] || fail "the stub took $fr_ms ms"
stub_ms=$fr_ms

# An unhandled exception (SIGABRT, no siginfo), user asked for dumps: the stub, then the real
# createdump with the runtime's argv, without LD_PRELOAD, told where it is.
fakert_run DOTNET_DbgEnableMiniDump=1 -- "$RT" --name /tmp/d.%p PID --signal 6 --crashthread TID
[ "$fr_status" = 0 ] || fail "crash path, user dumps: status $fr_status"
expect_hint "$fr_pid" "tid $fr_tid" "signal 6" "user_dumps 1"
[ -e real.out ] || fail "the real createdump did not run though the user asked for dumps"
want="argv [$RT] [--name] [/tmp/d.%p] [$fr_pid] [--signal] [6] [--crashthread] [$fr_tid]"
[ "$(cat real.out)" = "$want" ] || fail "real createdump argv: $(cat real.out), expected $want"
grep -q '^LD_PRELOAD=' real.env && fail "LD_PRELOAD reached the stub: $(grep '^LD_PRELOAD=' real.env)"
grep -qx "CRASHPIPE_REAL_CREATEDUMP=$RT" real.env || fail "no CRASHPIPE_REAL_CREATEDUMP=$RT in the stub's env"
grep -qx "CRASHPIPE_USER_DUMPS=1" real.env || fail "no CRASHPIPE_USER_DUMPS=1 in the stub's env"
[ "$fr_filter" = 00000033 ] || fail "coredump_filter is $fr_filter"

# The on-demand dump (PAL_GenerateCoreDump: no --signal) is the user's: untouched.
fakert_run -- "$RT" --full PID
[ "$fr_status" = 0 ] || fail "no --signal: status $fr_status"
[ "$(cat real.out 2>/dev/null)" = "argv [$RT] [--full] [$fr_pid]" ] || fail "no --signal: real createdump saw $(cat real.out 2>/dev/null)"
grep -qx "LD_PRELOAD=$PRELOAD" real.env || fail "no --signal: the environment was changed"
grep -q '^CRASHPIPE_REAL_CREATEDUMP=' real.env && fail "no --signal: CRASHPIPE_REAL_CREATEDUMP set"
no_hint "no --signal"

# Other programs pass through, whatever their arguments; so does an empty argv.
fakert_run -- /bin/true --signal 6
[ "$fr_status" = 0 ] || fail "/bin/true: status $fr_status"
fakert_run -- "$test_dir/rt/notcreatedump" PID --signal 6 --crashthread TID
[ "$(cat real.out 2>/dev/null)" = "argv [$test_dir/rt/notcreatedump] [$fr_pid] [--signal] [6] [--crashthread] [$fr_tid]" ] ||
	fail "notcreatedump did not run as asked: $(cat real.out 2>/dev/null)"
grep -qx "LD_PRELOAD=$PRELOAD" real.env || fail "notcreatedump: the environment was changed"
fakert_run -- /bin/false
[ "$fr_status" = 1 ] || fail "/bin/false: status $fr_status"
fakert_run -- -0 "$RT"
[ "$fr_status" = 0 ] || fail "empty argv: status $fr_status"
no_hint "pass-through"

# A big environment (past the hook's stack arena: the mmap path), user dumps on.
big=()
for i in $(seq 1 600); do big+=("CP_PAD_$i=$(printf '%040d' "$i")"); done
fakert_run "${big[@]}" DOTNET_DbgEnableMiniDump=1 -- "$RT" PID --signal 11 --crashthread TID \
	--code 128 --errno 0 --address 0
expect_hint "$fr_pid" "tid $fr_tid" "signal 11" "code 128" "errno 0" "address 0" "user_dumps 1"
grep -q '^LD_PRELOAD=' real.env && fail "big env: LD_PRELOAD reached the stub"
[ "$(grep -c '^CP_PAD_' real.env)" = 600 ] || fail "big env: $(grep -c '^CP_PAD_' real.env) of 600 variables arrived"
grep -qx "CRASHPIPE_REAL_CREATEDUMP=$RT" real.env || fail "big env: no CRASHPIPE_REAL_CREATEDUMP"

# No stub where it should be: with user dumps the real createdump runs; without, the exec
# fails as a missing createdump would (fakert's child exits 127) and nothing runs.
fakert_run CRASHPIPE_STUB="$test_dir/nosuch" -- "$RT" PID --signal 6 --crashthread TID
[ "$fr_status" = 127 ] || fail "missing stub, no user dumps: status $fr_status"
[ ! -e real.out ] || fail "missing stub, no user dumps: the real createdump ran"
fakert_run CRASHPIPE_STUB="$test_dir/nosuch" DOTNET_DbgEnableMiniDump=1 -- "$RT" PID --signal 6 --crashthread TID
[ -e real.out ] || fail "missing stub, user dumps: the real createdump did not run"
grep -qx "LD_PRELOAD=$PRELOAD" real.env || fail "missing stub: the real createdump got a changed env"
no_hint "missing stub"

# The stub cannot write a hint: it still readies the filter and exits 0 at once.
fakert_run CRASHPIPE_HINT_DIR="$test_dir/nosuch-dir" FAKERT_FILTER=0x0 -- "$RT" PID --signal 6 --crashthread TID
[ "$fr_status" = 0 ] || fail "no hint dir: status $fr_status"
[ "$fr_filter" = 00000033 ] || fail "no hint dir: coredump_filter is $fr_filter"
: >"$test_dir/not-a-dir"
fakert_run CRASHPIPE_HINT_DIR="$test_dir/not-a-dir" -- "$RT" PID --signal 6 --crashthread TID
[ "$fr_status" = 0 ] || fail "hint dir is a file: status $fr_status"

# Numbers the stub cannot trust stay out of the hint; no crash thread, no hint at all.
fakert_run -- "$RT" PID --signal 6 --crashthread TID --code x1 --errno 99999999999 --address 0x10
expect_hint "$fr_pid" "tid $fr_tid" "signal 6" "user_dumps 0"
fakert_run -- "$RT" PID --signal 6 --crashthread 12abc
no_hint "bad --crashthread"
fakert_run -- "$RT" PID --signal 65 --crashthread TID
no_hint "bad --signal"
# .NET 11 passes no pid: the parent is the target.
fakert_run -- "$RT" --signal 6 --crashthread TID --singlefile --someday-new-flag
expect_hint "$fr_pid" "tid $fr_tid" "signal 6" "user_dumps 0"

# ---- the stub alone, on any argv: exit 0, no crash, no hint for a process not its parent ----
long=$(head -c 60000 /dev/zero | tr "\0" 9)
while IFS= read -r args; do
	eval "set -- $args"
	CRASHPIPE_HINT_DIR=$HINTS "$STUB" "$@" >stub.out 2>&1
	rc=$?
	[ "$rc" = 0 ] || fail "stub ${args:0:80}: exit $rc: $(head -c 300 stub.out)"
	[ ! -s stub.out ] || fail "stub ${args:0:80} printed: $(head -c 300 stub.out)"
done <<EOF

--signal
--signal 6 --crashthread
--name
--logtofile
1 --signal 6 --crashthread 1
999999999999999999999 --signal 6 --crashthread 2
-- -- -
--signal -2147483648 --crashthread -1 --code --errno --address
--address 99999999999999999999999 --code 2147483648
"$long" --name "$long" --signal "$long"
$(printf '\x01\x02\xff') --signal 6
EOF
no_hint "stub by hand"
out=$(./fakert -0 "$STUB") || fail "fakert -0 stub failed"
[ "${out%% ms*}" = "status 0" ] || fail "stub with an empty argv: $out"
# The user asked for dumps but the real createdump is not one: no exec.
CRASHPIPE_USER_DUMPS=1 CRASHPIPE_REAL_CREATEDUMP=/bin/false "$STUB" 1 --signal 6 ||
	fail "the stub ran CRASHPIPE_REAL_CREATEDUMP=/bin/false"
CRASHPIPE_USER_DUMPS=1 CRASHPIPE_REAL_CREATEDUMP=createdump "$STUB" 1 --signal 6 ||
	fail "the stub ran a relative CRASHPIPE_REAL_CREATEDUMP"

echo "fake runtime: all cases passed; the stub took $stub_ms ms"

# ---- part 2: the real .NET runtime ----
if ! command -v dotnet >/dev/null 2>&1; then
	echo "dotnet is not on PATH: the real .NET check is skipped"
	exit 0
fi
command -v prlimit >/dev/null 2>&1 || skip "prlimit is not installed (needed to keep these crashes from the core handler)"

# A private SDK home: no first-run files, build servers or package caches of the user's.
export DOTNET_CLI_HOME=$test_dir/dotnet-home NUGET_PACKAGES=$test_dir/nuget \
	DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
	DOTNET_CLI_USE_MSBUILD_SERVER=0 MSBUILDDISABLENODEREUSE=1 \
	DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1
dotnet new console -n Boom -o boom >dotnet-new.log 2>&1 || fail "dotnet new console: $(tail -5 dotnet-new.log)"
cat >boom/Program.cs <<'EOF'
using System.Runtime.InteropServices;

Console.Out.WriteLine("boom pid " + Environment.ProcessId);
Console.Out.Flush();
if (args.Length > 0 && args[0] == "native")
	Native.strlen(8);	// a fault outside managed code: SIGSEGV at address 8
throw new InvalidOperationException("crashpipe run-preload");

static class Native
{
	[DllImport("libc.so.6")]
	public static extern nint strlen(nint s);
}
EOF
dotnet build boom -c Release -o boom/out --disable-build-servers -p:UseSharedCompilation=false \
	>dotnet-build.log 2>&1 || fail "dotnet build: $(grep -m3 -i error dotnet-build.log)"
[ -x boom/out/Boom ] || fail "dotnet build made no boom/out/Boom"

# run_boom MS_VAR STATUS [VAR=VALUE...] [-- APP_ARGS...]: run $BOOM once with cores
# suppressed; it must end with exit status STATUS. Sets MS_VAR to the wall time in ms and
# boom_pid to its pid.
run_boom() {
	local __v=$1 want=$2 envs=() rc t0 t1
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	rm -f boom.out boom.err
	t0=$(date +%s%N)
	# (the braces keep bash's "Aborted" notice out of the log)
	{ env "${envs[@]}" prlimit --core=1 -- "$BOOM" "$@" >boom.out 2>boom.err; } 2>/dev/null
	rc=$?
	t1=$(date +%s%N)
	[ "$rc" = "$want" ] || fail "Boom ($*): exit status $rc, expected $want: $(head -5 boom.err)"
	grep -q 'Problem launching createdump' boom.err && fail "Boom ($*): $(grep createdump boom.err)"
	boom_pid=$(sed -n 's/^boom pid //p' boom.out)
	[ -n "$boom_pid" ] || fail "Boom printed no pid: $(cat boom.out)"
	printf -v "$__v" '%s' "$(((t1 - t0) / 1000000))"
}
WITH=(LD_PRELOAD="$PRELOAD" CRASHPIPE_STUB="$STUB" CRASHPIPE_HINT_DIR="$HINTS")
BOOM=./boom/out/Boom

# An unhandled exception: SIGABRT (134), and the runtime passes no siginfo.
best_plain=999999 best_pre=999999
for i in 1 2 3; do
	run_boom ms 134
	[ "$ms" -lt "$best_plain" ] && best_plain=$ms
	no_hint "Boom without the preload"
	run_boom ms 134 "${WITH[@]}"
	[ "$ms" -lt "$best_pre" ] && best_pre=$ms
	grep -q 'crashpipe run-preload' boom.err || fail "Boom: no unhandled exception on stderr"
	# The exception is thrown on the main thread: tid = pid.
	expect_hint "$boom_pid" "tid $boom_pid" "signal 6" "user_dumps 0"
done
echo "Boom: ${best_plain} ms without the preload, ${best_pre} ms with it (best of 3)"
[ $((best_pre - best_plain)) -lt 500 ] ||
	fail "the preload made the crash $((best_pre - best_plain)) ms slower"

# A native fault (in libc, called from managed code): the runtime passes the siginfo, then
# returns from its handler and the fault kills the process with SIGSEGV (139).
run_boom ms 139 "${WITH[@]}" -- native
expect_hint "$boom_pid" "tid $boom_pid" "signal 11" "code 1" "errno 0" "address 8" "user_dumps 0"

# The user asked for a dump: the stub's hint, then the runtime's own createdump writes it.
run_boom ms 134 "${WITH[@]}" DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=1 \
	DOTNET_DbgMiniDumpName="$test_dir/dump.%p"
expect_hint "$boom_pid" "tid $boom_pid" "signal 6" "user_dumps 1"
[ -s "$test_dir/dump.$boom_pid" ] || fail "the real createdump wrote no dump: $(cat boom.out boom.err)"
echo "Boom with DbgEnableMiniDump=1: the hint and the runtime's own dump in $ms ms"

# Single-file (the runtime and createdump linked into the app): no exec, so no hint, but
# also no createdump run that the user never asked for. Needs the runtime pack from NuGet.
if dotnet publish boom -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
	-o boom/single --disable-build-servers -p:UseSharedCompilation=false \
	>dotnet-publish.log 2>&1 && [ -x boom/single/Boom ]; then
	BOOM=./boom/single/Boom
	run_boom ms 134 "${WITH[@]}"
	! grep -h '\[createdump\]' boom.out boom.err || fail "single-file: the app's own createdump ran"
	no_hint "single-file"
	echo "single-file Boom: $ms ms with the preload, and no createdump run"
else
	echo "single-file publish failed, that check is skipped: $(grep -m1 -i error dotnet-publish.log)"
fi
