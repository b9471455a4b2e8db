#!/bin/bash
# run-threat-files.sh - threat T11 (file-type traps) of ../shared/ref/threats.md, for the
# files `crashpipe handle` reads from its debuginfo cache (DIR/XX/REST.debug, .sym).
#
# The cache of a test handler (--debug-cache $T/dc) gets, at the names of libc's build-id
# (whose debuginfo and symbols the frames need) and the crashing program's: FIFOs, then a
# symlink to /dev/zero and a 10 GB sparse file owned by root (which the trust check alone
# would accept), and a directory. A stripped victim
# (so its debuginfo is looked up) crashes as nobody through the kernel pipe. Pass: the full
# analysis still arrives, in seconds (no open waits on a FIFO, nothing follows the link or
# reads the big file through), the crashed thread's frames named; the planted files are
# still what they were.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need zstd
need jq
need readelf
threat_setup
strip -o "$T/bin/stripped-victim" "$VICTIM" || fail "cannot strip the victim"
chmod 755 "$T/bin/stripped-victim"
exe_id=$(build_id "$T/bin/stripped-victim")
libc=$(ldd "$VICTIM" | awk '$1 ~ /^libc\.so/ { print $3 }')
libc_id=$(build_id "$libc")
[ -n "$exe_id" ] && [ -n "$libc_id" ] || skip "no build-id in the victim ($exe_id) or libc ($libc_id)"

# plant HEX SUFFIX KIND
plant() {
	local f=$T/dc/${1:0:2}/${1:2}$2
	mkdir -p "${f%/*}"
	case $3 in
	fifo) mkfifo -m 644 "$f" ;;
	zero) ln -s /dev/zero "$f" ;;
	dir) mkdir -m 755 "$f" ;;
	huge) truncate -s 10G "$f" && chmod 644 "$f" ;;
	esac
}
threat_pattern 1

# crash_check WHAT: crash the stripped victim as nobody; the full analysis must arrive soon.
crash_check() {
	local what=$1 pid report t0=$SECONDS
	run_crasher pid setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$T/bin/stripped-victim"
	if report_of report "$pid" "$T/spool" 40; then
		[ $((SECONDS - t0)) -le 20 ] || check_failed "T11 ($what): the report took $((SECONDS - t0)) s"
		jq -e '.threads[0].frames | length > 1' "$pid.json" >/dev/null ||
			check_failed "T11 ($what): only frame 0 (the analysis did not finish): $(jq -c .notes "$pid.json")"
		jq -e '[.notes[] | select(test("analysis (died|failed|could not)"))] | length == 0' "$pid.json" >/dev/null ||
			check_failed "T11 ($what): the analysis failed: $(jq -c .notes "$pid.json")"
	else
		check_failed "T11 ($what): no report for pid $pid within 40 s (an open waiting on a FIFO?)"
	fi
	wait_handlers
}

# The cache entries of libc (whose debuginfo and symbols the frames need) and the victim.
plant "$libc_id" .debug fifo
plant "$libc_id" .sym fifo
plant "$exe_id" .debug dir
crash_check "FIFOs at libc's .debug and .sym"
[ -p "$T/dc/${libc_id:0:2}/${libc_id:2}.debug" ] || check_failed "T11: the planted FIFO .debug was replaced"
[ -p "$T/dc/${libc_id:0:2}/${libc_id:2}.sym" ] || check_failed "T11: the planted FIFO .sym was replaced"

rm -f "$T/dc/${libc_id:0:2}/${libc_id:2}".*
plant "$libc_id" .debug zero
plant "$libc_id" .sym huge
crash_check "a symlink to /dev/zero at libc's .debug, a 10 GB file at its .sym"
[ -L "$T/dc/${libc_id:0:2}/${libc_id:2}.debug" ] || check_failed "T11: the planted symlink to /dev/zero was replaced"
[ "$(stat -c %s "$T/dc/${libc_id:0:2}/${libc_id:2}.sym")" = $((10 << 30)) ] ||
	check_failed "T11: the planted 10 GB file changed size"

checks_done
