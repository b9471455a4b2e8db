#!/usr/bin/env python3
"""check-runtime-frames.py - the frames the .NET runtime printed for an unhandled exception
(its "   at Type.Method(Params) in File:line N" lines on stderr, the oracle) against crashpipe's.

usage:
  check-runtime-frames.py text RUNTIME.out FILE [--after MARKER] [--name NAME]
      FILE is text (coredumpctl info's output, or a journal entry's MESSAGE when FILE ends in
      .json: one line of `journalctl -o json`): every frame the runtime printed,
      "Type.Method(Params)", appears on its own line, in the runtime's order, after the first
      line containing MARKER (default "Stack trace of thread")
  check-runtime-frames.py report RUNTIME.out REPORT.json [--name NAME]
      the crashed thread's managed frames of a crashpipe report (plain JSON): each frame
      the runtime printed is one of them ("display" the runtime's text, else "function"),
      in order
  check-runtime-frames.py same A.json B.json [--name NAME]
      two reports have the same crashed-thread managed frames (function, display, il_offset)

Prints "frames NAME: M/N" (M of the runtime's N frames found in order) and exits 1 unless all
are found (or, for same, unless the two lists are equal and not empty).
"""
import json
import re
import sys

AT = re.compile(r"^\s+at (\S.*?\))(?: in .*)?$")


def runtime_frames(path):
    """The "at" lines of the runtime's unhandled-exception trace, as printed."""
    frames, inside = [], False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("Unhandled exception."):
                inside = True
                continue
            if inside:
                m = AT.match(line)
                if m:
                    frames.append(m.group(1))
    return frames


def in_order(want, have, match):
    """How many of want are found in have in order (greedy), and the first one missing."""
    i, found, missing = 0, 0, None
    for w in want:
        j = i
        while j < len(have) and not match(w, have[j]):
            j += 1
        if j == len(have):
            missing = missing or w
            continue
        found, i = found + 1, j + 1
    return found, missing


def text_lines(path, marker):
    if path.endswith(".json"):
        with open(path) as f:
            v = json.loads(f.read()).get("MESSAGE", "")
        if isinstance(v, list):
            v = bytes(v).decode("utf-8", "replace")
        lines = v.split("\n")
    else:
        with open(path, errors="replace") as f:
            lines = f.read().split("\n")
    for k, line in enumerate(lines):
        if marker in line:
            return lines[k + 1:]
    return []


def crashed_managed(path):
    with open(path) as f:
        doc = json.load(f)
    crashed = [t for t in doc.get("threads", []) if t.get("crashed")]
    if not crashed:
        return []
    return [fr for fr in crashed[0].get("frames", []) if fr.get("kind") == "managed"]


def main():
    args = sys.argv[1:]
    name, marker = "", "Stack trace of thread"
    if "--name" in args:
        k = args.index("--name")
        name = args[k + 1]
        del args[k:k + 2]
    if "--after" in args:
        k = args.index("--after")
        marker = args[k + 1]
        del args[k:k + 2]
    if len(args) != 3 or args[0] not in ("text", "report", "same"):
        sys.exit(__doc__)
    mode, a, b = args

    if mode == "same":
        fa = [(f.get("function"), f.get("display"), f.get("il_offset")) for f in crashed_managed(a)]
        fb = [(f.get("function"), f.get("display"), f.get("il_offset")) for f in crashed_managed(b)]
        print(f"frames {name}: {len(fa)} managed frames vs {len(fb)}")
        if not fa or fa != fb:
            print(f"  {fa[:6]}\n  {fb[:6]}")
            return 1
        return 0

    want = runtime_frames(a)
    if not want:
        print(f"frames {name}: the runtime printed no 'at' lines in {a}")
        return 1
    if mode == "text":
        have = text_lines(b, marker)

        def match(w, line):
            # the frame's text followed by its module ("(", " [") or the line's end
            k = line.find(" " + w)
            return k >= 0 and line[k + 1 + len(w):][:2] in ("", " (", " [")
    else:
        have = crashed_managed(b)

        def match(w, fr):
            return w in (fr.get("display"), fr.get("function"))
    found, missing = in_order(want, have, match)
    print(f"frames {name}: {found}/{len(want)}" + (f" (missing, in order: {missing})" if missing else ""))
    if found != len(want):
        for h in have[:12]:
            print(f"  have: {h if isinstance(h, str) else (h.get('display'), h.get('function'))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
