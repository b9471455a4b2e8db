#!/bin/bash
# run-threat-loop.sh - threat T09 (crash loops) of ../shared/ref/threats.md: 1000 crashes a
# minute of one executable and of many, against a per-executable rate limit and a spool cap
# that keeps other programs' reports. crashpipe has no rate limit or spool cap yet: that is
# issue 10. Until it lands this test is skipped, saying so.
. "${srcdir:-.}/test-subr.sh"
"$CRASHPIPE" handle --help 2>&1 | grep -q -e '--rate-limit' ||
	skip "T09: crashpipe handle has no crash-loop rate limit or spool cap yet (issue 10)"
fail "T09: crashpipe handle has --rate-limit now: write this test (issue 10)"
