#!/bin/bash
# run-deep.sh - deep stacks keep their bottom and fold their repeats (issue 8, item 5).
#
#  - native: crashers/deeprecurse crashes 100000 frames deep (main -> outer_two -> outer_one
#    -> ping <-> pong ... -> crash_here); a real kernel core, analyzed with the default cap
#    (1024): the crashed thread, expanded (its folded cycle N times), has as many frames as
#    gdb counts (`bt -N`'s outermost frame number + 1), its first 12 and last 12 are gdb's
#    `bt 12` and `bt -12`, the report is a few KB; with --max-frames 4 the first 3 and the
#    last one are kept, the rest counted as omitted, and the count is still gdb's.
#  - .NET: the Crasher's stackoverflow scenario (endless recursion on a 1 MiB thread) and
#    deepcycle (a cycle of three methods on the 8 MiB main thread) on every runtime built,
#    through preload, stub and the real pipe into `crashpipe handle`:
#    the runtime's own "Stack overflow." block on stderr is the oracle: the managed frames
#    of the report's crashed thread, expanded, are the ones it printed, in order, bottom
#    included (the thread's entry, the runtime's start frames), and the report has the
#    runtime's cycle ("Repeat N times:") with the same count, which `crashpipe show` prints
#    ("repeated N times"); the report stays under 300 KB (before: the top 1024 frames, all
#    Recurse, and no bottom).
. "${srcdir:-.}/test-subr.sh"

need gdb
need python3
need jq
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

# bt_frames OUT PROG CORE N: gdb's N innermost (OUT.top) and N outermost (OUT.bottom) frames.
bt_frames() {
	local out=$1 prog=$2 core=$3 n=$4 which
	for which in top bottom; do
		timeout 300 gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
			-ex 'set backtrace past-main on' -ex 'set backtrace past-entry on' \
			-ex 'set backtrace limit unlimited' -ex "bt $([ $which = top ] || echo -)$n" \
			"$prog" "$core" >"$out.$which" 2>&1
		grep -q '^#' "$out.$which" || fail "gdb printed no frames for $core: $(tail -3 "$out.$which")"
	done
}

# --- native: 100000 frames of ping/pong ---------------------------------------------------
build_crasher deeprecurse -g -O1
make_core core ./deeprecurse
cp "$core" deep.core
bt_frames gdb ./deeprecurse deep.core 12
start=$(date +%s.%N)
if timeout 120 "$CRASHPIPE" analyze -o deep.json deep.core 2>deep.err; then
	echo "native: analyze took $(echo "$(date +%s.%N) - $start" | bc) s"
	check "native: the report against gdb" python3 "$abs_srcdir/check-deep.py" gdb deep.json \
		gdb.top gdb.bottom --max-size 20000
	check "native: report facts" python3 "$abs_srcdir/check-report.py" deep.json \
		--signal 11 --threads 1 --top crash_here,pong,ping,outer_one,outer_two,main \
		--line "crash_here:deeprecurse.c:$(marker_line deeprecurse.c CRASH-LINE)"
	"$CRASHPIPE" show deep.json >deep.show 2>&1 || check_failed "native: show failed: $(tail -3 deep.show)"
	grep -q "repeated 50000 times" deep.show || check_failed "native: show does not say \"repeated 50000 times\""
	check "native: the cycle is not ping/pong, 50000 times, after frame 0" python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["threads"][0]
r = f["frames"][1].get("repeat")
sys.exit(0 if r == {"length": 2, "count": 50000} and not f.get("truncated") and f.get("omitted") is None else 1)' deep.json
else
	check_failed "native: analyze failed: $(cat deep.err)"
fi
if timeout 120 "$CRASHPIPE" analyze --max-frames 4 -o deep4.json deep.core 2>deep4.err; then
	check "native --max-frames 4: the report against gdb" python3 "$abs_srcdir/check-deep.py" gdb deep4.json \
		gdb.top gdb.bottom --kept-only
	check "native --max-frames 4: not 4 frames, 5 omitted after 3, truncated" python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))["threads"][0]
sys.exit(0 if len(t["frames"]) == 4 and t.get("omitted") == {"after": 3, "count": 5} and t.get("truncated") else 1)' deep4.json
else
	check_failed "native --max-frames 4: analyze failed: $(cat deep4.err)"
fi

# --- .NET: a stack overflow through the pipe ----------------------------------------------
dotnet_part() {
	. "$abs_srcdir/dotnet/dotnet-subr.sh"
	local preload=$abs_top_builddir/libcrashpipe-preload.so stub=$abs_top_builddir/crashpipe-createdump
	[ "$(id -u)" = 0 ] || { echo "NOTE: $test_name: .NET part skipped: needs root for core_pattern"; return; }
	command -v dotnet >/dev/null || { echo "NOTE: $test_name: .NET part skipped: no dotnet"; return; }
	[ -f "$preload" ] && [ -x "$stub" ] || { echo "NOTE: $test_name: .NET part skipped: preload or stub not built"; return; }
	grep -q libmscordaccore "$CRASHPIPE" || { echo "NOTE: $test_name: .NET part skipped: no DAC support"; return; }
	need zstd
	dotnet_build

	local short spool hints pattern handler=$CRASHPIPE pidfd=" %F" kmaj kmin
	short=$(mktemp -d /tmp/cpdeep.XXXXXX) || exit 99
	at_exit "rm -rf '$short'"
	chmod 755 "$short"
	spool=$short/s hints=$short/h
	mkdir -p "$spool" "$hints"
	chmod 1733 "$hints"
	IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
	[ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "${kmin%%[!0-9]*}" -ge 16 ]; } || pidfd=
	pattern="|$handler handle --spool $spool --hint-dir $hints %P %i %u %g %s %t %c %h$pidfd"
	if [ ${#pattern} -gt 127 ]; then
		ln -s "$CRASHPIPE" "$short/cp"
		handler=$short/cp
		pattern="|$handler handle --spool $spool --hint-dir $hints %P %i %u %g %s %t %c %h$pidfd"
	fi
	[ ${#pattern} -le 127 ] || skip "core_pattern too long (${#pattern} bytes): $pattern"
	take_core_pattern
	set_core_pattern "$pattern" 1

	local rt sc pid out report d n
	for rt in "${RUNTIMES[@]}"; do
		for sc in stackoverflow deepcycle; do
			if [ "$rt-$sc" = dotnet9-deepcycle ]; then
				# Known gap (issue 8): .NET 9's DAC slows down frame by frame
				# (dotnet/runtime#122459). dac/worker walks again when it does: a saved core
				# or dump of this 261,000-frame stack is walked to its bottom (analyze, 8 s),
				# but handle's walk of the live process still runs out of time after about
				# 100,000 frames.
				echo "SKIP-case dotnet9 deepcycle: handle's live walk runs out of time (known gap)"
				continue
			fi

			d=$test_dir/$rt-$sc
			mkdir -p "$d"
			out=$d/app.out
			run_app pid "$rt" "$sc" "$out" LD_PRELOAD="$preload" CRASHPIPE_STUB="$stub" \
				CRASHPIPE_HINT_DIR="$hints" || true
			grep -q '^Stack overflow\.' "$out" ||
				{ check_failed "$rt $sc: the runtime printed no \"Stack overflow.\" block: $(tail -3 "$out")"; continue; }
			if ! wait_for_file report "$spool/*-$pid-*.json.zst" 120; then
				check_failed "$rt $sc: no report $spool/*-$pid-*.json.zst within 120 s: $(ls -A "$spool")"
				continue
			fi
			sleep 0.2
			zstd -q -dc "$report" >"$d/crashpipe.json" || { check_failed "$rt $sc: $report is not zstd"; continue; }
			echo "$rt $sc: report $(stat -c %s "$d/crashpipe.json") bytes of JSON, $(stat -c %s "$report") compressed"
			check "$rt $sc: the report against the runtime's \"Stack overflow.\"" \
				python3 "$abs_srcdir/check-deep.py" dotnet "$d/crashpipe.json" "$out" --max-size 300000
			check "$rt $sc: report facts" python3 "$ORACLE" check-crashpipe "$d/crashpipe.json" \
				--signal 6 --tid "$(app_fact "$out" "crash tid")" --type System.StackOverflowException \
				--frames "$(app_fact "$out" "expect frames")"
			# show says it as the runtime does: the count of the cycle it printed
			n=$(sed -n 's/^Repeat\(ed\)\? \([0-9]*\) times:$/\2/p' "$out" | head -1)
			"$CRASHPIPE" show "$report" >"$d/show.txt" 2>&1 ||
				check_failed "$rt $sc: show failed: $(tail -3 "$d/show.txt")"
			grep -q "repeated $n times" "$d/show.txt" ||
				check_failed "$rt $sc: show does not say \"repeated $n times\": $(grep -m3 repeated "$d/show.txt")"
			rm -f "$hints"/* 2>/dev/null
		done
	done
}
dotnet_part

checks_done
