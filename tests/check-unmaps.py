#!/usr/bin/env python3
"""check-unmaps.py - read an `strace -f -e trace=mmap,munmap,mremap` log and fail when any
process unmaps a range twice without mapping it again in between: the libunwind bug
(upstream issue 738) that frees memory another part of the program (the DAC) was given
since. Prints one line per violation and a summary; exit 1 on any violation.

A forked child starts with its parent's view, since it shares the history up to fork."""
import re
import sys

line_re = re.compile(r'^(?:\[pid\s+)?(\d+)\]?\s+(mmap|munmap|mremap)\((.*)\)\s+=\s+(\S+)')
resumed_re = re.compile(r'^(?:\[pid\s+)?(\d+)\]?\s+<\.\.\. (mmap|munmap|mremap) resumed>(.*)\)\s+=\s+(\S+)')
unfinished_re = re.compile(r'^(?:\[pid\s+)?(\d+)\]?\s+(mmap|munmap|mremap)\((.*) <unfinished \.\.\.>')
clone_re = re.compile(r'^(?:\[pid\s+)?(\d+)\]?\s+(?:clone|clone3|fork|vfork)\(.*\)\s+=\s+(\d+)')

def subtract(intervals, lo, hi):
    out = []
    for a, b in intervals:
        if b <= lo or a >= hi:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo))
        if b > hi:
            out.append((hi, b))
    return out

def overlaps(intervals, lo, hi):
    return [(a, b) for a, b in intervals if a < hi and b > lo]

def num(s):
    s = s.strip()
    return int(s, 0)

def pages(n):
    """The kernel maps and unmaps whole pages."""
    return (n + 4095) & ~4095

def main(path):
    freed = {}      # pid -> freed-and-not-remapped intervals
    pending = {}    # pid -> (call, args) of an unfinished call
    violations = 0
    calls = 0
    with open(path, errors='replace') as f:
        for raw in f:
            m = clone_re.match(raw)
            if m:
                parent, child = m.group(1), m.group(2)
                freed[child] = list(freed.get(parent, []))
                continue
            m = unfinished_re.match(raw)
            if m:
                pending[m.group(1)] = (m.group(2), m.group(3))
                continue
            m = resumed_re.match(raw)
            if m:
                pid = m.group(1)
                if pid not in pending:
                    continue
                call, args = pending.pop(pid)
                args = args + m.group(3)
                ret = m.group(4)
            else:
                m = line_re.match(raw)
                if not m:
                    continue
                pid, call, args, ret = m.group(1), m.group(2), m.group(3), m.group(4)
            if ret.startswith('-1') or ret == '?':
                continue
            a = [x.strip() for x in args.split(',')]
            fl = freed.setdefault(pid, [])
            calls += 1
            try:
                if call == 'mmap':
                    addr, length = num(ret), pages(num(a[1]))
                    freed[pid] = subtract(fl, addr, addr + length)
                elif call == 'munmap':
                    addr, length = num(a[0]), pages(num(a[1]))
                    bad = overlaps(fl, addr, addr + length)
                    if bad:
                        violations += 1
                        print('pid %s: munmap(0x%x, %d) unmaps again %s, freed before and not mapped since'
                              % (pid, addr, length, ', '.join('0x%x-0x%x' % ab for ab in bad)))
                    freed[pid] = subtract(fl, addr, addr + length) + [(addr, addr + length)]
                elif call == 'mremap':
                    old, oldlen, newlen, new = num(a[0]), pages(num(a[1])), pages(num(a[2])), num(ret)
                    fl = subtract(fl, new, new + newlen)
                    if new != old:
                        fl = fl + [(old, old + oldlen)]
                    freed[pid] = fl
            except (ValueError, IndexError):
                continue
    print('%d mmap/munmap/mremap calls checked, %d double unmaps' % (calls, violations))
    return 1 if violations else 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
