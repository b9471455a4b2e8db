#!/bin/bash
# run-native-corpus.sh - crashpipe analyze against gdb on real kernel cores of the crash corpus.
#
# For each program of tests/crashers (threads, sighandler, callback, cxxthrow, overflow,
# stripped, shlib_main + libcrash.so): build it (PIE, -g -O2, no frame pointers), take a real
# kernel core into a file (make_core), run `crashpipe analyze CORE -o report.json`, and
#  - compare every thread's frame addresses with gdb (tests/gdb-frames.py): at least 99% of
#    frames must agree per program (compare-frames.py); eu-stack is a second opinion whose
#    agreement is printed and must be at least 90% (it agreed with gdb on every frame here);
#  - check the facts a developer reads first (check-report.py): signal, si_code, fault
#    address, crashed tid, the crashed thread's function names and file:line, modules,
#    build-id, module offsets, C++ demangled names, truncation at --max-frames.
# Then the same core zstd-compressed and on stdin must give the same report; without its
# executable, a partial report that says so; and a file that is not a core must fail with
# exit 1 and one line on stderr.
# Prints "agreement PROG: M/T (P%) gdb, M/T (P%) eu-stack" per program.
. "${srcdir:-.}/test-subr.sh"

need gdb
need eu-stack
need python3
need zstd
need jq
need readelf
need nm
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

MAX_FRAMES=256		# --max-frames for analyze and the oracles
OVERFLOW_FRAMES=64	# the cap for the stack overflow (tens of thousands of frames deep)
THRESHOLD=99		# % of frames that must agree with gdb, per program
EU_THRESHOLD=90		# against eu-stack, a second opinion (it agreed on 100% of frames with
			# elfutils 0.188; lower, as other elfutils versions have their own quirks)

# analyze_and_compare NAME PROG CORE MAXFRAMES: crashpipe and the two oracles on CORE; leaves
# NAME.json (the report).
analyze_and_compare() {
	local name=$1 prog=$2 core=$3 max=$4 err
	if ! "$CRASHPIPE" analyze --max-frames "$max" -o "$name.json" "$core" 2>"$name.err"; then
		check_failed "$name: analyze failed: $(cat "$name.err")"
		return 1
	fi
	err=$(cat "$name.err")
	[ -z "$err" ] || echo "$name: analyze wrote to stderr: $err"
	gdb_frames "$name.gdb.json" "$prog" "$core" "$max"
	eu_stack_frames "$name.eu-stack" "$prog" "$core" "$max"
	check "$name: frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" --name "$name" \
		--threshold "$THRESHOLD" --eu-stack "$name.eu-stack" --eu-threshold "$EU_THRESHOLD" \
		--max-frames "$max" "$name.json" "$name.gdb.json"
}

facts() {
	local name=$1
	shift
	check "$name: report facts" python3 "$abs_srcdir/check-report.py" "$name.json" "$@"
}

# --- threads: 17 threads, -fomit-frame-pointer, main crashes --------------------------------
build_crasher threads $CORPUS_CFLAGS $CORPUS_PIE -fomit-frame-pointer
make_core core ./threads
cp "$core" threads.core			# kept for the zstd and stdin runs below
tid=$(crash_tid threads)
workers=$(awk '$1 == "worker" { printf "%s%s", sep, $2; sep = "," }' threads.out)
if analyze_and_compare threads ./threads threads.core "$MAX_FRAMES"; then
	facts threads --pid "$tid" --tid "$tid" --signal 11 --signal-name SIGSEGV \
		--si-code-name SEGV_MAPERR --fault-address 0x0 --comm threads \
		--threads 17 --has-tids "$workers" \
		--top crash_inner,crash_outer,main \
		--line "crash_inner:threads.c:$(marker_line threads.c CRASH-LINE)" \
		--line "crash_outer:threads.c:$(marker_line threads.c CALL-LINE)" \
		--module crash_inner:threads --build-id "crash_inner:$(build_id threads)" \
		--in-symbol "crash_inner:$(symbol_range threads crash_inner)" \
		--in-symbol "main:$(symbol_range threads main)"
fi

# --- sighandler: SIGSEGV in a SIGUSR1 handler, through __restore_rt -------------------------
build_crasher sighandler $CORPUS_CFLAGS $CORPUS_PIE
make_core core ./sighandler
tid=$(crash_tid sighandler)
if analyze_and_compare sighandler ./sighandler "$core" "$MAX_FRAMES"; then
	# frame 2 is the signal trampoline, libc's __restore_rt (named where libc's symbols are:
	# required when gdb found the name); frame 3 the interrupted PC, spin_here's first byte.
	# Neither is a return address: looked up at ip-1 they would get the wrong names and line.
	restore=$(jq -r '.threads[0].names[2] // "*"' sighandler.gdb.json)
	[ "$restore" = __restore_rt ] || restore='*'
	facts sighandler --pid "$tid" --tid "$tid" --signal 11 --signal-name SIGSEGV \
		--fault-address 0x0 --threads 1 \
		--top "handler_crash,on_usr1,$restore,spin_here,spin_outer,main" \
		--module 2:libc.so.6 \
		--line "handler_crash:sighandler.c:$(marker_line sighandler.c CRASH-LINE)" \
		--line "on_usr1:sighandler.c:$(marker_line sighandler.c CALL-LINE)" \
		--line "3:sighandler.c:$(marker_line sighandler.c SPIN-LINE)" \
		--in-symbol "3:$(symbol_range sighandler spin_here)"
fi

# --- callback: crash in a qsort comparison function, called from libc ----------------------
build_crasher callback $CORPUS_CFLAGS $CORPUS_PIE
make_core core ./callback
tid=$(crash_tid callback)
if analyze_and_compare callback ./callback "$core" "$MAX_FRAMES"; then
	facts callback --pid "$tid" --tid "$tid" --signal 11 --signal-name SIGSEGV \
		--fault-address 0x0 --threads 1 \
		--top compare_records,*,* --module 0:callback --module 1:libc.so.6 \
		--line "compare_records:callback.c:$(marker_line callback.c CRASH-LINE)" \
		--line "sort_records:callback.c:$(marker_line callback.c CALL-LINE)"
fi

# --- cxxthrow: uncaught C++ exception on a worker std::thread -> std::terminate -> abort ----
build_crasher_cxx cxxthrow $CORPUS_CFLAGS $CORPUS_PIE
make_core core ./cxxthrow
tid=$(crash_tid cxxthrow)
pid=$(basename "$core" | sed 's/^core\.//')
[ "$tid" != "$pid" ] || fail "cxxthrow: the worker thread has the pid's tid $tid"
if analyze_and_compare cxxthrow ./cxxthrow "$core" "$MAX_FRAMES"; then
	facts cxxthrow --pid "$pid" --tid "$tid" --signal 6 --signal-name SIGABRT \
		--threads 2 --has-tids "$pid" \
		--module std::terminate:libstdc++.so.6 \
		--module cxxthrow::check_value:cxxthrow \
		--line "cxxthrow::check_value:cxxthrow.cc:$(marker_line cxxthrow.cc CRASH-LINE)" \
		--line "cxxthrow::parse_config:cxxthrow.cc:$(marker_line cxxthrow.cc CALL-LINE)" \
		--module cxxthrow::worker_body:cxxthrow
fi

# --- overflow: endless recursion, walked to the bottom, its cycle folded -------------------
# Its first OVERFLOW_FRAMES frames (the cycle expanded) are compared with the oracles'.
build_crasher overflow $CORPUS_CFLAGS $CORPUS_PIE
make_core core ./overflow
tid=$(crash_tid overflow)
if analyze_and_compare overflow ./overflow "$core" "$OVERFLOW_FRAMES"; then
	facts overflow --pid "$tid" --tid "$tid" --signal 11 --signal-name SIGSEGV \
		--threads 1 --top recurse,recurse,main \
		--line "1:overflow.c:$(marker_line overflow.c CALL-LINE)"
fi

# --- stripped: no symbols, no DWARF; frames from .eh_frame only -----------------------------
build_crasher stripped $CORPUS_CFLAGS $CORPUS_PIE
strip --strip-all stripped || fail "strip failed"
! LC_ALL=C readelf -S stripped | grep -q -e '\.symtab' -e '\.debug_' ||
	fail "strip left symbols or DWARF in stripped"
make_core core ./stripped
tid=$(crash_tid stripped)
if analyze_and_compare stripped ./stripped "$core" "$MAX_FRAMES"; then
	# level_three <- level_two <- level_one <- main, all in the stripped executable
	facts stripped --pid "$tid" --tid "$tid" --signal 11 --fault-address 0x0 --threads 1 \
		--module 0:stripped --module 1:stripped --module 2:stripped --module 3:stripped \
		--no-symbols 0 --no-symbols 1 --no-symbols 2 --no-symbols 3 --module 4:libc.so.6 \
		--build-id "0:$(build_id stripped)"
fi

# --- shlib_main: the crash is inside libcrash.so --------------------------------------------
build_shlib_crasher $CORPUS_CFLAGS
make_core core ./shlib_main
tid=$(crash_tid shlib_main)
if analyze_and_compare shlib_main ./shlib_main "$core" "$MAX_FRAMES"; then
	facts shlib_main --pid "$tid" --tid "$tid" --signal 11 --fault-address 0x0 --threads 1 \
		--top lib_crash_inner,lib_crash_entry,call_library,main \
		--module lib_crash_inner:libcrash.so --module lib_crash_entry:libcrash.so \
		--module call_library:shlib_main \
		--build-id "lib_crash_inner:$(build_id libcrash.so)" \
		--build-id "call_library:$(build_id shlib_main)" \
		--in-symbol "lib_crash_inner:$(symbol_range libcrash.so lib_crash_inner)" \
		--in-symbol "lib_crash_entry:$(symbol_range libcrash.so lib_crash_entry)" \
		--in-symbol "call_library:$(symbol_range shlib_main call_library)" \
		--line "lib_crash_inner:libcrash.c:$(marker_line libcrash.c CRASH-LINE)" \
		--line "lib_crash_entry:libcrash.c:$(marker_line libcrash.c CALL-LINE)" \
		--line "call_library:shlib_main.c:$(marker_line shlib_main.c CALL-LINE)"
fi

# --- the same core zstd-compressed, and on stdin: the same report ---------------------------
# (generator, notes and the like may differ; process, threads and modules may not)
same_report() {
	local name=$1
	if ! jq -S '{process, threads, modules}' "$name.json" >"$name.cmp" 2>"$name.jq.err"; then
		check_failed "$name: the report is not JSON: $(cat "$name.jq.err")"
	elif ! diff -u threads.cmp "$name.cmp" >"$name.diff"; then
		check_failed "$name: the report differs from the one of the plain core file"
		head -40 "$name.diff"
	fi
}
if [ -s threads.json ]; then
	jq -S '{process, threads, modules}' threads.json >threads.cmp || fail "threads.json is not JSON"
	zstd -q -o threads.core.zst threads.core || fail "zstd failed"
	if "$CRASHPIPE" analyze --max-frames "$MAX_FRAMES" -o zstd.json threads.core.zst 2>zstd.err; then
		same_report zstd
	else
		check_failed "analyze of a .zst core failed: $(cat zstd.err)"
	fi
	if "$CRASHPIPE" analyze --max-frames "$MAX_FRAMES" - <threads.core >stdin.json 2>stdin.err; then
		same_report stdin
	else
		check_failed "analyze - <core failed: $(cat stdin.err)"
	fi
	# a zstd core on stdin, and the report itself written zstd-compressed
	if "$CRASHPIPE" analyze --max-frames "$MAX_FRAMES" -o stdin-zst.json.zst - \
		<threads.core.zst 2>stdin-zst.err &&
		zstd -q -dc stdin-zst.json.zst >stdin-zst.json; then
		same_report stdin-zst
	else
		check_failed "analyze -o X.json.zst - <core.zst failed: $(cat stdin-zst.err)"
	fi
fi

# --- the executable is gone (deleted or upgraded since the crash) --------------------------
# Its code and unwind tables are not in a default core, so threads stop early: still a report
# (exit 0), "partial": true, a note naming the file, frame #0 right, and every thread that
# has fewer frames than gdb (which had the file) says why in "error".
if [ -s threads.json ]; then
	mv threads threads.moved
	if "$CRASHPIPE" analyze --max-frames "$MAX_FRAMES" -o noexe.json threads.core 2>noexe.err; then
		check "analyze without the executable" python3 - noexe.json threads.gdb.json \
			"$test_dir/threads" <<'EOF'
import json, sys
rep, gdb, exe = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
bad = []
if rep.get("partial") is not True:
    bad.append('"partial" is %r, expected true' % rep.get("partial"))
if not any(exe in n for n in rep.get("notes") or []):
    bad.append("no note names %s: %r" % (exe, rep.get("notes")))
g = {t["tid"]: t["frames"] for t in gdb["threads"]}
for t in rep["threads"]:
    frames = [f["ip"] for f in t["frames"]]
    want = g.get(t["tid"], [])
    if t.get("crashed") and frames[:1] != want[:1]:
        bad.append("crashed thread %d: frame #0 %r, gdb %r" % (t["tid"], frames[:1], want[:1]))
    if len(frames) < len(want) and not t.get("error"):
        bad.append("thread %d: %d frames (gdb %d) and no error" % (t["tid"], len(frames), len(want)))
for b in bad:
    print("analyze without the executable: " + b)
sys.exit(1 if bad else 0)
EOF
	else
		check_failed "analyze without the executable failed: $(cat noexe.err)"
	fi
	mv threads.moved threads
fi

# --- not a core: exit 1, one line "crashpipe: FILE: ..." on stderr --------------------------
cp "$abs_srcdir/crashers/threads.c" not-a-core
"$CRASHPIPE" analyze not-a-core >bad.out 2>bad.err
rc=$?
[ "$rc" = 1 ] || check_failed "analyze of a non-core exited $rc, expected 1"
[ "$(wc -l <bad.err)" = 1 ] && grep -q '^crashpipe: not-a-core: ' bad.err ||
	check_failed "analyze of a non-core: stderr is not one 'crashpipe: not-a-core: ...' line: $(cat bad.err)"

checks_done
