#!/bin/bash
# run-man.sh - lint the man pages (man/*.in) with groff and mandoc.
#
# The pages are .in templates that the Makefile fills in with sed; here every
# @placeholder@ gets a plausible value the same way, so the lint sees what
# gets installed. Each available tool must pass with no warnings; the test is
# skipped only when neither groff nor mandoc is installed.

. "$srcdir/test-subr.sh"

mandir="${MAN_DIR:-$abs_srcdir/../man}"
pages=("$mandir"/crashpipe.8.in "$mandir"/crashpipe-report.5.in "$mandir"/crashpipe.conf.5.in)
for p in "${pages[@]}"; do
	[ -f "$p" ] || fail "missing man page $p"
done

have_groff=false have_mandoc=false
command -v groff >/dev/null 2>&1 && have_groff=true
command -v mandoc >/dev/null 2>&1 && have_mandoc=true
$have_groff || $have_mandoc ||
	skip "neither groff (Debian groff-base) nor mandoc is installed"

nfail=0
for p in "${pages[@]}"; do
	out=$(basename "$p" .in)
	sed -e 's|@DATE@|2025-01-01|g' \
	    -e 's|@PACKAGE_STRING@|crashpipe 0.1.0|g' \
	    -e 's|@PACKAGE_VERSION@|0.1.0|g' \
	    -e 's|@bindir@|/usr/local/bin|g' \
	    -e 's|@libexecdir@|/usr/local/libexec|g' \
	    -e 's|@sysctldir@|/usr/local/lib/sysctl.d|g' \
	    -e 's|@tmpfilesdir@|/usr/local/lib/tmpfiles.d|g' \
	    -e 's|@systemdunitdir@|/usr/local/lib/systemd/system|g' \
	    -e 's|@[A-Za-z_]*@|/usr/local/x|g' \
	    "$p" >"$out" || exit 99

	if $have_groff; then
		# groff exits 0 even when it warns: any message is a failure.
		msg=$(groff -man -ww -z "$out" 2>&1)
		if [ -n "$msg" ]; then
			echo "groff -man -ww -z $out:" >&2
			printf '%s\n' "$msg" >&2
			nfail=$((nfail + 1))
		else
			echo "ok: groff -man -ww -z $out"
		fi
	fi
	if $have_mandoc; then
		# Exit status 2 and up means warnings or errors; style notes are shown only.
		msg=$(mandoc -Tlint -Wall "$out" 2>&1)
		rc=$?
		[ -z "$msg" ] || printf '%s\n' "$msg" >&2
		if [ "$rc" -ge 2 ] || printf '%s\n' "$msg" | grep -q -E ': (WARNING|ERROR|UNSUPP|BADARG|SYSERR)'; then
			echo "mandoc -Tlint $out: exit $rc" >&2
			nfail=$((nfail + 1))
		else
			echo "ok: mandoc -Tlint $out"
		fi
	fi
	# Unresolved placeholders must not survive the sed above.
	! grep -n '@[A-Za-z_]*@' "$out" >&2 || { echo "placeholder left in $out" >&2; nfail=$((nfail + 1)); }
done

$have_groff || echo "note: groff not installed, only mandoc was run"
$have_mandoc || echo "note: mandoc not installed, only groff was run"
[ "$nfail" = 0 ] || fail "$nfail lint failure(s)"
exit 0
