#!/bin/bash
# run-retention.sh - the spool's caps (issue 10, part 4): `crashpipe vacuum` and the trim
# `crashpipe handle` does after it writes.
#
# The spool is filled through the real kernel pipe: one crash each of threads, sighandler and
# altstack, and a crash loop of callback (LOOP crashes). Then, in the spool, things that are
# not ours: a symlink and a hard link named like reports (pointing at a file outside), a FIFO
# and a directory named like reports, a foreign file, a hidden temporary file. Checked:
#   - the loop's reports share one signature (user.crashpipe.signature), the others differ;
#   - `crashpipe vacuum --max-use=CAP`, CAP the spool's use minus the 4 oldest loop reports,
#     removes exactly those 4 and keeps every other report;
#   - `crashpipe handle --max-use=CAP` (CAP what the spool uses now) writes its report, then
#     removes the loop's oldest report(s) to get under CAP, keeping the report it wrote and
#     every report of the other programs;
#   - `crashpipe vacuum --keep-free` larger than the file system removes every report of ours
#     and nothing else: symlink, hard link, FIFO, directory, foreign and hidden files are all
#     there afterwards, the link targets unchanged (strace, when installed: the FIFO is never
#     opened, nothing is unlinked but our reports);
#   - bad sizes are refused with a one-line error and exit status 2.
. "${srcdir:-.}/test-subr.sh"

need_root
need zstd
need python3
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

LOOP=10

take_core_pattern

bindir=$(mktemp -d /tmp/cprb.XXXXXX) || exit 99
at_exit "rm -rf '$bindir'"
chmod 755 "$bindir"
cd "$bindir" || exit 99
for p in threads sighandler altstack callback; do
	build_crasher "$p" $CORPUS_CFLAGS $CORPUS_PIE
done
cd "$test_dir" || exit 99

spool=$(mktemp -d /tmp/cprs.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
chmod 700 "$spool"

set_pattern() {
	local p
	# The crash loop here is the retention's to trim: the crash-loop limit would count it instead.
	p=$(handle_pattern --rate-limit 0 --spool "$spool" "$@")
	[ ${#p} -le 127 ] || skip "core_pattern too long (${#p} bytes): $p"
	set_core_pattern "$p" 1
}

# crash PROG: crash PROG through the pipe, wait for its handler to end; sets $pid, $report.
crash() {
	run_crasher pid "$bindir/$1" --pipe-test
	wait_for_file report "$spool/*-$pid-*.json.zst" 20 || fail "$1 (pid $pid): no report in $spool"
	for _ in $(seq 1 100); do
		pgrep -f "handle --spool $spool " >/dev/null || return 0
		sleep 0.1
	done
	fail "$1 (pid $pid): the handler did not end within 10 s of its report"
}

# used: the bytes the spool's reports use (allocated blocks, as vacuum counts them).
used() { find "$spool" -maxdepth 1 -type f -links 1 -name '[0-9]*-[0-9]*-*.zst' -printf '%b\n' |
	awk '{ s += $1 * 512 } END { print s + 0 }'; }
sig() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.crashpipe.signature").decode())' "$1" 2>/dev/null; }

# --- fill the spool ------------------------------------------------------------------------
set_pattern --max-use=0 --keep-free=0
declare -A other
for p in threads sighandler altstack; do
	crash "$p"
	other[$p]=$report
done
loop=()
for i in $(seq 1 $LOOP); do
	crash callback
	loop+=("$report")
done
[ "$(find "$spool" -name '*.json.zst' | wc -l)" = $((LOOP + 3)) ] || fail "expected $((LOOP + 3)) reports in $spool"

loop_sig=$(sig "${loop[0]}")
[ -n "$loop_sig" ] || fail "${loop[0]} has no user.crashpipe.signature"
for r in "${loop[@]}"; do
	[ "$(sig "$r")" = "$loop_sig" ] || check_failed "loop report $r: signature $(sig "$r"), not $loop_sig"
done
for p in "${!other[@]}"; do
	[ "$(sig "${other[$p]}")" != "$loop_sig" ] || check_failed "$p has the loop's signature"
done

# --- vacuum: the loop's 4 oldest go ------------------------------------------------------------
before=$(used)
gone=0
for r in "${loop[@]:0:4}"; do gone=$((gone + $(stat -c '%b' "$r") * 512)); done
cap=$((before - gone))
"$CRASHPIPE" vacuum --spool "$spool" --max-use="$cap" --keep-free=0 >vacuum.out 2>&1 ||
	fail "crashpipe vacuum failed: $(cat vacuum.out)"
for r in "${loop[@]:0:4}"; do
	[ ! -e "$r" ] || check_failed "vacuum kept $r, one of the loop's 4 oldest"
done
for r in "${loop[@]:4}" "${other[@]}"; do
	[ -e "$r" ] || check_failed "vacuum removed $r"
done
[ "$(used)" -le "$cap" ] || check_failed "the spool uses $(used) bytes after vacuum, over the cap $cap"
grep -q '^removed 4 files' vacuum.out || check_failed "vacuum said: $(cat vacuum.out)"

# --- handle trims after it writes -------------------------------------------------------------
cap=$(used)
set_pattern --max-use="$cap" --keep-free=0
crash callback
new=$report
[ -e "$new" ] || check_failed "handle removed the report it had just written"
[ ! -e "${loop[4]}" ] || check_failed "handle over its cap did not remove the loop's oldest ${loop[4]}"
for r in "${other[@]}"; do
	[ -e "$r" ] || check_failed "handle's trim removed $r, a report of another program"
done
[ -e "${loop[$((LOOP - 1))]}" ] || check_failed "handle's trim removed the newest loop report but one"
[ "$(used)" -le "$cap" ] || check_failed "the spool uses $(used) bytes after handle's trim, over its cap $cap"

# --- what is not ours stays ------------------------------------------------------------------
outside=$test_dir/outside
mkdir -p "$outside"
echo precious >"$outside/target"
echo linked >"$outside/hard"
ln -s "$outside/target" "$spool/1-1-symlink.json.zst"
ln -s "$outside" "$spool/1-2-dirlink.core.zst"
ln "$outside/hard" "$spool/1-3-hardlink.json.zst"
mkfifo "$spool/1-4-fifo.json.zst"
mkdir "$spool/1-5-dir.json.zst"
head -c 1048576 /dev/urandom >"$spool/notes.txt"
head -c 65536 /dev/urandom >"$spool/.#cp0123456789abcdef.tmp"
head -c 65536 /dev/urandom >"$spool/1-6-bad name.json.zst"
strace_cmd=()
if command -v strace >/dev/null 2>&1; then
	strace_cmd=(strace -f -qq -e trace=openat,open,unlinkat,unlink,rmdir,rename,renameat,renameat2 -o "$test_dir/vacuum.strace")
fi
# LeakSanitizer (the ASan build) cannot run under ptrace.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "${strace_cmd[@]}" "$CRASHPIPE" vacuum --spool "$spool" --max-use=0 --keep-free=100T >vacuum2.out 2>&1 ||
	check_failed "vacuum --keep-free=100T failed: $(cat vacuum2.out)"
left=$(find "$spool" -maxdepth 1 -type f -links 1 -name '[0-9]*-[0-9]*-*.zst' ! -name '* *' | wc -l)
[ "$left" = 0 ] || check_failed "--keep-free larger than the file system left $left reports of ours"
for f in 1-1-symlink.json.zst 1-2-dirlink.core.zst; do
	[ -L "$spool/$f" ] || check_failed "vacuum removed the symlink $f"
done
[ -f "$spool/1-3-hardlink.json.zst" ] || check_failed "vacuum removed the hard link"
[ -p "$spool/1-4-fifo.json.zst" ] || check_failed "vacuum removed the FIFO"
[ -d "$spool/1-5-dir.json.zst" ] || check_failed "vacuum removed the directory"
[ -f "$spool/notes.txt" ] || check_failed "vacuum removed a foreign file"
[ -f "$spool/.#cp0123456789abcdef.tmp" ] || check_failed "vacuum removed a hidden temporary file"
[ -f "$spool/1-6-bad name.json.zst" ] || check_failed "vacuum removed a file whose name is not one of ours"
[ "$(cat "$outside/target")" = precious ] && [ "$(cat "$outside/hard")" = linked ] && [ -d "$outside" ] ||
	check_failed "a link target outside the spool changed"
if [ -s "$test_dir/vacuum.strace" ]; then
	grep -E 'fifo|symlink|dirlink|hardlink|notes|bad name|#cp' "$test_dir/vacuum.strace" >touched || true
	[ ! -s touched ] || check_failed "vacuum opened or removed a file not its own: $(head -3 touched)"
	grep -E 'unlink' "$test_dir/vacuum.strace" | grep -vE '"[0-9]+-[0-9]+-(threads|sighandler|altstack|callback)\.json\.zst"' |
		grep -q . && check_failed "vacuum unlinked something not a report: $(grep unlink "$test_dir/vacuum.strace" | head -3)"
fi

# --- bad input ----------------------------------------------------------------------------
for bad in "--max-use=12Q" "--keep-free=-1" "--max-use="; do
	"$CRASHPIPE" vacuum --spool "$spool" "$bad" >bad.out 2>&1
	rc=$?
	[ "$rc" = 2 ] || check_failed "vacuum $bad: exit status $rc, not 2"
	[ "$(wc -l <bad.out)" = 1 ] && grep -q 'is not a size' bad.out || check_failed "vacuum $bad said: $(cat bad.out)"
done

checks_done
