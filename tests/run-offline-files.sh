#!/bin/bash
# run-offline-files.sh - `crashpipe analyze` told where the files are: --exe, --module-dir,
# --debug-dir, on a real kernel core whose executable and library are no longer where the
# process had them.
#
# A PIE (shlib_main) with a shared library of its own (libcrash.so) crashes in the library;
# the kernel writes the core; both files are moved into another directory. Then
#  1. analyze --exe X --module-dir D gives the frames gdb gives with the same files (its
#     sysroot made useless, D and the system's library directory as its solib-search-path):
#     the same addresses, functions and lines, every frame (tests/gdb-lines.py,
#     tests/compare-lines.py); the modules say where their files came from ("exe",
#     "module-dir", "root"). Without the options the frames in those files have no symbols.
#  2. the same with both files stripped and their DWARF in a --debug-dir (the executable's
#     by build-id, .build-id/XX/REST.debug; the library's by its .gnu_debuglink name): the
#     same functions and lines, debuginfo_source "debug-dir"; without it, no lines.
#  3. a rebuilt executable (another build-id) in the --module-dir, or as --exe, is refused:
#     a note naming it, file_build_id_match false, no symbols from it.
#  4. a nonexistent or wrong --exe / --module-dir / --debug-dir: exit non-zero and one line
#     naming it on stderr.
. "${srcdir:-.}/test-subr.sh"

need gdb
need python3
need jq
need objcopy
need strip
need readelf
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

LIBDIR=$(dirname "$(${CC:-cc} -print-file-name=libc.so.6)")
[ -f "$LIBDIR/libc.so.6" ] || LIBDIR=/lib/x86_64-linux-gnu

build_shlib_crasher $CORPUS_CFLAGS
make_core core ./shlib_main
tid=$(crash_tid shlib_main)
exe_id=$(build_id shlib_main)
lib_id=$(build_id libcrash.so)
[ -n "$exe_id" ] && [ -n "$lib_id" ] || fail "no build-id in shlib_main or libcrash.so"

# The originals go: the core's paths name nothing any more.
mkdir -p files
mv shlib_main libcrash.so files/
[ ! -e shlib_main ] && [ ! -e libcrash.so ] || fail "the originals are still there"

# module JSON PATH-SUFFIX: the report's module whose path ends with PATH-SUFFIX.
module() { jq -c --arg p "$2" '[.modules[] | select(.path | endswith($p))][0]' "$1"; }
# function_of JSON FUNC: the frame of the crashed thread named FUNC, or null.
frame_named() { jq -c --arg f "$2" '[.threads[0].frames[] | select(.function == $f)][0]' "$1"; }
expect() {	# expect WHAT ACTUAL WANTED
	[ "$2" = "$3" ] || check_failed "$1: got '$2', want '$3'"
}

# --- gdb, given the same files --------------------------------------------------------------
gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
	-ex 'set sysroot /nonexistent' -ex "set solib-search-path $test_dir/files:$LIBDIR" \
	-ex "py out_path = '$test_dir/gdb.json'" -x "$abs_srcdir/gdb-lines.py" \
	files/shlib_main "$core" >gdb.log 2>&1
[ -s gdb.json ] || fail "gdb-lines.py wrote nothing: $(tail -5 gdb.log)"
# gdb itself must have found the files: the crash is in lib_crash_inner at its line.
[ "$(jq -r '.threads[0].frames[0].function' gdb.json)" = lib_crash_inner ] ||
	fail "gdb did not find libcrash.so's symbols: $(tail -5 gdb.log)"

# --- 1. --exe and --module-dir --------------------------------------------------------------
"$CRASHPIPE" analyze --no-dac "$core" -o plain.json 2>plain.err || fail "analyze without options failed: $(cat plain.err)"
expect "no options: lib_crash_inner" "$(frame_named plain.json lib_crash_inner)" null
expect "no options: libcrash.so's source" "$(module plain.json /libcrash.so | jq -r .source)" null

"$CRASHPIPE" analyze --no-dac --exe files/shlib_main --module-dir files "$core" -o files.json 2>files.err ||
	fail "analyze --exe --module-dir failed: $(cat files.err)"
python3 "$abs_srcdir/compare-lines.py" --name module-dir files.json gdb.json >files.cmp ||
	check_failed "--exe --module-dir: frames differ from gdb's: $(cat files.cmp)"
head -1 files.cmp
expect "the executable's source" "$(module files.json /shlib_main | jq -r .source)" exe
expect "the library's source" "$(module files.json /libcrash.so | jq -r .source)" module-dir
expect "libc's source" "$(module files.json /libc.so.6 | jq -r .source)" root
expect "the executable's build-id match" "$(module files.json /shlib_main | jq -r .file_build_id_match)" true
expect "the library's build-id match" "$(module files.json /libcrash.so | jq -r .file_build_id_match)" true
# Its own DWARF: no separate debuginfo, so no debuginfo_source either.
expect "the library's debuginfo_source (its own DWARF)" \
	"$(module files.json /libcrash.so | jq -r .debuginfo_source)" null
expect "crashed thread" "$(jq -r .process.tid files.json)" "$tid"

# --module-dir alone finds the executable by its build-id too.
"$CRASHPIPE" analyze --no-dac --module-dir files "$core" -o dir.json 2>dir.err ||
	fail "analyze --module-dir failed: $(cat dir.err)"
python3 "$abs_srcdir/compare-lines.py" --name module-dir-only dir.json gdb.json >dir.cmp ||
	check_failed "--module-dir alone: frames differ from gdb's: $(cat dir.cmp)"
head -1 dir.cmp
expect "--module-dir alone: the executable's source" "$(module dir.json /shlib_main | jq -r .source)" module-dir

# --- 2. stripped files, their DWARF in a --debug-dir ----------------------------------------
mkdir -p stripped "debug/.build-id/${exe_id:0:2}"
objcopy --only-keep-debug files/shlib_main "debug/.build-id/${exe_id:0:2}/${exe_id:2}.debug"
objcopy --only-keep-debug files/libcrash.so debug/libcrash.so.debug
strip --strip-all -o stripped/shlib_main files/shlib_main
strip --strip-all -o stripped/libcrash.so.tmp files/libcrash.so
objcopy --add-gnu-debuglink=debug/libcrash.so.debug stripped/libcrash.so.tmp stripped/libcrash.so
rm stripped/libcrash.so.tmp
[ "$(build_id stripped/shlib_main)" = "$exe_id" ] || fail "strip changed the build-id"

"$CRASHPIPE" analyze --no-dac --exe stripped/shlib_main --module-dir stripped "$core" -o nodebug.json \
	2>nodebug.err || fail "analyze of the stripped files failed: $(cat nodebug.err)"
expect "stripped, no --debug-dir: lib_crash_inner's line" \
	"$(jq -r '.threads[0].frames[0].line' nodebug.json)" null

"$CRASHPIPE" analyze --no-dac --exe stripped/shlib_main --module-dir stripped --debug-dir debug "$core" \
	-o debug.json 2>debug.err || fail "analyze --debug-dir failed: $(cat debug.err)"
python3 "$abs_srcdir/compare-lines.py" --name debug-dir debug.json gdb.json >debug.cmp ||
	check_failed "--debug-dir: frames differ from gdb's: $(cat debug.cmp)"
head -1 debug.cmp
expect "the executable's debuginfo_source" "$(module debug.json /shlib_main | jq -r .debuginfo_source)" debug-dir
expect "the library's debuginfo_source" "$(module debug.json /libcrash.so | jq -r .debuginfo_source)" debug-dir
expect "the executable's debuginfo" "$(module debug.json /shlib_main | jq -r .debuginfo)" \
	"debug/.build-id/${exe_id:0:2}/${exe_id:2}.debug"
expect "the library's debuginfo" "$(module debug.json /libcrash.so | jq -r .debuginfo)" debug/libcrash.so.debug

# --- 3. a rebuilt executable: another build-id, refused -------------------------------------
mkdir -p rebuilt
${CC:-cc} -g -O1 -o rebuilt/shlib_main "$abs_srcdir/crashers/shlib_main.c" -fPIE -pie -Lfiles -lcrash ||
	fail "cannot rebuild shlib_main"
cp files/libcrash.so rebuilt/
new_id=$(build_id rebuilt/shlib_main)
[ "$new_id" != "$exe_id" ] || fail "the rebuilt executable has the same build-id"
for how in module-dir exe; do
	if [ $how = exe ]; then
		args=(--exe rebuilt/shlib_main)
	else
		args=(--module-dir rebuilt)
	fi
	"$CRASHPIPE" analyze --no-dac "${args[@]}" "$core" -o "rebuilt-$how.json" 2>"rebuilt-$how.err" ||
		fail "analyze with the rebuilt executable (--$how) failed: $(cat "rebuilt-$how.err")"
	expect "rebuilt (--$how): build-id match" \
		"$(module "rebuilt-$how.json" /shlib_main | jq -r .file_build_id_match)" false
	expect "rebuilt (--$how): the module's build-id is the core's" \
		"$(module "rebuilt-$how.json" /shlib_main | jq -r .build_id)" "$exe_id"
	expect "rebuilt (--$how): source" "$(module "rebuilt-$how.json" /shlib_main | jq -r .source)" null
	expect "rebuilt (--$how): call_library (from the refused file)" \
		"$(frame_named "rebuilt-$how.json" call_library)" null
	jq -e --arg id "$new_id" --arg how "--$how" \
		'[.notes[] | select(contains($how) and contains("rebuilt/shlib_main") and contains($id) and contains("not used"))] | length == 1' \
		"rebuilt-$how.json" >/dev/null ||
		check_failed "rebuilt (--$how): no note refusing it: $(jq -c .notes "rebuilt-$how.json")"
	jq -e '.partial == true' "rebuilt-$how.json" >/dev/null || check_failed "rebuilt (--$how): report not partial"
done
# The library in that directory still has the right build-id: used.
expect "rebuilt: the library's source" "$(module rebuilt-module-dir.json /libcrash.so | jq -r .source)" module-dir

# --- 4. bad options: one line naming the file, exit non-zero --------------------------------
mkdir -p adir
echo "not an ELF file" >notelf
bad() {	# bad WHAT NAME ARGS...: analyze ARGS must fail with one line naming NAME
	local what=$1 name=$2 rc=0
	shift 2
	"$CRASHPIPE" analyze --no-dac "$@" "$core" -o bad.json >bad.out 2>bad.err || rc=$?
	if [ "$rc" = 0 ]; then
		check_failed "$what: exit 0"
	elif [ "$rc" -gt 2 ]; then
		check_failed "$what: exit $rc (a crash?)"
	elif [ "$(wc -l <bad.err)" != 1 ] || ! grep -qF -- "$name" bad.err; then
		check_failed "$what: stderr is not one line naming $name: $(cat bad.err)"
	fi
}
bad "--exe nonexistent" nonexistent/exe --exe nonexistent/exe
bad "--exe a directory" adir --exe adir
bad "--exe not ELF" notelf --exe notelf
bad "--module-dir nonexistent" nonexistent/dir --module-dir nonexistent/dir
bad "--module-dir a file" notelf --module-dir notelf
bad "--debug-dir nonexistent" nonexistent/dbg --debug-dir nonexistent/dbg
bad "--debug-dir a file" notelf --debug-dir notelf

checks_done
