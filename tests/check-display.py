#!/usr/bin/env python3
"""check-display.py - the runtime's own stack trace against the report's `display` names.

    check-display.py APP_OUTPUT REPORT_JSON [--name NAME] [--need-stack]

APP_OUTPUT is what the crashed .NET app wrote (stdout and stderr): the runtime's
"Unhandled exception." block, whose "   at X" and "   at X in FILE:line N" lines are the
oracle. Every X must be the `display` of a frame of the report's exception, in the same
order (a subsequence: the report also has the frames the runtime hides, [StackTraceHidden]
ones, and runtime frames):

  - when the exception has its own "stack" (the frames the exception object recorded): the
    frames in the order Exception.ToString() prints them: the InnerException's (recursively)
    first, then the exception's own; an AggregateException's inner exceptions again after
    (the runtime prints "---> (Inner Exception #N) ..." for those after the first);
  - else (the report has no exception stack, "stack": null) the crashed thread's managed
    frames ("frames" of the exception): enough for an exception thrown on the crashed
    thread's own stack; --need-stack makes a missing stack a failure instead.

Prints "display agreement NAME: M/N" (M of the runtime's N frames found, in order) and
"source lines NAME: M/N" (of the frames printed with FILE:line, how many the report gives
the same file and line: for information); exits 1 on any frame not found, 2 when there is
nothing to compare, 3 when --need-stack is given and the report has no exception stack.
"""
import argparse
import json
import re
import sys

AT = re.compile(r"^   at (.*?)(?: in (.*):line (\d+))?$")


def runtime_frames(path):
    """The (display, file, line) of each "at" line of the first "Unhandled exception."
    block."""
    frames = []
    inside = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            # AggregateException.ToString ends each inner exception after #0 with "<---"
            if line.endswith("<---"):
                line = line[:-4]
            if line.startswith("Unhandled exception. "):
                if inside:
                    break
                inside = True
                continue
            if not inside:
                continue
            m = AT.match(line)
            if m:
                frames.append((m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None))
            elif line.startswith(" ---> ") or line.strip() in (
                "--- End of stack trace from previous location ---",
                "--- End of inner exception stack trace ---",
            ) or not line:
                continue
            elif frames:
                break
    return frames


def printed_stack(e, depth=0):
    """The report's exception frames in the order Exception.ToString() prints them."""
    if depth > 64:
        return []
    out = []
    inners = e.get("inner") or []
    if inners:
        out += printed_stack(inners[0], depth + 1)
    out += e.get("stack") or []
    if e.get("type") == "System.AggregateException":
        for i in inners:
            out += printed_stack(i, depth + 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("app_output")
    ap.add_argument("report")
    ap.add_argument("--name", default="")
    ap.add_argument("--need-stack", action="store_true")
    a = ap.parse_args()

    want = runtime_frames(a.app_output)
    if not want:
        print("FAILED %s: no 'Unhandled exception.' block with 'at' lines in %s" % (a.name, a.app_output))
        return 2
    with open(a.report) as f:
        report = json.load(f)
    e = report.get("exception")
    if not e:
        print("FAILED %s: the report has no exception" % a.name)
        return 2
    if e.get("stack") is not None:
        have, source = printed_stack(e), "exception stack"
    elif a.need_stack:
        print("FAILED %s: the report's exception has no stack" % a.name)
        return 3
    else:
        have, source = e.get("frames") or [], "crashed thread's frames"

    j = 0
    found = 0
    lines_given = lines_same = 0
    missing = []
    for display, file, line in want:
        k = j
        while k < len(have) and have[k].get("display") != display:
            k += 1
        if k == len(have):
            missing.append(display)
            continue
        found += 1
        fr = have[k]
        j = k + 1
        if file is not None:
            lines_given += 1
            if fr.get("file") == file and fr.get("line") == line:
                lines_same += 1
    print("display agreement %s: %d/%d (%s)" % (a.name, found, len(want), source))
    print("source lines %s: %d/%d" % (a.name, lines_same, lines_given))
    if missing:
        print("FAILED %s: not in the report's %s, in order:" % (a.name, source))
        for m in missing:
            print("  at %s" % m)
        print("the report's displays:")
        for fr in have:
            print("  %s" % fr.get("display"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
