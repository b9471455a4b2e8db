#!/bin/bash
# run-pipe.sh - crashpipe handle as the kernel runs it: core_pattern "|crashpipe handle ...".
#
# Crashes corpus programs (threads: 17 named threads; sighandler: SIGSEGV in a signal handler,
# run as user nobody) with ASLR off (setarch -R), with core_pattern piping into
# `crashpipe handle --spool DIR %P %i %u %g %s %t %c %h %F`, then checks the report the handler
# wrote to DIR/<time>-<pid>-<comm>.json.zst: pid, crashed tid, uid/gid, signal, exe, cmdline,
# thread names (read from /proc/PID/task/*/comm while the kernel holds the process), the
# crashed thread's functions and file:line; and compares every thread's frames with gdb on a
# core of a second run of the same program (ASLR off: same addresses; tids mapped by thread
# name).  Then `crashpipe show` must print the signal and the crashing function first, and
# `crashpipe list` one line per report.  A crash with RLIMIT_CORE 0 must be reported too.
. "${srcdir:-.}/test-subr.sh"

need_root
need gdb
need eu-stack
need python3
need zstd
need setarch
need setpriv
need jq
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
setarch x86_64 -R true 2>/dev/null || skip "setarch -R (ADDR_NO_RANDOMIZE) does not work here"

take_core_pattern

spool_pattern

# Everything the crashers touch must be reachable by nobody (sighandler runs as nobody).
bindir=$(mktemp -d /tmp/crashpipe-run-pipe.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"
cd "$bindir" || exit 99
build_crasher threads $CORPUS_CFLAGS $CORPUS_PIE -fomit-frame-pointer
build_crasher sighandler $CORPUS_CFLAGS $CORPUS_PIE
build_crasher callback $CORPUS_CFLAGS $CORPUS_PIE
cd "$test_dir" || exit 99

NOBODY=65534
# crash_cmd PROG: the command that runs PROG for this test, with ASLR off; sighandler runs as
# nobody.  The pipe run and the core run use the same command, so that even their stacks
# (environment, auxv) are the same, and with them the frames' sp: bash passes the last
# command it ran as $_, which env -u drops.
crash_cmd() {
	printf 'env -u _ '
	[ "$1" != sighandler ] || printf 'setpriv --reuid=%s --regid=%s --clear-groups ' "$NOBODY" "$NOBODY"
	printf 'setarch x86_64 -R %s --pipe-test\n' "$bindir/$1"
}

# crash_norandom OUTVAR PROG: run_crasher "crash_cmd PROG"; PROG's output goes to PROG.out.
crash_norandom() {
	local cmd
	cmd=$(crash_cmd "$2")
	# shellcheck disable=SC2086 # a command line, split on purpose
	run_crasher "$1" $cmd
	mv -f "${cmd%% *}.out" "$2.out"
}

# --- crash through the pipe --------------------------------------------------------------
set_core_pattern "$pattern" 1
[ "$(cat /proc/sys/kernel/core_pattern)" = "$pattern" ] ||
	fail "core_pattern did not take the pattern: $(cat /proc/sys/kernel/core_pattern)"
declare -A pid_of
for prog in threads sighandler; do
	crash_norandom pid "$prog"
	pid_of[$prog]=$pid
	if wait_for_file report "$spool/*-$pid-*.json.zst" 10; then
		zstd -q -dc "$report" >"$prog.pipe.json" || check_failed "$prog: $report is not zstd"
		cp "$report" "$prog.json.zst"
	else
		check_failed "$prog: no report $spool/*-$pid-*.json.zst within 10 s: $(ls -A "$spool")"
	fi
done
# RLIMIT_CORE 0 (the usual default): the kernel still runs the handler, passing %c = 0
# shellcheck disable=SC2016 # $0 is sh's
run_crasher pid sh -c 'ulimit -c 0 && exec "$0"' "$bindir/callback"
mv -f sh.out callback.out
if wait_for_file report "$spool/*-$pid-*.json.zst" 10; then
	zstd -q -dc "$report" >callback.pipe.json || check_failed "callback: $report is not zstd"
	check "callback (RLIMIT_CORE 0): pipe report facts" python3 "$abs_srcdir/check-report.py" \
		callback.pipe.json --pid "$pid" --tid "$pid" --signal 11 --fault-address 0x0 \
		--process rlimit_core=0 --exe "$bindir/callback" --top compare_records
else
	check_failed "callback: with RLIMIT_CORE 0, no report $spool/*-$pid-*.json.zst within 10 s"
fi
nreports=3

leftover=$(cd "$spool" && ls -A | grep -v -e '\.json\.zst$' -e '^\.saved-sysctl$')
[ -z "$leftover" ] || check_failed "files left in the spool beside the reports: $leftover"

# --- a core of a second run of each, for gdb ----------------------------------------------
# (the kernel writes a file core as the crashed user: nobody must be able to write there)
mkdir -p "$test_dir/cores"
chmod 1777 "$test_dir/cores"
declare -A core_of
for prog in threads sighandler; do
	cmd=$(crash_cmd "$prog")
	# shellcheck disable=SC2086
	make_core core $cmd
	mv -f "${cmd%% *}.out" "$prog.core.out"
	core_of[$prog]=$core
done

# tid_map OUT_A OUT_B: "tidA=tidB,..." pairing the threads two runs printed with one name
# ("worker TID NAME") and the crashed threads ("crash tid TID").
tid_map() {
	awk 'FNR == NR { if ($1 == "worker") a[$3] = $2; else if ($1 == "crash") a["crash"] = $3; next }
	     $1 == "worker" && ($3 in a) { printf "%s%s=%s", sep, $2, a[$3]; sep = "," }
	     $1 == "crash" && ("crash" in a) { printf "%s%s=%s", sep, $3, a["crash"]; sep = "," }' "$1" "$2"
}

for prog in threads sighandler; do
	[ -s "$prog.pipe.json" ] || continue
	pid=${pid_of[$prog]}
	tid=$(crash_tid "$prog")
	exe=$(readlink -f "$bindir/$prog")

	# frames against gdb on the second run's core: same addresses with ASLR off
	core=${core_of[$prog]}
	gdb_frames "$prog.gdb.json" "$bindir/$prog" "$core"
	eu_stack_frames "$prog.eu-stack" "$bindir/$prog" "$core"
	check "$prog: pipe report frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" \
		--name "$prog (pipe)" --threshold 99 --eu-stack "$prog.eu-stack" --eu-threshold 90 \
		--tid-map "$(tid_map "$prog.out" "$prog.core.out")" "$prog.pipe.json" "$prog.gdb.json"

	if [ "$prog" = threads ]; then
		uid=0 gid=0
		names=()
		while read -r _ wtid wname; do names+=(--thread-name "$wtid=$wname"); done \
			< <(grep '^worker ' threads.out)
		[ ${#names[@]} = 32 ] || fail "threads printed $((${#names[@]} / 2)) workers, not 16"
		check "threads: pipe report facts" python3 "$abs_srcdir/check-report.py" threads.pipe.json \
			--pid "$pid" --tid "$tid" --uid "$uid" --gid "$gid" --signal 11 \
			--signal-name SIGSEGV --si-code-name SEGV_MAPERR --fault-address 0x0 \
			--exe "$exe" --comm threads --cmdline "$bindir/threads --pipe-test" \
			--threads 17 "${names[@]}" --thread-name "$pid=threads" \
			--top crash_inner,crash_outer,main \
			--line "crash_inner:threads.c:$(marker_line threads.c CRASH-LINE)" \
			--line "crash_outer:threads.c:$(marker_line threads.c CALL-LINE)"
	else
		uid=$NOBODY gid=$NOBODY
		# frame #2 is libc's __restore_rt: required by name where gdb could name it
		restore=$(jq -r '.threads[0].names[2] // "*"' sighandler.gdb.json)
		[ "$restore" = __restore_rt ] || restore='*'
		check "sighandler: pipe report facts" python3 "$abs_srcdir/check-report.py" \
			sighandler.pipe.json --pid "$pid" --tid "$tid" --uid "$uid" --gid "$gid" \
			--signal 11 --signal-name SIGSEGV --fault-address 0x0 \
			--exe "$exe" --comm sighandler --cmdline "$bindir/sighandler --pipe-test" \
			--threads 1 --thread-name "$pid=sighandler" \
			--top "handler_crash,on_usr1,$restore,spin_here,spin_outer,main" \
			--line "handler_crash:sighandler.c:$(marker_line sighandler.c CRASH-LINE)" \
			--line "3:sighandler.c:$(marker_line sighandler.c SPIN-LINE)"
	fi

	# crashpipe show: the signal, then the crashing function first
	if "$CRASHPIPE" show "$prog.json.zst" >"$prog.show" 2>"$prog.show.err"; then
		check "$prog: show" python3 "$abs_srcdir/check-report.py" "$prog.pipe.json" \
			--show "$prog.show"
	else
		check_failed "$prog: crashpipe show failed: $(cat "$prog.show.err")"
	fi
done

# crashpipe list: one line per report in the spool, naming its pid
if "$CRASHPIPE" list --spool "$spool" >list.out 2>list.err; then
	n=$(grep -c . list.out)
	[ "$n" = "$nreports" ] ||
		check_failed "crashpipe list printed $n lines for $nreports reports: $(cat list.out)"
	for prog in threads sighandler; do
		grep -qw "${pid_of[$prog]}" list.out ||
			check_failed "crashpipe list does not name pid ${pid_of[$prog]} ($prog): $(cat list.out)"
	done
else
	check_failed "crashpipe list failed: $(cat list.err)"
fi

checks_done
