#!/bin/sh
# threat-wrap.sh - the core_pattern helper of the threat tests (tests/threat-subr.sh copies
# it to DIR/w; the kernel runs it as root with the core on stdin):
#   |DIR/w %P %i %u %g %s %t %c %h [%F]
# reads DIR/conf (written by the test: CRASHPIPE, SPOOL, DEBUG_CACHE, STRACE_LOG, HOLD,
# HOLD_STDIN),
# records its arguments in DIR/started, waits for the file HOLD when set (the test does
# something to the crashed process meanwhile), and execs `crashpipe handle` with them,
# under `strace -f` when STRACE_LOG is set (into STRACE_LOG.PID, one log per handler).
# With HOLD_STDIN, the handler starts at once but its core is held back (it blocks in its
# first read of stdin, after its spool checks) until the file HOLD_STDIN exists.
dir=${0%/*}
CRASHPIPE= SPOOL= DEBUG_CACHE= STRACE_LOG= HOLD= HOLD_STDIN= EXTRA=
. "$dir/conf"
echo "$$ $*" >>"$dir/started"
if [ -n "$HOLD" ]; then
	n=0
	while [ ! -e "$HOLD" ] && [ "$n" -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
fi
# $EXTRA: further options, split on purpose
if [ -n "$HOLD_STDIN" ]; then
	{
		n=0
		while [ ! -e "$HOLD_STDIN" ] && [ "$n" -lt 300 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		exec cat
	} | "$CRASHPIPE" handle --spool "$SPOOL" --debug-cache "$DEBUG_CACHE" $EXTRA "$@"
	exit
fi
if [ -n "$STRACE_LOG" ]; then
	exec strace -f -qq -y -s 512 -o "$STRACE_LOG.$$" -e trace=%file,%desc \
		"$CRASHPIPE" handle --spool "$SPOOL" --debug-cache "$DEBUG_CACHE" $EXTRA "$@"
fi
exec "$CRASHPIPE" handle --spool "$SPOOL" --debug-cache "$DEBUG_CACHE" $EXTRA "$@"
