#!/usr/bin/python3
"""check-journal.py ENTRY.json FIELD=VALUE|FIELD~SUBSTRING|FIELD... : check a journal
entry (one line of `journalctl -o json`): FIELD=VALUE exact, FIELD~TEXT contains TEXT,
FIELD present. Binary values (journalctl's arrays of bytes) are decoded. Prints every
mismatch, exit 1 on any."""
import json
import sys

with open(sys.argv[1]) as f:
    entry = json.loads(f.read())


def value(v):
    if isinstance(v, list) and all(isinstance(x, int) for x in v):
        return bytes(v).decode("utf-8", "replace")
    return v


bad = []
for spec in sys.argv[2:]:
    for op in ("=", "~"):
        if op in spec:
            name, want = spec.split(op, 1)
            break
    else:
        name, op, want = spec, None, None
    if name not in entry:
        bad.append(f"no field {name}")
        continue
    got = value(entry[name])
    if not isinstance(got, str):
        bad.append(f"{name} is not one string: {got!r}")
    elif op == "=" and got != want:
        bad.append(f"{name}={got!r}, expected {want!r}")
    elif op == "~" and want not in got:
        bad.append(f"{name}={got[:300]!r} does not contain {want!r}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
