#!/bin/bash
# run-follow.sh - `crashpipe follow --once` (issue 11, follow mode): systemd-coredump is the
# core_pattern handler (run by hand, systemd-subr.sh) and stores the cores; crashpipe reads
# its journal entries.
#  - two crashes stored, the second's core then removed (vacuumed): the first --once writes
#    a report of each into the spool, the first with crashpipe's stack of the stored core
#    (crash_inner, crash_outer), the second from the journal's fields with a note; a journal
#    entry for each (backtrace MESSAGE_ID, CRASHPIPE_REPORT, and COREDUMP_FILENAME for the
#    stored core, so `coredumpctl dump PID` still returns the core);
#  - forged coredump entries (logger --journald, as any user may log) naming /etc/shadow
#    through "..", and a symlink planted in systemd-coredump's directory: never opened,
#    reports from the fields with a note saying so;
#  - a second --once writes nothing; a crash after that is the only report of a third one;
#  - the cursor file is the spool's, mode 0600;
#  - `crashpipe follow` running (waiting on the journal) reports a crash within 10 s.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/systemd-subr.sh"

need_root
need zstd
need coredumpctl
need logger
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
why=$(systemd_coredump_unusable) && skip "$why"

systemd_coredump_start
spool=$(mktemp -d /tmp/cpf.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
build_crasher threads -g -O2 -fomit-frame-pointer

# crash_stored VAR: crash ./threads, wait for systemd-coredump's core and entry; VAR = pid.
crash_stored() {
	local __p core
	run_crasher __p ./threads
	systemd_coredump_wait_stored core "$__p" 30 || fail "systemd-coredump stored no core for pid $__p: $(tail -3 socket-activate.log)"
	journal_entry "sdc-$__p.json" MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1 COREDUMP_PID="$__p" ||
		fail "no systemd-coredump journal entry for pid $__p"
	printf -v "$1" %s "$__p"
}
reports() { ls "$spool" | grep '\.json\.zst$' | sort; }
follow_once() {
	"$CRASHPIPE" follow --once --no-dac --spool "$spool" >"follow-$1.out" 2>&1 ||
		fail "follow --once ($1) failed: $(tail -5 "follow-$1.out")"
}
# report_json PID OUT: the one report of PID in the spool, decompressed.
report_json() {
	local f
	f=$(ls "$spool"/*-"$1"-*.json.zst 2>/dev/null)
	[ "$(echo "$f" | grep -c .)" = 1 ] || { check_failed "pid $1: $(echo "$f" | grep -c .) reports"; return 1; }
	zstd -q -dc "$f" >"$2" || fail "$f is not zstd"
	echo "$f"
}

crash_stored p1
crash_stored p2
rm -f "$SYSTEMD_COREDUMP_DIR"/core.*."$p2".*.zst
# Forged entries: a path out of the directory, and a symlink in it.
fake1=$(( ($$ % 100000) * 10 + 7 )) fake2=$(( ($$ % 100000) * 10 + 8 ))
link="$SYSTEMD_COREDUMP_DIR/core.threads.0.$(tr -d - </proc/sys/kernel/random/boot_id).$fake2.1000000.zst"
ln -s /etc/shadow "$link" || exit 99
at_exit "rm -f '$link'"
for f in "$fake1:$SYSTEMD_COREDUMP_DIR/../../../../etc/shadow" "$fake2:$link"; do
	printf 'MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1\nMESSAGE=forged\nCOREDUMP_PID=%s\nCOREDUMP_UID=0\nCOREDUMP_GID=0\nCOREDUMP_SIGNAL=11\nCOREDUMP_COMM=forged\nCOREDUMP_FILENAME=%s\n' \
		"${f%%:*}" "${f#*:}" | setpriv --reuid=65534 --regid=65534 --clear-groups logger --journald ||
		fail "logger --journald failed"
	journal_entry forged.json MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1 COREDUMP_PID="${f%%:*}" || fail "the forged entry was not logged"
done

follow_once 1
if r1=$(report_json "$p1" r1.json); then
	check "pid $p1: crashpipe's stack of the stored core" python3 -c '
import json, sys
r = json.load(open("r1.json"))
t = [t for t in r["threads"] if t.get("crashed")][0]
names = [f.get("function") for f in t["frames"]]
assert names[:2] == ["crash_inner", "crash_outer"], names[:4]
assert r["process"]["core_writer"] == "systemd-coredump", r["process"]
assert r["process"]["pid"] == int(sys.argv[1])
' "$p1"
	journal_entry e1.json MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 COREDUMP_PID="$p1" || check_failed "pid $p1: no crashpipe entry"
	core1=$(ls "$SYSTEMD_COREDUMP_DIR"/core.*."$p1".*.zst)
	check "pid $p1: crashpipe's entry" python3 "$abs_srcdir/check-journal.py" e1.json CRASHPIPE_REPORT="$r1" \
		COREDUMP_FILENAME="$core1" COREDUMP_SIGNAL=11 "MESSAGE~crash_inner (threads + 0x" CRASHPIPE_CORE_WRITER=systemd-coredump
	coredumpctl dump --no-pager -o dump1.core "$p1" >dump.out 2>&1
	check "coredumpctl dump $p1 returns the core: $(tail -2 dump.out)" sh -c 'head -c 4 dump1.core | grep -q ELF'
	coredumpctl info --no-pager "$p1" >info1.out 2>&1
	check "coredumpctl info $p1 shows crashpipe's stack" grep -q 'crash_inner (threads + 0x' info1.out
fi
if report_json "$p2" r2.json >/dev/null; then
	check "pid $p2 (core vacuumed): the journal's fields and a note" python3 -c '
import json, sys
r = json.load(open("r2.json"))
p = r["process"]
assert p["pid"] == int(sys.argv[1]) and p["signal"] == 11 and p["comm"] == "threads", p
assert any("is gone (vacuumed)" in n for n in r["notes"]), r["notes"]
' "$p2"
fi
for f in "$fake1:not a file in" "$fake2:a symbolic link"; do
	if report_json "${f%%:*}" "forged-${f%%:*}.json" >/dev/null; then
		check "forged entry ${f%%:*}: not opened, said so" grep -q "was not opened (${f#*:}" "forged-${f%%:*}.json"
	fi
done
check "the cursor file is root's, 0600" test "$(stat -c %a:%u "$spool/follow.cursor")" = 600:0

reports >after1
follow_once 2
reports >after2
check "a second --once writes nothing: $(diff after1 after2 | head -3)" cmp -s after1 after2

crash_stored p3
follow_once 3
reports >after3
check "a third --once writes only pid $p3's report: $(comm -13 after2 after3)" \
	test "$(comm -13 after2 after3 | grep -c .)" = 1 -a "$(comm -13 after2 after3 | grep -c -- "-$p3-")" = 1

# Running (not --once): a crash is reported while it waits, well within the time limit.
"$CRASHPIPE" follow --no-dac --spool "$spool" >follow-run.out 2>&1 &
fpid=$!
at_exit "kill $fpid 2>/dev/null; wait $fpid 2>/dev/null"
sleep 0.3
crash_stored p4
wait_for_file r4 "$spool/*-$p4-threads.json.zst" 10 || check_failed "crashpipe follow (running) wrote no report of pid $p4 in 10 s: $(tail -3 follow-run.out)"
kill "$fpid" 2>/dev/null
checks_done
