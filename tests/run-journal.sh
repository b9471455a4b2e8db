#!/bin/bash
# run-journal.sh - the journal as crashpipe's output (issue 11, part 2): with `crashpipe
# install` as the core_pattern handler and a systemd-journald started by hand
# (systemd-subr.sh), a native crash through the real kernel pipe gives
#  - a journal entry with the backtrace MESSAGE_ID, systemd-coredump's COREDUMP_* fields
#    (pid, uid, gid, signal and its name, exe, comm, cmdline, timestamp, hostname) and
#    crashpipe's own (CRASHPIPE_REPORT naming the report in the spool, CRASHPIPE_SIGNATURE
#    the report file's user.crashpipe.signature, CRASHPIPE_RUNTIME),
#    and a MESSAGE that says what died and shows the crashed thread's stack;
#  - `coredumpctl list PID` (systemd 252) lists it, `coredumpctl info PID` shows that
#    stack (crash_inner, crash_outer, main: the oracle is the crasher's own source).
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/systemd-subr.sh"

need_root
need journalctl
need coredumpctl
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
[ -S /run/systemd/journal/socket ] || [ -x "$SYSTEMD_JOURNALD" ] || skip "no journal socket and no $SYSTEMD_JOURNALD"

systemd_journald_start
spool=$(mktemp -d /tmp/cpj.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
build_crasher threads -g -O2 -fomit-frame-pointer

"$CRASHPIPE" install --spool "$spool" >install.out 2>&1 || fail "install failed: $(cat install.out)"
run_crasher pid ./threads
wait_for_file report "$spool/*-$pid-threads.json.zst" 30 || fail "no report for pid $pid in $spool"
journal_entry entry.json MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 COREDUMP_PID="$pid" ||
	fail "no journal entry for pid $pid: $(journalctl --no-pager -n 5 2>&1)"

sig=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.crashpipe.signature").decode())' "$report") ||
	fail "$report has no user.crashpipe.signature"
check "the entry's fields" python3 "$abs_srcdir/check-journal.py" entry.json CRASHPIPE_SIGNATURE="$sig" \
	COREDUMP_PID="$pid" COREDUMP_UID="$(id -u)" COREDUMP_GID="$(id -g)" COREDUMP_SIGNAL=11 \
	COREDUMP_SIGNAL_NAME=SIGSEGV COREDUMP_EXE="$test_dir/threads" COREDUMP_COMM=threads \
	COREDUMP_CMDLINE=./threads COREDUMP_HOSTNAME="$(hostname)" COREDUMP_TIMESTAMP \
	CRASHPIPE_REPORT="$report" CRASHPIPE_RUNTIME=native SYSLOG_IDENTIFIER=crashpipe PRIORITY=2 \
	"MESSAGE~Process $pid (threads) of user $(id -u) died on SIGSEGV" \
	"MESSAGE~Stack trace of thread $pid:" "MESSAGE~crash_inner (threads + 0x" "MESSAGE~crash_outer" "MESSAGE~ main ("

# coredumpctl 252 shows a backtrace entry's signal as its "Reason" (info) and 0 in list's
# SIG column (print_list and print_info: only the coredump MESSAGE_ID's is a signal).
coredumpctl list --no-pager --no-legend "$pid" >list.out 2>&1
check "coredumpctl list shows pid $pid and its exe: $(cat list.out)" \
	awk -v p="$pid" -v e="$test_dir/threads" '$5 == p && index($0, " " e " ") { ok = 1 } END { exit !ok }' list.out
coredumpctl info --no-pager "$pid" >info.out 2>&1
check "coredumpctl info shows the signal: $(head -20 info.out)" grep -q 'Reason: 11$' info.out
check "coredumpctl info shows crashpipe's stack" grep -q '#0  *0x[0-9a-f]* crash_inner (threads + 0x' info.out
check "coredumpctl info shows crash_outer" grep -q 'crash_outer (threads + 0x' info.out
check "coredumpctl info shows the report" grep -qF "Report: $report" info.out
checks_done
