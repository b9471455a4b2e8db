#!/bin/bash
# run-dac-failure.sh - a DAC that fails costs the managed frames, never the report.
#
# A copy of the self-contained .NET 8 test app gets a fake libmscordaccore.so
# (tests/dotnet/fakedac/fakedac.c) whose CLRDataCreateInstance dies of SIGSEGV. The app
# crashes (scenario main) through the real kernel pipe into `crashpipe handle`:
#   1. the DAC crashes at once: the analysis of the live process goes on without it; the
#      report says memory_source "live", partial, runtime.dac_error "... crashed ...", and
#      the crashed thread still has its native frames, named (libc's abort among them);
#   2. the DAC first sleeps past the live analysis' DAC limit (4 s), then crashes: the live
#      analysis gives up, the handler analyses the core instead (memory_source "core"),
#      where the DAC gets its full time and crashes: same checks, and the report still
#      comes, within 40 s.
# SKIPs, saying why, without root, a C compiler or the self-contained .NET 8 build.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

need_root
need cc
need jq
need zstd
need flock
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

dotnet_build
[ -n "${APP[dotnet8]:-}" ] || skip "the self-contained .NET 8 build of the test app is not there (its DAC is the one replaced)"

short=$(mktemp -d /tmp/cpdf.XXXXXX) || exit 99
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

# crash_with DELAY SOURCE: fake DAC that crashes after DELAY s; the report must come from SOURCE.
crash_with() {
	local delay=$1 source=$2 pid report
	cc -O2 -shared -fPIC -DFAKEDAC_DELAY="$delay" -o "$short/app/libmscordaccore.so" \
		"$abs_srcdir/dotnet/fakedac/fakedac.c" || fail "cannot build the fake DAC"
	(
		ulimit -c unlimited
		exec "$app" main
	) >"$test_dir/app.$delay.out" 2>&1 &
	pid=$!
	wait "$pid"
	[ $? = $((128 + 6)) ] || check_failed "delay $delay: the app did not die of SIGABRT: $(tail -3 "$test_dir/app.$delay.out")"
	if ! wait_for_file report "$spool/*-$pid-*.json.zst" 40; then
		check_failed "delay $delay: no report within 40 s: $(ls -A "$spool")"
		return
	fi
	sleep 0.2
	zstd -q -dc "$report" >"$test_dir/report.$delay.json" || { check_failed "delay $delay: not zstd"; return; }
	local r=$test_dir/report.$delay.json
	echo "delay $delay: $(jq -c '{memory_source, partial, dac_error: .runtime.dac_error, frames: [.threads[0].frames[].function]}' "$r")"
	[ "$(jq -r .memory_source "$r")" = "$source" ] ||
		check_failed "delay $delay: memory_source $(jq -r .memory_source "$r"), expected $source"
	[ "$(jq -r .partial "$r")" = true ] || check_failed "delay $delay: a report without managed frames must be partial"
	jq -e '.runtime.dac_error | test("crashed")' "$r" >/dev/null ||
		check_failed "delay $delay: runtime.dac_error does not say the DAC crashed: $(jq -c .runtime "$r")"
	jq -e '[.threads[0].frames[] | select(.kind == "managed")] | length == 0' "$r" >/dev/null ||
		check_failed "delay $delay: managed frames without a DAC?"
	jq -e '[.threads[0].frames[] | select(.function != null)] | length >= 3' "$r" >/dev/null ||
		check_failed "delay $delay: the crashed thread lost its native frames"
	jq -e '[.threads[0].frames[].function] | any(. == "abort" or . == "__GI_abort")' "$r" >/dev/null ||
		check_failed "delay $delay: no abort among the crashed thread's frames"
	[ "$(jq -r .process.pid "$r")" = "$pid" ] || check_failed "delay $delay: process.pid is not $pid"
}

crash_with 0 live
crash_with 6 core
checks_done
