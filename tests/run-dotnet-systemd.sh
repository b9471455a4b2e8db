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
cspool=$short/chain
mkdir -p "$cspool"
"$CRASHPIPE" install --chain --spool "$cspool" >install-chain.out 2>&1 || fail "install --chain: $(cat install-chain.out)"
case $(cat /proc/sys/kernel/core_pattern) in
*" handle "*" --chain %d") ;;
*) fail "install --chain set '$(cat /proc/sys/kernel/core_pattern)'" ;;
esac
if crash chain "${HOOK[@]}"; then
	report_of chain "$cspool" && report_facts chain
	if systemd_coredump_wait_stored stored "$pid" 90 &&
		journal_entry chain-sdc.json MESSAGE_ID=$COREDUMP_ID COREDUMP_PID="$pid"; then
		if journal_entry chain-entry.json MESSAGE_ID=$BACKTRACE_ID COREDUMP_PID="$pid"; then
			[ -z "${report:-}" ] || entry_facts chain chain-entry.json
			check "chain: both entries tied by pid and boot id" python3 -c '
import json, sys
a, b = (json.loads(open(p).read()) for p in sys.argv[1:3])
assert a["COREDUMP_PID"] == b["COREDUMP_PID"] == sys.argv[3], (a["COREDUMP_PID"], b["COREDUMP_PID"])
assert a["_BOOT_ID"] == b["_BOOT_ID"], (a["_BOOT_ID"], b["_BOOT_ID"])
assert b.get("CRASHPIPE_BOOT_ID", a["_BOOT_ID"]).replace("-", "") == a["_BOOT_ID"], b.get("CRASHPIPE_BOOT_ID")
' chain-sdc.json chain-entry.json "$pid"
		else
			check_failed "chain: no crashpipe journal entry of pid $pid"
		fi
		info_facts chain
		# both entries: systemd-coredump's (Storage, its core present) and crashpipe's
		check "chain: coredumpctl info shows systemd-coredump's entry with its core" grep -q 'Storage:.*(present)' chain.info
		check "chain: coredumpctl info shows crashpipe's entry" grep -qF "Report: $report" chain.info
		check "chain: coredumpctl info shows two entries of pid $pid" \
			test "$(grep -c "^ *PID: $pid " chain.info)" = 2
		if coredumpctl dump --no-pager -o chain.core "$pid" >chain-dump.out 2>&1; then
			if "$CRASHPIPE" analyze -o chain-dumped.json chain.core 2>chain-analyze.err; then
				check "chain: the dumped core's managed frames are the report's" python3 "$FRAMES" same chain.json chain-dumped.json --name "chain dump"
				frames chain "coredumpctl dump + analyze" report chain-dumped.json
			else
				check_failed "chain: analyze of the dumped core: $(tail -2 chain-analyze.err)"
			fi
			rm -f chain.core
		else
			check_failed "chain: coredumpctl dump $pid: $(tail -3 chain-dump.out)"
		fi
	else
		check_failed "chain: systemd-coredump stored no core of pid $pid: $(tail -5 "$test_dir/socket-activate.log")"
	fi
fi
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
