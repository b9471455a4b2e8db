#!/bin/bash
# run-debuginfod.sh - `crashpipe analyze` fetching what it cannot find from a real debuginfod
# server (Debian's debuginfod, on this machine, queried at 127.0.0.1).
#
# A PIE (shlib_main) with a library of its own (libcrash.so) crashes in the library; the
# kernel writes the core; the two files are removed. The server scans a directory holding
# their stripped copies and their separate debug files (objcopy --only-keep-debug). Then
#  0. analyze run as root fetches nothing (threats.md T19), a note says so; the rest runs as
#     nobody (setpriv);
#  1. with DEBUGINFOD_URLS naming it, analyze gives gdb's frames (gdb on the originals, before
#     they went): the same addresses, functions and lines (tests/compare-lines.py); both
#     modules' source and debuginfo_source are "debuginfod", their build-ids match;
#  2. with --no-debuginfod, or without DEBUGINFOD_URLS, nothing is fetched: no symbols;
#  3. a server that answers for the executable's build-id with another file (a rebuilt
#     executable: another build-id) is not believed: a note refuses it, file_build_id_match
#     false, no symbols from it. (A debuginfod indexes files by their own build-id and
#     cannot be made to lie; this server is python's http.server over a directory laid out
#     as debuginfod's web API, /buildid/ID/executable.)
# Every server is killed when the test exits.
. "${srcdir:-.}/test-subr.sh"

need gdb
need setpriv
need python3
need jq
need objcopy
need strip
need readelf
need debuginfod
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
grep -q '^#define HAVE_DEBUGINFOD 1' "$abs_top_builddir/config.h" 2>/dev/null ||
	skip "crashpipe is built without libdebuginfod (configure --with-debuginfod; Debian libdebuginfod-dev)"

unset DEBUGINFOD_URLS
export DEBUGINFOD_TIMEOUT=20 DEBUGINFOD_RETRY_LIMIT=1

# free_port: a TCP port nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_served URL: until URL answers 200 (the server has scanned), at most 60 s.
wait_served() {
	python3 - "$1" <<'EOF' || fail "the server never served $1: $(tail -5 debuginfod.log 2>/dev/null)"
import sys, time, urllib.request
for _ in range(600):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}
# start_server VAR CMD...: run CMD in the background, its pid in VAR, killed on exit.
start_server() {
	local __v=$1
	shift
	"$@" >>"debuginfod.log" 2>&1 &
	printf -v "$__v" '%s' "$!"
	at_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
}
module() { jq -c --arg p "$2" '[.modules[] | select(.path | endswith($p))][0]' "$1"; }
frame_named() { jq -c --arg f "$2" '[.threads[0].frames[] | select(.function == $f)][0]' "$1"; }
expect() {
	[ "$2" = "$3" ] || check_failed "$1: got '$2', want '$3'"
}

build_shlib_crasher $CORPUS_CFLAGS
make_core core ./shlib_main
exe_id=$(build_id shlib_main)
lib_id=$(build_id libcrash.so)
[ -n "$exe_id" ] && [ -n "$lib_id" ] || fail "no build-id in shlib_main or libcrash.so"

# gdb on the originals, while they are there.
gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
	-ex "py out_path = '$test_dir/gdb.json'" -x "$abs_srcdir/gdb-lines.py" ./shlib_main "$core" >gdb.log 2>&1
[ "$(jq -r '.threads[0].frames[0].function' gdb.json 2>/dev/null)" = lib_crash_inner ] ||
	fail "gdb did not find libcrash.so's symbols: $(tail -5 gdb.log)"

# What the server has: stripped files and their debug files, nothing else.
mkdir -p served
for f in shlib_main libcrash.so; do
	objcopy --only-keep-debug "$f" "served/$f.debug"
	strip --strip-all -o "served/$f" "$f"
done
# A rebuilt executable, for the lying server below.
${CC:-cc} -g -O1 -o rebuilt "$abs_srcdir/crashers/shlib_main.c" -fPIE -pie -L. -lcrash || fail "cannot rebuild shlib_main"
new_id=$(build_id rebuilt)
[ "$new_id" != "$exe_id" ] || fail "the rebuilt executable has the same build-id"
rm shlib_main libcrash.so

port=$(free_port)
start_server server debuginfod -F -p "$port" -d "$test_dir/debuginfod.sqlite" -t 0 -g 0 -c 1 "$test_dir/served"
url=http://127.0.0.1:$port
for id in "$exe_id" "$lib_id"; do
	wait_served "$url/buildid/$id/executable"
	wait_served "$url/buildid/$id/debuginfo"
done

# analyze fetches only as an ordinary user (threats.md T19): the fetching runs are nobody's,
# in out/ (theirs); the core and the test's files are readable by all.
chmod a+r "$core"
mkdir -m 755 out && chown 65534:65534 out || fail "cannot make out/ for nobody"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# --- 0. root: nothing fetched, and a note says why --------------------------------------------
DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$test_dir/cache0 \
	"$CRASHPIPE" analyze --no-dac "$core" -o root.json 2>root.err || fail "analyze as root failed: $(cat root.err)"
expect "root: lib_crash_inner" "$(frame_named root.json lib_crash_inner)" null
jq -e '[.notes[] | select(startswith("debuginfod: nothing fetched") and contains("root"))] | length == 1' root.json >/dev/null ||
	check_failed "root: no note saying nothing was fetched: $(jq -c .notes root.json)"
[ ! -e cache0 ] || check_failed "root: a client cache was made"

# --- 1. fetched: the same frames as gdb's ---------------------------------------------------
DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$test_dir/out/cache1 \
	as_nobody "$CRASHPIPE" analyze --no-dac "$core" -o out/fetched.json 2>out/fetched.err || fail "analyze failed: $(cat out/fetched.err)"
python3 "$abs_srcdir/compare-lines.py" --name debuginfod out/fetched.json gdb.json >out/fetched.cmp ||
	check_failed "fetched from debuginfod: frames differ from gdb's: $(cat out/fetched.cmp)"
head -1 out/fetched.cmp
for m in /shlib_main /libcrash.so; do
	expect "$m: source" "$(module out/fetched.json $m | jq -r .source)" debuginfod
	expect "$m: debuginfo_source" "$(module out/fetched.json $m | jq -r .debuginfo_source)" debuginfod
	expect "$m: build-id match" "$(module out/fetched.json $m | jq -r .file_build_id_match)" true
done
expect "libc: source (the root's)" "$(module out/fetched.json /libc.so.6 | jq -r .source)" root
[ -n "$(ls out/cache1/"$exe_id" 2>/dev/null)" ] || check_failed "nothing in the client's cache for $exe_id"

# --- 2. not asked: nothing fetched ----------------------------------------------------------
DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$test_dir/out/cache2 \
	as_nobody "$CRASHPIPE" analyze --no-dac --no-debuginfod "$core" -o out/nofetch.json 2>out/nofetch.err ||
	fail "analyze --no-debuginfod failed: $(cat out/nofetch.err)"
expect "--no-debuginfod: lib_crash_inner" "$(frame_named out/nofetch.json lib_crash_inner)" null
expect "--no-debuginfod: source" "$(module out/nofetch.json /libcrash.so | jq -r .source)" null
DEBUGINFOD_CACHE_PATH=$test_dir/out/cache3 as_nobody "$CRASHPIPE" analyze --no-dac "$core" -o out/nourls.json 2>out/nourls.err ||
	fail "analyze without DEBUGINFOD_URLS failed: $(cat out/nourls.err)"
expect "no DEBUGINFOD_URLS: lib_crash_inner" "$(frame_named out/nourls.json lib_crash_inner)" null
[ ! -e out/cache2 ] && [ ! -e out/cache3 ] || check_failed "a client cache was made without a fetch"

# --- 3. a server that answers with the wrong file -------------------------------------------
mkdir -p "liar/buildid/$exe_id" "liar/buildid/$lib_id"
cp rebuilt "liar/buildid/$exe_id/executable"
cp served/libcrash.so "liar/buildid/$lib_id/executable"
cp served/libcrash.so.debug "liar/buildid/$lib_id/debuginfo"
lport=$(free_port)
start_server liar python3 -m http.server --bind 127.0.0.1 --directory "$test_dir/liar" "$lport"
wait_served "http://127.0.0.1:$lport/buildid/$exe_id/executable"
DEBUGINFOD_URLS=http://127.0.0.1:$lport DEBUGINFOD_CACHE_PATH=$test_dir/out/cache4 \
	as_nobody "$CRASHPIPE" analyze --no-dac "$core" -o out/liar.json 2>out/liar.err || fail "analyze failed: $(cat out/liar.err)"
expect "wrong file: build-id match" "$(module out/liar.json /shlib_main | jq -r .file_build_id_match)" false
expect "wrong file: source" "$(module out/liar.json /shlib_main | jq -r .source)" null
expect "wrong file: the module's build-id is the core's" "$(module out/liar.json /shlib_main | jq -r .build_id)" "$exe_id"
expect "wrong file: call_library" "$(frame_named out/liar.json call_library)" null
jq -e --arg id "$new_id" '[.notes[] | select(contains("debuginfod") and contains($id) and contains("not used"))] | length == 1' \
	out/liar.json >/dev/null || check_failed "wrong file: no note refusing it: $(jq -c .notes out/liar.json)"
# The library it serves right is used.
expect "wrong file: the library's source" "$(module out/liar.json /libcrash.so | jq -r .source)" debuginfod
expect "wrong file: lib_crash_inner's line" "$(jq -r '.threads[0].frames[0].line' out/liar.json)" \
	"$(marker_line libcrash.c CRASH-LINE)"

checks_done
