#!/usr/bin/env python3
"""check-strace.py - what `crashpipe handle` did to the file system, from `strace -f -y`.

Usage: check-strace.py LOG --allow-write PREFIX... [--forbid PREFIX...] [--expect-write PREFIX]

Fails (exit 1, one line per offence) when the traced handler
  - opened anything for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_TMPFILE, creat) outside
    the --allow-write prefixes (the spool, the debuginfo cache) and /dev/null, /dev/kmsg, and
    /run/crashpipe/gate (the analysis slots, root's own directory: src/gate.h)
    (threats T05, T17: never under /proc/PID/cwd, /proc/PID/root, /tmp, /var/tmp, ...);
  - changed a file's mode or owner by path (chmod, fchmodat, chown, lchown, fchownat) or
    renamed or linked by path (rename, link, symlink, and renameat/renameat2/linkat/
    symlinkat/unlinkat whose target directory is AT_FDCWD): T04, only fds may be used;
  - opened for reading any path under a --forbid prefix;
and, with --expect-write, when nothing was opened for writing under that prefix (so that a
log of a run that wrote nothing cannot pass).
"""
import argparse
import os
import re
import sys

CALL = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)(<([^>]*)>)?')
FD = re.compile(r'^(AT_FDCWD|-?\d+)(<([^>]*)>)?$')
WRITE_FLAGS = ('O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_TRUNC', 'O_TMPFILE')
PATH_ATTR = {'chmod', 'fchmodat', 'fchmodat2', 'chown', 'lchown', 'fchownat', 'chown32', 'lchown32',
             'rename', 'link', 'symlink', 'truncate', 'utime', 'utimes'}
# call -> index of the directory fd argument of the (new) name
AT_TARGET = {'renameat': 2, 'renameat2': 2, 'linkat': 2, 'symlinkat': 1, 'unlinkat': 0}


def split_args(s):
    """Split strace's argument text at top-level commas."""
    out, depth, cur, in_str, esc = [], 0, '', False, False
    for c in s:
        if in_str:
            cur += c
            if esc:
                esc = False
            elif c == '\\':
                esc = True
            elif c == '"':
                in_str = False
            continue
        if c == '"':
            in_str = True
            cur += c
        elif c in '{[<':
            depth += 1
            cur += c
        elif c in '}]>':
            depth -= 1
            cur += c
        elif c == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


def unquote(s):
    if s.startswith('"'):
        s = s[1:]
        if s.endswith('...'):
            s = s[:-3]
        if s.endswith('"'):
            s = s[:-1]
    return s.encode('latin-1', 'replace').decode('unicode_escape', 'replace')


def fd_dir(arg):
    m = FD.match(arg)
    if not m:
        return None, None
    return m.group(1), m.group(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('log')
    ap.add_argument('--allow-write', action='append', default=[])
    ap.add_argument('--forbid', action='append', default=[])
    ap.add_argument('--expect-write')
    a = ap.parse_args()
    allow = [os.path.normpath(p) for p in a.allow_write] + ['/dev/null', '/dev/kmsg', '/run/crashpipe/gate']
    bad, wrote_expected, calls = [], False, 0
    with open(a.log, errors='replace') as f:
        for line in f:
            m = CALL.match(line)
            if not m:
                continue
            calls += 1
            name, args, ret, retpath = m.group(2), split_args(m.group(3)), int(m.group(4)), m.group(6)
            if name in ('open', 'openat', 'openat2', 'creat'):
                if name == 'open' or name == 'creat':
                    d, dpath, path, flags = 'AT_FDCWD', None, unquote(args[0]), args[1] if len(args) > 1 else ''
                else:
                    d, dpath = fd_dir(args[0])
                    path = unquote(args[1])
                    flags = args[2] if len(args) > 2 else ''
                if name == 'creat':
                    flags = 'O_CREAT|O_WRONLY'
                if dpath and not path.startswith('/'):
                    full = os.path.normpath(os.path.join(dpath, path))
                else:
                    full = os.path.normpath(path)
                target = retpath if ret >= 0 and retpath else full
                target = re.sub(r' \(deleted\)$', '', target)
                writes = any(w in flags for w in WRITE_FLAGS)
                if writes:
                    if any(target == p or target.startswith(p + '/') for p in allow):
                        if a.expect_write and (target + '/').startswith(os.path.normpath(a.expect_write) + '/'):
                            wrote_expected = wrote_expected or ret >= 0
                        continue
                    bad.append(f'opened for writing outside the allowed directories: {line.strip()}')
                    continue
                for p in a.forbid:
                    if full.startswith(p) or target.startswith(p):
                        bad.append(f'opened a forbidden path: {line.strip()}')
            elif name in PATH_ATTR:
                bad.append(f'path-based {name}: {line.strip()}')
            elif name in AT_TARGET:
                d, _ = fd_dir(args[AT_TARGET[name]]) if len(args) > AT_TARGET[name] else (None, None)
                if d == 'AT_FDCWD':
                    bad.append(f'{name} by path (AT_FDCWD): {line.strip()}')
    if calls == 0:
        bad.append(f'{a.log}: no system calls in the log')
    if a.expect_write and not wrote_expected:
        bad.append(f'nothing was written under {a.expect_write}')
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
