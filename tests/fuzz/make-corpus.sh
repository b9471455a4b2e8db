#!/bin/bash
# make-corpus.sh - remake the committed seed corpora in tests/fuzz/corpus/, as root:
#
#   tests/fuzz/make-corpus.sh BUILDDIR
#
# BUILDDIR is a --enable-fuzz build (for tests/fuzz/gen-symcache). The cores are real
# kernel cores of tiny-crasher.c (one and two threads), written through core_pattern with
# the tests' lock held and the old pattern restored (tests/test-subr.sh); each is kept
# zstd-compressed whole, and plain cut after its notes and a little after. gdb's gcore of
# the same program stopped at its fault gives the other layout (memory first, notes last):
# kept zstd-compressed, and for one thread plain as well. The symcaches
# are written by cp_symcache_build() for two small libc libraries. The hints are text,
# kept in the tree as they are (corpus/hint/ is not remade here).
set -u
here=$(cd "$(dirname "$0")" && pwd)
builddir=$(cd "$1" && pwd)
corpus=$here/corpus
srcdir=$here/..
abs_srcdir=$srcdir
abs_top_builddir=$builddir
export srcdir abs_srcdir abs_top_builddir
. "$here/../test-subr.sh"


need zstd
need python3
cc -static -nostdlib -O1 -fno-stack-protector -o tiny-crasher "$here/tiny-crasher.c" || fail "cannot build tiny-crasher"

# Offset just past the last PT_NOTE of core $1.
notes_end() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
phoff, = struct.unpack_from("<Q", d, 32)
phnum, = struct.unpack_from("<H", d, 56)
end = 0
for i in range(phnum):
	t, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", d, phoff + 56 * i)
	if t == 4:
		end = max(end, off + filesz)
print(end)
PY
}

rm -rf "$corpus/core" "$corpus/symcache"
mkdir -p "$corpus/core" "$corpus/symcache"
for t in 1 2; do
	args=()
	[ "$t" = 1 ] || args=(x)
	make_core core ./tiny-crasher "${args[@]}"
	zstd -q -19 -c "$core" >"$corpus/core/kernel-${t}thread.zst"
	end=$(notes_end "$core")
	head -c "$end" "$core" >"$corpus/core/kernel-${t}thread.notes"
	head -c $((end + 4096)) "$core" >"$corpus/core/kernel-${t}thread.head"
	echo "core: $t thread(s), $(stat -c %s "$core") bytes, notes end at $end"
done

need gdb
for t in 1 2; do
	args=()
	[ "$t" = 1 ] || args=(x)
	rm -f "gcore-$t.core"
	timeout 60 gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex run \
		-ex "gcore $PWD/gcore-$t.core" -ex kill --args ./tiny-crasher "${args[@]}" >"gcore-$t.log" 2>&1
	[ -s "gcore-$t.core" ] || fail "gdb wrote no gcore: $(tail -3 "gcore-$t.log")"
	zstd -q -19 -c "gcore-$t.core" >"$corpus/core/gcore-${t}thread.zst"
	[ "$t" != 1 ] || cp "gcore-$t.core" "$corpus/core/gcore-${t}thread"
	echo "gcore: $t thread(s), $(stat -c %s "gcore-$t.core") bytes"
done

mkdir -p sym
"$builddir/tests/fuzz/gen-symcache" sym /lib/x86_64-linux-gnu/libdl.so.2 \
	/lib/x86_64-linux-gnu/libresolv.so.2 | while read -r f; do
	cp "$f" "$corpus/symcache/$(basename "$(dirname "$f")")$(basename "$f")"
done
du -sh "$corpus"/*
