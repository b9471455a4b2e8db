#!/usr/bin/env python3
"""check-deep.py - a deep stack's report against an oracle that printed the whole stack.

usage: check-deep.py gdb REPORT GDB_TOP GDB_BOTTOM [--max-size BYTES] [--kept-only]
       check-deep.py dotnet REPORT STDERR [--max-size BYTES]

gdb     GDB_TOP and GDB_BOTTOM are gdb's `bt N` and `bt -N` of the same core (with
        `set backtrace past-main on`, `set backtrace limit unlimited`): the innermost and
        the outermost N frames, numbered.  The crashed thread of REPORT, its folded cycles
        ("repeat") expanded and its left-out frames ("omitted") counted, must have as many
        frames as gdb (the outermost frame's number + 1); its first N and last N frames must
        be gdb's: the same ip (a copy of a folded frame: the same function, since it has the
        ip of the frame stored), and not left out (with --kept-only: where kept).
dotnet  STDERR holds the runtime's own "Stack overflow." block: "Repeat R times:" (.NET 8;
        "Repeated R times:" .NET 10), a period
        of frames between dashed lines, then the rest of the stack, each "   at METHOD".
        The managed frames of REPORT's crashed thread, expanded, must be that stack (all of
        it, or its first and last frames with as many left out between as the runtime
        printed more), and one folded cycle of REPORT must be the runtime's: the same
        methods, R times.

REPORT is plain JSON; with --max-size it must be at most BYTES long.  Prints what it
compared; exit 1 on a mismatch, 2 on unreadable input.
"""
import argparse
import json
import os
import re
import sys


def expand(t):
    """The thread's frames as the stack had them: cycles N times (copies marked), left-out
    frames as None."""
    frames, om, out, i = t.get("frames") or [], t.get("omitted"), [], 0
    while i <= len(frames):
        if om and i == om["after"]:
            out.extend([None] * om["count"])
        if i == len(frames):
            break
        rep = frames[i].get("repeat")
        if rep:
            period = frames[i:i + rep["length"]]
            out.extend(period)
            for _ in range(rep["count"] - 1):
                out.extend(dict(f, copy=True) for f in period)
            i += rep["length"]
        else:
            out.append(frames[i])
            i += 1
    return out


def crashed_thread(doc):
    tid = (doc.get("process") or {}).get("tid")
    for t in doc.get("threads") or []:
        if t.get("tid") == tid:
            return t
    raise ValueError("no crashed thread %s in the report" % tid)


GDB_RE = re.compile(r"^#(\d+)\s+(?:0x([0-9a-fA-F]+) in )?(\S+)")


def gdb_frames(path):
    """[(number, ip or None, function)] from gdb's bt output."""
    out = []
    with open(path) as f:
        for line in f:
            m = GDB_RE.match(line)
            if m:
                out.append((int(m.group(1)), int(m.group(2), 16) if m.group(2) else None, m.group(3)))
    if not out:
        raise ValueError("%s: no gdb frames" % path)
    return out


def check_gdb(args, doc, bad):
    frames = expand(crashed_thread(doc))
    top, bottom = gdb_frames(args.oracle), gdb_frames(args.oracle2)
    count = bottom[-1][0] + 1
    print("frames: report %d, gdb %d" % (len(frames), count))
    if len(frames) != count:
        bad.append("the report has %d frames, gdb %d" % (len(frames), count))
    for num, ip, fn in top + bottom:
        i = num if num < len(top) else len(frames) - (count - num)
        f = frames[i] if 0 <= i < len(frames) else None
        if f is None:
            if not args.kept_only:
                bad.append("gdb frame #%d (%s) is left out of the report" % (num, fn))
        elif f.get("copy"):
            if f.get("function") != fn:
                bad.append("gdb frame #%d is %s, the report's (a folded copy) %s" % (num, fn, f.get("function")))
        elif ip is not None and int(f["ip"], 16) != ip:
            bad.append("gdb frame #%d is %s at 0x%x, the report's %s at %s"
                       % (num, fn, ip, f.get("function"), f["ip"]))


def runtime_stack(path):
    """(period, repeat, frames): the runtime's "Stack overflow." block, frames expanded."""
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    try:
        i = next(k for k, l in enumerate(lines) if l.strip() == "Stack overflow.")
    except StopIteration:
        raise ValueError("%s: no \"Stack overflow.\" block" % path)
    period, repeat, rest = [], 0, []
    i += 1
    m = re.match(r"^Repeat(?:ed)? (\d+) times:$", lines[i].strip()) if i < len(lines) else None
    if m:
        repeat = int(m.group(1))
        i += 2		# the dashes
        while i < len(lines) and not lines[i].startswith("-----"):
            period.append(lines[i].strip()[3:])
            i += 1
        i += 1
    while i < len(lines) and lines[i].startswith("   at "):
        rest.append(lines[i].strip()[3:])
        i += 1
    return period, repeat, period * repeat + rest


def check_dotnet(args, doc, bad):
    t = crashed_thread(doc)
    period, repeat, want = runtime_stack(args.oracle)
    got = [f for f in expand(t) if f is None or f.get("kind") == "managed"]
    names = [f.get("function") if f else None for f in got]
    print("runtime: Repeat %d times: %d frames, then %d; %d frames in all" %
          (repeat, len(period), len(want) - repeat * len(period), len(want)))
    print("report: %d managed frames (%d left out), %d stored" %
          (len(got), names.count(None), sum(1 for f in t.get("frames") or [] if f.get("kind") == "managed")))
    if len(names) != len(want):
        bad.append("the report has %d managed frames, the runtime printed %d" % (len(names), len(want)))
    # The first frames and the last ones, up to the report's gap.
    head = names.index(None) if None in names else len(names)
    for i in range(min(head, len(want))):
        if names[i] != want[i]:
            bad.append("managed frame %d: the runtime printed %r, the report has %r" % (i, want[i], names[i]))
            break
    tail = len(names) - head - names.count(None)
    for k in range(1, min(tail, len(want)) + 1):
        if names[-k] != want[-k]:
            bad.append("managed frame %d from the bottom: the runtime printed %r, the report has %r"
                       % (k, want[-k], names[-k]))
            break
    if repeat:
        frames = t.get("frames") or []
        cycles = [(i, f["repeat"]) for i, f in enumerate(frames) if f.get("repeat")]
        match = [c for i, c in cycles
                 if c["count"] == repeat and [f.get("function") for f in frames[i:i + c["length"]]] == period]
        print("report cycles: %s" % ", ".join("%s x%d" % (frames[i].get("function"), c["count"]) for i, c in cycles))
        if not match:
            bad.append("no cycle of the report is the runtime's: %s %d times" % (period, repeat))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("gdb", "dotnet"))
    ap.add_argument("report")
    ap.add_argument("oracle")
    ap.add_argument("oracle2", nargs="?")
    ap.add_argument("--max-size", type=int)
    ap.add_argument("--kept-only", action="store_true")
    args = ap.parse_args()
    try:
        with open(args.report) as f:
            doc = json.load(f)
        bad = []
        size = os.path.getsize(args.report)
        print("report: %d bytes" % size)
        if args.max_size is not None and size > args.max_size:
            bad.append("the report is %d bytes, more than %d" % (size, args.max_size))
        if args.mode == "gdb":
            if not args.oracle2:
                raise ValueError("gdb needs GDB_TOP and GDB_BOTTOM")
            check_gdb(args, doc, bad)
        else:
            check_dotnet(args, doc, bad)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("check-deep: %s" % e, file=sys.stderr)
        return 2
    for b in bad:
        print("check-deep: %s" % b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
