#!/bin/bash
# run-threat-priv.sh - threat T02 (../shared/ref/threats.md): dumps of privileged processes.
#
# With fs.suid_dumpable = 2 the kernel pipes the cores of processes it would otherwise not
# dump (restored on exit, under the core_pattern lock). Crashes, as user nobody, of
# (a) a set-user-ID-root copy of the victim, (c) a copy with the file capability
# cap_net_raw+ep, and, as root, (b) the victim dropping to nobody with setresuid first.
# Pass: each report is mode 0600, root:root, unreadable by nobody, and says
# "restricted": true; a plain crash of nobody's says "restricted": false (so the field
# tells them apart).
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need zstd
need jq
need setcap
threat_setup
saved_dumpable=$(cat /proc/sys/fs/suid_dumpable)
at_exit "echo $saved_dumpable >/proc/sys/fs/suid_dumpable"
echo 2 >/proc/sys/fs/suid_dumpable || skip "cannot set fs.suid_dumpable"

cp "$VICTIM" "$T/bin/suid-victim"
chown root:root "$T/bin/suid-victim"
chmod 4755 "$T/bin/suid-victim"
cp "$VICTIM" "$T/bin/cap-victim"
setcap cap_net_raw+ep "$T/bin/cap-victim" || skip "setcap cap_net_raw+ep does not work on $T"
threat_pattern 1

# priv_case NAME RESTRICTED UID CMD...: crash CMD as UID; check its report.
priv_case() {
	local name=$1 want=$2 uid=$3 pid report
	shift 3
	if [ "$uid" = 0 ]; then
		run_crasher pid "$@"
	else
		run_crasher pid setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
	fi
	if ! report_of report "$pid"; then
		check_failed "T02 $name: no report for pid $pid: $(ls -A "$T/spool")"
		return
	fi
	cp "$pid.json" "$name.json"
	[ "$(stat -c '%a %u %g' "$report")" = "600 0 0" ] ||
		check_failed "T02 $name: the report is mode/uid/gid $(stat -c '%a %u %g' "$report"), not 600 0 0"
	if setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups cat "$report" >/dev/null 2>&1; then
		check_failed "T02 $name: user nobody can read the report $report"
	fi
	jq -e --argjson want "$want" '.process.restricted == $want' "$name.json" >/dev/null ||
		check_failed "T02 $name: \"restricted\" is $(jq -c .process.restricted "$name.json"), not $want"
	jq -e --argjson pid "$pid" '.process.pid == $pid' "$name.json" >/dev/null ||
		check_failed "T02 $name: the report is not of pid $pid"
}

priv_case plain false $NOBODY "$VICTIM"
priv_case setuid-root true $NOBODY "$T/bin/suid-victim"
priv_case setresuid-drop true 0 "$VICTIM" --resuid $NOBODY
priv_case cap-net-raw true $NOBODY "$T/bin/cap-victim"

checks_done
