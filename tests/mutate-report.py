#!/usr/bin/env python3
"""mutate-report.py - hostile variants of one real crashpipe report, for run-show-hostile.sh.

usage: mutate-report.py GOOD.json OUTDIR

Writes into OUTDIR, next to a copy of GOOD as good.json:
  reports that must be refused (each with the words its refusal must contain, in
  OUTDIR/REFUSED, one "<name>\t<reason substring>" a line):
    time.json       process.time 1e17 (gmtime_r() fails: show and list crashed on it)
    pid.json        process.pid 1e10          uid.json     process.uid -5
    line.json       a frame's line 3.5        iloff.json   a frame's il_offset 1e20
    tid.json        a thread's tid 2^32       signal.json  process.signal 1e300
    hex.json        a frame's ip "-0x1"       type.json    process.comm a number
    buildid.json    a module's build_id "../../etc/x" (it names files in the debuginfo cache)
    two.json        the report, then a second (forged) report after it
    deep.json       10^5 nested '[' in threads
    dupkey.json     process.pid given twice
  reports that are shown, with every hostile character escaped:
    c1-utf8.json    C0, C1 (U+009B CSI, U+009D OSC, U+0085), bidi controls (U+202E,
                    U+2066..U+2069, U+200E, U+200F, U+061C) as JSON escapes, i.e. UTF-8,
                    in function, file, module, thread name, comm, cmdline, exception
                    type and message, notes
    many-threads.json  100000 threads, each with its own one-frame stack
    c1-raw.json     the same places with raw bytes 0x9b, 0x9d, 0x85, 0xff and an overlong
                    NUL (0xc0 0x80): invalid UTF-8 inside JSON strings
"""
import copy
import json
import os
import sys

good_path, out = sys.argv[1], sys.argv[2]
with open(good_path) as f:
    good = json.load(f)
os.makedirs(out, exist_ok=True)
# analyze of a core file knows no time: give the good report one, so list prints a date.
if good["process"].get("time") is None:
    good["process"]["time"] = 1764633600

crashed = next(t for t in good["threads"] if t["crashed"])
frame = crashed["frames"][0]
assert frame["function"], "the good report's crashed frame has no function"


def dump(name, rep):
    with open(os.path.join(out, name), "w") as f:
        json.dump(rep, f, indent=1)


def mutant(fn):
    r = copy.deepcopy(good)
    fn(r)
    return r


def crashed_of(r):
    return next(t for t in r["threads"] if t["crashed"])


refused = []


def refuse(name, rep, why):
    dump(name, rep)
    refused.append((name, why))


dump("good.json", good)
refuse("time.json", mutant(lambda r: r["process"].update(time=1e17)), "process.time")
refuse("pid.json", mutant(lambda r: r["process"].update(pid=1e10)), "process.pid")
refuse("uid.json", mutant(lambda r: r["process"].update(uid=-5)), "process.uid")
refuse("signal.json", mutant(lambda r: r["process"].update(signal=1e300)), "process.signal")
refuse("type.json", mutant(lambda r: r["process"].update(comm=42)), "process.comm: not a string")
refuse("line.json", mutant(lambda r: crashed_of(r)["frames"][0].update(line=3.5)), ".line")
refuse("iloff.json", mutant(lambda r: crashed_of(r)["frames"][0].update(il_offset=1e20)), ".il_offset")
refuse("tid.json", mutant(lambda r: r["threads"][0].update(tid=2**32)), "threads[0].tid")
refuse("buildid.json", mutant(lambda r: r["modules"][0].update(build_id="../../etc/x")),
       "modules[0].build_id: not a string of hex digits")
refuse("hex.json", mutant(lambda r: crashed_of(r)["frames"][0].update(ip="-0x1")), ".ip")

# A forger appends its own report after a real one: a reader that takes the first value
# and ignores the rest shows the first, one that takes the last shows the forgery.
forged = mutant(lambda r: r["process"].update(pid=1, comm="sshd", uid=0))
with open(os.path.join(out, "two.json"), "w") as f:
    f.write(json.dumps(good) + "\n" + json.dumps(forged) + "\n")
refused.append(("two.json", "more than one JSON value"))

# The same member twice: cJSON reads the first, jq the last.
text = json.dumps(good)
assert text.count('"pid": ') >= 1
with open(os.path.join(out, "dupkey.json"), "w") as f:
    f.write(text.replace('"pid": ', '"pid": 1, "pid": ', 1) + "\n")
refused.append(("dupkey.json", "member twice"))

with open(os.path.join(out, "deep.json"), "w") as f:
    f.write('{"schema": "crashpipe/1", "threads": ' + "[" * 100000 + "]" * 100000 + "}\n")
refused.append(("deep.json", "nested deeper"))

# The hostile characters, as code points (JSON escapes make them UTF-8 in the report).
EVIL = "\x1b[2J\x9b31m\x9d0;pwned\x07\x85\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\x7f"


def plant(r, evil):
    t = crashed_of(r)
    f = t["frames"][0]
    f["function"] = "fn" + evil + "END"
    f["file"] = "/src/" + evil + "file.c"
    f["line"] = 7
    f["module"] = "/lib/" + evil + "mod.so"
    t["name"] = "thr" + evil
    t["managed_name"] = "mth" + evil
    t["error"] = "err" + evil
    if len(t["frames"]) > 1:
        t["frames"][1]["display"] = "disp" + evil + "END"
    stack = [{"kind": "managed", "display": "sdisp" + evil, "file": "/sfile/" + evil, "line": 3,
              "segment": 0},
             {"kind": "managed", "function": "sfn" + evil, "segment": 1}]
    t["exception"] = {"type": "System." + evil + "Type", "message": "msg" + evil,
                      "hresult": "0x80131500", "stack": stack,
                      "inner": [{"type": "Inner" + evil, "message": "imsg" + evil, "hresult": None,
                                 "stack": stack, "inner": []}]}
    p = r["process"]
    p["comm"] = "comm" + evil
    p["cmdline"] = "cmd" + evil
    p["exe"] = "/usr/bin/" + evil
    p["hostname"] = "host" + evil
    r["notes"] = ["note" + evil]
    if r.get("runtime") is None:
        r["runtime"] = {"kind": "dotnet", "version": "v" + evil, "directory": None, "dac": None,
                        "dac_error": "dac" + evil}


dump("c1-utf8.json", mutant(lambda r: plant(r, EVIL)))

# Raw bytes: a placeholder first, replaced in the serialised text (json.dump escapes).
RAW = {"@9B@": b"\x9b", "@9D@": b"\x9d", "@85@": b"\x85", "@FF@": b"\xff", "@C080@": b"\xc0\x80"}
text = json.dumps(mutant(lambda r: plant(r, "@9B@[31m@9D@0;x@85@@FF@@C080@")), indent=1).encode()
for k, v in RAW.items():
    text = text.replace(k.encode(), v)
with open(os.path.join(out, "c1-raw.json"), "wb") as f:
    f.write(text)

# 100000 threads (the reader's limit), every stack different: folding identical stacks by
# comparing each thread with every other took show 20 s.
many = copy.deepcopy(good)
many["threads"] = [crashed_of(good)] + [
    {"tid": 100000 + i, "name": None, "crashed": False, "truncated": False, "error": None,
     "exception": None, "frames": [{"index": 0, "ip": "0x%x" % (0x400000 + i), "sp": "0x0", "kind": "native"}]}
    for i in range(99999)]
dump("many-threads.json", many)

with open(os.path.join(out, "REFUSED"), "w") as f:
    for name, why in refused:
        f.write(f"{name}\t{why}\n")
