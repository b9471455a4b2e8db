#!/bin/bash
# run-threat-journal.sh - threat T22 (journal field bounds) of ../shared/ref/threats.md: what
# crashpipe sends to journald is size-capped and cannot forge fields.
#
#  - A real crash through the pipe (a systemd-journald started by hand, systemd-subr.sh) of
#    a process running as nobody that named itself "x\nPRIORITY=7" and made its
#    /proc/PID/cmdline 1 MiB long: its entry has each field once, PRIORITY 2, COREDUMP_UID
#    65534, the comm escaped (no newline), the command line cut at CP_JOURNAL_FIELD_MAX with
#    the marker, and no MESSAGE line of the process's making.
#  - A report with a hostile .NET exception (1 MiB message of "boom\nPRIORITY=7" lines, a
#    type with a newline and a forged CRASHPIPE_SIGNATURE, a 2 MiB frame name) sent with
#    cp_journal_send() (tests/unit/test-journal --send; the unit test checks the same fields
#    before sending): read back from the journal, CRASHPIPE_EXCEPTION_MESSAGE is cut with the
#    marker and has no newline, PRIORITY and CRASHPIPE_SIGNATURE are crashpipe's, MESSAGE is
#    at most CP_JOURNAL_MESSAGE_MAX bytes and the entry is no coredump entry
#    (MESSAGE_ID fc2e...).
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"
. "$abs_srcdir/systemd-subr.sh"

need journalctl
need python3
SEND=$abs_top_builddir/tests/unit/test-journal
[ -x "$SEND" ] || skip "tests/unit/test-journal is not built"
[ -S /run/systemd/journal/socket ] || [ -x "$SYSTEMD_JOURNALD" ] || skip "no journal socket and no $SYSTEMD_JOURNALD"
marker='...[truncated by crashpipe]'
field_max=2048 message_max=65536

threat_setup
systemd_journald_start
threat_pattern 4
(
	ulimit -c unlimited
	exec setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$VICTIM" --comm 'x\nPRIORITY=7' --huge-cmdline 1
) >victim.out 2>&1 &
vpid=$!
wait $vpid
report_of rep "$vpid" || fail "no report of pid $vpid"
journal_entry e1.json MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 COREDUMP_PID="$vpid" ||
	fail "no journal entry for pid $vpid"
check "crash entry: fields" python3 "$abs_srcdir/check-journal.py" e1.json \
	COREDUMP_PID="$vpid" COREDUMP_UID=$NOBODY COREDUMP_GID=$NOBODY COREDUMP_SIGNAL=11 \
	'COREDUMP_COMM=x\nPRIORITY=7' "COREDUMP_CMDLINE~$marker" CRASHPIPE_REPORT="$rep" PRIORITY=2
python3 - e1.json "$marker" "$field_max" "$message_max" >e1.check <<'PY' || check_failed "crash entry: bounds: $(cat e1.check)"
import json, sys
e = json.load(open(sys.argv[1]))
marker, fmax, mmax = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bad = []
c = e["COREDUMP_CMDLINE"]
if not c.endswith(marker) or len(c.encode()) > fmax + len(marker): bad.append(f"cmdline {len(c)} bytes")
m = e["MESSAGE"]
if len(m.encode()) > mmax + len(marker): bad.append(f"MESSAGE {len(m)} bytes")
if any(l.startswith("COREDUMP_") for l in m.split("\n")): bad.append("a MESSAGE line starts with COREDUMP_")
for k, v in e.items():
    if not k.startswith("_") and not isinstance(v, str): bad.append(f"{k} is not one text value")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY

# The hostile exception, as its own entry (a pid nothing else uses: this shell's, ended in 5).
fake=$(( ($$ % 100000) * 10 + 5 ))
"$SEND" --send "$fake" >send.out 2>&1 || fail "test-journal --send failed: $(cat send.out)"
[ "$(cat send.out)" = 0 ] || fail "cp_journal_send did not reach the journal (returned $(cat send.out))"
journal_entry e2.json COREDUMP_PID="$fake" SYSLOG_IDENTIFIER=crashpipe || fail "no journal entry for the sent report"
check "exception entry: fields" python3 "$abs_srcdir/check-journal.py" e2.json \
	MESSAGE_ID=1f4e0a44a88649939aaea34fc6da8c95 PRIORITY=2 COREDUMP_SIGNAL=6 \
	CRASHPIPE_SIGNATURE=0123456789abcdef 'CRASHPIPE_EXCEPTION_TYPE=System.Exception\nCRASHPIPE_SIGNATURE=0000000000000000' \
	"CRASHPIPE_EXCEPTION_MESSAGE~$marker" 'COREDUMP_COMM=x\nCOREDUMP_UID=0' \
	'CRASHPIPE_REPORT=/var/lib/crashpipe/x\nCOREDUMP_PID=1.json.zst' "COREDUMP_CMDLINE~$marker"
python3 - e2.json "$marker" "$message_max" >e2.check <<'PY' || check_failed "exception entry: bounds: $(cat e2.check)"
import json, sys
e = json.load(open(sys.argv[1]))
marker, mmax = sys.argv[2], int(sys.argv[3])
bad = []
x = e["CRASHPIPE_EXCEPTION_MESSAGE"]
if "\n" in x or "\r" in x: bad.append("a newline in the exception message")
if len(x.encode()) > 4096 + len(marker): bad.append(f"exception message {len(x)} bytes")
m = e["MESSAGE"]
if len(m.encode()) > mmax + len(marker): bad.append(f"MESSAGE {len(m)} bytes")
if any(l.startswith(("PRIORITY=", "MESSAGE_ID=", "COREDUMP_")) for l in m.split("\n")): bad.append("a forged line in MESSAGE")
for k, v in e.items():
    if not k.startswith("_") and not isinstance(v, str): bad.append(f"{k} is not one text value")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
journalctl --no-pager -q -o json MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1 COREDUMP_PID="$fake" >forged.json 2>/dev/null
check "no coredump entry forged: $(head -c 300 forged.json)" test ! -s forged.json
checks_done
