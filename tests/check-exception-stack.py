#!/usr/bin/env python3
"""check-exception-stack.py - the runtime's own "Unhandled exception." text against a report.

usage: check-exception-stack.py APP_OUTPUT REPORT_JSON [--name NAME] [--tid TID]

APP_OUTPUT is what the crashed .NET app wrote (stdout and stderr); the runtime printed the
unhandled exception there as Exception.ToString() gives it:

    Unhandled exception. TYPE: MESSAGE
     ---> TYPE: MESSAGE                         the InnerException, printed inside
       at METHOD(ARGS) [in FILE:line N]
    --- End of stack trace from previous location ---
       --- End of inner exception stack trace ---
       at ...                                   the outer exception's own frames
     ---> (Inner Exception #1) TYPE: MESSAGE    AggregateException's further inner ones
       at ...<---

That text is parsed into a tree of exceptions, each with its frames and the segment of each
frame (0, +1 after each "--- End of stack trace from previous location ---"). The report's
exception (REPORT_JSON's top-level "exception", or that of thread TID) must have the same tree:
the same types, the message printed (the report has the exception's _message; an
AggregateException prints its inner messages after it, so the printed one must start with
it), and, per exception, every frame the runtime printed in its "stack", in the same order
and segment (a subsequence: the runtime leaves out [StackTraceHidden] frames; the report keeps
them). Frames are compared by Type.Method: the runtime's "Ns.Outer.<M>d__0" style is what the
report's DAC names become once "+" is ".", generic arguments are dropped and an async state
machine's "<M>d__N.MoveNext" is its method M, as the runtime prints it.

Prints "agreement NAME: F/F frames, E/E exceptions" and, on any difference, one line per
difference; exits 1 then.
"""
import argparse
import json
import re
import sys

AT = "   at "
EDI = "--- End of stack trace from previous location ---"
END_INNER = "   --- End of inner exception stack trace ---"
INNER = " ---> "
AGG_INNER = re.compile(r"^ ---> \(Inner Exception #(\d+)\) (.*)$")


class Exc:
    def __init__(self, header):
        self.close_agg = header.endswith("<---")
        if self.close_agg:
            header = header[:-4]
        self.type, _, self.message = header.partition(": ")
        self.frames = []  # (name, segment)
        self.segment = 0
        self.inners = []
        self.in_agg = False  # opened by "(Inner Exception #i)", closed by "<---"

    def __repr__(self):
        return "%s: %s" % (self.type, self.message)


def strip_args(s):
    """'A.B`1.M[T](X x) in f:line 3' -> 'A.B`1.M' (generic args and parameters dropped)."""
    out, depth = [], 0
    for ch in s:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "(" and depth == 0:
            break
        elif depth == 0:
            out.append(ch)
    return "".join(out).strip()


def runtime_name(line):
    return strip_args(line[len(AT):]).replace("+", ".")


def report_name(name):
    if not name:
        return ""
    n = strip_args(name).replace("+", ".")
    m = re.match(r"^(.*)\.<([^>]+)>d__\d+(?:`\d+)?\.MoveNext$", n)
    if m:
        n = m.group(1) + "." + m.group(2)
    return n


def parse_runtime(text):
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Unhandled exception. ")), None)
    if start is None:
        sys.exit("no 'Unhandled exception.' in the app's output")
    root = Exc(lines[start][len("Unhandled exception. "):])
    stack = [root]
    for line in lines[start + 1:]:
        cur = stack[-1]
        m = AGG_INNER.match(line)
        if m:
            # an AggregateException's further inner one: a child of the innermost open
            # exception that is not itself one of these blocks' inner chain
            e = Exc(m.group(2))
            e.in_agg = True
            cur.inners.append(e)
            if not e.close_agg:
                stack.append(e)
            continue
        if line.startswith(INNER):
            e = Exc(line[len(INNER):])
            cur.inners.append(e)
            stack.append(e)
            continue
        if line == END_INNER:
            if len(stack) < 2:
                sys.exit("'End of inner exception' with no inner exception open")
            stack.pop()
            continue
        if line == EDI:
            cur.segment += 1
            continue
        if line.startswith(AT):
            closes = line.endswith("<---")
            if closes:
                line = line[:-4]
            cur.frames.append((runtime_name(line), cur.segment))
            if closes:
                while len(stack) > 1 and not stack[-1].in_agg:
                    stack.pop()
                if len(stack) > 1:
                    stack.pop()
            continue
        if line == "":
            continue
        break
    return root


def check(printed, reported, path, problems, counts):
    counts["exceptions"] += 1
    if reported is None:
        problems.append("%s: the report has no exception (the runtime printed %s)" % (path, printed.type))
        return
    counts["exceptions_ok"] += 1
    if reported.get("type") != printed.type:
        problems.append("%s: type %r, the runtime printed %r" % (path, reported.get("type"), printed.type))
    msg = reported.get("message") or ""
    if not printed.message.startswith(msg) or (msg == "" and printed.message != ""):
        problems.append("%s: message %r, the runtime printed %r" % (path, msg, printed.message))
    stack = reported.get("stack") or []
    have = [(report_name(f.get("function")), f.get("segment")) for f in stack]
    j = 0
    for name, seg in printed.frames:
        counts["frames"] += 1
        k = j
        while k < len(have) and have[k][0] != name:
            k += 1
        if k == len(have):
            problems.append("%s: the runtime's frame %s (segment %d) is not in the report's stack (after its frame %d) %s"
                            % (path, name, seg, j, [n for n, _ in have]))
            continue
        if have[k][1] != seg:
            problems.append("%s: frame %s in segment %s, the runtime printed it in segment %d"
                            % (path, name, have[k][1], seg))
        else:
            counts["frames_ok"] += 1
        j = k + 1
    inners = reported.get("inner") or []
    if len(inners) != len(printed.inners):
        problems.append("%s: %d inner exceptions, the runtime printed %d" % (path, len(inners), len(printed.inners)))
    for i, pi in enumerate(printed.inners):
        check(pi, inners[i] if i < len(inners) else None, "%s.inner[%d]" % (path, i), problems, counts)


def show(e, path):
    if not e:
        return
    print("  %s: %s: %s" % (path, e.get("type"), e.get("message")))
    for f in e.get("stack") or []:
        print("    [%s] %s il %s" % (f.get("segment"), f.get("function"), f.get("il_offset")))
    for i, inner in enumerate(e.get("inner") or []):
        show(inner, "%s.inner[%d]" % (path, i))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sos":
        return main_sos()
    ap = argparse.ArgumentParser()
    ap.add_argument("app_output")
    ap.add_argument("report")
    ap.add_argument("--name", default="")
    ap.add_argument("--tid", type=int)
    ap.add_argument("--show", action="store_true", help="print the report's exception stacks too")
    a = ap.parse_args()
    printed = parse_runtime(open(a.app_output, errors="replace").read())
    report = json.load(open(a.report))
    exc = report.get("exception")
    if a.tid is not None:
        exc = next((t.get("exception") for t in report.get("threads", []) if t.get("tid") == a.tid), None)
    problems = []
    counts = {"frames": 0, "frames_ok": 0, "exceptions": 0, "exceptions_ok": 0}
    check(printed, exc, "exception", problems, counts)
    # A thread's frames and its exception's stack are two things: both are there.
    if exc is not None and not exc.get("frames"):
        problems.append("exception.frames (the thread's managed frames) is empty")
    print("agreement %s: %d/%d frames, %d/%d exceptions" % (a.name, counts["frames_ok"], counts["frames"],
                                                           counts["exceptions_ok"], counts["exceptions"]))
    for p in problems:
        print("  " + p)
    if a.show:
        show(exc, "exception")
    return 1 if problems or counts["frames"] == 0 else 0


SOS_FRAME = re.compile(r"^\s+([0-9A-Fa-f]{8,16})\s+([0-9A-Fa-f]{8,16})\s+(?:[^!\s]*!)?(.*?)(?:\+0x[0-9a-fA-F]+)?\s*$")


def parse_sos(text):
    """The first exception of SOS's `pe -nested ADDR`: type, message, inner type, frames
    [(ip, name)]; the nested ones after it are earlier exceptions of the thread, not inner
    ones."""
    e = {"type": None, "message": None, "inner": None, "frames": []}
    in_stack = False
    for line in text.splitlines():
        if line.startswith("Nested exception"):
            break
        if line.startswith("Exception type:"):
            e["type"] = line.split(":", 1)[1].strip()
        elif line.startswith("Message:"):
            m = line.split(":", 1)[1].strip()
            e["message"] = None if m == "<none>" else m
        elif line.startswith("InnerException:"):
            v = line.split(":", 1)[1].strip()
            e["inner"] = None if v == "<none>" else v.split(",")[0]
        elif line.startswith("StackTrace (generated):"):
            in_stack = True
        elif line.startswith("StackTraceString:"):
            in_stack = False
        elif in_stack:
            m = SOS_FRAME.match(line)
            if m:
                e["frames"].append((int(m.group(2), 16), m.group(3)))
    return e


def main_sos():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sos", required=True, help="dotnet-dump's output of pe -nested ADDR")
    ap.add_argument("report")
    ap.add_argument("--name", default="")
    a = ap.parse_args()
    sos = parse_sos(open(a.sos, errors="replace").read())
    exc = json.load(open(a.report)).get("exception") or {}
    problems = []
    if not sos["type"]:
        problems.append("no exception in dotnet-dump's output")
    if sos["type"] != exc.get("type"):
        problems.append("type %r, dotnet-dump says %r" % (exc.get("type"), sos["type"]))
    if (sos["message"] or None) != (exc.get("message") or None):
        problems.append("message %r, dotnet-dump says %r" % (exc.get("message"), sos["message"]))
    inners = exc.get("inner") or []
    if (inners[0].get("type") if inners else None) != sos["inner"]:
        problems.append("inner exception %r, dotnet-dump says %r" % (inners[0].get("type") if inners else None, sos["inner"]))
    # The ip: the one the object recorded, which SOS shows + 1 when it guesses the runtime
    # had decremented it (a hardware exception; strike.cpp says its guess is not 100%
    # accurate), so within 1 of SOS's.
    have = [(int(f.get("ip") or "0", 16), f.get("function")) for f in exc.get("stack") or []]
    same = sum(1 for x, y in zip(have, sos["frames"]) if x[1] == y[1] and 0 <= y[0] - x[0] <= 1)
    if same != len(have) or len(have) != len(sos["frames"]):
        problems.append("stack %s, dotnet-dump says %s" % (["%x %s" % f for f in have], ["%x %s" % f for f in sos["frames"]]))
    print("agreement %s: %d/%d frames" % (a.name, same, len(sos["frames"])))
    for p in problems:
        print("  " + p)
    return 1 if problems or not sos["frames"] else 0


if __name__ == "__main__":
    sys.exit(main())
