#!/bin/bash
# run-list.sh - the coredumpctl-like CLI over a spool of real reports (issue 11 part 5,
# issue 10 part 2): `list` grouped by crash signature, its --json shape, --since, --exe,
# --signature; `info` and `show` by pid and by signature; the signature's stability.
#
# Through the real kernel pipe: crashers/loop.c crashing twice at one site (two pids, ASLR
# on: one signature), twice at another (`loop b`: another signature), then, after a mark
# in time, a copy of it under another name once (another executable: another signature).
# Then the spool is made hostile (a symlink, a FIFO, a 10 GB sparse file, a corrupt report,
# a report with a bad signature xattr, a corrupt state file, a state file that is a FIFO):
# list goes on with one line per bad entry, and handle still writes reports.
# (run-show-hostile.sh runs list against a spool of hostile report contents.)
. "${srcdir:-.}/test-subr.sh"

need_root
need python3
need timeout
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

take_core_pattern
SECONDS=0	# the time the test takes, without the wait for the lock
spool=$test_dir/spool
pattern=$(handle_pattern --spool "$spool")
if [ ${#pattern} -gt 127 ]; then
	spool=$(mktemp -d /tmp/crashpipe-spool.XXXXXX) || exit 99
	at_exit "rm -rf '$spool'"
	pattern=$(handle_pattern --spool "$spool")
fi
mkdir -p "$spool"
chmod 700 "$spool"

build_crasher loop -g -O0
cp loop other
set_core_pattern "$pattern" 16

# crash_report VAR PROG [ARGS]: crash PROG through the pipe, wait for its report; VAR gets
# "PID PATH".
crash_report() {
	local __v=$1 pid f
	shift
	run_crasher pid "$@"
	wait_for_file f "$spool/*-$pid-*.json.zst" 30 || fail "no report for $* (pid $pid)"
	printf -v "$__v" '%s %s' "$pid" "$f"
}
crash_report a1 ./loop
crash_report a2 ./loop
crash_report b1 ./loop b
crash_report b2 ./loop b
sleep 1.1
mark=$(date +%s)
sleep 1.1
crash_report o1 ./other
read -r pid_a1 path_a1 <<<"$a1"
read -r pid_b2 path_b2 <<<"$b2"
read -r pid_o1 path_o1 <<<"$o1"

# ---- list --json: three groups, their shape, newest first ----
"$CRASHPIPE" list --json --spool "$spool" >all.json 2>all.err || fail "list --json failed: $(cat all.err)"
[ -s all.err ] && check_failed "list --json wrote to stderr: $(cat all.err)"
python3 - all.json "$spool" "$a1" "$a2" "$b1" "$b2" "$o1" <<'PY' >sigs.txt || check_failed "list --json: $(head -c 2000 all.json)"
import json, os, sys
groups = json.load(open(sys.argv[1]))
spool = sys.argv[2]
a1, a2, b1, b2, o1 = (s.split(" ", 1) for s in sys.argv[3:8])
assert len(groups) == 3, "%d groups" % len(groups)
keys = {"signature", "exe", "count", "reported", "counted", "first", "last", "pid", "uid", "gid", "signal", "reports"}
def group_of(path):
    gs = [g for g in groups if path in g["reports"]]
    assert len(gs) == 1, (path, gs)
    return gs[0]
for g in groups:
    assert set(g) == keys, "members %s" % sorted(g)
    assert isinstance(g["signature"], str) and len(g["signature"]) == 16, g
    assert all(isinstance(g[k], int) for k in ("count", "reported", "counted", "first", "last", "pid", "uid", "gid", "signal")), g
    assert g["count"] == g["reported"] == len(g["reports"]) and g["counted"] == 0, g
    assert g["signal"] == 11 and g["uid"] == os.getuid(), g
    assert all(os.path.dirname(p) == spool for p in g["reports"]), g
# The same program at the same site: one signature, whatever the pid and ASLR.
ga, gb, go = group_of(a1[1]), group_of(b1[1]), group_of(o1[1])
assert ga is group_of(a2[1]) and ga["count"] == 2, ("loop twice at one site, two groups", ga)
assert gb is group_of(b2[1]) and gb["count"] == 2, ("loop b twice, two groups", gb)
assert len({ga["signature"], gb["signature"], go["signature"]}) == 3, "two crash sites or programs share a signature"
assert ga["reports"] == [a1[1], a2[1]], ("oldest first", ga["reports"])
assert ga["pid"] == int(a2[0]) and gb["pid"] == int(b2[0]), "pid is not the newest report's"
assert os.path.basename(ga["exe"]) == "loop" and os.path.basename(go["exe"]) == "other", (ga["exe"], go["exe"])
assert ga["first"] <= ga["last"] <= gb["first"] <= gb["last"] <= go["first"], "first/last out of order"
assert groups[0] is go and groups[2] is ga, "not the newest group first"
print(ga["signature"], gb["signature"], go["signature"])
PY
read -r sig_a sig_b sig_o <sigs.txt

# ---- the text listing: coredumpctl's columns, one line per group ----
"$CRASHPIPE" list --spool "$spool" >all.txt 2>&1 || check_failed "list failed: $(cat all.txt)"
head -1 all.txt | grep -qE '^TIME +PID +UID +GID +SIG +COUNT +FIRST +SIGNATURE +EXE$' ||
	check_failed "list: header is '$(head -1 all.txt)'"
[ "$(wc -l <all.txt)" = 4 ] || check_failed "list: $(wc -l <all.txt) lines, expected a header and 3: $(cat all.txt)"
sed -n 2p all.txt | grep -qE "^[A-Z][a-z]{2} [0-9-]{10} [0-9:]{8} UTC +$pid_o1 +$(id -u) +$(id -g) +SIGSEGV +1 .* $sig_o .*/other$" ||
	check_failed "list: the first line is not other's: $(sed -n 2p all.txt)"
grep -qE " 2 .* $sig_a .*/loop$" all.txt || check_failed "list: no line with count 2 for $sig_a: $(cat all.txt)"

# groups COUNT-OF-GROUPS LIST-OPTIONS...: list --json with the options has that many groups.
groups() {
	local want=$1 got
	shift
	got=$("$CRASHPIPE" list --json --spool "$spool" "$@" 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	[ "$got" = "$want" ] || check_failed "list $*: $got groups, expected $want"
}
groups 2 --exe loop
groups 1 --exe "$test_dir/other"
groups 0 --exe "$test_dir/loop-not"
groups 1 --signature "$sig_b"
groups 3 --since -1h
groups 3 --since 2000-01-01
groups 3 --since "2000-01-01 00:00:00"
groups 1 --since "@$mark"
groups 0 --since +1h
groups 1 --since "@$mark" --exe other
groups 0 --since "@$mark" --exe loop
# Nothing matched: coredumpctl's message and status 1.
"$CRASHPIPE" list --spool "$spool" --exe nosuch >none.out 2>none.err
[ $? = 1 ] && grep -qx 'No crashes found.' none.err || check_failed "list --exe nosuch: status $?, $(cat none.err)"
# Bad options: one line naming what is wrong, status 2.
for bad in "--since yesterday-ish" "--signature ABCDEF" "--signature 0123"; do
	"$CRASHPIPE" list --spool "$spool" $bad >bad.out 2>bad.err
	rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <bad.err)" = 1 ] || check_failed "list $bad: status $rc, $(cat bad.err)"
done

# ---- info and show by pid and by signature ----
"$CRASHPIPE" show "$path_a1" >show-path.out 2>&1 || check_failed "show PATH failed: $(cat show-path.out)"
grep -q "^Process $pid_a1 (loop) died on SIGSEGV" show-path.out || check_failed "show PATH: $(head -3 show-path.out)"
"$CRASHPIPE" show --spool "$spool" "$pid_a1" >show-pid.out 2>&1 || check_failed "show PID failed: $(cat show-pid.out)"
cmp -s show-path.out show-pid.out || check_failed "show PID differs from show PATH: $(diff show-path.out show-pid.out | head -5)"
"$CRASHPIPE" show "$path_b2" >show-b2.out 2>&1
"$CRASHPIPE" show --spool "$spool" "$sig_b" >show-sig.out 2>&1 || check_failed "show SIGNATURE failed: $(cat show-sig.out)"
cmp -s show-b2.out show-sig.out || check_failed "show SIGNATURE is not its newest report: $(diff show-b2.out show-sig.out | head -5)"
grep -q 'crash_b' show-sig.out || check_failed "show SIGNATURE: crash_b is not the crashed function: $(head -8 show-sig.out)"
"$CRASHPIPE" info --spool "$spool" "$pid_a1" >info.out 2>&1 || check_failed "info PID failed: $(cat info.out)"
grep -qx " *Report: $path_a1" info.out || check_failed "info PID: no 'Report: $path_a1': $(head -3 info.out)"
grep -qE "^ *Signature: $sig_a \(2 crashes, 2 reported; first .* UTC, last .* UTC\)$" info.out ||
	check_failed "info PID: no signature line: $(head -3 info.out)"
tail -n +4 info.out | cmp -s - show-path.out || check_failed "info PID: not what show shows after its header"
"$CRASHPIPE" info "$path_o1" >info-path.out 2>&1 || check_failed "info PATH failed: $(cat info-path.out)"
grep -q "^Process $pid_o1 (other)" info-path.out || check_failed "info PATH: $(head -5 info-path.out)"
for arg in 999999999 0123456789abcdef "$spool/nosuch.json"; do
	"$CRASHPIPE" info --spool "$spool" "$arg" >miss.out 2>miss.err
	rc=$?
	[ "$rc" = 1 ] && [ "$(wc -l <miss.err)" = 1 ] && [ ! -s miss.out ] ||
		check_failed "info $arg: status $rc, stderr: $(cat miss.err)"
done

# ---- a hostile spool: each bad entry one line on stderr, the rest listed ----
ln -s "$path_a1" "$spool/1-1-link.json.zst"
mkfifo "$spool/1-2-fifo.json"
truncate -s 10G "$spool/1-3-huge.json"
printf '{"schema": "crashpipe/1", "process": {"pid": "x"' >"$spool/1-4-corrupt.json"
mkdir "$spool/1-5-dir.json"
cp "$path_o1" "$spool/2-9-copy.json.zst"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.crashpipe.signature", b"not\x1b[2Jhex")' "$spool/2-9-copy.json.zst" ||
	echo "no user xattrs here: the bad-xattr copy has none"
timeout 20 "$CRASHPIPE" list --json --spool "$spool" >hostile.json 2>hostile.err
rc=$?
[ "$rc" = 0 ] || check_failed "hostile list: status $rc (124: it hung)"
for e in 1-1-link.json.zst 1-2-fifo.json 1-3-huge.json 1-4-corrupt.json 1-5-dir.json; do
	[ "$(grep -c -- "/$e: skipped: " hostile.err)" = 1 ] || check_failed "hostile list: not one line for $e: $(cat hostile.err)"
done
[ "$(wc -l <hostile.err)" = 5 ] || check_failed "hostile list: $(wc -l <hostile.err) lines on stderr: $(cat hostile.err)"
python3 - hostile.json "$sig_o" <<'PY' || check_failed "hostile list --json: $(head -c 1500 hostile.json)"
import json, sys
groups = json.load(open(sys.argv[1]))
assert len(groups) == 3, len(groups)
o = [g for g in groups if g["signature"] == sys.argv[2]][0]
assert o["count"] == 2 and any(p.endswith("/2-9-copy.json.zst") for p in o["reports"]), o
PY
rm -f "$spool/1-1-link.json.zst" "$spool/1-2-fifo.json" "$spool/1-3-huge.json" "$spool/2-9-copy.json.zst"

# The state file damaged: lines that do not parse are dropped, and list and handle go on.
state=$spool/.crashpipe-ratelimit
[ -f "$state" ] || check_failed "handle made no state file"
{
	printf 'garbage\n\x1b[2J %s\n' "$(head -c 5000 /dev/zero | tr '\0' 9)"
	printf '0123456789abcdef %s - 18446744073709551616 1 1\n' "$sig_a"
	printf 'fedcba9876543210 %s - 7 1 2 %s\n' "$sig_b" "$(seq -s ' ' 1 100)"
	cat "$state"
	printf '0000000000000001 %s - 3' "$sig_a"	# cut short: no newline
} >state.bad
cat state.bad >"$state"
"$CRASHPIPE" list --json --spool "$spool" >state.json 2>state.err || check_failed "list with a damaged state file: $(cat state.err)"
python3 -c 'import json, sys; assert sorted(g["count"] for g in json.load(open(sys.argv[1]))) == [1, 2, 2]' state.json ||
	check_failed "list with a damaged state file: $(cat state.json | head -c 800)"
crash_report o2 ./other
rm -f "$state"
mkfifo "$state"
crash_report o3 ./other
[ -p "$state" ] || check_failed "handle replaced the FIFO state file (expected: refused, report written anyway)"
rm -f "$state"

echo "run-list: $SECONDS s after taking the core_pattern lock"
checks_done
