#!/bin/bash
# run-show-hostile.sh - `crashpipe show` and `crashpipe list` against a spool an attacker
# has written into (issue 7, finding 5).
#
# One real report (analyze of a kernel core of crashers/callback.c) and its hostile
# variants from mutate-report.py: a time gmtime_r() cannot format (1e17), huge, negative
# and fractional numbers, wrong types, a second value after the report, 10^5 nested '[';
# C0/C1/CSI/OSC/bidi characters as UTF-8 and as raw bytes in every string show prints;
# a report whose file NAME holds ESC and 0x9b; a FIFO named x.json; a symlink to a good
# report; a character device named dev.json; 100000 threads with different stacks; a 22 KB .json.zst that decompresses to 700 MB (a run of spaces in a string).
# Asserted: list exits 0, prints one line per bad file naming it and why, and lists the
# good reports; show exits 1 with one line on stderr for each bad one and never dies on a
# signal or waits (10 s timeout); show of the bomb stays under 100 MB of RSS; no output
# holds a raw control character, C1 (as a byte or as UTF-8), bidi control or invalid UTF-8.

. "$srcdir/test-subr.sh"

need python3
need timeout
need zstd
[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
[ -x "$CRASHPIPE" ] || { echo "no crashpipe binary at $CRASHPIPE" >&2; exit 99; }

build_crasher callback -g -O1
make_core core ./callback
"$CRASHPIPE" analyze -o analyzed.json "$core" 2>analyze.err || fail "analyze failed: $(cat analyze.err)"

spool=spool
python3 "$abs_srcdir/mutate-report.py" analyzed.json "$spool" || fail "mutate-report.py failed"
mv "$spool/REFUSED" refused.txt
mkfifo "$spool/x.json"
ln -s good.json "$spool/link.json"
printf 'x.json\tnot a regular file\nlink.json\tsymbolic link\n' >>refused.txt
# A device (/dev/null's numbers) is refused without being opened.
if mknod "$spool/dev.json" c 1 3 2>/dev/null; then
	printf 'dev.json\tnot a regular file\n' >>refused.txt
fi
{
	printf '{"schema": "crashpipe/1", "notes": ["'
	head -c 700M /dev/zero | tr '\0' ' '
	printf '"]}\n'
} | zstd -q -c >"$spool/bomb.json.zst" || fail "cannot make the zstd bomb"
printf 'bomb.json.zst\tdecompresses to more than\n' >>refused.txt
evil_name=$'evil\e]0;pwned\a\e[2J\x9b31m.json'
cp "$spool/good.json" "$spool/$evil_name"

# no_hostile_bytes FILE WHAT: nothing in FILE may drive a terminal.
no_hostile_bytes() {
	local f=$1 what=$2
	if LC_ALL=C grep -qaP '[\x00-\x09\x0b-\x1f\x7f]' "$f"; then
		check_failed "$what: a raw control character: $(LC_ALL=C grep -naP '[\x00-\x09\x0b-\x1f\x7f]' "$f" | od -c | head -5)"
	fi
	# A raw 0x9b (or any invalid UTF-8) makes the line invalid UTF-8.
	if LC_ALL=C.UTF-8 grep -qaxv '.*' "$f"; then
		check_failed "$what: invalid UTF-8 (a raw C1 byte?): $(LC_ALL=C.UTF-8 grep -naxv '.*' "$f" | od -An -tx1 | head -3)"
	fi
	if LC_ALL=C.UTF-8 grep -qP '[\x{80}-\x{9f}\x{61c}\x{200e}\x{200f}\x{2028}-\x{202e}\x{2066}-\x{2069}]' "$f"; then
		check_failed "$what: a C1 or bidi control as UTF-8: $(LC_ALL=C.UTF-8 grep -nP '[\x{80}-\x{9f}\x{61c}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}]' "$f" | od -c | head -5)"
	fi
}

# ---- list --reports: every bad file one line, the good ones listed, exit 0 ----
timeout 20 "$CRASHPIPE" list --reports --spool "$spool" >list.out 2>list.err
rc=$?
[ "$rc" = 0 ] || check_failed "list: exit status $rc (124: it hung), expected 0: $(head -3 list.err)"
no_hostile_bytes list.out "list stdout"
no_hostile_bytes list.err "list stderr"
while IFS=$'\t' read -r name why; do
	n=$(grep -cF -- "$spool/$name: unreadable (" list.out)
	[ "$n" = 1 ] || check_failed "list: $n lines for $name, expected 1 'unreadable'"
	grep -F -- "$spool/$name: unreadable (" list.out | grep -qF -- "$why" ||
		check_failed "list: the line for $name does not say '$why': $(grep -F -- "$name" list.out)"
done <refused.txt
pid=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["process"]["pid"])' "$spool/good.json")
for name in good.json c1-utf8.json c1-raw.json many-threads.json 'evil\x1b]0;pwned\x07\x1b[2J\x9b31m.json'; do
	grep -F -- "$spool/$name" list.out | grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +$pid " ||
		check_failed "list: no line for the good report $name: $(cat list.out)"
done
grep -qF 'commcomm' list.out && check_failed "list: the hostile comm was not escaped"
grep -qF 'comm\x1b[2J\u009b31m\u009d0;pwned\x07\u0085\u202e' list.out ||
	check_failed "list: the hostile comm is not shown escaped: $(grep c1-utf8 list.out)"
[ "$(wc -l <list.out)" = $(($(wc -l <refused.txt) + 5)) ] ||
	check_failed "list: $(wc -l <list.out) lines for $(($(wc -l <refused.txt) + 5)) files: $(cat list.out)"

# ---- list grouped by signature, and --json: every bad file one line on stderr, the good
# ones in their groups, exit 0; a bad signature xattr (not hex, too long, control bytes)
# is not believed: the report is read instead ----
cp "$spool/good.json" "$spool/badxattr.json"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.crashpipe.signature", b"\x1b[2J\x9bZZZZZZZZZZZZZZZZZZZZ")' \
	"$spool/badxattr.json" 2>/dev/null || echo "no user xattrs here: the bad-xattr case is a plain copy"
for how in text json; do
	opt=; [ $how = json ] && opt=--json
	timeout 20 "$CRASHPIPE" list $opt --spool "$spool" >glist.out 2>glist.err
	rc=$?
	[ "$rc" = 0 ] || check_failed "list $opt: exit status $rc (124: it hung), expected 0: $(head -3 glist.err)"
	# JSON is indented with tabs; a control character in a string would be \u-escaped.
	[ $how = text ] && no_hostile_bytes glist.out "list $opt stdout"
	[ $how = json ] && tr -d '\t\n' <glist.out >glist.flat && no_hostile_bytes glist.flat "list $opt stdout"
	no_hostile_bytes glist.err "list $opt stderr"
	while IFS=$'\t' read -r name why; do
		n=$(grep -cF -- "$spool/$name: skipped: " glist.err)
		[ "$n" = 1 ] || check_failed "list $opt: $n lines for $name on stderr, expected 1 'skipped'"
		grep -F -- "$spool/$name: skipped: " glist.err | grep -qF -- "$why" ||
			check_failed "list $opt: the line for $name does not say '$why': $(grep -F -- "$name" glist.err)"
	done <refused.txt
	[ "$(wc -l <glist.err)" = "$(wc -l <refused.txt)" ] ||
		check_failed "list $opt: $(wc -l <glist.err) lines on stderr for $(wc -l <refused.txt) bad files: $(cat glist.err)"
done
# The six good reports (five and the bad-xattr copy), each in exactly one group.
python3 - "$spool" glist.out <<'PY' || check_failed "list --json: $(cat glist.out | head -c 600)"
import json, os, sys
spool, out = sys.argv[1], sys.argv[2]
groups = json.load(open(out))
paths = [p for g in groups for p in g["reports"]]
names = sorted(os.path.basename(p) for p in paths)
want = sorted(["good.json", "c1-utf8.json", "c1-raw.json", "many-threads.json", "badxattr.json",
               # the hostile name as show escapes it: JSON stays valid UTF-8
               r"evil\x1b]0;pwned\x07\x1b[2J\x9b31m.json"])
assert len(names) == len(set(names)), "a report in two groups: %s" % names
assert names == sorted(os.path.basename(n) for n in want), "reports %s, expected %s" % (names, want)
for g in groups:
    assert len(g["signature"]) == 16 and all(c in "0123456789abcdef" for c in g["signature"]), g
    assert g["count"] == g["reported"] + g["counted"] == len(g["reports"]), g
bad = [g for g in groups if any(p.endswith("/badxattr.json") for p in g["reports"])][0]
good = [g for g in groups if any(p.endswith("/good.json") for p in g["reports"])][0]
assert bad is good, "the bad-xattr copy of good.json is not in its group"
PY

# ---- show: each bad one exit 1 and one line naming it; never a signal or a wait ----
while IFS=$'\t' read -r name why; do
	timeout 10 /usr/bin/time -o "show-$name.rss" -f %M "$CRASHPIPE" show "$spool/$name" >show.out 2>show.err
	rc=$?
	[ "$rc" = 1 ] || check_failed "show $name: exit status $rc, expected 1 (124: it hung; >128: a signal): $(head -3 show.err)"
	[ "$(wc -l <show.err)" = 1 ] || check_failed "show $name: $(wc -l <show.err) lines on stderr, expected 1: $(head -3 show.err)"
	grep -qF -- "$spool/$name: " show.err || check_failed "show $name: stderr does not name the file: $(cat show.err)"
	grep -qF -- "$why" show.err || check_failed "show $name: stderr does not say '$why': $(cat show.err)"
	[ -s show.out ] && check_failed "show $name: printed a report: $(head -3 show.out)"
done <refused.txt
# 64 MiB of text at most, and the decoder: ~70 MB. Under AddressSanitizer (--enable-asan)
# shadow memory and the quarantine of freed buffers count too: ~160 MB. Unbounded, it was
# 10 GB.
rss_max=100000
ldd "$CRASHPIPE" 2>/dev/null | grep -q libasan && rss_max=300000
rss=$(tail -1 show-bomb.json.zst.rss)
[ "$rss" -lt "$rss_max" ] 2>/dev/null ||
	check_failed "show of the 22 KB zstd bomb: max RSS $rss KB, expected < $((rss_max / 1000)) MB"
echo "show of the zstd bomb: max RSS $rss KB (limit $rss_max KB)"

# ---- show of the hostile strings: shown, escaped ----
for name in c1-utf8.json c1-raw.json "$evil_name"; do
	timeout 10 "$CRASHPIPE" show "$spool/$name" >show.out 2>show.err
	rc=$?
	[ "$rc" = 0 ] || check_failed "show $name: exit status $rc, expected 0: $(head -3 show.err)"
	no_hostile_bytes show.out "show $name stdout"
	no_hostile_bytes show.err "show $name stderr"
	cp show.out "show-$name.out"
done
u=show-c1-utf8.json.out
for want in 'fn\x1b[2J\u009b31m\u009d0;pwned\x07\u0085\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\x7fEND' \
	'Unhandled exception. System.\x1b' 'msg\x1b[2J\u009b' '---> Inner\x1b' 'thr\x1b' '/src/\x1b' \
	'executable: /usr/bin/\x1b' 'command line: cmd\x1b' 'host: host\x1b' '.NET v\x1b' '- note\x1b' \
	'(managed name "mth\x1b' 'disp\x1b' '   at sdisp\x1b' ' in /sfile/\x1b' '   at sfn\x1b'; do
	grep -qF -- "$want" "$u" || check_failed "show c1-utf8.json: '$want' is not in the output"
done
grep -qF -- 'fn\x9b[31m\x9d0;x\x85\xff\xc0\x80END' show-c1-raw.json.out ||
	check_failed "show c1-raw.json: the raw bytes are not shown as \\xNN: $(grep '#0 ' show-c1-raw.json.out)"
# 100000 different stacks are folded in n log n, not compared each with every other.
timeout 5 "$CRASHPIPE" show "$spool/many-threads.json" >show.out 2>show.err
rc=$?
[ "$rc" = 0 ] || check_failed "show many-threads.json: exit status $rc, expected 0 (124: over 5 s): $(head -3 show.err)"
grep -q '^Other threads (99999):' show.out || check_failed "show many-threads.json: no 'Other threads (99999)'"
[ "$(grep -c '^Thread ' show.out)" = 99999 ] || check_failed "show many-threads.json: not 99999 threads of their own"

# A file name given to show that is refused is named escaped too.
timeout 10 "$CRASHPIPE" show "$spool/nosuch"$'\e[2J\x9b'.json >show.out 2>show.err
[ $? = 1 ] || check_failed "show of a missing file did not exit 1"
no_hostile_bytes show.err "show of a missing hostile name, stderr"
grep -qF 'nosuch\x1b[2J\x9b.json: No such file' show.err ||
	check_failed "show of a missing file: $(cat show.err)"
checks_done
