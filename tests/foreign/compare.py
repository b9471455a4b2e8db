#!/usr/bin/env python3
"""compare.py - a crashpipe report of a foreign core against what gdb and eu-stack agree on.

usage: compare.py --name NAME [--inline-threshold PCT] REPORT GDB_JSON EU_STACK_TEXT [EU_STACK_I]

REPORT         crashpipe analyze's report (schema crashpipe/1, plain JSON)
GDB_JSON       tests/gdb-frames.py's output for the same core, made with inline_frames = True
EU_STACK_TEXT  the stdout of `eu-stack --core CORE -e PROG` (physical frames, no -i)
EU_STACK_I     the stdout of `eu-stack -i -s --core CORE -e PROG`: a second opinion on the
               inline frames (below)

Physical frames. Per thread (matched by tid), the oracle is the longest run of frames from
the top on which gdb's physical frames and eu-stack's frames agree (the same pc at the same
index); crashpipe's native frames ("kind" "native", in report order) must begin with exactly
that run. M counts, per thread, how many of the run's frames crashpipe has at the same index
before the first difference; T is the sum of the runs' lengths. A thread neither oracle shows
frames for adds nothing; a thread the report lacks adds its run to T only.

Inline frames. gdb shows, for a physical frame whose pc is in inlined code, the inlined
calls innermost first and then the physical frame itself (the function they were inlined
into), each with its file and line (the call site's for all but the newest). For every such
group inside the agreed physical run, each of its frames counts once in T; it agrees (M)
when crashpipe's group at the same place -- the frames of kind "inline" right before that
native frame, and the native frame -- has at the same index the same function (by
its unqualified name: scope, template arguments, return type and parameters dropped on both
sides, see base_name), the same file (by base name:
the tools print the DWARF name in different forms) and the same line; for the physical frame
of the group only file and line are compared (its pc agrees already, and the tools name an
address by different aliases of it: read, __libc_read, __GI___libc_read). With EU_STACK_I, a
frame of gdb's on which eu-stack -i differs (gdb stopped at a breakpoint shows the line table's
line where eu-stack shows the call site's) is left out of T and counted apart ("??" lines).

Prints "foreign NAME: physical M/T (P%), inline M/T (P%)" ("inline 0/0 (-)" when gdb shows
no inline frame there), then each thread that differs. Exit 1 when physical < 100% or inline
below --inline-threshold (default 99), 2 on bad input.
"""
import argparse
import json
import os
import re
import sys

FRAME_RE = re.compile(r"^#(\d+)\s+0x([0-9a-fA-F]+)(?:\s+(.*))?$")


def eu_threads(text):
    """{tid: [pc]} from eu-stack's output."""
    threads, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^TID (\d+):$", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = FRAME_RE.match(line.strip())
        if m and cur is not None:
            cur.append(int(m.group(2), 16))
    return threads


def eu_inline_groups(text):
    """{tid: [[key, ...] per physical frame]} from `eu-stack -i -s` output: a frame's inlined
    calls are printed with its pc, innermost first, the physical frame last; the source line
    under each frame is "    FILE:LINE[:COL]". Frames are grouped by consecutive equal pcs
    (the corpus has no recursion, where two physical frames could share one)."""
    threads, cur, last = {}, None, None
    for line in text.splitlines():
        m = re.match(r"^TID (\d+):$", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            last = None
            continue
        if cur is None:
            continue
        m = FRAME_RE.match(line.strip())
        if m:
            pc = int(m.group(2), 16)
            name = (m.group(3) or "").strip() or None
            if last is None or last[0] != pc:
                cur.append([])
            cur[-1].append([name, None, None])
            last = (pc,)
            continue
        m = re.match(r"^\s+(\S.*?):(\d+)(?::\d+)?$", line)
        if m and cur and cur[-1] and cur[-1][-1][1] is None:
            cur[-1][-1][1], cur[-1][-1][2] = m.group(1), int(m.group(2))
    return {tid: [[key(*f) for f in g] for g in groups] for tid, groups in threads.items()}


def same(a, b, host):
    """Two frames' keys agree; for the physical frame of a group (@host) the function is
    not compared: the pc is (physical agreement), and the tools name it by different aliases
    of one address (read, __libc_read, __GI___libc_read)."""
    return a[1:] == b[1:] if host else a == b


def base_name(name):
    """The unqualified function name, the same whichever way a tool spells it: gdb names an
    inline frame from DWARF ("apply<bar(int)::<lambda(int)> >", "operator()"), a demangled
    linkage name has the scope, the return type and the parameters ("void apply<...>(...)",
    "bar(int)::{lambda(int)#1}::operator()(int) const"); both give "apply", "operator()"."""
    if not name:
        return name
    s = name.strip().replace("operator()", "operator\x01")
    prev = None
    while prev != s:  # innermost groups first: <...>, (...), {...}, [...]
        prev = s
        s = re.sub(r"<[^<>]*>|\([^()]*\)|\{[^{}]*\}|\[[^\[\]]*\]", "", s)
    s = re.sub(r"\s+const$", "", s.strip())
    s = s.split("::")[-1].split(" ")[-1]
    return s.replace("operator\x01", "operator()") or name


def key(function, path, line):
    return (base_name(function), os.path.basename(path) if path else None, line or None)


def gdb_groups(thread):
    """[(pc, [key, ...])] per physical frame: its inline frames (innermost first), then itself."""
    groups, pending = [], []
    if "all" not in thread:  # made without inline_frames: physical frames only
        names = thread.get("names") or [None] * len(thread["frames"])
        return [(int(pc, 16), [key(n, None, None)], 0) for pc, n in zip(thread["frames"], names)]
    for f in thread["all"]:
        k = key(f.get("function"), f.get("file"), f.get("line"))
        if f.get("inline") or f.get("type") == "inline":
            pending.append(k)
            continue
        groups.append((int(f["pc"], 16), pending + [k], len(pending)))
        pending = []
    return groups


def report_groups(thread):
    """[(ip, [key, ...])] per native frame: the inline frames right before it, then itself."""
    groups, pending = [], []
    for f in thread.get("frames") or []:
        kind = f.get("kind", "native")
        k = key(f.get("function"), f.get("file"), f.get("line"))
        if kind == "inline":
            pending.append(k)
        elif kind == "native":
            groups.append((int(f["ip"], 16), pending + [k]))
            pending = []
        else:
            pending = []
    return groups


def fmt_key(k):
    return "%s %s:%s" % (k[0] or "??", k[1] or "?", k[2] if k[2] is not None else "?")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--inline-threshold", type=float, default=99.0)
    ap.add_argument("report")
    ap.add_argument("gdb")
    ap.add_argument("eu_stack")
    ap.add_argument("eu_stack_inline", nargs="?")
    a = ap.parse_args()
    try:
        with open(a.report) as f:
            rep = json.load(f)
        with open(a.gdb) as f:
            gdbdoc = json.load(f)
        with open(a.eu_stack) as f:
            eu = eu_threads(f.read())
        eui = None
        if a.eu_stack_inline:
            with open(a.eu_stack_inline) as f:
                eui = eu_inline_groups(f.read())
    except (OSError, ValueError) as e:
        print("foreign %s: bad input: %s" % (a.name, e))
        return 2
    rthreads = {t["tid"]: t for t in rep.get("threads") or []}
    pm = pt = im = it = odiff = 0
    diffs = []
    for gt in gdbdoc["threads"]:
        tid = gt["tid"]
        g = gdb_groups(gt)
        gp = [x[0] for x in g]
        ep = eu.get(tid, [])
        run = 0
        while run < min(len(gp), len(ep)) and gp[run] == ep[run]:
            run += 1
        rt = rthreads.get(tid)
        r = report_groups(rt) if rt else []
        rp = [x[0] for x in r]
        m = 0
        while m < min(run, len(rp)) and rp[m] == gp[m]:
            m += 1
        pm += m
        pt += run
        lines = []
        if m < run:
            lines.append("  physical: agreed run of %d (gdb %d, eu-stack %d frames), crashpipe %d/%d: %s"
                         % (run, len(gp), len(ep), m, run,
                            "no such thread" if rt is None else
                            "at #%d gdb/eu-stack 0x%x (%s), crashpipe %s" % (
                                m, gp[m], g[m][1][-1][0] or "??",
                                ("0x%x (%s)" % (rp[m], r[m][1][-1][0] or "??")) if m < len(rp) else "none")))
        eg = eui.get(tid, []) if eui is not None else None
        for i in range(run):
            ninl = g[i][2]
            if ninl == 0:
                continue
            want = g[i][1]
            got = r[i][1] if i < m else []
            other = eg[i] if eg is not None and i < len(eg) else None
            ok = n = 0
            rows = []
            for j in range(max(len(want), len(got))):
                host = j == len(want) - 1
                w = want[j] if j < len(want) else None
                h = got[j] if j < len(got) else None
                if w is not None and other is not None and (j >= len(other) or not same(w, other[j], host)):
                    odiff += 1
                    rows.append("    ?? %-50s %-42s (eu-stack -i: %s)" % (
                        fmt_key(w), fmt_key(h) if h else "-", fmt_key(other[j]) if j < len(other) else "-"))
                    continue
                if w is not None:
                    n += 1
                    if h is not None and same(w, h, host):
                        ok += 1
                        rows.append("       %-50s %s" % (fmt_key(w), fmt_key(h)))
                        continue
                rows.append("    != %-50s %s" % (fmt_key(w) if w else "-", fmt_key(h) if h else "-"))
            it += n
            im += ok
            if ok != n or len(rows) != ok:
                lines.append("  inline at physical #%d (0x%x): %d/%d (gdb, crashpipe)" % (i, gp[i], ok, n))
                lines.extend(rows)
        if lines:
            diffs.append("thread %d%s:" % (tid, " (crashed)" if tid == gdbdoc.get("crashed") else ""))
            diffs.extend(lines)
    pp = 100.0 * pm / pt if pt else 100.0
    ip = 100.0 * im / it if it else None
    print("foreign %s: physical %d/%d (%.1f%%), inline %d/%d (%s)%s"
          % (a.name, pm, pt, pp, im, it, "-" if ip is None else "%.1f%%" % ip,
             "; gdb and eu-stack -i differ on %d (left out)" % odiff if odiff else ""))
    for d in diffs:
        print(d)
    ok = pm == pt and (ip is None or ip >= a.inline_threshold)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
