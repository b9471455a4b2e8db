# systemd-subr.sh - run Debian's systemd-coredump by hand, for tests that need its stored
# cores (sourced after test-subr.sh).
#
# PID 1 is not systemd on the test machines, so nothing serves systemd-coredump's socket:
# systemd_coredump_start runs systemd-journald (when no journal socket exists) and
# `systemd-socket-activate --seqpacket --accept -l /run/systemd/coredump systemd-coredump`
# (the kernel-side helper hands each core to a new systemd-coredump over that socket, as
# systemd-coredump.socket does), and points core_pattern at the helper with the package's own
# sysctl.d line. Everything it starts is killed, and every setting (core_pattern,
# core_pipe_limit through take_core_pattern; fs.suid_dumpable; a coredump.conf.d drop-in;
# the cores it stored for this test) restored or removed when the test exits.
#
#   systemd_coredump_unusable      print why systemd-coredump cannot run here; false if it can
#   systemd_coredump_start         serve the socket, set core_pattern (takes the core_pattern lock)
#   systemd_coredump_config K=V..  a drop-in [Coredump] config for the next crashes
#   systemd_coredump_wait_stored VAR PID [SECONDS]
#                                  wait for PID's stored core, set VAR to its path
#   systemd_coredump_stop          stop what systemd_coredump_start started (also done on exit)

SYSTEMD_COREDUMP=/lib/systemd/systemd-coredump
SYSTEMD_JOURNALD=/lib/systemd/systemd-journald
SYSTEMD_COREDUMP_SYSCTL=/usr/lib/sysctl.d/50-coredump.conf
SYSTEMD_COREDUMP_DIR=/var/lib/systemd/coredump
SYSTEMD_COREDUMP_SOCKET=/run/systemd/coredump
SYSTEMD_COREDUMP_CONF=/etc/systemd/coredump.conf.d/zz-crashpipe-test-$$.conf

_sdc_pids=()
_sdc_pids_stored=()
_sdc_rm_dirs=()

systemd_coredump_unusable() {
	[ "$(id -u)" = 0 ] || { echo "needs root"; return 0; }
	[ -x "$SYSTEMD_COREDUMP" ] || { echo "$SYSTEMD_COREDUMP is not installed (Debian package systemd-coredump)"; return 0; }
	[ -r "$SYSTEMD_COREDUMP_SYSCTL" ] || { echo "no $SYSTEMD_COREDUMP_SYSCTL"; return 0; }
	command -v systemd-socket-activate >/dev/null 2>&1 || { echo "systemd-socket-activate is not installed"; return 0; }
	if [ ! -S /run/systemd/journal/socket ] && [ ! -x "$SYSTEMD_JOURNALD" ]; then
		echo "no journal socket and no $SYSTEMD_JOURNALD"
		return 0
	fi
	if [ -e "$SYSTEMD_COREDUMP_SOCKET" ] && [ -z "${_sdc_started:-}" ]; then
		echo "$SYSTEMD_COREDUMP_SOCKET is served already (by another test, or systemd)"
		return 0
	fi
	return 1
}

# _sdc_pattern: the core_pattern the package sets (its sysctl.d line).
_sdc_pattern() {
	sed -n 's/^[[:space:]]*kernel\.core_pattern[[:space:]]*=[[:space:]]*//p' "$SYSTEMD_COREDUMP_SYSCTL" | tail -1
}

systemd_coredump_start() {
	local pattern i
	pattern=$(_sdc_pattern)
	case $pattern in
	"|$SYSTEMD_COREDUMP "*) ;;
	*) fail "unexpected core_pattern in $SYSTEMD_COREDUMP_SYSCTL: $pattern" ;;
	esac
	take_core_pattern
	_sdc_saved_suid=$(cat /proc/sys/fs/suid_dumpable)
	at_exit 'echo "$_sdc_saved_suid" >/proc/sys/fs/suid_dumpable'
	at_exit systemd_coredump_stop
	_sdc_started=1
	mkdir -p /run/systemd "$SYSTEMD_COREDUMP_DIR" || exit 99
	if [ ! -S /run/systemd/journal/socket ]; then
		# Ours: its sockets and its volatile journal go when it does.
		[ -e /run/systemd/journal ] || _sdc_rm_dirs+=(/run/systemd/journal)
		[ -e /run/log/journal ] || _sdc_rm_dirs+=(/run/log/journal)
		"$SYSTEMD_JOURNALD" >"$test_dir/journald.log" 2>&1 &
		_sdc_pids+=($!)
		for i in $(seq 1 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
		[ -S /run/systemd/journal/socket ] || fail "systemd-journald did not start: $(tail -3 "$test_dir/journald.log")"
	fi
	rm -f "$SYSTEMD_COREDUMP_SOCKET"
	systemd-socket-activate --seqpacket --accept -l "$SYSTEMD_COREDUMP_SOCKET" \
		"$SYSTEMD_COREDUMP" >"$test_dir/socket-activate.log" 2>&1 &
	_sdc_pids+=($!)
	for i in $(seq 1 100); do [ -S "$SYSTEMD_COREDUMP_SOCKET" ] && break; sleep 0.05; done
	[ -S "$SYSTEMD_COREDUMP_SOCKET" ] || fail "systemd-socket-activate did not listen: $(tail -3 "$test_dir/socket-activate.log")"
	set_core_pattern "$pattern" 16
}

systemd_coredump_config() {
	mkdir -p "$(dirname "$SYSTEMD_COREDUMP_CONF")" || exit 99
	{ echo "[Coredump]"; printf '%s\n' "$@"; } >"$SYSTEMD_COREDUMP_CONF" || exit 99
	[ -n "${_sdc_conf_registered:-}" ] || at_exit 'rm -f "$SYSTEMD_COREDUMP_CONF"'
	_sdc_conf_registered=1
}

systemd_coredump_wait_stored() {
	local __var=$1 pid=$2 secs=${3:-30} _sdc_file
	# core.COMM.UID.BOOTID.PID.USEC.zst, renamed into place once complete.
	wait_for_file _sdc_file "$SYSTEMD_COREDUMP_DIR/core.*.*.*.$pid.*.zst" "$secs" || return 1
	_sdc_pids_stored+=("$pid")
	[ -n "${_sdc_rm_registered:-}" ] || at_exit _sdc_remove_stored
	_sdc_rm_registered=1
	printf -v "$__var" "%s" "$_sdc_file"
}

_sdc_remove_stored() {
	local pid
	for pid in "${_sdc_pids_stored[@]}"; do
		rm -f "$SYSTEMD_COREDUMP_DIR"/core.*.*.*."$pid".*.zst
	done
}

systemd_coredump_stop() {
	local pid i
	for ((i = ${#_sdc_pids[@]} - 1; i >= 0; i--)); do
		pid=${_sdc_pids[$i]}
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	_sdc_pids=()
	[ -z "${_sdc_started:-}" ] || rm -f "$SYSTEMD_COREDUMP_SOCKET"
	[ ${#_sdc_rm_dirs[@]} = 0 ] || rm -rf "${_sdc_rm_dirs[@]}"
	_sdc_rm_dirs=()
	_sdc_started=
}

# systemd_journald_start: a systemd-journald of this test's own when no journal socket
# exists (its sockets and volatile journal under /run removed when the test exits), for
# tests that read crashpipe's journal entries. Takes the core_pattern lock first: the tests
# that start systemd's parts by hand run one at a time.
systemd_journald_start() {
	local i
	take_core_pattern
	at_exit systemd_coredump_stop
	_sdc_started=1
	[ ! -S /run/systemd/journal/socket ] || return 0
	mkdir -p /run/systemd || exit 99
	[ -e /run/systemd/journal ] || _sdc_rm_dirs+=(/run/systemd/journal)
	[ -e /run/log/journal ] || _sdc_rm_dirs+=(/run/log/journal)
	"$SYSTEMD_JOURNALD" >"$test_dir/journald.log" 2>&1 &
	_sdc_pids+=($!)
	for i in $(seq 1 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
	[ -S /run/systemd/journal/socket ] || fail "systemd-journald did not start: $(tail -3 "$test_dir/journald.log")"
}

# journal_entry OUT MATCH...: wait (up to 15 s) for a journal entry matching every MATCH
# (journalctl's FIELD=VALUE), the last one written to OUT as JSON (journalctl -o json).
journal_entry() {
	local out=$1 i
	shift
	for i in $(seq 1 150); do
		journalctl --no-pager -q --all -o json "$@" 2>/dev/null | tail -1 >"$out"
		[ -s "$out" ] && return 0
		sleep 0.1
	done
	return 1
}
