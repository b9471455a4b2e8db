#!/bin/bash
# run-fuzz.sh - run one libFuzzer target for a while: `make fuzz` and `make fuzz-NAME`.
#
#   run-fuzz.sh SRCDIR BUILDDIR NAME SECONDS
#
# Runs BUILDDIR/tests/fuzz/fuzz-NAME first over every reproducer in
# SRCDIR/tests/fuzz/regress/NAME/ (each must now pass), then for SECONDS seconds over a
# working copy of its corpus: new inputs go to BUILDDIR/tests/fuzz/NAME.corpus/ (kept
# between runs, so the corpus grows), the committed seeds in SRCDIR/tests/fuzz/corpus/NAME/
# are only read. SRCDIR/tests/fuzz/NAME.dict is the dictionary when there is one, and
# SRCDIR/tests/fuzz/NAME.options adds libFuzzer flags (one a line, e.g. -max_len=).
#
# Fails on any crash, leak, timeout, out-of-memory or sanitizer report; a reproducer is
# left as BUILDDIR/tests/fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-). Writes the output
# to BUILDDIR/tests/fuzz/fuzz-NAME.log and the result as automake's harness does, in
# fuzz-NAME.trs (.ci/run counts those), and prints one line of figures.
set -uo pipefail

srcdir=$1 builddir=$2 name=$3 seconds=${4:-60}
fuzzer=$builddir/tests/fuzz/fuzz-$name
out=$builddir/tests/fuzz
log=$out/fuzz-$name.log
trs=$out/fuzz-$name.trs
seeds=$srcdir/tests/fuzz/corpus/$name
regress=$srcdir/tests/fuzz/regress/$name
work=$out/$name.corpus

result() {
	printf ':test-result: %s\n:global-test-result: %s\n:recheck: %s\n:copy-in-global-log: %s\n' \
		"$1" "$1" "$([ "$1" = PASS ] && echo no || echo yes)" \
		"$([ "$1" = PASS ] && echo no || echo yes)" >"$trs"
	echo "$1: fuzz-$name $2"
	[ "$1" = PASS ]
}

[ -x "$fuzzer" ] || { : >"$log"; result FAIL "(no $fuzzer: configure with CC=clang --enable-fuzz)"; exit; }
# Every target has committed seeds: libFuzzer given a missing directory exits at once.
[ -d "$seeds" ] || { echo "no seed corpus $seeds" >"$log"; result FAIL "(no seed corpus $seeds)"; exit; }
mkdir -p "$work"
flags=(-timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
       -artifact_prefix="$out/$name-")
[ -f "$srcdir/tests/fuzz/$name.dict" ] && flags+=(-dict="$srcdir/tests/fuzz/$name.dict")
if [ -f "$srcdir/tests/fuzz/$name.options" ]; then
	while read -r opt; do
		case $opt in ''|'#'*) ;; *) flags+=("$opt") ;; esac
	done <"$srcdir/tests/fuzz/$name.options"
fi
# Halt on the first report of any sanitizer; leaks are reported at the end of each input.
# No abort_on_error: an abort would send a core to whatever core_pattern holds.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

: >"$log"
rc=0
if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
	echo "== reproducers in $regress" >>"$log"
	"$fuzzer" "${flags[@]}" "$regress"/* >>"$log" 2>&1 || rc=$?
fi
if [ "$rc" = 0 ]; then
	echo "== fuzzing $seconds s" >>"$log"
	start=$(date +%s)
	"$fuzzer" "${flags[@]}" -max_total_time="$seconds" "$work" "$seeds" >>"$log" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
fi
if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
	[ "$rc" = 0 ] && rc=1
fi

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
figures="runs ${runs:-?} cov ${cov:-?} ft ${ft:-?} corpus ${corp:-?} in ${secs:-0} s"
if [ "$rc" != 0 ]; then
	grep -E 'ERROR:|runtime error:|SUMMARY:|Test unit written|^artifact_prefix' "$log" | head -5
	result FAIL "$figures (exit $rc; see $log)"
	exit 1
fi
result PASS "$figures"
