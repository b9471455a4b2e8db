#!/bin/bash
# run-inline.sh - inline frames (issue 9, part 3): every physical native frame expands into
# the calls the compiler inlined into it, as gdb and `eu-stack -i` show them.
#
# Programs (real kernel cores, tests/crashers):
#  - inline.cc, C++ at -O2 (g++, and clang++ when installed): the crash five calls deep,
#    fubar <- foobar <- a lambda <- bar <- foo all inlined into fu <- main, templates and a
#    lambda among them; a worker waits in pause() called from two inlined functions (a
#    return address inside an inline chain);
#  - inline.c, C at -O2: inline frames in the program and in glibc's qsort (msort.c's
#    merge sort inlined into itself and into qsort_r, from libc's separate debuginfo).
# Each report: its physical frames against gdb's (100%) and eu-stack's (compare-frames.py,
# which skips inline frames), its inline frames against gdb's inline frames and eu-stack
# -i's (check-inline.py: function, file and line of each, the call site on the frame they
# are inlined into; at least 99%), the crashed thread's functions in order; `show` prints a
# chain's address once (gdb's backtrace); --max-frames counts physical frames and keeps a
# physical frame with its inline frames; and warm = cold: the symcache `crashpipe handle`
# writes for libc (version 2, with its inline ranges) gives the same frames as libdw.
. "${srcdir:-.}/test-subr.sh"

need gdb
need eu-stack
need python3
need zstd
need c++
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

libc=$(ldd "$CRASHPIPE" | awk '$1 ~ /^libc\.so/ { print $3 }')
[ -n "$libc" ] || skip "no libc in ldd $CRASHPIPE"
libc_id=$(build_id "$libc")
[ -f "/usr/lib/debug/.build-id/${libc_id:0:2}/${libc_id:2}.debug" ] ||
	skip "no separate debuginfo for $libc (libc6-dbg): glibc's inline frames and its symcache need it"

# Programs under a directory every user can reach (the handler opens them by path).
bindir=$(mktemp -d /tmp/crashpipe-run-inline.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"
cd "$bindir" || exit 99
${CXX:-c++} -g -O2 -o inline "$abs_srcdir/crashers/inline.cc" -lpthread || fail "cannot build inline.cc"
${CC:-cc} -g -O2 -o inline-c "$abs_srcdir/crashers/inline.c" || fail "cannot build inline.c"
PROGS="inline inline-c"
if command -v clang++ >/dev/null; then
	# -gdwarf-aranges: libdw before 0.189 finds no unit for an address without
	# .debug_aranges, which clang leaves out by default (eu-stack -s finds no line then).
	clang++ -g -gdwarf-aranges -O2 -Wno-unknown-attributes -o inline-clang "$abs_srcdir/crashers/inline.cc" -lpthread ||
		fail "cannot build inline.cc with clang++"
	PROGS="$PROGS inline-clang"
else
	echo "clang++ is not installed: no clang-built inline frames"
fi
cd "$test_dir" || exit 99

# The crashed thread's first frames (normalised names, check-inline.py).
expect_of() {
	case $1 in
	inline | inline-clang)
		echo "deep::fubar<long>,deep::foobar<long>,deep::bar(int)::{lambda(int)#1}::operator(),deep::bar,deep::foo,fu,main" ;;
	inline-c) echo "load,key_of,by_value" ;;
	esac
}

declare -A CORE
for p in $PROGS; do
	make_core core "$bindir/$p"
	CORE[$p]=$core
	timeout 60 "$CRASHPIPE" analyze -o "$p.json" "$core" 2>"$p.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		check_failed "$p: analyze exited $rc: $(cat "$p.err")"
		continue
	fi
	gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
		-ex 'py inline_frames = True' -ex "py out_path = '$p.gdb.json'" \
		-x "$abs_srcdir/gdb-frames.py" "$bindir/$p" "$core" >"$p.gdb.log" 2>&1
	[ -s "$p.gdb.json" ] || fail "gdb-frames.py wrote nothing for $core: $(tail -5 "$p.gdb.log")"
	DEBUGINFOD_URLS= eu-stack -i -s --core "$core" -e "$bindir/$p" -n 256 >"$p.eu-stack" 2>"$p.eu-stack.err"
	grep -q '^TID ' "$p.eu-stack" || fail "eu-stack printed no thread for $core: $(head -3 "$p.eu-stack.err")"
	DEBUGINFOD_URLS= eu-stack --core "$core" -e "$bindir/$p" -n 256 >"$p.eu-stack-phys" 2>/dev/null
	check "$p: physical frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" --name "$p" \
		--threshold 100 --eu-stack "$p.eu-stack-phys" --eu-threshold 100 "$p.json" "$p.gdb.json"
	min=5
	[ "$p" = inline-c ] && min=7	# 2 in the program, 5 in glibc's qsort (msort.c)
	check "$p: inline frames differ from gdb or eu-stack -i" python3 "$abs_srcdir/check-inline.py" \
		--name "$p" --threshold 99 --eu-stack "$p.eu-stack" --eu-threshold 99 \
		--expect-inline "$min" --expect "$(expect_of "$p")" "$p.json" "$p.gdb.json"
	# The report's lines: the innermost where the pc is, each caller where it called.
	case $p in
	inline | inline-clang)
		check "$p: report facts" python3 "$abs_srcdir/check-report.py" "$p.json" --signal 11 \
			--line "void deep::fubar<long>(long):inline.cc:$(marker_line inline.cc CRASH-LINE)" \
			--line "fu(int):inline.cc:$(marker_line inline.cc FU-CALLS-FOO)" \
			--line "main:inline.cc:$(marker_line inline.cc MAIN-CALLS-FU)" ;;
	inline-c)
		check "$p: report facts" python3 "$abs_srcdir/check-report.py" "$p.json" --signal 11 \
			--line "load:inline.c:$(marker_line inline.c CRASH-LINE)" \
			--line "key_of:inline.c:$(marker_line inline.c CALL-LOAD)" \
			--line "by_value:inline.c:$(marker_line inline.c CALL-KEY)" \
			--line "run:inline.c:$(marker_line inline.c CALL-SORT)" ;;
	esac
	# show: an inline chain's address once, on its innermost frame (gdb's backtrace).
	"$CRASHPIPE" show "$p.json" >"$p.show" 2>&1 || check_failed "$p: show failed: $(head -3 "$p.show")"
	check "$p: show prints an inline chain's address once" python3 "$abs_srcdir/check-inline.py" \
		--name "$p" --show "$p.show" "$p.json"
done

# --- --max-frames counts physical frames; a physical frame keeps its inline frames --------
if [ -n "${CORE[inline-c]:-}" ]; then
	"$CRASHPIPE" analyze --max-frames=6 -o capped.json "${CORE[inline-c]}" 2>capped.err ||
		check_failed "analyze --max-frames=6 failed: $(cat capped.err)"
	check "--max-frames=6: physical frames and their inline frames" python3 "$abs_srcdir/check-inline.py" \
		--name "inline-c --max-frames=6" --capped inline-c.json --cap 6 capped.json
fi

# --- warm = cold: libc's symcache, written by `crashpipe handle`, holds its inline ranges -----
take_core_pattern
spool=$test_dir/spool
dc=$test_dir/dc
pattern=$(handle_pattern --spool "$spool" --debug-cache "$dc")
if [ ${#pattern} -gt 127 ]; then
	spool=$(mktemp -d /tmp/crashpipe-spool.XXXXXX) || exit 99
	dc=$(mktemp -d /tmp/crashpipe-dc.XXXXXX) || exit 99
	at_exit "rm -rf '$spool' '$dc'"
	pattern=$(handle_pattern --spool "$spool" --debug-cache "$dc")
fi
[ ${#pattern} -le 127 ] || skip "the path of crashpipe is too long for a core_pattern: $pattern"
mkdir -p "$spool" "$dc" "$test_dir/nocache"
set_core_pattern "$pattern" 1
run_crasher pid "$bindir/inline-c"
wait_for_file report "$spool/*-$pid-*.json.zst" 20 || check_failed "no report $spool/*-$pid-*.json.zst within 20 s"
sym=$dc/${libc_id:0:2}/${libc_id:2}.sym
for _ in $(seq 1 100); do [ -s "$sym" ] && break; sleep 0.1; done
if [ ! -s "$sym" ]; then
	check_failed "crashpipe handle wrote no symcache of libc at $sym: $(ls -R "$dc" | head)"
else
	[ "$(head -c 8 "$sym" | tr '\n' ' ')" = "CPSYMC2 " ] || check_failed "$sym is not a version 2 symcache"
	if [ -n "${CORE[inline-c]:-}" ]; then
		"$CRASHPIPE" analyze --debug-cache="$dc" -o warm.json "${CORE[inline-c]}" 2>warm.err ||
			check_failed "warm analyze failed: $(cat warm.err)"
		"$CRASHPIPE" analyze --debug-cache="$test_dir/nocache" -o cold.json "${CORE[inline-c]}" 2>cold.err ||
			check_failed "cold analyze failed: $(cat cold.err)"
		check "warm (symcache) and cold reports have other frames" python3 "$abs_srcdir/check-inline.py" \
			--name "warm vs cold" --same-as cold.json --expect-inline-in "$libc_id:5" warm.json
		# An older version's file in the cache is replaced, not used.
		printf 'CPSYMC1\n' | cat - /dev/zero | head -c 4096 >"$sym.tmp" && mv -f "$sym.tmp" "$sym"
		set_core_pattern "$pattern" 1
		run_crasher pid "$bindir/inline-c"
		wait_for_file report "$spool/*-$pid-*.json.zst" 20 || check_failed "no second report within 20 s"
		for _ in $(seq 1 100); do [ "$(head -c 7 "$sym")" = CPSYMC2 ] && break; sleep 0.1; done
		[ "$(head -c 7 "$sym")" = CPSYMC2 ] || check_failed "a version 1 symcache at $sym was not rebuilt"
	fi
fi

checks_done
