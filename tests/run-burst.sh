#!/bin/bash
# run-burst.sh - every crash of a burst gets a report (issue 10, part 1), through the real
# kernel pipe after `crashpipe install` (this test's own spool; core_pattern and
# core_pipe_limit restored on exit by take_core_pattern):
#
# 1. 50 different programs (crashers/burst.c built 50 times with -DVARIANT=N: 50 build-ids)
#    crash at the same moment -> 50 reports, one per pid, each a full analysis (burst_crash
#    named in its crashed thread), none left preliminary.
# 2. 200 crashes at the same moment, a mix: the 50 programs, each crashing four ways
#    (SIGSEGV, SIGABRT, SIGFPE, SIGILL), with 0, 3 or 8 threads -> every crash reported, or
#    counted in the log by a crash-loop limit (a line naming its pid and "count"). Nothing
#    skipped by the kernel: no "over core_pipe_limit" line in the kernel log during the test.
# Handlers run with --max-analyses 2, whatever the CPUs: most crashes of each burst queue.
. "${srcdir:-.}/test-subr.sh"

need_root
need dmesg
need pgrep
need jq
need zstd
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
dmesg >/dev/null 2>&1 || skip "cannot read the kernel log (dmesg)"
[ ! -e /dev/log ] || skip "a syslog daemon listens on /dev/log: the handler's lines do not reach the kernel log"

short=$(mktemp -d /tmp/cpbu.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 755 "$short"	# the analysis runs without root's privileges: it opens the programs
spool=$short/s
mkdir -m 700 "$spool"

for v in $(seq 1 50); do
	${CC:-cc} -g -O1 -DVARIANT="$v" -o "$short/burst-$v" "$abs_srcdir/crashers/burst.c" -lpthread ||
		fail "cannot build crashers/burst.c with -DVARIANT=$v"
done
ids=$(for v in $(seq 1 50); do build_id "$short/burst-$v"; done | sort -u | wc -l)
[ "$ids" = 50 ] || fail "the 50 builds have $ids distinct build-ids"

take_core_pattern
# The kernel log from now on, for the kernel's own "over core_pipe_limit" and the handlers'.
dmesg -W >kmsg.log 2>&1 9>&- &	# not holding the core_pattern lock (fd 9) if it outlives us
kmsg_pid=$!
at_exit "kill $kmsg_pid 2>/dev/null"
"$CRASHPIPE" install --spool "$spool" >install.out 2>install.err || {
	grep -q 'longer than the kernel' install.err && skip "core_pattern too long from here: $(cat install.err)"
	fail "install failed: $(cat install.err)"
}
[ "$(cat /proc/sys/kernel/core_pipe_limit)" -ge 250 ] || fail "install set core_pipe_limit $(cat /proc/sys/kernel/core_pipe_limit)"
# The line install made, with this test's bound on the analyses.
pattern=$(cat /proc/sys/kernel/core_pattern)
set_core_pattern "${pattern/ handle / handle --max-analyses 2 }"
[ "$(cat /proc/sys/kernel/core_pattern)" = "${pattern/ handle / handle --max-analyses 2 }" ] ||
	fail "core_pattern too long with --max-analyses: $(cat /proc/sys/kernel/core_pattern)"

# burst NAME: start every "PROG ARGS" line of NAME.list, all blocked on one FIFO, then let them
# crash together; their pids go to NAME.pids, and the handlers are waited for.
burst() {
	local name=$1 prog args pid n=0 t0 pids=()
	rm -f go && mkfifo go || exit 99
	: >"$name.pids"
	while read -r prog args; do
		# shellcheck disable=SC2086
		( ulimit -c unlimited; exec "$prog" $args <go >/dev/null 2>&1 ) &
		echo "$!" >>"$name.pids"
		pids+=("$!")
		n=$((n + 1))
	done <"$name.list"
	exec 7>go	# every crasher's open() returns ...
	sleep 1		# ... and their threads start
	t0=$(date +%s.%N)
	exec 7>&-	# EOF for all at once
	wait "${pids[@]}"
	# Every handler done (they keep going after the crashers are gone).
	for _ in $(seq 1 1500); do
		pgrep -f "handle --max-analyses 2 --spool $spool " >/dev/null || break
		sleep 0.1
	done
	pgrep -f "handle --max-analyses 2 --spool $spool " >/dev/null &&
		fail "$name: handlers still running after 150 s"
	echo "$name: $n crashes, handlers done after $(echo "$(date +%s.%N) - $t0" | bc) s"
}

# check_reports NAME: every pid of NAME.pids has a full report in the spool, or a line of
# the kernel log that counts it; prints how many of each.
check_reports() {
	local name=$1 pid f reported=0 counted=0
	while read -r pid; do
		f=$(ls "$spool"/*-"$pid"-* 2>/dev/null | head -1)
		if [ -n "$f" ]; then
			zstd -dc "$f" >"$name.$pid.json" || { check_failed "$name: pid $pid: $f does not decompress"; continue; }
			if jq -e '.notes // [] | map(select(test("^preliminary"))) | length > 0' "$name.$pid.json" >/dev/null; then
				check_failed "$name: pid $pid: only the preliminary report"
			elif ! jq -e '[.threads[] | select(.crashed) | .frames[]?.function] | index("burst_crash")' \
				"$name.$pid.json" >/dev/null; then
				check_failed "$name: pid $pid: burst_crash is not in the crashed thread of $f"
			fi
			reported=$((reported + 1))
		elif grep -q "crashpipe\[[0-9]*\]: pid $pid[: ].*count" kmsg.log; then
			counted=$((counted + 1))
		else
			check_failed "$name: pid $pid: no report and not counted"
		fi
	done <"$name.pids"
	echo "$name: $reported reported, $counted counted"
}

# ---- 1: 50 different programs ----
for v in $(seq 1 50); do echo "$short/burst-$v 0 segv"; done >fifty.list
burst fifty
check_reports fifty
[ "$(ls "$spool"/*.json.zst | wc -l)" = 50 ] || check_failed "fifty: $(ls "$spool"/*.json.zst | wc -l) reports in the spool, not 50"
grep -q 'preliminary report written' kmsg.log || check_failed "fifty: no crash was queued (no preliminary report): the bound of 2 analyses did not hold"

# ---- 2: 200, a mix ----
modes=(segv abort fpe ill)
threads=(0 3 8)
i=0
for v in $(seq 1 50); do
	for m in "${modes[@]}"; do
		echo "$short/burst-$v ${threads[$((i % 3))]} $m"
		i=$((i + 1))
	done
done >mix.list
burst mix
check_reports mix

if grep -i 'over core_pipe_limit' kmsg.log; then
	check_failed "the kernel skipped $(grep -ci 'over core_pipe_limit' kmsg.log) crashes (over core_pipe_limit)"
fi
checks_done
