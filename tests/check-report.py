#!/usr/bin/env python3
"""check-report.py - assert facts about a crashpipe report (schema crashpipe/1).

usage: check-report.py REPORT [checks...]        REPORT: plain JSON, or - for stdin

Frame selectors (SEL) name a frame of the crashed thread: a number is a frame index, anything
else is the first frame whose "function" contains that text.

  --pid N / --tid N          process.pid / process.tid (the crashed thread: also threads[0],
                             the only thread with "crashed": true)
  --uid N / --gid N          process.uid / process.gid
  --signal N                 process.signal
  --signal-name S            process.signal_name
  --si-code-name S           process.si_code_name
  --fault-address HEX        process.fault_address (compared as a number)
  --exe PATH                 process.exe
  --comm S                   process.comm
  --cmdline S                process.cmdline
  --process KEY=JSON         process.KEY equals the JSON value (repeatable), e.g.
                             --process rlimit_core=0 --process cgroup=null
  --threads N                number of threads
  --has-tids T1,T2,...       each tid is in threads
  --thread-name TID=NAME     that thread's "name" (repeatable)
  (frame i, for --top and a SEL that is a number, counts physical frames: the report's
  inline frames are left out; a SEL that is a name matches the first frame, inline or not)
  --top F0,F1,...            frame i of the crashed thread has a function containing Fi
                             ('*' = any frame, function or not)
  --line SEL:FILE:LINE       that frame's file ends with /FILE (or is FILE) and line == LINE
  --module SEL:NAME          that frame's module's file name is NAME or NAME.* (the core
                             names the file a symlink like libstdc++.so.6 points to)
  --build-id SEL:HEX         that frame's build_id, and its module's in "modules"
  --in-symbol SEL:LO:SIZE    that frame's module_offset is in [LO, LO+SIZE) (hex; e.g. from
                             nm -S), and equals ip - the module's base in "modules"
  --no-symbols SEL           that frame has function, file and line all null
  --truncated N              the crashed thread has "truncated": true and exactly N frames;
                             without it, no thread may say truncated
  --show FILE                FILE (the output of `crashpipe show REPORT`) names the signal
                             before any frame, and the first line naming a function of any
                             thread names the crashed thread's frame #0 function
Prints every failed check; exit 1 if any failed, 2 on unreadable input.
"""
import argparse
import json
import re
import sys


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.errors = []
        self.proc = doc.get("process") or {}
        self.threads = doc.get("threads") or []
        self.crashed = self.threads[0] if self.threads else {"frames": []}

    def fail(self, msg):
        self.errors.append(msg)

    def expect(self, what, got, want):
        if got != want:
            self.fail("%s: got %r, expected %r" % (what, got, want))

    def physical(self):
        """The crashed thread's frames without its inline frames (kind "inline"): frame i
        of --top and of a numeric SEL is physical frame i, as gdb's physical frames."""
        return [f for f in self.crashed.get("frames") or [] if f.get("kind") != "inline"]

    def frame(self, sel):
        frames = self.crashed.get("frames") or []
        if sel.isdigit():
            frames = self.physical()
            i = int(sel)
            if i < len(frames):
                return frames[i]
            self.fail("crashed thread has no frame #%d (%d frames)" % (i, len(frames)))
            return None
        for f in frames:
            if sel in (f.get("function") or ""):
                return f
        self.fail("no frame of the crashed thread is in a function containing %r: %s"
                  % (sel, self.names()))
        return None

    def names(self):
        return [f.get("function") for f in self.crashed.get("frames") or []]

    def module_entry(self, path):
        for m in self.doc.get("modules") or []:
            if m.get("path") == path:
                return m
        self.fail("module %r is not in the modules list" % path)
        return None


def check_show(c, path):
    """The text of `crashpipe show`: signal first, then the crashed thread's innermost frame."""
    with open(path) as f:
        lines = f.read().splitlines()
    frames = c.crashed.get("frames") or []
    top = frames[0].get("function") if frames else None
    sig = c.proc.get("signal_name")
    if not top or not sig:
        c.fail("--show needs a report with a signal name and a named frame #0")
        return
    names = {fr.get("function") for t in c.threads for fr in t.get("frames") or []} - {None}
    # a name stands alone: not part of a longer identifier (main in domain, park in parked)
    pattern = re.compile(r"(?<![\w:.])(%s)(?![\w])" % "|".join(
        re.escape(n) for n in sorted(names, key=len, reverse=True)))
    first = next((i for i, l in enumerate(lines) if pattern.search(l)), None)
    sig_line = next((i for i, l in enumerate(lines) if sig in l), None)
    if first is None:
        c.fail("show: no line names any function of the report")
        return
    if pattern.search(lines[first]).group(1) != top:
        c.fail("show: the first function named is not the crashed frame #0's %r: line %d: %r"
               % (top, first + 1, lines[first]))
    if sig_line is None or sig_line > first:
        c.fail("show: %s is not named before the first frame (line %d: %r)"
               % (sig, first + 1, lines[first]))


def split_sel(arg, parts):
    """'SEL:A:B' -> [SEL, A, B]; SEL may itself contain '::' (C++ names), so split from the right."""
    fields = arg.rsplit(":", parts - 1)
    if len(fields) != parts:
        raise SystemExit("check-report: bad argument %r" % arg)
    return fields


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report")
    for opt in ("pid", "tid", "uid", "gid", "signal", "threads"):
        ap.add_argument("--" + opt, type=int)
    for opt in ("signal-name", "si-code-name", "fault-address", "exe", "comm", "cmdline",
                "has-tids", "top"):
        ap.add_argument("--" + opt)
    for opt in ("process", "thread-name", "line", "module", "build-id", "in-symbol", "no-symbols"):
        ap.add_argument("--" + opt, action="append", default=[])
    ap.add_argument("--truncated", type=int)
    ap.add_argument("--show")
    args = ap.parse_args()

    try:
        if args.report == "-":
            doc = json.load(sys.stdin)
        else:
            with open(args.report) as f:
                doc = json.load(f)
    except (OSError, ValueError) as e:
        print("check-report: %s: %s" % (args.report, e), file=sys.stderr)
        return 2

    c = Checker(doc)
    p = c.proc
    c.expect("schema", doc.get("schema"), "crashpipe/1")
    if not c.threads:
        c.fail("the report has no threads")
    for key in ("pid", "uid", "gid", "signal"):
        if getattr(args, key) is not None:
            c.expect("process." + key, p.get(key), getattr(args, key))
    for key in ("signal_name", "si_code_name", "exe", "comm", "cmdline"):
        want = getattr(args, key)
        if want is not None:
            c.expect("process." + key, p.get(key), want)
    if args.fault_address is not None:
        got = p.get("fault_address")
        if got is None or int(got, 16) != int(args.fault_address, 16):
            c.fail("process.fault_address: got %r, expected %s" % (got, args.fault_address))
    for arg in args.process:
        key, value = arg.split("=", 1)
        if key not in p:
            c.fail("process.%s is missing" % key)
        else:
            c.expect("process." + key, p[key], json.loads(value))
    if args.tid is not None:
        c.expect("process.tid", p.get("tid"), args.tid)
        c.expect("threads[0].tid (the crashed thread comes first)", c.crashed.get("tid"), args.tid)
        crashed = [t.get("tid") for t in c.threads if t.get("crashed")]
        c.expect("threads with crashed=true", crashed, [args.tid])
    if args.threads is not None:
        c.expect("number of threads", len(c.threads), args.threads)
    by_tid = {t.get("tid"): t for t in c.threads}
    if args.has_tids:
        missing = [int(t) for t in args.has_tids.split(",") if int(t) not in by_tid]
        if missing:
            c.fail("threads missing from the report: %s (report has %s)"
                   % (missing, sorted(by_tid)))
    for arg in args.thread_name:
        tid, name = arg.split("=", 1)
        t = by_tid.get(int(tid))
        if t is None:
            c.fail("thread %s (%s) is not in the report" % (tid, name))
        else:
            c.expect("thread %s name" % tid, t.get("name"), name)

    if args.top:
        frames = c.physical()
        for i, want in enumerate(args.top.split(",")):
            if i >= len(frames):
                c.fail("crashed thread: frame #%d missing, expected %r; functions: %s"
                       % (i, want, c.names()))
                break
            got = frames[i].get("function")
            if want != "*" and want not in (got or ""):
                c.fail("crashed thread frame #%d: function %r does not contain %r; functions: %s"
                       % (i, got, want, c.names()))
    for arg in args.line:
        sel, file, line = split_sel(arg, 3)
        f = c.frame(sel)
        if f is not None:
            got_file = f.get("file") or ""
            if not (got_file == file or got_file.endswith("/" + file)) or f.get("line") != int(line):
                c.fail("frame %s (%s): file:line %s:%s, expected %s:%s"
                       % (f.get("index"), f.get("function"), f.get("file"), f.get("line"), file, line))
    for arg in args.module:
        sel, name = split_sel(arg, 2)
        f = c.frame(sel)
        base = (f.get("module") or "").rsplit("/", 1)[-1] if f is not None else None
        if f is not None and not (base == name or base.startswith(name + ".")):
            c.fail("frame %s (%s): module %r, expected .../%s or .../%s.*"
                   % (f.get("index"), f.get("function"), f.get("module"), name, name))
    for arg in args.build_id:
        sel, hexid = split_sel(arg, 2)
        f = c.frame(sel)
        if f is not None:
            c.expect("frame %s build_id" % f.get("index"), f.get("build_id"), hexid.lower())
            m = c.module_entry(f.get("module"))
            if m is not None:
                c.expect("module %s build_id" % m.get("path"), m.get("build_id"), hexid.lower())
    for arg in args.in_symbol:
        sel, lo, size = split_sel(arg, 3)
        f = c.frame(sel)
        if f is None:
            continue
        lo, size = int(lo, 16), int(size, 16)
        off = f.get("module_offset")
        if off is None or not lo <= int(off, 16) < lo + size:
            c.fail("frame %s (%s): module_offset %r not in the symbol's [0x%x, 0x%x)"
                   % (f.get("index"), f.get("function"), off, lo, lo + size))
            continue
        m = c.module_entry(f.get("module"))
        if m is not None and int(f["ip"], 16) - int(m["base"], 16) != int(off, 16):
            c.fail("frame %s: ip %s - module base %s != module_offset %s"
                   % (f.get("index"), f["ip"], m["base"], off))
    for sel in args.no_symbols:
        f = c.frame(sel)
        if f is not None:
            got = (f.get("function"), f.get("file"), f.get("line"))
            if got != (None, None, None):
                c.fail("frame %s of a stripped module: function/file/line %r, expected all null"
                       % (f.get("index"), got))
    if args.truncated is not None:
        c.expect("crashed thread truncated", c.crashed.get("truncated"), True)
        c.expect("crashed thread frame count", len(c.crashed.get("frames") or []), args.truncated)
    else:
        cut = [t.get("tid") for t in c.threads if t.get("truncated")]
        if cut:
            c.fail("threads marked truncated: %s" % cut)

    if args.show:
        check_show(c, args.show)

    for e in c.errors:
        print("check-report: %s" % e)
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
