#!/bin/bash
# run-spool-full.sh - nothing lost silently (issue 10, part 6): when the report cannot be
# written, one line of the handler's log still says what crashed and why the report is
# missing. Through the real kernel pipe, with the spool on a tmpfs of this test's own:
#
# 1. full (a filler file took every block): a SIGSEGV in burst_crash() -> "pid PID (EXE) died
#    on signal 11 (SIGSEGV) in burst_crash, signature <16 hex>: NO REPORT: cannot write
#    SPOOL/NAME: No space left on device";
# 2. read-only (remounted ro): an abort() in burst_crash() -> the same line with signal 6
#    (SIGABRT), burst_crash (the abort machinery skipped) and "Read-only file system".
# Nothing is in the spool after either. The handler logs to the kernel log here (no syslog
# daemon, log.c), as run-handle-selfcrash.sh reads it.
. "${srcdir:-.}/test-subr.sh"

need_root
need dmesg
need mount
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
dmesg >/dev/null 2>&1 || skip "cannot read the kernel log (dmesg)"
[ ! -e /dev/log ] || skip "a syslog daemon listens on /dev/log: the handler's lines do not reach the kernel log"

short=$(mktemp -d /tmp/cpsf.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 755 "$short"	# the analysis runs without root's privileges: it opens the program
spool=$short/s
mkdir "$spool"
mount -t tmpfs -o size=256k,mode=0700 cpsf "$spool" || skip "cannot mount a tmpfs on $spool"
at_exit "umount '$spool'"
dd if=/dev/zero of="$spool/.fill" bs=4k 2>/dev/null
[ "$(df --output=avail -k "$spool" | tail -1 | tr -d ' ')" = 0 ] || fail "$spool is not full: $(df -k "$spool" | tail -1)"

${CC:-cc} -g -O1 -DVARIANT=1 -o "$short/burst" "$abs_srcdir/crashers/burst.c" -lpthread ||
	fail "cannot build crashers/burst.c"
take_core_pattern
set_core_pattern "$(handle_pattern --spool "$spool")" 64

# crash_and_expect MODE SIGNAL SIGNAME WHY: one crash, then its one NO REPORT line.
crash_and_expect() {
	local mode=$1 sig=$2 signame=$3 why=$4 pid line
	( ulimit -c unlimited; exec "$short/burst" 2 "$mode" </dev/null >/dev/null 2>&1 ) &
	pid=$!
	wait "$pid"
	line=
	for _ in $(seq 1 200); do
		line=$(dmesg | grep "crashpipe\[[0-9]*\]: pid $pid " | grep -F 'NO REPORT') && break
		sleep 0.1
	done
	[ -n "$line" ] || fail "$mode: no NO REPORT line for pid $pid: $(dmesg | grep "crashpipe\[[0-9]*\]: pid $pid" | tail -3)"
	echo "$mode: $line"
	local re="pid $pid \\($short/burst\\) died on signal $sig \\($signame\\) in burst_crash, signature [0-9a-f]{16}: NO REPORT: cannot write $spool/[^ ]*-$pid-burst\\.json\\.zst: $why\$"
	[[ $line =~ $re ]] || check_failed "$mode: the line does not say exe, signal, function, signature and why ($re)"
	[ "$(echo "$line" | wc -l)" = 1 ] || check_failed "$mode: more than one NO REPORT line"
	ls "$spool"/*-"$pid"-* >/dev/null 2>&1 && check_failed "$mode: a report of pid $pid is in the spool"
	return 0
}

crash_and_expect segv 11 SIGSEGV "No space left on device"
mount -o remount,ro "$spool" || fail "cannot remount $spool read-only"
crash_and_expect abort 6 SIGABRT "Read-only file system"
checks_done
