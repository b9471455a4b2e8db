#!/bin/bash
# run-dac-mmap.sh - the hazard this project was born from: libunwind (up to 1.8.3) can unmap
# a range twice when asked about an address outside an ELF image, and the second munmap
# frees memory the DAC has been given since. Analyse a real .NET core (managed frames
# through the DAC, native frames through libunwind) under strace, tracing every mmap,
# munmap and mremap of crashpipe and its children, and fail when any range is unmapped
# twice without being mapped again in between. The checker itself is proven first on a
# program that does exactly that.

. "$srcdir/test-subr.sh"
need strace
need python3
need dotnet
need cc

# The checker must catch a real double unmap.
cat >double.c <<'C'
#include <sys/mman.h>
int main(void)
{
	char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, 4096);
	munmap(p, 8192);	/* the first page again */
	return 0;
}
C
cc -o double double.c || exit 99
strace -f -qq -e trace=mmap,munmap,mremap,clone,clone3,fork,vfork -o double.log ./double || exit 99
python3 "$abs_srcdir/check-unmaps.py" double.log >double.out &&
	fail "check-unmaps.py missed a double unmap: $(cat double.out)"

# A real .NET crash, as a file from the real kernel.
apps=$("$abs_srcdir/dotnet/build.sh" "$test_dir/apps") || skip "the .NET test app did not build: $apps"
app=$(awk '$1 == "dotnet10" { print $2 }' <<<"$apps")
[ -x "$app" ] || skip "no .NET 10 build of the test app"
make_core core env -u LD_PRELOAD DOTNET_DbgEnableMiniDump=0 "$app" threads100

# LeakSanitizer (a --enable-asan build) cannot run under ptrace: strace checks the mappings here.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
strace -f -qq -e trace=mmap,munmap,mremap,clone,clone3,fork,vfork -o analyze.log \
	"$CRASHPIPE" analyze "$core" -o report.json || fail "crashpipe analyze failed under strace"
python3 - report.json <<'PY' || fail "the report has no managed frames: the DAC did not run"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["runtime"] and r["runtime"]["dac"] and not r["runtime"]["dac_error"], r["runtime"]
managed = sum(1 for t in r["threads"] for f in t["frames"] if f["kind"] == "managed")
native = sum(1 for t in r["threads"] for f in t["frames"] if f["kind"] == "native")
assert managed >= 100 and native >= 100, (managed, native)
print("frames: %d managed, %d native" % (managed, native))
PY
python3 "$abs_srcdir/check-unmaps.py" analyze.log || fail "a range was unmapped twice: see $test_dir/analyze.log"
exit 0
