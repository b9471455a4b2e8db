# dotnet-subr.sh - what the .NET tests (tests/run-dotnet*.sh) share, sourced after
# tests/test-subr.sh; each script keeps only its own cases and checks. It provides:
#   - the matrix: DOTNET_RUNTIMES (dotnet10 dotnet9 dotnet8), DOTNET_SCENARIOS, the cache
#     (DOTNET_CACHE), ORACLE (tests/dotnet-oracle.py); the SDK's and tools' environment, and
#     no crash setting inherited from the caller (each test sets its own, per run);
#   - dotnet_need [--dac]: the needs of a test that crashes through the pipe (root, python3,
#     zstd, flock, crashpipe built; --dac: built with managed-frame support), SKIP otherwise;
#   - dotnet_hook [--optional]: preload/stub (libcrashpipe-preload.so, crashpipe-createdump)
#     and HOOK=(LD_PRELOAD=... CRASHPIPE_STUB=... CRASHPIPE_HINT_DIR=$hints) for the app's env;
#   - dotnet_short TAG: a short work directory (core_pattern holds 127 bytes): short, spool,
#     hints (mode 1733, as `crashpipe install` makes it), removed at exit;
#   - dotnet_pipe HANDLE-OPTIONS...: core_pattern = `crashpipe handle OPTIONS` (the lock held
#     until the test exits, the sysctls restored), core_pipe_limit 1; pattern is set;
#   - dotnet_build: the Crasher (tests/dotnet/Crasher) for every runtime: APP[rt], RUNTIMES;
#   - run_app, scenario_signal, scenario_message, check_app_output, app_fact(s),
#     app_runtime_version, source_message, oracle_raced: running the Crasher and reading
#     what it printed; dotnet_dump, clrstack: dotnet-dump (a NuGet tool, installed into the
#     cache on first use) and its clrstack -all.
# The app is tests/dotnet/Crasher (one scenario per run, see its Program.cs); the corpus apps
# are in tests/dotnet/apps; the oracles are in tests/dotnet-oracle.py; what was observed is in
# tests/dotnet/NOTES.md.

DOTNET_SCENARIOS=(main worker async generic nullref pinvoke failfast stackoverflow threads100)
DOTNET_RUNTIMES=(dotnet10 dotnet9 dotnet8)
DOTNET_CACHE=${CRASHPIPE_DOTNET_CACHE:-/var/tmp/crashpipe-dotnet-cache}
DOTNET_DUMP_VERSION=10.0.750501
ORACLE="$abs_srcdir/dotnet-oracle.py"

# The SDK and the tools run quietly, with their state in the cache, whatever the caller set.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_CLI_HOME="$DOTNET_CACHE/home" NUGET_PACKAGES="$DOTNET_CACHE/nuget"
# Crash settings come only from the test, per run.
unset DOTNET_DbgEnableMiniDump COMPlus_DbgEnableMiniDump DOTNET_EnableCrashReport \
	DOTNET_EnableCrashReportOnly DOTNET_DbgMiniDumpName DOTNET_DbgMiniDumpType \
	DOTNET_CreateDumpDiagnostics DOTNET_CreateDumpVerboseDiagnostics DOTNET_ENABLE_CDAC \
	COMPlus_ENABLE_CDAC CRASHPIPE_USER_DUMPS CRASHPIPE_REAL_CREATEDUMP

# dotnet_need [--dac]: SKIP (saying why) unless this test can crash an app through the pipe.
dotnet_need() {
	need_root
	need python3
	need zstd
	need flock
	[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
	[ "${1:-}" != --dac ] || grep -q libmscordaccore "$CRASHPIPE" ||
		skip "crashpipe has no managed-frame (DAC) support built in"
}

# dotnet_hook [--optional]: preload and stub, built beside crashpipe; HOOK is the app's
# environment that sends the runtime's createdump to the stub (hints into $hints: call after
# dotnet_short). SKIP when either is not built, or with --optional a note and HOOK=().
HOOK=()
dotnet_hook() {
	preload=$abs_top_builddir/libcrashpipe-preload.so
	stub=$abs_top_builddir/crashpipe-createdump
	if [ -f "$preload" ] && [ -x "$stub" ]; then
		HOOK=(LD_PRELOAD="$preload" CRASHPIPE_STUB="$stub" CRASHPIPE_HINT_DIR="${hints:-}")
		return 0
	fi
	HOOK=()
	[ "${1:-}" = --optional ] || skip "the LD_PRELOAD hook ($preload) or the createdump stub ($stub) is not built"
	echo "NOTE: no preload hook or stub built: the crashes go through the pipe alone"
	return 1
}

# dotnet_short TAG: a new /tmp/cpTAG.XXXXXX (short: core_pattern holds 127 bytes), reachable
# by the kernel-started handler, removed at exit; spool and hints in it.
dotnet_short() {
	short=$(mktemp -d "/tmp/cp$1.XXXXXX") || exit 99
	at_exit "rm -rf '$short'"
	chmod 755 "$short"
	spool=$short/s hints=$short/h
	mkdir -p "$spool" "$hints"
	chmod 1733 "$hints"
}

# dotnet_pipe HANDLE-OPTIONS...: cores of this machine into `crashpipe handle OPTIONS`
# (handle_pattern), core_pipe_limit 1, under the machine-wide lock (take_core_pattern);
# sets pattern. SKIP when the pattern does not fit in 127 bytes.
dotnet_pipe() {
	pattern=$(handle_pattern "$@")
	[ ${#pattern} -le 127 ] || skip "core_pattern too long (${#pattern} bytes): $pattern"
	take_core_pattern	# once: held until the test exits
	set_core_pattern "$pattern" 1
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$pattern" ] ||
		fail "core_pattern did not take the pattern: $(cat /proc/sys/kernel/core_pattern)"
}

# dotnet_build: build the app for every runtime (tests/dotnet/build.sh, cached by content) and
# set APP[dotnet10] / APP[dotnet9] / APP[dotnet8]; a runtime that did not build is left out of RUNTIMES with a
# note. Skips the test when dotnet is missing or nothing built.
declare -A APP
RUNTIMES=()
dotnet_build() {
	local line rt path
	need dotnet
	bash "$abs_srcdir/dotnet/build.sh" >build.out 2>build.err
	while read -r rt path; do
		case $path in
		/*) APP[$rt]=$path RUNTIMES+=("$rt") ;;
		*) echo "NOTE: $test_name: $rt not built: $path" >&2 ;;
		esac
	done <build.out
	[ ${#RUNTIMES[@]} -gt 0 ] || skip "the .NET test app did not build: $(cat build.out build.err | head -5)"
	# an explicit subset, e.g. CRASHPIPE_DOTNET_RUNTIMES=dotnet10
	if [ -n "${CRASHPIPE_DOTNET_RUNTIMES:-}" ]; then
		local keep=()
		for rt in "${RUNTIMES[@]}"; do
			case " $CRASHPIPE_DOTNET_RUNTIMES " in *" $rt "*) keep+=("$rt") ;; esac
		done
		RUNTIMES=("${keep[@]}")
	fi
}

# dotnet_scenarios: the scenarios to run (all, or $CRASHPIPE_DOTNET_SCENARIOS).
dotnet_scenarios() {
	if [ -n "${CRASHPIPE_DOTNET_SCENARIOS:-}" ]; then
		echo "$CRASHPIPE_DOTNET_SCENARIOS"
	else
		echo "${DOTNET_SCENARIOS[*]}"
	fi
}

# scenario_signal SCENARIO: the signal the process dies of: SIGSEGV for the native fault,
# SIGABRT (the runtime's abort after createdump) for everything else.
scenario_signal() {
	case $1 in
	pinvoke) echo 11 ;;
	*) echo 6 ;;
	esac
}

# dotnet_fresh_rate_limit: before a crash, the crash-loop limit's state in $spool goes: the
# tests of the analysis crash one bug more often than handle's default limit (5 an hour)
# reports it (main and threads100 share a signature, on three runtimes), and core_pattern
# has no room for --rate-limit off. A test of the limit itself sets DOTNET_KEEP_RATE_LIMIT=1.
dotnet_fresh_rate_limit() {
	[ -n "${DOTNET_KEEP_RATE_LIMIT:-}" ] || [ -z "${spool:-}" ] || rm -f "$spool/.crashpipe-ratelimit"
}

# run_app OUTVAR RT SCENARIO OUTFILE [VAR=VALUE...]: run the app for runtime RT with the
# given environment (core dumps allowed, like run_crasher); sets OUTVAR to its pid. Its stdout
# and stderr go to OUTFILE. Fails the test unless it dies of scenario_signal.
run_app() {
	local __var=$1 rt=$2 sc=$3 out=$4 __pid rc want
	shift 4
	dotnet_fresh_rate_limit
	(
		ulimit -c unlimited
		exec env "$@" "${APP[$rt]}" "$sc"
	) >"$out" 2>&1 &
	__pid=$!
	wait "$__pid" 2>/dev/null
	rc=$?
	want=$(scenario_signal "$sc")
	[ "$rc" = $((128 + want)) ] || {
		check_failed "$rt $sc: exit status $rc, expected $((128 + want)) (signal $want): $(tail -3 "$out")"
		printf -v "$__var" '%s' "$__pid"
		return 1
	}
	printf -v "$__var" '%s' "$__pid"
}

# oracle_raced REPORT OUTFILE ATTEMPT: true when createdump (the oracle, not crashpipe) wrote
# no crash report because a thread of the app exited while it attached to it ("Problem
# suspending threads: ptrace(ATTACH, TID) FAILED No such process": its own race, seen on a
# loaded machine, .NET 8 stackoverflow); the caller runs the crash once more, on the first
# attempt only, so a second failure still fails the test.
oracle_raced() {
	[ "$3" = 1 ] && [ ! -s "$1" ] && grep -q "Problem suspending threads.*No such process" "$2" || return 1
	echo "NOTE: createdump lost a thread while attaching ($(grep -m1 'Problem suspending' "$2")); running the crash again" >&2
}

# app_fact OUTFILE KEY: what the app printed as "KEY value" (first line), e.g.
# app_fact x.out "expect type"; app_facts prints every such line's value.
app_fact() { sed -n "s/^$2 //p" "$1" | head -1; }
app_facts() { sed -n "s/^$2 //p" "$1"; }

# app_runtime_version OUTFILE: Environment.Version as the app printed it ("10.0.12").
app_runtime_version() { sed -n 's/^crasher scenario [^ ]* runtime \([^ ]*\) pid .*/\1/p' "$1"; }

# source_message NAME: the string constant Messages.NAME in Program.cs, C# escapes undone.
source_message() {
	python3 - "$abs_srcdir/dotnet/Crasher/Program.cs" "$1" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
m = re.search(r'public const string %s = "((?:[^"\\]|\\.)*)";' % re.escape(sys.argv[2]), src)
if not m:
    sys.exit("no Messages.%s in %s" % (sys.argv[2], sys.argv[1]))
print(re.sub(r'\\(.)', lambda x: {"n": "\n", "t": "\t"}.get(x.group(1), x.group(1)), m.group(1)))
EOF
}

# scenario_message SCENARIO: the Messages constant the scenario throws with (empty if none).
scenario_message() {
	case $1 in
	main | threads100) source_message Main ;;
	worker) source_message Worker ;;
	async) source_message Async ;;
	generic) source_message Generic ;;
	failfast) source_message FailFast ;;
	nullref) echo "Object reference not set to an instance of an object." ;;
	esac
}

# check_app_output RT SCENARIO OUTFILE: the app printed what its source says, and the
# runtime printed the unhandled exception (or FailFast / stack overflow) as expected.
check_app_output() {
	local rt=$1 sc=$2 out=$3 type msg want
	type=$(app_fact "$out" "expect type")
	msg=$(app_fact "$out" "expect message")
	want=$(scenario_message "$sc")
	case $sc in
	pinvoke)
		grep -q '^expect native crashlib_deref' "$out" ||
			check_failed "$rt $sc: the app printed no 'expect native' line"
		;;
	failfast)
		[ "$(app_fact "$out" "expect failfast")" = "$want" ] ||
			check_failed "$rt $sc: the app printed failfast message '$(app_fact "$out" "expect failfast")', the source says '$want'"
		grep -qF "$want" "$out" || check_failed "$rt $sc: the runtime did not print the FailFast message"
		;;
	stackoverflow)
		grep -q '^Stack overflow\.' "$out" || check_failed "$rt $sc: the runtime did not print 'Stack overflow.'"
		;;
	*)
		[ "$msg" = "$want" ] ||
			check_failed "$rt $sc: the app printed message '$msg', the source says '$want'"
		grep -qxF "Unhandled exception. $type: $want" "$out" ||
			check_failed "$rt $sc: the runtime did not print 'Unhandled exception. $type: $want'"
		;;
	esac
	[ -n "$(app_fact "$out" "crash tid")" ] || check_failed "$rt $sc: the app printed no crash tid"
}

# dotnet_dump: the path of dotnet-dump (installed into the cache as a tool on first use, from
# NuGet); returns 1 when it cannot be had.
dotnet_dump() {
	local tool=$DOTNET_CACHE/tools/dotnet-dump
	if [ ! -x "$tool" ]; then
		mkdir -p "$DOTNET_CACHE/tools"
		(
			exec 8>"$DOTNET_CACHE/.lock" && flock 8 &&
				{ [ -x "$tool" ] || dotnet tool install --tool-path "$DOTNET_CACHE/tools" dotnet-dump \
					--version "$DOTNET_DUMP_VERSION"; }
		) >dotnet-dump-install.log 2>&1 || return 1
	fi
	[ -x "$tool" ] && echo "$tool"
}

# clrstack DUMP OUT: dotnet-dump's "clrstack -all" of a createdump dump into OUT.
clrstack() {
	local tool
	tool=$(dotnet_dump) || return 1
	env -u LD_PRELOAD "$tool" analyze "$1" -c "clrstack -all" -c exit >"$2" 2>&1 &&
		grep -q '^OS Thread Id:' "$2"
}
