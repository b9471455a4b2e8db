#!/bin/bash
# run-cli.sh - the command line: --help for every subcommand, and bad input ending in
# one clear line that names the file, a non-zero exit, and no crash.

. "$srcdir/test-subr.sh"

for cmd in analyze show list handle install uninstall; do
	out=$("$CRASHPIPE" "$cmd" --help) || fail "crashpipe $cmd --help exited $?"
	grep -q "^Usage: crashpipe $cmd" <<<"$out" || fail "crashpipe $cmd --help: no usage line: $out"
done
"$CRASHPIPE" --help | grep -q '^  analyze' || fail "crashpipe --help lists no commands"
"$CRASHPIPE" frobnicate 2>/dev/null && fail "an unknown command succeeded"

# expect_error EXPECTED_SUBSTRING CMD...: exit 1, exactly one line on stderr naming it.
expect_error() {
	local want=$1 rc
	shift
	"$@" >out.txt 2>err.txt
	rc=$?
	[ "$rc" = 1 ] || fail "$*: exit status $rc, expected 1 ($(cat err.txt))"
	[ "$(wc -l <err.txt)" = 1 ] || fail "$*: expected one line on stderr, got: $(cat err.txt)"
	grep -qF -- "$want" err.txt || fail "$*: stderr does not mention '$want': $(cat err.txt)"
}

expect_error "nosuch.core: No such file" "$CRASHPIPE" analyze nosuch.core
: >empty.core
expect_error "empty.core: empty file" "$CRASHPIPE" analyze empty.core
echo "just text" >text.core
expect_error "text.core: not an ELF file" "$CRASHPIPE" analyze text.core
expect_error "/usr/bin/true: an ELF file, but not a core" "$CRASHPIPE" analyze "/usr/bin/true"
expect_error "text.core: not JSON" "$CRASHPIPE" show text.core
echo '{"schema":"other/9"}' >other.json
expect_error "other.json: not a crashpipe report" "$CRASHPIPE" show other.json
expect_error "nosuch-dir: cannot open the sysroot" "$CRASHPIPE" analyze --sysroot nosuch-dir text.core
"$CRASHPIPE" analyze --max-frames 0 text.core 2>/dev/null
[ $? = 2 ] || fail "--max-frames 0 was accepted"

# install --dry-run prints the line and changes nothing (compared under the core_pattern lock,
# so that no other test changes it meanwhile).
[ "$(id -u)" != 0 ] || take_core_pattern
before=$(cat /proc/sys/kernel/core_pattern)
line=$("$CRASHPIPE" install --dry-run --spool /var/tmp/cp-spool) || fail "install --dry-run failed"
[[ $line == "|$(readlink -f "$CRASHPIPE") handle --spool /var/tmp/cp-spool %P %i %u %g %s %t %c %h"* ]] ||
	fail "install --dry-run printed: $line"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ] || fail "install --dry-run changed core_pattern"
[ ! -e /var/tmp/cp-spool ] || fail "install --dry-run created the spool"

# A spool that makes the pattern longer than the kernel's 127 bytes: one line, exit 1, no
# abort (issue 7, finding 11: it printed the error, then "free(): double free detected").
long=/var/tmp/$(printf 'x%.0s' $(seq 1 120))
expect_error "longer than the kernel's 127 bytes" "$CRASHPIPE" install --dry-run --spool "$long"
[ ! -e "$long" ] || fail "install --dry-run with a long spool created it"
exit 0
