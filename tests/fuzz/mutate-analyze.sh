#!/bin/bash
# mutate-analyze.sh - a long mutation run of `crashpipe analyze` (a sanitizer build) on real
# kernel cores, counting crashes and hangs and keeping their reproducers. As root:
#
#   tests/fuzz/mutate-analyze.sh [-t SECONDS] [-o OUTDIR] [-T TIMEOUT] CRASHPIPE
#
# CRASHPIPE is an --enable-asan build's binary. The cores are the kernel's, of the programs of
# tests/run-native-corpus.sh (threads, sighandler, callback, cxxthrow, overflow, stripped,
# shlib_main with libcrash.so), of hostile-victim.c, and of nopie.c built four more ways:
# non-PIE, static (glibc), static with musl (musl-gcc, when installed) and with clang (when
# installed); all taken through core_pattern under the tests' lock (tests/test-subr.sh).
# Each round takes the next core, has tests/mutate-core.py make its mutants (the first
# round of a core: every structured mutant and 200 random ones; later rounds: 200 new random
# ones, with a new seed) and runs `crashpipe analyze MUTANT -o out.json` on each under
# timeout(1) (-T seconds, default 30; the analysis child gets 10 s less: --timeout), until
# -t SECONDS (default 1800) have passed.
#
# A run counts as
#   - a crash: crashpipe died on a signal, a sanitizer wrote a report (AddressSanitizer,
#     UndefinedBehaviorSanitizer "runtime error:"), or the report says the analysis child
#     crashed ("the analysis crashed");
#   - a hang: timeout(1) had to end it (exit 124 or 137), or the report says the analysis
#     child ran out of its time ("the analysis ran out of time");
#   - refused: the report says the analysis child failed or sent a report its parent refused
#     ("the analysis failed", "the analysis sent no valid report": a report that does not
#     parse back is a bug too);
#   - bad: any other exit than 0 (a report) and 1 (one line on stderr naming the file).
# Every crash, hang, refused and bad run is kept in OUTDIR/{crash,hang,refused,bad}-N/ (the mutant, its core's
# program and what mutate-core.py did, stderr, the report). The last line is the summary:
#   "mutate-analyze: R runs in S s on C cores: X crashes, H hangs, F refused, B bad"
# and the exit status is 1 when any was found.
set -u
here=$(cd "$(dirname "$0")" && pwd)
duration=1800
outdir=$PWD/mutate-analyze.out
run_timeout=30
while getopts t:o:T: opt; do
	case $opt in
	t) duration=$OPTARG ;;
	o) outdir=$OPTARG ;;
	T) run_timeout=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-o OUTDIR] [-T TIMEOUT] CRASHPIPE" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || { echo "usage: $0 [-t SECONDS] [-o OUTDIR] [-T TIMEOUT] CRASHPIPE" >&2; exit 2; }
cp_bin=$(readlink -f "$1")
[ -x "$cp_bin" ] || { echo "$0: $1 is not a program" >&2; exit 2; }
mkdir -p "$outdir" && outdir=$(cd "$outdir" && pwd) || exit 2

srcdir=$here/..
abs_srcdir=$(cd "$srcdir" && pwd)
abs_top_builddir=$outdir
CRASHPIPE=$cp_bin
export srcdir abs_srcdir abs_top_builddir CRASHPIPE
. "$here/../test-subr.sh"	# works in $outdir/tests/mutate-analyze.dir, removed on success

need python3
need timeout

# ---- the cores ------------------------------------------------------------------------------
# Made once into OUTDIR/cores/ with their programs (the analysis opens those by the paths the
# cores name), and reused by the next run with the same OUTDIR: the core_pattern lock is
# then not needed at all.
cores=()
corelist=$outdir/cores/LIST
if [ -s "$corelist" ]; then
	mapfile -t cores <"$corelist"
	echo "reusing ${#cores[@]} cores of $outdir/cores: ${cores[*]}"
else
rm -rf "$outdir/cores"
mkdir -p "$outdir/cores"
cd "$outdir/cores" || exit 99
# Small stacks (glibc gives each thread RLIMIT_STACK): cores of a few MiB, which
# mutate-core.py copies hundreds of times a round.
stack_limit=$(ulimit -S -s)
ulimit -S -s 1024
add_core() {	# add_core NAME PROG [ARGS...]
	local name=$1 core
	shift
	make_core core "$@"
	mv "$core" "$outdir/cores/$name.core"
	cores+=("$name")
	echo "core $name: $(stat -c %s "$outdir/cores/$name.core") bytes"
}
build_crasher threads $CORPUS_CFLAGS $CORPUS_PIE -fomit-frame-pointer && add_core threads ./threads
build_crasher sighandler $CORPUS_CFLAGS $CORPUS_PIE && add_core sighandler ./sighandler
build_crasher callback $CORPUS_CFLAGS $CORPUS_PIE && add_core callback ./callback
build_crasher_cxx cxxthrow $CORPUS_CFLAGS $CORPUS_PIE && add_core cxxthrow ./cxxthrow
build_crasher overflow $CORPUS_CFLAGS $CORPUS_PIE && add_core overflow ./overflow
build_crasher stripped $CORPUS_CFLAGS $CORPUS_PIE && strip --strip-all stripped && add_core stripped ./stripped
cc $CORPUS_CFLAGS -shared -fPIC -o libcrash.so "$abs_srcdir/crashers/libcrash.c" &&
	cc $CORPUS_CFLAGS $CORPUS_PIE -o shlib_main "$abs_srcdir/crashers/shlib_main.c" -L. -lcrash \
		-Wl,-rpath,"$PWD" && add_core shlib_main ./shlib_main
build_crasher hostile-victim -g -O1 && add_core hostile-victim ./hostile-victim
cc -g -O2 -no-pie -fno-pie -o nopie "$abs_srcdir/crashers/nopie.c" -lpthread && add_core nopie ./nopie
cc -g -O2 -static -o static "$abs_srcdir/crashers/nopie.c" -lpthread && add_core static ./static
if command -v musl-gcc >/dev/null; then
	musl-gcc -g -O2 -static -o musl-static "$abs_srcdir/crashers/nopie.c" -lpthread && add_core musl-static ./musl-static
fi
if command -v clang >/dev/null; then
	clang -g -O2 -Wno-unknown-attributes -o clang-pie "$abs_srcdir/crashers/threads.c" -lpthread && add_core clang-threads ./clang-pie
fi
ulimit -S -s "$stack_limit"
[ ${#cores[@]} -gt 0 ] || fail "no core could be made"
# The cores are made: core_pattern back as it was and the machine-wide lock released now,
# not in half an hour (other tests wait on it).
printf '%s\n' "$_saved_pattern" >/proc/sys/kernel/core_pattern
echo "$_saved_pipe_limit" >/proc/sys/kernel/core_pipe_limit
exec 9>&-
_at_exit_cmds=()
printf '%s\n' "${cores[@]}" >"$corelist"
cd "$test_dir" || exit 99
fi

# ---- the runs -------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:symbolize=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:symbolize=0}
plant=$(mktemp -d /tmp/cpm.XXXXXX) || exit 99
at_exit "rm -rf '$plant'"
runs=0 crashes=0 hangs=0 refused=0 bad=0 kept=0
declare -A rounds
start=$SECONDS

keep() {	# keep KIND MUTANT CORE WHAT: the reproducer and what came of it
	local kind=$1 m=$2 core=$3 what=$4 d
	kept=$((kept + 1))
	d=$outdir/$kind-$kept
	mkdir -p "$d"
	cp "$m" "$d/mutant"
	printf '%s\n%s\n' "$core" "$what" >"$d/what"
	cp run.err "$d/stderr"
	[ ! -f run.json ] || cp run.json "$d/report.json"
	echo "$kind: $core: $what (kept in $d)"
}

i=0
while [ $((SECONDS - start)) -lt "$duration" ]; do
	core=${cores[$((i % ${#cores[@]}))]}
	i=$((i + 1))
	round=${rounds[$core]:-0}
	rounds[$core]=$((round + 1))
	rm -rf mutants "${plant:?}"/*
	python3 "$abs_srcdir/mutate-core.py" make "$outdir/cores/$core.core" mutants --plant-dir "$plant" \
		--fuzz 200 --fuzz-stack --seed $((20260000 + round * 1000 + i)) >/dev/null || fail "mutate-core.py failed on $core"
	while IFS=$'\t' read -r name expect what; do
		[ $((SECONDS - start)) -lt "$duration" ] || break
		# After a core's first round, only the random mutants are new.
		[ "$round" = 0 ] || [[ $name == fuzz-* ]] || continue
		rm -f run.json run.err
		timeout -k 5 "$run_timeout" nice -n 10 "$cp_bin" analyze --timeout $((run_timeout - 10)) "mutants/$name" -o run.json \
			</dev/null >/dev/null 2>run.err
		rc=$?
		runs=$((runs + 1))
		notes=
		[ ! -s run.json ] || notes=$(grep -o '"the analysis \(crashed\|ran out of time\|failed\|sent no valid report\)[^"]*"' run.json | head -1)
		if [ "$rc" = 124 ] || [ "$rc" = 137 ] || [[ $notes == *"ran out of time"* ]]; then
			hangs=$((hangs + 1))
			keep hang "mutants/$name" "$core" "$name: $what (rc $rc) $notes"
		elif [ "$rc" -gt 128 ] || grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' run.err ||
		     [[ $notes == *crashed* ]]; then
			crashes=$((crashes + 1))
			keep crash "mutants/$name" "$core" "$name: $what (rc $rc) $notes"
		elif [[ $notes == *"failed"* || $notes == *"no valid report"* ]]; then
			refused=$((refused + 1))
			keep refused "mutants/$name" "$core" "$name: $what (rc $rc) $notes"
		elif [ "$rc" != 0 ] && { [ "$rc" != 1 ] || [ "$(wc -l <run.err)" != 1 ]; }; then
			bad=$((bad + 1))
			keep bad "mutants/$name" "$core" "$name: $what (rc $rc)"
		fi
	done <mutants/MANIFEST
	echo "after $((SECONDS - start)) s: $runs runs, $crashes crashes, $hangs hangs, $refused refused, $bad bad"
done
rm -rf mutants
echo "mutate-analyze: $runs runs in $((SECONDS - start)) s on ${#cores[@]} cores (${cores[*]}): $crashes crashes, $hangs hangs, $refused refused, $bad bad"
[ $((crashes + hangs + refused + bad)) = 0 ]
