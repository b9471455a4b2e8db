#!/usr/bin/python3
"""followtime.py STORE_DIR SPOOL CRASHER: run CRASHER once (it must crash), and time from
its fault (the CLOCK_MONOTONIC time the crasher writes to BENCH_TS_FD just before it, see
bench/crashers/crasher.c) to (1) systemd-coredump's stored core.*.PID.*.zst appearing in
STORE_DIR, (2) crashpipe follow's report *-PID-*.json.zst appearing in SPOOL. Polls both
directories every millisecond; (3) the time systemd-coredump's journal entry of the crash
carries (its __REALTIME_TIMESTAMP, moved to CLOCK_MONOTONIC), when journald received it: what
follow waits for. Prints "PID STORED_MS REPORT_MS LOGGED_MS"; exits 1 on a timeout (60 s)."""
import json
import os
import struct
import subprocess
import sys
import time

store, spool, crasher = sys.argv[1:4]
r, w = os.pipe()
env = dict(os.environ, BENCH_TS_FD=str(w))
p = subprocess.Popen([crasher], env=env, pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     preexec_fn=lambda: __import__("resource").setrlimit(
                         __import__("resource").RLIMIT_CORE, (-1, -1)))
os.close(w)
ts = os.read(r, 16)
os.close(r)
sec, nsec = struct.unpack("qq", ts)
t0 = sec + nsec / 1e9
pid = p.pid
stored = report = None
deadline = time.monotonic() + 60
while (stored is None or report is None) and time.monotonic() < deadline:
    now = time.monotonic()
    if stored is None and any(n.startswith("core.") and f".{pid}." in n and n.endswith(".zst")
                              for n in os.listdir(store)):
        stored = now
    if report is None and any(f"-{pid}-" in n and n.endswith(".json.zst") for n in os.listdir(spool)):
        report = now
    time.sleep(0.001)
p.wait()
if stored is None or report is None:
    print(f"{pid} timeout stored={stored} report={report}", file=sys.stderr)
    sys.exit(1)
offset = time.time() - time.monotonic()
out = subprocess.run(["journalctl", "-q", "-o", "json", "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1",
                      f"COREDUMP_PID={pid}"], capture_output=True, text=True).stdout.splitlines()
logged = int(json.loads(out[-1])["__REALTIME_TIMESTAMP"]) / 1e6 - offset if out else float("nan")
print(f"{pid} {(stored - t0) * 1000:.1f} {(report - t0) * 1000:.1f} {(logged - t0) * 1000:.1f}")
