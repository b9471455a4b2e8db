#!/bin/bash
# run-sandbox.sh - the confinement of the analysis child and of the DAC's process in
# `crashpipe handle` (threat T12, findings 2 and 7 of issue 7), seen from outside, through the
# real kernel pipe. A "container" is a directory with the crasher, libc and a /dotnet that
# holds a fake libcoreclr.so (tests/sandbox/fakeclr.c) and a hostile libmscordaccore.so
# (tests/sandbox/sandboxdac.c); the crasher (tests/sandbox/fakeapp.c) maps the first and
# aborts, under `unshare -m` + chroot, so it "is .NET" and the handler loads the second.
#   1. Held: a crash of uid 0 in the container (--no-live: the core path), the DAC held
#      after its load: /proc/PID/status of the analysis child and of the DAC's process:
#      Uid and Gid all 65534, no Groups, CapEff, CapPrm, CapBnd 0, NoNewPrivs 1, Seccomp 2
#      (3 filters for the DAC: the analysis', its own before the load, the allowlist after);
#      the DAC's user, mount, network and IPC namespaces are not the host's and its root is
#      not the host's /; it holds one pipe (its own, none of the root handler's: finding 3)
#      and no directory.
#   2. Parent death: SIGKILL the analysis child while the DAC is held: the DAC's process is
#      gone within a second (PR_SET_PDEATHSIG set after the uid change).
#   3. Escape: the same crash, the DAC reporting what its constructor could do (in the
#      HRESULT of CLRDataCreateInstance, so in runtime.dac_error), as uid 0 and as uid
#      12345: it cannot open a host file (world-readable, outside the container), cannot
#      create a marker in a world-writable host directory, is not uid or gid 0, cannot make
#      a socket, does not see the host's directories; no marker on the host.
# SKIPs, saying why, without root, a C compiler, unshare, chroot or user namespaces.
. "${srcdir:-.}/test-subr.sh"

need_root
need cc
need jq
need zstd
need flock
need unshare
need chroot
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] ||
	skip "user namespaces are disabled (/proc/sys/user/max_user_namespaces)"

short=$(mktemp -d /tmp/cpsb.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 755 "$short"
spool=$short/s
mkdir -p "$spool"
# What a DAC must not reach: a world-readable file and a world-writable directory on the
# host, outside the container.
host=$(mktemp -d /var/tmp/cpsb-host.XXXXXX) || exit 99
at_exit "rm -rf '$host'"
chmod 1777 "$host"
echo "host secret" >"$host/secret"
chmod 644 "$host/secret"

src=$abs_srcdir/sandbox
ctr=$short/ctr
mkdir -p "$ctr/dotnet" "$ctr/lib64" "$ctr/lib/x86_64-linux-gnu"
cc -O2 -o "$ctr/app" "$src/fakeapp.c" -ldl || fail "cannot build fakeapp"
cc -O2 -shared -fPIC -o "$ctr/dotnet/libcoreclr.so" "$src/fakeclr.c" || fail "cannot build fakeclr"
# The crasher's libraries, so that it runs inside the container's root.
for lib in $(ldd "$ctr/app" | grep -o '/[^ ]*'); do
	cp -L "$lib" "$ctr$lib" 2>/dev/null || { mkdir -p "$ctr$(dirname "$lib")" && cp -L "$lib" "$ctr$lib"; } ||
		fail "cannot copy $lib"
done
build_dac() {
	cc -O2 -shared -fPIC -DSANDBOXDAC_HOLD="$1" -DSANDBOXDAC_HOST_FILE="\"$host/secret\"" \
		-DSANDBOXDAC_MARKER="\"$host/marker\"" -o "$ctr/dotnet/libmscordaccore.so" "$src/sandboxdac.c" ||
		fail "cannot build the fake DAC"
}
chmod -R a+rX "$ctr"
host_userns=$(readlink /proc/self/ns/user)

take_core_pattern

# crash UID: run the container's app as UID (0 or another), in its own mount namespace and
# root; sets pid.
crash() {
	local user=()
	[ "$1" = 0 ] || user=(--userspec="$1:$1")
	(
		ulimit -c unlimited
		exec unshare -m --propagation private chroot "${user[@]}" "$ctr" /app
	) >"$test_dir/app.out" 2>&1 &
	pid=$!
}

# report_of PID NAME: the report of PID, decompressed to NAME.json; 1 when none came.
report_of() {
	local f
	wait_for_file f "$spool/*-$1-*.json.zst" 60 || { check_failed "$2: no report for pid $1: $(ls -A "$spool")"; return 1; }
	sleep 0.2
	zstd -q -dc "$f" >"$test_dir/$2.json" || { check_failed "$2: the report is not zstd"; return 1; }
}

# children PID: the pids of PID's children.
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null
}

status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr -s '\t ' ' ' | sed 's/ $//'
}

# check_confined WHAT PID: the checks of /proc/PID/status every confined process passes.
check_confined() {
	local what=$1 p=$2 v
	v=$(status_field "$p" Uid); [ "$v" = "65534 65534 65534 65534" ] || check_failed "$what: Uid '$v'"
	v=$(status_field "$p" Gid); [ "$v" = "65534 65534 65534 65534" ] || check_failed "$what: Gid '$v'"
	v=$(status_field "$p" Groups); [ -z "$v" ] || check_failed "$what: Groups '$v'"
	for f in CapEff CapPrm CapBnd CapAmb; do
		v=$(status_field "$p" $f); [ "$v" = 0000000000000000 ] || check_failed "$what: $f $v"
	done
	v=$(status_field "$p" NoNewPrivs); [ "$v" = 1 ] || check_failed "$what: NoNewPrivs '$v'"
	v=$(status_field "$p" Seccomp); [ "$v" = 2 ] || check_failed "$what: Seccomp '$v'"
	echo "$what: pid $p: $(grep -E '^(Uid|Gid|Groups|CapEff|CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):' "/proc/$p/status" | tr -s '\t\n' '  ')"
}

# ---- 1 and 2: held ----
build_dac 30
set_core_pattern "$(handle_pattern --spool "$spool" --no-live)" 1
crash 0
handler= analysis= dac=
for _ in $(seq 1 200); do
	# The handler: the process of this spool whose parent is not one of ours.
	for h in $(pgrep -x crashpipe); do
		case $(tr '\0' ' ' <"/proc/$h/cmdline" 2>/dev/null) in
		*" handle --spool $spool "*)
			pp=$(status_field "$h" PPid)
			[ "$(cat "/proc/$pp/comm" 2>/dev/null)" = crashpipe ] || handler=$h ;;
		esac
	done
	[ -n "$handler" ] && analysis=$(children "$handler" | awk '{print $1}')
	[ -n "$analysis" ] && dac=$(children "$analysis" | awk '{print $1}')
	# The DAC is held once its third filter (the allowlist) is on.
	[ -n "$dac" ] && [ "$(status_field "$dac" Seccomp_filters)" = 3 ] && break
	sleep 0.05
done
echo "handler ${handler:-none}, analysis child ${analysis:-none}, DAC's process ${dac:-none}"
if [ -z "$analysis" ] || [ -z "$dac" ]; then
	check_failed "held: no analysis child or DAC's process found under the handler"
else
	check_confined "analysis child" "$analysis"
	check_confined "DAC's process" "$dac"
	v=$(status_field "$dac" Seccomp_filters)
	[ "$v" = 3 ] || check_failed "DAC's process: $v seccomp filters, expected 3 (analysis, before the load, after)"
	for ns in user mnt net ipc; do
		[ "$(readlink "/proc/$dac/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] ||
			check_failed "DAC's process: the host's $ns namespace"
	done
	[ "$(readlink "/proc/$dac/ns/user")" != "$host_userns" ] || check_failed "DAC's process: host user namespace"
	root=$(readlink "/proc/$dac/root")
	echo "DAC's process: root $root, user ns $(readlink "/proc/$dac/ns/user") (host $host_userns)"
	[ -n "$root" ] && [ "$root" != / ] || check_failed "DAC's process: its root is the host's / ('$root')"
	# Its fds: one pipe (to its parent, not the handler's), no directory.
	dac_pipes=$(for f in /proc/"$dac"/fd/*; do readlink "$f"; done | grep '^pipe:' | sort -u)
	handler_pipes=$(for f in /proc/"$handler"/fd/*; do readlink "$f"; done | grep '^pipe:' | sort -u)
	echo "DAC's process: fds $(for f in /proc/"$dac"/fd/*; do echo -n "$(basename "$f")=$(readlink "$f") "; done)"
	[ "$(wc -w <<<"$dac_pipes")" = 1 ] || check_failed "DAC's process: pipes $(echo $dac_pipes), expected its own only"
	for pp in $dac_pipes; do
		grep -qxF "$pp" <<<"$handler_pipes" && check_failed "DAC's process: holds $pp, a pipe of the root handler"
	done
	for f in /proc/"$dac"/fd/*; do
		[ -d "$f" ] && check_failed "DAC's process: fd $(basename "$f") is a directory ($(readlink "$f"))"
	done
	# 2: the parent dies; the DAC must follow within a second.
	kill -KILL "$analysis"
	gone=
	for _ in $(seq 1 20); do
		st=$(ps -o stat= -p "$dac" 2>/dev/null)
		case $st in '' | Z*) gone=1; break ;; esac
		sleep 0.05
	done
	[ -n "$gone" ] || { check_failed "parent death: the DAC's process $dac outlived its parent by a second"; kill -KILL "$dac" 2>/dev/null; }
	[ -n "$gone" ] && echo "parent death: the DAC's process went with its parent"
fi
wait "$pid"
report_of "$pid" held && echo "held: $(jq -c '{partial, notes}' "$test_dir/held.json")"

# ---- 3: escape ----
build_dac 0
set_core_pattern "$(handle_pattern --spool "$spool")" 1
for uid in 0 12345; do
	rm -f "$host/marker"
	crash "$uid"
	wait "$pid"
	report_of "$pid" "escape-$uid" || continue
	r=$test_dir/escape-$uid.json
	err=$(jq -r '.runtime.dac_error // ""' "$r")
	echo "uid $uid: memory_source $(jq -r .memory_source "$r"), process.uid $(jq -r .process.uid "$r"), dac_error: $err"
	[ "$(jq -r .process.uid "$r")" = "$uid" ] || check_failed "uid $uid: process.uid $(jq -r .process.uid "$r")"
	hr=$(sed -n 's/.*HRESULT 0x\(a0f000[0-9a-f][0-9a-f]\).*/\1/p' <<<"$err")
	if [ -z "$hr" ]; then
		check_failed "uid $uid: the fake DAC did not run or did not report (dac_error: $err)"
	else
		bits=$((0x$hr & 0xff))
		((bits & 1)) && check_failed "uid $uid: the DAC opened a host file"
		((bits & 2)) && check_failed "uid $uid: the DAC created a file on the host"
		((bits & 4)) && check_failed "uid $uid: the DAC ran as uid or gid 0"
		((bits & 8)) && check_failed "uid $uid: the DAC made a socket"
		((bits & 16)) && check_failed "uid $uid: the DAC saw the host's directories"
	fi
	[ ! -e "$host/marker" ] || check_failed "uid $uid: a marker on the host, made by $(stat -c %u "$host/marker")"
done
checks_done
