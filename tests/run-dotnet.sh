#!/bin/bash
# run-dotnet.sh - .NET crashes end to end: the test app (tests/dotnet/Crasher) crashes in
# every scenario on .NET 10 (shared framework), .NET 9 and 8 (self-contained) through the real
# kernel pipe into `crashpipe handle`, with libcrashpipe-preload.so sending the runtime's
# createdump to crashpipe-createdump. The user "asked for dumps" (DOTNET_DbgEnableMiniDump=1,
# DOTNET_EnableCrashReport=1), so the stub chains to the real createdump, which writes the
# runtime's own crash report of the same crash: the oracle.
#
# For each runtime and scenario the report in the spool must have:
#   - >= 99% of createdump's named managed frames, per thread (matched by tid), in order
#     (tests/dotnet-oracle.py compare: longest common subsequence / createdump's frames; a
#     line "agreement dotnetN SCENARIO: M/N (P%)"); the same crashed thread; on it the same
#     exception type as createdump. Counted: the crashed thread and the app's own threads
#     (--stable Crasher.): createdump's snapshot is taken seconds before the kernel core, and
#     the runtime's own threads (thread pool, timer) may move in between; they are compared
#     and shown ("all threads M/N") but do not fail the test;
#   - the exception type and message exactly as the app threw them (the app prints them, and
#     they must equal the string constants in Program.cs), the inner exception for main;
#   - process.tid = the crashed thread, process.signal 6 (11 for pinvoke);
#   - runtime.kind "coreclr", runtime.version = the app's Environment.Version, no dac_error;
#   - the crashed thread's managed frames the app names, in order; managed frames with
#     assembly, token, il_offset;
#   - pinvoke: no exception, the crashlib native frames before the first managed frame;
#   - the hint file gone from the hint directory;
#   - memory_source "live": the handler analysed the process while the kernel dumped it;
#     except for the worker scenario, run with `handle --no-live` (memory_source "core"),
#     so the core-only path, also the fallback of a failed live analysis, meets the same
#     oracles.
# dotnet-dump's clrstack on createdump's dump is printed as a second opinion
# ("agreement dotnetN SCENARIO vs dotnet-dump: ..."); set CRASHPIPE_DOTNET_SOS_MIN=0.99 to make it count.
#
# SKIPs, saying why, while the preload hook, the stub or crashpipe's DAC support is not built.
# CRASHPIPE_DOTNET_RUNTIMES / CRASHPIPE_DOTNET_SCENARIOS choose a subset.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need --dac
"$CRASHPIPE" handle --help 2>&1 | grep -q -- --hint-dir ||
	skip "crashpipe handle has no --hint-dir option yet"
dotnet_short dn
dotnet_hook
dotnet_build

use_pattern() { # [--no-live]
	dotnet_pipe --spool "$spool" --hint-dir "$hints" "$@"
}
use_pattern --no-live	# the longest: SKIP now, not halfway, if it does not fit

sos_min=${CRASHPIPE_DOTNET_SOS_MIN:-}
summary=()
for rt in "${RUNTIMES[@]}"; do
	for sc in $(dotnet_scenarios); do
		d=$test_dir/$rt-$sc
		mkdir -p "$d"
		if [ "$sc" = worker ]; then
			use_pattern --no-live
			source=core
		else
			use_pattern
			source=live
		fi
		out=$d/app.out
		for attempt in 1 2; do
			run_app pid "$rt" "$sc" "$out" "${HOOK[@]}" DOTNET_DbgEnableMiniDump=1 DOTNET_EnableCrashReport=1 \
				DOTNET_DbgMiniDumpType=1 DOTNET_DbgMiniDumpName="$d/core.%p" || true
			oracle_raced "$d/core.$pid.crashreport.json" "$out" "$attempt" || break
		done
		check_app_output "$rt" "$sc" "$out"

		# the oracle: the real createdump, run by the stub in the same crash
		oracle=$d/core.$pid.crashreport.json
		[ -s "$oracle" ] || {
			check_failed "$rt $sc: no createdump crash report $oracle (did the stub chain to the real createdump?): $(grep -i createdump "$out" | tail -3)"
			oracle=
		}
		if ! wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
			check_failed "$rt $sc: no report $spool/*-$pid-*.json.zst within 60 s: $(ls -A "$spool")"
			summary+=("$rt $sc: no report")
			continue
		fi
		sleep 0.2 # renamed into place when complete; let a slow zstd writer finish anyway
		if ! zstd -q -dc "$report" >"$d/crashpipe.json"; then
			check_failed "$rt $sc: $report is not zstd"
			continue
		fi
		cp "$report" "$d/"

		if [ -n "$oracle" ]; then
			python3 "$ORACLE" createdump-report "$oracle" -o "$d/createdump.json" ||
				check_failed "$rt $sc: cannot parse $oracle"
			crashed=$(python3 -c 'import json,sys; print(*[t["tid"] for t in json.load(open(sys.argv[1]))["threads"] if t["crashed"]])' "$d/createdump.json")
			python3 "$ORACLE" compare "$oracle" "$d/crashpipe.json" --min 0.99 --per-thread \
				--stable Crasher. --name "$rt $sc" >"$d/compare.out"
			rc=$?
			cat "$d/compare.out"
			[ "$rc" = 0 ] || check_failed "$rt $sc: managed frames differ from createdump's ($(grep -m1 FAILED "$d/compare.out"))"
			summary+=("$(head -1 "$d/compare.out")")
		else
			crashed=
		fi

		# facts
		args=(--signal "$(scenario_signal "$sc")" --managed-fields --memory-source "$source"
			--runtime-version "$(app_runtime_version "$out")" --runtime-dir-has libcoreclr.so
			--frames "$(app_fact "$out" "expect frames")")
		tid=$crashed
		[ "$sc" = async ] || [ -n "$tid" ] || tid=$(app_fact "$out" "crash tid")
		if [ "$sc" != async ] && [ -n "$crashed" ] && [ "$crashed" != "$(app_fact "$out" "crash tid")" ]; then
			check_failed "$rt $sc: createdump says thread $crashed crashed, the app printed $(app_fact "$out" "crash tid")"
		fi
		[ -z "$tid" ] || args+=(--tid "$tid")
		case $sc in
		pinvoke)
			args+=(--no-exception --native-then-managed "$(app_fact "$out" "expect native")") ;;
		failfast) ;; # the exception (createdump: ExecutionEngineException) is compared by compare
		stackoverflow) args+=(--type System.StackOverflowException) ;;
		*)
			args+=(--type "$(app_fact "$out" "expect type")" --message "$(scenario_message "$sc")")
			[ -z "$tid" ] || args+=(--exception-thread "$tid")
			while IFS= read -r inner; do
				args+=(--inner "$inner")
			done < <(app_facts "$out" "expect inner")
			;;
		esac
		case $sc in
		main | threads100) [ "$(app_fact "$out" "expect inner")" = "System.IO.IOException: $(source_message MainInner)" ] ||
			check_failed "$rt $sc: the app printed inner '$(app_fact "$out" "expect inner")', the source says '$(source_message MainInner)'" ;;
		esac
		python3 "$ORACLE" check-crashpipe "$d/crashpipe.json" "${args[@]}" >"$d/check.out" ||
			check_failed "$rt $sc: report facts: $(tr '\n' ' ' <"$d/check.out")"
		cat "$d/check.out"

		left=$(ls -A "$hints")
		[ -z "$left" ] || check_failed "$rt $sc: hint files left in $hints: $left"
		rm -f "$hints"/* 2>/dev/null

		# second opinion: SOS on createdump's dump of the same crash
		dumpfile=$d/core.$pid
		if [ -s "$dumpfile" ] && clrstack "$dumpfile" "$d/clrstack.txt"; then
			if python3 "$ORACLE" compare "$d/clrstack.txt" "$d/crashpipe.json" ${crashed:+--crashed-tid "$crashed"} \
				--min "${sos_min:-0}" --stable Crasher. --name "$rt $sc vs dotnet-dump" >"$d/sos.out"; then
				head -1 "$d/sos.out"
			else
				cat "$d/sos.out"
				[ -z "$sos_min" ] || check_failed "$rt $sc: managed frames differ from dotnet-dump's"
			fi
		fi
		rm -f "$dumpfile"
	done
done
printf '%s\n' "${summary[@]}"
checks_done
