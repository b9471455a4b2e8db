#!/usr/bin/env python3
"""check-dotnet-loop.py LIST.json FATES LOOPS SAME OTHER LIMIT [KMSG] - run-dotnet-loop.sh's oracle.

LIST.json is `crashpipe list --json`; FATES has one line per crash, "SCENARIO PID FATE"
(reported, before, after: counted before or after its analysis; none: no log line). The
groups are told apart by the exception of their reports (System.InvalidOperationException
for the loop, System.FormatException for the other kind), the native one by its exe. With
KMSG (the kernel log, with its timestamps), the handler's time per crash of the loop is
printed: from its first line ("collecting") to its last (report written, or counted)."""
import json
import os
import re
import subprocess
import sys

groups = json.load(open(sys.argv[1]))
loops, same, other, limit = map(int, sys.argv[3:7])
fates = {}
pids = {}
for line in open(sys.argv[2]):
    sc, pid, fate = line.split()
    fates.setdefault(sc, []).append(fate)
    pids[pid] = (sc, fate)
failed = []


def check(cond, what):
    if not cond:
        failed.append(what)


def exception_of(path):
    r = json.loads(subprocess.run(["zstd", "-q", "-dc", path], check=True, capture_output=True).stdout)
    for t in r.get("threads", []):
        if t.get("crashed") and t.get("exception"):
            return t["exception"].get("type")
    return None


by_kind = {}
for g in groups:
    exe = os.path.basename(g["exe"] or "-")
    if exe == "other":
        kind = "native"
    elif g["reports"]:
        kind = {"System.InvalidOperationException": "main", "System.FormatException": "generic"}.get(
            exception_of(g["reports"][0]), "?")
    else:
        kind = "-"
    kinds = sorted({exception_of(p) for p in g["reports"]}) if exe != "other" else []
    print("group %s %s: count %d, %d reported, %d counted%s" % (
        g["signature"], kind, g["count"], g["reported"], g["counted"], ", exceptions %s" % kinds if kinds else ""))
    check(len(kinds) <= 1, "group %s mixes exceptions %s" % (g["signature"], kinds))
    by_kind.setdefault(kind, []).append(g)

for kind, n in (("main", loops + same), ("generic", other)):
    gs = by_kind.get(kind, [])
    check(len(gs) == 1, "%s: %d groups, expected 1" % (kind, len(gs)))
    if len(gs) == 1:
        g = gs[0]
        check((g["count"], g["reported"], g["counted"], len(g["reports"])) == (n, limit, n - limit, limit),
              "%s: count %d, reported %d, counted %d, expected %d, %d, %d" % (
                  kind, g["count"], g["reported"], g["counted"], n, limit, n - limit))
    f = fates.get(kind, []) + (fates.get("threads100", []) if kind == "main" else [])
    check(f.count("reported") == limit, "%s: %d crashes logged a report, expected %d" % (kind, f.count("reported"), limit))
    check(f.count("none") == 0, "%s: %d crashes without a log line" % (kind, f.count("none")))
    # Analyses without a report: at most 4 x the limit per window (ratelimit.h).
    check(f.count("after") <= 4 * limit, "%s: %d analyses without a report, more than 4 x %d" % (kind, f.count("after"), limit))
# threads100: another stack, the loop's signature: analysed, then counted (not reported).
t = fates.get("threads100", [])
check(len(t) == same and t.count("after") >= 1 and t.count("reported") == 0,
      "threads100 (the loop's exception from another stack): %s, expected counted after its analysis" % t)
gs = by_kind.get("native", [])
check(len(gs) == 1 and gs[0]["count"] == 1 and gs[0]["reported"] == 1,
      "the native crash during the loop: %s" % gs)
check(fates.get("native") == ["reported"], "the native crash's log line: %s" % fates.get("native"))
check(set(by_kind) <= {"main", "generic", "native"}, "other groups: %s" % sorted(set(by_kind) - {"main", "generic", "native"}))
if len(sys.argv) > 7:
    first, last = {}, {}
    for line in open(sys.argv[7], errors="replace"):
        m = re.match(r"\[\s*([0-9.]+)\] crashpipe\[[0-9]+\]: pid ([0-9]+)[ :]", line)
        if not m or m.group(2) not in pids:
            continue
        t, pid = float(m.group(1)), m.group(2)
        if "collecting" in line:
            first[pid] = t
        elif "report written" in line or "counted without" in line:
            last[pid] = t
    for fate in ("reported", "before", "after"):
        ms = sorted((last[p] - first[p]) * 1000 for p, (sc, f) in pids.items()
                    if sc == "main" and f == fate and p in first and p in last)
        if ms:
            print("handler time, main, %s: %d crashes, median %.1f ms, max %.1f ms" % (
                fate, len(ms), ms[len(ms) // 2], ms[-1]))
for f in failed:
    print("FAILED: " + f)
sys.exit(1 if failed else 0)
