#!/bin/bash
# run-hostile.sh - crashpipe analyze against hundreds of damaged and malicious cores.
#
# One real kernel core of crashers/hostile-victim.c is cut, bent and fuzzed by
# mutate-core.py (truncated at every structure boundary; absurd values in every ELF
# header field, program header and note header; a broken NT_FILE, PRSTATUS, SIGINFO,
# PRPSINFO and AUXV; registers and stacks that loop; FIFOs, directories, symlinks and
# huge sparse files planted where the core says its libraries are; non-cores, 32-bit
# and big-endian headers, broken zstd streams; 200 seeded random byte-flip mutants).
# For each one, `crashpipe analyze` must either write a valid crashpipe/1 report
# (partial is fine) and exit 0, or exit 1 with one line on stderr naming the file.
# It must never die on a signal or hang (10 s). Some run again through a pipe on
# stdin, and a few under valgrind, where any memory error fails the test.
#
# Environment: CP_HOSTILE_FUZZ (default 200) random mutants; CP_HOSTILE_VALGRIND=0
# skips the valgrind runs.

. "$srcdir/test-subr.sh"

need python3
need timeout
[ -x "$CRASHPIPE" ] || { echo "no crashpipe binary at $CRASHPIPE" >&2; exit 99; }

build_crasher hostile-victim -g -O1
make_core core ./hostile-victim

# Hostile files are planted under a short directory, so that their paths fit in the
# place of the (longer) names in NT_FILE.
plant=$(mktemp -d /tmp/cph.XXXXXX) || exit 99
at_exit "rm -rf '$plant'"

python3 "$abs_srcdir/mutate-core.py" make "$core" mutants --plant-dir "$plant" \
	--fuzz "${CP_HOSTILE_FUZZ:-200}" || fail "mutate-core.py could not make the mutants"

mkdir results
n=0
# run_one NAME EXPECT WHAT MODE: MODE is file, stdin (through a pipe) or valgrind.
run_one() {
	local name=$1 expect=$2 what=$3 mode=$4 r m rc t0
	n=$((n + 1))
	r=results/$(printf '%04d' "$n")-$mode-$name
	m=mutants/$name
	mkdir "$r"
	printf '%s\n' "$expect" >"$r/expect"
	printf '%s\n' "$what" >"$r/what"
	t0=${EPOCHREALTIME//[.,]/}	# microseconds
	case $mode in
	file)
		printf '%s\n' "$m" >"$r/target"
		printf '%s\n' timeout -k 5 10 "$CRASHPIPE" analyze "$m" -o "$r/out.json" >"$r/cmd"
		timeout -k 5 10 "$CRASHPIPE" analyze "$m" -o "$r/out.json" >"$r/stdout" 2>"$r/stderr" </dev/null
		rc=$?
		;;
	stdin)
		printf '%s\n' - >"$r/target"
		printf '%s\n' "cat $m |" timeout -k 5 10 "$CRASHPIPE" analyze - -o "$r/out.json" >"$r/cmd"
		cat "$m" 2>/dev/null | timeout -k 5 10 "$CRASHPIPE" analyze - -o "$r/out.json" >"$r/stdout" 2>"$r/stderr"
		rc=$?
		;;
	valgrind)
		printf '%s\n' "$m" >"$r/target"
		printf '%s\n' timeout -k 5 300 valgrind -q --error-exitcode=99 "$CRASHPIPE" analyze "$m" -o "$r/out.json" >"$r/cmd"
		timeout -k 5 300 valgrind -q --error-exitcode=99 "$CRASHPIPE" analyze "$m" -o "$r/out.json" >"$r/stdout" 2>"$r/stderr" </dev/null
		rc=$?
		# valgrind's own chatter ("--PID-- WARNING: unhandled syscall") is not
		# crashpipe's stderr; 99 is valgrind's verdict: say so in the results.
		mv "$r/stderr" "$r/stderr.valgrind"
		grep -Ev '^--[0-9]+-- ' "$r/stderr.valgrind" >"$r/stderr"
		[ "$rc" != 99 ] || echo "valgrind found memory errors (exit 99)" >>"$r/stderr"
		;;
	esac
	echo "$rc" >"$r/rc"
	t0=$((${EPOCHREALTIME//[.,]/} - t0))
	printf '%d.%06d\n' $((t0 / 1000000)) $((t0 % 1000000)) >"$r/seconds"
}

start=$SECONDS
while IFS=$'\t' read -r name expect what; do
	run_one "$name" "$expect" "$what" file
	# Through a pipe too (no seeking, short reads): the controls, the cuts, the
	# non-cores and zstd streams, and every fifth fuzz mutant.
	case $name in
	control* | trunc-* | zst-* | empty | text | random-* | bin-true | elf* | fuzz-*[05])
		run_one "$name" "$expect" "$what" stdin ;;
	esac
done <mutants/MANIFEST
echo "ran $n analyses in $((SECONDS - start)) s"

# An ASan build (CP_SANITIZERS, from configure) checks every run already; valgrind cannot run it.
if [ "${CP_HOSTILE_VALGRIND:-1}" != 0 ] && [ -z "${CP_SANITIZERS:-}" ] && command -v valgrind >/dev/null 2>&1; then
	start=$SECONDS
	for name in control trunc-64 e_phnum-65535 note4-descsz-0x7fffffff nt_file-count-0xffffffffffffffff \
		nt_file-unterminated stack-self-pointers regs-all-ff zst-trunc-half fuzz-007; do
		line=$(grep -m1 "^$name	" mutants/MANIFEST) || continue
		IFS=$'\t' read -r name expect what <<<"$line"
		run_one "$name" "$expect" "$what" valgrind
	done
	echo "valgrind runs took $((SECONDS - start)) s"
else
	echo "valgrind not run (not installed, CP_HOSTILE_VALGRIND=0, or a sanitizer build: ${CP_SANITIZERS:-none})"
fi

python3 "$abs_srcdir/mutate-core.py" check results ||
	fail "crashpipe mishandled hostile cores; the failing mutants are in $test_dir/mutants, their runs in $test_dir/results"
exit 0
