#!/bin/bash
# run-clrname.sh - every method of real assemblies named from their metadata
# (tests/unit/test-clrname ASSEMBLY...): the test app's Crasher.dll on each runtime built, and
# that runtime's System.Private.CoreLib.dll and System.Linq.dll (tens of thousands of
# methods: generic, nested, compiler-generated, [StackTraceHidden]), with no failure, each
# within a second. SKIPs, saying why, without dotnet.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

prog=$abs_top_builddir/tests/unit/test-clrname
[ -x "$prog" ] || skip "tests/unit/test-clrname is not built"
dotnet_build

for rt in "${RUNTIMES[@]}"; do
	app=${APP[$rt]}
	dir=${app%/*}
	# the runtime the app runs on: beside it (self-contained) or the shared framework
	corelib=$dir/System.Private.CoreLib.dll
	if [ ! -f "$corelib" ]; then
		v=$("$app" bogus 2>/dev/null | sed -n 's/^crasher scenario .* runtime \([^ ]*\) pid .*/\1/p')
		corelib=$(ls -d /usr/share/dotnet/shared/Microsoft.NETCore.App/"$v"/System.Private.CoreLib.dll \
			/usr/lib/dotnet/shared/Microsoft.NETCore.App/"$v"/System.Private.CoreLib.dll 2>/dev/null | head -1)
	fi
	[ -f "$corelib" ] || { check_failed "$rt: no System.Private.CoreLib.dll found for $app"; continue; }
	start=$(date +%s%N)
	"$prog" "$dir/Crasher.dll" "$corelib" "${corelib%/*}/System.Linq.dll" >"$test_dir/$rt.out" 2>"$test_dir/$rt.err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	grep -E 'methods named|cp_clrname_fill' "$test_dir/$rt.out"
	echo "$rt: ${ms} ms"
	[ "$rc" = 0 ] || check_failed "$rt: test-clrname failed: $(head -3 "$test_dir/$rt.err")"
	[ "$ms" -lt 5000 ] || check_failed "$rt: naming took $ms ms"
	# a few names the runtime prints in its traces, made exactly
	for want in 'Crasher.Program.Main(String[] args)' \
		'Crasher.Outer`1.Inner[U](Int32 depth, T t, U u)' \
		'Crasher.Program.AsyncLevel2(Int32 x)' \
		'Crasher.NameShapes.Iterate(Int32 n)+MoveNext()' \
		'System.Collections.Generic.List`1..ctor(IEnumerable`1 collection)'; do
		grep -qF "	$want" "$test_dir/$rt.out" || check_failed "$rt: no method named '$want'"
	done
	grep -qE '^0x[0-9a-f]{8} hidden	System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw\(\)$' "$test_dir/$rt.out" ||
		check_failed "$rt: ExceptionDispatchInfo.Throw() not named hidden"
done
checks_done
