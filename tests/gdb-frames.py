# gdb-frames.py - the gdb oracle for crashpipe's native frames.
#
# Loads a core in gdb and writes, per thread, the physical frames' PCs as JSON:
#   {"crashed": TID, "signal": N|null,
#    "threads": [{"tid": TID, "frames": ["0x...", ...], "sps": ["0x...", ...],
#                 "names": [NAME|null, ...], "stop": "why gdb stopped unwinding"}]}
# "frames" is what tests/compare-frames.py compares with a report's "ip" lists, "sps" (each
# frame's $sp, the stack pointer in that frame once its callee has returned) with the
# "sp"s; "names" (gdb's name for each physical frame) and "stop" make differences readable.
#
# Physical frames only: gdb's synthetic frames are skipped, i.e. INLINE_FRAME (a function
# inlined into the next frame out, which has the same PC) and TAILCALL_FRAME (a caller
# reconstructed from DWARF call-site info, never on the stack).  SIGTRAMP_FRAME
# (__restore_rt) is a real frame and is kept.  frame.pc() is the PC for frame 0 and for a
# frame interrupted by a signal, the return address for every other frame -- the spec's
# definition of a report frame's "ip".
#
# With -ex 'py inline_frames = True' each thread also gets "all": every frame gdb shows,
# inline ones included, innermost first, as {"pc": "0x...", "inline": bool, "function":
# NAME|null, "file": FILE|null, "line": N|null} (the function as gdb's frame.name(), the
# file as its symtab names it, the line as find_sal() gives it: for a frame with inlined
# callees, the call site); max_frames counts physical frames there too.  The default
# output stays physical-only.
#
# Run (gdb >= 8, Python):
#   gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
#       -ex 'py max_frames = 256' -ex 'py out_path = "gdb.json"' -x gdb-frames.py PROG CORE
# max_frames (default 256) caps the physical frames per thread, like crashpipe --max-frames;
# out_path (default: stdout) names the output file.  gdb's own chatter goes to stdout too,
# so give out_path when the output is parsed.
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
try:
    inline_frames  # noqa: F821 (set by the caller with -ex 'py inline_frames = True')
except NameError:
    inline_frames = False

# backtrace limit counts inline frames too; leave room for them (we stop by count below).
gdb.execute("set backtrace past-main on")
gdb.execute("set backtrace past-entry on")
gdb.execute("set backtrace limit %d" % (4 * max_frames + 64))

SKIP = (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME)


def thread_frames(thread):
    thread.switch()
    frames, sps, names, stop, every = [], [], [], None, []
    frame = gdb.newest_frame()
    while frame is not None and len(frames) < max_frames:
        if inline_frames and frame.type() != gdb.TAILCALL_FRAME:
            sal = frame.find_sal()
            every.append({"pc": "0x%x" % frame.pc(), "inline": frame.type() == gdb.INLINE_FRAME,
                          "function": frame.name(),
                          "file": sal.symtab.filename if sal.symtab is not None else None,
                          "line": sal.line or None})
        if frame.type() not in SKIP:
            frames.append("0x%x" % frame.pc())
            sps.append("0x%x" % (int(frame.read_register("sp")) & 0xFFFFFFFFFFFFFFFF))
            names.append(frame.name())
        older = frame.older()
        if older is None:
            reason = frame.unwind_stop_reason()
            stop = gdb.frame_stop_reason_string(reason)
        frame = older
    if frame is not None:
        stop = "max_frames (%d) reached" % max_frames
    t = {"tid": thread.ptid[1], "frames": frames, "sps": sps, "names": names, "stop": stop}
    if inline_frames:
        t["all"] = every
    return t


def main():
    inferior = gdb.selected_inferior()
    selected = gdb.selected_thread()  # the thread that took the signal, for a core
    crashed = selected.ptid[1] if selected is not None else None
    try:
        signal = int(gdb.parse_and_eval("$_siginfo.si_signo"))
    except gdb.error:
        signal = None
    threads = [thread_frames(t) for t in inferior.threads()]
    threads.sort(key=lambda t: (t["tid"] != crashed, t["tid"]))
    text = json.dumps({"crashed": crashed, "signal": signal, "threads": threads}, indent=1)
    if out_path:
        with open(out_path, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


main()
