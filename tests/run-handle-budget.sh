#!/bin/bash
# run-handle-budget.sh - a name does not buy the root handler's memory (issue 7, finding 9).
#
# `crashpipe handle` keeps the memory of a .NET process's core stream whole (the DAC reads
# the GC heap), up to 4 GiB, where any other process keeps its stacks and small segments.
# "Is .NET" is a mapped file named libcoreclr.so: tests/crashers/fakeclr.c, a native program,
# maps a user's file of that name and dirties a 320 MiB heap. Its core, streamed into the
# handler through a pipe as the kernel streams it, must leave the handler's peak RSS far below
# the heap (under 160 MiB: the non-.NET budget is 4 MiB plus 32 MiB per thread stack), with a
# note saying why the memory was not kept. The control: the same core with the file owned
# by root (an installed runtime) is kept whole, as before.
. "${srcdir:-.}/test-subr.sh"

need_root
need jq
need zstd
[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is not installed"
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
NOBODY=65534
HEAP_MIB=320
LIMIT_KB=$((160 * 1024))

build_crasher fakeclr -g -O1
mkdir clr
printf 'not a runtime\n' >clr/libcoreclr.so
chown $NOBODY clr/libcoreclr.so
chmod 644 clr/libcoreclr.so
make_core core ./fakeclr "$test_dir/clr/libcoreclr.so" $HEAP_MIB
pid=${core##*.}
[ "$(stat -c %s "$core")" -gt $((HEAP_MIB << 20)) ] || fail "the core ($(stat -c %s "$core") bytes) does not hold the heap"

# handle_stream NAME: the core through a pipe into `crashpipe handle` (no /proc: the process
# is gone; the files are looked at from /), peak RSS in NAME.rss (KiB), report in NAME.json.
handle_stream() {
	local name=$1
	mkdir -p "spool-$name"
	cat "$core" | /usr/bin/time -f %M -o "$name.rss" "$CRASHPIPE" handle --spool "$test_dir/spool-$name" --no-live \
		"$pid" "$pid" 0 0 11 1000 0 budget-test 2>"$name.err" || fail "$name: crashpipe handle failed: $(cat "$name.err")"
	zstd -q -dc "spool-$name"/1000-"$pid"-*.json.zst >"$name.json" || fail "$name: no report"
	echo "$name: peak RSS $(cat "$name.rss") KiB"
}

handle_stream user
[ "$(cat user.rss)" -lt $LIMIT_KB ] ||
	fail "a file named libcoreclr.so bought the handler $(cat user.rss) KiB of RSS (limit $LIMIT_KB) for a $HEAP_MIB MiB heap"
jq -e '.notes | map(select(test("libcoreclr.so is not a root-owned file"))) | length == 1' user.json >/dev/null ||
	fail "no note that the runtime's memory was not kept: $(jq -c .notes user.json)"

# The control: an installed runtime (root's, 0644) still gets the .NET budget.
chown 0:0 clr/libcoreclr.so
handle_stream root
[ "$(cat root.rss)" -gt $((HEAP_MIB * 1024)) ] ||
	fail "a root-owned runtime's $HEAP_MIB MiB heap was not kept (peak RSS $(cat root.rss) KiB)"
jq -e '.notes | map(select(test("not a root-owned"))) | length == 0' root.json >/dev/null ||
	fail "the root-owned runtime was refused: $(jq -c .notes root.json)"
exit 0
