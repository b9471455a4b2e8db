#!/bin/bash
# run-debuginfod.sh - `crashpipe analyze` fetching what it cannot find from a real debuginfod
# server (Debian's debuginfod, on this machine, queried at 127.0.0.1).
#
# A PIE (shlib_main) with a library of its own (libcrash.so) crashes in the library; the
# kernel writes the core; the two files are removed. The server scans a directory holding
# their stripped copies and their separate debug files (objcopy --only-keep-debug). Then
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

# --- 1. fetched: the same frames as gdb's ---------------------------------------------------
DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$test_dir/cache1 \
	"$CRASHPIPE" analyze --no-dac "$core" -o fetched.json 2>fetched.err || fail "analyze failed: $(cat fetched.err)"
python3 "$abs_srcdir/compare-lines.py" --name debuginfod fetched.json gdb.json >fetched.cmp ||
	check_failed "fetched from debuginfod: frames differ from gdb's: $(cat fetched.cmp)"
head -1 fetched.cmp
for m in /shlib_main /libcrash.so; do
	expect "$m: source" "$(module fetched.json $m | jq -r .source)" debuginfod
	expect "$m: debuginfo_source" "$(module fetched.json $m | jq -r .debuginfo_source)" debuginfod
	expect "$m: build-id match" "$(module fetched.json $m | jq -r .file_build_id_match)" true
done
expect "libc: source (the root's)" "$(module fetched.json /libc.so.6 | jq -r .source)" root
[ -n "$(ls cache1/"$exe_id" 2>/dev/null)" ] || check_failed "nothing in the client's cache for $exe_id"

# --- 2. not asked: nothing fetched ----------------------------------------------------------
DEBUGINFOD_URLS=$url DEBUGINFOD_CACHE_PATH=$test_dir/cache2 \
	"$CRASHPIPE" analyze --no-dac --no-debuginfod "$core" -o nofetch.json 2>nofetch.err ||
	fail "analyze --no-debuginfod failed: $(cat nofetch.err)"
expect "--no-debuginfod: lib_crash_inner" "$(frame_named nofetch.json lib_crash_inner)" null
expect "--no-debuginfod: source" "$(module nofetch.json /libcrash.so | jq -r .source)" null
DEBUGINFOD_CACHE_PATH=$test_dir/cache3 "$CRASHPIPE" analyze --no-dac "$core" -o nourls.json 2>nourls.err ||
	fail "analyze without DEBUGINFOD_URLS failed: $(cat nourls.err)"
expect "no DEBUGINFOD_URLS: lib_crash_inner" "$(frame_named nourls.json lib_crash_inner)" null
[ ! -e cache2 ] && [ ! -e cache3 ] || check_failed "a client cache was made without a fetch"

# --- 3. a server that answers with the wrong file -------------------------------------------
mkdir -p "liar/buildid/$exe_id" "liar/buildid/$lib_id"
cp rebuilt "liar/buildid/$exe_id/executable"
cp served/libcrash.so "liar/buildid/$lib_id/executable"
cp served/libcrash.so.debug "liar/buildid/$lib_id/debuginfo"
lport=$(free_port)
start_server liar python3 -m http.server --bind 127.0.0.1 --directory "$test_dir/liar" "$lport"
wait_served "http://127.0.0.1:$lport/buildid/$exe_id/executable"
DEBUGINFOD_URLS=http://127.0.0.1:$lport DEBUGINFOD_CACHE_PATH=$test_dir/cache4 \
	"$CRASHPIPE" analyze --no-dac "$core" -o liar.json 2>liar.err || fail "analyze failed: $(cat liar.err)"
expect "wrong file: build-id match" "$(module liar.json /shlib_main | jq -r .file_build_id_match)" false
expect "wrong file: source" "$(module liar.json /shlib_main | jq -r .source)" null
expect "wrong file: the module's build-id is the core's" "$(module liar.json /shlib_main | jq -r .build_id)" "$exe_id"
expect "wrong file: call_library" "$(frame_named liar.json call_library)" null
jq -e --arg id "$new_id" '[.notes[] | select(contains("debuginfod") and contains($id) and contains("not used"))] | length == 1' \
	liar.json >/dev/null || check_failed "wrong file: no note refusing it: $(jq -c .notes liar.json)"
# The library it serves right is used.
expect "wrong file: the library's source" "$(module liar.json /libcrash.so | jq -r .source)" debuginfod
expect "wrong file: lib_crash_inner's line" "$(jq -r '.threads[0].frames[0].line' liar.json)" \
	"$(marker_line libcrash.c CRASH-LINE)"

checks_done
