#!/usr/bin/env python3
"""check-unwinders.py - a report's native frames: the program's functions, and who unwound them.

usage: check-unwinders.py REPORT WANT [UNWINDER]

WANT      the functions expected, per thread, as "f,g,h;x,y": the crashed thread's frames
          must hold f, g, h in that order (others may be between them, "*" is any one
          frame), and some other thread's x, y.
UNWINDER  when given, some frame of the report must say it was produced by it.

Every native frame but a thread's frame 0 (its registers) must say which unwinder
produced it ("unwinder": "libunwind", "libdwfl", "frame-pointer" or "signal-frame");
frame 0 says none.
Exit 1 when something differs (printed), 2 on bad input.
"""
import json
import sys

UNWINDERS = ("libunwind", "libdwfl", "frame-pointer", "signal-frame")


def has_in_order(names, want):
    i = 0
    for w in want:
        if w == "*":
            i += 1
            continue
        while i < len(names) and names[i] != w:
            i += 1
        if i == len(names):
            return False
        i += 1
    return True


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            rep = json.load(f)
        threads = rep["threads"]
    except (OSError, ValueError, KeyError) as e:
        print("check-unwinders: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 2
    wants = [w.split(",") for w in sys.argv[2].split(";")]
    errors = []
    seen = set()
    for t in threads:
        frames = [f for f in t.get("frames") or [] if f.get("kind", "native") == "native"]
        for i, f in enumerate(frames):
            u = f.get("unwinder")
            if i == 0 and u is not None:
                errors.append("thread %s: frame 0 says unwinder %r" % (t["tid"], u))
            elif i > 0 and u not in UNWINDERS:
                errors.append("thread %s frame %d (%s): unwinder %r" % (t["tid"], i, f.get("function"), u))
            seen.add(u)
    names = {t["tid"]: [f.get("function") for f in t.get("frames") or []] for t in threads}
    crashed = [t["tid"] for t in threads if t.get("crashed")]
    if not crashed or not has_in_order(names[crashed[0]], wants[0]):
        errors.append("crashed thread: functions %r lack %r" % (names.get(crashed[0]) if crashed else None, wants[0]))
    for w in wants[1:]:
        if not any(has_in_order(n, w) for tid, n in names.items() if tid not in crashed):
            errors.append("no other thread has %r: %r" % (w, [n for tid, n in names.items() if tid not in crashed]))
    if len(sys.argv) == 4 and sys.argv[3] and sys.argv[3] not in seen:
        errors.append("no frame was produced by %s (unwinders seen: %r)" % (sys.argv[3], sorted(map(str, seen))))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
