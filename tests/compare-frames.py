#!/usr/bin/env python3
"""compare-frames.py - compare a crashpipe report's native frames with gdb (and eu-stack).

usage: compare-frames.py [--name NAME] [--threshold PCT] [--max-frames N] [--tid-map MAP]
                         [--eu-stack FILE] [--eu-threshold PCT] [--agreed] REPORT GDB_JSON

REPORT    a crashpipe report (schema crashpipe/1, plain JSON), or for a self-test of the
          oracles another gdb-frames.py output.
GDB_JSON  the output of tests/gdb-frames.py for the same core.
FILE      the stdout of `eu-stack --core CORE -e PROG -n N` for the same core.
MAP       OLD=NEW,...: rename the oracles' thread ids, for a core of another run of the same
          program (with ASLR off, setarch -R, its frames have the same addresses, not tids).

Threads are matched by tid.  In each thread the two ip lists are compared in order: a frame
agrees when the same index has the same address in both.  Agreement is
    agreeing frames / sum over threads of max(oracle frames, report frames)
which is "agreeing frames / gdb frames" whenever the report has no frames gdb has not; frames
or whole threads only one side has count as disagreements.  With --max-frames N only the
first N frames of each thread are compared (the stack overflow case, where gdb would unwind
tens of thousands).  Only native frames of the report are compared ("kind": "native", or no
kind).  The crashed thread must also be the same (report process.tid / gdb's selected thread).
A report's folded cycles ("repeat") are expanded first, their copies agreeing with a frame
of the same function (a copy has the ip of the frame stored and no sp), and the frames it
left out ("omitted") count as disagreements where they are compared.
Where the ips agree, the report's "sp" must also be gdb's $sp in that frame (the same
threshold applies to those frames; eu-stack prints no sp).

What the three tools print as a frame's address (measured with gdb 13.1, elfutils 0.188):
gdb's frame.pc(), eu-stack's "#N 0xADDR" and the report's "ip" are the same number: the PC
for frame 0 and for the frame a signal interrupted, the return address for other frames.
eu-stack looks the symbol up at ADDR-1 for caller frames but prints ADDR unadjusted, so no
normalisation is needed.  Without -i it prints physical frames only, as gdb-frames.py does.

With --agreed (needs --eu-stack) the oracle is what gdb and eu-stack agree on: per thread,
the longest run of first frames with the same ip in both.  Those frames must be the
report's first frames, in the same order; frames past that run (where the two oracles part,
or where one of them stopped) are not compared.  Agreement is then
    agreeing frames / sum over threads of the agreed run's length
against --threshold, the sp rule as above; the crashed thread must still be gdb's.  A
thread the oracles agree on no frame of counts nothing, and is listed.

Prints one line "agreement NAME: M/T (P%) gdb[, M2/T2 (P2%) eu-stack]; sp S/N", then every
thread that differs, frame by frame.  Exit 1 when gdb agreement is below --threshold (default 99) or
eu-stack agreement below --eu-threshold (default 0: informational), or the crashed thread
differs; 2 on bad input.
"""
import argparse
import json
import re
import sys


def expand(t):
    """A report thread's frames as the stack had them: a folded cycle ("repeat") N times,
    its copies marked (they have the stored frame's ip and no sp of their own: they agree
    with a frame of the same function); "omitted" frames as None."""
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
                out.extend(dict(f, sp=None, copy=True) for f in period)
            i += rep["length"]
        else:
            out.append(frames[i])
            i += 1
    return out


def report_threads(doc):
    """{tid: [(ip, name, sp, copy)]} and the crashed tid, from a report or a gdb-frames.py
    output; a frame the report left out is (None, None, None, False)."""
    threads = {}
    if doc.get("schema", "").startswith("crashpipe/"):
        for t in doc.get("threads") or []:
            frames = [
                (int(f["ip"], 16), f.get("function"), hexnum(f.get("sp")), bool(f.get("copy")))
                if f is not None else (None, None, None, False)
                for f in expand(t)
                if f is None or f.get("kind", "native") == "native"
            ]
            threads[t["tid"]] = frames
        return threads, (doc.get("process") or {}).get("tid")
    for t in doc["threads"]:
        n = len(t["frames"])
        names = t.get("names") or [None] * n
        sps = t.get("sps") or [None] * n
        threads[t["tid"]] = [(int(a, 16), nm, hexnum(sp), False) for a, nm, sp in zip(t["frames"], names, sps)]
    return threads, doc.get("crashed")


def agrees(o, s):
    """The oracle's frame @o and the report's @s: the same ip, or for a copy of a folded
    frame the same function."""
    if s[3]:
        return o[1] is not None and o[1] == s[1]
    return o[0] == s[0]


def hexnum(s):
    return int(s, 16) if s is not None else None


FRAME_RE = re.compile(r"^#(\d+)\s+0x([0-9a-fA-F]+)(?:\s+(.*))?$")


def eu_stack_threads(text):
    """{tid: [(ip, name)]} from eu-stack output ("TID N:" then "#N 0xADDR name")."""
    threads, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^TID (\d+):$", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = FRAME_RE.match(line.strip())
        if m and cur is not None:
            if int(m.group(1)) != len(cur):
                raise ValueError("eu-stack frame numbers out of order: %r" % line)
            cur.append((int(m.group(2), 16), m.group(3), None))
    return threads


def compare(subject, oracle, max_frames):
    """(agreeing, total, diffs, sp_agreeing, sp_total): diffs lists the differing threads;
    the sp counts are over the frames whose ips agree and for which the oracle has an sp."""
    agree = total = sp_agree = sp_total = 0
    diffs = []
    for tid in list(oracle) + [t for t in subject if t not in oracle]:
        o = oracle.get(tid)
        s = subject.get(tid)
        o_frames = (o or [])[:max_frames] if max_frames else (o or [])
        s_frames = (s or [])[:max_frames] if max_frames else (s or [])
        n = max(len(o_frames), len(s_frames))
        same = [(a, b) for a, b in zip(o_frames, s_frames) if agrees(a, b)]
        with_sp = [(a, b) for a, b in same if a[2] is not None and not b[3]]
        sp_same = sum(1 for a, b in with_sp if a[2] == b[2])
        agree += len(same)
        total += n
        sp_agree += sp_same
        sp_total += len(with_sp)
        if len(same) != n or sp_same != len(with_sp) or o is None or s is None:
            diffs.append((tid, o is None, s is None, s_frames, o_frames))
    return agree, total, diffs, sp_agree, sp_total


def agreed_prefix(gdb, eu):
    """{tid: frames}: per thread, gdb's first frames whose ips eu-stack has at the same
    index, up to the first where they differ."""
    out = {}
    for tid, g in gdb.items():
        e = eu.get(tid) or []
        n = 0
        while n < len(g) and n < len(e) and g[n][0] == e[n][0]:
            n += 1
        out[tid] = g[:n]
    return out


def compare_prefix(subject, oracle, max_frames):
    """compare() for the --agreed mode: only the oracle's frames count, the report's
    frames past them are ignored."""
    cut = {tid: s[:len((oracle.get(tid) or [])[:max_frames] if max_frames else oracle.get(tid) or [])]
           for tid, s in subject.items() if tid in oracle}
    return compare(cut, oracle, max_frames)


def fmt(frame, with_sp):
    if frame is None:
        return "-"
    if frame[0] is None:
        return "(left out)"
    name = frame[1] or "??"
    if len(name) > 40:
        name = name[:37] + "..."
    if with_sp:
        sp = "0x%x" % frame[2] if frame[2] is not None else "null"
        return "0x%x sp %s %s" % (frame[0], sp, name)
    return "0x%x %s" % (frame[0], name)


def print_diffs(what, diffs, crashed, limit=8):
    for tid, no_oracle, no_subject, s_frames, o_frames in diffs[:limit]:
        label = "thread %s%s" % (tid, " (crashed)" if tid == crashed else "")
        if no_oracle:
            print("  %s: only in the report (%d frames), not in %s" % (label, len(s_frames), what))
            continue
        if no_subject:
            print("  %s: missing from the report (%s has %d frames)" % (label, what, len(o_frames)))
        else:
            print("  %s: report %d frames, %s %d frames" % (label, len(s_frames), what, len(o_frames)))
        print("    %3s  %-54s %s" % ("#", "report", what))
        for i in range(max(len(s_frames), len(o_frames))):
            s = s_frames[i] if i < len(s_frames) else None
            o = o_frames[i] if i < len(o_frames) else None
            sp_differs = bool(s and o and agrees(o, s) and o[2] is not None and s[2] is not None and s[2] != o[2])
            mark = "  " if s and o and agrees(o, s) and not sp_differs else "!="
            print("    %3d  %-54s %s %s" % (i, fmt(s, sp_differs), mark, fmt(o, sp_differs)))
    if len(diffs) > limit:
        print("  ... and %d more differing threads" % (len(diffs) - limit))


def pct(a, t):
    return 100.0 * a / t if t else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report")
    ap.add_argument("gdb_json")
    ap.add_argument("--name", default="core")
    ap.add_argument("--threshold", type=float, default=99.0)
    ap.add_argument("--max-frames", type=int, default=0)
    ap.add_argument("--eu-stack")
    ap.add_argument("--eu-threshold", type=float, default=0.0)
    ap.add_argument("--tid-map", default="")
    ap.add_argument("--agreed", action="store_true")
    args = ap.parse_args()
    if args.agreed and not args.eu_stack:
        print("compare-frames: --agreed needs --eu-stack", file=sys.stderr)
        return 2
    tid_map = dict(tuple(int(x) for x in pair.split("=")) for pair in args.tid_map.split(",") if pair)

    def renamed(threads):
        return {tid_map.get(tid, tid): frames for tid, frames in threads.items()}

    try:
        with open(args.report) as f:
            subject, s_crashed = report_threads(json.load(f))
        with open(args.gdb_json) as f:
            oracle, o_crashed = report_threads(json.load(f))
        oracle, o_crashed = renamed(oracle), tid_map.get(o_crashed, o_crashed)
        eu = None
        if args.eu_stack:
            with open(args.eu_stack) as f:
                eu = renamed(eu_stack_threads(f.read()))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("compare-frames: %s: %s" % (args.name, e), file=sys.stderr)
        return 2
    if not oracle or not any(oracle.values()):
        print("compare-frames: %s: gdb found no frames" % args.name, file=sys.stderr)
        return 2

    if args.agreed:
        return main_agreed(args, subject, s_crashed, oracle, o_crashed, eu)

    ok = True
    agree, total, diffs, sp_agree, sp_total = compare(subject, oracle, args.max_frames)
    line = "agreement %s: %d/%d (%.1f%%) gdb" % (args.name, agree, total, pct(agree, total))
    eu_res = None
    if eu is not None:
        eu_res = compare(subject, eu, args.max_frames)
        line += ", %d/%d (%.1f%%) eu-stack" % (eu_res[0], eu_res[1], pct(*eu_res[:2]))
    line += "; sp %d/%d" % (sp_agree, sp_total)
    print(line)

    if s_crashed != o_crashed:
        print("  crashed thread differs: report %s, gdb %s" % (s_crashed, o_crashed))
        ok = False
    if pct(agree, total) < args.threshold:
        print("  below the %.1f%% threshold against gdb:" % args.threshold)
        ok = False
    if sp_total and pct(sp_agree, sp_total) < args.threshold:
        print("  sp of frames with the right ip below the %.1f%% threshold against gdb:" % args.threshold)
        ok = False
    if diffs:
        print_diffs("gdb", diffs, o_crashed)
    if eu_res is not None:
        if pct(*eu_res[:2]) < args.eu_threshold:
            print("  below the %.1f%% threshold against eu-stack:" % args.eu_threshold)
            ok = False
        if eu_res[2]:
            print("  differences from eu-stack (second opinion):")
            print_diffs("eu-stack", eu_res[2], o_crashed)
    return 0 if ok else 1


def main_agreed(args, subject, s_crashed, gdb, o_crashed, eu):
    oracle = agreed_prefix(gdb, eu)
    agree, total, diffs, sp_agree, sp_total = compare_prefix(subject, oracle, args.max_frames)
    print("agreement %s: %d/%d (%.1f%%) of the frames gdb and eu-stack agree on; sp %d/%d; "
          "agreed frames per thread %s" % (args.name, agree, total, pct(agree, total), sp_agree, sp_total,
                                           ",".join("%d" % len(f) for f in oracle.values())))
    ok = True
    if s_crashed != o_crashed:
        print("  crashed thread differs: report %s, gdb %s" % (s_crashed, o_crashed))
        ok = False
    if total == 0 or pct(agree, total) < args.threshold:
        print("  below the %.1f%% threshold against the agreed frames:" % args.threshold)
        ok = False
    if sp_total and pct(sp_agree, sp_total) < args.threshold:
        print("  sp of frames with the right ip below the %.1f%% threshold against gdb:" % args.threshold)
        ok = False
    for tid, f in oracle.items():
        if not f:
            print("  thread %s: gdb and eu-stack agree on no frame (gdb %d, eu-stack %d frames)"
                  % (tid, len(gdb[tid]), len(eu.get(tid) or [])))
    if diffs:
        print_diffs("agreed", diffs, o_crashed)
    if not ok or diffs:
        # the whole picture: the report against each oracle
        print("  the report against gdb:")
        print_diffs("gdb", compare(subject, gdb, args.max_frames)[2], o_crashed)
        print("  the report against eu-stack:")
        print_diffs("eu-stack", compare(subject, eu, args.max_frames)[2], o_crashed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
