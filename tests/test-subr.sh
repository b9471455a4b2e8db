# test-subr.sh - shared helpers for tests/run-*.sh, sourced by each test.
#
# Automake runs every test with srcdir set and the environment from
# AM_TESTS_ENVIRONMENT (CRASHPIPE = the built binary, abs_top_builddir, abs_srcdir).
# Each test works in its own directory, removed on success and kept on failure.
# Exit codes follow automake: 0 pass, 1 fail, 77 skip (say why first), 99 hard error.

set -u
: "${srcdir:=.}"
: "${abs_srcdir:=$(cd "$srcdir" && pwd)}"
: "${abs_top_builddir:=$(cd "$srcdir/.." && pwd)}"
: "${CRASHPIPE:=$abs_top_builddir/crashpipe}"

test_name=$(basename "$0" .sh)
test_dir="$abs_top_builddir/tests/$test_name.dir"
rm -rf "$test_dir"
mkdir -p "$test_dir"
cd "$test_dir" || exit 99

# Cleanup functions run on every exit, failure included; tests add their own with
# at_exit "cmd ...". The core_pattern restore is registered by take_core_pattern.
_at_exit_cmds=()
at_exit() { _at_exit_cmds+=("$*"); }
_test_shell=$BASHPID
_run_at_exit() {
	local rc=$? i
	# Only the test's own shell cleans up: a subshell that ran this trap (seen under load, a
	# subshell of run-dotnet-corpus.sh with status 0) would remove the directory and the
	# spool of a test still running.
	[ "$BASHPID" = "$_test_shell" ] || exit "$rc"
	for ((i = ${#_at_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_at_exit_cmds[$i]}" || true
	done
	rm -rf "/run/cpt.$$"
	if [ "$rc" = 0 ]; then
		cd / && rm -rf "$test_dir"
	else
		echo "$test_name: exit $rc; files kept in $test_dir" >&2
	fi
	exit "$rc"
}
trap _run_at_exit EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $test_name: $*" >&2; exit 1; }
skip() { echo "SKIP: $test_name: $*" >&2; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root to set kernel.core_pattern"; }

# handle_pattern ARGS...: the core_pattern that pipes cores into `crashpipe handle ARGS`, with
# %F (a pidfd of the crashed process) where the kernel has it (Linux 6.16 and later).
handle_pattern() {
	local kmaj kmin pidfd=" %F"
	IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
	[ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "${kmin%%[!0-9]*}" -ge 16 ]; } || pidfd=
	local exe=$CRASHPIPE
	local pattern="|$exe handle $* %P %i %u %g %s %t %c %h$pidfd"
	if [ ${#pattern} -gt 127 ]; then
		# The kernel keeps 127 bytes of core_pattern: a deep build directory (CI's, make
		# distcheck's) runs crashpipe through a short root-owned link instead.
		exe=$(short_exe) || exit 99
		pattern="|$exe handle $* %P %i %u %g %s %t %c %h$pidfd"
	fi
	echo "$pattern"
}

# spool_pattern [HANDLE-ARGS...]: sets $spool (this test's spool directory, made) and
# $pattern (the core_pattern piping into `crashpipe handle --spool $spool HANDLE-ARGS`).
# The kernel keeps at most 127 bytes of core_pattern: when this test's directory is too deep
# (make distcheck), the spool goes to /tmp (and handle_pattern shortens crashpipe's path);
# the test is skipped when even that is too long.
spool_pattern() {
	spool=$test_dir/spool
	pattern=$(handle_pattern --spool "$spool" "$@")
	if [ ${#pattern} -gt 127 ]; then
		spool=$(mktemp -d /tmp/crashpipe-spool.XXXXXX) || exit 99
		at_exit "rm -rf '$spool'"
		pattern=$(handle_pattern --spool "$spool" "$@")
	fi
	[ ${#pattern} -le 127 ] || skip "the path of crashpipe is too long for a core_pattern (${#pattern} bytes): $pattern"
	mkdir -p "$spool"
}

# short_exe: a short path to $CRASHPIPE (a symlink in a root-owned directory under /run,
# removed when the test exits), for a core_pattern.
short_exe() {
	local d=/run/cpt.$$	# $$: this test's shell, also inside $(...)
	if [ ! -d "$d" ] || [ -L "$d" ]; then
		rm -f "$d" && mkdir -m 755 "$d" || return 1
	fi
	[ "$(readlink "$d/cp")" = "$CRASHPIPE" ] || ln -sfn "$CRASHPIPE" "$d/cp" || return 1
	echo "$d/cp"
}

# take_core_pattern: serialise every test that touches core_pattern or core_pipe_limit
# (one lock for the whole machine, held until this test exits) and restore both values
# on exit, whatever happens.
CORE_PATTERN_LOCK=/run/crashpipe-tests.core_pattern.lock
take_core_pattern() {
	[ -z "${_saved_pattern+x}" ] || return 0	# already held by this test
	need_root
	exec 9>"$CORE_PATTERN_LOCK" || exit 99
	flock 9 || exit 99
	_saved_pattern=$(cat /proc/sys/kernel/core_pattern)
	_saved_pipe_limit=$(cat /proc/sys/kernel/core_pipe_limit)
	at_exit 'printf "%s\n" "$_saved_pattern" >/proc/sys/kernel/core_pattern; echo "$_saved_pipe_limit" >/proc/sys/kernel/core_pipe_limit'
}

# set_core_pattern PATTERN [PIPE_LIMIT]: only after take_core_pattern.
set_core_pattern() {
	[ -n "${_saved_pattern+x}" ] || { echo "set_core_pattern before take_core_pattern" >&2; exit 99; }
	printf '%s\n' "$1" >/proc/sys/kernel/core_pattern || exit 99
	[ $# -lt 2 ] || echo "$2" >/proc/sys/kernel/core_pipe_limit || exit 99
}

# run_crasher OUTVAR PROG [ARGS...]: run PROG (expected to die on a signal) with core
# dumps enabled; sets OUTVAR to the pid it had. Its stdout/stderr go to PROG.out.
run_crasher() {
	local __var=$1 prog=$2 __pid
	shift 2
	(
		ulimit -c unlimited
		exec "$prog" "$@"
	) >"$(basename "$prog").out" 2>&1 &
	__pid=$!
	wait "$__pid"
	local rc=$?
	[ "$rc" -gt 128 ] || fail "$prog was expected to die on a signal, exit status $rc"
	printf -v "$__var" '%s' "$__pid"
}

# make_core OUTVAR PROG [ARGS...]: a real kernel core of PROG, written by the kernel to a
# file in this test's directory (core_pattern taken and restored around it). Sets OUTVAR
# to the core's path.
make_core() {
	local __out=$1 pid f
	shift
	take_core_pattern
	mkdir -p "$test_dir/cores"
	set_core_pattern "$test_dir/cores/core.%p"
	run_crasher pid "$@"
	f="$test_dir/cores/core.$pid"
	for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
	[ -s "$f" ] || fail "the kernel wrote no core for $1 (pid $pid) at $f"
	printf -v "$__out" '%s' "$f"
}

# build_crasher NAME [CFLAGS...]: compile tests/crashers/NAME.c into ./NAME.
build_crasher() {
	local name=$1
	shift
	${CC:-cc} -o "$name" "$abs_srcdir/crashers/$name.c" "$@" -lpthread ||
		fail "cannot build crasher $name"
}

# ---- helpers for the native crash corpus and the oracle comparisons (run-native-corpus.sh,
# run-pipe.sh).  The corpus: tests/crashers/*.c, *.cc; the oracles: gdb-frames.py (gdb) and
# eu-stack; the comparison: compare-frames.py; report facts: check-report.py.

# Corpus programs are PIE with debug info, at -O2 (frame pointers omitted, gcc's default).
CORPUS_CFLAGS="-g -O2"
CORPUS_PIE="-fPIE -pie"

# build_crasher_cxx NAME [CXXFLAGS...]: compile tests/crashers/NAME.cc into ./NAME.
build_crasher_cxx() {
	local name=$1
	shift
	${CXX:-c++} -o "$name" "$abs_srcdir/crashers/$name.cc" "$@" -lpthread ||
		fail "cannot build crasher $name"
}

# build_shlib_crasher [CFLAGS...]: ./libcrash.so (crashers/libcrash.c) and ./shlib_main (a
# PIE) linked against it, finding it through its RUNPATH (this test's directory).
build_shlib_crasher() {
	${CC:-cc} -shared -fPIC -o libcrash.so "$abs_srcdir/crashers/libcrash.c" "$@" ||
		fail "cannot build libcrash.so"
	${CC:-cc} -o shlib_main "$abs_srcdir/crashers/shlib_main.c" "$@" -fPIE -pie -L. -lcrash \
		-Wl,-rpath,"$test_dir" || fail "cannot build shlib_main"
}

# marker_line FILE MARK: the number of the line of tests/crashers/FILE that has MARK
# (CRASH-LINE: the faulting statement; CALL-LINE: the call below it).
marker_line() {
	local n
	n=$(grep -n "$2" "$abs_srcdir/crashers/$1" | cut -d: -f1)
	case $n in
	'' | *[!0-9]*) echo "marker_line: no single '$2' in crashers/$1" >&2; exit 99 ;;
	esac
	echo "$n"
}

# crash_tid PROG: the tid that crasher PROG printed as "crash tid N" before crashing
# (its output is in PROG.out, see run_crasher).
crash_tid() {
	local t
	t=$(sed -n 's/^crash tid \([0-9][0-9]*\)$/\1/p' "$1.out")
	[ -n "$t" ] || fail "$1 printed no 'crash tid' line: $(cat "$1.out")"
	echo "$t"
}

# symbol_range FILE SYMBOL: "0xVALUE:0xSIZE" of SYMBOL in ELF FILE, from nm -S.
symbol_range() {
	nm -S "$1" | awk -v s="$2" '$4 == s { print "0x" $1 ":0x" $2; found = 1; exit }
		END { if (!found) exit 1 }' || fail "no symbol $2 in $1"
}

# build_id FILE: the GNU build-id of ELF FILE in hex.
build_id() {
	LC_ALL=C readelf -n "$1" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p'
}

# gdb_frames OUT PROG CORE [MAXFRAMES]: the gdb oracle's JSON for CORE (tests/gdb-frames.py),
# at most MAXFRAMES (default 256) physical frames per thread; gdb's log in OUT.log.
gdb_frames() {
	local out=$1 prog=$2 core=$3 max=${4:-256}
	gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
		-ex "py max_frames = $max" -ex "py out_path = '$out'" \
		-x "$abs_srcdir/gdb-frames.py" "$prog" "$core" >"$out.log" 2>&1
	[ -s "$out" ] || fail "gdb-frames.py wrote nothing for $core: $(tail -5 "$out.log")"
}

# eu_stack_frames OUT PROG CORE [MAXFRAMES]: eu-stack's backtrace of CORE in OUT (errors in
# OUT.err).  eu-stack exits 1 when some thread stopped early; only no output at all is fatal.
eu_stack_frames() {
	local out=$1 prog=$2 core=$3 max=${4:-256}
	DEBUGINFOD_URLS= eu-stack --core "$core" -e "$prog" -n "$max" >"$out" 2>"$out.err"
	grep -q '^TID ' "$out" || fail "eu-stack printed no thread for $core: $(head -3 "$out.err")"
}

# wait_for_file VAR GLOB [SECONDS]: poll (every 0.1 s, up to SECONDS, default 10) until a
# file matches GLOB; set VAR to the first match.  Returns 1 on timeout.
wait_for_file() {
	local __v=$1 __glob=$2 __n=$((${3:-10} * 10)) __f
	while [ "$__n" -gt 0 ]; do
		for __f in $__glob; do
			if [ -e "$__f" ]; then
				printf -v "$__v" '%s' "$__f"
				return 0
			fi
		done
		sleep 0.1
		__n=$((__n - 1))
	done
	return 1
}

# Tests that go on after a failed check, to report every failure at once: check WHAT CMD...
# runs CMD and records WHAT if it fails; check_failed WHAT records a failure; checks_done
# ends the test, failing it if anything was recorded.
_failed_checks=()
check() {
	local what=$1
	shift
	"$@" || _failed_checks+=("$what")
}
check_failed() { _failed_checks+=("$*"); }
checks_done() {
	if [ ${#_failed_checks[@]} -gt 0 ]; then
		printf 'FAILED: %s\n' "${_failed_checks[@]}" >&2
		fail "${#_failed_checks[@]} check(s) failed"
	fi
	exit 0
}
