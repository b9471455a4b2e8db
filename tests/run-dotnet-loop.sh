#!/bin/bash
# run-dotnet-loop.sh - a .NET crash loop (issue 10, part 3) through the real kernel pipe: the
# Crasher (tests/dotnet/Crasher) on .NET 10, through the preload hook and the createdump stub,
# against `handle --rate-limit 3/1h`:
#   - LOOPS (1000) crashes of one unhandled exception (scenario main,
#     InvalidOperationException): 3 full reports, `list --json` counts LOOPS (3 reported, the
#     rest counted), and at most 4 x 3 analyses end without a report (ratelimit.h: the .NET
#     coarse key's bound), told by each crash's log line (kernel log): "report written",
#     "counted without a report" (before any analysis) or "... after its analysis";
#   - a native crash of another program in the middle of the loop: its report;
#   - then SAME crashes of scenario threads100: the same exception thrown at the same site
#     (the same signature) after 100 threads were started, so another stack, another
#     pre-analysis key: analysed, found over the limit by its signature, counted after
#     the analysis into the loop's group, no report;
#   - then OTHER crashes of another exception of the same app (scenario generic,
#     FormatException): its own group with its own 3 reports, not merged into the loop's;
#   - every hint file read and removed, counted crashes included.
# The numbers (reports, counted before and after analysis, wall time) are printed: about
# 90 s for the 1000 crashes here (2 CPUs); CRASHPIPE_DOTNET_LOOPS=N for a shorter loop.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

# The sanitizer build's handler is slower: the same loop, shorter (the suite's time).
default_loops=1000
[ -z "${CP_SANITIZERS:-}" ] || default_loops=200
LOOPS=${CRASHPIPE_DOTNET_LOOPS:-$default_loops} LIMIT=3 SAME=2 OTHER=4
DOTNET_KEEP_RATE_LIMIT=1	# run_app: the limit's state is what this test is about

dotnet_need --dac
need dmesg
dmesg >/dev/null 2>&1 || skip "cannot read the kernel log (dmesg): the crashes' log lines are the oracle"
"$CRASHPIPE" handle --help 2>&1 | grep -q -- --rate-limit || fail "crashpipe handle has no --rate-limit"
dotnet_short dl
dotnet_hook
dotnet_build
[ -n "${APP[dotnet10]:-}" ] || skip "the .NET 10 Crasher did not build"
build_crasher loop -g -O0
cp loop other

dotnet_pipe --spool "$spool" --hint-dir "$hints" --rate-limit "$LIMIT/1h"
SECONDS=0
chmod 700 "$spool"
# The kernel log from now on (the ring buffer may wrap in a long loop), not holding the
# core_pattern lock (fd 9) if it outlives us.
dmesg -W >kmsg.log 2>&1 9>&- &
kmsg_pid=$!
at_exit "kill $kmsg_pid 2>/dev/null"

# crash_dn SCENARIO: one crash of the Crasher; its pid appended to SCENARIO.pids.
crash_dn() {
	local pid
	run_app pid dotnet10 "$1" "app-$1.out" "${HOOK[@]}" || true
	echo "$pid" >>"$1.pids"
}
start=$(date +%s%N)
for ((i = 1; i <= LOOPS; i++)); do
	crash_dn main
	if ((i == LOOPS / 2)); then
		run_crasher npid ./other
		echo "$npid" >>native.pids
	fi
done
end=$(date +%s%N)
for ((i = 1; i <= SAME; i++)); do crash_dn threads100; done
for ((i = 1; i <= OTHER; i++)); do crash_dn generic; done
echo "dotnet-loop: $LOOPS crashes of one exception in $(((end - start) / 1000000)) ms, then $SAME of it from another stack, $OTHER of another exception"

# Every crash accounted for (the last handlers may still be writing), or 60 s.
want=$((LOOPS + SAME + OTHER + 1))
total() {
	"$CRASHPIPE" list --json --spool "$spool" 2>/dev/null |
		python3 -c 'import json, sys; print(sum(g["count"] for g in json.load(sys.stdin)))' 2>/dev/null
}
for _ in $(seq 1 120); do
	[ "$(total)" = "$want" ] && break
	sleep 0.5
done
"$CRASHPIPE" list --json --spool "$spool" >list.json 2>list.err || fail "list --json failed: $(cat list.err)"
"$CRASHPIPE" list --spool "$spool" 2>&1 | tee list.txt

# Each crash's own log line, by pid.
sleep 0.5	# the last lines to dmesg -W
for sc in main threads100 generic native; do
	while read -r pid; do
		line=$(grep "crashpipe\[[0-9]*\]: pid $pid[ :]" kmsg.log | grep -E 'report written|counted without' | tail -1)
		case $line in
		*"report written"*) echo "$sc $pid reported" ;;
		*"after its analysis"*) echo "$sc $pid after" ;;
		*"counted without"*) echo "$sc $pid before" ;;
		*) echo "$sc $pid none" ;;
		esac
	done <"$sc.pids"
done >fates.txt
for sc in main threads100 generic native; do
	echo "dotnet-loop: $sc: $(grep -c "^$sc .* reported" fates.txt) reported, $(grep -c "^$sc .* before" fates.txt) counted before analysis, $(grep -c "^$sc .* after" fates.txt) counted after analysis, $(grep -c "^$sc .* none" fates.txt) without a log line"
done

# One report of each group, decompressed, to tell the groups apart by their exception.
python3 "$abs_srcdir/check-dotnet-loop.py" list.json fates.txt "$LOOPS" "$SAME" "$OTHER" "$LIMIT" kmsg.log ||
	check_failed "the crash loop's counts (above)"

left=$(ls -A "$hints")
[ -z "$left" ] || check_failed "hint files left in $hints: $(echo "$left" | wc -l)"
st=$(stat -c '%U %a %s' "$spool/.crashpipe-ratelimit")
read -r owner mode size <<<"$st"
[ "$owner" = root ] && [ "$mode" = 600 ] || check_failed "the state file is $owner $mode, expected root 600"
echo "dotnet-loop: state file $size bytes: $(cut -c18- "$spool/.crashpipe-ratelimit" | tr '\n' '|')"
echo "dotnet-loop: $SECONDS s after taking the core_pattern lock"
checks_done
