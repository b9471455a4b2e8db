#!/bin/bash
# run-dac-forge.sh - a hostile DAC cannot forge the report or blow up the handler (issue 7,
# finding 3).
#
# A copy of the self-contained .NET 8 test app gets a fake libmscordaccore.so
# (tests/dotnet/fakedac/fakedac.c, -DFAKEDAC_FORGE) whose constructor writes a forged
# report (process 1, sshd, uid 0) and then 30 MiB of JSON to every pipe, socket or device
# fd it has (having first listed its fds). The app crashes as user nobody (scenario main):
#   1. through the real kernel pipe into `crashpipe handle`: exactly one report in the
#      spool, with the real pid, exe, comm and uid 65534, nothing of sshd, and
#      runtime.dac_error saying what went wrong with the DAC; and the DAC's process had
#      one pipe (its own), no socket, nothing but files besides;
#   2. the same crash's kernel core, given to `crashpipe handle` on stdin under
#      /usr/bin/time: the handler's peak RSS with the forging DAC stays within 16 MiB of
#      its peak RSS with a DAC that just crashes (today: hundreds of MiB more).
# SKIPs, saying why, without root, a C compiler, setpriv, /usr/bin/time or the
# self-contained .NET 8 build.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

need_root
need cc
need jq
need zstd
need flock
need setpriv
[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

dotnet_build
[ -n "${APP[dotnet8]:-}" ] || skip "the self-contained .NET 8 build of the test app is not there (its DAC is the one replaced)"

short=$(mktemp -d /tmp/cpdg.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 755 "$short"
spool=$short/s
mkdir -p "$spool" "$short/s2" "$short/s3"
mkdir -m 1777 "$short/cores"
cp -a "$(dirname "${APP[dotnet8]}")" "$short/app" || fail "cannot copy the app"
app=$short/app/$(basename "${APP[dotnet8]}")
dac=$short/app/libmscordaccore.so
[ -f "$dac" ] || skip "the self-contained app has no libmscordaccore.so to replace"
fakedac=$abs_srcdir/dotnet/fakedac/fakedac.c
mkdir -m 1777 "$short/m"
cc -O2 -shared -fPIC -DFAKEDAC_FORGE -DFAKEDAC_FDS="\"$short/m/fds\"" -o "$short/forge.so" "$fakedac" ||
	fail "cannot build the forging DAC"
cc -O2 -shared -fPIC -o "$short/crash.so" "$fakedac" || fail "cannot build the crashing DAC"
cp "$short/forge.so" "$dac"

NOBODY=65534
# crash_app: run the app as nobody; sets pid.
crash_app() {
	(
		cd "$short" || exit 99
		ulimit -c unlimited
		exec setpriv --reuid $NOBODY --regid $NOBODY --clear-groups env HOME="$short" "$app" main
	) >"$test_dir/app.out" 2>&1 &
	pid=$!
	wait "$pid"
	[ $? = $((128 + 6)) ] || fail "the app did not die of SIGABRT: $(tail -3 "$test_dir/app.out")"
}

pattern=$(handle_pattern --spool "$spool")
[ ${#pattern} -le 127 ] || skip "core_pattern too long (${#pattern} bytes): $pattern"
take_core_pattern

# 1. Through the kernel pipe.
set_core_pattern "$pattern" 1
crash_app
wait_for_file report "$spool/*-$pid-*.json.zst" 60 || fail "no report within 60 s: $(ls -A "$spool")"
sleep 1
r=$test_dir/report.json
zstd -q -dc "$report" >"$r" || fail "the report is not zstd"
echo "pipe: $(jq -c '{pid: .process.pid, comm: .process.comm, exe: .process.exe, uid: .process.uid, dac_error: .runtime.dac_error}' "$r")"
[ "$(ls "$spool" | wc -l)" = 1 ] || check_failed "more than one file in the spool: $(ls "$spool")"
[ "$(jq -r .process.pid "$r")" = "$pid" ] || check_failed "process.pid is $(jq -r .process.pid "$r"), not $pid"
[ "$(jq -r .process.uid "$r")" = $NOBODY ] || check_failed "process.uid is $(jq -r .process.uid "$r"), not $NOBODY"
[ "$(jq -r .process.exe "$r")" = "$app" ] || check_failed "process.exe is $(jq -r .process.exe "$r"), not $app"
[ "$(jq -r .process.comm "$r")" = "$(basename "$app" | cut -c1-15)" ] || check_failed "process.comm is $(jq -r .process.comm "$r")"
! grep -q sshd "$r" || check_failed "the report mentions sshd"
jq -e '.runtime.dac_error | test("malformed|crashed|timed out")' "$r" >/dev/null ||
	check_failed "runtime.dac_error does not say what the DAC did: $(jq -c .runtime "$r")"
jq -e '[.threads[0].frames[] | select(.function != null)] | length >= 3' "$r" >/dev/null ||
	check_failed "the crashed thread lost its native frames"
if [ -s "$short/m/fds" ]; then
	echo "the DAC's fds: $(tr '\n' ';' <"$short/m/fds")"
	[ "$(grep -c ' pipe:' "$short/m/fds")" = 1 ] || check_failed "the DAC's process had more than its own pipe: $(grep ' pipe:' "$short/m/fds" | tr '\n' ' ')"
	! grep -q ' socket:' "$short/m/fds" || check_failed "the DAC's process had a socket"
	# The rest: the DAC, the files the target reads and its root, /proc/PID/mem, /dev/null.
	others=$(grep -v ' pipe:' "$short/m/fds" | grep -v ' /' || true)
	[ -z "$others" ] || check_failed "the DAC's process had other fds: $others"
else
	# In the sandbox the DAC's root is its own directory: the host path it would write its
	# list to is out of its sight. tests/run-sandbox.sh checks its fds from outside.
	echo "NOTE: the forging DAC could not write its fd list to the host (chrooted); run-sandbox.sh checks its fds"
fi

# 2. Peak RSS of the handler on the same crash's core, forging DAC against crashing DAC.
set_core_pattern "$short/cores/core.%p" 0
crash_app
core=$short/cores/core.$pid
for _ in $(seq 1 200); do [ -s "$core" ] && break; sleep 0.05; done
[ -s "$core" ] || fail "the kernel wrote no core at $core"
printf '%s\n' "$_saved_pattern" >/proc/sys/kernel/core_pattern
now=$(date +%s)
# handle_rss SPOOL: the peak RSS (KiB) of `crashpipe handle` on the core, on stdin.
handle_rss() {
	/usr/bin/time -f %M -o "$test_dir/time.$1" "$CRASHPIPE" handle --spool "$short/$1" \
		"$pid" "$pid" $NOBODY $NOBODY 6 "$now" unlimited cpdg <"$core" >"$test_dir/handle.$1.out" \
		2>"$test_dir/handle.$1.err" ||
		check_failed "handle ($1) failed: $(tail -3 "$test_dir/handle.$1.err")"
	tail -1 "$test_dir/time.$1"
	[ ! -s "$test_dir/handle.$1.out" ] || check_failed "handle ($1) wrote to its standard output: $(head -c 200 "$test_dir/handle.$1.out")"
}
forge_rss=$(handle_rss s2)
cp "$short/crash.so" "$dac"
crash_rss=$(handle_rss s3)
echo "peak RSS of handle: forging DAC ${forge_rss} KiB, crashing DAC ${crash_rss} KiB"
# ASan keeps freed memory in quarantine and adds redzones: the same bound, tripled there.
slack=$((16 * 1024))
[ -z "${CP_SANITIZERS:-}" ] || slack=$((3 * slack))
[ "$forge_rss" -le $((crash_rss + slack)) ] ||
	check_failed "the forging DAC took the handler's peak RSS to $forge_rss KiB (with a crashing DAC: $crash_rss KiB)"
for s in s2 s3; do
	f=$(ls "$short/$s"/*.json.zst 2>/dev/null | head -1)
	[ -n "$f" ] || { check_failed "handle on stdin ($s) wrote no report"; continue; }
	zstd -q -dc "$f" | jq -e --argjson pid "$pid" '.process.pid == $pid and .process.uid == 65534' >/dev/null ||
		check_failed "handle on stdin ($s): the report's identity is not the crash's"
done
checks_done
