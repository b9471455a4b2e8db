#!/bin/bash
# run-threat-spool.sh - threats T03, T04, T05, T17, T18 (../shared/ref/threats.md): the spool
# and the files the root handler makes, attacked as systemd-coredump's and apport's were.
#
# Real crashes through the kernel pipe into `crashpipe handle` (through tests/threat-wrap.sh,
# which runs it under strace -f):
#   T03  a spool that is a symbolic link, owned by nobody, mode 0777, or below a directory
#        nobody owns is refused (no report lands in it, one log line names it); symlinks and
#        hard links planted at the report's own name (to root files) are replaced, their
#        targets unchanged; the handler's log line says why the spool was refused. A spool
#        swapped for a symlink after the handler checked it (tests/threat-wrap.sh holds
#        the core back meanwhile) gets no report in the symlink's target.
#   T04  strace: no path-based chmod/chown/rename/link, only calls on fds and dir fds.
#   T05  the victim runs as nobody from a directory nobody owns, full of planted links; the
#        handler opens nothing for writing outside the spool and the debuginfo cache (not
#        /proc/PID/cwd, /proc/PID/root, the victim's directory).
#   T17  nor any temporary file, lock or socket in /tmp, /var/tmp, /var/lock, /dev/shm.
#   T18  the report is mode 0600, root:root.
#   T03  also `crashpipe install` and `uninstall` with a spool anyone can write to: install
#        refuses it (writes nothing through a symlink at its temporary name, leaves
#        core_pattern alone), uninstall writes no forged saved pattern into core_pattern.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need strace
need python3
need zstd
need jq
threat_setup

# The victim's own directory, full of links to root files: nothing may be written there.
evil=$T/evil
mkdir "$evil"
chown "$NOBODY:$NOBODY" "$evil"
chmod 777 "$evil"
echo "root secret" >"$T/secret"
chmod 600 "$T/secret"
for n in core core.json report.json.zst crashpipe.lock; do
	ln -s "$T/secret" "$evil/$n"
done
cp -a "$T/secret" "$T/secret.orig"

# --- T18, T04, T05, T17, T03 (links at the report's name): a good spool -------------------
threat_conf STRACE_LOG="$T/strace.log"
threat_pattern 1
rm -f "$T/go"
(cd "$evil" && exec setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	bash -c 'ulimit -c unlimited; exec "$0" --hold "$1"' "$VICTIM" "$T/go.victim") >victim.out 2>&1 &
vpid=$!
for _ in $(seq 1 100); do grep -q '^held' victim.out && break; sleep 0.05; done
grep -q '^held' victim.out || fail "the victim did not start: $(cat victim.out)"
# Its report will be $T/spool/TIME-PID-threat-victim.json.zst: plant a symlink and a hard
# link to root files at every name it can have in the next seconds.
now=$(date +%s)
echo "shadow" >"$T/shadow"
echo "bashrc" >"$T/bashrc"
for t in $(seq "$now" $((now + 6))); do
	if [ $((t % 2)) = 0 ]; then
		ln -s "$T/shadow" "$T/spool/$t-$vpid-threat-victim.json.zst"
	else
		ln "$T/bashrc" "$T/spool/$t-$vpid-threat-victim.json.zst"
	fi
done
touch "$T/go"
touch "$T/go.victim"
wait "$vpid"
rc=$?
[ "$rc" -gt 128 ] || fail "the victim was expected to die on a signal, exit status $rc: $(cat victim.out)"
# The report: the one file of that pid that is no planted link (a symlink, or a name with
# a link count of 2) once the handler is done.
report=
for _ in $(seq 1 150); do
	for f in "$T/spool/"*-"$vpid"-*.json.zst; do
		[ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %h "$f")" = 1 ] && report=$f
	done
	[ -n "$report" ] && wait_handlers && break
	sleep 0.1
done
if [ -n "$report" ] && zstd -q -dc "$report" >"$vpid.json"; then
	# T18
	mode=$(stat -c '%a %u %g' "$report")
	[ "$mode" = "600 0 0" ] || check_failed "T18: the report is mode/uid/gid $mode, not 600 0 0: $report"
	jq -e --argjson pid "$vpid" '.process.pid == $pid and .process.uid == 65534' "$vpid.json" >/dev/null ||
		check_failed "T18: the report does not name pid $vpid, uid $NOBODY: $(head -c 300 "$vpid.json")"
	[ -L "$report" ] && check_failed "T03: the report is still the planted symlink"
else
	check_failed "no report for pid $vpid in $T/spool: $(ls -A "$T/spool")"
fi
# T03: the targets of the planted links
[ "$(cat "$T/shadow")" = shadow ] || check_failed "T03: $T/shadow (a symlink's target) was changed"
[ "$(cat "$T/bashrc")" = bashrc ] || check_failed "T03: $T/bashrc (a hard link's other name) was changed"
cmp -s "$T/secret" "$T/secret.orig" || check_failed "T03/T05: $T/secret (linked from the victim's cwd) was changed"
for n in core core.json report.json.zst crashpipe.lock; do
	[ -L "$evil/$n" ] || check_failed "T05: $evil/$n is no longer the symlink planted there"
done
[ -z "$(find "$evil" -newer "$T/go" ! -name '*.out' -print -quit)" ] ||
	check_failed "T05: files changed in the victim's cwd: $(find "$evil" -newer "$T/go")"
# T04, T05, T17: what the handler did, from strace
# every handler's log (the wrapper writes one per crash)
cat "$T"/strace.log.* >strace.log 2>/dev/null
if [ -s strace.log ]; then
	python3 "$abs_srcdir/check-strace.py" strace.log --allow-write "$T/spool" --allow-write "$T/dc" \
		--expect-write "$T/spool" --forbid "/proc/$vpid/cwd" >strace.check ||
		check_failed "T04/T05/T17: the handler's file system calls (strace.log): $(head -5 strace.check)"
else
	check_failed "no strace log of the handler at $T/strace.log"
fi

# --- T03: the spool swapped for a symlink after the handler checked it --------------------
# The handler starts, checks the spool and blocks on its stdin (the wrapper holds the core
# back); meanwhile the spool directory is moved away and a symlink to another root
# directory put at its name. The report must land in the directory that was checked (the
# handler keeps its fd), never in the symlink's target.
mkdir -m 700 "$T/swap" "$T/swap-target"
rm -f "$T/go.swap"
threat_conf SPOOL="$T/swap" HOLD_STDIN="$T/go.swap"
threat_pattern 1
(ulimit -c unlimited; exec "$VICTIM") >swap.victim.out 2>&1 &
vpid=$!
hp=
for _ in $(seq 1 200); do
	# blocked in read(0, ...): past its spool checks
	hp=$(pgrep -n -f -- "handle --spool $T/swap ") &&
		[ "$(cut -d' ' -f1,2 "/proc/$hp/syscall" 2>/dev/null)" = "0 0x0" ] && break
	hp=
	sleep 0.05
done
[ -n "$hp" ] || check_failed "T03 (swap): the handler for pid $vpid never blocked on its stdin"
mv "$T/swap" "$T/swap.checked"
ln -s "$T/swap-target" "$T/swap"
touch "$T/go.swap"
wait "$vpid"
wait_handlers || check_failed "T03 (swap): the handler is still running"
[ -z "$(ls -A "$T/swap-target")" ] ||
	check_failed "T03 (swap): the report went through the swapped-in symlink: $(ls -A "$T/swap-target")"
ls "$T/swap.checked/"*-"$vpid"-*.json.zst >/dev/null 2>&1 ||
	check_failed "T03 (swap): no report in the spool the handler checked: $(ls -A "$T/swap.checked")"
rm -f "$T/swap"

# --- T03: spools the handler must refuse ---------------------------------------------------
# refused_spool WHAT DIR [SPOOL_ARG]: crash into the spool SPOOL_ARG (default DIR); no
# report may appear in DIR, and the kernel log must name SPOOL_ARG.
refused_spool() {
	local what=$1 dir=$2 spool=${3:-$2} pid
	threat_conf SPOOL="$spool"
	crash_as 0 pid
	wait_handlers || check_failed "T03 ($what): the handler is still running"
	if ls "$dir"/*-"$pid"-*.json.zst >/dev/null 2>&1; then
		check_failed "T03 ($what): the handler wrote a report into $dir: $(ls "$dir")"
	fi
	dmesg | grep -F "spool $spool" | grep -q -e refusing -e 'symbolic link' ||
		check_failed "T03 ($what): no kernel log line names the refused spool $spool"
	# the handler's own line says why, not "cannot create the spool: <errno>"
	local said=
	for _ in $(seq 1 30); do
		said=$(dmesg | grep -F "pid $pid: spool $spool refused: " | grep -v -e 'Operation not permitted')
		[ -n "$said" ] && break
		sleep 0.1
	done
	[ -n "$said" ] ||
		check_failed "T03 ($what): the handler's log line (pid $pid) does not say why $spool was refused: $(dmesg | grep -F "spool $spool" | tail -2)"
}
threat_pattern 1
mkdir -m 700 "$T/real"
ln -s "$T/real" "$T/spool-link"
refused_spool "a symlink to a root directory" "$T/real" "$T/spool-link"

mkdir -m 700 "$T/spool-nobody"
chown "$NOBODY:$NOBODY" "$T/spool-nobody"
refused_spool "owned by nobody" "$T/spool-nobody"

mkdir -m 777 "$T/spool-777"
refused_spool "mode 0777" "$T/spool-777"

mkdir -m 700 "$T/evil/spool"
refused_spool "below a directory nobody owns" "$T/evil/spool"

# --- T03: install and uninstall, with a spool anyone can write to --------------------------
# A link at the temporary name install used, and a forged saved pattern for uninstall to
# write back into core_pattern as root.
mkdir -m 1777 "$T/ispool"
echo keep >"$T/ivictim"
ln -s "$T/ivictim" "$T/ispool/.saved-sysctl.tmp"
chown -h "$NOBODY:$NOBODY" "$T/ispool/.saved-sysctl.tmp"
before=$(cat /proc/sys/kernel/core_pattern)
if "$CRASHPIPE" install --spool "$T/ispool" >install.out 2>&1; then
	check_failed "T03: crashpipe install accepted the spool $T/ispool (mode 1777)"
fi
grep -q "spool $T/ispool" install.out || check_failed "T03: install did not name the refused spool: $(cat install.out)"
[ "$(cat "$T/ivictim")" = keep ] || check_failed "T03: crashpipe install wrote through a symlink in the spool"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ] ||
	check_failed "T03: crashpipe install changed core_pattern with a refused spool: $(cat /proc/sys/kernel/core_pattern)"
set_core_pattern "$before" 1
rm -f "$T/ispool/.saved-sysctl.tmp" "$T/ispool/.saved-sysctl"
printf 'core_pattern=|%s/forged\ncore_pipe_limit=1\n' "$T" >"$T/ispool/.saved-sysctl"
chown "$NOBODY:$NOBODY" "$T/ispool/.saved-sysctl"
"$CRASHPIPE" uninstall --spool "$T/ispool" >uninstall.out 2>&1 &&
	check_failed "T03: crashpipe uninstall restored from a spool anyone can write to"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ] ||
	check_failed "T03: crashpipe uninstall wrote a forged core_pattern: $(cat /proc/sys/kernel/core_pattern)"
set_core_pattern "$before" 1

checks_done
