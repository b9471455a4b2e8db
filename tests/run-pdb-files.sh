#!/bin/bash
# run-pdb-files.sh - the ECMA-335 and portable PDB readers on real files: the test app
# (tests/dotnet/Crasher) as tests/dotnet/build.sh builds it for each runtime (Crasher.dll,
# Crasher.pdb beside it), the .NET 10 build with its PDB embedded (tests/pdb-subr.sh), and
# the runtime's own System.Private.CoreLib.dll, checked by tests/unit/test-pdb against the
# C# source and the files' own ids (see test-pdb.c), prefixes and corruptions included.
# SKIPs, saying why, without dotnet.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"
. "$abs_srcdir/pdb-subr.sh"

prog=$abs_top_builddir/tests/unit/test-pdb
[ -x "$prog" ] || skip "tests/unit/test-pdb is not built"
dotnet_build
build_embedded
[ -n "$EMBEDDED" ] || fail "$EMBEDDED_WHY"

for rt in "${RUNTIMES[@]}"; do
	dir=$(dirname "${APP[$rt]}")
	corelib=$dir/System.Private.CoreLib.dll
	if [ ! -f "$corelib" ]; then
		# framework-dependent: the shared runtime it runs on
		v=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$dir/Crasher.runtimeconfig.json" | head -1)
		corelib=$(dotnet --list-runtimes | sed -n "s/^Microsoft.NETCore.App ${v%.*}\.\([0-9]*\) \[\(.*\)\]$/\2\/${v%.*}.\1/p" | tail -1)/System.Private.CoreLib.dll
	fi
	[ -f "$corelib" ] || { check_failed "$rt: no System.Private.CoreLib.dll found ($corelib)"; continue; }
	echo "== $rt: $dir, $corelib"
	"$prog" "$dir/Crasher.dll" "$dir/Crasher.pdb" "$abs_srcdir/dotnet/Crasher/Program.cs" \
		"$EMBEDDED/Crasher.dll" "$corelib" || check_failed "$rt: test-pdb failed"
done
checks_done
