#!/bin/bash
# run-dotnet-aot.sh - NativeAOT apps (issue 8, item 7): tests/dotnet/AotApp, compiled with
# PublishAot (tests/dotnet/AotApp/build.sh), crashes with an unhandled exception in
# Program.Charge(Int32) (with an inner exception) on the main thread ("main") and on a
# worker thread ("worker"), and calls Environment.FailFast ("failfast").
#
# 1. Through the real kernel pipe into `crashpipe handle`, with libcrashpipe-preload.so and
#    the stub as a .NET user has them: NativeAOT has no createdump, but its runtime forks
#    and execv(3)s one beside the executable when DbgEnableMiniDump is set ("createdump
#    --nativeaot PID --signal 6 ..."; the execve hook never sees it). The preload must leave
#    a NativeAOT app alone: the runtime says nothing of a createdump, no hint is written;
#    the report comes from the core alone, the crash info in the executable's .bss
#    included (core.c keeps the executable's data of a stream).
# 2. A real kernel core of the same scenario written to a file, `crashpipe analyze`d.
#
# Oracles, on both reports: the runtime's own stderr ("Unhandled exception." block,
# tests/aot-oracle.py check): the exception's type and message, its inner exception's, and
# every frame it prints, in order, in the report's exception stacks with the same C# name
# (display) and the same offset, and among the crashed thread's frames; runtime.kind
# "nativeaot", runtime.version = the app's Environment.Version, the crashed thread = the
# thread the app says threw. For failfast ("Process terminated." block, aot-oracle.py
# failfast): no exception, a note with the message, every printed frame with its name and
# offset in the crashed thread. On the core: gdb and eu-stack agree on every native frame
# of every thread (compare-frames.py, 100%), and the DWARF lines of the crashed thread's
# frames are eu-addr2line's (aot-oracle.py lines).
#
# SKIPs, saying why, when dotnet or clang is missing or the app does not build.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need
need gdb
need eu-stack
need eu-addr2line
need dotnet
need clang
dotnet_short aot
dotnet_hook

bash "$abs_srcdir/dotnet/AotApp/build.sh" >build.out 2>build.err
read -r rt app <build.out
case $app in
/*) ;;
*) skip "the NativeAOT app did not build: $(cat build.out build.err | head -5)" ;;
esac
[ -s "$app.dbg" ] || fail "no $app.dbg beside the app"
readelf --dyn-syms -W "$app" | grep -q ' DotNetRuntimeDebugHeader' ||
	fail "$app exports no DotNetRuntimeDebugHeader: the test would test nothing"

mkdir -p "$test_dir/cores"
take_core_pattern

# aot_run OUTVAR SCENARIO OUTFILE [VAR=VALUE...]: run the app (core dumps allowed) and
# check that it died of SIGABRT, as an unhandled exception ends a NativeAOT app.
aot_run() {
	local __var=$1 sc=$2 out=$3 __pid rc
	shift 3
	(
		ulimit -c unlimited
		exec env "$@" "$app" "$sc"
	) >"$out" 2>&1 &
	__pid=$!
	wait "$__pid" 2>/dev/null
	rc=$?
	printf -v "$__var" '%s' "$__pid"
	[ "$rc" = 134 ] || { check_failed "$sc: exit status $rc, expected 134 (SIGABRT): $(tail -3 "$out")"; return 1; }
}

# oracle SCENARIO NAME REPORT APPOUT: the runtime's stderr against the report.
oracle() {
	local sc=$1 name=$2 report=$3 out=$4 rc
	local args=(--name "$name" --tid "$(app_fact "$out" "crash tid")"
		--version "$(sed -n 's/^aot scenario [^ ]* runtime \([^ ]*\) pid .*/\1/p' "$out")")
	case $sc in
	main) args+=(--thread-frames Program.Charge,Program.Bill,Program.Checkout,Program.Main) ;;
	worker) args+=(--thread-frames Program.Charge,Program.Checkout,Program.WorkerEntry,System.Threading.Thread.StartThread) ;;
	esac
	python3 "$abs_srcdir/aot-oracle.py" "$([ "$sc" = failfast ] && echo failfast || echo check)" \
		"$report" "$out" "${args[@]}" >"$name.check" 2>&1
	rc=$?
	cat "$name.check"
	[ "$rc" = 0 ] || check_failed "$name: the report disagrees with the runtime's stderr: $(tail -n +2 "$name.check" | tr '\n' ' ')"
}

summary=()
for sc in main worker failfast; do
	# 1. the kernel pipe into crashpipe handle, through the preload and the stub
	set_core_pattern "$(handle_pattern --spool "$spool" --hint-dir "$hints")" 1
	out=$test_dir/$sc.pipe.out
	aot_run pid "$sc" "$out" "${HOOK[@]}" || true
	case $sc in
	failfast) grep -qxF "Process terminated. $(app_fact "$out" "expect failfast")" "$out" ||
		check_failed "$sc: the runtime printed no 'Process terminated.' line with the app's message" ;;
	*) grep -q "^Unhandled exception. " "$out" || check_failed "$sc: the runtime printed no 'Unhandled exception.' block" ;;
	esac
	! grep -q "createdump" "$out" ||
		check_failed "$sc: the runtime went looking for a createdump (the preload turned dumps on): $(grep createdump "$out")"
	if wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
		sleep 0.2
		zstd -q -dc "$report" >"$sc.pipe.json" || check_failed "$sc: $report is not zstd"
		oracle "$sc" "$sc.pipe" "$sc.pipe.json" "$out"
		summary+=("$(head -1 "$sc.pipe.check")")
	else
		check_failed "$sc: no report $spool/*-$pid-*.json.zst within 60 s: $(ls -A "$spool")"
	fi
	left=$(ls -A "$hints")
	[ -z "$left" ] || check_failed "$sc: hint files in $hints (the stub ran for a NativeAOT app): $left"
	rm -f "$hints"/* 2>/dev/null

	# 2. a kernel core into a file, analysed offline, and gdb and eu-stack on it
	set_core_pattern "$test_dir/cores/core.%p"
	out=$test_dir/$sc.core.out
	aot_run pid "$sc" "$out" || continue
	core=$test_dir/cores/core.$pid
	for _ in $(seq 1 100); do [ -s "$core" ] && break; sleep 0.05; done
	[ -s "$core" ] || { check_failed "$sc: the kernel wrote no core at $core"; continue; }
	if ! timeout 60 "$CRASHPIPE" analyze -o "$sc.core.json" "$core" 2>"$sc.core.err"; then
		check_failed "$sc: analyze failed: $(cat "$sc.core.err")"
		continue
	fi
	oracle "$sc" "$sc.core" "$sc.core.json" "$out"
	summary+=("$(head -1 "$sc.core.check")")
	python3 "$abs_srcdir/aot-oracle.py" lines "$sc.core.json" "$app" --name "$sc.core" >"$sc.lines" 2>&1 ||
		check_failed "$sc: DWARF lines differ from eu-addr2line: $(tr '\n' ' ' <"$sc.lines")"
	cat "$sc.lines"
	gdb_frames "$sc.gdb.json" "$app" "$core"
	eu_stack_frames "$sc.eu-stack" "$app" "$core"
	# the crashed thread: 100%; every thread is shown, not counted (the runtime's own threads
	# unwind past their C++ entry points differently: an unwinder matter, not NativeAOT's)
	python3 "$abs_srcdir/aot-oracle.py" crashed-only "$sc.core.json" "$sc.gdb.json" "$sc.eu-stack" "$sc.crashed" ||
		check_failed "$sc: no crashed thread in the report or in gdb's frames"
	check "$sc: the crashed thread's native frames differ from gdb's" python3 "$abs_srcdir/compare-frames.py" \
		--name "nativeaot $sc crashed thread" --threshold 100 --eu-stack "$sc.crashed.eu-stack" --eu-threshold 100 \
		"$sc.crashed.json" "$sc.crashed.gdb.json"
	python3 "$abs_srcdir/compare-frames.py" --name "nativeaot $sc all threads" --threshold 0 \
		--eu-stack "$sc.eu-stack" --eu-threshold 0 "$sc.core.json" "$sc.gdb.json" >"$sc.all.compare" 2>&1
	head -1 "$sc.all.compare"
	rm -f "$core"
done
printf '%s\n' "${summary[@]}"
checks_done
