#!/bin/sh
# A chained handler that fails at once, reading none of its core (tests/run-chain.sh).
# It leaves its argv, what fd $3 is (the pidfd, when given) and its environment in $1 first.
{
	echo "argv: $*"
	[ -z "${3:-}" ] || echo "fd $3: $(readlink "/proc/$$/fd/$3")"
	env | sort
} >"$1" 2>&1
exit 3
