#!/bin/bash
# run-handle-hints.sh - the .NET crash hint between an unprivileged user and the root handler
# (issue 7, findings 10 and 6).
#
# Finding 10: the hints directory is mode 1733 (anyone may create, nobody may list). The stub,
# run as user nobody the way the runtime runs it (its parent is the crashed process), must be
# able to leave its hint there: opening the directory O_RDONLY needs read permission, which
# nobody does not have, so no hint was ever written for a non-root process.
#
# Finding 6: root must not open what a user put under their hint's name. As nobody, in a user
# and mount namespace of its own, a .NET-looking process (tests/crashers/fakeclr.c maps a file
# named libcoreclr.so) bind-mounts over its own hint, then crashes through the real core_pattern
# pipe into `crashpipe handle`:
#   - a FIFO: a writer blocked in open(O_WRONLY) on it (outside the namespace) is woken by any
#     open for reading; root must never wake it. The probe is checked afterwards by opening the
#     FIFO ourselves: the writer must then get through.
#   - /dev/zero: refused, with a note in the report that says why.
#   - a regular hint of nobody's (the control): read, its signal noted against the kernel's.
. "${srcdir:-.}/test-subr.sh"

need_root
need setpriv
need unshare
need jq
need zstd
need timeout
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
STUB=$abs_top_builddir/crashpipe-createdump
[ -x "$STUB" ] || skip "crashpipe-createdump is not built ($STUB)"
NOBODY=65534
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"; }
as_nobody true || skip "cannot run as uid $NOBODY with setpriv"
as_nobody unshare -Urm true 2>/dev/null || skip "user nobody cannot make a user+mount namespace (unshare -Urm)"

# A short root-owned place everybody can traverse (the core_pattern is at most 127 bytes).
short=$(mktemp -d /tmp/cphh.XXXXXX) || exit 99
at_exit "rm -rf '$short'"
chmod 755 "$short"
hints=$short/h
mkdir -m 1733 "$hints"
chmod 1733 "$hints"
mkdir -m 700 "$short/u"
chown $NOBODY:$NOBODY "$short/u"

# ---- finding 10: the stub as nobody writes its hint into the 1733 directory ----
# sh forks the stub (the "; :" keeps it from exec'ing it), so the stub's parent is the shell,
# and the shell's pid is the one it was given, as the runtime gives its own.
pid=$(as_nobody env CRASHPIPE_HINT_DIR="$hints" sh -c '"$1" $$ --signal 6 --crashthread $$ --code 0; echo $$' sh "$STUB")
[ -n "$pid" ] || fail "the stub did not run as nobody"
if [ ! -f "$hints/$pid" ]; then
	check_failed "finding 10: the stub as user nobody wrote no hint into the 1733 directory $hints ($(ls -A "$hints"))"
else
	[ "$(stat -c %u:%a "$hints/$pid")" = "$NOBODY:600" ] ||
		check_failed "finding 10: nobody's hint is $(stat -c %u:%a "$hints/$pid"), expected $NOBODY:600"
	want=$(printf '%s\n' "crashpipe-hint 1" "pid $pid" "tid $pid" "signal 6" "code 0" "user_dumps 0")
	[ "$(cat "$hints/$pid")" = "$want" ] || check_failed "finding 10: nobody's hint reads: $(cat "$hints/$pid")"
	rm -f "$hints/$pid"
fi
[ -z "$(ls -A "$hints")" ] || fail "the stub left more in $hints: $(ls -A "$hints")"
[ ${#_failed_checks[@]} -gt 0 ] || echo "finding 10: the stub as nobody wrote its hint"

# ---- finding 6: what is under the hint's name is looked at before root opens it ----
build_crasher fakeclr -g -O1
install -m 755 fakeclr "$short/fakeclr"
mkdir "$short/clr"
# Any file will do for the name; it is nobody's, as an attacker's would be.
printf 'not a runtime\n' >"$short/clr/libcoreclr.so"
chown $NOBODY "$short/clr/libcoreclr.so"
spool=$short/s
mkdir -p "$spool"
pattern=$(handle_pattern --spool "$spool" --hint-dir "$hints")
[ ${#pattern} -le 127 ] || skip "core_pattern too long (${#pattern} bytes): $pattern"
take_core_pattern
set_core_pattern "$pattern" 1

# crash_in_ns WHAT OVER: as nobody in a new user+mount namespace, create the hint file for
# its own pid, bind-mount OVER on it (or write a valid hint when OVER is "hint"), then exec
# fakeclr; sets report_json to the decompressed report of that crash.
crash_in_ns() {
	local what=$1 over=$2 p out=$test_dir/$1.out
	(
		cd "$short/u" || exit 99
		ulimit -c unlimited
		# shellcheck disable=SC2016
		exec setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- unshare -Urm -- sh -c '
			h=$1/$$
			: >"$h" || exit 90
			if [ "$2" = hint ]; then
				printf "crashpipe-hint 1\npid %d\ntid %d\nsignal 6\nuser_dumps 0\n" $$ $$ >"$h"
			else
				mount --bind "$2" "$h" || exit 91
			fi
			exec "$3" "$4"' sh "$hints" "$over" "$short/fakeclr" "$short/clr/libcoreclr.so"
	) >"$out" 2>&1 &
	p=$!
	wait "$p"
	local rc=$?
	[ "$rc" = $((128 + 11)) ] || fail "$what: fakeclr in its namespace did not die of SIGSEGV (status $rc): $(cat "$out")"
	wait_for_file report "$spool/*-$p-*.json.zst" 30 || fail "$what: no report for pid $p within 30 s: $(ls -A "$spool")"
	sleep 0.3
	report_json=$test_dir/$what.json
	zstd -q -dc "$report" >"$report_json" || fail "$what: the report is not zstd"
	[ "$(jq -r .process.pid "$report_json")" = "$p" ] || fail "$what: the report is not of pid $p"
	rm -f "$hints/$p"
}

# The control: a regular hint of nobody's, in the same setup, is read.
crash_in_ns control hint
jq -e '.notes | map(select(test("the .NET runtime reported SIGABRT"))) | length == 1' "$report_json" >/dev/null ||
	fail "control: the valid hint was not used: notes $(jq -c .notes "$report_json")"

# A FIFO over the hint, and a writer waiting for anyone to open it for reading.
mkfifo -m 600 "$short/u/fifo"
chown $NOBODY "$short/u/fifo"
timeout 120 bash -c 'exec 3>"$1"; echo opened >"$2"' probe "$short/u/fifo" "$short/probe" &
probe=$!
at_exit "kill $probe 2>/dev/null"
crash_in_ns fifo "$short/u/fifo"
[ ! -e "$short/probe" ] || check_failed "fifo: root opened the FIFO bind-mounted over the hint (its writer woke up)"
jq -e '.notes | map(select(test("hint"; "i") and test("not a regular file"))) | length == 1' "$report_json" >/dev/null ||
	check_failed "fifo: no note that the hint is not a regular file: $(jq -c .notes "$report_json")"
# The probe itself works: our own open for reading lets the writer through.
timeout 10 bash -c 'exec 4<"$1"; sleep 1' reader "$short/u/fifo"
wait "$probe" 2>/dev/null
[ -e "$short/probe" ] || fail "the FIFO probe is broken: opening the FIFO did not wake its writer"
rm -f "$short/probe"

# A device over the hint: refused with a note.
crash_in_ns device /dev/zero
jq -e '.notes | map(select(test("hint"; "i") and test("not a regular file"))) | length == 1' "$report_json" >/dev/null ||
	check_failed "device: no note that the hint is not a regular file: $(jq -c .notes "$report_json")"
[ ${#_failed_checks[@]} -gt 0 ] || echo "finding 6: no FIFO or device under a hint's name was opened, and the report says why"
checks_done
