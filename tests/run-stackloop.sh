#!/bin/bash
# run-stackloop.sh - stack loops stop the unwind; signal frames and deep recursion do not
# (issue 7, finding 12).
#
#  - stackloop (frame pointers kept, main -> level_one .. level_four): a real kernel core,
#    unwound as gdb does; then the same core with one saved %rbp rewritten so that the CFI
#    unwind cycles over 2 and over 3 real frames (tests/mutate-core.py cycle): analyze with
#    --max-frames 1000 must stop at the first repeat, with the thread's error "unwinding
#    stopped: the stack loops (frame N repeats frame M)", N - M the cycle's length, within a
#    few frames (it ran to --max-frames before);
#  - altstack: SIGSEGV in a handler on an alternate signal stack above the interrupted
#    code's stack: the sp goes down across the signal frame, legitimately, and every frame
#    must still match gdb;
#  - overflow: endless recursion, walked to the bottom: frame 0, the recursion once with its
#    count, main; its first 1024 frames (expanded) as gdb's.
. "${srcdir:-.}/test-subr.sh"

need gdb
need python3
need jq
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

# compare NAME PROG CORE MAX: analyze and gdb agree on every frame of every thread.
compare() {
	local name=$1 prog=$2 core=$3 max=$4
	if ! timeout 60 "$CRASHPIPE" analyze --max-frames "$max" -o "$name.json" "$core" 2>"$name.err"; then
		check_failed "$name: analyze failed: $(cat "$name.err")"
		return 1
	fi
	gdb_frames "$name.gdb.json" "$prog" "$core" "$max"
	check "$name: frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" --name "$name" \
		--threshold 100 --max-frames "$max" "$name.json" "$name.gdb.json"
}

# --- stackloop: intact, then bent into cycles of 2 and 3 frames ----------------------------
build_crasher stackloop -g -O1 -fno-omit-frame-pointer
make_core core ./stackloop
cp "$core" stackloop.core
if compare stackloop ./stackloop stackloop.core 256; then
	check "stackloop: report facts" python3 "$abs_srcdir/check-report.py" stackloop.json \
		--signal 11 --threads 1 --top level_four,level_three,level_two,level_one,main \
		--line "level_four:stackloop.c:$(marker_line stackloop.c CRASH-LINE)"
	err=$(jq -r '.threads[0].error' stackloop.json)
	[ "$err" = null ] || check_failed "stackloop: the intact core's thread has an error: $err"
fi
for len in 2 3; do
	python3 "$abs_srcdir/mutate-core.py" cycle stackloop.core "cycle-$len.core" "$len" ||
		fail "mutate-core.py cannot make a cycle of $len"
	if ! timeout 60 "$CRASHPIPE" analyze --max-frames 1000 -o "cycle-$len.json" "cycle-$len.core" \
		2>"cycle-$len.err"; then
		check_failed "cycle of $len: analyze failed: $(cat "cycle-$len.err")"
		continue
	fi
	check "cycle of $len: the loop is not caught" python3 - "cycle-$len.json" "$len" <<'PY'
import json, re, sys
t = json.load(open(sys.argv[1]))["threads"][0]
length = int(sys.argv[2])
n, err = len(t["frames"]), t.get("error") or ""
m = re.fullmatch(r"unwinding stopped: the stack loops \(frame (\d+) repeats frame (\d+)\)", err)
bad = []
if not m:
    bad.append("error %r is not the loop's" % err)
elif int(m.group(1)) - int(m.group(2)) != length:
    bad.append("%r: a cycle of %d frames, not %d" % (err, int(m.group(1)) - int(m.group(2)), length))
elif int(m.group(1)) != n:
    bad.append("%r but %d frames kept" % (err, n))
if n > 8 or t.get("truncated"):
    bad.append("%d frames%s: the walk went on round the loop" % (n, ", truncated" if t.get("truncated") else ""))
names = [f.get("function") for f in t["frames"]]
if names[:4] != ["level_four", "level_three", "level_two", "level_one"]:
    bad.append("frames %r: the real ones before the cycle are lost" % names)
for b in bad:
    print("cycle of %d: %s" % (length, b))
sys.exit(1 if bad else 0)
PY
done

# --- altstack: the handler's stack is above the interrupted one ----------------------------
# (frame numbers count physical frames: gcc inlines a copy of on_usr1 into itself, an inline
# frame gdb shows too)
build_crasher altstack -g -O2
make_core core ./altstack
tid=$(crash_tid altstack)
if compare altstack ./altstack "$core" 256; then
	check "altstack: report facts" python3 "$abs_srcdir/check-report.py" altstack.json \
		--tid "$tid" --signal 11 --threads 2 \
		--top "handler_crash,on_usr1,*,spin_here,spin_outer,spinner" \
		--line "handler_crash:altstack.c:$(marker_line altstack.c CRASH-LINE)" \
		--line "3:altstack.c:$(marker_line altstack.c SPIN-LINE)"
	check "altstack: the sp does not go down across the signal frame: not the case tested" \
		python3 -c 'import json, sys
f = [x for x in json.load(open(sys.argv[1]))["threads"][0]["frames"] if x.get("kind") != "inline"]
sys.exit(0 if int(f[3]["sp"], 16) < int(f[2]["sp"], 16) else 1)' altstack.json
	err=$(jq -r '.threads[0].error' altstack.json)
	[ "$err" = null ] || check_failed "altstack: the crashed thread has an error: $err"
fi

# --- overflow: endless recursion, walked to the bottom and folded -------------------------
build_crasher overflow -g -O2
make_core core ./overflow
if compare overflow ./overflow "$core" 1024; then
	check "overflow: report facts" python3 "$abs_srcdir/check-report.py" overflow.json \
		--signal 11 --threads 1 --top recurse,recurse,main
	check "overflow: the recursion is not one folded cycle above main" python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["threads"][0]["frames"]
r = f[1].get("repeat") or {}
sys.exit(0 if r.get("length") == 1 and r.get("count", 0) > 10000 and f[0].get("repeat") is None else 1)' overflow.json
	err=$(jq -r '.threads[0].error' overflow.json)
	[ "$err" = null ] || check_failed "overflow: the thread has an error: $err"
fi

checks_done
