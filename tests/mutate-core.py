#!/usr/bin/env python3
"""mutate-core.py - hostile variants of one real x86_64 kernel core, and their verdicts.

usage: mutate-core.py make CORE OUTDIR [--plant-dir DIR] [--fuzz N] [--seed N] [--every K]
                           [--fuzz-stack]
       mutate-core.py check RESULTS
       mutate-core.py cycle CORE OUT LENGTH
       mutate-core.py threads CORE OUT N

make: writes OUTDIR/<name> for every mutant and OUTDIR/MANIFEST, one line per mutant:
"<name>\t<expect>\t<what was done>". expect is "ok" for the controls (an intact core,
plain or zstd: they must give a full report) and "any" for the rest (a report, partial or
not, or a clean error). With --plant-dir, some mutants rename a file mapping in NT_FILE
to a hostile file planted there (a FIFO, a directory, a symlink to /dev/zero, a 1 TiB
sparse file, a truncated or foreign ELF): the caller removes DIR afterwards. With --every K,
only every K-th of the structural mutants is made (the controls and the --fuzz ones all are):
a sample of them for a corpus of many cores. With --fuzz-stack, half of each random
mutant's edits land in the crashed thread's stack (its first 16 KiB above the sp) instead of
the file's first 64 KiB: what the unwinders read.

threads: writes OUT, CORE with the crashed thread's NT_PRSTATUS repeated N more times, each
copy with a new tid (the first thread's + 1, + 2, ...): N more threads that share its
registers and stack. The notes move to a new PT_NOTE at the end of the file, the program
headers with them (e_phoff), the memory stays where it is. A thread-count amplifier: each
copy costs the analysis a whole unwind of the crashed thread.

cycle: writes OUT, CORE with the crashed thread's frame-pointer chain bent into a cycle of
LENGTH frames (see stack_cycle): some frame N then repeats frame N - LENGTH. The crashed
thread's code must keep frame pointers (its CFI then computes each CFA from %rbp) over
LENGTH + 1 frames; exit 1 when the chain is too short.

check: RESULTS has one directory per run (see run-hostile.sh) holding "cmd" (the command
line, one argument a line: the mutant path is the one named by "target"), "expect", "rc",
"stderr" and "out.json" if one was written. The rules:
  - never a signal or a timeout: rc > 128, or 124 from timeout(1), is a failure; so is a
    report whose notes say that analyze's analysis child crashed, ran out of time, failed
    or sent a report that was refused;
  - rc 0: out.json is valid UTF-8 JSON with schema crashpipe/1 and every member that
    crashpipe-report(5) lists, with the documented type;
  - rc 1: stderr is exactly one line "crashpipe: NAME: ..." naming the file (or "-");
  - any other rc is a failure; controls must give rc 0 with partial false.
Prints every failure and a summary; exit 1 if anything failed.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import sys

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_PRFPREG, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_SIGINFO, NT_FILE = 0x53494749, 0x46494C45
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
U64MAX = (1 << 64) - 1
# Offsets inside the x86_64 elf_prstatus: pr_pid, then pr_reg (struct user_regs_struct).
PRSTATUS_PID = 32
PRSTATUS_REG = 112
REGS = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
        "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base",
        "gs_base", "ds", "es", "fs", "gs"]
# elf_prpsinfo: pr_pid at 24, pr_fname[16] at 40, pr_psargs[80] at 56.
PRPSINFO_PID, PRPSINFO_FNAME, PRPSINFO_PSARGS = 24, 40, 56


class Core:
    """The parts of a core that the mutants aim at, with their file offsets."""

    def __init__(self, data):
        self.data = data
        (ident, self.e_type, self.e_machine, _, _, self.e_phoff, self.e_shoff, _, _,
         self.e_phentsize, self.e_phnum, _, _, _) = EHDR.unpack_from(data, 0)
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or self.e_type != 4 or self.e_machine != 62:
            raise SystemExit("mutate-core.py: not an x86_64 ELF core")
        self.phdrs = []		# (offset of the phdr, type, p_offset, vaddr, filesz, memsz)
        for i in range(self.e_phnum):
            off = self.e_phoff + i * self.e_phentsize
            p_type, _, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = PHDR.unpack_from(data, off)
            self.phdrs.append((off, p_type, p_offset, p_vaddr, p_filesz, p_memsz))
        self.notes = []		# dicts: hdr, type, namesz, descsz, name, desc (offsets)
        for _, p_type, p_offset, _, p_filesz, _ in self.phdrs:
            if p_type != PT_NOTE:
                continue
            pos, end = p_offset, p_offset + p_filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
                name = pos + 12
                desc = name + ((namesz + 3) & ~3)
                self.notes.append(dict(hdr=pos, type=ntype, namesz=namesz, descsz=descsz,
                                       name=name, desc=desc))
                pos = desc + ((descsz + 3) & ~3)
        self.by_type = {}
        for n in self.notes:
            self.by_type.setdefault(n["type"], []).append(n)

    def loads(self):
        return [p for p in self.phdrs if p[1] == PT_LOAD]

    def load_at(self, addr):
        for p in self.loads():
            if p[3] <= addr < p[3] + p[5] and p[4] > 0:
                return p
        return None

    def reg(self, note, name):
        return struct.unpack_from("<Q", self.data, note["desc"] + PRSTATUS_REG + 8 * REGS.index(name))[0]

    def nt_file(self):
        """(note, count, page_size, [(entry offset, start, end, pgoff)], [(name offset, bytes)])"""
        n = self.by_type[NT_FILE][0]
        d = n["desc"]
        count, page_size = struct.unpack_from("<QQ", self.data, d)
        entries = []
        for i in range(count):
            off = d + 16 + 24 * i
            entries.append((off,) + struct.unpack_from("<QQQ", self.data, off))
        names, pos = [], d + 16 + 24 * count
        for _ in range(count):
            e = self.data.index(b"\0", pos)
            names.append((pos, self.data[pos:e]))
            pos = e + 1
        return n, count, page_size, entries, names


class Mutants:
    def __init__(self, outdir, every=1):
        self.outdir = outdir
        self.manifest = []
        self.names = set()
        self.every = max(1, every)
        self.structural = 0

    def take(self, name, expect):
        """False for a structural mutant that --every leaves out."""
        if expect != "any" or name.startswith("fuzz-") or self.every == 1:
            return True
        self.structural += 1
        return self.structural % self.every == 1

    def emit(self, name, data, what, expect="any", taken=False):
        if not taken and not self.take(name, expect):
            return
        base, i = name, 2
        while name in self.names:
            name = "%s-%d" % (base, i)
            i += 1
        self.names.add(name)
        # Sparse like the kernel's own cores: all-zero pages become holes, so a few hundred
        # mutants of a 500 KiB core take tens of MiB, not hundreds.
        with open(os.path.join(self.outdir, name), "wb") as f:
            zero = bytes(4096)
            for at in range(0, len(data), 4096):
                chunk = data[at:at + 4096]
                if chunk == zero:
                    f.seek(len(chunk), os.SEEK_CUR)
                else:
                    f.write(chunk)
            f.truncate(len(data))
        self.manifest.append("%s\t%s\t%s" % (name, expect, what))

    def patch(self, core, name, what, edits):
        """edits: [(offset, size in bytes or None for raw bytes, value)]"""
        if not self.take(name, "any"):
            return
        b = bytearray(core.data)
        for off, size, value in edits:
            if size is None:
                b[off:off + len(value)] = value
            else:
                b[off:off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        self.emit(name, bytes(b), what, taken=True)


def zstd(data, level=3):
    return subprocess.run(["zstd", "-q", "-c", "-%d" % level], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def make(args):
    core_path, outdir = args.core, args.outdir
    with open(core_path, "rb") as f:
        data = f.read()
    c = Core(data)
    size = len(data)
    os.makedirs(outdir, exist_ok=True)
    m = Mutants(outdir, args.every)
    rnd = random.Random(args.seed)

    # Controls: the intact core, plain and compressed, must give a complete report.
    m.emit("control", data, "the intact core", expect="ok")
    if shutil.which("zstd"):
        m.emit("control.zst", zstd(data), "the intact core, zstd-compressed", expect="ok")

    # Not a core at all.
    m.emit("empty", b"", "a zero-length file")
    m.emit("text", b"this is not a core dump\n" * 10, "a text file")
    m.emit("random-4k", bytes(rnd.getrandbits(8) for _ in range(4096)), "4 KiB of random bytes")
    m.emit("random-256k", rnd.randbytes(256 * 1024), "256 KiB of random bytes")
    m.emit("elf-magic-only", b"\x7fELF", "just the ELF magic")
    for exe in ("/bin/true", "/usr/bin/true"):
        if os.path.exists(exe):
            with open(exe, "rb") as f:
                m.emit("bin-true", f.read(), "%s: an ELF program, not a core" % exe)
            break
    m.patch(c, "e_type-exec", "e_type = ET_EXEC", [(16, 2, 2)])
    m.patch(c, "e_type-dyn", "e_type = ET_DYN", [(16, 2, 3)])
    m.patch(c, "e_type-rel", "e_type = ET_REL", [(16, 2, 1)])
    m.patch(c, "e_machine-aarch64", "e_machine = EM_AARCH64", [(18, 2, 183)])
    m.patch(c, "e_machine-386", "e_machine = EM_386", [(18, 2, 3)])
    m.patch(c, "elfclass32", "EI_CLASS = ELFCLASS32 in an otherwise 64-bit core", [(4, 1, 1)])
    m.patch(c, "elfclass-bad", "EI_CLASS = 7", [(4, 1, 7)])
    m.patch(c, "elfdata-msb", "EI_DATA = ELFDATA2MSB (big-endian)", [(5, 1, 2)])
    m.patch(c, "ei_version-0", "EI_VERSION = 0, e_version = 0", [(6, 1, 0), (20, 4, 0)])
    m.patch(c, "bad-magic", "magic \\x7fELG", [(3, 1, ord("G"))])
    # A genuine 32-bit i386 core header: ELFCLASS32, ET_CORE, EM_386, one PT_NOTE phdr.
    ehdr32 = struct.pack("<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + b"\0" * 9,
                         4, 3, 1, 0, 52, 0, 0, 52, 32, 1, 40, 0, 0)
    phdr32 = struct.pack("<IIIIIIII", PT_NOTE, 84, 0, 0, 12, 0, 0, 4)
    m.emit("elf32-core", ehdr32 + phdr32 + struct.pack("<III", 0, 0, 0),
           "a 32-bit (i386) core header with one empty note")

    # zstd: truncated streams, garbage inside a valid frame, a frame that is not zstd.
    if shutil.which("zstd"):
        z = zstd(data)
        m.emit("zst-trunc-10", z[:10], "zstd stream cut after 10 bytes")
        m.emit("zst-trunc-half", z[:len(z) // 2], "zstd stream cut in the middle")
        m.emit("zst-trunc-last", z[:-1], "zstd stream missing its last byte")
        m.emit("zst-garbage", zstd(rnd.randbytes(64 * 1024)), "valid zstd of 64 KiB random bytes")
        m.emit("zst-text", zstd(b"hello\n" * 1000), "valid zstd of a text file")
        m.emit("zst-empty", zstd(b""), "valid zstd of nothing")
        m.emit("zst-truncated-core", zstd(data[:size // 3]), "valid zstd of the first third of the core")
        m.emit("zst-magic-garbage", b"\x28\xb5\x2f\xfd" + rnd.randbytes(4096),
               "zstd magic followed by random bytes")
        zb = bytearray(z)
        for i in range(max(20, len(zb) // 3), len(zb), max(1, len(zb) // 16)):
            zb[i] ^= 0x55
        m.emit("zst-corrupt", bytes(zb), "zstd stream with flipped bytes in its blocks")
        m.emit("zst-bomb", zstd(data + bytes(256 << 20), 1),
               "the core followed by 256 MiB of zeros, compressed (a decompression bomb)")

    # Truncations: inside the ELF header, the program headers, the notes, the data.
    cuts = {1: "in e_ident", 4: "after the magic", 17: "in e_type", 40: "in e_shoff",
            63: "last byte of the ELF header", 64: "right after the ELF header"}
    ph_end = c.e_phoff + c.e_phnum * c.e_phentsize
    for k in sorted({0, 1, c.e_phnum // 2, c.e_phnum - 1}):
        cuts[c.e_phoff + k * c.e_phentsize + 20] = "in program header %d" % k
    cuts[ph_end] = "right after the program headers"
    for i, n in enumerate(c.notes):
        cuts[n["hdr"]] = "at the start of note %d (type %#x)" % (i, n["type"])
        cuts[n["hdr"] + 6] = "in the header of note %d" % i
        cuts[n["name"] + 2] = "in the name of note %d" % i
        if n["descsz"] > 2:
            cuts[n["desc"] + n["descsz"] // 2] = "in the middle of note %d's desc" % i
    notes_end = c.notes[-1]["desc"] + ((c.notes[-1]["descsz"] + 3) & ~3)
    cuts[notes_end] = "right after the last note"
    for i, p in enumerate(c.phdrs):
        if p[1] == PT_LOAD and p[4] > 0:
            cuts[p[2]] = "at the start of PT_LOAD phdr %d" % i
            cuts[p[2] + p[4] // 2 + 1] = "in the middle of PT_LOAD phdr %d" % i
    cuts[size - 4096] = "one page before the end"
    cuts[size - 1] = "without its last byte"
    for at in sorted(cuts):
        if 0 < at < size:
            m.emit("trunc-%d" % at, data[:at], "truncated at %d: %s" % (at, cuts[at]))

    # ELF header fields.
    for v in (0, 1, 63, size - 1, size, size + 4096, 1 << 63, U64MAX, c.e_phoff + 3,
              size - c.e_phnum * c.e_phentsize + 8):
        m.patch(c, "e_phoff-%#x" % v, "e_phoff = %#x" % v, [(32, 8, v)])
    for v in (0, 1, 2, c.e_phnum + 1, c.e_phnum + 100, 0xFFFE, 0xFFFF):
        m.patch(c, "e_phnum-%d" % v, "e_phnum = %d" % v, [(56, 2, v)])
    m.patch(c, "e_phnum-xnum-shoff-end", "e_phnum = PN_XNUM, e_shoff past the end",
            [(56, 2, 0xFFFF), (40, 8, size + 64), (58, 2, 64), (60, 2, 1)])
    m.patch(c, "e_phnum-xnum-shoff-data", "e_phnum = PN_XNUM, section 0 read from the data "
            "(sh_info = random count)", [(56, 2, 0xFFFF), (40, 8, c.loads()[0][2]), (58, 2, 64), (60, 2, 1)])
    for v in (0, 1, 32, 55, 57, 64, 0xFFFF):
        m.patch(c, "e_phentsize-%d" % v, "e_phentsize = %d" % v, [(54, 2, v)])
    for v in (1, size, 1 << 63, U64MAX):
        m.patch(c, "e_shoff-%#x" % v, "e_shoff = %#x, e_shnum = 0xffff, e_shentsize = 64" % v,
                [(40, 8, v), (60, 2, 0xFFFF), (58, 2, 64)])
    m.patch(c, "e_shentsize-0", "e_shoff = 64, e_shnum = 3, e_shentsize = 0",
            [(40, 8, 64), (60, 2, 3), (58, 2, 0)])
    m.patch(c, "e_shstrndx-ffff", "e_shstrndx = 0xffff", [(62, 2, 0xFFFF)])
    m.patch(c, "e_ehsize", "e_ehsize = 0xffff", [(52, 2, 0xFFFF)])

    # Program headers: offsets beyond the file, huge sizes, addresses that wrap. Every value
    # for the headers a report depends on most (the notes, the crashed thread's stack, the
    # crashing code's page, the first and last PT_LOAD); two values, drawn from the seeded
    # generator, for each of the others.
    loads = [p for p in c.loads() if p[4] > 0]
    crashed = c.by_type[NT_PRSTATUS][0]
    rsp, rip = c.reg(crashed, "rsp"), c.reg(crashed, "rip")
    stack = c.load_at(rsp)
    if stack is None:
        # A stack overflow's rsp is in the guard page below the stack, which no PT_LOAD
        # covers: the stack is the first PT_LOAD above it.
        stack = min((p for p in c.loads() if p[3] > rsp and p[4] > 0), key=lambda p: p[3], default=None) or c.loads()[0]
    code = [p for p in c.loads() if p[3] <= rip < p[3] + p[5]]
    key = {c.phdrs[0][0], stack[0], c.loads()[0][0], c.loads()[-1][0]} | {p[0] for p in code}
    for i, (off, p_type, p_offset, p_vaddr, p_filesz, p_memsz) in enumerate(c.phdrs):
        edits = []
        for v in (size, size - 1, U64MAX, 1 << 63):
            edits.append(("ph%d-p_offset-%#x" % (i, v), "phdr %d: p_offset = %#x" % (i, v), [(off + 8, 8, v)]))
        for v in (U64MAX, size, p_filesz + 1):
            edits.append(("ph%d-p_filesz-%#x" % (i, v), "phdr %d: p_filesz = %#x" % (i, v), [(off + 32, 8, v)]))
        for v in (0, U64MAX):
            edits.append(("ph%d-p_memsz-%#x" % (i, v), "phdr %d: p_memsz = %#x" % (i, v), [(off + 40, 8, v)]))
        for v in (0, U64MAX - 0xFFF, p_vaddr + 1):
            edits.append(("ph%d-p_vaddr-%#x" % (i, v), "phdr %d: p_vaddr = %#x" % (i, v), [(off + 16, 8, v)]))
        if off not in key:
            edits = rnd.sample(edits, 2)
        for e in edits:
            m.patch(c, *e)
    first = loads[0]
    m.patch(c, "overlap-vaddr", "the stack's PT_LOAD gets the first PT_LOAD's address",
            [(stack[0] + 16, 8, first[3])])
    m.patch(c, "overlap-vaddr-all", "every PT_LOAD at the same address",
            [(p[0] + 16, 8, first[3]) for p in c.loads()])
    m.patch(c, "overlap-offset", "every PT_LOAD's data at the same file offset",
            [(p[0] + 8, 8, first[2]) for p in c.loads()])
    m.patch(c, "overlap-partial", "the stack's PT_LOAD starts half a page into the previous one",
            [(stack[0] + 16, 8, stack[3] - 0x800)])
    m.patch(c, "filesz-gt-memsz", "every PT_LOAD: p_filesz = p_memsz + 4096",
            [(p[0] + 32, 8, p[5] + 4096) for p in c.loads()])
    m.patch(c, "loads-empty", "every PT_LOAD: p_filesz = 0", [(p[0] + 32, 8, 0) for p in c.loads()])
    m.patch(c, "note-is-load", "the PT_NOTE becomes a PT_LOAD", [(c.phdrs[0][0], 4, PT_LOAD)])
    m.patch(c, "loads-are-notes", "every PT_LOAD with data becomes a PT_NOTE",
            [(p[0], 4, PT_NOTE) for p in loads])
    m.patch(c, "note-covers-file", "PT_NOTE spans the whole file",
            [(c.phdrs[0][0] + 32, 8, size - c.phdrs[0][2])])
    m.patch(c, "note-at-stack", "PT_NOTE points at the stack's data",
            [(c.phdrs[0][0] + 8, 8, stack[2]), (c.phdrs[0][0] + 32, 8, stack[4])])
    m.patch(c, "two-notes", "a second PT_NOTE with the same notes (every thread twice)",
            [(first[0], 4, PT_NOTE), (first[0] + 8, 8, c.phdrs[0][2]), (first[0] + 32, 8, c.phdrs[0][4])])
    ph = bytearray()
    for p in reversed(c.phdrs):
        ph += data[p[0]:p[0] + c.e_phentsize]
    m.patch(c, "phdrs-reversed", "program headers in reverse order", [(c.e_phoff, None, bytes(ph))])

    # Every note header.
    for i, n in enumerate(c.notes):
        h = n["hdr"]
        for v in (0, 1, n["namesz"] + 1, n["namesz"] + 4, 0xFFFFFFFF):
            m.patch(c, "note%d-namesz-%#x" % (i, v), "note %d (type %#x): namesz = %#x" % (i, n["type"], v), [(h, 4, v)])
        for v in (0, 1, n["descsz"] - 1, n["descsz"] + 4, 0x7FFFFFFF, 0xFFFFFFFF):
            m.patch(c, "note%d-descsz-%#x" % (i, v & 0xFFFFFFFF), "note %d (type %#x): descsz = %#x" % (i, n["type"], v & 0xFFFFFFFF), [(h + 4, 4, v)])
        for v in (0, 0xFFFFFFFF, NT_FILE, NT_PRSTATUS, NT_SIGINFO, NT_AUXV):
            if v != n["type"]:
                m.patch(c, "note%d-type-%#x" % (i, v), "note %d (type %#x): type = %#x" % (i, n["type"], v), [(h + 8, 4, v)])
        if n["namesz"] >= 4:
            m.patch(c, "note%d-name" % i, "note %d: owner name XXXX" % i, [(n["name"], None, b"XXXX")])

    # NT_FILE: counts, page size, entries, the string table, hostile names.
    fn, count, page_size, entries, names = c.nt_file()
    d = fn["desc"]
    for v in (0, 1, count + 1, count * 1000, 1 << 32, 1 << 63, U64MAX):
        m.patch(c, "nt_file-count-%#x" % v, "NT_FILE count = %#x" % v, [(d, 8, v)])
    for v in (0, 1, 3, 1 << 63, U64MAX):
        m.patch(c, "nt_file-pagesize-%#x" % v, "NT_FILE page size = %#x" % v, [(d + 8, 8, v)])
    e0 = entries[0]
    m.patch(c, "nt_file-start-gt-end", "NT_FILE entry 0: start > end", [(e0[0], 8, e0[2]), (e0[0] + 8, 8, e0[1])])
    m.patch(c, "nt_file-end-max", "NT_FILE entry 0: end = 2^64-1", [(e0[0] + 8, 8, U64MAX)])
    m.patch(c, "nt_file-pgoff-max", "NT_FILE every entry: page offset = 2^64-1 (times page size overflows)",
            [(e[0] + 16, 8, U64MAX) for e in entries])
    m.patch(c, "nt_file-pgoff-big", "NT_FILE every entry: page offset far past the end of the file",
            [(e[0] + 16, 8, 1 << 40) for e in entries])
    m.patch(c, "nt_file-all-same", "NT_FILE every entry = entry 0",
            [(e[0], None, data[e0[0]:e0[0] + 24]) for e in entries])
    m.patch(c, "nt_file-zero-entries", "NT_FILE every entry all zero", [(e[0], None, bytes(24)) for e in entries])
    strs = bytearray(data[names[0][0]:fn["desc"] + fn["descsz"]])
    m.patch(c, "nt_file-unterminated", "NT_FILE string table without a NUL",
            [(names[0][0], None, bytes(strs).replace(b"\0", b"A"))])
    m.patch(c, "nt_file-no-strings", "NT_FILE descsz ends right after the entries",
            [(fn["hdr"] + 4, 4, 16 + 24 * count)])
    m.patch(c, "nt_file-names-utf8", "NT_FILE names with invalid UTF-8, quotes, backslashes, controls",
            [(off, None, bytes((b"\xff\"\\\n\x01\xc3(\x80" * 64)[:len(nm)])) for off, nm in names if len(nm) > 0])
    m.patch(c, "nt_file-names-relative", "NT_FILE names made relative (no leading /)",
            [(off, None, b"x") for off, nm in names if nm.startswith(b"/")])
    m.patch(c, "nt_file-names-dotdot", "NT_FILE names /../../../../ ... (path traversal)",
            [(off, None, (b"/.." * 400)[:len(nm) - 1] + b"/") for off, nm in names if len(nm) > 4])

    # Hostile files behind the names in NT_FILE (the exe and every other mapping).
    if args.plant_dir:
        plant(c, m, args.plant_dir, names, data)

    # The threads: registers, pids, the stack's contents.
    prs = c.by_type[NT_PRSTATUS]
    reg = lambda n, r: n["desc"] + PRSTATUS_REG + 8 * REGS.index(r)
    anon = c.load_at(c.reg(prs[0], "fs_base")) or stack
    for v, short, why in ((0, "0", "0"), (U64MAX, "max", "2^64-1"), (rsp, "stack", "the stack (not code)"),
                          (0xFFFFFFFFFF600000, "vsyscall", "the vsyscall page"),
                          (anon[3] + 16, "anon", "anonymous memory"), (0x1000, "unmapped", "an unmapped page")):
        m.patch(c, "rip-" + short, "crashed thread: rip = %s" % why, [(reg(crashed, "rip"), 8, v)])
    for v, why in ((0, "0"), (U64MAX, "2^64-1"), (U64MAX - 7, "2^64-8"), (0x1000, "unmapped"),
                   (stack[3] + stack[5] - 8, "top-of-stack"), (stack[3], "bottom-of-stack"), (rsp + 3, "misaligned")):
        m.patch(c, "rsp-%s" % why.replace("^", ""), "crashed thread: rsp = %s" % why, [(reg(crashed, "rsp"), 8, v)])
        m.patch(c, "rbp-rsp-%s" % why.replace("^", ""), "crashed thread: rsp = rbp = %s" % why,
                [(reg(crashed, "rsp"), 8, v), (reg(crashed, "rbp"), 8, v)])
    m.patch(c, "regs-all-ff", "every thread: every register = 0xff..ff",
            [(n["desc"] + PRSTATUS_REG, None, b"\xff" * 8 * len(REGS)) for n in prs])
    m.patch(c, "regs-all-0", "every thread: every register = 0",
            [(n["desc"] + PRSTATUS_REG, None, bytes(8 * len(REGS))) for n in prs])
    for v in (0, -1, 1):
        m.patch(c, "pr_pid-%d" % v, "every thread: pr_pid = %d" % v, [(n["desc"] + PRSTATUS_PID, 4, v) for n in prs])
    if len(prs) > 1:
        pid0 = struct.unpack_from("<i", data, prs[0]["desc"] + PRSTATUS_PID)[0]
        m.patch(c, "pr_pid-dup", "every thread has the crashed thread's tid",
                [(n["desc"] + PRSTATUS_PID, 4, pid0) for n in prs])
        m.patch(c, "prstatus-twins", "second thread's PRSTATUS = the first's",
                [(prs[1]["desc"], None, data[prs[0]["desc"]:prs[0]["desc"] + prs[0]["descsz"]])])
    m.patch(c, "prstatus-signo", "crashed thread: pr_info.si_signo = 255, pr_cursig = 0xffff",
            [(crashed["desc"], 4, 255), (crashed["desc"] + 12, 2, 0xFFFF)])
    # Stack contents: pointer loops and endless return addresses.
    sbase, soff, slen = stack[3], stack[2], stack[4]
    loop = b"".join(struct.pack("<Q", sbase + i) for i in range(0, slen, 8))
    m.patch(c, "stack-self-pointers", "stack filled with pointers to themselves (frame-pointer loop)",
            [(soff, None, loop)])
    m.patch(c, "stack-return-loop", "stack filled with the crashing pc (an endless chain of frames)",
            [(soff, None, struct.pack("<Q", rip) * (slen // 8))])
    m.patch(c, "stack-ff", "stack filled with 0xff", [(soff, None, b"\xff" * slen)])
    m.patch(c, "stack-rbp-loop", "rbp points at itself on the stack",
            [(reg(crashed, "rbp"), 8, rsp), (soff + (rsp - sbase), 8, rsp)])
    for length in (2, 3):
        edits = stack_cycle(c, length)
        if edits:
            m.patch(c, "stack-cycle-%d" % length, "saved frame pointers bent into a cycle of %d frames" % length,
                    edits)

    # SIGINFO, PRPSINFO, AUXV.
    if NT_SIGINFO in c.by_type:
        s = c.by_type[NT_SIGINFO][0]["desc"]
        for v in (0, -1, 65, 255):
            m.patch(c, "si_signo-%d" % v, "NT_SIGINFO si_signo = %d" % v, [(s, 4, v)])
        for v in (-1, 999, 0x7FFFFFFF, -60):
            m.patch(c, "si_code-%d" % v, "NT_SIGINFO si_code = %d" % v, [(s + 8, 4, v)])
        m.patch(c, "si_addr-max", "NT_SIGINFO si_addr = 2^64-1", [(s + 16, 8, U64MAX)])
    if NT_PRPSINFO in c.by_type:
        p = c.by_type[NT_PRPSINFO][0]["desc"]
        m.patch(c, "prpsinfo-fname-full", "pr_fname: 16 bytes, no NUL", [(p + PRPSINFO_FNAME, None, b"A" * 16)])
        m.patch(c, "prpsinfo-fname-utf8", "pr_fname: invalid UTF-8, quotes, controls",
                [(p + PRPSINFO_FNAME, None, b"\xff\xfe\"\\\n\x01\x1b[31m\xc3(\x80\x00")])
        m.patch(c, "prpsinfo-psargs-full", "pr_psargs: 80 bytes of invalid UTF-8 and controls, no NUL",
                [(p + PRPSINFO_PSARGS, None, bytes(range(0x80, 0xD0)))])
        m.patch(c, "prpsinfo-pid", "pr_pid = -1", [(p + PRPSINFO_PID, 4, -1)])
    if NT_AUXV in c.by_type:
        a = c.by_type[NT_AUXV][0]
        av = bytearray(data[a["desc"]:a["desc"] + a["descsz"]])
        noterm, garbage, = bytearray(av), bytearray(av)
        for i in range(0, len(av) - 15, 16):
            tag = struct.unpack_from("<Q", av, i)[0]
            if tag == 0:
                struct.pack_into("<Q", noterm, i, 0xDEAD)
            if tag in (3, 9, 31, 33, 25):	# AT_PHDR AT_ENTRY AT_EXECFN AT_SYSINFO_EHDR AT_RANDOM
                struct.pack_into("<Q", garbage, i + 8, U64MAX - 8)
        m.patch(c, "auxv-no-null", "NT_AUXV without AT_NULL", [(a["desc"], None, bytes(noterm))])
        m.patch(c, "auxv-pointers-max", "NT_AUXV: AT_PHDR, AT_ENTRY, AT_EXECFN, AT_SYSINFO_EHDR, AT_RANDOM = 2^64-9",
                [(a["desc"], None, bytes(garbage))])
        m.patch(c, "auxv-ff", "NT_AUXV all 0xff", [(a["desc"], None, b"\xff" * len(av))])

    # Deterministic fuzz: byte flips and interesting values in the first 64 KiB.
    span = min(size, 64 * 1024)
    interesting = [0, 1, 0x7F, 0x80, 0xFF]
    stack = None		# (file offset, length) of the crashed thread's stack above its sp
    if args.fuzz_stack and c.by_type.get(NT_PRSTATUS):
        sp = c.reg(c.by_type[NT_PRSTATUS][0], "rsp")
        p = c.load_at(sp)
        if p:
            at = p[2] + (sp - p[3])
            stack = (at, max(0, min(16 * 1024, p[2] + p[4] - at)))
    for k in range(args.fuzz):
        b = bytearray(data)
        what = []
        for _ in range(rnd.randint(1, 16)):
            at = rnd.randrange(span)
            if stack and stack[1] >= 8 and rnd.random() < 0.5:
                at = stack[0] + rnd.randrange(stack[1] - 7)
            how = rnd.random()
            if how < 0.5:
                bit = 1 << rnd.randrange(8)
                b[at] ^= bit
                what.append("%d^%#x" % (at, bit))
            elif how < 0.8:
                b[at] = rnd.choice(interesting)
                what.append("%d=%#x" % (at, b[at]))
            else:
                at &= ~7
                v = rnd.choice([0, U64MAX, 1 << 63, 0x7FFFFFFF, 0xFFFFFFFF, rnd.getrandbits(64)])
                b[at:at + 8] = v.to_bytes(8, "little")
                what.append("%d=u64 %#x" % (at, v))
        m.emit("fuzz-%03d" % k, bytes(b), "seed %d fuzz %d: %s" % (args.seed, k, " ".join(what)))

    with open(os.path.join(outdir, "MANIFEST"), "w") as f:
        f.write("\n".join(m.manifest) + "\n")
    print("%d mutants of %s (%d bytes, %d phdrs, %d notes) in %s"
          % (len(m.manifest), core_path, size, c.e_phnum, len(c.notes), outdir))


def rbp_chain(c, note, n):
    """The crashed thread's frame-pointer chain: [(rbp, offset in the core)] for n frames,
    each saved %rbp strictly above the one before it in one PT_LOAD, or None."""
    chain, r = [], c.reg(note, "rbp")
    stack = c.load_at(c.reg(note, "rsp"))
    for _ in range(n):
        if stack is None or r % 8 or not (stack[3] <= r and r + 16 <= stack[3] + stack[4]):
            return None
        off = stack[2] + (r - stack[3])
        chain.append((r, off))
        nxt = struct.unpack_from("<Q", c.data, off)[0]
        if nxt <= r:
            return None
        r = nxt
    return chain


def stack_cycle(c, length):
    """Edits that make the CFI unwind of the crashed thread cycle over LENGTH frames. With
    R0 the crashed thread's %rbp, R(i+1) the %rbp saved at R(i), and code whose CFA is
    %rbp + 16: the frame whose CFA is R(i) + 16 returns to [R(i) + 8] with sp R(i) + 16 and
    %rbp R(i+1). Writing R0 in the slot at R(length-1) makes the frame after the one with
    CFA R(length-1) + 16 restart from %rbp = R0, with the sp and the return address (from the
    same stack words) of a frame seen LENGTH frames before: the same LENGTH frames repeat
    for ever, all real return addresses over real stack memory. None when the chain is
    too short."""
    chain = rbp_chain(c, c.by_type[NT_PRSTATUS][0], length)
    if chain is None:
        return None
    return [(chain[length - 1][1], 8, chain[0][0])]


def more_threads(c, n):
    """The core with the crashed thread's NT_PRSTATUS repeated n more times (see threads:)."""
    notes = [p for p in c.phdrs if p[1] == PT_NOTE]
    if len(notes) != 1 or not c.by_type.get(NT_PRSTATUS):
        raise SystemExit("mutate-core.py: want one PT_NOTE with an NT_PRSTATUS")
    _, _, n_off, _, n_size, _ = notes[0]
    first = c.by_type[NT_PRSTATUS][0]
    end = first["desc"] + ((first["descsz"] + 3) & ~3)
    note = bytearray(c.data[first["hdr"]:end])
    tid = struct.unpack_from("<i", c.data, first["desc"] + PRSTATUS_PID)[0]
    blob = bytearray(c.data[n_off:n_off + n_size])
    for k in range(1, n + 1):
        struct.pack_into("<i", note, first["desc"] - first["hdr"] + PRSTATUS_PID, tid + k)
        blob += note
    out = bytearray(c.data)
    out += bytes(-len(out) % 8)
    phoff = len(out)
    for off, p_type, p_offset, p_vaddr, p_filesz, p_memsz in c.phdrs:
        ph = bytearray(c.data[off:off + c.e_phentsize])
        if p_type == PT_NOTE:
            struct.pack_into("<Q", ph, 8, phoff + c.e_phnum * c.e_phentsize)	# p_offset
            struct.pack_into("<Q", ph, 32, len(blob))				# p_filesz
        out += ph
    out += blob
    struct.pack_into("<Q", out, 32, phoff)	# e_phoff
    return bytes(out)


def plant(c, m, pdir, names, data):
    """Rename NT_FILE mappings to hostile files of the same name length under pdir."""
    os.makedirs(pdir, exist_ok=True)
    # The exe is the first name; libc is the most-used library. Each gets each kind.
    # Planted names are PDIR/WHO-KIND-xxx: room for the longest WHO and KIND and one x.
    targets = [(off, nm) for off, nm in names if len(nm) >= len(pdir) + 18]
    picks = []
    if targets and targets[0] == names[0]:	# the kernel lists the executable first
        picks.append(("exe", targets[0]))
    libc = [t for t in targets if b"libc.so" in t[1]]
    if libc:
        picks.append(("libc", libc[0]))
    with open(names[0][1] if os.path.isfile(names[0][1]) else "/bin/true", "rb") as f:
        exe_bytes = f.read()

    def make(kind, path):
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dir":
            os.mkdir(path)
        elif kind == "devzero":
            os.symlink("/dev/zero", path)
        elif kind == "symloop":
            os.symlink(os.path.basename(path), path)
        elif kind == "sparse":
            with open(path, "wb") as f:
                f.truncate(1 << 40)
        elif kind == "elf-trunc":
            with open(path, "wb") as f:
                f.write(exe_bytes[:200])
        elif kind == "elf-other":
            shutil.copyfile("/bin/true", path)
        elif kind == "garbage":
            with open(path, "wb") as f:
                f.write(random.Random(len(path)).randbytes(64 * 1024))
        elif kind == "elf-phnum":
            b = bytearray(exe_bytes)
            struct.pack_into("<HH", b, 54, 56, 0xFFFF)	# e_phentsize, e_phnum
            struct.pack_into("<Q", b, 40, 1 << 62)		# e_shoff
            with open(path, "wb") as f:
                f.write(bytes(b))

    kinds = {"fifo": "a FIFO", "dir": "a directory", "devzero": "a symlink to /dev/zero",
             "symloop": "a symlink to itself", "sparse": "a 1 TiB sparse file",
             "elf-trunc": "the exe cut after 200 bytes", "elf-other": "a copy of /bin/true",
             "garbage": "64 KiB of random bytes",
             "elf-phnum": "the exe with e_phnum 65535 and a huge e_shoff"}
    for who, (off, nm) in picks:
        for kind, desc in kinds.items():
            fill = len(nm) - len(pdir) - 1 - len(who) - len(kind) - 2
            path = "%s/%s-%s-%s" % (pdir, who, kind, "x" * fill)
            assert len(path) == len(nm)
            make(kind, path)
            # Every NT_FILE entry with this name points at the planted file.
            edits = [(o, None, path.encode()) for o, n in names if n == nm]
            m.patch(c, "plant-%s-%s" % (who, kind), "NT_FILE %s (%s) renamed to %s: %s"
                    % (who, nm.decode(errors="replace"), path, desc), edits)


# --- check -------------------------------------------------------------------------------

HEX = "hex string"


def is_addr(v):
    return isinstance(v, str) and v.startswith("0x") and len(v) > 2 and \
        all(ch in "0123456789abcdef" for ch in v[2:])


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_hex(v):
    return isinstance(v, str) and v != "" and all(ch in "0123456789abcdef" for ch in v)


TYPES = {
    "int": is_int, "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
    "addr": is_addr, "hex": is_hex, "list": lambda v: isinstance(v, list),
    "obj": lambda v: isinstance(v, dict),
}
TOP = {"schema": "str", "generator": "str", "partial": "bool", "process": "obj",
       "threads": "list", "modules": "list", "notes": "list"}
PROCESS = {"pid": "int", "tid": "int", "exe": "str?", "comm": "str?", "cmdline": "str?",
           "uid": "int?", "gid": "int?", "signal": "int", "signal_name": "str?",
           "si_code": "int?", "si_code_name": "str?", "fault_address": "addr?",
           "time": "int?", "hostname": "str?", "boot_id": "str?", "cgroup": "str?",
           "rlimit_core": "int?"}
THREAD = {"tid": "int", "name": "str?", "crashed": "bool", "truncated": "bool",
          "error": "str?", "frames": "list"}
FRAME = {"index": "int", "ip": "addr", "sp": "addr", "kind": "str", "module": "str?",
         "build_id": "hex?", "module_offset": "addr?", "function": "str?", "offset": "int?",
         "file": "str?", "line": "int?"}
MODULE = {"path": "str", "base": "addr", "end": "addr", "build_id": "hex?",
          "file_build_id_match": "bool?", "debuginfo": "str?"}


def check_members(obj, spec, where, errors):
    for key, t in spec.items():
        if key not in obj:
            errors.append("%s: member %r missing" % (where, key))
            continue
        v, nullable = obj[key], t.endswith("?")
        if v is None and nullable:
            continue
        if not TYPES[t.rstrip("?")](v):
            errors.append("%s.%s: %r is not %s" % (where, key, v, t))


def check_report(doc):
    errors = []
    if not isinstance(doc, dict):
        return ["the report is not a JSON object"]
    check_members(doc, TOP, "report", errors)
    if doc.get("schema") != "crashpipe/1":
        errors.append("schema is %r" % doc.get("schema"))
    if isinstance(doc.get("process"), dict):
        check_members(doc["process"], PROCESS, "process", errors)
    for i, t in enumerate(doc.get("threads") or []):
        if not isinstance(t, dict):
            errors.append("threads[%d] is not an object" % i)
            continue
        check_members(t, THREAD, "threads[%d]" % i, errors)
        if t.get("crashed") is True and i != 0:
            errors.append("threads[%d] is crashed but not first" % i)
        for j, f in enumerate(t.get("frames") or []):
            if not isinstance(f, dict):
                errors.append("threads[%d].frames[%d] is not an object" % (i, j))
                continue
            check_members(f, FRAME, "threads[%d].frames[%d]" % (i, j), errors)
            if f.get("index") != j:
                errors.append("threads[%d].frames[%d].index = %r" % (i, j, f.get("index")))
    for i, mo in enumerate(doc.get("modules") or []):
        if isinstance(mo, dict):
            check_members(mo, MODULE, "modules[%d]" % i, errors)
        else:
            errors.append("modules[%d] is not an object" % i)
    for i, n in enumerate(doc.get("notes") or []):
        if not isinstance(n, str):
            errors.append("notes[%d] is not a string" % i)
    return errors[:10]


def check(args):
    results = args.results
    runs = sorted(d for d in os.listdir(results) if os.path.isdir(os.path.join(results, d)))
    failures, stats = [], dict(runs=0, reports=0, partial=0, notes_only=0, clean_errors=0)
    times = []

    def read(run, name, mode="r"):
        p = os.path.join(results, run, name)
        if not os.path.exists(p):
            return None
        with open(p, mode) as f:
            return f.read()

    for run in runs:
        stats["runs"] += 1
        cmd = read(run, "cmd").splitlines()
        target = read(run, "target").strip()
        expect = read(run, "expect").strip()
        what = read(run, "what") or ""
        rc = int(read(run, "rc").strip())
        try:
            if "-valgrind-" not in run:
                times.append((float(read(run, "seconds")), run))
        except (TypeError, ValueError):
            pass
        err = read(run, "stderr", "rb") or b""
        fail = lambda why: failures.append("%s: %s\n    mutant: %s\n    command: %s\n    stderr: %s"
                                           % (run, why, what.strip(), " ".join(cmd),
                                              err.decode(errors="replace").strip()[:600]))
        if rc == 124:
            fail("timed out (hang?)")
            continue
        if rc > 128:
            fail("killed by signal %d" % (rc - 128))
            continue
        if rc == 0:
            raw = read(run, "out.json", "rb")
            if raw is None:
                fail("exit 0 but no report was written")
                continue
            try:
                doc = json.loads(raw)	# bytes: decoded as strict UTF-8
            except (ValueError, UnicodeDecodeError) as e:
                fail("exit 0 but the report is not valid UTF-8 JSON: %s" % e)
                continue
            errors = check_report(doc)
            if errors:
                fail("exit 0 but the report breaks crashpipe-report(5):\n      " + "\n      ".join(errors))
                continue
            # analyze runs its analysis in a child: a crash or hang of it is one still.
            died = [n for n in doc["notes"] if isinstance(n, str) and n.startswith(
                ("the analysis crashed", "the analysis ran out of time", "the analysis failed",
                 "the analysis sent no valid report"))]
            if died:
                fail("the analysis child did not make a report: %s" % died[0])
                continue
            stats["reports"] += 1
            if doc["partial"]:
                stats["partial"] += 1
            elif doc["notes"]:
                stats["notes_only"] += 1
            if expect == "ok":
                if doc["partial"]:
                    fail("control: report is partial: %s" % doc["notes"])
                elif len(doc["threads"]) < 1 or not doc["threads"][0]["frames"]:
                    fail("control: no frames for the crashed thread")
            continue
        if rc == 1:
            lines = err.decode(errors="replace").splitlines()
            name = target if target != "-" else None
            if expect == "ok":
                fail("control: error instead of a report")
            elif len(lines) != 1:
                fail("exit 1 with %d lines on stderr (want exactly one)" % len(lines))
            elif not lines[0].startswith("crashpipe: "):
                fail("exit 1, but stderr does not start with 'crashpipe: '")
            elif name is not None and name not in lines[0]:
                fail("exit 1, but the message does not name %s" % name)
            elif name is None and not (lines[0].startswith("crashpipe: -:") or "stdin" in lines[0]):
                fail("exit 1 on stdin, but the message names neither '-' nor stdin")
            else:
                stats["clean_errors"] += 1
            continue
        fail("exit status %d (want 0 or 1)" % rc)

    for f in failures:
        print("FAILED " + f)
    if times:
        print("slowest: " + ", ".join("%s %.2f s" % (r, t) for t, r in sorted(times, reverse=True)[:5]))
    print("hostile: %d runs: %d reports (%d partial, %d complete with notes), %d clean errors, %d failures"
          % (stats["runs"], stats["reports"], stats["partial"], stats["notes_only"],
             stats["clean_errors"], len(failures)))
    return 1 if failures else 0


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("core")
    mk.add_argument("outdir")
    mk.add_argument("--plant-dir")
    mk.add_argument("--fuzz", type=int, default=200)
    mk.add_argument("--seed", type=int, default=20250101)
    mk.add_argument("--every", type=int, default=1)
    mk.add_argument("--fuzz-stack", action="store_true")
    ck = sub.add_parser("check")
    ck.add_argument("results")
    th = sub.add_parser("threads")
    th.add_argument("core")
    th.add_argument("out")
    th.add_argument("n", type=int)
    cy = sub.add_parser("cycle")
    cy.add_argument("core")
    cy.add_argument("out")
    cy.add_argument("length", type=int)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args)
        return 0
    if args.cmd == "threads":
        with open(args.core, "rb") as f:
            data = f.read()
        with open(args.out, "wb") as f:
            f.write(more_threads(Core(data), args.n))
        return 0
    if args.cmd == "cycle":
        with open(args.core, "rb") as f:
            c = Core(f.read())
        edits = stack_cycle(c, args.length)
        if edits is None:
            print("mutate-core.py: %s: the crashed thread has no frame-pointer chain of %d frames"
                  % (args.core, args.length + 1), file=sys.stderr)
            return 1
        Mutants(os.path.dirname(args.out) or ".").patch(c, os.path.basename(args.out), "cycle", edits)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
