#!/bin/bash
# run-journal-remote.sh - the fleet path on loopback (issue 11, part 3): crashpipe's journal
# entry leaves the machine with systemd's own engines, none of ours. systemd-journal-remote
# listens on a loopback port and writes a journal file in this test's directory;
# systemd-journal-upload sends the local journal to it from crashpipe's entry on. A native
# crash through the real pipe (`crashpipe install`, a journald started by hand) is then read
# back on the receiving side with `journalctl --file`: the backtrace MESSAGE_ID, its
# COREDUMP_PID and the CRASHPIPE_* fields as sent.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/systemd-subr.sh"

REMOTE=/lib/systemd/systemd-journal-remote
UPLOAD=/lib/systemd/systemd-journal-upload
need_root
need journalctl
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
[ -x "$REMOTE" ] && [ -x "$UPLOAD" ] || skip "systemd-journal-remote is not installed (Debian package systemd-journal-remote)"
[ -S /run/systemd/journal/socket ] || [ -x "$SYSTEMD_JOURNALD" ] || skip "no journal socket and no $SYSTEMD_JOURNALD"

systemd_journald_start
spool=$(mktemp -d /tmp/cpr.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
build_crasher threads -g -O2 -fomit-frame-pointer

# A free loopback port, and the receiver on it.
port=
for p in $(shuf -i 20000-60000 -n 20); do
	ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { port=$p; break; }
done
[ -n "$port" ] || fail "no free loopback port"
mkdir remote
"$REMOTE" --listen-http="127.0.0.1:$port" --output="$test_dir/remote/fleet.journal" --split-mode=none \
	>remote.log 2>&1 &
rpid=$!
at_exit "kill $rpid 2>/dev/null; wait $rpid 2>/dev/null"
for _ in $(seq 1 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.05; done
ss -Htln "sport = :$port" | grep -q . || fail "systemd-journal-remote did not listen: $(tail -3 remote.log)"

"$CRASHPIPE" install --spool "$spool" >install.out 2>&1 || fail "install failed: $(cat install.out)"
run_crasher pid ./threads
wait_for_file report "$spool/*-$pid-threads.json.zst" 30 || fail "no report for pid $pid in $spool"
journal_entry local.json MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 COREDUMP_PID="$pid" ||
	fail "no local journal entry for pid $pid"
cursor=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["__CURSOR"])' local.json)

timeout 60 "$UPLOAD" --url="http://127.0.0.1:$port" --system --cursor="$cursor" --follow=no \
	--save-state="$test_dir/upload.state" >upload.log 2>&1 || fail "systemd-journal-upload failed: $(tail -3 upload.log)"

# The receiver writes as it receives; read its file until the entry is there.
for _ in $(seq 1 100); do
	journalctl --no-pager -q --all -o json --file="$test_dir/remote/fleet.journal" \
		MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 COREDUMP_PID="$pid" 2>/dev/null | tail -1 >remote.json
	[ -s remote.json ] && break
	sleep 0.1
done
[ -s remote.json ] || fail "the entry of pid $pid is not in the remote journal: $(journalctl --file="$test_dir/remote/fleet.journal" -n 3 2>&1; tail -3 remote.log)"
check "the remote entry's fields" python3 "$abs_srcdir/check-journal.py" remote.json \
	COREDUMP_PID="$pid" COREDUMP_SIGNAL=11 COREDUMP_EXE="$test_dir/threads" CRASHPIPE_REPORT="$report" \
	CRASHPIPE_RUNTIME=native SYSLOG_IDENTIFIER=crashpipe "MESSAGE~crash_inner (threads + 0x"
check "the remote entry has the local one's boot id" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["_BOOT_ID"] == b["_BOOT_ID"] and a["CRASHPIPE_BOOT_ID"] == b["CRASHPIPE_BOOT_ID"], (a["_BOOT_ID"], b["_BOOT_ID"])
' local.json remote.json
checks_done
