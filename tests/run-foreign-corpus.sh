#!/bin/bash
# run-foreign-corpus.sh - cores from "other machines", replayed offline and held against gdb
# and eu-stack (issue 9).
#
# The corpus (tests/foreign/build.sh, cached under /var/tmp/crashpipe-foreign-cache):
# foreign.c built with Debian 11's gcc and glibc 2.31 in a bullseye chroot, with musl-gcc
# -static, gcc -static, -no-pie, clang, and frame pointers without CFI; foreign-inline.cc at -O2
# (deep inlining) with bullseye's g++ and the host's. Each program runs chrooted in its own
# laid-out root (/prog and the libraries of the system it was built on), so its kernel core
# names the files as that system had them -- a core from another machine. gdb's gcore writes
# a second core of some, stopped at a breakpoint in a known place (run from the host).
#
# Each core is replayed (a) with `analyze --exe PROG --module-dir DIR` only, DIR holding flat
# copies of the executable and its libraries (and --debug-dir, a .build-id tree of their
# separate debuginfo, when analyze has it), and (b) with `analyze --sysroot ROOT` (the laid
# out root; / for the gcore cores, which name host paths). When `analyze --help` does not list
# --exe and --module-dir yet, (a) prints "SKIP-feature" and (b) is still checked.
# Oracles on the same core: gdb (tests/gdb-frames.py with inline frames, `set sysroot ROOT`,
# its debug-file-directory the root's) and eu-stack (-e PROG, --debuginfo-path to .build-id
# links of the same files): every tool sees the same files.
# tests/foreign/compare.py prints "foreign NAME: physical M/T (P%), inline M/T (P%)" per replay:
# the frames gdb and eu-stack agree on must be crashpipe's first frames (100%), gdb's inline
# frames must be crashpipe's (function, file, line) at least 99% (those on which eu-stack -i
# differs from gdb are left out and counted apart).
# Then mutants of each core (tests/mutate-core.py): CP_FOREIGN_FUZZ (default 4) seeded
# random byte-flip ones and every CP_FOREIGN_EVERY-th (default 150th: about 5) of its structural ones
# through `analyze --sysroot ROOT` (/ for gcore cores), every other one through --exe and
# --module-dir instead where analyze has them: never a signal, never a hang (30 s), rc 0 with a valid
# report or rc 1 with one line (mutate-core.py check).
# CP_FOREIGN_KEEP_CORES=DIR keeps a copy of the cores in DIR (seeds for a long fuzz run).

. "$srcdir/test-subr.sh"

need gdb
need eu-stack
need python3
need timeout
need chroot
need_root
[ -x "$CRASHPIPE" ] || { echo "no crashpipe binary at $CRASHPIPE" >&2; exit 99; }

t_start=$SECONDS
"$abs_srcdir/foreign/build.sh" "$test_dir/corpus" >build.lines 2>build.err ||
	fail "tests/foreign/build.sh built nothing: $(cat build.lines build.err | tail -5)"
sed 's/^/build: /' build.lines
echo "corpus ready in $((SECONDS - t_start)) s"

help=$("$CRASHPIPE" analyze --help 2>&1)
has_opt() { grep -q -- "$1[=, ]" <<<"$help"; }
exe_mode=1
missing=
for o in --exe --module-dir; do
	has_opt "$o" || { exe_mode=0; missing="$missing $o"; }
done
debug_dir_opt=0
has_opt --debug-dir && debug_dir_opt=1

# ------------------------------------------------------------------------ cores
mkdir -p cores oracles reports
t_lock=$SECONDS
take_core_pattern
echo "core_pattern lock taken after $((SECONDS - t_lock)) s (other tests hold it)"
# A core_pattern path is opened in the crashing process's root: inside the chroot here.
set_core_pattern "/tmp/cpf-cores/core.%p"

cases=()	# NAME.KIND (KIND: kernel or gcore)
declare -A ROOT SYSROOT SRC

# kernel_core NAME DIR: run DIR/root/prog chrooted, keep its core as cores/NAME.kernel.
kernel_core() {
	local name=$1 d=$2 pid rc f
	rm -rf "$d/root/tmp/cpf-cores"
	mkdir -p "$d/root/tmp/cpf-cores"
	(
		ulimit -c unlimited
		exec chroot "$d/root" /prog
	) >"$name.kernel.out" 2>&1 &
	pid=$!
	wait "$pid"
	rc=$?
	[ "$rc" -gt 128 ] || { check_failed "$name: expected to die on a signal, exit $rc"; return; }
	f=$d/root/tmp/cpf-cores/core.$pid
	for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
	[ -s "$f" ] || { check_failed "$name: the kernel wrote no core at $f"; return; }
	mv "$f" "cores/$name.kernel"
	cases+=("$name.kernel")
	SYSROOT[$name.kernel]=$d/root
}

# gcore_core NAME DIR: DIR/root/prog run by gdb (from the host, not chrooted) to a breakpoint
# in a known place, gcore there: cores/NAME.gcore.
gcore_core() {
	local name=$1 d=$2 where
	case $(cat "$d/src") in
	foreign.c) where=crash_here ;;
	*) where="$(cat "$d/src"):$(grep -n '// SIGSEGV' "$abs_srcdir/foreign/$(cat "$d/src")" | cut -d: -f1)" ;;
	esac
	timeout -k 5 120 gdb -nx -batch -q -iex 'set debuginfod enabled off' -ex 'set pagination off' \
		-ex "break $where" -ex run -ex "gcore $test_dir/cores/$name.gcore" -ex kill \
		"$d/root/prog" >"$name.gcore.log" 2>&1 </dev/null
	[ -s "cores/$name.gcore" ] || { check_failed "$name: gdb's gcore wrote no core: $(tail -3 "$name.gcore.log")"; return; }
	cases+=("$name.gcore")
	SYSROOT[$name.gcore]=/
}

while read -r name d; do
	case $d in
	SKIP:*) echo "foreign $name: SKIP (${d#SKIP: })"; continue ;;
	esac
	ROOT[$name]=$d
	kernel_core "$name" "$d"
	case $name in
	nopie | glibc-static | clang | inline) gcore_core "$name" "$d" ;;
	esac
done <build.lines
set_core_pattern "$_saved_pattern"
echo "${#cases[@]} cores made in $((SECONDS - t_start)) s"

# CP_FOREIGN_KEEP_CORES=DIR: a copy of the cores there (seeds for a long fuzz run of analyze)
if [ -n "${CP_FOREIGN_KEEP_CORES:-}" ]; then
	mkdir -p "$CP_FOREIGN_KEEP_CORES" && cp --sparse=always cores/* "$CP_FOREIGN_KEEP_CORES/" ||
		check_failed "cannot copy the cores to $CP_FOREIGN_KEEP_CORES"
fi

# ------------------------------------------------------------------------ oracles, replays
total_ok=0
for c in "${cases[@]}"; do
	name=${c%.*}
	d=${ROOT[$name]}
	core=cores/$c
	sr=${SYSROOT[$c]}
	dbgdir=/usr/lib/debug
	[ "$sr" = / ] || dbgdir=$sr/usr/lib/debug
	gdb -nx -batch -q -iex 'set debuginfod enabled off' -iex "set sysroot $sr" \
		-iex "set debug-file-directory $dbgdir" -ex 'set pagination off' \
		-ex 'py max_frames = 256' -ex 'py inline_frames = True' -ex "py out_path = 'oracles/$c.gdb.json'" \
		-x "$abs_srcdir/gdb-frames.py" "$d/root/prog" "$core" >"oracles/$c.gdb.log" 2>&1 </dev/null
	[ -s "oracles/$c.gdb.json" ] || { check_failed "$c: gdb-frames.py wrote nothing ($(tail -2 "oracles/$c.gdb.log"))"; continue; }
	DEBUGINFOD_URLS= eu-stack --core "$core" -e "$d/root/prog" --debuginfo-path="$d/buildid" -n 256 \
		>"oracles/$c.eu" 2>"oracles/$c.eu.err"
	grep -q '^TID ' "oracles/$c.eu" || { check_failed "$c: eu-stack printed no thread ($(head -2 "oracles/$c.eu.err"))"; continue; }
	DEBUGINFOD_URLS= eu-stack -i -s --core "$core" -e "$d/root/prog" --debuginfo-path="$d/buildid" -n 256 \
		>"oracles/$c.eui" 2>"oracles/$c.eui.err"

	for mode in exe sysroot; do
		id=$c/$mode
		r=reports/$c.$mode.json
		case $mode in
		exe)
			if [ "$exe_mode" = 0 ]; then
				echo "foreign $id: SKIP-feature (analyze --help lists no$missing)"
				continue
			fi
			args=(--exe "$d/moddir/prog" --module-dir "$d/moddir")
			[ "$debug_dir_opt" = 0 ] || args+=(--debug-dir "$d/debug") ;;
		sysroot) args=(--sysroot "$sr") ;;
		esac
		timeout -k 5 30 "$CRASHPIPE" analyze "${args[@]}" "$core" -o "$r" >"$r.out" 2>"$r.err" </dev/null
		rc=$?
		if [ "$rc" != 0 ]; then
			echo "foreign $id: analyze exit $rc: $(head -1 "$r.err")"
			check_failed "$id: analyze exit $rc"
			continue
		fi
		if python3 "$abs_srcdir/foreign/compare.py" --name "$id" "$r" "oracles/$c.gdb.json" "oracles/$c.eu" \
			"oracles/$c.eui" >"$r.cmp"; then
			total_ok=$((total_ok + 1))
		else
			check_failed "$id: $(head -1 "$r.cmp")"
		fi
		head -1 "$r.cmp"
		tail -n +2 "$r.cmp" | head -40 | sed 's/^/    /'
	done
done
echo "replays and oracles done in $((SECONDS - t_start)) s"

# ------------------------------------------------------------------------ mutants
nfuzz=${CP_FOREIGN_FUZZ:-4}
every=${CP_FOREIGN_EVERY:-150}
mkdir -p results
seed=0
for c in "${cases[@]}"; do
	name=$c
	seed=$((seed + 1))
	python3 "$abs_srcdir/mutate-core.py" make "cores/$c" "mut-$name" --fuzz "$nfuzz" --seed "$seed" \
		--every "$every" >/dev/null 2>"mut-$name.err" ||
		{ check_failed "$c: mutate-core.py make failed: $(tail -1 "mut-$name.err")"; continue; }
	# the controls are the real replays above
	awk -F'\t' '$2 != "ok"' "mut-$name/MANIFEST" | {
	k=0
	while IFS=$'\t' read -r m expect what; do
		rd=results/$name-$m
		mkdir -p "$rd"
		printf '%s\n' "$expect" >"$rd/expect"
		printf '%s\n' "$what" >"$rd/what"
		printf '%s\n' "mut-$name/$m" >"$rd/target"
		# every other one through --exe/--module-dir where analyze has them
		d=${ROOT[${c%.*}]}
		args=(--sysroot "${SYSROOT[$c]}")
		k=$((k + 1))
		[ "$exe_mode" = 0 ] || [ $((k % 2)) = 1 ] || args=(--exe "$d/moddir/prog" --module-dir "$d/moddir")
		printf '%s\n' timeout -k 5 30 "$CRASHPIPE" analyze "${args[@]}" "mut-$name/$m" -o "$rd/out.json" >"$rd/cmd"
		timeout -k 5 30 "$CRASHPIPE" analyze "${args[@]}" "mut-$name/$m" -o "$rd/out.json" \
			>"$rd/stdout" 2>"$rd/stderr" </dev/null
		echo $? >"$rd/rc"
	done
	}
	rm -rf "mut-$name"
done
nres=$(find results -mindepth 1 -maxdepth 1 -type d | wc -l)
if [ "$nres" -gt 0 ]; then
	if python3 "$abs_srcdir/mutate-core.py" check results >mutants.txt 2>&1; then
		echo "mutants: $nres runs: $(tail -1 mutants.txt)"
	else
		echo "mutants: $nres runs: FAILURES"
		head -30 mutants.txt
		check_failed "mutants of the foreign corpus: $(tail -1 mutants.txt)"
	fi
fi
echo "run-foreign-corpus: ${#cases[@]} cores, $total_ok replays at full agreement, $((SECONDS - t_start)) s"
checks_done
