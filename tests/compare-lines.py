#!/usr/bin/env python3
"""compare-lines.py - compare a crashpipe report's native frames with gdb-lines.py's.

usage: compare-lines.py [--name NAME] [--threshold PCT] [--no-lines] REPORT GDB_JSON

Threads are matched by tid; in each, frame i of the report (native frames only) agrees
with gdb's frame i when the address ("ip" / gdb's pc), the function and the source line
(file name without its directory, and line number) are the same; with --no-lines only the
address and the function.  The function is the same when the names are, or when the
report's function starts where gdb's does (ip - offset = gdb's "start"): another name of
the same code, such as the ELF alias __libc_start_main of glibc's __libc_start_main_impl.  Agreement = agreeing frames / sum over threads of
max(gdb frames, report frames).  Prints "agreement NAME: M/T (P%)" and each frame that
differs; exit 1 below --threshold (default 100), 2 on bad input.
"""
import argparse
import json
import os
import sys


def base(path):
    return os.path.basename(path) if path else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="core")
    ap.add_argument("--threshold", type=float, default=100.0)
    ap.add_argument("--no-lines", action="store_true")
    ap.add_argument("report")
    ap.add_argument("gdb")
    a = ap.parse_args()
    try:
        with open(a.report) as f:
            report = json.load(f)
        with open(a.gdb) as f:
            oracle = json.load(f)
    except (OSError, ValueError) as e:
        print("compare-lines: %s" % e, file=sys.stderr)
        return 2
    ours = {t["tid"]: [fr for fr in t.get("frames") or [] if fr.get("kind", "native") == "native"]
            for t in report.get("threads") or []}
    agree = total = 0
    diffs = []
    for t in oracle["threads"]:
        mine = ours.get(t["tid"], [])
        theirs = t["frames"]
        total += max(len(mine), len(theirs))
        for i in range(max(len(mine), len(theirs))):
            g = theirs[i] if i < len(theirs) else None
            r = mine[i] if i < len(mine) else None
            want = g and (g["pc"], g["function"]) + (() if a.no_lines else (base(g["file"]), g["line"]))
            name = r and r.get("function")
            if r and g and name != g["function"] and g.get("start") and r.get("ip") and \
                    r.get("offset") is not None and int(r["ip"], 16) - r["offset"] == int(g["start"], 16):
                name = g["function"]  # an alias of gdb's function
            got = r and (r.get("ip"), name) + (() if a.no_lines else (base(r.get("file")), r.get("line")))
            if want and got == want:
                agree += 1
            else:
                diffs.append("  tid %d #%d: gdb %s, crashpipe %s" % (t["tid"], i, want, got))
    pct = 100.0 * agree / total if total else 0.0
    print("agreement %s: %d/%d (%.1f%%)" % (a.name, agree, total, pct))
    for d in diffs:
        print(d)
    return 0 if total and pct >= a.threshold else 1


sys.exit(main())
