#!/bin/bash
# run-threat-huge.sh - threat T08 (huge and endless input) of ../shared/ref/threats.md.
#
# (1) `crashpipe handle` with an endless standard input (/dev/zero through a pipe, as the
#     kernel's pipe would be): it must write its report (a note says what was wrong) and
#     exit within 30 s, its peak memory (VmHWM) under 256 MiB. A writer that never stops is
#     what a process with a huge sparse mapping looks like to the handler.
# (2) A real kernel core of a process with a 16 GiB mapping it never touched (the kernel
#     pipes 16 GiB of zeros), through core_pattern: the report of that pid within 60 s,
#     the handler's peak memory under 256 MiB, the crashed thread's frames still there.
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

# --- (1) endless stdin ---------------------------------------------------------------------
mkdir -m 700 spool
now=$(date +%s)
# pid 4194303 (the largest there can be): no such process, nothing read from /proc
cat /dev/zero | timeout -k 5 30 "$CRASHPIPE" handle --spool "$test_dir/spool" --debug-cache "$test_dir/dc" \
	4194303 4194303 0 0 11 "$now" -1 endless &
hpid=$!
sleep 0.5
hp=$(pgrep -n -f "$CRASHPIPE handle --spool $test_dir/spool") || true
peak=0
[ -n "$hp" ] && peak=$(peak_rss "$hp")
wait "$hpid"
rc=$?
[ "$rc" != 124 ] && [ "$rc" != 137 ] || check_failed "T08: crashpipe handle read an endless stdin for 30 s without stopping (timeout)"
[ "$peak" -le $((256 * 1024)) ] || check_failed "T08: crashpipe handle peaked at $peak KiB on an endless stdin"
ls spool/*-4194303-*.json.zst >/dev/null 2>&1 || check_failed "T08: no report for the endless stdin"

# --- (2) a 16 GiB sparse core through the kernel -------------------------------------------
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
