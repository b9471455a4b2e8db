#!/bin/bash
# run-chain.sh - chain mode (issue 11): `crashpipe install --chain` over Debian's
# systemd-coredump, run by hand (tests/systemd-subr.sh: journald, systemd-socket-activate on
# /run/systemd/coredump), with a real native crash through the kernel pipe.
#
#  - install --chain keeps systemd-coredump's line in SPOOL/.chain and ends crashpipe's
#    pattern in "--chain %d" (the one specifier crashpipe's own arguments do not carry);
#  - a crash: crashpipe's report is in the spool AND `coredumpctl list/info` show it with its
#    core stored AND `coredumpctl dump` returns a core whose analysis equals crashpipe's report
#    (same threads, same frames) and that is complete (as long as its program headers say);
#  - the chained handler failing at once: the report lands, the handler had the kernel's
#    argv (%d expanded), a pidfd for %F (Linux 6.16+), an empty environment;
#  - the chained handler hanging (never reads, never exits): the report lands, the process
#    is let go within the chain timeout (+ slack), the handler is killed;
#  - uninstall restores systemd-coredump's line and removes .chain.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/systemd-subr.sh"

need_root
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
why=$(systemd_coredump_unusable) && skip "$why"
need coredumpctl
need zstd
need python3
need readelf

build_crasher bigcore -O0 -g
systemd_coredump_start
sdc_pattern=$(cat /proc/sys/kernel/core_pattern)

spool=$(mktemp -d /tmp/cpc.XXXXXX) || exit 99
at_exit "rm -rf '$spool'"
chmod 700 "$spool"

"$CRASHPIPE" install --chain --spool "$spool" >install.out 2>install.err || fail "install --chain: $(cat install.err)"
pattern=$(cat /proc/sys/kernel/core_pattern)
case $pattern in
"|"*" handle --spool $spool "*" --chain %d") ;;
*) fail "install --chain set '$pattern'" ;;
esac
[ "$(cat "$spool/.chain")" = "$sdc_pattern" ] || fail "$spool/.chain is '$(cat "$spool/.chain")', not '$sdc_pattern'"
[ "$(stat -c %a "$spool/.chain")" = 600 ] || fail ".chain has mode $(stat -c %a "$spool/.chain")"

# report_of PID: wait for crashpipe's report of PID, decompressed into PID.json
report_of() {
	local f
	wait_for_file f "$spool/*-$1-bigcore.json.zst" 30 || return 1
	for _ in $(seq 1 50); do zstd -qdc "$f" >"$1.json" 2>/dev/null && break; sleep 0.1; done
	[ -s "$1.json" ]
}

# 1. systemd-coredump chained: both have the crash
run_crasher pid ./bigcore 16
check "crashpipe's report of pid $pid" report_of "$pid"
if systemd_coredump_wait_stored stored "$pid" 30; then
	coredumpctl list --no-pager "$pid" >list.out 2>&1 || check_failed "coredumpctl list $pid: $(cat list.out)"
	grep -q " $pid " list.out || check_failed "coredumpctl list does not list pid $pid: $(cat list.out)"
	coredumpctl info --no-pager "$pid" >info.out 2>&1 || check_failed "coredumpctl info $pid: $(tail -3 info.out)"
	grep -q 'Storage:.*(present)' info.out || check_failed "coredumpctl info: no core present: $(grep Storage: info.out)"
	grep -q 'Signal: 11 (SEGV)' info.out || check_failed "coredumpctl info: not SIGSEGV: $(grep Signal: info.out)"
	if coredumpctl dump --no-pager -o dumped.core "$pid" >dump.out 2>&1; then
		# complete: as long as the furthest segment its program headers name
		need_size=0
		while read -r type off _ _ filesz _; do
			case $type in LOAD | NOTE) [ $((off + filesz)) -le "$need_size" ] || need_size=$((off + filesz)) ;; esac
		done < <(readelf -lW dumped.core)
		[ "$need_size" -gt 0 ] || check_failed "readelf found no segments in the dumped core"
		have_size=$(stat -c %s dumped.core)
		[ "$have_size" -ge "$need_size" ] || check_failed "coredumpctl dump: $have_size bytes, its headers need $need_size"
		"$CRASHPIPE" analyze dumped.core >dumped.json 2>analyze.err || check_failed "analyze of the dumped core: $(tail -2 analyze.err)"
		[ -s "$pid.json" ] && check "the dumped core's analysis is crashpipe's report" \
			python3 "$abs_srcdir/check-same-stacks.py" "$pid.json" dumped.json
	else
		check_failed "coredumpctl dump $pid: $(tail -3 dump.out)"
	fi
else
	check_failed "systemd-coredump stored no core of pid $pid: $(tail -5 "$test_dir/socket-activate.log")"
fi

# 2. the chained handler fails at once
# with the pidfd (%F) where the kernel has it: crashpipe's own pattern carries it then
case $pattern in *" %F "*) pidfd=" %F" ;; *) pidfd= ;; esac
printf '|%s %s %%d%s\n' "$abs_srcdir/chain/fail-handler.sh" "$test_dir/fail.out" "$pidfd" >"$spool/.chain"
chmod 600 "$spool/.chain"
run_crasher pid ./bigcore 16
check "report with a failing chained handler" report_of "$pid"
if wait_for_file _ "$test_dir/fail.out" 10; then
	sleep 0.2
	grep -Eqx "argv: $test_dir/fail.out 1${pidfd:+ [0-9]+}" fail.out || check_failed "the failing handler's argv: $(head -1 fail.out)"
	[ -z "$pidfd" ] || grep -q '^fd [0-9]*: anon_inode:\[pidfd\]$' fail.out ||
		check_failed "the failing handler's %F is not a pidfd: $(grep '^fd ' fail.out)"
	grep -Eq '^(HOME|USER|CRASHPIPE|SUDO_[A-Z]*)=' fail.out && check_failed "the chained handler's environment is not empty: $(cat fail.out)"
else
	check_failed "the failing handler did not run"
fi

# 3. the chained handler hangs: let go within the chain timeout
timeout=2
set_core_pattern "${pattern/ handle / handle --chain-timeout $timeout }"
printf '|%s %s %%d\n' "$abs_srcdir/chain/hang-handler.sh" "$test_dir/hang.pid" >"$spool/.chain"
t0=$(date +%s%N)
run_crasher pid ./bigcore 16
held_ms=$((($(date +%s%N) - t0) / 1000000))
check "report with a hanging chained handler" report_of "$pid"
[ "$held_ms" -lt $(((timeout + 3) * 1000)) ] || check_failed "a hanging chained handler held the process $held_ms ms (timeout ${timeout}s)"
[ "$held_ms" -ge $((timeout * 1000 - 500)) ] || check_failed "held only $held_ms ms: did the hanging handler run? $(cat hang.pid 2>&1)"
if [ -s hang.pid ]; then
	hp=$(cat hang.pid)
	for _ in $(seq 1 30); do kill -0 "$hp" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$hp" 2>/dev/null && { kill -9 "$hp"; check_failed "the hanging handler (pid $hp) was not killed"; }
else
	check_failed "the hanging handler did not run"
fi
echo "hang: held $held_ms ms with a ${timeout}s chain timeout"

# 4. uninstall restores systemd-coredump's line
"$CRASHPIPE" uninstall --spool "$spool" >uninstall.out 2>&1 || check_failed "uninstall: $(cat uninstall.out)"
[ "$(cat /proc/sys/kernel/core_pattern)" = "$sdc_pattern" ] || check_failed "uninstall left '$(cat /proc/sys/kernel/core_pattern)'"
[ ! -e "$spool/.chain" ] || check_failed "uninstall left $spool/.chain"
checks_done
