#!/usr/bin/env python3
# syslog-listen.py SOCKET OUT READY - a syslog receiver for tests/run-syslog.sh: binds the
# datagram socket SOCKET (glibc's syslog() writes to /dev/log), touches READY, and appends
# every message it receives, one per line, to OUT until it is killed.
import os
import socket
import sys

path, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(ready, "w").close()
with open(out, "ab", buffering=0) as f:
    while True:
        data = s.recv(65536)
        f.write(data.replace(b"\n", b" ") + b"\n")
