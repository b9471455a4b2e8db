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
#    stack (crash_inner, crash_outer, main: the oracle is the crasher's own source);
#  - a .NET crash (when tests/dotnet's app is built): CRASHPIPE_RUNTIME coreclr, the
#    exception's type and message as the app's source has them, MESSAGE leading with them
#    and the throw site (MainLevel3).
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

# .NET: tests/dotnet's Crasher on .NET 10, scenario main (an InvalidOperationException three
# calls deep), with the preload hook, when the app is built (tests/dotnet/build.sh, cached)
# and crashpipe has the DAC support: the entry leads with the exception, then its throw site.
app=
if command -v dotnet >/dev/null 2>&1 && grep -q libmscordaccore "$CRASHPIPE" &&
	[ -f "$abs_top_builddir/libcrashpipe-preload.so" ] && [ -x "$abs_top_builddir/crashpipe-createdump" ]; then
	app=$(bash "$abs_srcdir/dotnet/build.sh" 2>/dev/null | awk '$1 == "dotnet10" && $2 ~ /^\// { print $2 }')
fi
if [ -z "$app" ]; then
	echo "NOTE: no .NET 10 test app or no DAC support built: the .NET entry is not checked"
else
	(
		ulimit -c unlimited
		exec env LD_PRELOAD="$abs_top_builddir/libcrashpipe-preload.so" \
			CRASHPIPE_STUB="$abs_top_builddir/crashpipe-createdump" "$app" main
	) >dotnet.out 2>&1 &
	dpid=$!
	wait $dpid
	wait_for_file dreport "$spool/*-$dpid-*.json.zst" 90 || fail "no report for the .NET crash (pid $dpid)"
	journal_entry dentry.json MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 COREDUMP_PID="$dpid" ||
		fail "no journal entry for the .NET crash (pid $dpid): $(journalctl --no-pager -q -o short _COMM=crashpipe -n 5 2>&1; journalctl --no-pager -q -o short COREDUMP_PID=$dpid 2>&1 | head -3; zstd -dc "$dreport" | head -c 600)"
	# The message as the app's source has it, backslash escaped as show(1) prints it.
	. "$abs_srcdir/dotnet/dotnet-subr.sh"
	msg=$(source_message Main)
	msg=${msg//\\/\\\\}
	check ".NET entry: fields" python3 "$abs_srcdir/check-journal.py" dentry.json \
		CRASHPIPE_RUNTIME=coreclr CRASHPIPE_EXCEPTION_TYPE=System.InvalidOperationException \
		CRASHPIPE_EXCEPTION_MESSAGE="$msg" COREDUMP_SIGNAL=6 CRASHPIPE_REPORT="$dreport" \
		"MESSAGE~died on SIGABRT" "MESSAGE~: unhandled exception System.InvalidOperationException: $msg" \
		"MESSAGE~   at Crasher.Program.MainLevel3" "MESSAGE~Stack trace of thread "
	coredumpctl info --no-pager "$dpid" >dinfo.out 2>&1
	check "coredumpctl info shows the .NET exception" grep -qF "unhandled exception System.InvalidOperationException" dinfo.out
fi
checks_done
