#!/bin/bash
# run-install.sh - crashpipe install / uninstall round-trip kernel.core_pattern and
# kernel.core_pipe_limit (under take_core_pattern: the machine's values come back on exit).
#
#  - install --dry-run prints the line it would install, starting with "|<abs crashpipe>
#    handle", and changes nothing;
#  - install sets exactly that line and core_pipe_limit >= 1024 (a burst of crashes must not
#    exceed it: the kernel drops every crash over the limit, issue 10), keeping a higher one,
#    says so, and saves the old values;
#    a second install keeps the first saved values (not crashpipe's own pattern);
#  - uninstall restores both exactly, even a systemd-coredump pattern with spaces and %;
#    a second uninstall has nothing to restore, fails and changes nothing.
. "${srcdir:-.}/test-subr.sh"

need_root
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
take_core_pattern

# A short spool path: the core_pattern line (binary and spool paths) must fit the kernel's
# 127 bytes even from a build directory deep in a tree (build-asan/ in .ci/run).
spool=$(mktemp -d /tmp/cpi.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
self=$(readlink -f "$CRASHPIPE")
pattern() { cat /proc/sys/kernel/core_pattern; }
limit() { cat /proc/sys/kernel/core_pipe_limit; }

# expect_sysctl WHAT PATTERN LIMIT
expect_sysctl() {
	[ "$(pattern)" = "$2" ] || fail "$1: core_pattern is '$(pattern)', expected '$2'"
	[ "$(limit)" = "$3" ] || fail "$1: core_pipe_limit is $(limit), expected $3"
}

# round_trip BEFORE_PATTERN BEFORE_LIMIT
round_trip() {
	local p0=$1 l0=$2 line
	set_core_pattern "$p0" "$l0"
	expect_sysctl "set up" "$p0" "$l0"

	"$CRASHPIPE" install --dry-run --spool "$spool" >dry.out 2>dry.err ||
		fail "install --dry-run failed: $(cat dry.err)"
	[ "$(wc -l <dry.out)" = 1 ] || fail "install --dry-run printed $(wc -l <dry.out) lines: $(cat dry.out)"
	line=$(cat dry.out)
	case $line in
	"|$self handle "*) ;;
	*) fail "install --dry-run: '$line' does not start with '|$self handle '" ;;
	esac
	case " $line " in
	*" --spool $spool "*) ;;
	*) fail "install --dry-run: '$line' does not pass --spool $spool" ;;
	esac
	expect_sysctl "after install --dry-run" "$p0" "$l0"
	[ ! -e "$spool/.saved-sysctl" ] || fail "install --dry-run saved the sysctl values"

	"$CRASHPIPE" install --spool "$spool" >install.out 2>install.err ||
		fail "install failed: $(cat install.err)"
	[ "$(pattern)" = "$line" ] || fail "install set '$(pattern)', --dry-run said '$line'"
	[ "$(limit)" -ge 1024 ] || fail "install left core_pipe_limit at $(limit)"
	[ "$l0" -lt 1024 ] || [ "$(limit)" = "$l0" ] || fail "install changed core_pipe_limit $l0 to $(limit)"
	grep -q "^core_pipe_limit: $(limit) " install.out ||
		fail "install did not say which core_pipe_limit it set: $(cat install.out)"
	[ -s "$spool/.saved-sysctl" ] || fail "install saved nothing in $spool/.saved-sysctl"
	local l1
	l1=$(limit)

	"$CRASHPIPE" install --spool "$spool" >install2.out 2>install2.err ||
		fail "a second install failed: $(cat install2.err)"
	expect_sysctl "after a second install" "$line" "$l1"

	"$CRASHPIPE" uninstall --spool "$spool" >uninstall.out 2>uninstall.err ||
		fail "uninstall failed: $(cat uninstall.err)"
	expect_sysctl "after uninstall (install twice)" "$p0" "$l0"

	if "$CRASHPIPE" uninstall --spool "$spool" >uninstall2.out 2>uninstall2.err; then
		fail "a second uninstall, with nothing saved, succeeded: $(cat uninstall2.out)"
	fi
	expect_sysctl "after a second uninstall" "$p0" "$l0"
}

# systemd-coredump's own line (spaces, %, a 19-digit number), core_pipe_limit 0
round_trip '|/usr/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h %d' 0
# a plain file pattern with a core_pipe_limit already above 1
round_trip 'core.%e.%p' 3
# one above what install sets: kept
round_trip 'core' 2048
exit 0
