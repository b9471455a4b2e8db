#!/usr/bin/env python3
"""check-export.py - `crashpipe export` output checked against the report it came from.

usage: check-export.py createdump EXPORT.json REPORT.json
       check-export.py otlp EXPORT.json REPORT.json [REPORT.json...]

createdump: valid JSON in createdump's *.crashreport.json shape (payload.protocol_version,
configuration.architecture, threads with native_thread_id, ctx.IP/SP and stack_frames;
values as createdump writes them: strings, hex as "0x..."), one thread per report thread with
the same tids, exactly one crashed (the report's), its frames' native_address the report's ips.
otlp: valid OTLP/JSON logs (resourceLogs[].scopeLogs[].logRecords[]), one record per report,
with exception.type / exception.message / exception.stacktrace attributes (the .NET exception
type, else the signal name), crashpipe.signature (the report's, 16 hex digits), process.pid and service.name resource attributes, severity FATAL,
and a stack trace that names the crashed thread's first function.
Prints every failed check; exit 1 if any failed.
"""
import json
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def crashed(report):
    ts = [t for t in report["threads"] if t.get("crashed")]
    return ts[0] if ts else report["threads"][0]


def is_hex(s):
    return isinstance(s, str) and s.startswith("0x") and all(c in "0123456789abcdef" for c in s[2:]) and len(s) > 2


def physical(frames):
    return [f for f in frames if f.get("kind") != "inline"]


def createdump(doc, report):
    p = doc.get("payload", {})
    check(p.get("protocol_version") == "1.0.0", "payload.protocol_version")
    check(p.get("configuration", {}).get("architecture") == "amd64", "configuration.architecture")
    check(str(p.get("configuration", {}).get("version", "")).endswith(" "), "configuration.version ends in a space")
    threads = p.get("threads", [])
    check([int(t["native_thread_id"], 16) for t in threads] == [t["tid"] for t in report["threads"]],
          "threads' native_thread_id are the report's tids")
    c = [t for t in threads if t.get("crashed") == "true"]
    check(len(c) == 1 and int(c[0]["native_thread_id"], 16) == crashed(report)["tid"], "one crashed thread, the report's")
    for t, rt in zip(threads, report["threads"]):
        check(t.get("is_managed") in ("true", "false"), "is_managed is createdump's string")
        check(is_hex(t.get("ctx", {}).get("IP")) and is_hex(t.get("ctx", {}).get("SP")), "ctx.IP/SP hex")
        fr = t.get("stack_frames", [])
        check([int(f["native_address"], 16) for f in fr] == [int(f["ip"], 16) for f in physical(rt["frames"])],
              f"thread {rt['tid']}: native_address are the report's ips")
        for f in fr:
            check(all(is_hex(f.get(k)) for k in ("module_address", "stack_pointer", "native_address", "native_offset")),
                  "frame addresses hex")
            if f.get("is_managed") == "true":
                check(is_hex(f.get("token")), "managed frame token")
    if c and c[0]["stack_frames"]:
        top = [f for f in physical(crashed(report)["frames"]) if f.get("function")]
        names = [f.get("unmanaged_name") or f.get("method_name") for f in c[0]["stack_frames"]]
        check(not top or top[0]["function"] in names, "crashed thread's first function named")
    check("ExceptionType" in doc.get("parameters", {}), "parameters.ExceptionType")


def otlp(doc, reports):
    rls = doc.get("resourceLogs", [])
    check(len(rls) == len(reports), f"{len(rls)} resourceLogs for {len(reports)} reports")
    for rl, report in zip(rls, reports):
        res = {a["key"]: a["value"] for a in rl["resource"]["attributes"]}
        check(res.get("process.pid", {}).get("intValue") == str(report["process"]["pid"]), "process.pid")
        check("stringValue" in res.get("service.name", {}), "service.name")
        recs = rl["scopeLogs"][0]["logRecords"]
        check(len(recs) == 1, "one log record per crash")
        rec = recs[0]
        check(rec.get("severityNumber") == 21 and rec.get("severityText") == "FATAL", "severity FATAL")
        attrs = {a["key"]: a["value"].get("stringValue") for a in rec["attributes"]}
        t = crashed(report)
        exc = t.get("exception")
        want = exc["type"] if exc else report["process"].get("signal_name")
        check(attrs.get("exception.type") == want, f"exception.type {attrs.get('exception.type')!r}, expected {want!r}")
        check(attrs.get("exception.message") is not None, "exception.message")
        st = attrs.get("exception.stacktrace") or ""
        top = [f for f in t["frames"] if f.get("function")]
        check(bool(st) and (not top or top[0]["function"] in st), "exception.stacktrace names the first function")
        sig = attrs.get("crashpipe.signature")
        check(sig is not None and len(sig) == 16 and (report.get("signature") in (None, sig)),
              f"crashpipe.signature {sig!r}, the report's {report.get('signature')!r}")
        if exc and exc.get("message"):
            check(attrs.get("exception.message") == exc["message"], "exception.message is the exception's")


def main():
    kind, export = sys.argv[1], sys.argv[2]
    reports = [json.load(open(p)) for p in sys.argv[3:]]
    try:
        doc = json.load(open(export))
    except ValueError as e:
        print(f"{export}: not valid JSON: {e}")
        return 1
    if kind == "createdump":
        createdump(doc, reports[0])
    else:
        otlp(doc, reports)
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
