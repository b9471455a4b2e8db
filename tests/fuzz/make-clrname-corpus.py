#!/usr/bin/env python3
"""make-clrname-corpus.py - remake tests/fuzz/corpus/clrname/ (seeds of fuzz-clrname):

    tests/fuzz/make-clrname-corpus.py ASSEMBLY...

Each ASSEMBLY (the test app's Crasher.dll, built by tests/dotnet/build.sh) gives one seed
'M' + its metadata root (the bytes the CLI header's MetaData directory names); the DAC
names below give one seed each, 'D' + the name."""
import os
import struct
import sys

DAC_NAMES = [
    "Crasher.Program.MainLevel3(Int32)",
    "Crasher.Program+<>c__DisplayClass31_1.<RunThreads100>b__0()",
    "Crasher.Outer`1[[System.__Canon, System.Private.CoreLib]].Inner[[System.Int32, System.Private.CoreLib]](Int32, System.__Canon, Int32)",
    "System.Threading.Monitor.Wait(System.Object, Int32, System.Threading.StackCrawlMark ByRef)",
    "Orders+<FireAndForget>d__0.MoveNext()",
    "Ns.Sub.Boom..ctor(Int32)",
]


def metadata_root(data):
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe:pe + 4] == b"PE\0\0"
    n_sections = struct.unpack_from("<H", data, pe + 6)[0]
    opt_size = struct.unpack_from("<H", data, pe + 20)[0]
    opt = pe + 24
    magic = struct.unpack_from("<H", data, opt)[0]
    dirs = opt + (96 if magic == 0x10B else 112)
    cli_rva, _ = struct.unpack_from("<II", data, dirs + 14 * 8)
    sections = []
    for i in range(n_sections):
        s = opt + opt_size + 40 * i
        vsize, vaddr, raw_size, raw_ofs = struct.unpack_from("<IIII", data, s + 8)
        sections.append((vaddr, max(vsize, raw_size), raw_ofs))

    def off(rva):
        for vaddr, size, raw in sections:
            if vaddr <= rva < vaddr + size:
                return rva - vaddr + raw
        raise ValueError("RVA 0x%x in no section" % rva)

    md_rva, md_size = struct.unpack_from("<II", data, off(cli_rva) + 8)
    return data[off(md_rva):off(md_rva) + md_size]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "clrname")
    os.makedirs(out, exist_ok=True)
    for i, name in enumerate(DAC_NAMES):
        with open(os.path.join(out, "dac-%d" % i), "wb") as f:
            f.write(b"D" + name.encode())
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            root = metadata_root(f.read())
        with open(os.path.join(out, "md-" + os.path.basename(path)), "wb") as f:
            f.write(b"M" + root)


if __name__ == "__main__":
    main()
