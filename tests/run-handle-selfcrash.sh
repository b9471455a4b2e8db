#!/bin/bash
# run-handle-selfcrash.sh - a crash of the handler itself does not come back to it
# (threats.md T13; issue 7).
#
# 1. A handler started by hand (not by the kernel: no RLIMIT_CORE of 1 to protect it), with
#    core dumps enabled and core_pattern pointing at crashpipe, is killed with SIGSEGV while it
#    waits for its core. Its first log line is in the kernel log (no syslog daemon here: see
#    log.c), and no second handler starts for crashpipe itself: no report of its pid, no
#    "collecting" line for it.
# 2. A handler started by the kernel for a real crash is stopped, killed with SIGSEGV, and let
#    go: the original crash is on record (its first line), and again nothing is collected for
#    the handler.
. "${srcdir:-.}/test-subr.sh"

need_root
need dmesg
need pgrep
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
dmesg >/dev/null 2>&1 || skip "cannot read the kernel log (dmesg)"
[ ! -e /dev/log ] || skip "a syslog daemon listens on /dev/log: the handler's lines do not reach the kernel log"

short=$(mktemp -d /tmp/cphs.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
spool=$short/s
mkdir -p "$spool"
pattern=$(handle_pattern --spool "$spool")
[ ${#pattern} -le 127 ] || skip "core_pattern too long (${#pattern} bytes): $pattern"
take_core_pattern
set_core_pattern "$pattern" 1

# collected PID: did any handler log "pid PID (tid ...) ... collecting"?
collected() { dmesg | grep -q "crashpipe\[[0-9]*\]: pid $1 (tid [0-9]*) uid [0-9]* died on signal [0-9]*, collecting"; }

# ---- 1: by hand ----
fake=$((4000000 + RANDOM))
(
	ulimit -c unlimited
	exec "$CRASHPIPE" handle --spool "$short/own" "$fake" "$fake" 0 0 11 1234 0 selfcrash
) < <(sleep 30) &
hpid=$!
for _ in $(seq 1 100); do collected "$fake" && break; sleep 0.05; done
collected "$fake" || fail "by hand: the handler's first line (pid $fake ... collecting) is not in the kernel log"
kill -SEGV "$hpid"
wait "$hpid"
rc=$?
[ "$rc" = $((128 + 11)) ] || fail "by hand: the handler did not die of SIGSEGV (status $rc)"
sleep 2
if wait_for_file r "$spool/*-$hpid-*" 3 || collected "$hpid"; then
	fail "by hand: the handler's own crash went through core_pattern again ($(ls -A "$spool"))"
fi
echo "by hand: the handler's crash was not collected"

# ---- 2: started by the kernel ----
build_crasher fakeclr -g -O1
printf 'x\n' >data
# A big core keeps the kernel's handler busy long enough to be caught.
(
	ulimit -c unlimited
	exec ./fakeclr "$test_dir/data" 512
) >fakeclr.out 2>&1 &
cpid=$!
kpid=
for _ in $(seq 1 2000); do
	kpid=$(pgrep -f -n "handle --spool $spool $cpid ") && break
	sleep 0.01
done
[ -n "$kpid" ] || fail "kernel: no handler started for pid $cpid"
# Its first line first (it is written before anything else), then the crash.
for _ in $(seq 1 500); do collected "$cpid" && break; sleep 0.01; done
if ! kill -STOP "$kpid" 2>/dev/null; then
	wait "$cpid"
	echo "kernel: the handler $kpid was done before it could be stopped; part 2 not run"
	exit 0
fi
kill -SEGV "$kpid"
kill -CONT "$kpid"
wait "$cpid"
for _ in $(seq 1 100); do kill -0 "$kpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$kpid" 2>/dev/null && fail "kernel: the handler $kpid survived SIGSEGV"
collected "$cpid" || fail "kernel: the original crash (pid $cpid) has no first line in the kernel log"
sleep 2
if ls "$spool"/*-"$kpid"-* >/dev/null 2>&1 || collected "$kpid"; then
	fail "kernel: the handler's own crash was collected ($(ls -A "$spool"))"
fi
echo "kernel: the original crash is on record, the handler's crash was not collected"
exit 0
