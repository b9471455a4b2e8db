#!/bin/bash
# run-handle-forged.sh - a hostile DAC cannot forge the report (issue 7, finding 3).
#
# A copy of the self-contained .NET 8 test app gets a planted libmscordaccore.so
# (tests/dotnet/forgedac/forgedac.c) whose constructor writes a forged report - process 1,
# "sshd", uid 4242, the crashed process's own thread ids - to every file descriptor it has,
# which on 080e690 included the pipe to the root handler. The app crashes (scenario main)
# through the real kernel pipe into `crashpipe handle`:
#   mode 0: the forgery, then the real analysis' own report, arrive on the pipe;
#   mode 1: the DAC also kills the analysis child: the forgery is all that arrives.
# Either way the report written is the crashed process's: its pid, uid, comm, exe, cmdline
# and hostname as the root handler knows them, nothing of the forgery in them.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

need_root
need cc
need jq
need zstd
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

dotnet_build
[ -n "${APP[dotnet8]:-}" ] || skip "the self-contained .NET 8 build of the test app is not there (its DAC is the one replaced)"

short=$(mktemp -d /tmp/cphf.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 755 "$short"
spool=$short/s
mkdir -p "$spool"
cp -a "$(dirname "${APP[dotnet8]}")" "$short/app" || fail "cannot copy the app"
app=$short/app/$(basename "${APP[dotnet8]}")
[ -f "$short/app/libmscordaccore.so" ] || skip "the self-contained app has no libmscordaccore.so to replace"

pattern=$(handle_pattern --spool "$spool")
[ ${#pattern} -le 127 ] || skip "core_pattern too long (${#pattern} bytes): $pattern"
take_core_pattern
set_core_pattern "$pattern" 1

crash_with() {
	local mode=$1 pid report r
	cc -O2 -shared -fPIC -DFORGEDAC_MODE="$mode" -o "$short/app/libmscordaccore.so" \
		"$abs_srcdir/dotnet/forgedac/forgedac.c" || fail "cannot build the forging DAC"
	(
		ulimit -c unlimited
		exec "$app" main
	) >"$test_dir/app.$mode.out" 2>&1 &
	pid=$!
	wait "$pid"
	[ $? = $((128 + 6)) ] || check_failed "mode $mode: the app did not die of SIGABRT: $(tail -3 "$test_dir/app.$mode.out")"
	if ! wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
		check_failed "mode $mode: no report within 60 s: $(ls -A "$spool")"
		return
	fi
	sleep 0.2
	r=$test_dir/report.$mode.json
	zstd -q -dc "$report" >"$r" || { check_failed "mode $mode: not zstd"; return; }
	echo "mode $mode: $(jq -c '{process: {pid: .process.pid, uid: .process.uid, comm: .process.comm, exe: .process.exe, hostname: .process.hostname}, notes}' "$r")"
	[ "$(jq -r .process.pid "$r")" = "$pid" ] || check_failed "mode $mode: process.pid $(jq -r .process.pid "$r"), expected $pid"
	[ "$(jq -r .process.uid "$r")" = 0 ] || check_failed "mode $mode: process.uid $(jq -r .process.uid "$r"), expected 0"
	[ "$(jq -r .process.gid "$r")" = 0 ] || check_failed "mode $mode: process.gid $(jq -r .process.gid "$r"), expected 0"
	[ "$(jq -r .process.exe "$r")" = "$app" ] || check_failed "mode $mode: process.exe $(jq -r .process.exe "$r"), expected $app"
	[ "$(jq -r .process.comm "$r")" = "$(basename "$app" | cut -c1-15)" ] ||
		check_failed "mode $mode: process.comm $(jq -r .process.comm "$r")"
	[ "$(jq -r .process.hostname "$r")" = "$(hostname)" ] ||
		check_failed "mode $mode: process.hostname $(jq -r .process.hostname "$r"), expected $(hostname)"
	jq -e '.process | tostring | test("sshd|forged|4242") | not' "$r" >/dev/null ||
		check_failed "mode $mode: the forgery reached the process metadata: $(jq -c .process "$r")"
	jq -e '[.threads[] | select(.name == "forged")] | length == 0' "$r" >/dev/null ||
		check_failed "mode $mode: forged thread names in the report"
}

crash_with 0
crash_with 1
checks_done
