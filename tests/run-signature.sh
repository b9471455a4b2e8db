#!/bin/bash
# run-signature.sh - the crash signature (src/signature.h) through the real kernel pipe.
#
# Two runs of the same program (different pids, ASLR on) must get the same signature; two
# different crash sites (a NULL write in threads, an uncaught C++ exception that aborts in
# cxxthrow, whose top frames are libc's and libstdc++'s abort machinery) different ones. The
# signature is in the report ("signature", 16 hex digits) and on the spool file as the xattr
# user.crashpipe.signature; `crashpipe analyze` of a kernel core of the same program gives the
# same signature as `handle` did, so offline replays group with live reports.
. "${srcdir:-.}/test-subr.sh"

need_root
need python3
need zstd
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

take_core_pattern
spool_pattern

build_crasher threads $CORPUS_CFLAGS $CORPUS_PIE -fomit-frame-pointer
build_crasher_cxx cxxthrow $CORPUS_CFLAGS $CORPUS_PIE

# sig_of_report FILE: the "signature" member and the xattr, as "MEMBER XATTR".
sig_of_report() {
	python3 - "$1" <<'PY'
import json, os, subprocess, sys
f = sys.argv[1]
data = subprocess.run(["zstd", "-dcq", f], check=True, capture_output=True).stdout
member = json.loads(data).get("signature", "-")
try:
    x = os.getxattr(f, "user.crashpipe.signature").decode()
except OSError as e:
    x = "no-xattr(%s)" % e.strerror
print(member, x)
PY
}

# crash_report PROG: crash PROG through the pipe; prints the report's path.
crash_report() {
	local pid f
	run_crasher pid "./$1"
	wait_for_file f "$spool/*-$pid-*.json.zst" 30 || fail "no report for $1 (pid $pid)"
	# The name appears when the report is complete (renamed into place).
	echo "$f"
}

set_core_pattern "$pattern"
declare -A sig
for prog in threads cxxthrow; do
	for run in 1 2; do
		f=$(crash_report "$prog") || exit 1
		read -r member xattr < <(sig_of_report "$f")
		[[ $member =~ ^[0-9a-f]{16}$ ]] || check_failed "$prog run $run: signature member is '$member'"
		[ "$member" = "$xattr" ] || check_failed "$prog run $run: xattr '$xattr' is not the member '$member'"
		sig[$prog.$run]=$member
		echo "$prog run $run: $member ($f)"
	done
done
[ "${sig[threads.1]}" = "${sig[threads.2]}" ] || check_failed "threads: two runs, two signatures (${sig[threads.1]}, ${sig[threads.2]})"
[ "${sig[cxxthrow.1]}" = "${sig[cxxthrow.2]}" ] || check_failed "cxxthrow: two runs, two signatures (${sig[cxxthrow.1]}, ${sig[cxxthrow.2]})"
[ "${sig[threads.1]}" != "${sig[cxxthrow.1]}" ] || check_failed "threads and cxxthrow have the same signature"

# Offline: a kernel core of threads, replayed by analyze.
mkdir -p cores
set_core_pattern "$test_dir/cores/core.%p"
run_crasher pid ./threads
core=$test_dir/cores/core.$pid
for _ in $(seq 1 100); do [ -s "$core" ] && break; sleep 0.05; done
"$CRASHPIPE" analyze -o offline.json "$core" || fail "analyze $core failed"
offline=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("signature","-"))' offline.json)
[ "$offline" = "${sig[threads.1]}" ] || check_failed "analyze of a core of threads: signature $offline, handle's ${sig[threads.1]}"

# A report whose signature member is not one is refused, naming the member.
zstd -dcq "$f" | python3 -c 'import json,sys; r=json.load(sys.stdin); r["signature"]="../../etc"; json.dump(r,sys.stdout)' >bad.json
out=$("$CRASHPIPE" show bad.json 2>&1) && check_failed "show accepted a report with a bad signature"
grep -q signature <<<"$out" || check_failed "the error for a bad signature does not name it: $out"

checks_done
