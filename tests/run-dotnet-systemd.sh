#!/bin/bash
# run-dotnet-systemd.sh - a .NET crash in each of the three systemd ways (issue 11), with
# Debian's systemd-coredump run by hand (tests/systemd-subr.sh) and tests/dotnet's Crasher on
# .NET 10, scenario main (an InvalidOperationException thrown from MainLevel3, three calls
# deep, unhandled: SIGABRT), through the real kernel pipe. The oracle is the runtime's own
# stderr: its "at Type.Method(Params)" lines (tests/check-runtime-frames.py, "frames MODE
# WHERE: M/N" lines), and the exception type and message the app printed (= its source).
#  1. follow: systemd-coredump is the handler and stores the core (.zst); `crashpipe follow
#     --once` analyses it (the DAC from the runtime's root-owned directory): the report has
#     the runtime's frames and the exception, and its journal entry shows them in
#     `coredumpctl info`;
#  2. chain (`crashpipe install --chain`, with the preload hook and createdump stub): the
#     report in the spool has the frames and the exception; `coredumpctl info PID` shows
#     systemd-coredump's entry (its core present) and crashpipe's (the exception and the
#     frames), the two with the same pid and boot id; `coredumpctl dump PID` returns the core
#     and `crashpipe analyze` of it has the same crashed-thread managed frames as the report;
#     once more with crashpipe's analysis queued (--max-analyses 1, the one slot held by the
#     test until systemd-coredump's entry is in), so crashpipe's entry is the newer of the
#     two: it names the stored core (COREDUMP_FILENAME) and `coredumpctl dump` still works;
#  3. standalone (`crashpipe install`, journald running): the entry has
#     CRASHPIPE_EXCEPTION_TYPE, CRASHPIPE_SIGNATURE (the report's xattr), CRASHPIPE_REPORT,
#     and `coredumpctl info` shows the exception and the frames.
# core_pattern, core_pipe_limit and fs.suid_dumpable are restored and journald and
# systemd-socket-activate stopped on exit (systemd-subr.sh, take_core_pattern).
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/systemd-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need --dac
need coredumpctl
need journalctl
why=$(systemd_coredump_unusable) && skip "$why"
dotnet_hook	# hints: the default directory, made by crashpipe install
dotnet_build
[ -n "${APP[dotnet10]:-}" ] || skip "the .NET 10 test app did not build: $(head -3 build.err)"
FRAMES="$abs_srcdir/check-runtime-frames.py"
BACKTRACE_ID=1f4e0a44a88649939aaea34fc6da8c95
CP_GATE_DIR=/run/crashpipe/gate	# src/gate.h
COREDUMP_ID=fc2e22bc6ee647b6b90729ab34a250b1

systemd_coredump_start
sdc_pattern=$(cat /proc/sys/kernel/core_pattern)
short=$(mktemp -d /tmp/cpds.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 700 "$short"
at_exit '"$CRASHPIPE" uninstall --spool "$short/chain" >/dev/null 2>&1; "$CRASHPIPE" uninstall --spool "$short/alone" >/dev/null 2>&1'
type=System.InvalidOperationException
msg=$(source_message Main)
msg_show=${msg//\\/\\\\}	# as the journal field has it (cp_termsafe escapes backslashes)
summary=()

# crash MODE [VAR=VALUE...]: the Crasher's main scenario on .NET 10; pid = its pid, its
# output in MODE.out, checked against the source.
crash() {
	local mode=$1
	shift
	run_app pid dotnet10 main "$mode.out" "$@" || return 1
	check_app_output "$mode" main "$mode.out"
	grep -q '^   at Crasher.Program.MainLevel3(' "$mode.out" || check_failed "$mode: the runtime printed no frame of MainLevel3: $(tail -5 "$mode.out")"
}

# report_of MODE SPOOL: wait for the report of $pid in SPOOL, decompressed into MODE.json;
# report = its path.
report_of() {
	wait_for_file report "$2/*-$pid-*.json.zst" 90 || { check_failed "$1: no report of pid $pid in $2: $(ls -A "$2")"; return 1; }
	for _ in $(seq 1 50); do zstd -qdc "$report" >"$1.json" 2>/dev/null && break; sleep 0.1; done
	[ -s "$1.json" ] || { check_failed "$1: $report does not decompress"; return 1; }
}

# frames MODE WHERE text|report FILE: the runtime's frames in FILE, in order.
frames() {
	local out
	out=$(python3 "$FRAMES" "$3" "$1.out" "$4" --name "$1 $2")
	local rc=$?
	[ "$rc" = 0 ] || echo "$out"
	summary+=("$(echo "$out" | head -1)")
	[ "$rc" = 0 ] || check_failed "$1 $2: the runtime's frames, in order: $(echo "$out" | head -4 | tr '\n' ' ')"
}

# report_facts MODE: the report's exception is the one the app threw, on the crashed thread.
report_facts() {
	python3 "$ORACLE" check-crashpipe "$1.json" --signal 6 --type "$type" --message "$msg" \
		--runtime-version "$(app_runtime_version "$1.out")" --tid "$(app_fact "$1.out" "crash tid")" \
		--frames "$(app_fact "$1.out" "expect frames")" >"$1.facts" ||
		check_failed "$1: report facts: $(tr '\n' ' ' <"$1.facts")"
	frames "$1" report report "$1.json"
}

# entry_facts MODE ENTRY.json: crashpipe's journal entry of the crash.
entry_facts() {
	python3 "$abs_srcdir/check-journal.py" "$2" COREDUMP_PID="$pid" COREDUMP_SIGNAL=6 \
		CRASHPIPE_RUNTIME=coreclr CRASHPIPE_EXCEPTION_TYPE="$type" CRASHPIPE_EXCEPTION_MESSAGE="$msg_show" \
		CRASHPIPE_REPORT="$report" CRASHPIPE_SIGNATURE \
		"MESSAGE~: unhandled exception $type: $msg_show" "MESSAGE~   at Crasher.Program.MainLevel3(" >"$1.entry-check" ||
		check_failed "$1: crashpipe's journal entry: $(tr '\n' ' ' <"$1.entry-check")"
	frames "$1" "journal MESSAGE" text "$2"
}

# info_facts MODE: coredumpctl info PID shows crashpipe's exception and frames.
info_facts() {
	coredumpctl info --no-pager "$pid" >"$1.info" 2>&1 || check_failed "$1: coredumpctl info $pid: $(tail -3 "$1.info")"
	grep -qF "unhandled exception $type: $msg_show" "$1.info" ||
		check_failed "$1: coredumpctl info shows no exception: $(head -20 "$1.info")"
	frames "$1" "coredumpctl info" text "$1.info"
}

# 1. follow: systemd-coredump stores the core, crashpipe follow --once analyses it. The app
# runs as it would on such a machine: no preload hook, no createdump.
# follow starts after the last coredump entry already in the journal (a journald of the
# machine's may have many): its cursor, as follow itself would have saved it.
fspool=$short/follow
mkdir -p "$fspool"
last=$(journalctl --no-pager -q --all -o json MESSAGE_ID=$COREDUMP_ID -n 1 2>/dev/null |
	python3 -c 'import json, sys; l = sys.stdin.read().strip(); print(json.loads(l)["__CURSOR"] if l else "")')
[ -z "$last" ] || { printf '%s\n' "$last" >"$fspool/follow.cursor" && chmod 600 "$fspool/follow.cursor"; } || exit 99
if crash follow; then
	if systemd_coredump_wait_stored stored "$pid" 90 &&
		journal_entry follow-sdc.json MESSAGE_ID=$COREDUMP_ID COREDUMP_PID="$pid"; then
		"$CRASHPIPE" follow --once --spool "$fspool" >follow-once.out 2>&1 ||
			check_failed "follow --once: $(tail -5 follow-once.out)"
		check "follow --once wrote only the report of pid $pid: $(ls "$fspool" | grep -v "^follow.cursor$" | tr '\n' ' ')" \
			test "$(ls "$fspool" | grep '\.json\.zst$' | grep -vc -- "-$pid-")" = 0
		if report_of follow "$fspool"; then
			check "follow: the report is of the stored core" python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["process"]
assert p["core_writer"] == "systemd-coredump" and p["pid"] == int(sys.argv[2]), p
' follow.json "$pid"
			report_facts follow
			if journal_entry follow-entry.json MESSAGE_ID=$BACKTRACE_ID COREDUMP_PID="$pid"; then
				entry_facts follow follow-entry.json
				check "follow: the entry names the stored core" python3 "$abs_srcdir/check-journal.py" \
					follow-entry.json COREDUMP_FILENAME="$stored"
			else
				check_failed "follow: no crashpipe journal entry of pid $pid"
			fi
			info_facts follow
		fi
	else
		check_failed "follow: systemd-coredump stored no core of pid $pid: $(tail -5 "$test_dir/socket-activate.log")"
	fi
fi

# 2. chain: crashpipe is the handler and hands the core on to systemd-coredump.
# chain_crash MODE [queued]: a crash and every check of it in chain mode. queued: the
# analysis waited for a slot (the test's $holder, let go once systemd-coredump's entry is
# in), so crashpipe kept no .NET heap (handle.c, take_slot_or_queue(): the report says so
# and has no managed frames); the stored core is whole, and its analysis has them.
chain_crash() {
	local m=$1 queued=${2:-} order
	crash "$m" "${HOOK[@]}" || return 0
	report=
	if ! systemd_coredump_wait_stored stored "$pid" 90 ||
		! journal_entry "$m-sdc.json" MESSAGE_ID=$COREDUMP_ID COREDUMP_PID="$pid"; then
		check_failed "$m: systemd-coredump stored no core of pid $pid: $(tail -5 "$test_dir/socket-activate.log")"
		return 0
	fi
	[ -z "$holder" ] || { kill "$holder"; wait "$holder" 2>/dev/null; holder=; }
	if ! journal_entry "$m-entry.json" MESSAGE_ID=$BACKTRACE_ID COREDUMP_PID="$pid"; then
		check_failed "$m: no crashpipe journal entry of pid $pid"
		return 0
	fi
	if [ -z "$queued" ]; then
		report_of "$m" "$cspool" && report_facts "$m"
		[ -z "$report" ] || entry_facts "$m" "$m-entry.json"
	elif report_of "$m" "$cspool"; then
		check "$m: the report is the full one, saying the heap was not kept" \
			grep -qF 'the .NET heap was not kept while this crash waited its turn' "$m.json"
		check "$m: crashpipe's entry" python3 "$abs_srcdir/check-journal.py" "$m-entry.json" \
			COREDUMP_PID="$pid" CRASHPIPE_REPORT="$report" CRASHPIPE_RUNTIME=coreclr
	fi
	check "$m: both entries tied by pid and boot id" python3 -c '
import json, sys
a, b = (json.loads(open(p).read()) for p in sys.argv[1:3])
assert a["COREDUMP_PID"] == b["COREDUMP_PID"] == sys.argv[3], (a["COREDUMP_PID"], b["COREDUMP_PID"])
assert a["_BOOT_ID"] == b["_BOOT_ID"], (a["_BOOT_ID"], b["_BOOT_ID"])
assert b["CRASHPIPE_BOOT_ID"].replace("-", "") == a["_BOOT_ID"], b["CRASHPIPE_BOOT_ID"]
' "$m-sdc.json" "$m-entry.json" "$pid"
	# `coredumpctl dump PID` reads the newer entry of the pid: crashpipe's, when it is the
	# newer one, names systemd-coredump's core
	order=$(python3 -c '
import json, sys
a, b = (int(json.loads(open(p).read())["__REALTIME_TIMESTAMP"]) for p in sys.argv[1:3])
print("newer" if b > a else "older")' "$m-sdc.json" "$m-entry.json")
	echo "$m: crashpipe's entry is $order than systemd-coredump's"
	summary+=("$m: crashpipe's entry $order than systemd-coredump's")
	[ "$order" = older ] || check "$m: crashpipe's entry (the newer) names the stored core" \
		python3 "$abs_srcdir/check-journal.py" "$m-entry.json" COREDUMP_FILENAME="$stored"
	if [ -z "$queued" ]; then
		info_facts "$m"
	else
		coredumpctl info --no-pager "$pid" >"$m.info" 2>&1 || check_failed "$m: coredumpctl info $pid: $(tail -3 "$m.info")"
	fi
	# both entries: systemd-coredump's (Storage, its core present) and crashpipe's
	check "$m: coredumpctl info shows systemd-coredump's entry with its core" grep -q "Storage: $stored (present)" "$m.info"
	check "$m: coredumpctl info shows crashpipe's entry" grep -qF "Report: $report" "$m.info"
	check "$m: coredumpctl info shows two entries of pid $pid" test "$(grep -c "^ *PID: $pid " "$m.info")" = 2
	if ! coredumpctl dump --no-pager -o "$m.core" "$pid" >"$m-dump.out" 2>&1; then
		check_failed "$m: coredumpctl dump $pid: $(tail -3 "$m-dump.out")"
		return 0
	fi
	if "$CRASHPIPE" analyze -o "$m-dumped.json" "$m.core" 2>"$m-analyze.err"; then
		[ -n "$queued" ] || check "$m: the dumped core's managed frames are the report's" \
			python3 "$FRAMES" same "$m.json" "$m-dumped.json" --name "$m dump"
		frames "$m" "coredumpctl dump + analyze" report "$m-dumped.json"
	else
		check_failed "$m: analyze of the dumped core: $(tail -2 "$m-analyze.err")"
	fi
	rm -f "$m.core"
}
cspool=$short/chain
mkdir -p "$cspool"
"$CRASHPIPE" install --chain --spool "$cspool" >install-chain.out 2>&1 || fail "install --chain: $(cat install-chain.out)"
chain_pattern=$(cat /proc/sys/kernel/core_pattern)
case $chain_pattern in
*" handle "*" --chain %d") ;;
*) fail "install --chain set '$chain_pattern'" ;;
esac
# crashpipe's entry the newer: its analysis waits for a slot (--max-analyses 1, the one
# slot held by the test) until systemd-coredump has stored the core and logged its entry
holder=
chain_crash chain
queued=${chain_pattern/ handle / handle --max-analyses 1 }
# The kernel keeps 127 bytes: a deep build directory (CI's ASan build) goes through a short link.
[ ${#queued} -le 127 ] || queued="|$(short_exe) handle --max-analyses 1 ${chain_pattern#* handle }"
set_core_pattern "$queued"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$queued" ] || fail "core_pattern did not take '$queued' (${#queued} bytes)"
if [ -f "$CP_GATE_DIR/slot.0" ]; then
	( exec 8>>"$CP_GATE_DIR/slot.0" && flock 8 && exec sleep 300 ) &	# the sleep holds the lock
	holder=$!
	at_exit '[ -z "$holder" ] || kill "$holder" 2>/dev/null'
	sleep 0.2
	chain_crash chain-queued queued
else
	check_failed "no analysis slot $CP_GATE_DIR/slot.0 after the first crash"
fi
set_core_pattern "$chain_pattern"
"$CRASHPIPE" uninstall --spool "$cspool" >uninstall-chain.out 2>&1 || check_failed "uninstall (chain): $(cat uninstall-chain.out)"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$sdc_pattern" ] || check_failed "uninstall left '$(cat /proc/sys/kernel/core_pattern)'"

# 3. standalone: crashpipe install, the journal its output.
aspool=$short/alone
mkdir -p "$aspool"
"$CRASHPIPE" install --spool "$aspool" >install-alone.out 2>&1 || fail "install: $(cat install-alone.out)"
if crash alone "${HOOK[@]}" && report_of alone "$aspool"; then
	report_facts alone
	if journal_entry alone-entry.json MESSAGE_ID=$BACKTRACE_ID COREDUMP_PID="$pid"; then
		entry_facts alone alone-entry.json
		sig=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.crashpipe.signature").decode())' "$report") &&
			check "alone: CRASHPIPE_SIGNATURE is the report's" python3 "$abs_srcdir/check-journal.py" alone-entry.json CRASHPIPE_SIGNATURE="$sig"
	else
		check_failed "alone: no crashpipe journal entry of pid $pid"
	fi
	info_facts alone
fi
"$CRASHPIPE" uninstall --spool "$aspool" >uninstall-alone.out 2>&1 || check_failed "uninstall: $(cat uninstall-alone.out)"

echo "== the runtime's frames found in order (found/printed by the runtime)"
printf '%s\n' "${summary[@]}"
checks_done
