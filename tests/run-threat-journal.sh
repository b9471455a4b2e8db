#!/bin/bash
# run-threat-journal.sh - threat T22 (journal field bounds) of ../shared/ref/threats.md: the
# fields crashpipe would send to journald size-capped, oversized ones truncated with a
# marker. crashpipe sends no journal fields yet (one syslog line per crash): that is
# issue 11. Until it lands this test is skipped, saying so.
. "${srcdir:-.}/test-subr.sh"
if ! grep -qs sd_journal_send "$abs_srcdir/../src/"*.c && ! nm -D --undefined-only "$CRASHPIPE" 2>/dev/null | grep -q sd_journal; then
	skip "T22: crashpipe sends no journal fields yet (issue 11)"
fi
fail "T22: crashpipe sends journal fields now: write this test (issue 11)"
