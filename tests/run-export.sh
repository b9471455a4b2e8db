#!/bin/bash
# run-export.sh - `crashpipe export` (issue 11): a real native report (a kernel core of
# crashers/threads.c, analysed) and the .NET reports of tests/fixtures exported as createdump
# crash reports and as OTLP log records: valid JSON with the fields check-export.py names,
# taken from the report; --output-dir writes NAME.crashreport.json; bad input (not a report,
# a missing file, an unknown format) is a one-line error naming it, and a non-zero exit.
. "${srcdir:-.}/test-subr.sh"

[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
need python3

reports=()
if [ "$(id -u)" = 0 ]; then
	build_crasher threads
	make_core core ./threads
	"$CRASHPIPE" analyze -o native.json "$core" 2>analyze.err || fail "analyze: $(tail -2 analyze.err)"
	reports+=(native.json)
else
	echo "not root: no kernel core; the fixtures' reports only"
fi
for f in show-async show-aggregate; do
	cp "$abs_srcdir/fixtures/$f.json" . || exit 99
	reports+=("$f.json")
done

for r in "${reports[@]}"; do
	"$CRASHPIPE" export --format=createdump "$r" >"$r.cd" 2>err || fail "export --format=createdump $r: $(cat err)"
	check "createdump export of $r" python3 "$abs_srcdir/check-export.py" createdump "$r.cd" "$r"
done
"$CRASHPIPE" export --format=otlp "${reports[@]}" >otlp.json 2>err || fail "export --format=otlp: $(cat err)"
check "otlp export of ${reports[*]}" python3 "$abs_srcdir/check-export.py" otlp otlp.json "${reports[@]}"

mkdir out
"$CRASHPIPE" export --format=createdump --output-dir out "${reports[@]}" 2>err || fail "export --output-dir: $(cat err)"
for r in "${reports[@]}"; do
	[ -s "out/${r%.json}.crashreport.json" ] || check_failed "--output-dir: no out/${r%.json}.crashreport.json"
done

# bad input: one line naming the file, exit status non-zero
expect_error() {	# WHAT NAME ARGS...
	local what=$1 name=$2
	shift 2
	if "$CRASHPIPE" export "$@" >bad.out 2>bad.err; then
		check_failed "$what: exit status 0"
	elif [ "$(wc -l <bad.err)" != 1 ] || ! grep -qF -- "$name" bad.err; then
		check_failed "$what: not one line naming $name: $(cat bad.err)"
	fi
}
printf 'not a report\n' >garbage.json
expect_error "not JSON" garbage.json --format=otlp garbage.json
echo '{"schema": "crashpipe/1", "threads": 7}' >wrong.json
expect_error "not a report" wrong.json --format=createdump wrong.json
expect_error "missing file" nosuch.json --format=otlp "${reports[0]}" nosuch.json
expect_error "unknown format" xml --format=xml "${reports[0]}"
mkfifo fifo.json
expect_error "a FIFO" fifo.json --format=otlp fifo.json
checks_done
