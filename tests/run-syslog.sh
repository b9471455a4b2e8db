#!/bin/bash
# run-syslog.sh - no journal running (issue 11, part 2): the crash's entry goes to syslog.
#
# With no journald socket (/run/systemd/journal/socket) and nothing on /dev/log, the test
# binds its own syslog receiver on /dev/log (syslog-listen.py) and crashes a native program
# through the real kernel pipe into `crashpipe handle`: the report is written, and syslog
# got one LOG_CRIT line from crashpipe that names the pid, the comm, the signal, the
# report's path and its signature (the report file's user.crashpipe.signature).
. "${srcdir:-.}/test-subr.sh"

need_root
need python3
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

# Both sockets are machine-wide: taken under the lock that the journald tests hold too.
take_core_pattern
[ ! -S /run/systemd/journal/socket ] || skip "a journal runs here (/run/systemd/journal/socket): the fallback is not taken"
[ ! -e /dev/log ] && [ ! -L /dev/log ] || skip "/dev/log exists: a syslog daemon of this machine's own"

python3 "$abs_srcdir/syslog-listen.py" /dev/log syslog.txt ready &
listener=$!
at_exit "kill $listener 2>/dev/null; wait $listener 2>/dev/null; rm -f /dev/log"
for _ in $(seq 1 100); do [ -e ready ] && break; sleep 0.05; done
[ -e ready ] || fail "the syslog receiver did not start"

spool=$(mktemp -d /tmp/cpsl.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
chmod 700 "$spool"
build_crasher threads -g -O0
set_core_pattern "$(handle_pattern --spool "$spool")"
run_crasher pid ./threads
wait_for_file report "$spool/*-$pid-threads.json.zst" 30 || fail "no report for pid $pid in $spool"
sig=$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.crashpipe.signature").decode())' "$report") ||
	fail "$report has no user.crashpipe.signature"

line=
for _ in $(seq 1 100); do
	line=$(grep -F "died on SIGSEGV; report $report; signature $sig" syslog.txt) && break
	sleep 0.05
done
[ -n "$line" ] || fail "no syslog line for pid $pid: $(tail -5 syslog.txt)"
echo "syslog: $line"
# <PRI>: facility daemon (3), severity crit (2): 3 * 8 + 2.
check "the line is LOG_DAEMON|LOG_CRIT" grep -qE '^<26>' <<<"$line"
check "the line is crashpipe's, with its pid" grep -qE '^<26>[A-Z][a-z]{2} [ 0-9:]+ crashpipe\[[0-9]+\]: ' <<<"$line"
check "the line names the process" grep -qF "Process $pid (threads) died on SIGSEGV" <<<"$line"
checks_done
