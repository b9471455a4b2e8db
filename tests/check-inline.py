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

Two more checks instead of the oracles (GDB_JSON is then left out):
  --show FILE            FILE is `crashpipe show REPORT`: each frame line of the report's
                         threads shows the address only on the first frame of an inline
                         chain (gdb's backtrace), and every frame is there with its number
  --same-as OTHER        REPORT's threads have exactly OTHER's frames (warm vs cold)
  --expect-inline-in ID:N  at least N inline frames of the module with build-id ID
  --capped FULL --cap N  REPORT was made with --max-frames=N, FULL of the same core
                         without: the crashed thread keeps at most N physical frames, every
                         inline frame is followed by its physical frame, the left-out frames
                         do not start inside a chain, and the kept head (to the first
                         folded cycle) is FULL's head

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


def check_show(rep_doc, show_path):
    """Problems of `crashpipe show`'s frame lines."""
    problems = []
    with open(show_path, errors="replace") as f:
        lines = f.read().split("\n")
    for t in rep_doc.get("threads") or []:
        fr = t.get("frames") or []
        # the thread's block: from its header to the next blank line
        head = [i for i, l in enumerate(lines) if re.match(r"^(Crashed thread|Thread) %d\b" % t["tid"], l)]
        if not head:
            if fr:
                problems.append("show: no block for thread %d" % t["tid"])
            continue
        block = []
        for l in lines[head[0] + 1:]:
            if not l.strip():
                break
            block.append(l)
        rows = {}
        for l in block:
            m = re.match(r"^  #(\d+)\s+(0x[0-9a-f]{16})?", l)
            if m:
                rows[int(m.group(1))] = m.group(2)
        for i, f in enumerate(fr):
            if i not in rows:
                problems.append("show: thread %d has no line #%d" % (t["tid"], i))
                continue
            prev = fr[i - 1] if i > 0 else None
            continued = prev is not None and prev.get("kind") == "inline" and prev["ip"] == f["ip"] and \
                prev["sp"] == f["sp"] and ((t.get("omitted") or {}).get("after") != i)
            if continued and rows[i] is not None:
                problems.append("show: thread %d #%d (%s) is inlined into the frame above it, yet shows an address"
                                % (t["tid"], i, f.get("function")))
            if not continued and rows[i] is None:
                problems.append("show: thread %d #%d (%s) shows no address" % (t["tid"], i, f.get("function")))
            if not continued and rows[i] is not None and int(rows[i], 16) != int(f["ip"], 16):
                problems.append("show: thread %d #%d shows %s, the report's ip is %s" % (t["tid"], i, rows[i], f["ip"]))
    return problems


def check_capped(cap_doc, full_path, cap):
    with open(full_path) as f:
        full = json.load(f)
    t = [t for t in cap_doc["threads"] if t["crashed"]][0]
    u = [t for t in full["threads"] if t["crashed"]][0]
    fr, problems = t["frames"], []
    phys = [f for f in fr if f["kind"] != "inline"]
    if len(phys) > cap:
        problems.append("capped: %d physical frames kept, the cap is %d" % (len(phys), cap))
    if len(u["frames"]) <= len(fr):
        problems.append("capped: the uncapped report has %d frames, no more than the capped one's %d: nothing tested"
                        % (len(u["frames"]), len(fr)))
    if not t.get("truncated"):
        problems.append("capped: the thread is not marked truncated")
    for i, f in enumerate(fr):
        if f["kind"] == "inline":
            j = i
            while j < len(fr) and fr[j]["kind"] == "inline":
                j += 1
            if j == len(fr) or (fr[j]["ip"], fr[j]["sp"]) != (f["ip"], f["sp"]):
                problems.append("capped: inline frame #%d (%s) is cut off from its physical frame" % (i, f["function"]))
    after = (t.get("omitted") or {}).get("after")
    if after is not None and 0 < after <= len(fr) and fr[after - 1]["kind"] == "inline":
        problems.append("capped: the left-out frames start inside an inline chain (after #%d)" % after)
    n = after if after is not None else len(fr)
    # up to the first folded cycle (its copies are counted, not kept)
    for i, f in enumerate(fr[:n]):
        if f.get("repeat"):
            n = i + 1
            break

    def key(f):
        return (f["ip"], f["kind"], f["function"], f["file"], f["line"])
    if [key(f) for f in fr[:n]] != [key(f) for f in u["frames"][:n]]:
        problems.append("capped: the kept head (%d frames) differs from the uncapped report's" % n)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--show")
    ap.add_argument("--capped")
    ap.add_argument("--cap", type=int, default=0)
    ap.add_argument("--same-as")
    ap.add_argument("--expect-inline-in")
    ap.add_argument("--name", default="report")
    ap.add_argument("--threshold", type=float, default=99.0)
    ap.add_argument("--eu-stack")
    ap.add_argument("--eu-threshold", type=float, default=99.0)
    ap.add_argument("--expect-inline", type=int, default=0)
    ap.add_argument("--expect")
    ap.add_argument("report")
    ap.add_argument("gdb_json", nargs="?")
    a = ap.parse_args()

    rep_doc, rep = report_threads(a.report)
    problems = []
    ok = True

    if a.show or a.capped or a.same_as or a.expect_inline_in:
        if a.same_as:
            with open(a.same_as) as f:
                other = json.load(f)
            mine = [(t["tid"], t.get("frames")) for t in rep_doc.get("threads") or []]
            theirs = [(t["tid"], t.get("frames")) for t in other.get("threads") or []]
            if mine != theirs:
                for (ta, fa), (tb, fb) in zip(mine, theirs):
                    for i, (x, y) in enumerate(zip(fa or [], fb or [])):
                        if x != y:
                            problems.append("thread %d #%d: %r, in %s %r" % (ta, i, x, a.same_as, y))
                            break
                problems.append("the frames differ from %s's" % a.same_as)
        if a.expect_inline_in:
            bid, n = a.expect_inline_in.rsplit(":", 1)
            got = sum(1 for fr in rep.values() for f in fr if f.get("kind") == "inline" and f.get("build_id") == bid)
            if got < int(n):
                problems.append("%d inline frames in module %s, expected at least %s" % (got, bid, n))
        if a.show:
            problems += check_show(rep_doc, a.show)
        if a.capped:
            problems += check_capped(rep_doc, a.capped, a.cap)
        for p in problems[:40]:
            print(p)
        print("%s: %s" % (a.name, "%d problem(s)" % len(problems) if problems else "ok"))
        sys.exit(1 if problems else 0)
    if not a.gdb_json:
        ap.error("GDB_JSON is needed")

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
