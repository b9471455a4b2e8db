#!/usr/bin/env python3
"""check-same-stacks.py - two crashpipe reports (plain JSON) describe the same core: the same
threads in the same order, each with the same frame addresses (ip, sp) and functions.

usage: check-same-stacks.py A.json B.json      exit 0 when they agree, 1 (saying where) if not
"""
import json
import sys


def stacks(path):
    with open(path) as f:
        doc = json.load(f)
    return [(t["tid"], [(fr.get("ip"), fr.get("sp"), fr.get("function")) for fr in t.get("frames", [])])
            for t in doc["threads"]]


def main():
    a, b = stacks(sys.argv[1]), stacks(sys.argv[2])
    if [t for t, _ in a] != [t for t, _ in b]:
        print(f"threads differ: {[t for t, _ in a]} vs {[t for t, _ in b]}")
        return 1
    for (tid, fa), (_, fb) in zip(a, b):
        if fa != fb:
            print(f"thread {tid}: frames differ:\n  {fa[:4]}\n  {fb[:4]}")
            return 1
    if not a or not a[0][1]:
        print("no frames at all")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
