#!/bin/bash
# run-units.sh - crashpipe-follow.service (systemd/) and `crashpipe install --follow`:
#  - `make install` puts the unit into --with-systemdunitdir (DESTDIR), naming the installed
#    crashpipe;
#  - systemd-analyze verify accepts it, and its exposure (systemd-analyze security, offline)
#    is no worse than systemd-coredump@.service's, the unit it is sandboxed after;
#  - `install --follow --dry-run` prints the systemctl command; without systemd as PID 1,
#    `install --follow` and `uninstall --follow` change nothing, exit 1 and say what to run.
. "${srcdir:-.}/test-subr.sh"

need systemd-analyze
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
dest=$test_dir/dest
make -s -C "$abs_top_builddir" install-systemdunitDATA DESTDIR="$dest" >make.out 2>&1 ||
	fail "make install-systemdunitDATA failed: $(tail -3 make.out)"
unit=$(find "$dest" -name crashpipe-follow.service)
[ -n "$unit" ] || fail "make install put no crashpipe-follow.service under $dest"
bindir=$(sed -n 's/^bindir = //p' "$abs_top_builddir/Makefile")
prefix=$(sed -n 's/^prefix = //p' "$abs_top_builddir/Makefile")
bindir=${bindir//'${exec_prefix}'/$prefix}
grep -qx "ExecStart=$bindir/crashpipe follow --spool /var/lib/crashpipe" "$unit" ||
	fail "the installed unit does not run $bindir/crashpipe: $(grep ExecStart "$unit")"

# verify wants the ExecStart binary to exist: the built one stands in.
sed "s|^ExecStart=[^ ]*|ExecStart=$CRASHPIPE|" "$unit" >crashpipe-follow.service
check "systemd-analyze verify: $(cat verify.out 2>/dev/null)" \
	sh -c 'timeout 60 systemd-analyze verify --man=no ./crashpipe-follow.service >verify.out 2>&1'
exposure() { timeout 60 systemd-analyze security --offline=yes "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
ours=$(exposure ./crashpipe-follow.service)
ref=/lib/systemd/system/systemd-coredump@.service
if [ -r "$ref" ]; then
	theirs=$(exposure "$ref")
	echo "exposure: crashpipe-follow.service $ours, systemd-coredump@.service $theirs"
	check "exposure $ours is no worse than systemd-coredump@'s $theirs" \
		awk -v a="$ours" -v b="$theirs" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'
fi

"$CRASHPIPE" install --follow --dry-run >dry.out 2>&1 || check_failed "install --follow --dry-run failed: $(cat dry.out)"
check "install --follow --dry-run prints the command: $(cat dry.out)" \
	grep -qx 'systemctl enable --now crashpipe-follow.service' dry.out
if [ ! -d /run/systemd/system ]; then
	for verb in install:enable uninstall:disable; do
		"$CRASHPIPE" "${verb%:*}" --follow >"${verb%:*}.out" 2>&1
		rc=$?
		check "${verb%:*} --follow without systemd: exit 1 (got $rc)" test "$rc" = 1
		check "${verb%:*} --follow says what to run: $(cat "${verb%:*}.out")" \
			grep -q "systemd is not PID 1 here.*systemctl ${verb#*:} --now crashpipe-follow.service" "${verb%:*}.out"
	done
fi
checks_done
