#!/bin/bash
# run-threat-cli.sh - threats T15 (untrusted saved input) and T21 (no pager or shell as root),
# with T16's "no shell anywhere", of ../shared/ref/threats.md.
#
# T16/T21: the binaries import no function that runs a shell or searches PATH (system,
# popen, wordexp, execvp, execlp, execvpe, posix_spawnp).
# T21: `crashpipe show`, `list` and `info`, run as root on a terminal (script(1)) with every pager
# and shell variable pointing at a command that leaves a marker, as sudo would leave them:
# nothing is run (strace: no execve but crashpipe's own).
# T15: a report whose every string is a "../" path, an absolute path outside any root or a
# shell command, with odd keys ("", "__proto__"): show and list print it, open none of
# the paths it names, run nothing, write nothing.
. "${srcdir:-.}/test-subr.sh"

need strace
need script
need python3
need zstd
[ -x "$CRASHPIPE" ] || skip "crashpipe is not built ($CRASHPIPE)"
bindir=$(dirname "$CRASHPIPE")

# --- T16/T21: nothing that runs a shell ----------------------------------------------------
for bin in "$CRASHPIPE" "$bindir/crashpipe-createdump" "$bindir/libcrashpipe-preload.so"; do
	[ -e "$bin" ] || continue
	bad=$(nm -D --undefined-only "$bin" | awk '{ sub(/@.*/, "", $2); print $2 }' |
		grep -xE 'system|popen|wordexp|execvp|execlp|execvpe|posix_spawnp|execl|execle' | tr '\n' ' ')
	[ -z "$bad" ] || check_failed "T16/T21: $bin imports $bad"
done

# --- T15/T21: a hostile report, shown as root on a terminal ---------------------------------
mkdir spool
chmod 700 spool
cp "$abs_srcdir/threat-data/odd-report.json" spool/1700000000-4242-odd.json
zstd -q "$abs_srcdir/threat-data/odd-report.json" -o spool/1700000001-4243-odd.json.zst
mkdir PWNEDDIR
marker=$test_dir/PAGER_RAN
export PAGER="touch $marker" SYSTEMD_PAGER="touch $marker" MANPAGER="touch $marker" \
	LESSOPEN="|touch $marker %s" LESSCLOSE="touch $marker" \
	EDITOR="touch $marker" VISUAL="touch $marker" BROWSER="touch $marker" SUDO_USER=nobody SUDO_UID=65534
for cmd in "show spool/1700000000-4242-odd.json" "show spool/1700000001-4243-odd.json.zst" "list --spool spool" \
	"info --spool spool 4242"; do
	name=${cmd%% *}
	# a terminal, where a CLI would start a pager
	# (script(1) itself runs the command with $SHELL: it is set for crashpipe only)
	script -qec "env SHELL=$test_dir/no-shell strace -f -qq -o $name.strace -e trace=execve,%file $CRASHPIPE $cmd" "$name.tty" </dev/null >/dev/null 2>&1
	[ -s "$name.strace" ] || { check_failed "T21: crashpipe $cmd did not run under strace"; continue; }
	n=$(grep -c 'execve(' "$name.strace")
	[ "$n" = 1 ] || check_failed "T21: crashpipe $cmd ran $((n - 1)) other program(s): $(grep 'execve(' "$name.strace" | tail -n +2 | head -3)"
	grep -E 'open(at)?\(.*(etc/passwd|etc/shadow|PWNEDDIR|libevil)' "$name.strace" >opened &&
		check_failed "T15: crashpipe $cmd opened a path the report names: $(head -2 opened)"
	grep -E '(O_WRONLY|O_RDWR|O_CREAT)' "$name.strace" | grep -v -e '/dev/tty' -e '/dev/pts' -e '/dev/null' >wrote &&
		check_failed "T15: crashpipe $cmd opened something for writing: $(head -2 wrote)"
	grep -q "4242\|4243" "$name.tty" || check_failed "T15: crashpipe $cmd did not print the report: $(head -c 300 "$name.tty")"
done
[ ! -e "$marker" ] || check_failed "T21: a pager, editor or shell from the environment was run"
[ -z "$(find . / -maxdepth 1 -name PWNED)" ] || check_failed "T15: a command from the report was run"
[ -z "$(ls -A PWNEDDIR)" ] || check_failed "T15: something was written into PWNEDDIR"

checks_done
