#!/usr/bin/env python3
"""check-srclines.py - the runtime's own stack trace on stderr against a crashpipe report.

usage: check-srclines.py APP_OUTPUT REPORT.json [--name NAME] [--thread-frames]
                         [--expect-lines N] [--no-lines]

The oracle is the text the .NET runtime printed for the crash ("Unhandled exception." with
"   at METHOD(...) in FILE:line N" lines, one block per exception, inner ones first, separated
by "--- End of inner exception stack trace ---"). For every block:
  - when the report's exception (or the matching inner one) has a "stack": the printed frames
    are that stack's frames in the same order (by method name), and every "in FILE:line N" is
    exactly that frame's "file" and "line";
  - with --thread-frames, the outermost block (the exception that is being thrown on the
    crashed thread) is also matched in order against the crashed thread's managed frames,
    with the same file:line check (for scenarios where that thread still has the stack the
    exception was thrown from).
A frame the runtime printed without a line has no line in the report either.
--no-lines: the report must have no file:line on any managed frame of the app's assembly
(the PDB was taken away or refused). Prints one line "srclines NAME: M/N lines match".
"""

import argparse
import json
import re
import sys

AT = re.compile(r"^\s+at (?P<method>.+?)(?: in (?P<file>.+):line (?P<line>\d+))?\s*$")


def runtime_blocks(text):
    """The "at" blocks of the first "Unhandled exception." (or "Stack overflow.") report."""
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        if line.startswith("Unhandled exception.") or line.startswith("Stack overflow."):
            start = i
            break
    if start is None:
        return []
    blocks, cur = [], []
    for line in lines[start + 1:]:
        if "--- End of inner exception stack trace ---" in line:
            blocks.append(cur)
            cur = []
            continue
        m = AT.match(line)
        if m:
            cur.append((m.group("method"), m.group("file"), int(m.group("line")) if m.group("line") else None))
        elif "--- End of stack trace from previous location ---" in line:
            continue
        elif cur and line.strip() and not line.startswith(" "):
            break      # the next thing the process wrote
    blocks.append(cur)
    return [b for b in blocks if b]


def key(method):
    """Type.Method without arguments, generic arguments or the runtime's display changes,
    comparable between the runtime's text and the DAC's names: the last two dotted parts of
    the name before '(' with any [..] and `N removed, a state machine's MoveNext named by
    the method it runs ("Program+<Run>d__5.MoveNext" is "Program.Run", as the runtime
    prints it)."""
    name = method.split("(", 1)[0]
    # an async or iterator state machine, as the DAC names it: Type+<Method>d__5.MoveNext
    name = re.sub(r"[+.]<([^<>]+)>d__\d+\.MoveNext$", r".\1", name)
    name = re.sub(r"\[[^\[\]]*\]", "", re.sub(r"\[[^\[\]]*\]", "", name))
    name = re.sub(r"`\d+", "", name).replace("+", ".")
    parts = [p for p in name.split(".") if p]
    return ".".join(parts[-2:])


def managed(frames):
    return [f for f in frames if f.get("kind") == "managed" and f.get("function")]


def frame_name(f):
    return f.get("display") or f.get("function") or ""


def match_in_order(printed, frames):
    """Greedy in-order match of the printed frames in the report's frames: list of
    (printed, frame or None)."""
    out, j = [], 0
    for p in printed:
        k = key(p[0])
        for jj in range(j, len(frames)):
            if key(frame_name(frames[jj])) == k or key(frames[jj].get("function") or "") == k:
                out.append((p, frames[jj]))
                j = jj + 1
                break
        else:
            out.append((p, None))
    return out


def exceptions(exc):
    """The exception and its inner ones, depth first, innermost last."""
    if not exc:
        return []
    out = [exc]
    for inner in exc.get("inner") or []:
        out += exceptions(inner)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("app_output")
    ap.add_argument("report")
    ap.add_argument("--name", default="")
    ap.add_argument("--thread-frames", action="store_true")
    ap.add_argument("--expect-lines", type=int, default=1, help="at least this many file:line printed")
    ap.add_argument("--no-lines", metavar="ASSEMBLY_SUFFIX")
    a = ap.parse_args()

    text = open(a.app_output, errors="replace").read()
    report = json.load(open(a.report))
    threads = report.get("threads") or []
    crashed = [t for t in threads if t.get("crashed")]
    problems, checked, matched = [], 0, 0

    if a.no_lines:
        for t in threads:
            for f in managed(t.get("frames") or []):
                if (f.get("assembly") or "").endswith(a.no_lines) and (f.get("file") or f.get("line")):
                    problems.append("frame %s has %s:%s though its PDB is not usable" %
                                    (f["function"], f.get("file"), f.get("line")))
        print("srclines %s: %d frames with lines where none may be" % (a.name, len(problems)))
        for p in problems:
            print("  " + p)
        return 1 if problems else 0

    blocks = runtime_blocks(text)
    if not blocks:
        print("srclines %s: FAILED: the runtime printed no stack trace" % a.name)
        return 1
    printed_lines = sum(1 for b in blocks for p in b if p[1])
    if printed_lines < a.expect_lines:
        problems.append("the runtime printed %d file:line, expected at least %d (no PDB found by the runtime?)" %
                        (printed_lines, a.expect_lines))

    def check(pairs, where):
        nonlocal checked, matched
        for p, f in pairs:
            if f is None:
                problems.append("%s: the runtime's frame %s is not in the report" % (where, p[0]))
                continue
            if p[1] is None:
                if f.get("file") and f.get("line"):
                    problems.append("%s: %s: the runtime printed no line, the report has %s:%s" %
                                    (where, p[0], f.get("file"), f.get("line")))
                continue
            checked += 1
            if f.get("file") == p[1] and f.get("line") == p[2]:
                matched += 1
            else:
                problems.append("%s: %s: runtime %s:%d, report %s:%s (il_offset %s)" %
                                (where, p[0], p[1], p[2], f.get("file"), f.get("line"), f.get("il_offset")))

    # the exception stacks: outermost exception = last block, its inners = the blocks before
    exc_thread = None
    for t in threads:
        if t.get("exception") and t["exception"].get("stack") is not None:
            exc_thread = t if exc_thread is None or t.get("crashed") else exc_thread
    stacks_checked = False
    if exc_thread:
        chain = exceptions(exc_thread["exception"])
        # the runtime prints the innermost first: block i from the end <-> chain[i]
        for i, exc in enumerate(chain):
            if i >= len(blocks) or exc.get("stack") is None:
                continue
            check(match_in_order(blocks[-1 - i], managed(exc["stack"])), "exception %d stack" % i)
            stacks_checked = True
    if a.thread_frames:
        if not crashed:
            problems.append("no crashed thread in the report")
        else:
            check(match_in_order(blocks[-1], managed(crashed[0].get("frames") or [])), "crashed thread")
    if not stacks_checked and not a.thread_frames:
        # the exception's own stack comes with the excstack work; until then there is
        # nothing this scenario's lines can be compared with
        print("srclines %s: not checked: the report has no exception stack" % a.name)
        return 0
    status = "FAILED" if problems else "ok"
    print("srclines %s: %d/%d lines match%s (%s)" % (a.name, matched, checked,
          "" if stacks_checked else ", exception stacks not in the report", status))
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
