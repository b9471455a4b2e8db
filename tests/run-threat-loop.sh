#!/bin/bash
# run-threat-loop.sh - threat T09 (crash loops) of ../shared/ref/threats.md, through the real
# kernel pipe: one program crashing 1000 times in a row (crashers/loop.c, as under a restart
# policy), with ten other programs crashing in between (copies of it under other names:
# other executables, other signatures), against `handle --rate-limit 5/1h`.
#
# Asserted: the loop gets exactly 5 reports and `list --json` counts its 1000 crashes (5
# reported, 995 counted); every crash of the other programs, before, during and after the
# loop, has its report and its own group; the kernel skipped no crash ("over
# core_pipe_limit" in the kernel log, where it is readable); the state file stays small
# and root's. The loop's wall time is printed (about 5 s here, 2 CPUs).
. "${srcdir:-.}/test-subr.sh"

need_root
need python3
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
"$CRASHPIPE" handle --help 2>&1 | grep -q -e '--rate-limit' ||
	fail "T09: crashpipe handle has no --rate-limit"

LOOPS=1000 LIMIT=5 OTHERS=10

take_core_pattern
SECONDS=0	# the time the test takes, without the wait for the lock
spool=$test_dir/spool
pattern=$(handle_pattern --spool "$spool" --rate-limit "$LIMIT/1h")
if [ ${#pattern} -gt 127 ]; then
	spool=$(mktemp -d /tmp/crashpipe-spool.XXXXXX) || exit 99
	at_exit "rm -rf '$spool'"
	pattern=$(handle_pattern --spool "$spool" --rate-limit "$LIMIT/1h")
fi
mkdir -p "$spool"
chmod 700 "$spool"

build_crasher loop -g -O0
for ((k = 0; k < OTHERS; k++)); do cp loop "other$k"; done

# The kernel log from now on (counting lines of the whole ring buffer before and after goes
# wrong when it wraps): not holding the core_pattern lock (fd 9) if it outlives us.
dmesg -W >kmsg.log 2>&1 9>&- &
kmsg_pid=$!
at_exit "kill $kmsg_pid 2>/dev/null"

set_core_pattern "$pattern" 16
ulimit -c unlimited
# crash PROG: run it, count a death by SIGSEGV (bash's "Segmentation fault" lines go to
# the loop's stderr, /dev/null).
crashed=0
crash() {
	"./$1" >/dev/null 2>&1
	[ $? = 139 ] && crashed=$((crashed + 1))
}
{
	# One crash of each other program before the loop: their reports must survive it.
	for ((k = 0; k < OTHERS; k++)); do crash "other$k"; done
	start=$(date +%s%N)
	for ((i = 1; i <= LOOPS; i++)); do
		crash loop
		# ... and one of each during it, and one after.
		((i % (LOOPS / OTHERS) == 0)) && crash "other$((i / (LOOPS / OTHERS) - 1))"
	done
	end=$(date +%s%N)
	for ((k = 0; k < OTHERS; k++)); do crash "other$k"; done
} 2>/dev/null
[ "$crashed" = $((LOOPS + 3 * OTHERS)) ] || fail "only $crashed of $((LOOPS + 3 * OTHERS)) runs died on SIGSEGV"
echo "T09: $LOOPS crashes of one program (and $((OTHERS)) others interleaved) in $(((end - start) / 1000000)) ms"

# The handlers may still be writing: wait until every crash is accounted for (or 60 s).
total() {
	"$CRASHPIPE" list --json --spool "$spool" 2>/dev/null |
		python3 -c 'import json, sys; print(sum(g["count"] for g in json.load(sys.stdin)))' 2>/dev/null
}
for _ in $(seq 1 120); do
	[ "$(total)" = "$crashed" ] && break
	sleep 0.5
done
"$CRASHPIPE" list --json --spool "$spool" >list.json 2>list.err || fail "list --json failed: $(cat list.err)"
"$CRASHPIPE" list --spool "$spool" >list.txt 2>&1
cat list.txt

n=$(ls "$spool" | grep -c -- '-loop\.json\.zst$')
[ "$n" = "$LIMIT" ] || check_failed "T09: the loop has $n reports, expected $LIMIT"
for ((k = 0; k < OTHERS; k++)); do
	n=$(ls "$spool" | grep -c -- "-other$k\.json\.zst$")
	[ "$n" = 3 ] || check_failed "T09: other$k has $n reports, expected 3 (the loop cost it reports)"
done
python3 - list.json "$LOOPS" "$LIMIT" "$OTHERS" <<'PY' || check_failed "T09: list --json: $(head -c 1500 list.json)"
import json, os, sys
groups = json.load(open(sys.argv[1]))
loops, limit, others = map(int, sys.argv[2:5])
by_exe = {}
for g in groups:
    by_exe.setdefault(os.path.basename(g["exe"] or "-"), []).append(g)
loop = by_exe.get("loop", [])
assert len(loop) == 1, "the loop is in %d groups" % len(loop)
g = loop[0]
assert (g["count"], g["reported"], g["counted"], len(g["reports"])) == (loops, limit, loops - limit, limit), g
assert g["first"] <= g["last"], g
for k in range(others):
    o = by_exe.get("other%d" % k, [])
    assert len(o) == 1 and o[0]["count"] == 3 and o[0]["counted"] == 0, ("other%d" % k, o)
assert len(groups) == others + 1, "%d groups" % len(groups)
PY

sleep 0.5	# the last lines to dmesg -W
skips=$(grep -c 'over core_pipe_limit' kmsg.log)
[ "$skips" = 0 ] || check_failed "T09: the kernel skipped $skips crashes (over core_pipe_limit)"

st=$(stat -c '%U %a %s' "$spool/.crashpipe-ratelimit")
read -r owner mode size <<<"$st"
[ "$owner" = root ] && [ "$mode" = 600 ] || check_failed "T09: the state file is $owner $mode, expected root 600"
[ "$size" -lt 65536 ] || check_failed "T09: the state file is $size bytes"

echo "T09: $SECONDS s after taking the core_pattern lock"
checks_done
