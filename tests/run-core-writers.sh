#!/bin/bash
# run-core-writers.sh - `crashpipe analyze` on cores from every writer, in every form.
#
# One small threaded native program (crashers/threads.c: 17 threads, main crashes in
# crash_inner) gives two cores of the same crash:
#   kernel  written by the kernel through core_pattern (notes first, file-backed text left out)
#   gcore   written by gdb's gcore with the program stopped by gdb at the same SIGSEGV (every
#           PT_LOAD first, the PT_NOTE last: a one-pass reader sees the threads only after
#           their stacks have gone by)
# Each is replayed as a file, as .zst, and on stdin through a pipe (plain and zstd): every
# thread's frames must be gdb's on that core (gdb-frames.py, compare-frames.py at 100%), with
# no "core:" problem in the report. A gcore layout streamed into a directory with too little
# room for its spool gives a partial report that says it was cut, exit 0.
# systemd-coredump's stored .zst is tested when tests/systemd-subr.sh can run it (see there):
# the stored core replayed gives gdb's frames on the decompressed core; with ProcessSizeMax
# small the stored core is truncated: a partial report that says so, exit 0.
. "${srcdir:-.}/test-subr.sh"

need_root
need gdb
need python3
need zstd
need jq
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

bindir=$(mktemp -d /tmp/crashpipe-core-writers.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"
cd "$bindir" || exit 99
build_crasher threads $CORPUS_CFLAGS $CORPUS_PIE -fomit-frame-pointer
cd "$test_dir" || exit 99
prog=$bindir/threads

# ---- the cores ----
make_core kcore "$prog"
mv -f threads.out threads.kernel.out
cp "$kcore" kernel.core

# gdb stops the program at its SIGSEGV (the same instruction the kernel core has) and
# writes the core of it; kill, so that no process is left behind.
timeout 120 gdb -nx -batch -q -iex 'set debuginfod enabled off' -iex 'set pagination off' \
	-ex run -ex "gcore $test_dir/gcore.core" -ex kill "$prog" >gcore.log 2>&1
[ -s gcore.core ] || fail "gdb wrote no gcore: $(tail -5 gcore.log)"

# notes_offsets CORE: "NOTE_OFFSET FIRST_LOAD_OFFSET" in decimal.
notes_offsets() {
	local type off _v _p filesz _rest note= load=
	while read -r type off _v _p filesz _rest; do
		case $type in
		NOTE) [ -n "$note" ] || note=$((off)) ;;
		LOAD)
			if [ $((filesz)) -gt 0 ] && { [ -z "$load" ] || [ $((off)) -lt "$load" ]; }; then
				load=$((off))
			fi ;;
		esac
	done < <(LC_ALL=C readelf -lW "$1" | grep -E '^ +(NOTE|LOAD) ')
	echo "$note $load"
}
read -r kn kl <<<"$(notes_offsets kernel.core)"
read -r gn gl <<<"$(notes_offsets gcore.core)"
[ "$kn" -lt "$kl" ] || fail "the kernel core's notes ($kn) do not come before its memory ($kl)"
[ "$gn" -gt "$gl" ] || fail "the gcore's notes ($gn) do not come after its memory ($gl): not the layout under test"

# analyze_as NAME HOW CORE: the report of CORE fed as HOW (file, zst, pipe, pipe-zst) in NAME.json.
analyze_as() {
	local name=$1 how=$2 core=$3
	case $how in
	file) "$CRASHPIPE" analyze -o "$name.json" "$core" ;;
	zst) "$CRASHPIPE" analyze -o "$name.json" "$core.zst" ;;
	pipe) cat "$core" | "$CRASHPIPE" analyze -o "$name.json" - ;;
	pipe-zst) cat "$core.zst" | "$CRASHPIPE" analyze -o "$name.json" - ;;
	esac 2>"$name.err"
}

# no_core_problems REPORT: the report carries no note from the core reader.
no_core_problems() {
	local n
	n=$(jq '[.notes[]? | tostring | select(test("core:"))] | length' "$1") || return 1
	[ "$n" = 0 ] || { echo "$1: $(jq -c '.notes' "$1")" >&2; return 1; }
}

for kind in kernel gcore; do
	gdb_frames "$kind.gdb.json" "$prog" "$kind.core"
	zstd -q -f "$kind.core" -o "$kind.core.zst" || exit 99
	for how in file zst pipe pipe-zst; do
		name=$kind.$how
		if ! analyze_as "$name" "$how" "$kind.core"; then
			check_failed "$name: analyze failed: $(head -3 "$name.err")"
			continue
		fi
		check "$name: frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" \
			--name "$name" --threshold 100 "$name.json" "$kind.gdb.json"
		check "$name: problems reading the core" no_core_problems "$name.json"
		check "$name: core_writer" jq -e --arg w "$kind" '.process.core_writer == $w' "$name.json"
	done
done

# ---- a gcore stream whose spool is cut: a small tmpfs, under the reserve kept free ----
if mkdir -p small-tmp && mount -t tmpfs -o size=64m tmpfs small-tmp 2>/dev/null; then
	at_exit "umount '$test_dir/small-tmp'"
	if ! cat gcore.core.zst | TMPDIR=$test_dir/small-tmp "$CRASHPIPE" analyze -o gcore.cut.json - 2>gcore.cut.err; then
		check_failed "gcore.cut: analyze failed (a cut spool is a partial report): $(head -3 gcore.cut.err)"
	else
		check "gcore.cut: not partial" jq -e '.partial == true' gcore.cut.json
		check "gcore.cut: no note of the cut spool" jq -e \
			'[.notes[]? | tostring | select(test("spooled to .* was cut at"))] | length == 1' gcore.cut.json
		check "gcore.cut: not every thread" jq -e '(.threads | length) == 17' gcore.cut.json
	fi
	[ -z "$(ls -A small-tmp)" ] || check_failed "gcore.cut: the spool left a file behind: $(ls -A small-tmp)"
else
	echo "cannot mount a tmpfs here: the cut spool is not tested"
fi

# ---- systemd-coredump ----
. "$abs_srcdir/systemd-subr.sh"
if why=$(systemd_coredump_unusable); then
	# Not installed is a failure (.ci/run installs it); a socket someone else serves (a
	# machine that runs systemd) is not ours to take over.
	case $why in
	*"is not installed"*) check_failed "systemd-coredump: $why" ;;
	*) echo "systemd-coredump: not tested here: $why" ;;
	esac
else
	systemd_coredump_start
	run_crasher spid "$prog"
	mv -f threads.out threads.systemd.out
	systemd_coredump_wait_stored stored "$spid" || fail "systemd-coredump stored no core for pid $spid"
	zstd -q -d -c "$stored" >systemd.core || fail "cannot decompress $stored"
	gdb_frames systemd.gdb.json "$prog" systemd.core
	if "$CRASHPIPE" analyze -o systemd.json "$stored" 2>systemd.err; then
		check "systemd: frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" \
			--name systemd --threshold 100 systemd.json systemd.gdb.json
		check "systemd: problems reading the core" no_core_problems systemd.json
		check "systemd: core_writer" jq -e '.process.core_writer == "systemd-coredump"' systemd.json
	else
		check_failed "systemd: analyze failed: $(head -3 systemd.err)"
	fi

	# A core larger than ProcessSizeMax (and ExternalSizeMax) is stored cut at that size.
	systemd_coredump_config "ProcessSizeMax=12M" "ExternalSizeMax=12M"
	run_crasher tpid "$prog"
	mv -f threads.out threads.truncated.out
	systemd_coredump_wait_stored tstored "$tpid" || fail "systemd-coredump stored no truncated core for pid $tpid"
	tsize=$(zstd -q -d -c "$tstored" | wc -c)
	full=$(stat -c %s systemd.core)
	[ "$tsize" -lt "$full" ] || fail "the stored core ($tsize bytes) is not truncated ($full bytes whole)"
	echo "systemd: stored $stored ($full bytes); truncated: $tstored ($tsize bytes)"
	if "$CRASHPIPE" analyze -o truncated.json "$tstored" 2>truncated.err; then
		check "truncated: not partial" jq -e '.partial == true' truncated.json
		check "truncated: no note that the core is truncated" jq -e \
			'[.notes[]? | tostring | select(test("truncated"))] | length >= 1' truncated.json
		check "truncated: threads lost" jq -e '(.threads | length) == 17' truncated.json
		check "truncated: the crashed thread's frames" jq -e \
			'[.threads[] | select(.crashed) | .frames[0].function] == ["crash_inner"]' truncated.json
		echo "truncated: $(jq -c '[.notes[]? | tostring | select(test("core:"))]' truncated.json)"
	else
		check_failed "truncated: analyze failed (a truncated core is a partial report): $(head -3 truncated.err)"
	fi
	systemd_coredump_stop
fi

checks_done
