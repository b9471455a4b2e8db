# pdb-subr.sh - shell helpers for the portable PDB tests (run-pdb-files.sh,
# run-dotnet-srclines.sh), sourced after tests/dotnet/dotnet-subr.sh and dotnet_build.

# build_embedded: the .NET 10 test app built again with its PDB embedded in the DLL
# (-p:DebugType=embedded), cached by content in $DOTNET_CACHE like build.sh's builds. Sets
# EMBEDDED to the output directory (Crasher, Crasher.dll), or to "" with EMBEDDED_WHY.
build_embedded() {
	local key dir
	EMBEDDED= EMBEDDED_WHY=
	key=$( (cat "$abs_srcdir/dotnet/Crasher/Crasher.csproj" "$abs_srcdir/dotnet/Crasher/Program.cs"
		dotnet --version) | sha256sum | cut -c1-16)
	dir=$DOTNET_CACHE/srclines-embedded-$key
	if [ ! -x "$dir/out/Crasher" ]; then
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp/src"
		cp "$abs_srcdir/dotnet/Crasher/Crasher.csproj" "$abs_srcdir/dotnet/Crasher/Program.cs" "$dir.tmp/src/"
		(cd "$dir.tmp/src" && DOTNET_CLI_USE_MSBUILD_SERVER=0 MSBUILDDISABLENODEREUSE=1 \
			dotnet build -c Release -f net10.0 -p:DebugType=embedded -p:UseSharedCompilation=false \
			-o "$dir.tmp/out" >"$dir.tmp/build.log" 2>&1) && rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	if [ -x "$dir/out/Crasher" ]; then
		EMBEDDED=$dir/out
	else
		EMBEDDED_WHY="the app did not build with -p:DebugType=embedded: $(tail -3 "$dir.tmp/build.log" 2>/dev/null)"
	fi
}
