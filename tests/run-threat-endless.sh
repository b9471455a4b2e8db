#!/bin/bash
# run-threat-endless.sh - threat T08 (huge and endless input) of ../shared/ref/threats.md:
# `crashpipe handle` with an endless standard input (/dev/zero through a pipe, as the
# kernel's pipe would be) must write its report (a note says what was wrong) and exit
# within 30 s, its peak memory (VmHWM) under 256 MiB; the same for a real core followed by
# endless zeros (its report keeps its stacks, a log line says the drain was cut). A writer that never stops is what a
# process with terabytes of untouched memory looks like to the handler; while it drains, the
# kernel (core_pipe_limit) may skip every other crash on the machine.
#
# Fixed in src/handle.c (drain_input): input that is not a core is not drained, a core only
# as far as its headers and RLIMIT_CORE say, for at most 20 s (cp_input_drain_max, zio.h)
# (on 080e690 the handler read /dev/zero until the timeout).
. "${srcdir:-.}/test-subr.sh"

need_root
need jq
need zstd
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

# A real core followed by zeros that never end: the handler reads the core, drains no
# further than its program headers say (plus 1 MiB), logs that it cut the drain, and
# writes the report with its stacks.
build_crasher threat-victim -g -O1
make_core core ./threat-victim
cut_lines() { dmesg | grep -c "pid 4194302: .*stopped draining"; }
cut_before=$(cut_lines)
start=$SECONDS
cat "$core" /dev/zero | timeout -k 5 30 "$CRASHPIPE" handle --spool "$test_dir/spool" --debug-cache "$test_dir/dc" \
	4194302 4194302 0 0 11 "$now" -1 endless
rc=${PIPESTATUS[1]}
[ "$rc" != 124 ] && [ "$rc" != 137 ] ||
	check_failed "T08: crashpipe handle drained a core followed by endless zeros for 30 s (timeout)"
[ $((SECONDS - start)) -le 25 ] || check_failed "T08: the core with endless zeros took $((SECONDS - start)) s"
f=$(ls spool/*-4194302-*.json.zst 2>/dev/null | head -1)
if [ -n "$f" ]; then
	zstd -q -dc "$f" >endless-core.json || check_failed "T08: $f is not zstd"
	jq -e '.threads[0].frames | length > 1' endless-core.json >/dev/null ||
		check_failed "T08: the report of the core with endless zeros has no stack: $(head -c 300 endless-core.json)"
else
	check_failed "T08: no report for the core followed by endless zeros"
fi
for _ in $(seq 1 20); do
	[ "$(cut_lines)" -gt "$cut_before" ] && break
	sleep 0.1
done
[ "$(cut_lines)" -gt "$cut_before" ] ||
	check_failed "T08: no log line says the drain of pid 4194302 was cut"

checks_done
