#!/bin/bash
# run-threat-huge.sh - threat T08 (huge and endless input) of ../shared/ref/threats.md.
#
# A real kernel core of a process with a 16 GiB mapping it never touched (the kernel
# pipes 16 GiB of zeros), through core_pattern: the report of that pid within 60 s, the
# handler's peak memory under 256 MiB, the crashed thread's frames still there. (An endless
# input: run-threat-endless.sh.)
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need zstd
need jq
need_root
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

# peak_rss PID: VmHWM of PID in KiB, sampled until it exits; prints the highest seen.
peak_rss() {
	local pid=$1 max=0 v
	while [ -e "/proc/$pid/status" ]; do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
		sleep 0.2
	done
	echo "$max"
}

threat_setup
threat_pattern 1
t0=$SECONDS
(
	ulimit -c unlimited
	exec "$VICTIM" --sparse 16384
) >sparse.out 2>&1 &
vpid=$!
sleep 1
peak=0
for _ in $(seq 1 50); do
	hp=$(pgrep -n -f "$CRASHPIPE handle") && break
	sleep 0.1
done
[ -n "$hp" ] && peak=$(peak_rss "$hp")
wait "$vpid"
if report_of report "$vpid" "$T/spool" 60; then
	[ $((SECONDS - t0)) -le 60 ] || check_failed "T08: the 16 GiB core took $((SECONDS - t0)) s"
	jq -e '.threads[0].frames | length > 1' "$vpid.json" >/dev/null ||
		check_failed "T08: the crashed thread of the 16 GiB core has no frames beyond frame 0: $(jq -c .notes "$vpid.json")"
else
	check_failed "T08: no report of the 16 GiB core (pid $vpid) within 60 s"
fi
[ "$peak" -le $((256 * 1024)) ] || check_failed "T08: the handler peaked at $peak KiB on the 16 GiB core"

checks_done
