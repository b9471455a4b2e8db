#!/bin/bash
# build.sh - build the programs of the foreign-core corpus (tests/foreign/foreign.c,
# foreign-inline.cc), each with the root it runs in, for tests/run-foreign-corpus.sh.
#
# usage: tests/foreign/build.sh [OUTDIR]
#
# The variants (NAME: how it is built):
#   bullseye-pie     foreign.c with Debian 11's gcc 10 and glibc 2.31, in a chroot of it
#   bullseye-inline  foreign-inline.cc with Debian 11's g++ at -O2, likewise
#   musl-static      foreign.c with musl-gcc -static (Debian's musl-tools)
#   glibc-static     foreign.c with gcc -static
#   nopie            foreign.c with gcc -no-pie (an ET_EXEC at 0x400000)
#   clang            foreign.c with clang -O2
#   fponly           foreign.c with -fno-asynchronous-unwind-tables -fno-unwind-tables
#                    -fno-omit-frame-pointer: no CFI in the executable, frame pointers only
#   inline           foreign-inline.cc with the host's g++ at -O2 (deep inlining)
# All with -g and -pthread (threads). Each variant NAME is in OUTDIR/NAME/:
#   root/     the tree it runs in (chroot root/ /prog): /prog and, for a dynamic program,
#             its ld.so and libraries at the paths its loader opens them from (the files
#             themselves at their real paths, symlinks for the names), taken from the
#             chroot for the bullseye ones and from the host for the others
#   moddir/   flat copies of the same files, named as their real paths end (prog, libc-2.31.so,
#             ...): what a user copies off a build server for --exe/--module-dir
#   debug/    .build-id/NN/REST.debug: the separate debuginfo of those files where the system
#             they come from has it (the host's libc6-dbg, the chroot's), also in
#             root/usr/lib/debug/.build-id/: what --debug-dir and a --sysroot's /usr/lib/debug hold
#   buildid/  .build-id/NN/REST links to those files and to their .debug (eu-stack
#             --debuginfo-path finds a module there by build-id when the core's path names no
#             such file on this host)
#   src       the source file's name (foreign.c or foreign-inline.cc)
# Prints one line per variant: "NAME DIR" or "NAME SKIP: why" (a missing toolchain, no
# network for the chroot); exit 0 unless nothing at all could be built (1) or bad usage (2).
#
# Cached by content: the key hashes the sources, this script, the compilers' versions and
# the chroot's; a complete build is kept in $CRASHPIPE_FOREIGN_CACHE/build/KEY (default
# /var/tmp/crashpipe-foreign-cache) and copied to OUTDIR. The bullseye chroot
# (debootstrap --variant=minbase --include=gcc,libc6-dev,g++,libc6-dbg bullseye: its glibc
# debuginfo, for the inline frames inside libc) is made once, in
# $CRASHPIPE_FOREIGN_CACHE/chroot-bullseye, and kept (CRASHPIPE_FOREIGN_MIRROR overrides
# the mirror, default http://deb.debian.org/debian).
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CRASHPIPE_FOREIGN_CACHE:-/var/tmp/crashpipe-foreign-cache}
mirror=${CRASHPIPE_FOREIGN_MIRROR:-http://deb.debian.org/debian}
[ $# -le 1 ] || { echo "usage: build.sh [OUTDIR]" >&2; exit 2; }
out=${1:-}

die() { echo "build.sh: $*" >&2; exit 2; }
mkdir -p "$cache" || die "cannot create $cache"
[ -O "$cache" ] || die "$cache is not owned by $(id -un): refusing to build in it"
chmod 755 "$cache"
cache=$(cd "$cache" && pwd)

# ---------------------------------------------------------------- the bullseye chroot
chroot_dir=$cache/chroot-bullseye
chroot_why=
make_chroot() {
	[ -e "$chroot_dir/.complete" ] && return 0
	[ "$(id -u)" = 0 ] || { chroot_why="debootstrap and chroot need root"; return 1; }
	command -v debootstrap >/dev/null || { chroot_why="debootstrap is not installed"; return 1; }
	rm -rf "$chroot_dir.new"
	if ! debootstrap --variant=minbase --include=gcc,libc6-dev,g++,libc6-dbg bullseye "$chroot_dir.new" \
		"$mirror" >"$cache/debootstrap.log" 2>&1; then
		chroot_why="debootstrap bullseye from $mirror failed (see $cache/debootstrap.log)"
		rm -rf "$chroot_dir.new"
		return 1
	fi
	rm -rf "$chroot_dir"
	mv "$chroot_dir.new" "$chroot_dir" && touch "$chroot_dir/.complete"
}
have_chroot=0
make_chroot && have_chroot=1

# ---------------------------------------------------------------- the cache key
key=$(
	{
		for f in foreign.c foreign-inline.cc build.sh; do
			echo "== $f"
			cat "$here/$f"
		done
		for c in gcc g++ clang musl-gcc; do
			echo "== $c"
			command -v "$c" >/dev/null && "$c" --version 2>/dev/null | head -1
		done
		ldd --version | head -1
		[ "$have_chroot" = 1 ] && chroot "$chroot_dir" gcc --version | head -1 &&
			chroot "$chroot_dir" dpkg-query -W libc6 libc6-dbg g++
		uname -m
	} | sha256sum | cut -c1-16
) || die "cannot hash the sources"
build=$cache/build/$key

# ---------------------------------------------------------------- one variant
# lay_out VARIANT_DIR FROM: root/ moddir/ buildid/ from VARIANT_DIR/prog, with the dynamic
# loader's files taken from the tree FROM (/ for the host, the chroot for bullseye).
lay_out() {
	local d=$1 from=$2 lib real rel id
	mkdir -p "$d/root" "$d/moddir" "$d/buildid"
	mv "$d/prog" "$d/root/prog"
	cp "$d/root/prog" "$d/moddir/prog"
	local libs=()
	if LC_ALL=C readelf -l "$d/root/prog" | grep -q 'INTERP'; then
		# ldd of the tree the program comes from: "name => /path (addr)" or "/path (addr)"
		if [ "$from" = / ]; then
			mapfile -t libs < <(ldd "$d/root/prog" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p')
		else
			cp "$d/root/prog" "$from/tmp/cpf-prog.$$"
			mapfile -t libs < <(chroot "$from" ldd "/tmp/cpf-prog.$$" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p')
			rm -f "$from/tmp/cpf-prog.$$"
		fi
		[ ${#libs[@]} -gt 0 ] || return 1
	fi
	for lib in "${libs[@]}"; do
		if [ "$from" = / ]; then
			real=$(readlink -f "$lib")
		else
			real=$(chroot "$from" readlink -f "$lib")
		fi
		[ -n "$real" ] && [ -f "$from$real" ] || return 1
		mkdir -p "$d/root$(dirname "$real")" "$d/root$(dirname "$lib")"
		cp "${from%/}$real" "$d/root$real"
		cp "${from%/}$real" "$d/moddir/$(basename "$real")"
		[ "$lib" = "$real" ] || ln -sfnr "$d/root$real" "$d/root$lib"	# relative: right from outside too
	done
	local dbg rel
	mkdir -p "$d/debug"
	for f in "$d/moddir"/*; do
		id=$(LC_ALL=C readelf -n "$f" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p')
		[ -n "$id" ] || continue
		rel=.build-id/${id:0:2}/${id:2}
		mkdir -p "$d/buildid/.build-id/${id:0:2}"
		ln -sfn "../../../moddir/$(basename "$f")" "$d/buildid/$rel"
		dbg=${from%/}/usr/lib/debug/$rel.debug
		[ -f "$dbg" ] || continue
		mkdir -p "$d/debug/.build-id/${id:0:2}" "$d/root/usr/lib/debug/.build-id/${id:0:2}"
		cp "$(readlink -f "$dbg")" "$d/debug/$rel.debug"
		cp "$d/debug/$rel.debug" "$d/root/usr/lib/debug/$rel.debug"
		ln -sfn "../../../debug/$rel.debug" "$d/buildid/$rel.debug"
	done
	mkdir -p "$d/root/tmp"
	chmod -R a+rX "$d"
}

# variant NAME SRC WHERE COMPILER FLAGS...: WHERE is host or bullseye.
variant() {
	local name=$1 src=$2 where=$3 cc=$4 d=$build.new/$1
	shift 4
	mkdir -p "$d"
	echo "$src" >"$d/src"
	if [ "$where" = bullseye ]; then
		if [ "$have_chroot" = 0 ]; then
			echo "SKIP: $chroot_why" >"$d/skip"
			return
		fi
		mkdir -p "$chroot_dir/tmp/cpf-src"
		cp "$here/$src" "$chroot_dir/tmp/cpf-src/$src"
		if ! chroot "$chroot_dir" "$cc" -o /tmp/cpf-src/prog "/tmp/cpf-src/$src" "$@" \
			>"$d/build.log" 2>&1; then
			echo "SKIP: bullseye's $cc failed: $(tail -1 "$d/build.log")" >"$d/skip"
			return
		fi
		mv "$chroot_dir/tmp/cpf-src/prog" "$d/prog"
		rm -rf "$chroot_dir/tmp/cpf-src"
		lay_out "$d" "$chroot_dir" || echo "SKIP: cannot lay out its root from the chroot" >"$d/skip"
		return
	fi
	if ! command -v "$cc" >/dev/null; then
		echo "SKIP: $cc is not installed" >"$d/skip"
		return
	fi
	if ! "$cc" -o "$d/prog" "$here/$src" "$@" >"$d/build.log" 2>&1; then
		echo "SKIP: $cc failed: $(tail -1 "$d/build.log")" >"$d/skip"
		return
	fi
	lay_out "$d" / || echo "SKIP: cannot lay out its root" >"$d/skip"
}

C_FLAGS=(-g -O2 -pthread -fno-optimize-sibling-calls)
CXX_FLAGS=(-g -O2 -pthread)
if [ ! -e "$build/.complete" ]; then
	rm -rf "$build.new"
	mkdir -p "$build.new"
	variant bullseye-pie foreign.c bullseye gcc "${C_FLAGS[@]}"
	variant bullseye-inline foreign-inline.cc bullseye g++ "${CXX_FLAGS[@]}"
	variant musl-static foreign.c host musl-gcc -static "${C_FLAGS[@]}"
	variant glibc-static foreign.c host gcc -static "${C_FLAGS[@]}"
	variant nopie foreign.c host gcc -no-pie -fno-pie "${C_FLAGS[@]}"
	variant clang foreign.c host clang "${C_FLAGS[@]}"
	variant fponly foreign.c host gcc -g -O1 -pthread -fno-optimize-sibling-calls \
		-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-omit-frame-pointer
	variant inline foreign-inline.cc host g++ "${CXX_FLAGS[@]}"
	# a bullseye variant skipped for want of the chroot is not cached: next time may have it
	if [ "$have_chroot" = 1 ]; then
		rm -rf "$build" && mv "$build.new" "$build" && touch "$build/.complete"
	else
		build=$build.new
	fi
fi

if [ -n "$out" ]; then
	mkdir -p "$out" || die "cannot create $out"
	out=$(cd "$out" && pwd)
	if [ "$(cat "$out/.key" 2>/dev/null)" != "$key" ]; then
		find "$out" -mindepth 1 -delete
		cp -a "$build/." "$out/" && echo "$key" >"$out/.key" || die "cannot copy to $out"
	fi
else
	out=$build
fi
built=0
for d in "$out"/*/; do
	name=$(basename "$d")
	if [ -e "$d/skip" ]; then
		echo "$name $(cat "$d/skip")"
	else
		echo "$name ${d%/}"
		built=$((built + 1))
	fi
done
[ "$built" -gt 0 ]
