#!/usr/bin/env python3
"""dotnet-dumps.py - oracles and checks for tests/run-dotnet-dumps.sh.

  sos CLRTHREADS PE -o OUT.json
      parse dotnet-dump analyze's "clrthreads" output (CLRTHREADS) and its "pe -nested ADDR"
      of the exception in the Exception column (PE, may be empty): which managed thread has a
      last thrown exception (the one dotnet-dump shows as the crashed one's) and its type
  unsignal DUMP OUT
      write OUT, a copy of the ELF dump DUMP with cursig and si_signo 0 in every NT_PRSTATUS:
      a dump whose notes do not say which thread crashed (createdump of a process that
      was not crashing, or of a runtime that writes no signal)
  check REPORT [--sos OUT.json] [--crashed-tid T] [--no-crash] [--exception-type T]
            [--writer W] [--name TID=NAME ...] [--name-optional TID=NAME ...]
            [--os-name TID=NAME ...] [--signal N] [--comm TID=COMM ...]
      check a crashpipe report (JSON) against what the app printed and dotnet-dump found;
      --comm: the kernel's view of the live process the dump was taken of (each
      /proc/PID/task/TID/comm, read just before): the report has exactly these threads, and
      every managed_name it gives is the one the runtime gave the kernel, whose comm keeps
      its first 15 bytes (pthread_setname_np); at least one thread must have one
"""
import argparse
import json
import re
import struct
import sys


def parse_sos(clrthreads, pe):
    """The threads clrthreads lists (OSID in hex) and the one with an exception."""
    threads, with_exc = [], []
    row = re.compile(r"^\s*(\d+|XXXX)\s+(\d+)\s+([0-9a-f]+)\s+([0-9A-F]{16})\s+([0-9a-f]+)\s+(Preemptive|Cooperative)\s+"
                     r"\S+\s+\S+\s+-?\d+\s+\S+\s*(.*)$")
    for line in clrthreads.splitlines():
        m = row.match(line)
        if not m:
            continue
        tid = int(m.group(3), 16)
        threads.append(tid)
        rest = m.group(7).strip()
        # "(Finalizer)", "(Threadpool Worker)" are thread kinds; an exception is "Type 00007f..."
        em = re.match(r"^(?:\([^)]*\)\s*)*([A-Za-z_][\w.+`]*)\s+([0-9a-f]{8,16})", rest)
        if em:
            with_exc.append({"tid": tid, "type": em.group(1), "object": em.group(2)})
    pe_type = None
    m = re.search(r"^Exception type:\s+(\S+)", pe, re.M)
    if m:
        pe_type = m.group(1)
    return {"threads": threads, "exceptions": with_exc, "pe_type": pe_type}


def cmd_sos(args):
    doc = parse_sos(open(args.clrthreads, errors="replace").read(),
                    open(args.pe, errors="replace").read() if args.pe else "")
    if not doc["threads"]:
        sys.exit("dotnet-dumps.py: no thread in %s" % args.clrthreads)
    json.dump(doc, open(args.o, "w"), indent=1)
    print("sos: %d managed threads, exceptions on %s, pe %s" % (
        len(doc["threads"]), [e["tid"] for e in doc["exceptions"]], doc["pe_type"]))


def cmd_check(args):
    r = json.load(open(args.report))
    errors = []

    def expect(what, got, want):
        if got != want:
            errors.append("%s: got %r, expected %r" % (what, got, want))

    p = r.get("process", {})
    threads = r.get("threads", [])
    crashed = [t for t in threads if t.get("crashed")]
    if args.writer:
        expect("process.core_writer", p.get("core_writer"), args.writer)
    expect("runtime.kind", r.get("runtime", {}).get("kind"), "coreclr")
    expect("runtime.dac_error", r.get("runtime", {}).get("dac_error"), None)
    if args.signal is not None:
        expect("process.signal", p.get("signal"), args.signal)
    if args.no_crash:
        expect("crashed threads", [t["tid"] for t in crashed], [])
        expect("exceptions", [t["tid"] for t in threads if t.get("exception")], [])
    if args.crashed_tid is not None:
        expect("crashed threads", [t["tid"] for t in crashed], [args.crashed_tid])
        expect("process.tid", p.get("tid"), args.crashed_tid)
        expect("threads[0] (the crashed one first)", threads[0]["tid"] if threads else None, args.crashed_tid)
    if args.exception_type:
        e = crashed[0].get("exception") if crashed else None
        expect("crashed thread's exception type", e and e.get("type"), args.exception_type)
    if args.sos:
        sos = json.load(open(args.sos))
        want = [e["tid"] for e in sos["exceptions"]]
        expect("crashed threads vs dotnet-dump's thread with an exception", [t["tid"] for t in crashed], want)
        if sos["exceptions"]:
            e = crashed[0].get("exception") if crashed else None
            expect("exception type vs dotnet-dump clrthreads", e and e.get("type"), sos["exceptions"][0]["type"])
            expect("exception type vs dotnet-dump pe", e and e.get("type"), sos["pe_type"])
        mine = {t["tid"] for t in threads}
        missing = [t for t in sos["threads"] if t not in mine]
        if missing:
            errors.append("managed threads dotnet-dump lists that the report lacks: %s" % missing)
    by_tid = {t["tid"]: t for t in threads}
    for spec in args.name or []:
        tid, name = spec.split("=", 1)
        t = by_tid.get(int(tid))
        expect("thread %s managed_name" % tid, t and t.get("managed_name"), name or None)
    for spec in args.name_optional or []:
        tid, name = spec.split("=", 1)
        t = by_tid.get(int(tid))
        got = t and t.get("managed_name")
        if got not in (name, None):
            errors.append("thread %s managed_name: got %r, expected %r or null" % (tid, got, name))
    for spec in args.os_name or []:
        tid, name = spec.split("=", 1)
        t = by_tid.get(int(tid))
        expect("thread %s name" % tid, t and t.get("name"), name)
    if args.comm:
        comm = {}
        for spec in args.comm:
            tid, name = spec.split("=", 1)
            comm[int(tid)] = name
        expect("threads vs the kernel's tasks of the process", sorted(by_tid), sorted(comm))
        checked = 0
        for tid, t in sorted(by_tid.items()):
            mn = t.get("managed_name")
            if not mn or tid not in comm:
                continue
            checked += 1
            want = mn.encode("utf-8")[:15].decode("utf-8", errors="ignore")
            if comm[tid] != want:
                errors.append("thread %s managed_name %r: the kernel's comm is %r, not its first 15 bytes %r" % (
                    tid, mn, comm[tid], want))
        if not checked:
            errors.append("no thread of the report has a managed_name to hold against the kernel's comm")
        print("report: %d managed names against the kernel's comm" % checked)
    named = sum(1 for t in threads if t.get("managed_name"))
    print("report: writer %s, crashed %s (%s), %d threads, %d with a managed name" % (
        p.get("core_writer"), [t["tid"] for t in crashed],
        crashed and crashed[0].get("exception") and crashed[0]["exception"].get("type"), len(threads), named))
    for e in errors:
        print("FAILED: " + e)
    sys.exit(1 if errors else 0)


def cmd_unsignal(args):
    data = bytearray(open(args.dump, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit("dotnet-dumps.py: %s is not an ELF64 file" % args.dump)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    n = 0
    for i in range(phnum):
        p_type, _, off, _, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * i)
        if p_type != 4:
            continue
        p, end = off, off + filesz
        while p + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, p)
            desc = p + 12 + ((namesz + 3) & ~3)
            if ntype == 1 and descsz >= 14:     # NT_PRSTATUS: si_signo at 0, pr_cursig at 12
                struct.pack_into("<i", data, desc, 0)
                struct.pack_into("<h", data, desc + 12, 0)
                n += 1
            p = desc + ((descsz + 3) & ~3)
    if n == 0:
        sys.exit("dotnet-dumps.py: no NT_PRSTATUS in %s" % args.dump)
    open(args.out, "wb").write(data)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sos")
    s.add_argument("clrthreads")
    s.add_argument("pe", nargs="?")
    s.add_argument("-o", required=True)
    u = sub.add_parser("unsignal")
    u.add_argument("dump")
    u.add_argument("out")
    c = sub.add_parser("check")
    c.add_argument("report")
    c.add_argument("--sos")
    c.add_argument("--crashed-tid", type=int)
    c.add_argument("--no-crash", action="store_true")
    c.add_argument("--exception-type")
    c.add_argument("--writer")
    c.add_argument("--signal", type=int)
    c.add_argument("--name", action="append")
    c.add_argument("--name-optional", action="append")
    c.add_argument("--os-name", action="append")
    c.add_argument("--comm", action="append")
    args = ap.parse_args()
    {"sos": cmd_sos, "check": cmd_check, "unsignal": cmd_unsignal}[args.cmd](args)


if __name__ == "__main__":
    main()
