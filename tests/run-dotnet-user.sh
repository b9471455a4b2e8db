#!/bin/bash
# run-dotnet-user.sh - a .NET service that runs as an ordinary user, as most do.
#
# The test app (scenario main, each runtime built) crashes as user nobody, without the
# preload hook, through the real kernel pipe into `crashpipe handle` (root). The handler
# reads /proc/PID/mem as root, then analyses as nobody (the DAC too), so the report must
# show what run-dotnet.sh shows for root: memory_source "live", process.uid 65534, no
# dac_error, the exception the app threw and the crashed thread's managed frames in order.
# SKIPs, saying why, without root or setpriv.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need
need setpriv
need jq
dotnet_build
dotnet_short du
dotnet_pipe --spool "$spool"

NOBODY=65534
for rt in "${RUNTIMES[@]}"; do
	out=$test_dir/$rt.out
	(
		cd "$short" || exit 99
		ulimit -c unlimited
		exec setpriv --reuid $NOBODY --regid $NOBODY --clear-groups env HOME="$short" "${APP[$rt]}" main
	) >"$out" 2>&1 &
	pid=$!
	wait "$pid"
	[ $? = $((128 + 6)) ] || check_failed "$rt: the app did not die of SIGABRT: $(tail -3 "$out")"
	if ! wait_for_file report "$spool/*-$pid-*.json.zst" 30; then
		check_failed "$rt: no report within 30 s: $(ls -A "$spool")"
		continue
	fi
	sleep 0.2
	r=$test_dir/$rt.json
	zstd -q -dc "$report" >"$r" || { check_failed "$rt: not zstd"; continue; }
	echo "$rt: $(jq -c '{memory_source, partial, uid: .process.uid, dac_error: .runtime.dac_error, exception: .exception.type}' "$r")"
	[ "$(jq -r .memory_source "$r")" = live ] || check_failed "$rt: memory_source $(jq -r .memory_source "$r"), expected live"
	[ "$(jq -r .process.uid "$r")" = $NOBODY ] || check_failed "$rt: process.uid $(jq -r .process.uid "$r")"
	[ "$(jq -r .runtime.dac_error "$r")" = null ] || check_failed "$rt: dac_error: $(jq -r .runtime.dac_error "$r")"
	python3 "$ORACLE" check-crashpipe "$r" --signal 6 --managed-fields --memory-source live \
		--runtime-version "$(app_runtime_version "$out")" --frames "$(app_fact "$out" "expect frames")" \
		--type "$(app_fact "$out" "expect type")" --message "$(scenario_message main)" >"$test_dir/$rt.check" ||
		check_failed "$rt: report facts: $(tr '\n' ' ' <"$test_dir/$rt.check")"
	cat "$test_dir/$rt.check"
done
checks_done
