#!/usr/bin/env python3
"""dotnet-oracle.py - oracles for crashpipe's managed (.NET) frames.

usage:
  dotnet-oracle.py createdump-report FILE [-o OUT]
  dotnet-oracle.py crashpipe-report FILE [-o OUT]
  dotnet-oracle.py dotnet-dump-clrstack FILE [--crashed-tid TID] [-o OUT]
  dotnet-oracle.py compare ORACLE REPORT [--min 0.99] [--name NAME] [--crashed-min F] [-v]
  dotnet-oracle.py check-createdump REPORT [checks...]  (see check_createdump_main)
  dotnet-oracle.py check-crashpipe REPORT [checks...]   (see check_main)
  dotnet-oracle.py runtime-stderr FILE [-o OUT]         the runtime's own stderr, parsed
  dotnet-oracle.py check-stderr STDERR REPORT [--name N] (see check_stderr_main)
  dotnet-oracle.py check-pe PE_OUTPUT REPORT [--name N]  (see check_pe_main)
  dotnet-oracle.py check-lines CLRSTACK REPORT [--name N] (see check_lines_main)
  dotnet-oracle.py doctor REPORT -o OUT                  (see doctor_main)

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
    N times) written out N times, as the oracles list them (the omitted run, if any, is
    simply not there: see expand_report_frames)."""
    head, tail, _ = expand_report_frames(t)
    return head + tail


def norm_crashpipe(doc):
    if not str(doc.get("schema", "")).startswith("crashpipe/"):
        raise InputError("not a crashpipe report (schema %r)" % doc.get("schema"))
    proc = doc.get("process") or {}
    exc = doc.get("exception")
    threads = []
    for t in doc.get("threads") or []:
        frames = []
        head, tail, omitted = expand_report_frames(t)
        for f in head + tail:
            kind = f.get("kind") or "native"
            if kind == "inline":
                continue  # calls inlined into the next native frame: no frame of their own for the runtime
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
            "omitted_at": len(head) if omitted else None,
            "omitted_count": omitted,
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
_SRC_FILE_LINE = re.compile(r"\s+\[([^\[\]]*?) @ *(\d+)\]$")


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
            if method == "<unknown>":
                method = None  # SOS could not name it (no metadata of its module in the dump)
            fr = {"kind": "managed", "managed": True, "method": method, "ip": ip, "sp": sp}
            src = _SRC_FILE_LINE.search(site)
            if src:
                fr["file"], fr["line"] = src.group(1).strip(), int(src.group(2))
            cur["frames"].append(fr)
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
        elif rt.get("omitted_at") is not None:
            # the report kept the top and the bottom and left frames out between them
            nb_head = len(managed_names({"frames": rt["frames"][:rt["omitted_at"]]}))
            nb_tail = len(b) - nb_head
            if nb_head + nb_tail < len(a):
                note = "omitted: top %d and bottom %d of %d" % (nb_head, nb_tail, len(a))
                a = a[:nb_head] + (a[len(a) - nb_tail:] if nb_tail else [])
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
      --aggregate-inner "T: M"    exception.inner is exactly these (repeatable, in order): an
                                  AggregateException's inner exceptions, side by side
      --managed-name NAME         the crashed thread's managed_name (Thread.Name)
      --no-exception              top-level exception is null (pinvoke: a native fault)
      --runtime-version V         runtime.kind "coreclr", runtime.version V, dac_error null
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
                                  il_offset (number or null), and ip/sp hex strings (a
                                  dynamic method, "DynamicClass.*", no assembly)
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
    if args.aggregate_inner:
        inner = exc.get("inner") if isinstance(exc, dict) else None
        got = ["%s: %s" % (x.get("type"), x.get("message")) for x in inner or [] if isinstance(x, dict)]
        expect("exception.inner (all)", got, args.aggregate_inner)
    if args.managed_name is not None:
        expect("crashed thread's managed_name", crashed.get("managed_name"), args.managed_name)
    if args.runtime_version is not None:
        rt = doc.get("runtime")
        if not isinstance(rt, dict):
            errors.append("runtime: got %r, expected an object" % (rt,))
        else:
            expect("runtime.kind", rt.get("kind"), "coreclr")
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
                # a dynamic method (DynamicMethod, expression trees: "DynamicClass.lambda_method2")
                # lives in no assembly file and has no metadata token of its own
                lcg = str(f.get("function") or "").startswith("DynamicClass.")
                ok = ((lcg or (isinstance(f.get("assembly"), str) and f.get("assembly")))
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


# ------------------------------------------------------------ the runtime's own stderr

# What the runtime prints when it dies (the text an on-call engineer compares a report
# with). Two kinds of block, found anywhere in the text (other lines, e.g. the app's own
# output or createdump's, are skipped):
#
#   Unhandled exception. TYPE: MESSAGE          Exception.ToString() of the unhandled one:
#    ---> TYPE: MESSAGE                          its InnerException, recursively
#      at METHOD in FILE:line N                  a frame (" in FILE:line N" when a PDB was found)
#   --- End of stack trace from previous location ---   segment boundary (ExceptionDispatchInfo)
#      --- End of inner exception stack trace ---       the inner exception ends
#    ---> (Inner Exception #K) TYPE: MESSAGE ... <---   an AggregateException's further inners
#
#   Stack overflow.                              the stack overflow handler's walk of the thread
#   Repeat[ed] N times:                          (.NET 8 "Repeat", .NET 10 "Repeated") the frames
#   --------------------------------             between the two dashed lines occurred N times
#      at METHOD                                 in a row; METHOD in the DAC's GetName format
#   --------------------------------
#      at METHOD
#
# Sources: Exception.ToString and AggregateException.ToString, System.Diagnostics.StackTrace
# (dotnet/runtime src/libraries/System.Private.CoreLib/src/System/Exception.cs,
# AggregateException.cs, Diagnostics/StackTrace.cs: " ---> ", "   --- End of inner exception
# stack trace ---", "   at ", " in {0}:line {1}"), and the stack overflow printer
# (src/coreclr/vm/eepolicy.cpp: "Stack overflow.", "Repeat %d times:" / "Repeated %d times:").

_RT_FRAME = re.compile(r"^   at (.*?)(?: in (.*):line (\d+))?$")
_RT_REPEAT = re.compile(r"^Repeat(?:ed)? (\d+) times:$")
_RT_DASHES = re.compile(r"^-{8,}$")
_RT_AGG_INNER = re.compile(r"^ ---> \(Inner Exception #(\d+)\) (.*)$")
_RT_SEGMENT = "--- End of stack trace from previous location ---"
_RT_END_INNER = "   --- End of inner exception stack trace ---"


def _rt_exception(header):
    typ, sep, msg = header.partition(": ")
    return {"type": typ.strip(), "message": msg if sep else "", "frames": [], "inner": [],
            "_seg": 0, "_head": True}


def _rt_frame(m, seg):
    return {"text": m.group(1).strip(), "file": m.group(2),
            "line": int(m.group(3)) if m.group(3) else None, "segment": seg}


def parse_runtime_stderr(text):
    """The runtime's text -> {"kind": "exception", "exception": TREE} or {"kind":
    "stackoverflow", "frames": [...expanded...], "repeats": [[start, length, count], ...]}
    or {"kind": None}. TREE: {"type", "message", "frames": [{"text", "file", "line",
    "segment"}], "inner": [TREE...]} (inner: InnerException, or an AggregateException's
    inner exceptions in order). The last block wins when there are several."""
    lines = text.split("\n")
    res = {"kind": None}
    i, n = 0, len(lines)
    while i < n:
        ln = lines[i].rstrip("\r")
        if ln.startswith("Unhandled exception. "):
            exc, i = _parse_exception_block(lines, i)
            res = {"kind": "exception", "exception": exc}
            continue
        if ln == "Stack overflow.":
            res, i = _parse_stackoverflow_block(lines, i + 1)
            continue
        i += 1
    return res


def _parse_exception_block(lines, i):
    root = _rt_exception(lines[i].rstrip("\r")[len("Unhandled exception. "):])
    stack = [root]
    i += 1
    n = len(lines)
    while i < n:
        ln = lines[i].rstrip("\r")
        top = stack[-1]
        closing = ln.endswith("<---")
        if closing:
            ln = ln[:-4]
        m_agg = _RT_AGG_INNER.match(ln)
        m_fr = _RT_FRAME.match(ln)
        if m_agg:
            e = _rt_exception(m_agg.group(2))
            top["_head"] = False
            top["inner"].append(e)
            stack.append(e)
        elif ln.startswith(" ---> "):
            e = _rt_exception(ln[len(" ---> "):])
            top["_head"] = False
            top["inner"].append(e)
            stack.append(e)
        elif ln == _RT_END_INNER:
            if len(stack) > 1:
                stack.pop()
            stack[-1]["_head"] = False
        elif ln == _RT_SEGMENT:
            top["_head"] = False
            top["_seg"] += 1
        elif m_fr:
            top["_head"] = False
            top["frames"].append(_rt_frame(m_fr, top["_seg"]))
        elif ln == "" and i + 1 < n and _RT_AGG_INNER.match(lines[i + 1].rstrip("\r")):
            pass  # the blank line between an aggregate's inner exceptions
        elif top["_head"] and not closing:
            top["message"] += "\n" + ln  # a message of several lines
        else:
            break
        if closing and len(stack) > 1:
            stack.pop()
        i += 1
    _rt_clean(root)
    return root, i


def _rt_clean(e):
    e.pop("_seg", None)
    e.pop("_head", None)
    for x in e["inner"]:
        _rt_clean(x)


def _parse_stackoverflow_block(lines, i):
    frames, repeats = [], []
    n = len(lines)
    while i < n:
        ln = lines[i].rstrip("\r")
        m = _RT_REPEAT.match(ln)
        if m:
            count = int(m.group(1))
            j = i + 1
            if j < n and _RT_DASHES.match(lines[j].rstrip("\r")):
                j += 1
            group = []
            while j < n:
                mf = _RT_FRAME.match(lines[j].rstrip("\r"))
                if not mf:
                    break
                group.append(_rt_frame(mf, 0))
                j += 1
            if j < n and _RT_DASHES.match(lines[j].rstrip("\r")):
                j += 1
            repeats.append([len(frames), len(group), count])
            for _ in range(count):
                frames.extend(dict(g) for g in group)
            i = j
            continue
        mf = _RT_FRAME.match(ln)
        if not mf:
            break
        frames.append(_rt_frame(mf, 0))
        i += 1
    return {"kind": "stackoverflow", "frames": frames, "repeats": repeats}, i


_ASM_QUAL = re.compile(r", Version=[^,\]]*, Culture=[^,\]]*, PublicKeyToken=[0-9A-Za-z]+")


def _method_key(name):
    """Type.Method of a frame name, for a report frame without "display": no argument list,
    no generic instantiation, nested types joined with "." (the runtime's stack trace prints
    "Outer.Inner.M(Int32 x)", the DAC "Outer+Inner.M(Int32)")."""
    s = loose_name(name)
    return s.replace("+", ".") if s else s


def _frame_matches(rt_text, f, dac_format):
    """Does report frame F stand for the runtime's printed frame RT_TEXT? DAC_FORMAT: the
    runtime printed the DAC's GetName format (the stack overflow printer), else the stack
    trace format (Exception.ToString), which "display" reproduces."""
    disp = (f.get("display") or "").strip()
    func = (f.get("function") or "").strip()
    if dac_format:
        if func == rt_text or disp == rt_text:
            return True
        # the stack overflow printer writes generic arguments assembly-qualified in full
        # ("[[System.__Canon, System.Private.CoreLib, Version=8.0.0.0, Culture=neutral,
        # PublicKeyToken=7cec85d7bea7798e]]"), GetName(0) the assembly's simple name only
        t = _ASM_QUAL.sub("", rt_text)
        return t != rt_text and (func == t or disp == t)
    if disp:
        return disp == rt_text
    return bool(func) and _method_key(func) == _method_key(rt_text)


def _align(rt_frames, rep_frames, dac_format, window=64):
    """Walk the runtime's frames in order against the report's: a report frame that matches
    none is skipped (the report may hold more, e.g. runtime Frames); a runtime frame not found
    within WINDOW report frames is counted missing. -> list of (rt_frame, report_frame|None)."""
    pairs, j = [], 0
    for r in rt_frames:
        k = j
        hit = None
        while k < len(rep_frames) and k < j + window:
            if _frame_matches(r["text"], rep_frames[k], dac_format):
                hit = k
                break
            k += 1
        if hit is None:
            pairs.append((r, None))
        else:
            pairs.append((r, rep_frames[hit]))
            j = hit + 1
    return pairs


def _score(pairs, out, label, segments=True):
    """(frames matched, frames, lines equal, lines printed, segments equal); prints what differs."""
    a = c = d = s = 0
    for r, f in pairs:
        if f is not None:
            a += 1
            if segments and f.get("segment") == r["segment"]:
                s += 1
        if r["file"] is not None:
            d += 1
            if f is not None and f.get("file") == r["file"] and f.get("line") == r["line"]:
                c += 1
    shown = 0
    for r, f in pairs:
        bad = f is None or (r["file"] is not None and (f.get("file") != r["file"] or f.get("line") != r["line"]))
        if bad and shown < 8:
            shown += 1
            where = " in %s:line %s" % (r["file"], r["line"]) if r["file"] else ""
            if f is None:
                print("  %s: missing: at %s%s" % (label, r["text"], where), file=out)
            else:
                print("  %s: at %s%s: the report says %s:%s" % (label, r["text"], where, f.get("file"), f.get("line")),
                      file=out)
    return a, len(pairs), c, d, s


def _report_crashed_thread(doc):
    proc = doc.get("process") or {}
    threads = doc.get("threads") or []
    for t in threads:
        if t.get("crashed"):
            return t
    for t in threads:
        if t.get("tid") == proc.get("tid"):
            return t
    return threads[0] if threads else None


def expand_report_frames(thread):
    """A report thread's frames with every "repeat" cycle written out, split where "omitted"
    says frames were left out: (head, tail, omitted_count); tail is [] without an omission."""
    frames = thread.get("frames") or []
    om = thread.get("omitted")
    after = len(frames)
    count = 0
    if isinstance(om, dict) and isinstance(om.get("after"), int) and isinstance(om.get("count"), int):
        after = max(0, min(om["after"], len(frames)))
        count = om["count"]

    def expand(fr):
        out, i = [], 0
        while i < len(fr):
            rep = fr[i].get("repeat")
            if isinstance(rep, dict) and isinstance(rep.get("length"), int) and isinstance(rep.get("count"), int) \
                    and rep["length"] >= 1 and rep["count"] >= 1 and rep["length"] * rep["count"] <= 10_000_000:
                group = fr[i:i + rep["length"]]
                for _ in range(rep["count"]):
                    out.extend(group)
                i += rep["length"]
            else:
                out.append(fr[i])
                i += 1
        return out
    return expand(frames[:after]), expand(frames[after:]), count


def check_stderr(stderr_text, doc, name, out=sys.stdout, oracle="stderr"):
    """check-stderr: see check_stderr_main. -> exit status. The first line printed is the
    agreement line, the details follow."""
    import io
    buf = io.StringIO()
    rc = _check_stderr(stderr_text, doc, name, buf, oracle)
    lines = buf.getvalue().splitlines()
    head = [ln for ln in lines if (" %s frames " % oracle) in ln and not ln.startswith(" ")]
    for ln in head + [ln for ln in lines if ln not in head]:
        print(ln, file=out)
    return rc


def _check_stderr(stderr_text, doc, name, out, oracle):
    rt = parse_runtime_stderr(stderr_text)
    problems = []
    label = name or "report"
    if rt["kind"] is None:
        print("%s %s frames 0/0 lines 0/0" % (label, oracle), file=out)
        print("FAILED: no \"Unhandled exception.\" or \"Stack overflow.\" block in the runtime's stderr", file=out)
        return 1
    if rt["kind"] == "stackoverflow":
        t = _report_crashed_thread(doc)
        if t is None:
            problems.append("the report has no thread")
            t = {}
        head, tail, omitted = expand_report_frames(t)
        head = [f for f in head if f.get("kind") == "managed"]
        tail = [f for f in tail if f.get("kind") == "managed"]
        R = rt["frames"]
        # the head from the top, the tail from the bottom; what lies between is the gap the
        # report says it left out (credited when its count is the runtime's, within 2 frames)
        hp = _align(R, head, True)
        nh = max((k + 1 for k, (_, f) in enumerate(hp) if f is not None), default=0)
        tp = []
        if tail:
            tp = _align(list(reversed(R[nh:])), list(reversed(tail)), True)
            tp.reverse()
            first_t = next((k for k, (_, f) in enumerate(tp) if f is not None), len(tp))
        else:
            first_t = len(R) - nh
        gap = first_t
        pairs = hp[:nh] + ([(r, None) for r in R[nh:nh + gap]]) + tp[first_t:]
        a, b, c, d, _ = _score(pairs, open(os.devnull, "w"), label, segments=False)
        credited = 0
        if gap and omitted and abs(gap - omitted) <= 2:
            credited = gap
        elif gap:
            problems.append("%d frames the runtime printed are not in the report (it says %s omitted)" % (
                gap, omitted if omitted else "none"))
        a += credited
        print("%s %s frames %d/%d lines %d/%d" % (label, oracle, a, b, c, d), file=out)
        print("  stack overflow: runtime %d frames (%s); report head %d/%d matched, tail %d/%d, omitted %d, runtime's gap %d" % (
            len(R), ", ".join("repeat %d x %d from %d" % (ln, cnt, st) for st, ln, cnt in rt["repeats"]) or "no repeat block",
            sum(1 for _, f in hp[:nh] if f is not None), len(head),
            sum(1 for _, f in tp[first_t:] if f is not None), len(tail), omitted, gap), file=out)
        missing = [r for r, f in hp[:nh] + tp[first_t:] if f is None]
        for r in missing[:5]:
            print("  missing: at %s" % r["text"], file=out)
        if a < b:
            problems.append("frames %d/%d" % (a, b))
    else:
        rexc = doc.get("exception")
        a = b = c = d = s = 0
        base = [0, 0]

        def walk(re_, pe, path):
            nonlocal a, b, c, d, s
            if not isinstance(pe, dict):
                problems.append("%s: the report has no such exception (the runtime printed %s: %s)" % (
                    path, re_["type"], re_["message"].split("\n")[0]))
                pe = {}
            if pe and pe.get("type") != re_["type"]:
                problems.append("%s: type %r, the runtime printed %r" % (path, pe.get("type"), re_["type"]))
            # AggregateException.Message appends each inner's message in parentheses to the
            # message it was made with: a report may hold either
            pm = pe.get("message") or ""
            agg = pm + "".join(" (%s)" % (x.get("message") or "") for x in (pe.get("inner") or [])
                               if isinstance(x, dict))
            if pe and pm != re_["message"] and agg != re_["message"]:
                problems.append("%s: message %r, the runtime printed %r" % (path, pe.get("message"), re_["message"]))
            stack = pe.get("stack")
            if re_["frames"] and not isinstance(stack, list):
                problems.append("%s: the report has no \"stack\" (the runtime printed %d frames)" % (path, len(re_["frames"])))
                stack = []
            pairs = _align(re_["frames"], stack or [], False)
            x = _score(pairs, out, path)
            a += x[0]; b += x[1]; c += x[2]; d += x[3]; s += x[4]
            # the thread's frames ("frames", today's member) against the same text: the baseline
            fr = [f for f in (pe.get("frames") or []) if f.get("kind", "managed") == "managed"]
            y = _score(_align(re_["frames"], fr, False), open(os.devnull, "w"), path)
            base[0] += y[0]
            base[1] += y[1]
            inners = pe.get("inner") if isinstance(pe.get("inner"), list) else []
            if len(inners) != len(re_["inner"]):
                problems.append("%s: %d inner exceptions, the runtime printed %d" % (path, len(inners), len(re_["inner"])))
            for k, ri in enumerate(re_["inner"]):
                walk(ri, inners[k] if k < len(inners) else None, "%s.inner[%d]" % (path, k))

        walk(rt["exception"], rexc, "exception")
        print("%s %s frames %d/%d lines %d/%d" % (label, oracle, a, b, c, d), file=out)
        print("  segments %d/%d; the thread's frames (exception.frames) hold %d/%d of them" % (s, a, base[0], base[1]),
              file=out)
        if a < b:
            problems.append("frames %d/%d" % (a, b))
        if c < d:
            problems.append("lines %d/%d" % (c, d))
    for p in problems:
        print("FAILED: %s" % p, file=out)
    return 1 if problems else 0


def check_stderr_main(args):
    """check-stderr STDERR REPORT [--name "APP RUNTIME"]: the report against the runtime's own
    stderr of the same crash. For an "Unhandled exception." block: the exception's type and
    message, every frame the runtime printed in the report exception's "stack" in the same
    order (a report frame matches by "display", exactly, when it has one, else by Type.Method
    of "function"), and every "in FILE:line N" equal to that frame's file and line; the same
    for each inner exception ("inner"[k]: InnerException, or an AggregateException's k-th).
    For a "Stack overflow." block: the crashed thread's managed frames, with "repeat" cycles
    written out, matched by "function" (the runtime prints the DAC's names), the top of the
    report against the top of the runtime's walk and, after an "omitted" gap, the bottom
    against its bottom; the gap counts when its size is the report's "omitted" count.
    Prints "NAME stderr frames a/b lines c/d" (then what differs); exit 1 unless a == b and
    c == d and the exceptions agree."""
    text = read_bytes(args.stderr).decode("utf-8", errors="replace")
    try:
        doc = json.loads(read_bytes(args.report).decode("utf-8", errors="replace"))
    except ValueError as e:
        raise InputError("%s: not JSON: %s" % (args.report, e))
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("crashpipe/"):
        raise InputError("%s: not a crashpipe report" % args.report)
    return check_stderr(text, doc, args.name, oracle=args.oracle)


# ------------------------------------------------- dotnet-dump analyze: pe -nested

_PE_FRAME = re.compile(r"^\s+([0-9A-Fa-f]{8,16})\s+([0-9A-Fa-f]{8,16})\s+(\S.*?)\s*$")


def parse_sos_pe(text):
    """The output of `dotnet-dump analyze DUMP -c "setthread -t TID" -c "pe -nested"`: one
    block per exception, the thread's exception first, then each InnerException in turn
    ("Exception object:", "Exception type:", "Message:", "StackTrace (generated):" and its
    "SP IP Module!Method+0xOFF" lines). -> [{"type", "message", "frames": [method...]}]."""
    blocks, cur, in_stack = [], None, False
    for ln in text.splitlines():
        if ln.startswith("Exception object:"):
            cur = {"type": None, "message": None, "frames": []}
            blocks.append(cur)
            in_stack = False
            continue
        if cur is None:
            continue
        if ln.startswith("Exception type:"):
            cur["type"] = ln.split(":", 1)[1].strip()
        elif ln.startswith("Message:"):
            m = ln.split(":", 1)[1].strip()
            cur["message"] = None if m == "<none>" else m
        elif ln.startswith("StackTrace (generated):"):
            in_stack = True
        elif in_stack:
            m = _PE_FRAME.match(ln)
            if m:
                name = re.sub(r"^[^\s!(]+!", "", m.group(3))
                name = re.sub(r"\+0x[0-9a-fA-F]+$", "", name)
                cur["frames"].append(name)
            elif ln.strip() and not ln.strip().startswith("SP "):
                in_stack = False
    return blocks


def check_pe_main(args):
    """check-pe PE_OUTPUT REPORT [--name NAME]: SOS's view of the crashed thread's exception
    (pe -nested) against the report's: the same type at each level of the InnerException
    chain (exception, exception.inner[0], its inner[0], ...), and every frame pe lists from
    the exception object's _stackTrace in the report's "stack" of that level, in order,
    matched by "function" (both are the DAC's names). Prints "NAME dotnet-dump-pe frames
    a/b" then what differs; exit 1 when something does."""
    blocks = parse_sos_pe(read_bytes(args.pe).decode("utf-8", errors="replace"))
    doc = json.loads(read_bytes(args.report).decode("utf-8", errors="replace"))
    problems, details = [], []
    a = b = 0
    if not blocks:
        problems.append("no \"Exception object:\" in the pe output")
    cur = doc.get("exception")
    for k, blk in enumerate(blocks):
        path = "exception" + ".inner[0]" * k
        if not isinstance(cur, dict):
            problems.append("%s: the report has none (pe: %s)" % (path, blk["type"]))
            cur = {}
        elif cur.get("type") != blk["type"]:
            problems.append("%s: type %r, pe says %r" % (path, cur.get("type"), blk["type"]))
        stack = cur.get("stack") if isinstance(cur.get("stack"), list) else []
        pairs = _align([{"text": f} for f in blk["frames"]], stack, True)
        a += sum(1 for _, f in pairs if f is not None)
        b += len(pairs)
        for r, f in pairs:
            if f is None and len(details) < 8:
                details.append("  %s: missing: %s" % (path, r["text"]))
        inner = cur.get("inner") if isinstance(cur.get("inner"), list) else []
        cur = inner[0] if inner else None
    print("%s dotnet-dump-pe frames %d/%d" % (args.name or "report", a, b))
    for d in details:
        print(d)
    if a < b:
        problems.append("frames %d/%d" % (a, b))
    for p in problems:
        print("FAILED: %s" % p)
    return 1 if problems else 0


def check_lines_main(args):
    """check-lines CLRSTACK REPORT [--name NAME]: SOS's source lines (clrstack -all with the
    PDBs found, "[FILE @ LINE]") against the report's: each SOS frame with a line whose
    thread (tid) and stack pointer the report has too must have the same file and line there.
    Frames the report lacks (a thread that moved between the dump and the core) are not
    counted. Prints "NAME dotnet-dump-clrstack lines c/d"; exit 1 unless c == d."""
    sos = norm_clrstack(read_bytes(args.clrstack).decode("utf-8", errors="replace"))
    doc = json.loads(read_bytes(args.report).decode("utf-8", errors="replace"))
    by_sp = {}
    for t in doc.get("threads") or []:
        head, tail, _ = expand_report_frames(t)
        for f in head + tail:
            if f.get("kind") == "managed" and hexint(f.get("sp")) is not None:
                by_sp.setdefault((t.get("tid"), hexint(f.get("sp"))), f)
    c = d = 0
    details = []
    for t in sos["threads"]:
        for fr in t["frames"]:
            if "line" not in fr:
                continue
            f = by_sp.get((t["tid"], fr["sp"]))
            if f is None:
                continue
            d += 1
            if f.get("file") == fr["file"] and f.get("line") == fr["line"]:
                c += 1
            elif len(details) < 8:
                details.append("  thread %s sp 0x%x %s: dotnet-dump %s:%s, the report %s:%s" % (
                    t["tid"], fr["sp"], fr["method"], fr["file"], fr["line"], f.get("file"), f.get("line")))
    print("%s dotnet-dump-clrstack lines %d/%d" % (args.name or "report", c, d))
    for x in details:
        print(x)
    if c < d:
        print("FAILED: lines %d/%d" % (c, d))
        return 1
    return 0


# ---------------------------------------------------------------- negative control

def doctor_main(args):
    """doctor REPORT -o OUT: the report with one frame fewer where check-stderr looks: the
    last frame of the exception's "stack" and the crashed thread's last managed frame. A
    check that still passes on it cannot fail (the tests run it after a pass)."""
    doc = json.loads(read_bytes(args.report).decode("utf-8", errors="replace"))
    exc = doc.get("exception")
    if isinstance(exc, dict) and isinstance(exc.get("stack"), list) and exc["stack"]:
        exc["stack"].pop()
    t = _report_crashed_thread(doc)
    if t and t.get("frames"):
        idx = [k for k, f in enumerate(t["frames"]) if f.get("kind") == "managed"]
        if idx:
            del t["frames"][idx[-1]]
    with open(args.output, "w") as f:
        json.dump(doc, f)
    return 0


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
    p = sub.add_parser("runtime-stderr")
    p.add_argument("file")
    p.add_argument("-o", "--output")
    p = sub.add_parser("check-stderr")
    p.add_argument("stderr")
    p.add_argument("report")
    p.add_argument("--name", default="")
    p.add_argument("--oracle", default="stderr", help="the word for the oracle in the agreement line")
    p = sub.add_parser("check-lines")
    p.add_argument("clrstack")
    p.add_argument("report")
    p.add_argument("--name", default="")
    p = sub.add_parser("doctor")
    p.add_argument("report")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("check-pe")
    p.add_argument("pe")
    p.add_argument("report")
    p.add_argument("--name", default="")
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
    p.add_argument("--aggregate-inner", action="append", default=[])
    p.add_argument("--managed-name")
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
        if args.cmd == "check-lines":
            return check_lines_main(args)
        if args.cmd == "doctor":
            return doctor_main(args)
        if args.cmd == "check-pe":
            return check_pe_main(args)
        if args.cmd == "check-stderr":
            return check_stderr_main(args)
        if args.cmd == "runtime-stderr":
            res = parse_runtime_stderr(read_bytes(args.file).decode("utf-8", errors="replace"))
            text = json.dumps(res, indent=1 if len(res.get("frames") or []) <= 2000 else None)
            if args.output:
                with open(args.output, "w") as f:
                    f.write(text + "\n")
            else:
                sys.stdout.write(text + "\n")
            return 0
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
