# gdb-lines.py - the gdb oracle for the symbols and lines of crashpipe's native frames.
#
# Loads a core in gdb and writes, per thread, each physical frame's PC, function name and
# source line as JSON:
#   {"crashed": TID,
#    "threads": [{"tid": TID, "frames": [{"pc": "0x...", "function": NAME|null,
#                                         "start": "0x..."|null, "file": PATH|null,
#                                         "line": N|null}, ...]}]}
# Physical frames only, as in gdb-frames.py (inline and tail-call frames skipped). The line
# is gdb's find_sal() of the frame: of the PC for frame 0 and a frame a signal interrupted,
# of the call (PC - 1) for every other frame, as a report's file and line are. The function
# is the frame's function (its DWARF name, else the ELF symbol's).
#
# Run (gdb >= 8, Python), with the files given the same way as to crashpipe:
#   gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set sysroot /nonexistent' \
#       -ex 'set solib-search-path DIR' -ex 'py out_path = "gdb.json"' -x gdb-lines.py EXE CORE
import json

import gdb

try:
    max_frames  # noqa: F821 (set by the caller with -ex 'py max_frames = N')
except NameError:
    max_frames = 256
try:
    out_path  # noqa: F821
except NameError:
    out_path = None

gdb.execute("set backtrace past-main on")
gdb.execute("set backtrace limit %d" % (4 * max_frames + 64))
SKIP = (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME)


def function_name(frame):
    fn = frame.function()
    return fn.name if fn is not None else frame.name()


def function_start(frame):
    # The start of the frame's function (of its outermost block, past inlined ones), for
    # telling another name of the same function (an alias: __libc_start_main for glibc's
    # __libc_start_main_impl) from another function.
    try:
        block = frame.block()
    except RuntimeError:
        return None
    while block is not None and block.function is None:
        block = block.superblock
    return "0x%x" % block.start if block is not None else None


def thread_frames(thread):
    thread.switch()
    frames = []
    frame = gdb.newest_frame()
    while frame is not None and len(frames) < max_frames:
        if frame.type() not in SKIP:
            sal = frame.find_sal()
            path = sal.symtab.filename if sal is not None and sal.symtab is not None else None
            frames.append({"pc": "0x%x" % frame.pc(), "function": function_name(frame),
                           "start": function_start(frame),
                           "file": path, "line": sal.line if path and sal.line else None})
        frame = frame.older()
    return {"tid": thread.ptid[1], "frames": frames}


def main():
    selected = gdb.selected_thread()
    crashed = selected.ptid[1] if selected is not None else None
    threads = [thread_frames(t) for t in gdb.selected_inferior().threads()]
    threads.sort(key=lambda t: (t["tid"] != crashed, t["tid"]))
    text = json.dumps({"crashed": crashed, "threads": threads}, indent=1)
    if out_path:
        with open(out_path, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


main()
