#!/bin/bash
# build.sh - build the .NET crash test app (tests/dotnet/Crasher) for the three runtimes the
# tests use, and its native P/Invoke target (tests/dotnet/native/crashlib.c).
#
# usage: tests/dotnet/build.sh [--corpus] [OUTDIR]
#
#   OUTDIR/dotnet10/Crasher   .NET 10, framework-dependent (dotnet build -c Release -f net10.0):
#                             runs on the machine's shared runtime (libcoreclr.so, createdump and
#                             libmscordaccore.so in /usr/share/dotnet/shared/Microsoft.NETCore.App/V)
#   OUTDIR/dotnet9/Crasher    .NET 9 and .NET 8, self-contained (dotnet publish -f net9.0 / net8.0
#   OUTDIR/dotnet8/Crasher    -r linux-x64 --self-contained): libcoreclr.so, libmscordaccore.so and
#                             createdump from the NuGet runtime pack, beside the app
#   OUTDIR/libcrashlib.so     also copied beside each app (DllImport("crashlib") finds it there)
#
# Prints one line per runtime, "dotnet10 PATH", "dotnet9 PATH" and "dotnet8 PATH" (PATH = the
# apphost), or
# "dotnetN FAILED: why" (then exits 1; the build log is OUTDIR/build-dotnetN.log).
#
# --corpus: also the real-world apps of tests/dotnet/apps/ (WebApp: ASP.NET Core + Newtonsoft.Json;
# BatchApp: console), each for three runtimes, after the lines above, one line each:
#   "corpus APP dotnet10 PATH"  framework-dependent (dotnet build -f net10.0), on the shared runtime
#   "corpus APP dotnet9 PATH"   self-contained publish -f net9.0 -r linux-x64 (runtime packs from
#   "corpus APP dotnet8 PATH"   NuGet: libcoreclr.so, libmscordaccore.so, createdump beside the app)
# or "corpus APP dotnetN FAILED: why" (exit 1; log OUTDIR/corpus/build-APP-dotnetN.log). Cached by
# content like the Crasher, under its own key, in $CRASHPIPE_DOTNET_CACHE/corpus/KEY; with an
# OUTDIR the apps are copied to OUTDIR/corpus/APP/dotnetN.
#
# Cached by content: the key is a hash of the sources, this script, the SDK version, the
# installed runtimes and the C compiler. A complete build for a key is kept in
# $CRASHPIPE_DOTNET_CACHE/build/KEY (default /var/tmp/crashpipe-dotnet-cache) and copied to
# OUTDIR; OUTDIR itself is reused when it already holds that key. Without OUTDIR the cache
# directory itself is the output. The SDK runs with a private DOTNET_CLI_HOME and
# NUGET_PACKAGES under the cache, no telemetry, no build servers left running, and never
# writes into the source tree (the sources are copied to the cache first).
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
corpus=0
if [ "${1:-}" = --corpus ]; then
	corpus=1
	shift
fi
cache=${CRASHPIPE_DOTNET_CACHE:-/var/tmp/crashpipe-dotnet-cache}

die() { echo "build.sh: $*" >&2; exit 2; }
command -v dotnet >/dev/null 2>&1 || die "dotnet is not on PATH"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || die "no C compiler ($CC)"

. "$here/build-subr.sh"
dotnet_cache_setup

sources=(Crasher/Crasher.csproj Crasher/Program.cs native/crashlib.c build.sh build-subr.sh)
key=$(content_key "$here" "$CC" "${sources[@]}") || die "cannot hash the sources"

userout=${1:-}
common=(-c Release -nologo --disable-build-servers -p:UseSharedCompilation=false
	-p:RestoreIgnoreFailedSources=false -p:GenerateFullPaths=true)
outdir=${1:-$cache/build/$key}
mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

CRASHER_RUNTIMES=(dotnet10 dotnet9 dotnet8)
report() {
	local ok=0 v
	for v in "${CRASHER_RUNTIMES[@]}"; do
		if [ -x "$outdir/$v/Crasher" ]; then
			echo "$v $outdir/$v/Crasher"
		else
			echo "$v FAILED: $(cat "$outdir/$v.failed" 2>/dev/null || echo "not built") (log: $outdir/build-$v.log)"
			ok=1
		fi
	done
	return $ok
}

# ------------------------------------------------------------------ --corpus: tests/dotnet/apps
CORPUS_APPS=(WebApp BatchApp)
CORPUS_RUNTIMES=(dotnet10 dotnet9 dotnet8)

corpus_report() { # DIR
	local ok=0 app v
	for app in "${CORPUS_APPS[@]}"; do
		for v in "${CORPUS_RUNTIMES[@]}"; do
			if [ -x "$1/$app/$v/$app" ]; then
				echo "corpus $app $v $1/$app/$v/$app"
			else
				echo "corpus $app $v FAILED: $(cat "$1/$app-$v.failed" 2>/dev/null || echo "not built") (log: $1/build-$app-$v.log)"
				ok=1
			fi
		done
	done
	return $ok
}

# build_corpus: build (or find in the cache) every app of tests/dotnet/apps for every runtime
# of CORPUS_RUNTIMES, print the "corpus ..." lines; 1 when one of them did not build.
build_corpus() {
	local ckey cbuilt cout b app v tfm proj start
	local files=()
	for app in "${CORPUS_APPS[@]}"; do
		files+=(apps/$app/$app.csproj apps/$app/Program.cs)
	done
	ckey=$(content_key "$here" "" "${files[@]}" build.sh build-subr.sh) || die "cannot hash the corpus sources"
	cbuilt=$cache/corpus/$ckey
	cout=$cbuilt
	[ -z "$userout" ] || cout=$outdir/corpus
	if [ "$(cat "$cout/.key" 2>/dev/null)" = "$ckey" ]; then
		corpus_report "$cout"
		return
	fi
	exec 8>"$cache/.lock" || die "cannot open $cache/.lock"
	flock 8 || die "cannot lock $cache/.lock"
	if [ "$(cat "$cbuilt/.key" 2>/dev/null)" != "$ckey" ]; then
		start=$(date +%s.%N)
		b=$cbuilt.tmp
		rm -rf "$cbuilt" "$b"
		mkdir -p "$b/src" || die "cannot create $b"
		(cd "$here" && cp -r --parents "${files[@]}" "$b/src/") || die "cannot copy the corpus sources"
		for app in "${CORPUS_APPS[@]}"; do
			proj=$b/src/apps/$app/$app.csproj
			for v in "${CORPUS_RUNTIMES[@]}"; do
				tfm=net${v#dotnet}.0
				if [ "$v" = dotnet10 ]; then
					dotnet build "$proj" -f "$tfm" "${common[@]}" -o "$b/$app/$v" >"$b/build-$app-$v.log" 2>&1
				else
					# TargetFrameworks=TFM: restore for linux-x64 only what this publish needs
					dotnet publish "$proj" -f "$tfm" -p:TargetFrameworks="$tfm" -r linux-x64 --self-contained \
						"${common[@]}" -o "$b/$app/$v" >"$b/build-$app-$v.log" 2>&1 &&
						[ -e "$b/$app/$v/libcoreclr.so" ] && [ -e "$b/$app/$v/libmscordaccore.so" ] &&
						[ -e "$b/$app/$v/createdump" ]
				fi
				if [ $? != 0 ] || [ ! -x "$b/$app/$v/$app" ]; then
					echo "dotnet build/publish $app -f $tfm failed: $(grep -m1 -E 'error|rror ' "$b/build-$app-$v.log")" >"$b/$app-$v.failed"
					rm -rf "$b/$app/$v"
				fi
			done
			rm -rf "$b/src/apps/$app/bin" "$b/src/apps/$app/obj"
		done
		cache_commit "$b" "$cbuilt" "$ckey" "$start" 2
	fi
	if [ "$cout" != "$cbuilt" ]; then
		rm -rf "$cout"
		mkdir -p "$cout" && cp -a "$cbuilt/." "$cout/" || die "cannot copy $cbuilt to $cout"
	fi
	corpus_report "$cout"
}

# OUTDIR already holds this key
if [ "$(cat "$outdir/.key" 2>/dev/null)" = "$key" ]; then
	report
	rc=$?
	[ "$corpus" = 0 ] || build_corpus || rc=1
	exit $rc
fi

exec 8>"$cache/.lock" || die "cannot open $cache/.lock"
flock 8 || die "cannot lock $cache/.lock"

built=$cache/build/$key
if [ "$(cat "$built/.key" 2>/dev/null)" != "$key" ]; then
	start=$(date +%s.%N)
	rm -rf "$built" "$built.tmp"
	mkdir -p "$built.tmp/src" || die "cannot create $built.tmp"
	b=$built.tmp
	(cd "$here" && cp -r --parents Crasher/Crasher.csproj Crasher/Program.cs native/crashlib.c "$b/src/") ||
		die "cannot copy the sources"

	# native P/Invoke target: every call a real frame
	if ! "$CC" -shared -fPIC -O0 -g -fno-omit-frame-pointer -Wl,--build-id -o "$b/libcrashlib.so" \
		"$b/src/native/crashlib.c" >"$b/build-crashlib.log" 2>&1; then
		cat "$b/build-crashlib.log" >&2
		die "cannot build libcrashlib.so"
	fi

	proj=$b/src/Crasher/Crasher.csproj

	# .NET 10, framework-dependent
	if dotnet build "$proj" -f net10.0 "${common[@]}" -o "$b/dotnet10" >"$b/build-dotnet10.log" 2>&1 &&
		[ -x "$b/dotnet10/Crasher" ]; then
		cp "$b/libcrashlib.so" "$b/dotnet10/"
	else
		echo "dotnet build -f net10.0 failed: $(grep -m1 -E 'error|rror ' "$b/build-dotnet10.log")" >"$b/dotnet10.failed"
		rm -rf "$b/dotnet10"
	fi

	# .NET 9 and 8, self-contained: the runtime pack brings libcoreclr.so, libmscordaccore.so,
	# createdump (TargetFrameworks=TFM: restore for linux-x64 only what this publish needs)
	for v in dotnet9 dotnet8; do
		tfm=net${v#dotnet}.0
		if dotnet publish "$proj" -f "$tfm" -p:TargetFrameworks="$tfm" -r linux-x64 --self-contained "${common[@]}" \
			-o "$b/$v" >"$b/build-$v.log" 2>&1 &&
			[ -x "$b/$v/Crasher" ] && [ -e "$b/$v/libcoreclr.so" ]; then
			cp "$b/libcrashlib.so" "$b/$v/"
			for f in libmscordaccore.so createdump; do
				[ -e "$b/$v/$f" ] || echo "build.sh: warning: the .NET ${v#dotnet} runtime pack has no $f" >&2
			done
		else
			echo "dotnet publish -f $tfm --self-contained failed: $(grep -m1 -E 'error|rror ' "$b/build-$v.log")" >"$b/$v.failed"
			rm -rf "$b/$v"
		fi
	done
	rm -rf "$b/src/Crasher/bin" "$b/src/Crasher/obj"
	# keep the cache small: the three newest builds (and any other of the last two hours)
	cache_commit "$b" "$built" "$key" "$start" 3
fi

if [ "$outdir" != "$built" ]; then
	rm -rf "$outdir"/dotnet10 "$outdir"/dotnet9 "$outdir"/dotnet8 "$outdir"/.key "$outdir"/*.failed "$outdir"/build-* \
		"$outdir"/src "$outdir"/libcrashlib.so
	cp -a "$built/." "$outdir/" || die "cannot copy $built to $outdir"
fi
report
rc=$?
[ "$corpus" = 0 ] || build_corpus || rc=1
exit $rc
