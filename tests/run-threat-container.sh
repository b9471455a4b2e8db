#!/bin/bash
# run-threat-container.sh - threat T06 (namespaces and containers) of
# ../shared/ref/threats.md, for the files of a container's root (the DAC part of T06 is
# tests/run-dac-*.sh's).
#
# User nobody starts the victim in its own user, mount and PID namespace, chrooted into a root it
# owns (unshare -Urm --root), then, while it is held before crashing, swaps the files it has
# mapped: its executable becomes a symlink to an absolute host path (an ELF file outside
# the container, as root would see it), libc becomes a FIFO. Then it crashes, through the
# real kernel pipe into `crashpipe handle` (under strace). Pass: the report arrives in
# seconds (no FIFO waited on), the host file the symlink names is never opened, nothing is
# opened for writing outside the spool and the cache, and the report gives the host's pid
# and uid (%P, %u), not the pid 1 and uid 0 the process had in its namespaces (its core's
# NT_PRPSINFO says those).
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need strace
need python3
need zstd
need jq
need unshare
threat_setup
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups unshare -Urm true 2>/dev/null ||
	skip "user nobody cannot make a user and mount namespace here"

# The container's root, owned by nobody: the victim and the libraries it needs.
root=$T/root
mkdir -p "$root/bin"
cp "$VICTIM" "$root/bin/victim"
for lib in $(ldd "$VICTIM" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "$root$(dirname "$lib")"
	cp "$lib" "$root$lib"
done
chown -R "$NOBODY:$NOBODY" "$root"
libc=$(ldd "$VICTIM" | awk '$1 ~ /^libc\.so/ { print $3 }')
# What a symlink in the container names, seen from the host: an ELF file root may read.
cp "$VICTIM" "$T/hostsecret"
chmod 600 "$T/hostsecret"

threat_conf STRACE_LOG="$T/strace.log"
threat_pattern 1
setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	unshare -Urmpf --root="$root" /bin/victim --hold /go >victim.out 2>&1 &
vpid=$!
for _ in $(seq 1 100); do grep -q '^held' victim.out && break; sleep 0.05; done
grep -q '^held' victim.out || fail "the victim did not start in its container: $(cat victim.out)"
# pid 1 in its PID namespace; the host's pid is the child of unshare
nspid=$(sed -n 's/^pid //p' victim.out)
hpid=$(pgrep -P "$vpid" -x victim) || fail "no victim under unshare (pid $vpid)"
mv "$root/bin/victim" "$root/bin/victim.old"
ln -s "$T/hostsecret" "$root/bin/victim"
mv "$root$libc" "$root$libc.old"
mkfifo -m 644 "$root$libc"
chown -h "$NOBODY:$NOBODY" "$root/bin/victim" "$root$libc"
t0=$SECONDS
touch "$root/go"
wait "$vpid"
if report_of report "$hpid" "$T/spool" 40; then
	[ $((SECONDS - t0)) -le 20 ] || check_failed "T06: the report took $((SECONDS - t0)) s (a FIFO waited on?)"
	# the host's pid and uid (%P, %u), not what the namespaces showed the process (pid
	# $nspid, uid 0): nobody may file a report as uid 0
	jq -e --argjson pid "$hpid" '.process.pid == $pid and .process.uid == 65534 and .process.gid == 65534' "$hpid.json" >/dev/null ||
		check_failed "T06: the report's pid/uid/gid are $(jq -c '.process | {pid, uid, gid}' "$hpid.json"), not $hpid/65534/65534 (the namespace's view: $nspid/0/0)"
	jq -e '.threads[0].frames | length >= 1' "$hpid.json" >/dev/null || check_failed "T06: no frames"
else
	check_failed "T06: no report for pid $hpid within 40 s"
fi
wait_handlers
# every handler's log (the wrapper writes one per crash)
cat "$T"/strace.log.* >strace.log 2>/dev/null
if [ -s strace.log ]; then
	python3 "$abs_srcdir/check-strace.py" strace.log --allow-write "$T/spool" --allow-write "$T/dc" \
		--expect-write "$T/spool" --forbid "$T/hostsecret" >strace.check ||
		check_failed "T06: the handler's file system calls (strace.log): $(head -5 strace.check)"
else
	check_failed "no strace log of the handler"
fi

checks_done
