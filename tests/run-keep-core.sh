#!/bin/bash
# run-keep-core.sh - `crashpipe handle --keep-core[=RULE]` through the real kernel pipe (issue 10,
# part 5).
#
# core_pattern pipes into `crashpipe handle --spool DIR --keep-core=RULE ...`; corpus programs
# crash (callback: a SIGSEGV inside qsort's callback; threads: 17 threads). Checked:
#   - a rule by name (callback) keeps callback's core as TIME-PID-NAME.core.zst beside its
#     report, mode 0600 root:root, and `crashpipe analyze` of that .zst gives the crashed
#     thread the same frames (module, offset, function) as the report; threads' is not kept;
#   - a rule by path (/.../threads) keeps threads' core, and not callback's;
#   - without --keep-core no core is kept;
#   - a rule by signature (sig:HEX of callback's report) keeps callback's core (decided after
#     the analysis), and drops threads' (kept tentatively while it streamed);
#   - a compressed core larger than --max-use is dropped as it streams, the report kept;
#   - a full spool (a 3 MiB tmpfs; fillmem's 24 MiB of random memory do not fit) costs the
#     kept core, never the report: the report is there, no core, no temporary file, and the
#     kernel log says why the core was not kept.
# No hidden temporary file is ever left in the spool.
. "${srcdir:-.}/test-subr.sh"

need_root
need zstd
need jq
need dmesg
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
dmesg >/dev/null 2>&1 || skip "cannot read the kernel log (dmesg)"

take_core_pattern

bindir=$(mktemp -d /tmp/cpkb.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"
cd "$bindir" || exit 99
build_crasher threads $CORPUS_CFLAGS $CORPUS_PIE
build_crasher callback $CORPUS_CFLAGS $CORPUS_PIE
build_crasher fillmem -O2 -g -fno-optimize-sibling-calls
cd "$test_dir" || exit 99

spool=$(mktemp -d /tmp/cpks.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
chmod 700 "$spool"

# crash PROG [ARGS]: crash PROG through the pipe; sets $pid and $report (its report's path).
crash() {
	local prog=$1
	shift
	run_crasher pid "$bindir/$prog" "$@"
	wait_for_file report "$spool/*-$pid-*.json.zst" 20 || fail "$prog (pid $pid): no report in $spool"
	# The core is named after the report: wait for the handler to end.
	for _ in $(seq 1 100); do
		pgrep -f "handle --spool $spool " >/dev/null || return 0
		sleep 0.1
	done
	fail "$prog (pid $pid): the handler did not end within 10 s of its report"
}

# core_of REPORT: the kept core's name beside REPORT.
core_of() { echo "${1%.json.zst}.core.zst"; }

no_tmp_files() {
	local left
	# .crashpipe-ratelimit is handle's crash-loop state (ratelimit.h), not a temporary file.
	left=$(find "$spool" -mindepth 1 -name '.*' ! -name .crashpipe-ratelimit | head -3)
	[ -z "$left" ] || { echo "temporary files left in the spool: $left" >&2; return 1; }
}

# crashed_frames JSON: the crashed thread's frames as "module+offset function" lines.
crashed_frames() {
	jq -r '[.threads[] | select(.crashed)][0].frames[] |
		select(.kind == "native") | "\(.module // "?")+\(.module_offset // "?") \(.function // "?")"' "$1"
}

set_pattern() {
	local p
	p=$(handle_pattern --spool "$spool" "$@")
	[ ${#p} -le 127 ] || skip "core_pattern too long (${#p} bytes): $p"
	set_core_pattern "$p" 1
}

# --- a rule by name ----------------------------------------------------------------------
set_pattern --keep-core=callback
crash callback
cb_report=$report
cb_core=$(core_of "$report")
if [ -f "$cb_core" ]; then
	check "kept core mode 0600 root:root" test "$(stat -c '%a %u %g' "$cb_core")" = "600 0 0"
	zstd -q -t "$cb_core" || check_failed "the kept core is not a valid zstd file"
	"$CRASHPIPE" analyze --no-debuginfod "$cb_core" -o cb-analyze.json 2>analyze.err ||
		check_failed "crashpipe analyze of the kept core failed: $(tail -3 analyze.err)"
	zstd -q -dc "$cb_report" >cb-report.json
	crashed_frames cb-report.json >frames.report
	crashed_frames cb-analyze.json >frames.analyze 2>/dev/null
	[ "$(wc -l <frames.report)" -ge 4 ] || check_failed "the report's crashed thread has under 4 frames"
	grep -q ' compare_records$' frames.report || check_failed "compare_records is not in the report's frames"
	diff frames.report frames.analyze >frames.diff ||
		check_failed "analyze of the kept core gives other crashed-thread frames: $(head -5 frames.diff)"
	cb_sig=$(jq -r '.signature // empty' cb-report.json)
else
	check_failed "no core kept beside $cb_report (rule: callback)"
	cb_sig=
fi
crash threads
[ ! -e "$(core_of "$report")" ] || check_failed "threads' core kept under the rule 'callback'"
check "no temporary files (name rule)" no_tmp_files

# --- a rule by path ----------------------------------------------------------------------
rm -f "$spool"/*
set_pattern "--keep-core=$bindir/threads"
crash threads
[ -f "$(core_of "$report")" ] || check_failed "threads' core not kept under the rule $bindir/threads"
crash callback
[ ! -e "$(core_of "$report")" ] || check_failed "callback's core kept under the rule $bindir/threads"

# --- off -------------------------------------------------------------------------------
rm -f "$spool"/*
set_pattern
crash callback
[ -z "$(find "$spool" -name '*.core.zst')" ] || check_failed "a core was kept without --keep-core"

# --- a rule by signature -------------------------------------------------------------------
if [ -n "$cb_sig" ]; then
	rm -f "$spool"/*
	set_pattern "--keep-core=sig:$cb_sig"
	crash callback
	[ -f "$(core_of "$report")" ] || check_failed "callback's core not kept under sig:$cb_sig"
	crash threads
	[ ! -e "$(core_of "$report")" ] || check_failed "threads' core kept under callback's signature"
	check "no temporary files (signature rule)" no_tmp_files
else
	check_failed "callback's report has no signature: the signature rule was not tested"
fi

# --- a core that could never fit the spool's cap ---------------------------------------------
rm -f "$spool"/*
set_pattern --keep-core --max-use=2M --keep-free=0
crash fillmem 24 random
[ -z "$(find "$spool" -name '*.core.zst')" ] || check_failed "a core larger than --max-use was kept"
[ -e "$report" ] || check_failed "over --max-use: the report is gone"
dmesg | grep -q "crashpipe\[[0-9]*\]: pid $pid: core not kept: File too large" ||
	check_failed "over --max-use: no 'core not kept: File too large' line in the kernel log"
check "no temporary files (over --max-use)" no_tmp_files

# --- a full spool ----------------------------------------------------------------------------
small=$(mktemp -d /tmp/cpkf.XXXXXX) || exit 99
at_exit "rmdir '$small'"
mount -t tmpfs -o size=3m,mode=0700 crashpipe-test "$small" || skip "cannot mount a tmpfs"
at_exit "umount '$small'"
spool=$small
set_pattern --keep-core --keep-free=0 --max-use=0
crash fillmem 24 random
[ -s "$report" ] || check_failed "full spool: the report is empty"
zstd -q -t "$report" || check_failed "full spool: the report is not a valid zstd file"
[ -z "$(find "$spool" -name '*.core.zst')" ] || check_failed "full spool: a core was kept"
check "no temporary files (full spool)" no_tmp_files
dmesg | grep -q "crashpipe\[[0-9]*\]: pid $pid: core not kept: No space left on device" ||
	check_failed "full spool: no 'core not kept' line in the kernel log"
dmesg | grep -q "crashpipe\[[0-9]*\]: pid $pid: report written to" ||
	check_failed "full spool: no 'report written' line in the kernel log"

checks_done
