#!/bin/sh
# A chained handler that never reads its core and never exits (tests/run-chain.sh): the
# chain timeout must cut it off and kill it.
echo "$$" >"$1"
exec sleep 600
