#!/bin/bash
# run-show-fields.sh - `crashpipe show` of reports with every member issue 8 added
# (tests/fixtures/show-*.json, written by hand in the shape crashpipe-report(5) gives):
# the exception first as the runtime prints it ("Unhandled exception. TYPE: MESSAGE",
# " ---> " inner exceptions and "   --- End of inner exception stack trace ---", "   at
# DISPLAY in FILE:line N", "--- End of stack trace from previous location ---" between
# segments, an AggregateException's "(Inner Exception #N) ... <---"), frames by their
# display names, a folded cycle ("repeated N times"), an omitted run, the managed thread
# name beside the OS one, the runtime kind and the core's writer; threads are folded
# together only with the same cycles and omitted runs. Asserted: the whole text
# is tests/fixtures/show-*.out, and the lines the runtime itself would print are there
# in its order.

. "$srcdir/test-subr.sh"

[ -x "$CRASHPIPE" ] || { echo "no crashpipe binary at $CRASHPIPE" >&2; exit 99; }
fixtures=$abs_srcdir/fixtures

for name in show-async show-aggregate; do
	"$CRASHPIPE" show "$fixtures/$name.json" >"$name.out" 2>"$name.err" ||
		{ check_failed "show $name.json failed: $(head -3 "$name.err")"; continue; }
	diff -u "$fixtures/$name.out" "$name.out" >"$name.diff" ||
		check_failed "show $name.json: the text differs from fixtures/$name.out: $(head -40 "$name.diff")"
done

# The exception comes first, in the runtime's form and order.
line() { sed -n "$1p" show-async.out; }
[ "$(line 1)" = 'Unhandled exception. System.InvalidOperationException: order 42 is invalid' ] ||
	check_failed "show-async: line 1 is not the runtime's first line: $(line 1)"
[ "$(line 2)" = ' ---> System.FormatException: bad id: "4x2"' ] || check_failed "show-async: line 2: $(line 2)"
[ "$(line 3)" = '   at Orders.Parse(String s) in /src/Orders/Program.cs:line 12' ] ||
	check_failed "show-async: line 3: $(line 3)"
[ "$(line 4)" = '   --- End of inner exception stack trace ---' ] || check_failed "show-async: line 4: $(line 4)"
[ "$(line 6)" = '   at Orders.FireAndForget(Int32 id) in /src/Orders/Program.cs:line 20' ] ||
	check_failed "show-async: line 6: $(line 6)"
[ "$(line 7)" = '--- End of stack trace from previous location ---' ] ||
	check_failed "show-async: no segment boundary at line 7: $(line 7)"
[ "$(line 8)" = '   at System.Threading.Tasks.Task.<>c.<ThrowAsync>b__128_1(Object state)' ] ||
	check_failed "show-async: a frame without a line is not '   at DISPLAY': $(line 8)"
grep -qxF 'Thread 4251 "settlement-work" (managed name "settlement-worker"):' show-async.out ||
	check_failed "show-async: no managed thread name beside the OS name"
grep -qxF 'Crashed thread 4250 ".NET TP Worker":' show-async.out ||
	check_failed "show-async: a managed name equal to the OS name is shown twice"
grep -qxF '  runtime: .NET 10.0.0 (CoreCLR)' show-async.out || check_failed "show-async: no runtime kind"

grep -qxF ' ---> (Inner Exception #1) System.ArgumentException: second failure (Parameter '"'id'"')' show-aggregate.out ||
	check_failed "show-aggregate: the second inner exception is not shown as the runtime does"
grep -qxF '   at Program.<>c.<Main>b__0_1() in /src/Agg/Program.cs:line 10<---' show-aggregate.out ||
	check_failed "show-aggregate: the second inner exception's stack does not end in <---"
grep -qxF '  ... the 3 frames above (#0 to #2) repeated 5000 times' show-aggregate.out ||
	check_failed "show-aggregate: the folded cycle is not said"
grep -qxF '  ... 14980 frames omitted ...' show-aggregate.out || check_failed "show-aggregate: the omitted frames are not said"
grep -q 'more frames left out' show-aggregate.out &&
	check_failed "show-aggregate: a thread with its omitted frames counted still says 'more frames left out'"
grep -qxF '  #1   0x000055d0c0a01234 Program.Main() (/src/Agg/Program.cs:14) in Agg' show-aggregate.out ||
	check_failed "show-aggregate: a NativeAOT frame is not shown by its display name"
grep -qxF '  core written by: createdump' show-aggregate.out || check_failed "show-aggregate: no core writer"
grep -qF '2 threads with the same stack: 5002 ".NET Long Runni" (managed name "serializer"), 5004 ' show-aggregate.out ||
	check_failed "show-aggregate: two threads with the same folded stack are not shown as one"
grep -qxF 'Thread 5003 ".NET Long Runni" (managed name "serializer-2"):' show-aggregate.out ||
	check_failed "show-aggregate: a thread whose cycle ran a different number of times is folded with the others"
checks_done
