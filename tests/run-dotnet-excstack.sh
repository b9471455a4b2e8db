#!/bin/bash
# run-dotnet-excstack.sh - the exception's own stack, end to end: the test app
# (tests/dotnet/Crasher) crashes with an unhandled exception on .NET 10 and .NET 8 through
# the real kernel pipe into `crashpipe handle` (with libcrashpipe-preload.so and the
# createdump stub when they are built, as in run-dotnet.sh), and the runtime's own
# "Unhandled exception." text on the app's stderr is the oracle (tests/check-exception-stack.py):
# every frame it printed, for the exception and each inner one, is in the report's
# exception "stack" in the same order and the same segment (the runtime's "--- End of stack
# trace from previous location ---"); the same tree of inner exceptions (InnerException, all of
# an AggregateException's), types, messages; the thread's own managed frames still in
# exception.frames. Second opinion, when the preload hook and the stub are built: the stub
# chains to the real createdump (a dump with the heap, type 2) and dotnet-dump's `pe` on the
# thread's exception object (found with `clrthreads`) must list the report's stack frame for
# frame (every element of _stackTrace, hidden ones too: the same method names, ip within 1),
# the same type, message and InnerException type. Scenarios:
#   asyncvoid  the issue's async void handler: Validate <- FireAndForget thrown on the thread
#              pool, rethrown by the runtime: the method that threw is in the stack, not only
#              the rethrow site (ExceptionDispatchInfo.Throw) that the thread's frames show
#   aggregate  Task.WaitAll's AggregateException of two failed tasks, each inner one with its
#              own stack (two segments each: the thread pool's ExecutionContext rethrow)
#   main async worker generic nullref   the scenarios run-dotnet.sh checks otherwise
# CRASHPIPE_DOTNET_RUNTIMES / CRASHPIPE_DOTNET_SCENARIOS choose a subset. SKIPs, saying why,
# without root, python3, zstd or a crashpipe with DAC support.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need --dac
CHECK="$abs_srcdir/check-exception-stack.py"
SCENARIOS=${CRASHPIPE_DOTNET_SCENARIOS:-asyncvoid aggregate main async worker generic nullref}

dotnet_build

dotnet_short dx
if dotnet_hook --optional; then
	dotnet_pipe --spool "$spool" --hint-dir "$hints"
else
	dotnet_pipe --spool "$spool"
fi

summary=()
for rt in "${RUNTIMES[@]}"; do
	for sc in $SCENARIOS; do
		d=$test_dir/$rt-$sc
		mkdir -p "$d"
		out=$d/app.out
		# with the hook, the stub chains to the real createdump for a dump with the heap (type
		# 2): dotnet-dump's `pe` on it is the second opinion
		dump=()
		[ ${#HOOK[@]} = 0 ] || dump=(DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=2 DOTNET_DbgMiniDumpName="$d/core.%p")
		run_app pid "$rt" "$sc" "$out" "${HOOK[@]}" "${dump[@]}" || continue
		grep -q '^Unhandled exception\. ' "$out" ||
			{ check_failed "$rt $sc: the runtime printed no 'Unhandled exception.': $(tail -3 "$out")"; continue; }
		if ! wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
			check_failed "$rt $sc: no report $spool/*-$pid-*.json.zst within 60 s: $(ls -A "$spool")"
			continue
		fi
		sleep 0.2
		zstd -q -dc "$report" >"$d/crashpipe.json" || { check_failed "$rt $sc: $report is not zstd"; continue; }
		python3 "$CHECK" "$out" "$d/crashpipe.json" --name "$rt $sc" --show >"$d/check.out"
		rc=$?
		cat "$d/check.out"
		[ "$rc" = 0 ] || check_failed "$rt $sc: the report's exception differs from what the runtime printed: $(sed -n 2p "$d/check.out")"
		[ "$rc" = 0 ] || sed -n '/^Unhandled exception\./,$p' "$out"
		line=$(head -1 "$d/check.out")
		# second opinion: SOS's `pe` (PrintException) on createdump's dump of the same crash:
		# the thread's exception and its InnerException chain, each with every frame its
		# _stackTrace holds, must be the report's, frame for frame
		if [ -s "$d/core.$pid" ] && tool=$(dotnet_dump); then
			env -u LD_PRELOAD "$tool" analyze "$d/core.$pid" -c "clrthreads" -c exit >"$d/clrthreads.txt" 2>&1
			# the exception object of the thread that has one (the last column of clrthreads)
			addr=$(sed -n 's/.* System\.[A-Za-z.]*Exception \([0-9a-f]\{8,\}\)$/\1/p' "$d/clrthreads.txt" | head -1)
			env -u LD_PRELOAD "$tool" analyze "$d/core.$pid" -c "pe -nested $addr" -c exit >"$d/pe.txt" 2>&1
			if python3 "$CHECK" --sos "$d/pe.txt" "$d/crashpipe.json" --name "$rt $sc vs dotnet-dump pe" >"$d/sos.out"; then
				line+="; $(head -1 "$d/sos.out" | sed 's/^agreement [^:]*: //') vs dotnet-dump pe"
			else
				cat "$d/sos.out"
				check_failed "$rt $sc: the report's exception stack differs from dotnet-dump's pe: $(sed -n 2p "$d/sos.out")"
			fi
		fi
		rm -f "$d/core.$pid"
		summary+=("$line")
		rm -f "$hints"/* 2>/dev/null
	done
done
printf '%s\n' "${summary[@]}"
checks_done
