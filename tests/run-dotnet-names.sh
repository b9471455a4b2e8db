#!/bin/bash
# run-dotnet-names.sh - managed frames' `display` is the method as the runtime prints it.
#
# The test app (tests/dotnet/Crasher) crashes through the real kernel pipe into
# `crashpipe handle`, on every runtime built (.NET 10 shared, .NET 9 and 8 self-contained), in:
#   names    one synchronous stack through every kind of name the runtime prints its own
#            way (constructor, getter, operator, `in` parameter, explicit interface method,
#            lambda, closure, local function, iterator MoveNext, generic method of a nested
#            generic type with ref/out/params/array/generic parameters, pointer, a
#            [StackTraceHidden] method);
#   main, generic, worker, nullref   the thread that throws, a generic recursion, a named
#            thread, a NullReferenceException;
#   async, asyncvoid   the async methods that threw, only in the exception's own stack (the
#            runtime rethrows on a thread pool thread): checked when the report has that stack;
#   aggregate   an AggregateException's inner exceptions, each with its stack.
# The oracle is the runtime's own "Unhandled exception." block on the app's stderr: every
# "   at X" line's X must be a frame's `display`, in order (tests/check-display.py).
# CRASHPIPE_DOTNET_RUNTIMES / CRASHPIPE_DOTNET_SCENARIOS choose a subset.
# SKIPs, saying why, without root, dotnet, python3 or zstd.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need
dotnet_build
dotnet_short dn
dotnet_pipe --spool "$spool"

scenarios=${CRASHPIPE_DOTNET_SCENARIOS:-names main generic worker nullref async asyncvoid aggregate}
summary=()
for rt in "${RUNTIMES[@]}"; do
	for sc in $scenarios; do
		d=$test_dir/$rt-$sc
		mkdir -p "$d"
		out=$d/app.out
		(
			cd "$short" || exit 99
			ulimit -c unlimited
			exec "${APP[$rt]}" "$sc"
		) >"$out" 2>&1 &
		pid=$!
		wait "$pid"
		rc=$?
		[ "$rc" = $((128 + 6)) ] || { check_failed "$rt $sc: exit status $rc, not SIGABRT: $(tail -3 "$out")"; continue; }
		grep -q "^Unhandled exception\. $(app_fact "$out" "expect type"): " "$out" ||
			check_failed "$rt $sc: the runtime printed no 'Unhandled exception. $(app_fact "$out" "expect type")'"
		if ! wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
			check_failed "$rt $sc: no report within 60 s: $(ls -A "$spool")"
			continue
		fi
		sleep 0.2
		r=$d/crashpipe.json
		zstd -q -dc "$report" >"$r" || { check_failed "$rt $sc: $report is not zstd"; continue; }
		rm -f "$report"
		python3 "$abs_srcdir/check-display.py" "$out" "$r" --name "$rt $sc" \
			$(case $sc in async | asyncvoid | aggregate) echo --need-stack ;; esac) >"$d/check.out"
		rc=$?
		cat "$d/check.out"
		if [ "$rc" = 3 ]; then
			echo "NOTE: $rt $sc: not compared: the report has no exception stack (the DAC worker does not read the exception object's stack trace)"
			summary+=("$rt $sc: no exception stack")
			continue
		fi
		[ "$rc" = 0 ] || check_failed "$rt $sc: $(grep -m1 FAILED "$d/check.out")"
		summary+=("$(head -1 "$d/check.out")")
	done
done
printf '%s\n' "${summary[@]}"
checks_done
