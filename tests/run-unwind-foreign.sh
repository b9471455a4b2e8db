#!/bin/bash
# run-unwind-foreign.sh - native unwinding of code built unlike Debian's own (issue 9, item 2).
#
# The same stacks (tests/crashers/uw-threads.c: a worker parked in read() two calls deep,
# main crashing three calls deep; uw-signal.c: a crash inside a signal handler) built with
# unwind tables of every kind crashpipe meets in foreign cores:
#   static        glibc, -static -pthread: no dynamic section, no link_map, one ET_EXEC
#   static-pie    glibc, -static-pie
#   musl          musl-gcc -static (musl's own CFI and start code)
#   musl-signal   musl-gcc -static, a crash in a signal handler: musl's __restore_rt
#   glibc-signal  the same with glibc, dynamic
#   nopie         -no-pie (ET_EXEC addresses in .eh_frame_hdr)
#   fp            -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-omit-frame-pointer:
#                 and .debug_frame removed: no CFI for the program's code at all (a
#                 frame-pointer walk)
#   debug-frame   -fno-asynchronous-unwind-tables -g: the program's CFI in .debug_frame only
#   clang         clang -O1
# Each: a real kernel core (make_core), `crashpipe analyze`, gdb (tests/gdb-frames.py) and
# eu-stack on the same core; per thread the frames gdb's physical frames and eu-stack agree
# on must be the report's first frames in the same order (compare-frames.py --agreed,
# 100%), the program's own functions must be there, and every frame the report has past
# frame 0 says which unwinder produced it.
. "${srcdir:-.}/test-subr.sh"

need gdb
need eu-stack
need python3
need readelf
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

CFLAGS="-g -O1"
T=$abs_srcdir/crashers/uw-threads.c
S=$abs_srcdir/crashers/uw-signal.c
NOCFI="-fno-asynchronous-unwind-tables -fno-unwind-tables"

bindir=$(mktemp -d /tmp/crashpipe-run-unwind-foreign.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"

progs=()
# build NAME CC ARGS...: one variant, or a note when its toolchain is missing.
build() {
	local name=$1 cc=$2
	shift 2
	if ! command -v "$cc" >/dev/null; then
		echo "$name: $cc is not installed: not tested"
		return
	fi
	"$cc" -o "$bindir/$name" "$@" || fail "cannot build $name with $cc $*"
	progs+=("$name")
}
build static cc $CFLAGS -static -pthread "$T"
build static-pie cc $CFLAGS -static-pie -fPIE -pthread "$T"
build musl musl-gcc $CFLAGS -static -pthread "$T"
build musl-signal musl-gcc $CFLAGS -static "$S"
build glibc-signal cc $CFLAGS "$S"
build nopie cc $CFLAGS -fno-pie -no-pie -pthread "$T"
build fp cc $CFLAGS $NOCFI -fno-omit-frame-pointer -pthread "$T"
# -g still writes the CFI to .debug_frame: gone too (the lines stay).
objcopy --remove-section=.debug_frame "$bindir/fp" || fail "objcopy cannot drop fp's .debug_frame"
build debug-frame cc $CFLAGS -fno-asynchronous-unwind-tables -pthread "$T"
build clang clang $CFLAGS -pthread "$T"
[ ${#progs[@]} -ge 7 ] || fail "only ${#progs[@]} variants built: ${progs[*]}"
command -v musl-gcc >/dev/null || [ -z "${CI:-}" ] || fail "musl-gcc is missing in CI (.ci/run installs musl-tools)"

# The variants are what they say: ELF types, and where the program's CFI is.
elf_type() { LC_ALL=C readelf -h "$1" | awk '$1 == "Type:" { print $2 }'; }
# fde_covers FILE SECTION SYMBOL: does an FDE of SECTION (.eh_frame or .debug_frame) cover SYMBOL?
fde_covers() {
	local addr
	addr=$(nm "$1" | awk -v s="$3" '$3 == s { print $1; exit }')
	[ -n "$addr" ] || { echo "no symbol $3 in $1" >&2; return 2; }
	LC_ALL=C readelf --debug-dump=frames "$1" 2>/dev/null | awk -v sec="$2" -v a=$((16#$addr)) '
		function hex(s,  n, i) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
		/^Contents of the .* section:/ { cur = $4; sub(/:$/, "", cur) }
		cur == sec && / FDE / && match($0, /pc=[0-9a-f]+\.\.[0-9a-f]+/) {
			split(substr($0, RSTART + 3, RLENGTH - 3), r, /\.\./)
			if (hex(r[1]) <= a && a < hex(r[2])) found = 1
		}
		END { exit found ? 0 : 1 }'
}
for p in "${progs[@]}"; do
	f=$bindir/$p
	case $p in
	static | musl | musl-signal | nopie) [ "$(elf_type "$f")" = EXEC ] || fail "$p is not ET_EXEC" ;;
	*) [ "$(elf_type "$f")" = DYN ] || fail "$p is not ET_DYN" ;;
	esac
	case $p in
	static | static-pie | musl*) ! LC_ALL=C readelf -l "$f" | grep -q INTERP || fail "$p has an interpreter" ;;
	esac
	case $p in
	fp)
		! fde_covers "$f" .eh_frame level_three && ! fde_covers "$f" .debug_frame level_three ||
			fail "$p: level_three has CFI"
		;;
	debug-frame)
		! fde_covers "$f" .eh_frame level_three || fail "$p: level_three is in .eh_frame"
		fde_covers "$f" .debug_frame level_three || fail "$p: level_three is not in .debug_frame"
		;;
	*signal) fde_covers "$f" .eh_frame handler_crash || fail "$p: its code is not in .eh_frame" ;;
	*) fde_covers "$f" .eh_frame level_three || fail "$p: its code is not in .eh_frame" ;;
	esac
done

for p in "${progs[@]}"; do
	make_core core "$bindir/$p"
	timeout 60 "$CRASHPIPE" analyze -o "$p.json" "$core" 2>"$p.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		check_failed "$p: analyze exited $rc: $(cat "$p.err")"
		continue
	fi
	gdb_frames "$p.gdb.json" "$bindir/$p" "$core"
	eu_stack_frames "$p.eu-stack" "$bindir/$p" "$core"
	check "$p: frames differ from what gdb and eu-stack agree on" python3 "$abs_srcdir/compare-frames.py" \
		--name "$p" --agreed --threshold 100 --eu-stack "$p.eu-stack" "$p.json" "$p.gdb.json"
	# for the record: every frame against each oracle (where they part, gdb or eu-stack is wrong)
	python3 "$abs_srcdir/compare-frames.py" --name "$p (all frames)" --threshold 0 --eu-stack "$p.eu-stack" \
		"$p.json" "$p.gdb.json" >"$p.all.compare" 2>&1
	head -1 "$p.all.compare"
	case $p in
	*signal) want="handler_crash,on_usr1,*,inner,outer,main" ;;
	# musl's libc is built without CFI and frame pointers: below a libc function
	# that called another (read -> __syscall_cp_c), no unwinder finds its caller.
	musl) want="level_three,level_two,level_one,main;__syscall_cp_c,read" ;;
	*) want="level_three,level_two,level_one,main;worker_b,worker_a,worker" ;;
	esac
	check "$p: the program's functions, the unwinders" python3 "$abs_srcdir/check-unwinders.py" \
		"$p.json" "$want" "$(case $p in fp) echo frame-pointer ;; musl-signal) echo signal-frame ;; static|debug-frame) echo libdwfl ;; esac)"
done

checks_done
