#!/bin/bash
# run-config.sh - crashpipe.conf (issue 11): handle run by hand on a real kernel core (of
# crashers/threads.c) with --config FILE:
#
#  - the file's settings take effect: [Handle] Spool= is where the report lands, MaxFrames=
#    caps the crashed thread's frames;
#  - the command line wins: --spool and --max-frames over the same file;
#  - a bad file (unknown section, unknown key, a value out of range, a line that is not
#    KEY=VALUE, a key before any section) is one warning per bad line naming FILE:LINE, never
#    fatal, and its good lines still count (install --dry-run --config: the spool in the
#    pattern; stderr is where the CLI warns);
#  - a file others can write to, or not root's, is ignored with a warning naming it: handle
#    uses the defaults (no frame cap) and install's pattern the default spool;
#  - the sample conf/crashpipe.conf (every line commented out) gives no warning.
. "${srcdir:-.}/test-subr.sh"

need_root
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
need python3
need zstd

build_crasher threads
make_core core ./threads
pid=${core##*.}
# Short paths: install puts --spool and --config into a core_pattern of at most 127 bytes.
d=$(mktemp -d /tmp/cpf.XXXXXX) || exit 99
at_exit "rm -rf '$d'"
chmod 755 "$d"
mkdir -m 700 "$d/A" "$d/B" "$d/C" || exit 99
# install writes the real path of the binary that runs it into the pattern: a copy at a short
# path keeps a deep build directory's (make distcheck's, CI's ASan build's) within the 127.
cp "$CRASHPIPE" "$d/cp" || exit 99
INSTALLER=$d/cp

# frames REPORT.json.zst: physical frames of the crashed thread
frames() {
	zstd -qdc "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
t = [t for t in d["threads"] if t.get("crashed")][0]
print(len([f for f in t["frames"] if f.get("kind") != "inline"]))'
}
run_handle() {	# ARGS...: handle by hand, the core piped to stdin as the kernel does, its arguments after ARGS
	cat "$core" | "$CRASHPIPE" handle "$@" "$pid" "$pid" 0 0 11 1700000000 18446744073709551615 confhost
}

cat >"$d/good.conf" <<EOF
# a comment
[Handle]
Spool=$d/A
MaxFrames = 2

[Chain]
TimeoutSec=3
EOF
chmod 644 "$d/good.conf"

# 1. the file's settings
run_handle --config "$d/good.conf" || check_failed "handle with good.conf exited $?"
if wait_for_file rep "$d/A/*-$pid-*.json.zst" 5; then
	n=$(frames "$rep")
	[ "$n" = 2 ] || check_failed "MaxFrames=2: the crashed thread has $n frames"
else
	check_failed "Spool= in the file: no report in spoolA"
fi

# 2. the command line wins
run_handle --config "$d/good.conf" --spool "$d/B" --max-frames 3 || check_failed "handle with options exited $?"
if wait_for_file rep "$d/B/*-$pid-*.json.zst" 5; then
	n=$(frames "$rep")
	[ "$n" = 3 ] || check_failed "--max-frames 3 over MaxFrames=2: $n frames"
else
	check_failed "--spool over Spool=: no report in spoolB"
fi
[ "$(ls "$d/A" | wc -l)" = 1 ] || check_failed "the second report went to spoolA too: $(ls "$d/A")"

# 3. a bad file: a warning per bad line, FILE:LINE, the good lines kept
cat >"$d/bad.conf" <<EOF
Spool=/nowhere
[Handle]
Spool=$d/C
Colour=blue
MaxFrames=0
this is not a setting
[Nonsense]
Key=1
[DAC]
Enable=maybe
TimeoutSec=5
EOF
chmod 644 "$d/bad.conf"
"$INSTALLER" install --dry-run --config "$d/bad.conf" >bad.out 2>bad.err || check_failed "install --dry-run with bad.conf failed: $(cat bad.err)"
for l in 1 4 5 6 7 10; do
	grep -q "^crashpipe: $d/bad.conf:$l: " bad.err || check_failed "no warning for bad.conf line $l: $(cat bad.err)"
done
[ "$(wc -l <bad.err)" = 6 ] || check_failed "bad.conf: $(wc -l <bad.err) warnings for 6 bad lines: $(cat bad.err)"
grep -q " --spool $d/C --config $d/bad.conf " bad.out || check_failed "bad.conf's good Spool= not used: $(cat bad.out)"

# 4. a file others may write, or not root's: ignored
cp "$d/good.conf" "$d/open.conf" && chmod 666 "$d/open.conf"
run_handle --config "$d/open.conf" --spool "$d/C" || check_failed "handle with open.conf exited $?"
if wait_for_file rep "$d/C/*-$pid-*.json.zst" 5; then
	n=$(frames "$rep")
	[ "$n" -gt 2 ] || check_failed "a world-writable file was used: MaxFrames=2 took effect ($n frames)"
else
	check_failed "handle with a world-writable file wrote no report"
fi
"$INSTALLER" install --dry-run --config "$d/open.conf" >open.out 2>open.err
grep -q "$d/open.conf: .*ignored" open.err || check_failed "no warning that open.conf is ignored: $(cat open.err)"
grep -q " --spool /var/lib/crashpipe " open.out || check_failed "open.conf's Spool= used: $(cat open.out)"
chown nobody "$d/good.conf"
"$INSTALLER" install --dry-run --config "$d/good.conf" >nobody.out 2>nobody.err
grep -q "good.conf: .*ignored" nobody.err || check_failed "no warning that a file of nobody's is ignored: $(cat nobody.err)"
chown root "$d/good.conf"

# 5. the sample file: all defaults, no warning
install -m 644 "$abs_srcdir/../conf/crashpipe.conf" "$d/sample.conf" || exit 99
"$INSTALLER" install --dry-run --config "$d/sample.conf" >sample.out 2>sample.err ||
	check_failed "install --dry-run with the sample file failed"
[ ! -s sample.err ] || check_failed "the sample file gives warnings: $(cat sample.err)"
checks_done
