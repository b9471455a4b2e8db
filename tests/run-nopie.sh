#!/bin/bash
# run-nopie.sh - executables mapped more than once from file offset 0 (issue 7, finding 4).
#
# Non-PIE (ET_EXEC) programs, and programs that mmap() their own executable once more (any
# user can), have a second mapping of one file at offset 0. libdwfl keys modules by name and
# range; a second report of an ET_EXEC file was refused and freed the first module, which
# crashpipe kept using: every frame but frame 0 was lost, and `analyze` could crash. Programs:
#  - nopie: -no-pie, a worker thread parked two calls deep, main crashes three calls deep;
#    built as ld makes it by default and with -z noseparate-code (then the data segment's
#    page is file offset 0 too: the kernel maps the file from offset 0 twice);
#  - remap-self: mmap()s /proc/self/exe at offset 0 again, then crashes; PIE and non-PIE.
# Each: a real kernel core into a file, `crashpipe analyze` (also under valgrind: no memory
# error), every frame of every thread against gdb (100%) and eu-stack, the report's facts
# (functions, lines, the executable's mappings both listed with a matching build-id); then
# the same programs crashed through the real core_pattern pipe into `crashpipe handle`, with
# ASLR off, compared with gdb on a core of a second run.
. "${srcdir:-.}/test-subr.sh"

need gdb
need eu-stack
need python3
need jq
need zstd
need setarch
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
setarch x86_64 -R true 2>/dev/null || skip "setarch -R (ADDR_NO_RANDOMIZE) does not work here"

CFLAGS="-g -O1"
NOPIE="-fno-pie -no-pie"
PROGS="nopie nopie-nosep remap-pie remap-nopie"

# Programs under a directory every user can reach (the handler opens them by path).
bindir=$(mktemp -d /tmp/crashpipe-run-nopie.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"
cd "$bindir" || exit 99
build_crasher nopie $CFLAGS $NOPIE
${CC:-cc} -o nopie-nosep "$abs_srcdir/crashers/nopie.c" $CFLAGS $NOPIE -Wl,-z,noseparate-code -lpthread ||
	fail "cannot build nopie-nosep"
${CC:-cc} -o remap-pie "$abs_srcdir/crashers/remap-self.c" $CFLAGS -fPIE -pie || fail "cannot build remap-pie"
${CC:-cc} -o remap-nopie "$abs_srcdir/crashers/remap-self.c" $CFLAGS $NOPIE || fail "cannot build remap-nopie"
cd "$test_dir" || exit 99
for p in $PROGS; do
	[ "$(LC_ALL=C readelf -h "$bindir/$p" | awk '$1 == "Type:" { print $2 }')" = \
	  "$(case $p in *nopie*) echo EXEC ;; *) echo DYN ;; esac)" ] || fail "$p: not the ELF type expected"
done

# offset0_maps CORE PATH: how many NT_FILE entries of CORE map PATH from file offset 0.
offset0_maps() {
	LC_ALL=C eu-readelf -n "$1" | awk -v p="$2" '$NF == p && $2 ~ /^0+$/ { n++ } END { print n + 0 }'
}

# facts NAME REPORT: the crashed thread's functions and lines.
facts() {
	local name=$1 report=$2
	case $name in
	nopie*)
		check "$name: report facts" python3 "$abs_srcdir/check-report.py" "$report" \
			--signal 11 --fault-address 0x0 --threads 2 \
			--top level_three,level_two,level_one,main \
			--module "level_three:$name" --build-id "level_three:$(build_id "$bindir/$name")" \
			--line "level_three:nopie.c:$(marker_line nopie.c CRASH-LINE)" \
			--line "level_two:nopie.c:$(marker_line nopie.c CALL-LINE)"
		# and the worker: pause <- worker_b <- worker_a <- worker
		check "$name: the worker's frames" python3 - "$report" <<'PY'
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["threads"] if not t["crashed"]]
names = [f.get("function") for f in t[0]["frames"]] if t else []
want = ["worker_b", "worker_a", "worker"]
ok = [n for n in names if n in want] == want
print("" if ok else "worker thread frames %r lack %r" % (names, want), end="")
sys.exit(0 if ok else 1)
PY
		;;
	remap*)
		check "$name: report facts" python3 "$abs_srcdir/check-report.py" "$report" \
			--signal 11 --fault-address 0x0 --threads 1 --top inner,outer,main \
			--module "inner:$name" --build-id "inner:$(build_id "$bindir/$name")" \
			--line "inner:remap-self.c:$(marker_line remap-self.c CRASH-LINE)" \
			--line "outer:remap-self.c:$(marker_line remap-self.c CALL-LINE)"
		# both mappings of the executable are listed, as one file with the right build-id
		check "$name: the executable's two mappings" python3 - "$report" "$bindir/$name" \
			"$(build_id "$bindir/$name")" <<'PY'
import json, sys
rep, exe, bid = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
ms = [m for m in rep["modules"] if m["path"] == exe]
bad = len(ms) != 2 or any(m["build_id"] != bid or m["file_build_id_match"] is not True for m in ms)
if bad:
    print("modules of %s: %r (expected 2, build-id %s, matching)" % (exe, ms, bid))
sys.exit(1 if bad else 0)
PY
		;;
	esac
}

# --- analyze on real kernel cores -------------------------------------------------------
for p in $PROGS; do
	make_core core "$bindir/$p"
	mv -f "$p.out" "$p.file.out"
	n=$(offset0_maps "$core" "$bindir/$p")
	case $p in
	nopie) [ "$n" -ge 1 ] ;;
	*) [ "$n" -ge 2 ] ;;
	esac || fail "$p: the core maps $bindir/$p from offset 0 $n times: the test would test nothing"
	timeout 60 "$CRASHPIPE" analyze -o "$p.json" "$core" 2>"$p.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		check_failed "$p: analyze exited $rc: $(cat "$p.err")"
		continue
	fi
	gdb_frames "$p.gdb.json" "$bindir/$p" "$core"
	eu_stack_frames "$p.eu-stack" "$bindir/$p" "$core"
	check "$p: frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" --name "$p" \
		--threshold 100 --eu-stack "$p.eu-stack" --eu-threshold 90 "$p.json" "$p.gdb.json"
	facts "$p" "$p.json"
	if [ -n "${CP_SANITIZERS:-}" ]; then
		echo "$p: no valgrind run in a sanitizer build (${CP_SANITIZERS}): ASan checks every run already"
	elif command -v valgrind >/dev/null; then
		timeout 300 valgrind -q --error-exitcode=99 "$CRASHPIPE" analyze -o "$p.vg.json" "$core" \
			>"$p.vg.out" 2>"$p.vg.err"
		rc=$?
		[ "$rc" = 0 ] || check_failed "$p: analyze under valgrind exited $rc: $(grep -v '^--' "$p.vg.err" | head -20)"
	else
		echo "valgrind is not installed: no memory check of analyze"
	fi
done

# --- through the kernel pipe into crashpipe handle ---------------------------------------
take_core_pattern
spool_pattern
mkdir -p "$test_dir/cores"
for p in $PROGS; do
	set_core_pattern "$pattern" 1
	run_crasher pid env -u _ setarch x86_64 -R "$bindir/$p"
	mv -f env.out "$p.pipe.out"
	if wait_for_file report "$spool/*-$pid-*.json.zst" 20; then
		zstd -q -dc "$report" >"$p.pipe.json" || { check_failed "$p: $report is not zstd"; continue; }
	else
		check_failed "$p: no report $spool/*-$pid-*.json.zst within 20 s: $(ls -A "$spool")"
		continue
	fi
	# a second run, same command, ASLR off: the same addresses, for gdb
	make_core core env -u _ setarch x86_64 -R "$bindir/$p"
	mv -f env.out "$p.core.out"
	gdb_frames "$p.pipe.gdb.json" "$bindir/$p" "$core"
	map=$(awk 'FNR == NR { if ($1 == "worker") a["w"] = $2; else if ($1 == "crash") a["c"] = $3; next }
		$1 == "worker" { printf "%s%s=%s", sep, $2, a["w"]; sep = "," }
		$1 == "crash" { printf "%s%s=%s", sep, $3, a["c"]; sep = "," }' "$p.pipe.out" "$p.core.out")
	check "$p: pipe report frames differ from gdb" python3 "$abs_srcdir/compare-frames.py" \
		--name "$p (pipe)" --threshold 100 --tid-map "$map" "$p.pipe.json" "$p.pipe.gdb.json"
	facts "$p" "$p.pipe.json"
done

checks_done
