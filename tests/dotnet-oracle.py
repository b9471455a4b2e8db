#!/usr/bin/env python3
"""dotnet-oracle.py - oracles for crashpipe's managed (.NET) frames.

usage:
  dotnet-oracle.py createdump-report FILE [-o OUT]
  dotnet-oracle.py crashpipe-report FILE [-o OUT]
  dotnet-oracle.py dotnet-dump-clrstack FILE [--crashed-tid TID] [-o OUT]
  dotnet-oracle.py compare ORACLE REPORT [--min 0.99] [--name NAME] [--crashed-min F] [-v]
  dotnet-oracle.py check-createdump REPORT [checks...]  (see check_createdump_main)
  dotnet-oracle.py check-crashpipe REPORT [checks...]   (see check_main)

The first three read one source and print it normalised, as JSON:
  {"source": "createdump" | "crashpipe" | "dotnet-dump",
   "threads": [{"tid": int, "crashed": bool, "truncated": bool,
                "exception_type": str | null,
                "frames": [{"kind": "native" | "managed" | "runtime", "managed": bool,
                            "method": str | null, "ip": int | null, "sp": int | null}, ...]}],
   ... and a few source-specific top-level facts (runtime version, exception, signal)}
  "managed" is true for every frame the runtime's stack walk gave (createdump's is_managed,
  crashpipe's kind managed or runtime, every dotnet-dump frame); "method" is set only for a
  frame that names a managed method (kind "managed"); a runtime frame (an explicit Frame such
  as an InlinedCallFrame, a transition stub) is kind "runtime" with method null.

createdump-report FILE: the *.crashreport.json that createdump writes with --crashreport
  (DOTNET_EnableCrashReport=1). Its writer does not JSON-escape strings, so a method or type
  name with a quote or a backslash makes the file invalid JSON; it also writes every value as
  a quoted string ("0x1a2b", "true") and may be cut short when createdump dies while writing.
  The parser tries json first; else it re-escapes every `"key": "value"` line (the writer puts
  one per line) and closes what a truncated file left open ("partial": true in the output).
  Numbers are hex strings ("0x%x"); "native_thread_id" is the OS tid. A frame is managed when
  "is_managed" is "true"; it names a method when it has "method_name" (else a runtime frame).
  "repeated": "0xN" groups (stack overflow) are expanded to N copies of "repeated_frames".

crashpipe-report FILE: a crashpipe report (schema crashpipe/1, .json or .json.zst): frames
  keep their "kind"; "function" is the method for kind managed; exception_type is the thread's
  "exception".type, or the top-level "exception".type for the thread it names.

dotnet-dump-clrstack FILE: the output of
  dotnet-dump analyze CORE -c "clrstack -all" -c exit
  "OS Thread Id: 0xTID" starts a thread; each "CHILD_SP IP CALLSITE" line is a frame: a call
  site starting with "[" is a runtime Frame ("[InlinedCallFrame: addr] name"), else a managed
  method, its trailing " [file @ line]" removed. SOS shows managed threads only and does not
  say which thread crashed (give --crashed-tid).

compare ORACLE REPORT: each side is a raw file of any kind above or an already normalised
  JSON (auto-detected). Per thread, matched by tid, the ORDER of named managed methods:
  matched = the length of the longest common subsequence of the two name lists (so frames only
  the REPORT has, e.g. the method createdump drops when it shares its SP with an
  InlinedCallFrame, cost nothing; frames it lacks or names differently do); agreement =
  matched / the ORACLE's named managed frames, summed over the oracle's threads that have any.
  A REPORT thread that is "truncated" (crashpipe's frame cap, stack overflow) is compared with
  the first K names of the oracle's, K = its own count of managed frames.
  Names are compared exactly (both sides take IXCLRDataMethodInstance::GetName(0, ...) or, for
  SOS, the same DAC formatting): the only normalisation is trimming white space. Where exact
  names differ but agree without the argument list and generic instantiations, the thread's
  line says so ("format differs"), to tell a formatting bug from a wrong frame.
  Prints "agreement NAME: M/N (P%)" and one line per thread below 100%; exit 1 when the overall
  agreement is below --min, the crashed thread's below --crashed-min (default: --min), the two
  name different crashed threads, or the oracle names an exception type for the crashed thread
  that the report does not (with -v every thread is listed).
  --stable PREFIX (repeatable): count only the crashed thread and the oracle's threads with a
  method starting with PREFIX (e.g. "Crasher."): when ORACLE and REPORT are two snapshots of
  the process taken at different moments (createdump runs, the threads go on, then the kernel
  dumps), the runtime's own threads (thread pool workers spinning in LowLevelLifoSemaphore,
  the timer thread) may have moved; the app's parked threads and the crashed thread cannot.
  The others are still compared and shown ("; all threads M/N"). --per-thread: every counted
  thread must reach --min by itself.

Exit status: 0 ok, 1 a check failed, 2 unreadable input.
"""
import argparse
import json
import os
import re
import subprocess
import sys


class InputError(Exception):
    pass


# ---------------------------------------------------------------------------- readers

def read_bytes(path):
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror))
    if data[:4] == b"\x28\xb5\x2f\xfd":  # zstd frame magic
        try:
            data = subprocess.run(["zstd", "-q", "-dc"], input=data, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, check=True).stdout
        except FileNotFoundError:
            raise InputError("%s: zstd-compressed, and zstd is not installed" % path)
        except subprocess.CalledProcessError as e:
            raise InputError("%s: zstd -dc failed: %s" % (path, e.stderr.decode(errors="replace").strip()))
    return data


def hexint(v):
    """'0x1a2b' / '1a2b' / 123 / None -> int or None."""
    if v is None:
        return None
    if isinstance(v, int):
        return v
    s = str(v).strip()
    if not s:
        return None
    try:
        return int(s, 16) if s.lower().startswith("0x") else int(s, 16 if re.search("[a-fA-F]", s) else 10)
    except ValueError:
        return None


# ------------------------------------------------------------ createdump crash report

_KV_LINE = re.compile(r'^(\s*)"([^"]*)"\s*:\s*"(.*)"(\s*,?)\s*$')


def repair_createdump_json(text):
    """Re-escape createdump's unescaped string values; close what a cut-short file left open.
    Returns (text, truncated)."""
    out = []
    for line in text.split("\n"):
        m = _KV_LINE.match(line)
        if m:
            ind, key, val, comma = m.groups()
            line = "%s%s: %s%s" % (ind, json.dumps(key), json.dumps(val), comma.strip())
        out.append(line)
    fixed = "\n".join(out)
    try:
        json.loads(fixed)
        return fixed, False
    except ValueError:
        pass
    # cut short: drop a last partial line, close every open bracket
    lines = [ln for ln in fixed.rstrip().split("\n")]
    while lines:
        last = lines[-1].rstrip()
        if _KV_LINE.match(last) or last.endswith(("{", "[", "}", "]", "},", "],")):
            break
        lines.pop()
    stack = []
    for ln in lines:
        for ch in _structural(ln):
            if ch in "{[":
                stack.append(ch)
            elif ch in "}]" and stack:
                stack.pop()
    body = "\n".join(lines).rstrip()
    if body.endswith(","):
        body = body[:-1]
    body += "".join("}" if c == "{" else "]" for c in reversed(stack))
    return body, True


def _structural(line):
    """The bracket characters of a (repaired, so validly quoted) line, outside strings."""
    res, in_str, esc = [], False, False
    for ch in line:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{}[]":
            res.append(ch)
    return res


def load_createdump(data, path="createdump report"):
    text = data.decode("utf-8", errors="replace")
    partial = False
    try:
        doc = json.loads(text)
    except ValueError:
        fixed, partial = repair_createdump_json(text)
        try:
            doc = json.loads(fixed)
        except ValueError as e:
            raise InputError("%s: not JSON even after repair: %s" % (path, e))
    return doc, partial


def norm_createdump(doc, partial=False):
    payload = doc.get("payload")
    if not isinstance(payload, dict):
        raise InputError("no \"payload\" object: not a createdump crash report")
    threads = []
    for t in payload.get("threads") or []:
        frames = []
        for f in t.get("stack_frames") or t.get("unmanaged_frames") or []:
            if "repeated" in f:
                n = hexint(f.get("repeated")) or 0
                group = [_cd_frame(g) for g in f.get("repeated_frames") or []]
                for _ in range(n):
                    frames.extend(dict(g) for g in group)
            else:
                frames.append(_cd_frame(f))
        threads.append({
            "tid": hexint(t.get("native_thread_id")),
            "crashed": t.get("crashed") == "true",
            "truncated": False,
            "is_managed": t.get("is_managed") == "true",
            "exception_type": t.get("managed_exception_type"),
            "exception_hresult": t.get("managed_exception_hresult"),
            "frames": frames,
        })
    conf = payload.get("configuration") or {}
    params = doc.get("parameters") or {}
    return {
        "source": "createdump",
        "partial": partial,
        "process_name": payload.get("process_name"),
        "runtime_version": (conf.get("version") or "").strip() or None,
        "architecture": conf.get("architecture"),
        "exception_type_code": params.get("ExceptionType"),
        "threads": threads,
    }


def _cd_frame(f):
    managed = f.get("is_managed") == "true"
    method = f.get("method_name") if managed else None
    if method is not None:
        method = method.strip() or None
    kind = "native" if not managed else ("managed" if method else "runtime")
    fr = {"kind": kind, "managed": managed, "method": method,
          "ip": hexint(f.get("native_address")), "sp": hexint(f.get("stack_pointer"))}
    if managed:
        fr["token"] = hexint(f.get("token"))
        fr["il_offset"] = hexint(f.get("il_offset"))
        fr["module"] = f.get("filename")
    else:
        fr["function"] = f.get("unmanaged_name")
        fr["module"] = f.get("native_module")
    return fr


# ---------------------------------------------------------------- crashpipe report

def expand_folded(t):
    """A report thread's frames with each folded cycle ("repeat": frames[i..i+L-1] occurred
    N times) written out N times, as the oracles list them."""
    frames, out, i = t.get("frames") or [], [], 0
    while i < len(frames):
        rep = frames[i].get("repeat") if isinstance(frames[i], dict) else None
        n = rep.get("length", 0) if isinstance(rep, dict) else 0
        if n >= 1:
            out.extend(frames[i:i + n] * max(1, int(rep.get("count", 1))))
            i += n
        else:
            out.append(frames[i])
            i += 1
    return out


def norm_crashpipe(doc):
    if not str(doc.get("schema", "")).startswith("crashpipe/"):
        raise InputError("not a crashpipe report (schema %r)" % doc.get("schema"))
    proc = doc.get("process") or {}
    exc = doc.get("exception")
    threads = []
    for t in doc.get("threads") or []:
        frames = []
        for f in expand_folded(t):
            kind = f.get("kind") or "native"
            method = ((f.get("function") or "").strip() or None) if kind == "managed" else None
            fr = {"kind": kind, "managed": kind != "native", "method": method,
                  "ip": hexint(f.get("ip")), "sp": hexint(f.get("sp"))}
            if kind != "managed":
                fr["function"] = f.get("function")
            fr["module"] = f.get("assembly") if kind == "managed" else f.get("module")
            if kind == "managed":
                fr["token"] = hexint(f.get("token"))
                fr["il_offset"] = f.get("il_offset")
            frames.append(fr)
        texc = t.get("exception")
        if not texc and isinstance(exc, dict) and exc.get("thread") == t.get("tid"):
            texc = exc
        threads.append({
            "tid": t.get("tid"),
            "name": t.get("name"),
            "crashed": bool(t.get("crashed")),
            "truncated": bool(t.get("truncated")),
            "error": t.get("error"),
            "exception_type": texc.get("type") if isinstance(texc, dict) else None,
            "frames": frames,
        })
    rt = doc.get("runtime")
    return {
        "source": "crashpipe",
        "partial": bool(doc.get("partial")),
        "pid": proc.get("pid"),
        "crashed_tid": proc.get("tid"),
        "signal": proc.get("signal"),
        "runtime": rt,
        "runtime_version": rt.get("version") if isinstance(rt, dict) else None,
        "exception": exc,
        "threads": threads,
    }


# --------------------------------------------------------- dotnet-dump clrstack -all

_OS_THREAD = re.compile(r"^\s*OS Thread Id:\s*0x([0-9a-fA-F]+)")
_FRAME_LINE = re.compile(r"^\s*([0-9A-Fa-f]{8,16})\s+([0-9A-Fa-f]{8,16})\s+(.*?)\s*$")
_SRC_SUFFIX = re.compile(r"\s+\[[^\[\]]*@ *\d+\]$")


def norm_clrstack(text, crashed_tid=None):
    threads, cur = [], None
    for line in text.splitlines():
        m = _OS_THREAD.match(line)
        if m:
            tid = int(m.group(1), 16)
            cur = {"tid": tid, "crashed": tid == crashed_tid, "truncated": False,
                   "exception_type": None, "frames": []}
            threads.append(cur)
            continue
        m = _FRAME_LINE.match(line)
        if not m or cur is None:
            continue
        sp, ip, site = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if site.startswith("["):
            cur["frames"].append({"kind": "runtime", "managed": True, "method": None,
                                  "function": site, "ip": ip, "sp": sp})
        else:
            method = _SRC_SUFFIX.sub("", site).strip() or None
            cur["frames"].append({"kind": "managed", "managed": True, "method": method,
                                  "ip": ip, "sp": sp})
    if not threads:
        raise InputError("no \"OS Thread Id:\" line: not the output of clrstack -all")
    return {"source": "dotnet-dump", "threads": threads}


# ------------------------------------------------------------------- auto-detect

def load_any(path, crashed_tid=None):
    data = read_bytes(path)
    text = data.decode("utf-8", errors="replace")
    if re.search(r"^\s*OS Thread Id:\s*0x", text, re.M) and not text.lstrip().startswith("{"):
        return norm_clrstack(text, crashed_tid)
    try:
        doc = json.loads(text)
    except ValueError:
        if '"payload"' in text:
            doc, partial = load_createdump(data, path)
            return norm_createdump(doc, partial)
        raise InputError("%s: neither JSON nor clrstack output" % path)
    if isinstance(doc, dict) and "payload" in doc:
        return norm_createdump(doc)
    if isinstance(doc, dict) and str(doc.get("schema", "")).startswith("crashpipe/"):
        return norm_crashpipe(doc)
    if isinstance(doc, dict) and doc.get("source") in ("createdump", "crashpipe", "dotnet-dump"):
        return doc
    raise InputError("%s: unknown JSON (no payload, schema or source)" % path)


# -------------------------------------------------------------------- comparison

def lcs_len(a, b):
    """Length of the longest common subsequence of two lists; None items never match."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return 0
    if n * m > 4_000_000:
        return _lcs_runs(a, b)
    prev = [0] * (m + 1)
    for i in range(n):
        cur = [0] * (m + 1)
        ai = a[i]
        for j in range(m):
            if ai is not None and ai == b[j]:
                cur[j + 1] = prev[j] + 1
            else:
                cur[j + 1] = cur[j] if cur[j] > prev[j + 1] else prev[j + 1]
        prev = cur
    return prev[m]


def _runs(seq):
    out = []
    for x in seq:
        if out and out[-1][0] == x and x is not None:
            out[-1][1] += 1
        else:
            out.append([x, 1])
    return out


def _lcs_runs(a, b):
    """LCS over run-length encoded lists (a stack overflow's 30000 identical frames): equal
    runs match min(len) items. A lower bound of the LCS, exact when runs line up, which is
    the case for the long recursions this is for."""
    ra, rb = _runs(a), _runs(b)
    n, m = len(ra), len(rb)
    prev = [0] * (m + 1)
    for i in range(n):
        cur = [0] * (m + 1)
        x, cx = ra[i]
        for j in range(m):
            y, cy = rb[j]
            best = cur[j] if cur[j] > prev[j + 1] else prev[j + 1]
            if x is not None and x == y:
                best = max(best, prev[j] + min(cx, cy))
            cur[j + 1] = best
        prev = cur
    return prev[m]


def loose_name(name):
    """A method name without its argument list and generic instantiations: only to tell a
    formatting difference from a wrong frame in the diagnostics, never for the score."""
    if name is None:
        return None
    s = name
    i = s.find("(")
    if i >= 0:
        s = s[:i]
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"\[[^\[\]]*\]", "", s)
    return s.replace(" ", "")


def frames_in_order(names, want):
    """How many of WANT (names as the app prints them, "Crasher.Program.MainLevel3" or
    "Crasher.Outer`1.Bottom") appear in NAMES in this order, compared with loose_name()."""
    i = 0
    for n in names:
        if i < len(want) and loose_name(n) == want[i]:
            i += 1
    return i


def managed_names(thread):
    return [f.get("method") for f in thread.get("frames") or [] if f.get("kind") == "managed"]


def compare(oracle, report, name="", min_ratio=0.99, crashed_min=None, verbose=False, out=sys.stdout,
            stable=None, per_thread=False):
    """See the module doc. stable: name prefixes; when given, only the crashed thread and the
    oracle threads with a managed frame starting with one of them count for --min (the others
    are still compared and shown, as "all threads"). per_thread: every counted thread must
    reach min_ratio on its own."""
    if crashed_min is None:
        crashed_min = min_ratio
    rep_by_tid = {t.get("tid"): t for t in report.get("threads") or []}
    total = matched = all_total = all_matched = 0
    problems, lines = [], []
    o_crashed = [t.get("tid") for t in oracle.get("threads") or [] if t.get("crashed")]
    r_crashed = [t.get("tid") for t in report.get("threads") or [] if t.get("crashed")]
    if o_crashed and r_crashed and set(o_crashed) != set(r_crashed):
        problems.append("crashed thread differs: %s says %s, %s says %s" % (
            oracle.get("source"), o_crashed, report.get("source"), r_crashed))
    elif o_crashed and not r_crashed and report.get("source") != "dotnet-dump":
        problems.append("%s marks no thread crashed (%s: %s)" % (report.get("source"), oracle.get("source"), o_crashed))
    for ot in oracle.get("threads") or []:
        a = [n for n in managed_names(ot) if n is not None]
        if not a:
            continue
        tid = ot.get("tid")
        crashed = bool(ot.get("crashed"))
        counted = (not stable or crashed or any(x.startswith(p) for x in a for p in stable))
        rt = rep_by_tid.get(tid)
        b = managed_names(rt) if rt else []
        note = ""
        if rt is None:
            note = "missing from %s" % report.get("source")
        elif rt.get("truncated") and len(b) < len(a):
            note = "truncated: first %d of %d" % (len(b), len(a))
            a = a[:len(b)]
        k = lcs_len(a, b)
        all_total += len(a)
        all_matched += k
        if counted:
            total += len(a)
            matched += k
        ratio = k / len(a) if a else 1.0
        if k < len(a) and rt is not None:
            kl = lcs_len([loose_name(x) for x in a], [loose_name(x) for x in b])
            if kl > k:
                note += ("; " if note else "") + "format differs: %d/%d without arguments/instantiations" % (kl, len(a))
        if not counted:
            note += ("; " if note else "") + "not counted: a runtime thread, may move between the two snapshots"
        if crashed and ratio < crashed_min:
            problems.append("crashed thread %s: %d/%d managed frames in order (%.1f%%, below %.1f%%)" % (
                tid, k, len(a), 100.0 * ratio, 100.0 * crashed_min))
        elif per_thread and counted and ratio < min_ratio:
            problems.append("thread %s: %d/%d managed frames in order (%.1f%%, below %.1f%%)" % (
                tid, k, len(a), 100.0 * ratio, 100.0 * min_ratio))
        if crashed and ot.get("exception_type") and rt is not None and report.get("source") != "dotnet-dump":
            if rt.get("exception_type") != ot.get("exception_type"):
                problems.append("crashed thread %s: exception type %r, %s says %r" % (
                    tid, rt.get("exception_type"), oracle.get("source"), ot.get("exception_type")))
        if k < len(a) or verbose:
            lines.append("  thread %s%s: %d/%d%s" % (tid, " (crashed)" if crashed else "", k, len(a),
                                                   " [%s]" % note if note else ""))
            if k < len(a):
                lines.append("    oracle (%s): %s" % (oracle.get("source"), " | ".join(a)))
                lines.append("    report (%s): %s" % (report.get("source"), " | ".join(str(x) for x in b)))
    pct = 100.0 * matched / total if total else 100.0
    line = "agreement %s: %d/%d (%.1f%%)" % (name or "%s vs %s" % (report.get("source"), oracle.get("source")),
                                            matched, total, pct)
    if all_total != total:
        line += "; all threads %d/%d (%.1f%%)" % (all_matched, all_total, 100.0 * all_matched / all_total)
    print(line, file=out)
    for ln in lines:
        print(ln, file=out)
    if total == 0:
        problems.append("%s has no named managed frame to compare" % oracle.get("source"))
    elif matched < min_ratio * total:
        problems.append("agreement %.1f%% is below %.1f%%" % (pct, 100.0 * min_ratio))
    for p in problems:
        print("FAILED: %s" % p, file=out)
    return 1 if problems else 0


# --------------------------------------------------------- checks on one crashpipe report

def check_main(args):
    """check-crashpipe REPORT: facts of a crashpipe report of a .NET crash.
      --type T / --message M      top-level exception type / message, exactly
      --inner "T: M"              exception.inner[i] (repeatable, in order)
      --exception-thread TID      exception.thread
      --no-exception              top-level exception is null (pinvoke: a native fault)
      --runtime-version V         runtime.kind "dotnet", runtime.version V, dac_error null
      --runtime-dir-has FILE      runtime.directory contains FILE (e.g. libcoreclr.so)
      --tid TID                   process.tid and the crashed thread (threads[0])
      --signal N                  process.signal
      --frames F1,F2,...          the crashed thread's managed functions contain, in this order
                                  (a subsequence), F1, F2, ... as the app prints them
                                  ("Crasher.Program.MainLevel3", "Crasher.Outer`1.Bottom"):
                                  compared without argument list and generic instantiations
      --native-then-managed N1,N2,...  the crashed thread has native frames with functions
                                  N1, N2, ... in order, all of them before its first managed frame
      --managed-fields            every managed frame has assembly, token (0x hex) and
                                  il_offset (number or null), and ip/sp hex strings
    """
    doc = json.loads(read_bytes(args.report).decode("utf-8", errors="replace"))
    errors = []
    exc = doc.get("exception")
    proc = doc.get("process") or {}
    threads = doc.get("threads") or []
    crashed = threads[0] if threads else {}

    def expect(what, got, want):
        if got != want:
            errors.append("%s: got %r, expected %r" % (what, got, want))

    if args.no_exception:
        expect("exception", exc, None)
    if args.type is not None or args.message is not None or args.inner or args.exception_thread is not None:
        if not isinstance(exc, dict):
            errors.append("exception: got %r, expected an object" % (exc,))
            exc = {}
    if args.type is not None:
        expect("exception.type", exc.get("type"), args.type)
    if args.message is not None:
        expect("exception.message", exc.get("message"), args.message)
    if args.exception_thread is not None:
        expect("exception.thread", exc.get("thread"), args.exception_thread)
    if args.inner:
        cur, i = exc, 0
        for want in args.inner:
            inner = cur.get("inner") if isinstance(cur, dict) else None
            if not inner:
                errors.append("exception inner #%d: missing, expected %r" % (i, want))
                break
            got = "%s: %s" % (inner[0].get("type"), inner[0].get("message"))
            expect("exception inner #%d" % i, got, want)
            cur, i = inner[0], i + 1
    if args.runtime_version is not None:
        rt = doc.get("runtime")
        if not isinstance(rt, dict):
            errors.append("runtime: got %r, expected an object" % (rt,))
        else:
            expect("runtime.kind", rt.get("kind"), "dotnet")
            expect("runtime.version", rt.get("version"), args.runtime_version)
            expect("runtime.dac_error", rt.get("dac_error"), None)
            if args.runtime_dir_has and not os.path.exists(os.path.join(rt.get("directory") or "/nonexistent",
                                                                        args.runtime_dir_has)):
                errors.append("runtime.directory %r has no %s" % (rt.get("directory"), args.runtime_dir_has))
    if args.tid is not None:
        expect("process.tid", proc.get("tid"), args.tid)
        expect("threads[0].tid", crashed.get("tid"), args.tid)
        expect("threads[0].crashed", crashed.get("crashed"), True)
    if args.signal is not None:
        expect("process.signal", proc.get("signal"), args.signal)
    if args.memory_source:
        expect("memory_source", doc.get("memory_source"), args.memory_source)
    frames = expand_folded(crashed)
    if args.frames:
        want = [w for w in args.frames.split(",") if w]
        got = [f.get("function") or "" for f in frames if f.get("kind") == "managed"]
        i = frames_in_order(got, want)
        if i < len(want):
            errors.append("crashed thread's managed frames lack %r (in order %s); they are: %s" % (
                want[i], ",".join(want), " | ".join(got)))
    if args.native_then_managed:
        want = [w for w in args.native_then_managed.split(",") if w]
        first_managed = next((k for k, f in enumerate(frames) if f.get("kind") == "managed"), None)
        if first_managed is None:
            errors.append("crashed thread has no managed frame")
            first_managed = len(frames)
        i = 0
        for f in frames[:first_managed]:
            if i < len(want) and f.get("kind") == "native" and f.get("function") == want[i]:
                i += 1
        if i < len(want):
            errors.append("crashed thread lacks native %r (in order %s) before its first managed frame; "
                          "it has: %s" % (want[i], ",".join(want), " | ".join(
                              "%s:%s" % (f.get("kind"), f.get("function")) for f in frames[:first_managed + 3])))
    if args.managed_fields:
        bad = 0
        for t in threads:
            for f in t.get("frames") or []:
                if f.get("kind") != "managed":
                    continue
                ok = (isinstance(f.get("assembly"), str) and f.get("assembly")
                      and re.fullmatch(r"0x[0-9a-fA-F]{8}", str(f.get("token")))
                      and (f.get("il_offset") is None or isinstance(f.get("il_offset"), int))
                      and re.fullmatch(r"0x[0-9a-f]+", str(f.get("ip")))
                      and re.fullmatch(r"0x[0-9a-f]+", str(f.get("sp"))))
                if not ok:
                    bad += 1
                    if bad <= 3:
                        errors.append("thread %s: managed frame lacks assembly/token/il_offset/ip/sp: %s" % (
                            t.get("tid"), json.dumps(f)))
        if bad > 3:
            errors.append("... %d managed frames in all lack fields" % bad)
    for e in errors:
        print("FAILED: %s" % e)
    return 1 if errors else 0


# ------------------------------------------------- checks on one createdump crash report

def check_createdump_main(args):
    """check-createdump REPORT: what the runtime's own crash report must say of a scenario.
      --crashed-tid TID           the one thread with "crashed": "true"
      --exception-type T          that thread's managed_exception_type
      --no-exception              that thread has no managed_exception_type
      --exception-code HEX        parameters.ExceptionType (0x05000000 managed, 0x20000000 SIGSEGV)
      --frames F1,F2,...          the crashed thread's named managed frames, in order (as for
                                  check-crashpipe)
      --threads-with NAME:N       at least N threads have a named managed frame NAME
      --runtime-version V         configuration.version is "MAJ.MIN.BUILD.REV ..." with
                                  MAJ.MIN.(BUILD/100) == V (createdump prints the file version:
                                  10.0.12 is "10.0.1226.42308")
    """
    data = read_bytes(args.report)
    doc, partial = load_createdump(data, args.report)
    n = norm_createdump(doc, partial)
    errors = []
    if partial:
        errors.append("the crash report is cut short")
    crashed = [t for t in n["threads"] if t["crashed"]]
    if len(crashed) != 1:
        errors.append("%d threads marked crashed: %s" % (len(crashed), [t["tid"] for t in crashed]))
    ct = crashed[0] if crashed else {"frames": [], "tid": None, "exception_type": None}
    if args.crashed_tid is not None and ct["tid"] != args.crashed_tid:
        errors.append("crashed thread %s, expected %s" % (ct["tid"], args.crashed_tid))
    if args.exception_type is not None and ct.get("exception_type") != args.exception_type:
        errors.append("crashed thread's exception %r, expected %r" % (ct.get("exception_type"), args.exception_type))
    if args.no_exception and ct.get("exception_type"):
        errors.append("crashed thread's exception %r, expected none" % ct.get("exception_type"))
    if args.exception_code is not None and hexint(n.get("exception_type_code")) != hexint(args.exception_code):
        errors.append("parameters.ExceptionType %r, expected %s" % (n.get("exception_type_code"), args.exception_code))
    if args.frames:
        want = [w for w in args.frames.split(",") if w]
        got = [x for x in managed_names(ct) if x]
        i = frames_in_order(got, want)
        if i < len(want):
            errors.append("crashed thread lacks managed frame %r (in order %s); it has: %s" % (
                want[i], ",".join(want), " | ".join(got[:20])))
    for spec in args.threads_with:
        name, _, cnt = spec.rpartition(":")
        have = sum(1 for t in n["threads"] if any(loose_name(x) == name for x in managed_names(t) if x))
        if have < int(cnt):
            errors.append("%d threads have a frame %s, expected at least %s" % (have, name, cnt))
    if args.runtime_version is not None:
        m = re.match(r"(\d+)\.(\d+)\.(\d+)\.\d+", n.get("runtime_version") or "")
        got = "%s.%s.%d" % (m.group(1), m.group(2), int(m.group(3)) // 100) if m else None
        if got != args.runtime_version:
            errors.append("configuration.version %r (= %s), expected %s" % (
                n.get("runtime_version"), got, args.runtime_version))
    for e in errors:
        print("FAILED: %s" % e)
    return 1 if errors else 0


# ------------------------------------------------------------------------- main

def main(argv):
    ap = argparse.ArgumentParser(prog="dotnet-oracle.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for c in ("createdump-report", "crashpipe-report", "dotnet-dump-clrstack"):
        p = sub.add_parser(c)
        p.add_argument("file")
        p.add_argument("-o", "--output")
        if c == "dotnet-dump-clrstack":
            p.add_argument("--crashed-tid", type=lambda s: int(s, 0))
    p = sub.add_parser("compare")
    p.add_argument("oracle")
    p.add_argument("report")
    p.add_argument("--min", type=float, default=0.99)
    p.add_argument("--crashed-min", type=float)
    p.add_argument("--name", default="")
    p.add_argument("--crashed-tid", type=lambda s: int(s, 0), help="for clrstack input")
    p.add_argument("--stable", action="append", default=[],
                   help="count only the crashed thread and threads with a frame starting with this")
    p.add_argument("--per-thread", action="store_true", help="--min applies to each counted thread")
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("check-createdump")
    p.add_argument("report")
    p.add_argument("--crashed-tid", type=int)
    p.add_argument("--exception-type")
    p.add_argument("--no-exception", action="store_true")
    p.add_argument("--exception-code")
    p.add_argument("--frames")
    p.add_argument("--threads-with", action="append", default=[])
    p.add_argument("--runtime-version")
    p = sub.add_parser("check-crashpipe")
    p.add_argument("report")
    p.add_argument("--type")
    p.add_argument("--message")
    p.add_argument("--inner", action="append", default=[])
    p.add_argument("--exception-thread", type=int)
    p.add_argument("--no-exception", action="store_true")
    p.add_argument("--runtime-version")
    p.add_argument("--runtime-dir-has")
    p.add_argument("--tid", type=int)
    p.add_argument("--signal", type=int)
    p.add_argument("--frames")
    p.add_argument("--native-then-managed")
    p.add_argument("--managed-fields", action="store_true")
    p.add_argument("--memory-source", choices=["live", "core"])
    args = ap.parse_args(argv)

    try:
        if args.cmd == "compare":
            a = load_any(args.oracle, args.crashed_tid)
            b = load_any(args.report, args.crashed_tid)
            return compare(a, b, args.name, args.min, args.crashed_min, args.verbose,
                           stable=args.stable, per_thread=args.per_thread)
        if args.cmd == "check-crashpipe":
            return check_main(args)
        if args.cmd == "check-createdump":
            return check_createdump_main(args)
        data = read_bytes(args.file)
        if args.cmd == "createdump-report":
            doc, partial = load_createdump(data, args.file)
            res = norm_createdump(doc, partial)
        elif args.cmd == "crashpipe-report":
            try:
                doc = json.loads(data.decode("utf-8", errors="replace"))
            except ValueError as e:
                raise InputError("%s: not JSON: %s" % (args.file, e))
            res = norm_crashpipe(doc)
        else:
            res = norm_clrstack(data.decode("utf-8", errors="replace"), args.crashed_tid)
    except InputError as e:
        print("dotnet-oracle.py: %s" % e, file=sys.stderr)
        return 2
    nframes = sum(len(t.get("frames") or []) for t in res.get("threads") or [])
    text = json.dumps(res, indent=1 if nframes <= 2000 else None)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
