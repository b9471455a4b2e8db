#!/bin/bash
# run-dotnet-srclines.sh - source file and line of managed frames, from portable PDBs, end to
# end: the test app (tests/dotnet/Crasher) crashes through the real kernel pipe into
# `crashpipe handle`; the oracle is the runtime's own stack trace on the app's stderr (the
# runtime reads the same PDBs): every "in FILE:line N" it prints is the file and line of that
# frame in the report (tests/check-srclines.py), in the crashed thread's managed frames for
# the scenarios whose thread still has the throwing stack, and in the exception's own stack
# whenever the report has one.
#
#   1. PDB beside the assembly (the build's output), .NET 10 and 8, scenarios main, worker,
#      generic, nullref, async;
#   2. PDB embedded in the assembly: the app built again with -p:DebugType=embedded (cached
#      in $CRASHPIPE_DOTNET_CACHE like tests/dotnet/build.sh's builds), no .pdb file anywhere;
#   3. PDB moved to a directory given with `handle --symbol-path` (the runtime prints no line
#      then: the oracle is the lines of case 1 for the same scenario);
#   4. a PDB of another build beside the assembly: refused (its id differs), a note says so,
#      no frame of the app gets a line.
# SKIPs, saying why, without root, dotnet or the tools.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"
. "$abs_srcdir/pdb-subr.sh"

dotnet_need
need jq
"$CRASHPIPE" handle --help 2>&1 | grep -q -- --symbol-path || skip "crashpipe handle has no --symbol-path"
CHECK="python3 $abs_srcdir/check-srclines.py"

dotnet_build

dotnet_short ds
mkdir -p "$short/y"
chmod 755 "$short/y"
take_core_pattern

# crash RT-LABEL APP SCENARIO [handle options...]: run APP SCENARIO, its report decompressed to
# $test_dir/LABEL-SCENARIO.json, its output in .out. Returns 1 (with a failed check) if no report.
crash() {
	local label=$1 app=$2 sc=$3 pid rc want
	shift 3
	dotnet_pipe --spool "$spool" "$@"
	dotnet_fresh_rate_limit
	out=$test_dir/$label-$sc.out
	json=$test_dir/$label-$sc.json
	(
		ulimit -c unlimited
		exec "$app" "$sc"
	) >"$out" 2>&1 &
	pid=$!
	wait "$pid"
	rc=$?
	want=$(scenario_signal "$sc")
	[ "$rc" = $((128 + want)) ] || { check_failed "$label $sc: exit status $rc: $(tail -3 "$out")"; return 1; }
	if ! wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
		check_failed "$label $sc: no report within 60 s: $(ls -A "$spool")"
		return 1
	fi
	sleep 0.2
	zstd -q -dc "$report" >"$json" || { check_failed "$label $sc: $report is not zstd"; return 1; }
	rm -f "$report"
	return 0
}

# the scenarios whose crashed thread still holds the stack the exception was thrown from
thread_frames() {
	case $1 in
	async) ;;
	*) echo --thread-frames ;;
	esac
}

scenarios=${CRASHPIPE_DOTNET_SCENARIOS:-"main worker generic nullref async"}

# 1. beside the assembly
for rt in "${RUNTIMES[@]}"; do
	for sc in $scenarios; do
		crash "$rt" "${APP[$rt]}" "$sc" || continue
		$CHECK "$out" "$json" --name "$rt $sc" $(thread_frames "$sc") >"$test_dir/$rt-$sc.check" ||
			check_failed "$rt $sc: $(tr '\n' ' ' <"$test_dir/$rt-$sc.check")"
		cat "$test_dir/$rt-$sc.check"
	done
done

# the same pass again outside the handler, on the reports of .NET 10's main and threads100
# (100 threads): the same lines, and what the pass costs, cold and warm
prog=$abs_top_builddir/tests/unit/test-srclines
if [ -x "$prog" ] && [ -n "${APP[dotnet10]:-}" ]; then
	[ -s "$test_dir/dotnet10-main.json" ] || crash dotnet10 "${APP[dotnet10]}" main || true
	crash dotnet10 "${APP[dotnet10]}" threads100 || true
	for sc in main threads100; do
		[ -s "$test_dir/dotnet10-$sc.json" ] || continue
		"$prog" "$test_dir/dotnet10-$sc.json" 5 >"$test_dir/cost-$sc.out" 2>&1 ||
			check_failed "dotnet10 $sc: test-srclines: $(tail -3 "$test_dir/cost-$sc.out")"
		echo "dotnet10 $sc: $(grep '^srclines' "$test_dir/cost-$sc.out")"
	done
fi

# 2. embedded: the .NET 10 app built again with the PDB inside the DLL
rt=dotnet10
if [ -n "${APP[$rt]:-}" ]; then
	build_embedded
	emb=$(dirname "${EMBEDDED:-/nonexistent/out}")
	if [ -x "$emb/out/Crasher" ]; then
		e=$short/e
		rm -rf "$e"
		cp -r "$emb/out" "$e"
		cp "$(dirname "${APP[$rt]}")/libcrashlib.so" "$e/" 2>/dev/null || true
		rm -f "$e"/*.pdb
		python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if b"MPDB" in d else 1)' "$e/Crasher.dll" ||
			check_failed "embedded: the rebuilt Crasher.dll has no embedded PDB"
		for sc in main async; do
			crash embedded "$e/Crasher" "$sc" || continue
			$CHECK "$out" "$json" --name "embedded $sc" $(thread_frames "$sc") >"$test_dir/embedded-$sc.check" ||
				check_failed "embedded $sc: $(tr '\n' ' ' <"$test_dir/embedded-$sc.check")"
			cat "$test_dir/embedded-$sc.check"
		done
	else
		check_failed "embedded: $EMBEDDED_WHY"
	fi

	# 3. --symbol-path: the app's PDB moved away from it
	m=$short/m
	rm -rf "$m"
	cp -r "$(dirname "${APP[$rt]}")" "$m"
	mv "$m/Crasher.pdb" "$short/y/"
	sc=main
	if crash symbolpath "$m/Crasher" "$sc" --symbol-path "$short/y"; then
		# the runtime found no PDB: the oracle is what it printed with the PDB beside the app
		want=$test_dir/$rt-$sc.out
		if [ -s "$want" ]; then
			$CHECK "$want" "$json" --name "symbol-path $sc" --thread-frames >"$test_dir/symbolpath.check" ||
				check_failed "symbol-path: $(tr '\n' ' ' <"$test_dir/symbolpath.check")"
			cat "$test_dir/symbolpath.check"
		else
			check_failed "symbol-path: no output of the beside run to compare with"
		fi
		grep -q ':line ' "$out" && check_failed "symbol-path: the runtime printed lines: it found a PDB the test moved away"
	fi
	# without --symbol-path, no lines
	if crash nosymbolpath "$m/Crasher" "$sc"; then
		$CHECK "$out" "$json" --name "no PDB" --no-lines Crasher.dll >"$test_dir/nopdb.check" ||
			check_failed "no PDB: $(tr '\n' ' ' <"$test_dir/nopdb.check")"
		cat "$test_dir/nopdb.check"
	fi

	# a PDB beside the assembly that is a symbolic link (to the real one): not opened
	# (fsopen's rules: regular files, no links), no lines
	ln -s "$short/y/Crasher.pdb" "$m/Crasher.pdb"
	if crash symlink "$m/Crasher" "$sc"; then
		$CHECK "$out" "$json" --name "symlinked PDB" --no-lines Crasher.dll >"$test_dir/symlink.check" ||
			check_failed "symlinked PDB: $(tr '\n' ' ' <"$test_dir/symlink.check")"
		cat "$test_dir/symlink.check"
	fi
	rm -f "$m/Crasher.pdb"
	# (no FIFO: the runtime itself would block opening it for its own stack trace)

	# 4. another build's PDB beside the assembly: refused, with a note
	if [ -f "$emb/out/Crasher.dll" ]; then
		# the embedded build's PDB as a file (the same sources built elsewhere: another id)
		python3 - "$emb/out/Crasher.dll" "$m/Crasher.pdb" <<-'EOF' || check_failed "mismatch: cannot extract the embedded PDB"
		import struct, sys, zlib
		d = open(sys.argv[1], "rb").read()
		i = d.index(b"MPDB")
		size = struct.unpack_from("<I", d, i + 4)[0]
		open(sys.argv[2], "wb").write(zlib.decompressobj(-15).decompress(d[i + 8:])[:size])
		EOF
		if [ -s "$m/Crasher.pdb" ] && crash mismatch "$m/Crasher" "$sc"; then
			$CHECK "$out" "$json" --name "mismatched PDB" --no-lines Crasher.dll >"$test_dir/mismatch.check" ||
				check_failed "mismatched PDB: $(tr '\n' ' ' <"$test_dir/mismatch.check")"
			cat "$test_dir/mismatch.check"
			jq -r '.notes[]?' "$json" | grep -q "Crasher.pdb is not this build's PDB" ||
				check_failed "mismatched PDB: no note says why: $(jq -c .notes "$json")"
		fi
	fi
fi
checks_done
