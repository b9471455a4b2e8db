#!/bin/bash
# run-threat-helpers.sh - threat T19 (helpers with privileges) of ../shared/ref/threats.md.
#
# crashpipe fetches nothing as root: no debuginfod download (analyze fetches only as an
# ordinary user: tests/run-debuginfod.sh), no DAC fetch, no helper program. With
# DEBUGINFOD_URLS (and the proxies) pointing at a local port, `crashpipe analyze` run by root
# on a core
# of a program with no debug info (gcore(1) of a held victim: no core_pattern needed) and
# `crashpipe handle` fed the same core must open no network socket (strace: no socket() but
# AF_UNIX, no connect() but to a UNIX socket) and run no other program.
. "${srcdir:-.}/test-subr.sh"

need strace
need gcore
need python3
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

${CC:-cc} -O1 -o victim "$abs_srcdir/crashers/threat-victim.c" -lpthread || fail "cannot build the victim"
strip victim
./victim --hold "$test_dir/never" >victim.out 2>&1 &
vpid=$!
at_exit "kill -KILL $vpid 2>/dev/null"
for _ in $(seq 1 100); do grep -q held victim.out && break; sleep 0.05; done
gcore -o core "$vpid" >gcore.log 2>&1 || skip "gcore cannot dump a process here: $(tail -1 gcore.log)"
kill -KILL "$vpid"
wait "$vpid" 2>/dev/null
core=core.$vpid
[ -s "$core" ] || fail "gcore wrote no $core"

export DEBUGINFOD_URLS=http://127.0.0.1:9/ DEBUGINFOD_CACHE_PATH=$test_dir/dcache \
	http_proxy=http://127.0.0.1:9/ https_proxy=http://127.0.0.1:9/
# no_network LOG WHAT
no_network() {
	local bad
	bad=$(grep -E '(socket|connect)\(' "$1" | grep -v -e 'AF_UNIX' -e 'sa_family=AF_UNIX' -e '+++' | head -3)
	[ -z "$bad" ] || check_failed "T19: $2 used the network: $bad"
	n=$(grep -c 'execve(' "$1")
	[ "$n" = 1 ] || check_failed "T19: $2 ran $((n - 1)) other program(s): $(grep 'execve(' "$1" | tail -n +2 | head -2)"
}
# LeakSanitizer cannot run under ptrace (an ASan build); leaks are the ASan suite's business.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
strace -f -qq -o analyze.strace -e trace=%network,execve "$CRASHPIPE" analyze "$core" -o analyze.json 2>analyze.err ||
	check_failed "crashpipe analyze failed: $(head -3 analyze.err)"
[ -s analyze.json ] || check_failed "crashpipe analyze wrote no report"
no_network analyze.strace "crashpipe analyze"
mkdir -m 700 spool
strace -f -qq -o handle.strace -e trace=%network,execve "$CRASHPIPE" handle --spool "$test_dir/spool" \
	--debug-cache "$test_dir/dc" 4194303 4194303 0 0 11 "$(date +%s)" -1 host <"$core"
ls spool/*.json.zst >/dev/null 2>&1 || check_failed "crashpipe handle wrote no report"
no_network handle.strace "crashpipe handle"
[ ! -e "$test_dir/dcache" ] || check_failed "T19: a debuginfod cache was made at $test_dir/dcache"

checks_done
