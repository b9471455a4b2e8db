#!/bin/bash
# run-threat-pid.sh - threats T01 (PID reuse) and T14 (identity spoofing) of
# ../shared/ref/threats.md, through the real kernel pipe.
#
# T01: a user crashes their own process, whose core is large; the handler's wrapper
# (tests/threat-wrap.sh) holds `crashpipe handle` before it starts, so the kernel waits on the
# full pipe; the user SIGKILLs the dumping process (allowed: it is theirs), which ends the
# dump and lets the process be reaped at once although core_pipe_limit is 1 (or 0). Then the
# test hands that PID to an impostor (ns_last_pid, as root, the way a patient attacker would
# cycle PIDs): a process of the same user whose comm, argv and exe carry markers. Then the
# handler goes on. Pass: no marker of the impostor in the report (its /proc is not the
# crashed process's), the report is still written, marked "restricted": true (the
# conservative answer when /proc could not be trusted) and mode 0600. Run with %F (the
# kernel's pidfd, Linux 6.16+) and without it, with core_pipe_limit 1 and 0.
#
# T14: a process that calls itself sshd (comm and argv[0]) and writes forged log lines: the
# report's exe is the real executable (/proc/PID/exe, not comm), so is its file name in the
# spool (TIME-PID-threat-victim.json.zst, not ...-sshd...), and no log line of the handler
# carries what the process wrote.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need zstd
need jq
threat_setup
[ -w /proc/sys/kernel/ns_last_pid ] || skip "/proc/sys/kernel/ns_last_pid is not writable (no CONFIG_CHECKPOINT_RESTORE)"
cp "$VICTIM" "$T/bin/IMPOSTOR_EXE"

# reuse_case NAME PIPE_LIMIT [nopidfd]
reuse_case() {
	local name=$1 limit=$2 vpid ipid= report
	rm -f "$T/go" "$T/started" "$T/imp.done"
	threat_conf HOLD="$T/go"
	threat_pattern "$limit" "${3:-}"
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
		bash -c 'ulimit -c unlimited; exec "$0" --touch 64' "$VICTIM" >"$name.victim.out" 2>&1 &
	vpid=$!
	wait_for_file started "$T/started" 20 || { check_failed "T01 $name: the handler did not start"; return; }
	grep -q " $vpid " "$T/started" || { check_failed "T01 $name: the handler started for another pid: $(cat "$T/started")"; return; }
	# The user kills their own dumping process: the dump ends, the process is reaped.
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups kill -KILL "$vpid"
	wait "$vpid" 2>/dev/null
	[ ! -e "/proc/$vpid" ] || { check_failed "T01 $name: pid $vpid still exists after SIGKILL"; return; }
	# Hand the PID to an impostor of the same user.
	for _ in $(seq 1 50); do
		(
			echo $((vpid - 1)) >/proc/sys/kernel/ns_last_pid
			setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$T/bin/IMPOSTOR_EXE" \
				--comm IMPOSTOR_COMM --hold "$T/imp.done" IMPOSTOR_ARGV >"$T/imp.out" 2>&1 &
			echo $! >"$T/imp.pid"
		)
		ipid=$(cat "$T/imp.pid")
		[ "$ipid" = "$vpid" ] && break
		kill -KILL "$ipid" 2>/dev/null
		ipid=
	done
	if [ -z "$ipid" ]; then
		touch "$T/go"
		check_failed "T01 $name: could not give pid $vpid to the impostor in 50 tries"
		return
	fi
	at_exit "kill -KILL $ipid 2>/dev/null"
	for _ in $(seq 1 100); do grep -q held "$T/imp.out" && break; sleep 0.05; done
	grep -q IMPOSTOR_COMM "/proc/$vpid/comm" || check_failed "T01 $name: the impostor has not set its comm"
	touch "$T/go"
	if report_of report "$vpid" "$T/spool" 30; then
		cp "$vpid.json" "$name.json"
		grep -q IMPOSTOR "$name.json" &&
			check_failed "T01 $name: the impostor's markers are in the report: $(grep IMPOSTOR "$name.json" | head -3)"
		jq -e '.process.restricted == true' "$name.json" >/dev/null ||
			check_failed "T01 $name: the report is not marked \"restricted\": true"
		[ "$(stat -c '%a %u' "$report")" = "600 0" ] ||
			check_failed "T01 $name: the report is mode/uid $(stat -c '%a %u' "$report"), not 600 0"
	else
		check_failed "T01 $name: no report for pid $vpid: $(ls -A "$T/spool")"
	fi
	touch "$T/imp.done"
	wait_handlers
	kill -KILL "$ipid" 2>/dev/null
	rm -f "$T/spool"/*
}

if has_pidfd; then
	reuse_case with-pidfd 1
else
	echo "this kernel has no %F (before 6.16): only the runs without it"
fi
reuse_case no-pidfd 1 nopidfd
reuse_case no-pidfd-limit0 0 nopidfd

# --- T14 ---------------------------------------------------------------------------------
threat_conf
threat_pattern 1
since=$(date +%s)
# shellcheck disable=SC2016
run_crasher pid setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups bash -c \
	'exec -a sshd "$0" --comm "sshd" --thread-name "sshd\nMar  1 sshd[1]: x" --log-line "\nMar  1 00:00:00 host sshd[1]: Accepted password for root from 10.0.0.1\n"' \
	"$VICTIM"
if report_of report "$pid"; then
	jq -e --arg exe "$VICTIM" '.process.exe == $exe' "$pid.json" >/dev/null ||
		check_failed "T14: the report's exe is $(jq -c .process.exe "$pid.json"), not the real $VICTIM"
	# the spool listing names the executable, not the comm the process chose
	case ${report##*/} in
	*-"$pid"-"${VICTIM##*/}".json.zst) ;;
	*) check_failed "T14: the report's file name is ${report##*/}, not named after ${VICTIM##*/}" ;;
	esac
	jq -e '.process.comm == "sshd" and (.process.cmdline | startswith("sshd "))' "$pid.json" >/dev/null ||
		check_failed "T14: comm and cmdline are not what the process set: $(jq -c '.process | {comm, cmdline}' "$pid.json")"
else
	check_failed "T14: no report for pid $pid"
fi
wait_handlers
# The handler's own log lines (the kernel log here): nothing the process wrote or named.
dmesg --since "@$since" 2>/dev/null >kmsg.out || dmesg >kmsg.out
grep -q 'Accepted password' kmsg.out && check_failed "T14: a forged line reached the kernel log: $(grep 'Accepted password' kmsg.out)"
grep "crashpipe\[" kmsg.out | grep -F "pid $pid" | grep -q . ||
	check_failed "T14: no log line of the handler names pid $pid"

checks_done
