#!/usr/bin/env python3
"""aot-oracle.py - a crashpipe report of a NativeAOT crash against the runtime's own stderr.

usage: aot-oracle.py check REPORT STDERR [--name NAME] [--tid TID] [--version V]
                     [--thread-frames F1,F2,...]
       aot-oracle.py failfast REPORT STDERR [--name NAME] [--tid TID] [--version V]
       aot-oracle.py lines REPORT EXE [--name NAME]
       aot-oracle.py crashed-only REPORT GDB_JSON EU_STACK OUT

check: STDERR is what the crashed app printed (tests/dotnet/AotApp); the runtime's block

    Unhandled exception. TYPE: MESSAGE
     ---> INNER-TYPE: INNER-MESSAGE
       at NAME + 0xOFFSET                     (the inner exception's stack)
       --- End of inner exception stack trace ---
       at NAME + 0xOFFSET                     (the outer exception's stack)

is Exception.ToString() (NativeAOT prints no file:line, a native offset instead).  The
report's exception (the crashed thread's) must have the same type and message, the same
chain of inner exceptions (the first of each), and in each exception's "stack" every frame
the runtime printed, in order, with "display" equal to the printed name and "offset" to the
printed offset.  The runtime's frames of the outer exception must also be, in order, among
the "display"s of the crashed thread's frames (the thread still sits in them).  Then the
facts: runtime.kind "nativeaot", runtime.version V, process.tid and the exception's thread
TID, and --thread-frames: names (C# form, without parameters) that must appear in this
order among the crashed thread's frames' displays.  Prints
"agreement NAME: M/N frames (P%)" and exits 1 unless everything holds.

failfast: the runtime's block for Environment.FailFast

    Process terminated. MESSAGE
       at NAME + 0xOFFSET                     (the failing thread's stack)

holds no exception: the report must have none, a note with MESSAGE, runtime.kind, version
and tid as for check, and every printed frame, in order, among the crashed thread's frames
with the same name and offset (the first, FailFast's own, by name: it printed where it
took the trace, the thread has gone on to abort since). Names are compared without parameter names: the runtime
prints them only for methods it kept reflection data for (Main), the DWARF has types only.

lines: every frame of the crashed thread in EXE with a file and a line has the file and line
eu-addr2line gives for that address in EXE (looked up at ip-1 for a return address, as
crashpipe does); at least one such frame must be in Program.cs.

crashed-only: the crashed thread alone, of a report (OUT.json), of tests/gdb-frames.py's
output (OUT.gdb.json) and of eu-stack's (OUT.eu-stack), for tests/compare-frames.py.
"""
import argparse
import json
import re
import subprocess
import sys


def parse_stderr(path):
    """The runtime's 'Unhandled exception.' block: a list of exceptions, outermost first,
    each {"type", "message", "frames": [(name, offset)]}."""
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Unhandled exception. ")), None)
    if start is None:
        sys.exit("no 'Unhandled exception.' line in %s" % path)
    chain = []
    head = lines[start][len("Unhandled exception. "):]
    i = start + 1
    while True:
        m = re.match(r"^([\w.`+<>\[\],]+): (.*)$", head)
        if not m:
            sys.exit("cannot read the exception line %r" % head)
        chain.append({"type": m.group(1), "message": m.group(2), "frames": []})
        if i < len(lines) and lines[i].startswith(" ---> "):
            head = lines[i][len(" ---> "):]
            i += 1
            continue
        break
    # stacks: innermost first, separated by "--- End of inner exception stack trace ---"
    k = len(chain) - 1
    for line in lines[i:]:
        m = re.match(r"^   at (.*) \+ 0x([0-9a-fA-F]+)$", line)
        if m:
            chain[k]["frames"].append((m.group(1), int(m.group(2), 16)))
            continue
        if line.strip() == "--- End of inner exception stack trace ---":
            k -= 1
            if k < 0:
                sys.exit("more stack segments than exceptions in %s" % path)
            continue
        if line.startswith("   at "):
            sys.exit("cannot read the frame line %r" % line)
        break  # the end of the block
    return chain


def subsequence(want, have):
    """How many of want appear in have in order (greedy, which is exact for a subsequence)."""
    j = n = 0
    for w in want:
        while j < len(have) and have[j] != w:
            j += 1
        if j < len(have):
            n += 1
            j += 1
    return n


def check(args):
    r = json.load(open(args.report))
    chain = parse_stderr(args.stderr)
    problems = []
    agree = total = 0

    rt = r.get("runtime") or {}
    if rt.get("kind") != "nativeaot":
        problems.append("runtime.kind is %r, not 'nativeaot'" % rt.get("kind"))
    if args.version and rt.get("version") != args.version:
        problems.append("runtime.version is %r, the app's Environment.Version %r" % (rt.get("version"), args.version))
    p = r.get("process") or {}
    if args.tid is not None and p.get("tid") != args.tid:
        problems.append("process.tid is %r, the app's crash tid %d" % (p.get("tid"), args.tid))

    e = r.get("exception")
    if not e:
        problems.append("the report has no exception")
    elif args.tid is not None and e.get("thread") != args.tid:
        problems.append("the exception is on thread %r, the app threw on %d" % (e.get("thread"), args.tid))
    level = 0
    for want in chain:
        if not e:
            problems.append("no inner exception at level %d (the runtime printed %s)" % (level, want["type"]))
            total += len(want["frames"])
            break
        if e.get("type") != want["type"]:
            problems.append("level %d: type %r, the runtime printed %r" % (level, e.get("type"), want["type"]))
        if e.get("message") != want["message"]:
            problems.append("level %d: message %r, the runtime printed %r" % (level, e.get("message"), want["message"]))
        have = [(f.get("display"), f.get("offset")) for f in (e.get("stack") or [])]
        n = subsequence(want["frames"], have)
        agree += n
        total += len(want["frames"])
        if n != len(want["frames"]):
            problems.append("level %d: stack %r lacks, in order, %r" % (level, have, want["frames"]))
        if not want["frames"]:
            problems.append("level %d: the runtime printed no frame" % level)
        inner = e.get("inner") or []
        e = inner[0] if inner else None
        level += 1
    if e:
        problems.append("the report has an inner exception %r the runtime did not print" % e.get("type"))

    crashed = next((t for t in r.get("threads", []) if t.get("crashed")), None)
    if not crashed:
        problems.append("no crashed thread")
    else:
        displays = [f.get("display") for f in crashed.get("frames", [])]
        names = [w[0] for w in chain[0]["frames"]]
        n = subsequence(names, displays)
        agree += n
        total += len(names)
        if n != len(names):
            problems.append("the crashed thread's frames %r lack, in order, %r" % (displays, names))
        if args.thread_frames:
            bare = [d.split("(")[0] if d else None for d in displays]
            want = args.thread_frames.split(",")
            if subsequence(want, bare) != len(want):
                problems.append("the crashed thread's frames %r lack, in order, %r" % (bare, want))

    print("agreement %s: %d/%d frames (%.0f%%)" % (args.name, agree, total, 100.0 * agree / total if total else 0))
    for pr in problems:
        print("  " + pr)
    return 0 if not problems and total else 1


def bare_params(name):
    """'Program.Main(String[] args)' -> 'Program.Main(String[])'."""
    m = re.match(r"^(.*?)\((.*)\)$", name or "")
    if not m:
        return name
    params = [p.strip().split(" ")[0] for p in m.group(2).split(",")] if m.group(2).strip() else []
    return "%s(%s)" % (m.group(1), ", ".join(params))


def failfast(args):
    r = json.load(open(args.report))
    lines_ = open(args.stderr, encoding="utf-8", errors="replace").read().splitlines()
    start = next((i for i, l in enumerate(lines_) if l.startswith("Process terminated. ")), None)
    if start is None:
        sys.exit("no 'Process terminated.' line in %s" % args.stderr)
    message = lines_[start][len("Process terminated. "):]
    frames = []
    for line in lines_[start + 1:]:
        m = re.match(r"^   at (.*) \+ 0x([0-9a-fA-F]+)$", line)
        if not m:
            break
        frames.append((bare_params(m.group(1)), int(m.group(2), 16)))
    problems = []
    rt = r.get("runtime") or {}
    if rt.get("kind") != "nativeaot":
        problems.append("runtime.kind is %r, not 'nativeaot'" % rt.get("kind"))
    if args.version and rt.get("version") != args.version:
        problems.append("runtime.version is %r, the app's %r" % (rt.get("version"), args.version))
    p = r.get("process") or {}
    if args.tid is not None and p.get("tid") != args.tid:
        problems.append("process.tid is %r, the app's crash tid %d" % (p.get("tid"), args.tid))
    if r.get("exception"):
        problems.append("the report has an exception %r; FailFast makes none" % r["exception"].get("type"))
    if not any("failed fast" in n and message in n for n in r.get("notes", [])):
        problems.append("no note of the fail-fast with %r: %r" % (message, r.get("notes")))
    crashed = next((t for t in r.get("threads", []) if t.get("crashed")), None)
    have = [(bare_params(f.get("display")), f.get("offset")) for f in (crashed or {}).get("frames", [])]
    # The first frame printed is FailFast itself where it took the trace, earlier than
    # where the thread is now (in abort): that one is compared by its name.
    if frames:
        first = next((i for i, h in enumerate(have) if h[0] == frames[0][0]), None)
        if first is not None:
            have[first] = frames[0]
    n = subsequence(frames, have)
    if not frames or n != len(frames):
        problems.append("the crashed thread's frames %r lack, in order, %r" % (have, frames))
    print("agreement %s: %d/%d frames (%.0f%%)" % (args.name, n, len(frames), 100.0 * n / len(frames) if frames else 0))
    for pr in problems:
        print("  " + pr)
    return 0 if not problems else 1


def lines(args):
    r = json.load(open(args.report))
    crashed = next((t for t in r.get("threads", []) if t.get("crashed")), None)
    if not crashed:
        print("no crashed thread")
        return 1
    frames = [(i, f) for i, f in enumerate(crashed["frames"])
              if f.get("module") == args.exe and f.get("file") and f.get("line") and f.get("module_offset") is not None]
    if not frames:
        print("%s: no frame in %s has a line" % (args.name, args.exe))
        return 1
    addrs = ["0x%x" % (int(str(f["module_offset"]), 0) - (0 if i == 0 else 1)) for i, f in frames]
    out = subprocess.run(["eu-addr2line", "-e", args.exe] + addrs, capture_output=True, text=True).stdout.splitlines()
    bad = []
    for (i, f), a, want in zip(frames, addrs, out):
        have = "%s:%d" % (f["file"], f["line"])
        if want.split(" ")[0] != have:
            bad.append("frame %d (%s) at %s: %s, eu-addr2line %s" % (i, f.get("function"), a, have, want))
    in_app = [f for _, f in frames if f["file"].endswith("/Program.cs")]
    print("lines %s: %d/%d frames agree with eu-addr2line, %d in Program.cs" %
          (args.name, len(frames) - len(bad), len(frames), len(in_app)))
    for b in bad:
        print("  " + b)
    return 0 if not bad and in_app else 1


def crashed_only(args):
    r = json.load(open(args.report))
    tid = (r.get("process") or {}).get("tid")
    r["threads"] = [t for t in r.get("threads", []) if t.get("crashed")]
    json.dump(r, open(args.out + ".json", "w"))
    g = json.load(open(args.gdb))
    g["threads"] = [t for t in g.get("threads", []) if t.get("tid") == g.get("crashed")]
    json.dump(g, open(args.out + ".gdb.json", "w"))
    keep, out = True, []
    for line in open(args.eu_stack):
        m = re.match(r"^TID (\d+):", line)
        if m:
            keep = int(m.group(1)) == tid
        if keep or line.startswith("PID "):
            out.append(line)
    open(args.out + ".eu-stack", "w").write("".join(out))
    return 0 if r["threads"] and g["threads"] else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("report")
    c.add_argument("stderr")
    c.add_argument("--name", default="nativeaot")
    c.add_argument("--tid", type=int)
    c.add_argument("--version")
    c.add_argument("--thread-frames")
    c.set_defaults(fn=check)
    ff = sub.add_parser("failfast")
    ff.add_argument("report")
    ff.add_argument("stderr")
    ff.add_argument("--name", default="nativeaot")
    ff.add_argument("--tid", type=int)
    ff.add_argument("--version")
    ff.set_defaults(fn=failfast)
    ln = sub.add_parser("lines")
    ln.add_argument("report")
    ln.add_argument("exe")
    ln.add_argument("--name", default="nativeaot")
    ln.set_defaults(fn=lines)
    co = sub.add_parser("crashed-only")
    co.add_argument("report")
    co.add_argument("gdb")
    co.add_argument("eu_stack")
    co.add_argument("out")
    co.set_defaults(fn=crashed_only)
    args = ap.parse_args()
    sys.exit(args.fn(args))


if __name__ == "__main__":
    main()
