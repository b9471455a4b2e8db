#!/usr/bin/env python3
"""check-inline.py - a report's inline frames against gdb's and eu-stack's (issue 9).

  check-inline.py [--name NAME] [--threshold PCT] [--eu-stack FILE] [--eu-threshold PCT]
                  [--expect-inline N] [--expect FUNC,FUNC,...] REPORT GDB_JSON

GDB_JSON is tests/gdb-frames.py's output with inline_frames = True (each thread's "all"
list); FILE is `eu-stack -i -s` output.  Per thread (by tid) the frames are lined up by
index, gdb's numbering (inline frames count, as crashpipe's do).  What is scored is what
inline expansion decides: every frame gdb calls inline must be a report frame of kind
"inline" with the same function, file and line, and the physical frame right after an
inline run must have gdb's file and line (the call site).  Each scored frame counts one;
the score is matched / scored over all threads, at least PCT (default 99) to pass.  A
report frame of kind "inline" where gdb has a physical frame is a mismatch too (counted
once per such frame).

The same for eu-stack: its frames with -i are lined up the same way; eu-stack does not
mark inline frames, so the report's kinds decide which of its frames are scored.

Names: gdb says "deep::fubar<long>" and "fu" where the demangler says
"void deep::fubar<long>(long)" and "fu(int)": both sides drop a return type, a trailing
parameter list and " const" before they are compared.  Files: equal, or one ends with
"/" + the other with any "./" prefix dropped.

--expect-inline N: at least N inline frames in the report (so a test cannot pass by
finding none); --expect F1,F2,...: the crashed thread's frames, innermost first, begin
with these functions (normalised).

Prints one line per mismatch, then a summary; exit 0 on pass, 1 on fail.
"""
import argparse
import json
import re
import sys


def split_top(s):
    """The top-level (outside () <> [] {}) positions of spaces in s."""
    depth, out = 0, []
    for i, c in enumerate(s):
        if c in "(<[{":
            depth += 1
        elif c in ")>]}":
            depth -= 1
        elif c == " " and depth == 0:
            out.append(i)
    return out


def norm_name(n):
    if not n:
        return None
    n = n.strip()
    if n.endswith(" const"):
        n = n[: -len(" const")]
    # a trailing parameter list: the last top-level "(...)" at the end
    if n.endswith(")"):
        depth = 0
        for i in range(len(n) - 1, -1, -1):
            if n[i] == ")":
                depth += 1
            elif n[i] == "(":
                depth -= 1
                if depth == 0:
                    # "operator()" itself is no parameter list
                    if not n[:i].endswith("operator") or i + 2 < len(n):
                        n = n[:i]
                    break
    # a return type: anything before the last top-level space
    sp = split_top(n)
    if sp:
        n = n[sp[-1] + 1:]
    return n


def norm_file(f):
    if not f:
        return None
    while f.startswith("./"):
        f = f[2:]
    return f


def same_file(a, b):
    a, b = norm_file(a), norm_file(b)
    if a is None or b is None:
        return a == b
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def report_threads(path):
    with open(path) as f:
        rep = json.load(f)
    return rep, {t["tid"]: t.get("frames") or [] for t in rep.get("threads") or []}


def gdb_threads(path):
    with open(path) as f:
        g = json.load(f)
    out = {}
    for t in g["threads"]:
        if "all" not in t:
            sys.exit("%s: no \"all\" lists: run gdb-frames.py with inline_frames = True" % path)
        out[t["tid"]] = [{"inline": x["inline"], "function": x["function"], "file": x["file"],
                          "line": x["line"]} for x in t["all"]]
    return out


def eu_threads(path):
    out, cur = {}, None
    last = None
    with open(path) as f:
        for line in f:
            m = re.match(r"^TID (\d+):", line)
            if m:
                cur = out.setdefault(int(m.group(1)), [])
                continue
            m = re.match(r"^#(\d+)\s+0x[0-9a-f]+\s*(.*)$", line)
            if m and cur is not None:
                name = m.group(2).strip()
                name = re.sub(r"^- \d+\s*", "", name)  # "- 1" activation marks of -a
                last = {"function": name or None, "file": None, "line": None}
                cur.append(last)
                continue
            m = re.match(r"^\s+(\S.*?):(\d+)(?::\d+)?\s*$", line)
            if m and last is not None and last["file"] is None:
                last["file"], last["line"] = m.group(1), int(m.group(2))
    return out


def score(name, oracle_name, rep, oracle, inline_of_oracle, problems):
    """Line up each thread; returns (matched, scored)."""
    matched = scored = 0
    for tid, ofr in sorted(oracle.items()):
        rfr = rep.get(tid)
        if rfr is None:
            continue
        prev_inline = False
        for i, o in enumerate(ofr):
            if i >= len(rfr):
                break
            r = rfr[i]
            r_inline = r.get("kind") == "inline"
            o_inline = inline_of_oracle(o, r)
            where = "%s: thread %d #%d" % (name, tid, i)
            if o_inline:
                scored += 1
                ok = (r_inline and norm_name(r.get("function")) == norm_name(o["function"]) and
                      same_file(r.get("file"), o["file"]) and (r.get("line") or None) == o["line"])
                if ok:
                    matched += 1
                else:
                    problems.append("%s: %s has inline %s at %s:%s, the report %s %s at %s:%s" % (
                        where, oracle_name, o["function"], o["file"], o["line"], r.get("kind"),
                        r.get("function"), r.get("file"), r.get("line")))
            elif r_inline:
                scored += 1
                problems.append("%s: the report has inline %s, %s a physical frame %s" % (
                    where, r.get("function"), oracle_name, o["function"]))
            elif prev_inline:
                # the physical frame the run was inlined into: the call site
                scored += 1
                if same_file(r.get("file"), o["file"]) and (r.get("line") or None) == o["line"]:
                    matched += 1
                else:
                    problems.append("%s: %s's call site %s:%s, the report's %s:%s (%s)" % (
                        where, oracle_name, o["file"], o["line"], r.get("file"), r.get("line"),
                        r.get("function")))
            prev_inline = o_inline or r_inline
    return matched, scored


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="report")
    ap.add_argument("--threshold", type=float, default=99.0)
    ap.add_argument("--eu-stack")
    ap.add_argument("--eu-threshold", type=float, default=99.0)
    ap.add_argument("--expect-inline", type=int, default=0)
    ap.add_argument("--expect")
    ap.add_argument("report")
    ap.add_argument("gdb_json")
    a = ap.parse_args()

    rep_doc, rep = report_threads(a.report)
    problems = []
    ok = True

    n_inline = sum(1 for fr in rep.values() for f in fr if f.get("kind") == "inline")
    if n_inline < a.expect_inline:
        problems.append("%s: %d inline frames in the report, expected at least %d" % (a.name, n_inline, a.expect_inline))
        ok = False
    if a.expect:
        want = a.expect.split(",")
        crashed = [t for t in rep_doc.get("threads") or [] if t.get("crashed")]
        got = [norm_name(f.get("function")) for f in (crashed[0].get("frames") or [])] if crashed else []
        if got[: len(want)] != want:
            problems.append("%s: the crashed thread's frames begin %r, expected %r" % (a.name, got[: len(want) + 2], want))
            ok = False

    gm, gs = score(a.name, "gdb", rep, gdb_threads(a.gdb_json), lambda o, r: o["inline"], problems)
    gpct = 100.0 * gm / gs if gs else 100.0
    line = "%s: inline frames vs gdb: %d of %d (%.1f%%)" % (a.name, gm, gs, gpct)
    if gs == 0 or gpct < a.threshold:
        ok = False
    if a.eu_stack:
        em, es = score(a.name, "eu-stack", rep, eu_threads(a.eu_stack),
                       lambda o, r: r.get("kind") == "inline", problems)
        epct = 100.0 * em / es if es else 100.0
        line += "; vs eu-stack -i: %d of %d (%.1f%%)" % (em, es, epct)
        if es == 0 or epct < a.eu_threshold:
            ok = False
    for p in problems[:40]:
        print(p)
    print(line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
