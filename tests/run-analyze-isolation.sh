#!/bin/bash
# run-analyze-isolation.sh - `crashpipe analyze` runs libdw and libunwind in a child only, and
# a child that dies or hangs costs the analysis, not the report (issue 9, part 5).
#
# On a real kernel core of crashers/overflow.c (endless recursion: a stack of about 100000
# frames):
#  - hostile: the same core with the crashed thread repeated 50 more times
#    (mutate-core.py threads: 51 threads of 100000 frames each). With --max-frames 1000000
#    its analysis takes minutes; with --timeout 2 the child is stopped at 2 s and analyze
#    still writes a report and exits 0 (documented in crashpipe(1)) within a few seconds:
#    partial, the note "the analysis ran out of time (2 s; ...)", the process and signal, all
#    51 threads, each with exactly frame 0 at the crashed thread's pc and sp (gdb's $pc and
#    $sp on the original core), and one warning line on stderr;
#  - crash: the same run with a long --timeout, the analysis child sent SIGSEGV while it
#    works (a real signal to the real child): the report says "the analysis crashed (signal
#    11, SIGSEGV)", with the same frame 0s;
#  - by design, checked with strace -f: on the intact core, analyze's own pid opens nothing
#    after the core but its report (no module, no debuginfo, no cache: libdw and libunwind
#    never run there), the executable is opened by the child, and a child of a root analyze
#    runs as nobody (setresuid 65534); the report is then complete (not partial) with the
#    recursion's frames.
. "${srcdir:-.}/test-subr.sh"

need gdb
need strace
need python3
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

build_crasher overflow $CORPUS_CFLAGS $CORPUS_PIE
make_core core ./overflow
cp "$core" overflow.core
python3 "$abs_srcdir/mutate-core.py" threads overflow.core amp.core 50 ||
	fail "mutate-core.py could not repeat the crashed thread"

# The oracle for frame 0: gdb's $pc and $sp of the crashed thread.
gdb -batch -nx -ex 'printf "%#lx %#lx\n", $pc, $sp' ./overflow overflow.core 2>/dev/null |
	tail -1 >gdb.regs
read -r pc sp <gdb.regs
[[ $pc == 0x* && $sp == 0x* ]] || fail "gdb gave no \$pc and \$sp: $(cat gdb.regs)"

# check_partial NAME NOTE: NAME.json is the registers-only report with NOTE among its notes.
check_partial() {
	local name=$1 note=$2
	check "$name: the partial report" python3 - "$name.json" "$note" "$pc" "$sp" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
note, pc, sp = sys.argv[2], int(sys.argv[3], 16), int(sys.argv[4], 16)
bad = []
if r.get("schema") != "crashpipe/1": bad.append("schema %r" % r.get("schema"))
if r.get("partial") is not True: bad.append("not partial")
if not any(n.startswith(note) for n in r.get("notes", [])): bad.append("no note %r in %r" % (note, r.get("notes")))
if r["process"].get("signal") != 11: bad.append("signal %r" % r["process"].get("signal"))
if len(r["threads"]) != 51: bad.append("%d threads, want 51" % len(r["threads"]))
if not r["threads"] or not r["threads"][0].get("crashed"): bad.append("thread 0 is not the crashed one")
for t in r["threads"]:
    f = t["frames"]
    if len(f) != 1 or int(f[0]["ip"], 16) != pc or int(f[0]["sp"], 16) != sp:
        bad.append("thread %d: frames %r, want one at ip %#x sp %#x" % (t["tid"], f[:2], pc, sp)); break
print("\n".join(bad) or "ok: %d threads with frame 0 only; notes %s" % (len(r["threads"]), r["notes"]))
sys.exit(1 if bad else 0)
PY
}

# --- hostile: 51 deep threads, past the child's time limit ------------------------------------
t0=$SECONDS
timeout -k 5 60 "$CRASHPIPE" analyze --max-frames 1000000 --timeout 2 -o timeout.json amp.core 2>timeout.err
rc=$?
took=$((SECONDS - t0))
echo "timeout: exit $rc after $took s; stderr: $(cat timeout.err)"
check "timeout: analyze exits 0 with the partial report (exit $rc)" test "$rc" = 0
check "timeout: analyze took $took s (the child has 2 s)" test "$took" -le 10
check "timeout: one warning line on stderr" test "$(wc -l <timeout.err)" = 1
[ "$rc" = 0 ] && check_partial timeout "the analysis ran out of time (2 s;"

# --- crash: the child dies on SIGSEGV mid-way -------------------------------------------------
timeout -k 5 120 "$CRASHPIPE" analyze --max-frames 1000000 --timeout 100 -o crash.json amp.core 2>crash.err &
parent=$!
# timeout(1) runs analyze as its child; the analysis child is analyze's.
ana= child=
for _ in $(seq 1 200); do
	ana=$(pgrep -P "$parent" -x crashpipe | head -1)
	[ -z "$ana" ] || child=$(pgrep -P "$ana" | head -1)
	[ -z "$child" ] || break
	sleep 0.05
done
[ -n "$child" ] || fail "crash: no analysis child appeared under analyze"
sleep 0.3
kill -SEGV "$child"
wait "$parent"
rc=$?
echo "crash: sent SIGSEGV to the analysis child $child (analyze $ana): exit $rc; stderr: $(cat crash.err)"
check "crash: analyze exits 0 with the partial report (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] && check_partial crash "the analysis crashed (signal 11, SIGSEGV)"

# --- by design: libdw's files are opened by the child only ------------------------------------
# LeakSanitizer cannot run under ptrace (an ASan build): leaks are the ASan suite's business.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=openat,openat2,open,setresuid -o trace.txt \
	"$CRASHPIPE" analyze --max-frames 256 -o full.json overflow.core 2>full.err
rc=$?
check "intact: analyze exits 0 (exit $rc: $(cat full.err))" test "$rc" = 0
check "strace: after the core, analyze itself opens only its report; the child opens the executable" \
	python3 - trace.txt "$(readlink -f ./overflow)" "$(id -u)" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
exe, uid = sys.argv[2], int(sys.argv[3])
parent = int(lines[0].split()[0])
opens = []		# (pid, path) of every successful open
setres = {}
for l in lines:
    m = re.match(r'(\d+)\s+open(?:at2?)?\((?:[^,]*, )?"([^"]*)".*\)\s+=\s+(\d+)', l)
    if m:
        opens.append((int(m.group(1)), m.group(2)))
    m = re.match(r'(\d+)\s+setresuid\((\d+), (\d+), (\d+)\)\s+=\s+0', l)
    if m:
        setres[int(m.group(1))] = int(m.group(2))
bad = []
mine = [p for pid, p in opens if pid == parent]
if "overflow.core" not in mine:
    bad.append("analyze never opened the core: %r" % mine)
else:
    # After the core: the output's directory and its temporary file only.
    after = mine[mine.index("overflow.core") + 1:]
    extra = [p for p in after if p not in (".", "full.json") and not p.startswith("full.json.")]
    if extra:
        bad.append("analyze itself opened %r after the core" % extra)
by = sorted({pid for pid, p in opens if p in (exe, exe.lstrip("/"))})
if not by:
    bad.append("%s was opened by no process" % exe)
elif parent in by:
    bad.append("%s was opened by analyze itself (pid %d)" % (exe, parent))
children = sorted({pid for pid, _ in opens if pid != parent})
if uid == 0 and not any(setres.get(p) == 65534 for p in children):
    bad.append("no child of root's analyze became nobody: %r" % setres)
print("\n".join(bad) or "ok: analyze (pid %d) opened %r after the core; %s opened by %s; setresuid %s"
      % (parent, after, exe, by, setres))
sys.exit(1 if bad else 0)
PY
check "intact: the report is complete and reaches main" python3 - full.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
fr = r["threads"][0]["frames"]
names = [f.get("function") for f in fr]
ok = r["partial"] is False and len(fr) > 2 and "recurse" in names
print("partial %s, %d frames, first %s" % (r["partial"], len(fr), names[:3]))
sys.exit(0 if ok else 1)
PY
checks_done
