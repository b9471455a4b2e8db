#!/bin/bash
# run-dac-trust.sh - `crashpipe analyze` loads no DAC a core names (issue 7, finding 1).
#
# A native program (tests/crashers/maps-coreclr.c) run as uid 1234 with gid 0 maps a file
# named libcoreclr.so from a directory of ours; next to it sits a fake DAC
# (tests/dotnet/fakedac/fakedac.c, -DFAKEDAC_MARKER) whose ELF constructor writes its ids
# to a marker file. Real kernel cores of it, analysed by root:
#   1. runtime directory under /tmp (writable by others up the chain): no marker, and
#      runtime.dac_error says why the DAC was not loaded and how to name one;
#   2. a directory chain owned by root and closed to others (under /run) with a DAC owned by
#      nobody, then one writable by others: not loaded either;
#   3. the same, the DAC owned by root and 0644: loaded (the trusted system case);
#   4. --runtime-dir naming the /tmp directory: loaded, because the user named it, and its
#      constructor runs as nobody (root's analyze), never as the 1234/0 the core claims;
#   5. --dac naming the file: the same.
# Today's code (080e690) loads the DAC in 1 and 2, as uid 1234 gid 0.
# SKIPs, saying why, without root, a C compiler, jq or setpriv.
. "${srcdir:-.}/test-subr.sh"

need_root
need cc
need jq
need setpriv
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"

short=$(mktemp -d /tmp/cpdt.XXXXXX) || exit 99
run=$(mktemp -d /run/cpdt.XXXXXX) || exit 99
at_exit "rm -rf '$short' '$run'"
chmod 755 "$short" "$run"
mkdir -m 1777 "$short/m" "$short/cores"
mkdir -m 755 "$short/rt" "$run/rt"

fakedac=$abs_srcdir/dotnet/fakedac/fakedac.c
cc -O2 -shared -fPIC -o "$short/rt/libcoreclr.so" "$fakedac" || fail "cannot build the stand-in libcoreclr.so"
cc -O2 -shared -fPIC -DFAKEDAC_MARKER="\"$short/m/marker\"" -o "$short/rt/libmscordaccore.so" "$fakedac" ||
	fail "cannot build the fake DAC"
cp "$short/rt/libcoreclr.so" "$short/rt/libmscordaccore.so" "$run/rt/"
chmod 644 "$short/rt/"*.so "$run/rt/"*.so
cc -O0 -g -o "$short/maps-coreclr" "$abs_srcdir/crashers/maps-coreclr.c" || fail "cannot build maps-coreclr"

# core_of DIR: a kernel core of maps-coreclr mapping DIR/libcoreclr.so, run as uid 1234 gid 0.
take_core_pattern
set_core_pattern "$short/cores/core.%p"
core_of() {
	local pid f
	(
		ulimit -c unlimited
		exec setpriv --reuid 1234 --regid 0 --clear-groups "$short/maps-coreclr" "$1/libcoreclr.so"
	) >/dev/null 2>&1 &
	pid=$!
	wait "$pid"
	[ $? = $((128 + 11)) ] || fail "maps-coreclr did not die of SIGSEGV"
	f=$short/cores/core.$pid
	for _ in $(seq 1 100); do [ -s "$f" ] && break; sleep 0.05; done
	[ -s "$f" ] || fail "the kernel wrote no core of maps-coreclr at $f"
	echo "$f"
}
tmp_core=$(core_of "$short/rt")
run_core=$(core_of "$run/rt")
printf '%s\n' "$_saved_pattern" >/proc/sys/kernel/core_pattern

# analyze_case NAME CORE [OPTIONS...]: analyze as root; the report goes to NAME.json.
analyze_case() {
	local name=$1 core=$2
	shift 2
	rm -f "$short/m/marker"
	"$CRASHPIPE" analyze "$@" "$core" -o "$name.json" 2>"$name.err" ||
		check_failed "$name: analyze failed: $(head -3 "$name.err")"
	echo "$name: dac_error: $(jq -c .runtime.dac_error "$name.json" 2>/dev/null); marker: $(cat "$short/m/marker" 2>/dev/null || echo none)"
}
# refused NAME WHY: no marker, a note saying why and how to name a DAC.
refused() {
	[ ! -e "$short/m/marker" ] ||
		check_failed "$1: the DAC's constructor ran (as $(cat "$short/m/marker"))"
	jq -e --arg why "$2" '.runtime.dac_error | test("was not loaded") and test($why) and test("--dac")' \
		"$1.json" >/dev/null || check_failed "$1: runtime.dac_error does not say why: $(jq -c .runtime "$1.json")"
	jq -e '.notes | any(test("managed frames: .*was not loaded"))' "$1.json" >/dev/null ||
		check_failed "$1: no note in the report: $(jq -c .notes "$1.json")"
}
# loaded NAME: the DAC was loaded and run: its CLRDataCreateInstance dies of SIGSEGV (the
# fake DAC's default), which the report says. Its constructor's marker lies outside the DAC's
# sandbox (its root is its own directory), so the marker appears only where no sandbox is;
# where it does, it shows the constructor ran as nobody, no group. (run-sandbox.sh checks
# the sandboxed DAC's ids from outside.)
loaded() {
	jq -e '.runtime.dac_error | test("the DAC crashed \\(signal 11\\)")' "$1.json" >/dev/null ||
		{ check_failed "$1: the DAC was not loaded: $(jq -c .runtime "$1.json")"; return; }
	[ ! -e "$short/m/marker" ] || [ "$(cat "$short/m/marker")" = "65534 65534 65534 65534" ] ||
		check_failed "$1: the DAC ran as '$(cat "$short/m/marker")', expected nobody (65534) without groups"
}

jq -e '.process.uid == 1234 and .process.gid == 0 and .runtime.kind == "coreclr"' <("$CRASHPIPE" analyze --no-dac "$tmp_core") \
	>/dev/null || fail "the core does not claim uid 1234 gid 0 for a .NET process"

analyze_case tmp "$tmp_core"
refused tmp "writable by group or others"

chown 65534 "$run/rt/libmscordaccore.so"
analyze_case run-nobody "$run_core"
refused run-nobody "not owned by root"
chown 0 "$run/rt/libmscordaccore.so"
chmod 666 "$run/rt/libmscordaccore.so"
analyze_case run-writable "$run_core"
refused run-writable "it is writable by group or others"
chmod 755 "$run/rt/libmscordaccore.so"
chmod 775 "$run/rt"
analyze_case run-dir-writable "$run_core"
refused run-dir-writable "a directory on its path is writable"
chmod 755 "$run/rt"

analyze_case run-trusted "$run_core"
loaded run-trusted

analyze_case named-dir "$tmp_core" --runtime-dir "$short/rt"
loaded named-dir
analyze_case named-dac "$tmp_core" --dac "$short/rt/libmscordaccore.so"
loaded named-dac
checks_done
