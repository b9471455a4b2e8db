# threat-subr.sh - helpers of the threat catalogue tests (tests/run-threat-*.sh, T01-T22 of
# ../shared/ref/threats.md), sourced after test-subr.sh.
#
# Each test gets a short root-owned directory $T under /tmp (core_pattern holds 127 bytes),
# mode 0755 so the unprivileged victims can run from $T/bin: the handler wrapper $T/w
# (threat-wrap.sh) and its $T/conf, the spool $T/spool (root, 0700), the debuginfo cache
# $T/dc, and the victims.

NOBODY=65534

# threat_setup: take core_pattern, make $T, build the victim $T/bin/threat-victim.
threat_setup() {
	need_root
	need setpriv
	[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
	take_core_pattern
	T=$(mktemp -d /tmp/cpt.XXXXXX) || exit 99
	at_exit "rm -rf '$T'"
	chmod 755 "$T"
	mkdir -p "$T/bin" "$T/spool" "$T/dc"
	chmod 700 "$T/spool"
	chmod 755 "$T/dc"	# as cp_mkdir_p makes the real one
	chmod 755 "$T/bin"
	cp "$abs_srcdir/threat-wrap.sh" "$T/w" && chmod 755 "$T/w" || exit 99
	${CC:-cc} -O1 -g -o "$T/bin/threat-victim" "$abs_srcdir/crashers/threat-victim.c" -lpthread ||
		fail "cannot build threat-victim"
	VICTIM=$T/bin/threat-victim
	threat_conf
}

# threat_conf [VAR=VALUE...]: write $T/conf for the wrapper (defaults: the spool $T/spool,
# no strace, no hold).
threat_conf() {
	local spool=$T/spool strace_log= hold= hold_stdin= extra= kv
	for kv in "$@"; do
		case $kv in
		SPOOL=*) spool=${kv#SPOOL=} ;;
		STRACE_LOG=*) strace_log=${kv#STRACE_LOG=} ;;
		HOLD=*) hold=${kv#HOLD=} ;;
		EXTRA=*) extra=${kv#EXTRA=} ;;
		HOLD_STDIN=*) hold_stdin=${kv#HOLD_STDIN=} ;;
		*) echo "threat_conf: $kv?" >&2; exit 99 ;;
		esac
	done
	printf "CRASHPIPE='%s'\nSPOOL='%s'\nDEBUG_CACHE='%s'\nSTRACE_LOG='%s'\nHOLD='%s'\nEXTRA='%s'\n" \
		"$CRASHPIPE" "$spool" "$T/dc" "$strace_log" "$hold" "$extra" >"$T/conf"
	printf "HOLD_STDIN='%s'\n" "$hold_stdin" >>"$T/conf"
}

# threat_pattern [PIPE_LIMIT] [nopidfd]: point core_pattern at the wrapper (with %F where
# the kernel has it, unless nopidfd).
threat_pattern() {
	local limit=${1:-1} p="|$T/w %P %i %u %g %s %t %c %h"
	! has_pidfd || [ "${2:-}" = nopidfd ] || p+=" %F"
	set_core_pattern "$p" "$limit"
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$p" ] || fail "core_pattern did not take $p"
}

# has_pidfd: does this kernel pass %F (Linux 6.16+)?
has_pidfd() {
	local p
	p=$(handle_pattern)
	[ "${p% %F}" != "$p" ]
}

# report_of VAR PID [SPOOL] [SECONDS]: wait for the report of PID in SPOOL (default
# $T/spool) and decompress it to ./PID.json; VAR is the report's path. Returns 1 when none.
report_of() {
	local __v=$1 pid=$2 spool=${3:-$T/spool} secs=${4:-15} __rf
	wait_for_file __rf "$spool/*-$pid-*.json.zst" "$secs" || return 1
	wait_handlers
	zstd -q -dc "$__rf" >"$pid.json" || fail "$__rf is not zstd"
	printf -v "$__v" "%s" "$__rf"
}

# wait_handlers: until no handler of this test is running.
# (the wrapper while it holds, then crashpipe or strace, all with $T in their command line)
wait_handlers() {
	for _ in $(seq 1 300); do
		pgrep -f "^(/bin/sh )?$T/w " >/dev/null || pgrep -f -- "--debug-cache $T/dc" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# crash_as UID OUTVAR ARGS...: run the victim as UID (0: as root) with core dumps on, from
# the current directory; OUTVAR gets its pid.
crash_as() {
	local uid=$1 __o=$2
	shift 2
	if [ "$uid" = 0 ]; then
		run_crasher "$__o" "$VICTIM" "$@"
	else
		run_crasher "$__o" setpriv --reuid="$uid" --regid="$uid" --clear-groups "$VICTIM" "$@"
	fi
}
