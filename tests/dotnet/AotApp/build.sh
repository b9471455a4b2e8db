#!/bin/bash
# build.sh - build the NativeAOT crash test app (tests/dotnet/AotApp) with
# `dotnet publish -c Release -r linux-x64` (PublishAot: the SDK picks the ILCompiler package
# from NuGet, clang links the executable).
#
# usage: tests/dotnet/AotApp/build.sh [OUTDIR]
#
#   OUTDIR/nativeaot10/Aot       the executable (stripped; its symbols and DWARF are in
#   OUTDIR/nativeaot10/Aot.dbg   the .dbg file beside it, named by its .gnu_debuglink)
#
# Prints "nativeaot10 PATH" or "nativeaot10 FAILED: why" (then exits 1; the build log is
# OUTDIR/build-nativeaot10.log).
#
# Cached by content like ../build.sh: the key is a hash of the sources, this script, the SDK
# version, the installed runtimes and the C compiler; a complete build is kept in
# $CRASHPIPE_DOTNET_CACHE/aot/KEY (default /var/tmp/crashpipe-dotnet-cache) and copied to
# OUTDIR. The SDK runs with a private DOTNET_CLI_HOME and NUGET_PACKAGES under the cache, no
# telemetry, no build servers left running, and never writes into the source tree.
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CRASHPIPE_DOTNET_CACHE:-/var/tmp/crashpipe-dotnet-cache}

die() { echo "build.sh: $*" >&2; exit 2; }
command -v dotnet >/dev/null 2>&1 || die "dotnet is not on PATH"
# ILCompiler links with clang (its default linker driver on Linux)
command -v clang >/dev/null 2>&1 || die "no clang (NativeAOT links with it)"

. "$here/../build-subr.sh"
dotnet_cache_setup

sources=(AotApp.csproj Program.cs build.sh ../build-subr.sh)
key=$(content_key "$here" clang "${sources[@]}") || die "cannot hash the sources"

outdir=${1:-$cache/aot/$key}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

report() {
	if [ -x "$outdir/nativeaot10/Aot" ]; then
		echo "nativeaot10 $outdir/nativeaot10/Aot"
		return 0
	fi
	echo "nativeaot10 FAILED: $(cat "$outdir/nativeaot10.failed" 2>/dev/null || echo "not built") (log: $outdir/build-nativeaot10.log)"
	return 1
}

if [ "$(cat "$outdir/.key" 2>/dev/null)" = "$key" ]; then
	report
	exit $?
fi

exec 8>"$cache/.lock-aot" || die "cannot open $cache/.lock-aot"
flock 8 || die "cannot lock $cache/.lock-aot"

built=$cache/aot/$key
if [ "$(cat "$built/.key" 2>/dev/null)" != "$key" ]; then
	start=$(date +%s.%N)
	rm -rf "$built" "$built.tmp"
	mkdir -p "$built.tmp/src" || die "cannot create $built.tmp"
	b=$built.tmp
	(cd "$here" && cp AotApp.csproj Program.cs "$b/src/") || die "cannot copy the sources"
	if dotnet publish "$b/src/AotApp.csproj" -c Release -r linux-x64 -nologo --disable-build-servers \
		-p:UseSharedCompilation=false -p:RestoreIgnoreFailedSources=false -p:GenerateFullPaths=true \
		-o "$b/nativeaot10" >"$b/build-nativeaot10.log" 2>&1 &&
		[ -x "$b/nativeaot10/Aot" ] && [ -s "$b/nativeaot10/Aot.dbg" ]; then
		:
	else
		echo "dotnet publish (PublishAot) failed: $(grep -m1 -E 'error|rror ' "$b/build-nativeaot10.log")" >"$b/nativeaot10.failed"
		rm -rf "$b/nativeaot10"
	fi
	rm -rf "$b/src/bin" "$b/src/obj"
	# keep the cache small: the two newest builds
	cache_commit "$b" "$built" "$key" "$start" 2
fi

if [ "$outdir" != "$built" ]; then
	rm -rf "$outdir"/nativeaot10 "$outdir"/.key "$outdir"/*.failed "$outdir"/build-* "$outdir"/src
	cp -a "$built/." "$outdir/" || die "cannot copy $built to $outdir"
fi
report
