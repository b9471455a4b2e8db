#!/bin/bash
# run-threat-huge.sh - threat T08 (huge and endless input) of ../shared/ref/threats.md.
#
# A real kernel core of a process with a 16 GiB mapping of which it wrote one page (the
# kernel pipes 16 GiB, nearly all zeros; a mapping never written to is left out), through core_pattern: the report of that pid within 60 s, the
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
peak=0
# The wrapper's pid is the handler's (it execs crashpipe): another test's handler may run
# meanwhile, so never look for it by name.
hp=
for _ in $(seq 1 50); do
	hp=$(awk 'NR == 1 { print $1 }' "$T/started" 2>/dev/null) && [ -n "$hp" ] && break
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
echo "the handler (pid ${hp:-none}) peaked at $peak KiB"
[ "$peak" -gt 0 ] || check_failed "T08: the handler's memory was never sampled (pid ${hp:-none})"
# Under AddressSanitizer the figure is ASan's: its mmap() clears the shadow of every new
# mapping (an eighth of its size, here of a 16 GiB sparse copy of the segment), so the bound
# is checked in the plain build only.
if [ -n "${CP_SANITIZERS:-}" ]; then
	echo "peak memory not bounded in a sanitizer build ($CP_SANITIZERS): its shadow memory is not the handler's"
elif [ "$peak" -gt $((256 * 1024)) ]; then
	check_failed "T08: the handler peaked at $peak KiB on the 16 GiB core"
fi

checks_done
