#!/bin/bash
# run-dotnet-oracle.sh - the oracle half of the .NET tests, no crashpipe involved: the
# runtime's own createdump crash report (DOTNET_EnableCrashReport) for every scenario of the
# test app (tests/dotnet/Crasher) on .NET 10 (shared framework), .NET 9 and 8 (self-contained),
# parsed by tests/dotnet-oracle.py, must say what the app did: the crashed thread (the tid the
# app printed), the exception type, the managed frames in order, the signal class, the runtime
# version; and dotnet-dump's "clrstack -all" on a createdump dump must agree with the crash
# report (>= 99% of its named managed frames, in order). run-dotnet.sh relies on all of this.
#
# The kernel writes no core here (RLIMIT_CORE 0 and a file core_pattern in this test's
# directory, taken with take_core_pattern so that no pipe handler sees these crashes).
# CRASHPIPE_DOTNET_RUNTIMES / CRASHPIPE_DOTNET_SCENARIOS choose a subset.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

need python3
need flock
dotnet_build

take_core_pattern
mkdir -p "$test_dir/cores"
set_core_pattern "$test_dir/cores/core.%p"

for rt in "${RUNTIMES[@]}"; do
	for sc in $(dotnet_scenarios); do
		d=$test_dir/$rt-$sc
		mkdir -p "$d"
		# a small dump (type 1, normal) for dotnet-dump in two scenarios; a report only elsewhere
		case $sc in
		main | pinvoke) dump=(DOTNET_EnableCrashReport=1 DOTNET_DbgMiniDumpType=1) ;;
		*) dump=(DOTNET_EnableCrashReportOnly=1) ;;
		esac
		out=$d/app.out
		for attempt in 1 2; do
			(
				ulimit -c 0
				exec env DOTNET_DbgEnableMiniDump=1 "${dump[@]}" DOTNET_DbgMiniDumpName="$d/core.%p" \
					"${APP[$rt]}" "$sc"
			) >"$out" 2>&1 &
			pid=$!
			wait "$pid" 2>/dev/null
			rc=$?
			oracle_raced "$d/core.$pid.crashreport.json" "$out" "$attempt" || break
		done
		sig=$(scenario_signal "$sc")
		[ "$rc" = $((128 + sig)) ] ||
			check_failed "$rt $sc: exit status $rc, expected $((128 + sig)): $(tail -3 "$out")"
		check_app_output "$rt" "$sc" "$out"
		report=$d/core.$pid.crashreport.json
		if [ ! -s "$report" ]; then
			check_failed "$rt $sc: createdump wrote no crash report $report: $(grep createdump "$out" | tail -3)"
			continue
		fi
		python3 "$ORACLE" createdump-report "$report" -o "$d/createdump.json" ||
			{ check_failed "$rt $sc: dotnet-oracle.py cannot parse $report"; continue; }

		args=(--runtime-version "$(app_runtime_version "$out")"
			--frames "$(app_fact "$out" "expect frames")")
		# the app's thread; async: the runtime rethrows on a thread pool thread of its choice
		[ "$sc" = async ] || args+=(--crashed-tid "$(app_fact "$out" "crash tid")")
		case $sc in
		pinvoke)
			# createdump keeps one frame per SP: the unnamed InlinedCallFrame wins over
			# PInvokeLevel2, which has the same SP (NOTES.md); SOS shows both
			args+=(--no-exception --exception-code 0x20000000
				--frames "$(app_fact "$out" "expect frames" | sed 's/Crasher.Program.PInvokeLevel2,//')") ;;
		failfast) args+=(--exception-type System.ExecutionEngineException --exception-code 0x05000000) ;;
		*) args+=(--exception-type "$(app_fact "$out" "expect type")" --exception-code 0x05000000) ;;
		esac
		[ "$sc" != threads100 ] || args+=(--threads-with Crasher.Program.ParkLevel1:100)
		check "$rt $sc: createdump crash report" python3 "$ORACLE" check-createdump "$report" "${args[@]}"
		python3 - "$d/createdump.json" "$rt" "$sc" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ct = [t for t in d["threads"] if t["crashed"]]
ct = ct[0] if ct else {"tid": None, "frames": [], "exception_type": None}
named = [f for f in ct["frames"] if f["kind"] == "managed"]
print("createdump %s %s: %d threads, crashed %s, exception %s, code %s, %d named managed frames, top %s" % (
    sys.argv[2], sys.argv[3], len(d["threads"]), ct["tid"], ct["exception_type"],
    d.get("exception_type_code"), len(named), named[0]["method"] if named else None))
EOF

		# the second opinion: SOS on createdump's dump of the same crash
		dumpfile=$d/core.$pid
		if [ -s "$dumpfile" ]; then
			if clrstack "$dumpfile" "$d/clrstack.txt"; then
				check "$rt $sc: dotnet-dump clrstack parse" \
					python3 "$ORACLE" dotnet-dump-clrstack "$d/clrstack.txt" -o "$d/clrstack.json"
				check "$rt $sc: createdump vs dotnet-dump clrstack" python3 "$ORACLE" compare \
					"$report" "$d/clrstack.txt" --min 0.99 --name "$rt $sc (dotnet-dump vs createdump)"
			else
				echo "NOTE: dotnet-dump is not available or failed: $(tail -2 dotnet-dump-install.log "$d/clrstack.txt" 2>/dev/null)" >&2
			fi
			rm -f "$dumpfile"
		fi
	done
done
checks_done
