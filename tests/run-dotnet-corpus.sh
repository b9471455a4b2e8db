#!/bin/bash
# run-dotnet-corpus.sh - real-world .NET apps crash end to end: the corpus of tests/dotnet/apps
# (built by tests/dotnet/build.sh --corpus for .NET 10, 9 and 8), through the real kernel pipe
# into `crashpipe handle`, with libcrashpipe-preload.so handing the runtime's createdump to
# crashpipe-createdump, which chains to the real createdump (the user asked for a dump:
# DOTNET_DbgEnableMiniDump=1, DOTNET_EnableCrashReport=1) so that the same crash also has the
# runtime's own crash report and a dump for dotnet-dump.
#
# The cases (CASE: app, trigger):
#   orders     WebApp, GET /orders/42: an async void handler throws after an await
#   serialize  WebApp, GET /serialize: Newtonsoft.Json overflows the stack on a cyclic graph
#   settle     WebApp, GET /settle/7: a BackgroundService's thread "settlement-worker" throws
#   aggregate  BatchApp: an AggregateException with two inner exceptions, unhandled on main
# The requests go over loopback to the port Kestrel printed (bash's /dev/tcp).
#
# Oracles of the same crash, each printing one agreement line:
#   - the runtime's own stderr (dotnet-oracle.py check-stderr): every frame it prints is in the
#     report's exception "stack" (stack overflow: the crashed thread's frames, "repeat" and
#     "omitted" honoured) in the same order, every "in FILE:line N" is that frame's file and
#     line, the exception types, messages and inner exceptions agree:
#     "APP RUNTIME stderr frames a/b lines c/d"; 100% needed;
#   - createdump's crash report (dotnet-oracle.py compare): >= 99% of its named managed frames
#     of the crashed thread and the app's threads, per thread, the same crashed thread and
#     exception type: "agreement APP RUNTIME: M/N";
#   - report facts (check-crashpipe): exception type and message as the app printed them, the
#     inner exceptions (aggregate), process.tid, signal 6, runtime version, memory_source
#     "live", the crashed thread's managed_name (settle: "settlement-worker");
#   - dotnet-dump on createdump's dump, as a second opinion (printed, not counted unless
#     CRASHPIPE_DOTNET_SOS_MIN is set): clrstack -all against the report's threads, its
#     "[FILE @ LINE]" against the report's file and line of the frame at the same stack
#     pointer (check-lines), and pe -nested of the crashed thread against the report's
#     exception (check-pe).
# The agreement lines are gathered at the end: the table of the closing note is made of them.
#
# SKIPs, saying why, while the preload hook, the stub or the DAC support is not built, or
# when no corpus app builds. CRASHPIPE_DOTNET_RUNTIMES ("dotnet10 dotnet9 dotnet8") and
# CRASHPIPE_DOTNET_CASES ("orders serialize settle aggregate") choose a subset.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need --dac
need dotnet
dotnet_short dc
dotnet_hook

# the corpus, built (or found in the cache) for every runtime
declare -A CAPP
bash "$abs_srcdir/dotnet/build.sh" --corpus >build.out 2>build.err
while read -r tag app rt path; do
	[ "$tag" = corpus ] || continue
	case $path in
	/*) CAPP[$app.$rt]=$path ;;
	*) check_failed "$app $rt did not build: $path" ;;
	esac
done <build.out
[ ${#CAPP[@]} -gt 0 ] || skip "no corpus app built: $(cat build.out build.err | tail -5)"
bdir=$(sed -n 's|^corpus [^ ]* [^ ]* \(/.*\)/[^/]*/[^/]*/[^/]*$|\1|p' build.out | head -1)
echo "corpus build: $(cat "$bdir/build-seconds" 2>/dev/null || echo '?') s when it was built, in $bdir"

runtimes=${CRASHPIPE_DOTNET_RUNTIMES:-dotnet10 dotnet9 dotnet8}
cases=${CRASHPIPE_DOTNET_CASES:-orders serialize settle aggregate}

case_app() {
	case $1 in
	orders | serialize | settle) echo WebApp ;;
	aggregate) echo BatchApp ;;
	esac
}
case_path() {
	case $1 in
	orders) echo /orders/42 ;;
	serialize) echo /serialize ;;
	settle) echo /settle/7 ;;
	esac
}
# the namespace of the app's own frames (compare --stable)
case_ns() { echo "$(case_app "$1")."; }

dotnet_pipe --spool "$spool" --hint-dir "$hints"

# http_get PORT PATH: one request over loopback; fails only when it cannot be sent. The
# answer (if the process lives to give one; its death may reset the connection) is dropped.
http_get() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3 || exit 1
		timeout 20 cat <&3 >/dev/null || true
	) 2>/dev/null
}

# run_case D APP RT CASE: start the app (stdout D/app.out, stderr D/app.err), trigger the
# crash, wait for it to die; sets pid. Fails the check unless it died of SIGABRT.
run_case() {
	local d=$1 app=$2 rt=$3 c=$4 rc port url i
	(
		ulimit -c unlimited
		cd "$d" || exit 1	# a directory of its own: the host reads its working directory
		exec env "${HOOK[@]}" DOTNET_DbgEnableMiniDump=1 DOTNET_EnableCrashReport=1 DOTNET_DbgMiniDumpType=1 \
			DOTNET_DbgMiniDumpName="$d/core.%p" "${CAPP[$app.$rt]}"
	) >"$d/app.out" 2>"$d/app.err" &
	pid=$!
	if [ "$app" = WebApp ]; then
		url=
		for i in $(seq 1 300); do
			url=$(sed -n 's/^listening //p' "$d/app.out")
			[ -n "$url" ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		port=${url##*:}
		if [ -z "$url" ] || ! http_get "$port" "$(case_path "$c")"; then
			check_failed "$rt $c: $app printed no address or refused the request ($(tail -2 "$d/app.out" "$d/app.err" | tr '\n' ' '))"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	( sleep 120; kill -KILL "$pid" 2>/dev/null ) &
	local watchdog=$!
	wait "$pid" 2>/dev/null
	rc=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	[ "$rc" = 134 ] || {
		check_failed "$rt $c: exit status $rc, expected 134 (SIGABRT): $(tail -3 "$d/app.err" | tr '\n' ' ')"
		return 1
	}
}

sos_min=${CRASHPIPE_DOTNET_SOS_MIN:-}
summary=()
for rt in $runtimes; do
	for c in $cases; do
		app=$(case_app "$c")
		[ -n "$app" ] || fail "unknown case $c"
		[ -n "${CAPP[$app.$rt]:-}" ] || continue
		d=$test_dir/$rt-$c
		mkdir -p "$d"
		for attempt in 1 2; do
			run_case "$d" "$app" "$rt" "$c" || true
			oracle_raced "$d/core.$pid.crashreport.json" "$d/app.err" "$attempt" || break
		done
		grep -q "^corpus app $app runtime " "$d/app.out" || check_failed "$rt $c: $app printed no start line"

		oracle=$d/core.$pid.crashreport.json
		[ -s "$oracle" ] || {
			check_failed "$rt $c: no createdump crash report $oracle: $(grep -i createdump "$d/app.out" "$d/app.err" | tail -3)"
			oracle=
		}
		if ! wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
			check_failed "$rt $c: no report $spool/*-$pid-*.json.zst within 60 s: $(ls -A "$spool")"
			summary+=("$app $rt ($c): no report")
			continue
		fi
		sleep 0.2
		if ! zstd -q -dc "$report" >"$d/crashpipe.json"; then
			check_failed "$rt $c: $report is not zstd"
			continue
		fi
		mv "$report" "$d/"
		echo "$rt $c: report $(stat -c %s "$d/crashpipe.json") bytes of JSON, $(stat -c %s "$d/$(basename "$report")") compressed"

		# oracle 1: the runtime's own stderr
		python3 "$ORACLE" check-stderr "$d/app.err" "$d/crashpipe.json" --name "$app/$c $rt" >"$d/stderr.out"
		rc=$?
		cat "$d/stderr.out"
		[ "$rc" = 0 ] || check_failed "$rt $c: the report differs from the runtime's stderr ($(grep FAILED "$d/stderr.out" | head -3 | tr '\n' ' '))"
		if [ "$rc" = 0 ]; then
			# the negative control: one frame fewer must fail the same check
			python3 "$ORACLE" doctor "$d/crashpipe.json" -o "$d/doctored.json" &&
				! python3 "$ORACLE" check-stderr "$d/app.err" "$d/doctored.json" >"$d/doctored.out" ||
				check_failed "$rt $c: check-stderr passes on a report with a frame removed ($d/doctored.json)"
		fi
		summary+=("$(head -1 "$d/stderr.out")")

		# oracle 2: createdump's crash report of the same crash
		crashed=
		if [ -n "$oracle" ]; then
			python3 "$ORACLE" createdump-report "$oracle" -o "$d/createdump.json" ||
				check_failed "$rt $c: cannot parse $oracle"
			crashed=$(python3 -c 'import json,sys; print(*[t["tid"] for t in json.load(open(sys.argv[1]))["threads"] if t["crashed"]])' "$d/createdump.json")
			python3 "$ORACLE" compare "$oracle" "$d/crashpipe.json" --min 0.99 --per-thread \
				--stable "$(case_ns "$c")" --name "$app/$c $rt createdump" >"$d/compare.out"
			rc=$?
			cat "$d/compare.out"
			[ "$rc" = 0 ] || check_failed "$rt $c: managed frames differ from createdump's ($(grep -m1 FAILED "$d/compare.out"))"
			summary+=("$(head -1 "$d/compare.out")")
		fi

		# report facts
		tid=$crashed
		[ "$c" = orders ] || tid=$(app_fact "$d/app.out" "crash tid")
		args=(--signal 6 --memory-source live --runtime-version "$(sed -n "s/^corpus app $app runtime \([^ ]*\) pid .*/\1/p" "$d/app.out")"
			--runtime-dir-has libcoreclr.so --managed-fields)
		[ -z "$tid" ] || args+=(--tid "$tid")
		if [ "$c" != orders ] && [ -n "$crashed" ] && [ "$crashed" != "$(app_fact "$d/app.out" "crash tid")" ]; then
			check_failed "$rt $c: createdump says thread $crashed crashed, the app printed $(app_fact "$d/app.out" "crash tid")"
		fi
		args+=(--type "$(app_fact "$d/app.out" "expect type")")
		case $c in
		serialize) ;;
		aggregate)
			while IFS= read -r inner; do
				args+=(--aggregate-inner "$inner")
			done < <(app_facts "$d/app.out" "expect inner")
			;;
		*) args+=(--message "$(app_fact "$d/app.out" "expect message")") ;;
		esac
		[ "$c" != settle ] || args+=(--managed-name "$(app_fact "$d/app.out" "expect thread name")")
		python3 "$ORACLE" check-crashpipe "$d/crashpipe.json" "${args[@]}" >"$d/check.out" ||
			check_failed "$rt $c: report facts: $(tr '\n' ' ' <"$d/check.out")"
		cat "$d/check.out"

		left=$(ls -A "$hints")
		[ -z "$left" ] || check_failed "$rt $c: hint files left in $hints: $left"
		rm -f "$hints"/* 2>/dev/null

		# second opinion: dotnet-dump on createdump's dump of the same crash
		dumpfile=$d/core.$pid
		if [ -s "$dumpfile" ] && clrstack "$dumpfile" "$d/clrstack.txt"; then
			if python3 "$ORACLE" compare "$d/clrstack.txt" "$d/crashpipe.json" ${crashed:+--crashed-tid "$crashed"} \
				--min "${sos_min:-0}" --stable "$(case_ns "$c")" --name "$app/$c $rt dotnet-dump-clrstack" >"$d/sos.out"; then
				head -1 "$d/sos.out"
			else
				cat "$d/sos.out"
				[ -z "$sos_min" ] || check_failed "$rt $c: managed frames differ from dotnet-dump's"
			fi
			summary+=("$(head -1 "$d/sos.out")")
			# its source lines (the app's PDBs beside it) against the report's, frame by frame
			if python3 "$ORACLE" check-lines "$d/clrstack.txt" "$d/crashpipe.json" --name "$app/$c $rt" >"$d/lines.out"; then
				head -1 "$d/lines.out"
			else
				cat "$d/lines.out"
				[ -z "$sos_min" ] || check_failed "$rt $c: source lines differ from dotnet-dump's"
			fi
			summary+=("$(head -1 "$d/lines.out")")
		fi
		# and SOS's pe -nested of the crashed thread's exception against the report's
		# (not for the stack overflow: the runtime raises no exception object of its own there)
		if [ "$c" != serialize ] && [ -s "$dumpfile" ] && [ -n "$crashed" ] && [ -n "$(dotnet_dump)" ] &&
			env -u LD_PRELOAD "$(dotnet_dump)" analyze "$dumpfile" -c "setthread -t $crashed" -c "pe -nested" \
				-c exit >"$d/pe.txt" 2>&1; then
			if python3 "$ORACLE" check-pe "$d/pe.txt" "$d/crashpipe.json" --name "$app/$c $rt" >"$d/pe.out"; then
				head -1 "$d/pe.out"
			else
				cat "$d/pe.out"
				[ -z "$sos_min" ] || check_failed "$rt $c: the exception differs from dotnet-dump's pe"
			fi
			summary+=("$(head -1 "$d/pe.out")")
		fi
		# offline replay (printed, not counted: item of the threads helper): crashpipe analyze
		# on createdump's MiniDumpNormal dump of the same crash, against the runtime's stderr
		appdir=$(dirname "${CAPP[$app.$rt]}")
		rtdir=()
		[ ! -e "$appdir/libcoreclr.so" ] || rtdir=(--runtime-dir "$appdir")
		if [ -s "$dumpfile" ] && "$CRASHPIPE" analyze "${rtdir[@]}" "$dumpfile" -o "$d/offline.json" 2>"$d/offline.err"; then
			python3 "$ORACLE" check-stderr "$d/app.err" "$d/offline.json" --name "$app/$c $rt" \
				--oracle stderr-vs-createdump-dump >"$d/offline.out"
			head -1 "$d/offline.out"
			summary+=("$(head -1 "$d/offline.out")")
		fi
		rm -f "$dumpfile"
	done
done
echo "== agreement (APP/CASE RUNTIME ORACLE ...)"
printf '%s\n' "${summary[@]}"
checks_done
