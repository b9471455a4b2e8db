# build-subr.sh - what tests/dotnet/build.sh and tests/dotnet/AotApp/build.sh share, sourced
# by both (each defines die() and $cache first): the SDK's private environment under the
# cache, and the content-hash key a build is cached under.

# dotnet_cache_setup: create $cache (it must be ours), make it absolute, and give the SDK a
# private DOTNET_CLI_HOME and NUGET_PACKAGES under it, no telemetry, no build servers left
# running, and none of the crash settings of the test that runs the build.
dotnet_cache_setup() {
	mkdir -p "$cache" || die "cannot create $cache"
	[ -O "$cache" ] || die "$cache is not owned by $(id -un): refusing to build in it"
	chmod 755 "$cache"
	cache=$(cd "$cache" && pwd)

	export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
	export DOTNET_CLI_HOME="$cache/home" NUGET_PACKAGES="$cache/nuget"
	export DOTNET_CLI_USE_MSBUILD_SERVER=0 MSBUILDDISABLENODEREUSE=1 DOTNET_GENERATE_ASPNET_CERTIFICATE=false
	export DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1 DOTNET_ADD_GLOBAL_TOOLS_TO_PATH=0
	unset DOTNET_DbgEnableMiniDump DOTNET_EnableCrashReport DOTNET_EnableCrashReportOnly \
		DOTNET_DbgMiniDumpName DOTNET_DbgMiniDumpType LD_PRELOAD
	mkdir -p "$DOTNET_CLI_HOME" "$NUGET_PACKAGES"
}

# content_key DIR CC FILE...: the cache key, 16 hex digits of a SHA-256 over each FILE (a
# path relative to DIR) with its name, the SDK version, the installed runtimes, the first
# line of `CC --version` (none when CC is empty) and the machine. Prints it; non-zero when
# DIR cannot be entered or the hash fails.
content_key() {
	local dir=$1 cc=$2 f
	shift 2
	(
		cd "$dir" && {
			for f in "$@"; do
				echo "== $f"
				cat "$f"
			done
			echo "== sdk"
			dotnet --version
			dotnet --list-runtimes
			[ -z "$cc" ] || "$cc" --version | head -1
			uname -m
		} | sha256sum | cut -c1-16
	)
}

# cache_commit TMP BUILT KEY START KEEP: the build made in TMP (begun at START, a
# `date +%s.%N`) becomes BUILT: its time in build-seconds, KEY in .key unless a TMP/*.failed
# says a part did not build (a failed build is not cached: the next run tries again); then
# of the builds beside BUILT only the KEEP newest are kept (BUILT always), and any of the
# last two hours (prune).
cache_commit() {
	local tmp=$1 built=$2 key=$3 start=$4 keep=$5 end old
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }' >"$tmp/build-seconds"
	ls "$tmp"/*.failed >/dev/null 2>&1 || echo "$key" >"$tmp/.key"
	rm -rf "$built" && mv "$tmp" "$built" || die "cannot move $tmp to $built"
	prune "$(dirname "$built")" "$keep" "$built"
}

# prune DIR KEEP CURRENT: remove the builds in DIR beyond the KEEP newest, but none made in the
# last two hours: another tree's test (another key) may be running from it right now.
prune() {
	local old
	ls -dt "$1"/*/ 2>/dev/null | tail -n +$(($2 + 1)) | while read -r old; do
		[ "${old%/}" = "$3" ] && continue
		[ -n "$(find "${old%/}" -maxdepth 0 -mmin +120)" ] || continue
		rm -rf "$old"
	done
}
