#!/bin/bash
# run-threat-proc.sh - threats T10 (hostile /proc content) and T16 (argument injection) of
# ../shared/ref/threats.md, through the real kernel pipe, victims run as nobody.
#
# T10: comm and a thread name with spaces, ')', a newline, quotes, a backslash and an
# invalid UTF-8 byte; a mapped file whose name has a newline and which is deleted (its maps
# line and NT_FILE name end in " (deleted)"); a 256 MiB /proc/PID/cmdline and environ
# (PR_SET_MM_MAP, which any user may call). Pass: the report is valid JSON with every such
# string exact (invalid bytes as U+FFFD), the cmdline bounded (at most 64 KiB), the handler
# done in bounded time and memory, the report's file name free of '/' and control bytes.
# T16: the victim runs from an executable whose name has spaces, ';', '$(...)' and '!',
# in a UTS namespace whose host name has spaces and shell metacharacters: the kernel passes
# %h as one argument (it splits the pattern before expanding it); the report has the
# host name and exe exactly, and nothing they name was run.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/threat-subr.sh"

need zstd
need jq
need unshare
threat_setup
threat_pattern 1

# --- T10: comm, thread names, mappings -----------------------------------------------------
mkdir -m 777 "$T/maps"
mapped=$'lib\nfake (deleted).so'
cp /bin/true "$T/maps/$mapped"
chmod 666 "$T/maps/$mapped"
# comm: 15 bytes; \xff is not UTF-8
run_crasher pid setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$VICTIM" \
	--comm 'a) b\n"c\\xff(d' --thread-name 'x) \n"\xc3(' --map-file "$T/maps/lib\\nfake (deleted).so"
if report_of report "$pid"; then
	cp "$pid.json" comm.json
	jq -e . comm.json >/dev/null || check_failed "T10: the report is not valid JSON"
	want_comm=$'a) b\n"c\\\xef\xbf\xbd(d'
	got=$(jq -r .process.comm comm.json)
	[ "$got" = "$want_comm" ] || check_failed "T10: comm is $(jq -c .process.comm comm.json), not $(jq -cn --arg s "$want_comm" '$s')"
	want_thread=$'x) \n"\xef\xbf\xbd('
	jq -e --arg n "$want_thread" '[.threads[].name] | any(. == $n)' comm.json >/dev/null ||
		check_failed "T10: no thread named $(jq -cn --arg s "$want_thread" '$s'): $(jq -c '[.threads[].name]' comm.json)"
	jq -e --arg p "$T/maps/$mapped" '[.modules[].path] | any(. != null and startswith($p))' comm.json >/dev/null ||
		check_failed "T10: no module path starting with $(jq -cn --arg s "$T/maps/$mapped" '$s'): $(jq -c '[.modules[].path]' comm.json)"
	base=${report##*/}
	case $base in
	*[![:alnum:]._-]*) check_failed "T10/T15: the report's file name has unsafe bytes: $(printf %q "$base")" ;;
	esac
else
	check_failed "T10: no report for pid $pid (comm)"
fi

# --- T10: 256 MiB cmdline and environ ----------------------------------------------------
# shellcheck disable=SC2016
t0=$SECONDS
run_crasher pid setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$VICTIM" --huge-cmdline 256
if report_of report "$pid" "$T/spool" 60; then
	wait_handlers
	[ $((SECONDS - t0)) -le 30 ] || check_failed "T10: the handler took $((SECONDS - t0)) s for a 256 MiB cmdline"
	n=$(jq -r '.process.cmdline | length' "$pid.json")
	[ "$n" -gt 0 ] && [ "$n" -le 65536 ] ||
		check_failed "T10: the 256 MiB cmdline became $n characters in the report (want 1..65536)"
	[ "$(stat -c %s "$report")" -le $((1 << 20)) ] || check_failed "T10: the report is $(stat -c %s "$report") bytes"
else
	check_failed "T10: no report for pid $pid (huge cmdline)"
fi

# --- T16: exe and host name with spaces and shell metacharacters ---------------------------
evilexe='my victim; $(touch PWNED) `touch PWNED` !x'
cp "$VICTIM" "$T/bin/$evilexe"
host='h ;$(touch PWNED)|`id`&x'
# The crash happens in a new UTS namespace (as root: unshare -u), then as nobody.
cd "$T/maps" || exit 99
# (hostname(1) refuses such a name; the kernel takes any bytes)
# shellcheck disable=SC2016
run_crasher pid unshare -u sh -c 'printf "%s" "$1" >/proc/sys/kernel/hostname && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0"' \
	"$T/bin/$evilexe" "$host"
cd "$test_dir" || exit 99
if report_of report "$pid"; then
	cp "$pid.json" t16.json
	jq -e --arg h "$host" '.process.hostname == $h' t16.json >/dev/null ||
		check_failed "T16: the host name is $(jq -c .process.hostname t16.json), not $(jq -cn --arg s "$host" '$s')"
	jq -e --arg e "$T/bin/$evilexe" '.process.exe == $e' t16.json >/dev/null ||
		check_failed "T16: the exe is $(jq -c .process.exe t16.json), not $(jq -cn --arg s "$T/bin/$evilexe" '$s')"
	jq -e '.process.signal == 11' t16.json >/dev/null || check_failed "T16: the signal is not 11 (arguments shifted?)"
else
	check_failed "T16: no report for pid $pid"
fi
found=$(find / -maxdepth 2 -name PWNED 2>/dev/null; find "$T" "$test_dir" -name PWNED)
[ -z "$found" ] || check_failed "T16: something ran a shell on the metacharacters: $found"

checks_done
