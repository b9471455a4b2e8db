#!/bin/bash
# run-dotnet-dumps.sh - .NET dumps replayed offline with `crashpipe analyze`, compared with
# dotnet-dump analyze of the same dump, on .NET 10 (shared framework), .NET 9 and 8
# (self-contained), and managed thread names (Thread.Name) in every report:
#
#   1. createdump at the crash (DOTNET_DbgEnableMiniDump=1, DOTNET_DbgMiniDumpType 1-4) of
#      the app's longname scenario (a thread named "settlement-worker" throws): the report's
#      crashed thread is the tid the app printed and the one dotnet-dump's clrthreads shows
#      with an exception; its exception type is the app's, clrthreads' and `pe`'s; every
#      managed thread clrthreads lists is in the report; process.core_writer "createdump",
#      runtime.kind "coreclr", signal 6, managed_name "settlement-worker" on that thread.
#      The type 1 dump once more with cursig 0 in every NT_PRSTATUS (notes that do not say
#      which thread crashed): the thread with an exception in flight is the crashed one.
#      threads100 (100 threads named parked-NNN, a dump with heap): every one's managed_name.
#   2. `dotnet-dump collect` (--type Mini, Heap, Triage, Full) of the hang scenario (parked,
#      named threads): no thread crashed and none has an exception (dotnet-dump: no exception
#      on any thread), signal 0, core_writer "createdump", the parked threads' managed names;
#      and dotnet-dump's `clrstack -all` of the same dump: every thread's managed frames in
#      order, 100% per thread, and every "[FILE @ LINE]" it prints the report's file and line
#      of that frame ("agreement ..." and "... lines c/d" lines, gathered at the end).
#  2b. The same for a real-world app: the corpus's WebApp (ASP.NET Core, Kestrel; built by
#      tests/dotnet/build.sh --corpus) waiting for requests, `dotnet-dump collect --type Heap`:
#      besides clrthreads and clrstack -all, the report's threads are exactly the kernel's
#      tasks of the live process, and every managed_name (".NET TP Worker", "Kestrel Timer")
#      is the name the runtime gave the kernel (its comm: the first 15 bytes).
#   3. systemd-coredump's .zst: the kernel's core of the type 1 crash (a file core_pattern),
#      compressed with zstd and named and tagged (user.coredump.pid, where the filesystem
#      takes user xattrs) as systemd-coredump stores it: core_writer "systemd-coredump", the
#      crashed thread, its exception, its managed name; dotnet-dump's view is that of
#      createdump's dump of the same crash (dotnet-dump cannot read a kernel core). (Debian's systemd-coredump itself is
#      not run here: it rewrites the machine's core_pattern settings when installed.)
#   4. The kernel pipe into `crashpipe handle`: the thread's name is the kernel's 15 bytes
#      ("settlement-work"), its managed_name "settlement-worker"; core_writer "kernel".
#
# CRASHPIPE_DOTNET_RUNTIMES chooses a subset of the runtimes.
. "${srcdir:-.}/test-subr.sh"
. "$abs_srcdir/dotnet/dotnet-subr.sh"

dotnet_need --dac
CHECK="$abs_srcdir/dotnet-dumps.py"

dotnet_build
dd=$(dotnet_dump) || skip "dotnet-dump $DOTNET_DUMP_VERSION cannot be installed: $(tail -2 dotnet-dump-install.log)"

dotnet_short dd
mkdir -p "$test_dir/cores"

take_core_pattern
set_core_pattern "$test_dir/cores/core.%p"

# The DAC: the shared runtime's is trusted as it is (root-owned); the self-contained app's is
# named, as a user would.
runtime_args() {
	case $1 in
	dotnet9 | dotnet8) echo "--runtime-dir $(dirname "${APP[$1]}")" ;;
	esac
}

# sos DUMP OUT: dotnet-dump's clrthreads, and `pe -nested` of the exception it shows
sos() {
	env -u LD_PRELOAD "$dd" analyze "$1" -c clrthreads -c exit >"$2.clrthreads" 2>&1
	local obj
	obj=$(sed -n 's/.* \(Cooperative\|Preemptive\) .* \([A-Za-z_][A-Za-z0-9_.]*\) \([0-9a-f]\{12,16\}\)\( (nested exceptions)\)\?$/\3/p' "$2.clrthreads" | head -1)
	: >"$2.pe"
	[ -z "$obj" ] || env -u LD_PRELOAD "$dd" analyze "$1" -c "pe -nested $obj" -c exit >"$2.pe" 2>&1
	python3 "$CHECK" sos "$2.clrthreads" "$2.pe" -o "$2"
}

# analyze_and_check WHAT DUMP DIR RT [SOS_DUMP] ARGS...: crashpipe analyze DUMP, dotnet-dump
# of DUMP (of SOS_DUMP instead: dotnet-dump reads no .zst), check
analyze_and_check() {
	local what=$1 dump=$2 d=$3 rt=$4 sosdump=$2
	shift 4
	case ${1:-} in
	/*) sosdump=$1; shift ;;
	esac
	# shellcheck disable=SC2046
	if ! "$CRASHPIPE" analyze $(runtime_args "$rt") -o "$d/report.json" "$dump" 2>"$d/analyze.err"; then
		check_failed "$what: crashpipe analyze failed: $(tail -2 "$d/analyze.err")"
		return
	fi
	local sosargs=()
	if sos "$sosdump" "$d/sos.json" >"$d/sos.out"; then
		sosargs=(--sos "$d/sos.json")
	else
		check_failed "$what: dotnet-dump analyze failed: $(tail -3 "$d/sos.json.clrthreads")"
	fi
	if python3 "$CHECK" check "$d/report.json" "${sosargs[@]}" "$@" >"$d/check.out"; then
		echo "$what: $(tail -1 "$d/sos.out"); $(head -1 "$d/check.out")"
	else
		cat "$d/check.out"
		check_failed "$what: $(grep -m3 FAILED "$d/check.out" | tr '\n' ' ')"
	fi
}

# collect_frames WHAT DIR: dotnet-dump's clrstack -all of DIR/dump against crashpipe's report of
# it (DIR/report.json): every thread's managed frames in the same order (the same dump on both
# sides: nothing moved, so all threads count, each at 100%), and each "[FILE @ LINE]" SOS
# prints (the app's PDBs beside it) the file and line of the report's frame at the same stack
# pointer. Skipped (with a failed check) when analyze_and_check made no report.
collect_frames() {
	local what=$1 d=$2
	[ -s "$d/report.json" ] || return 0
	if ! clrstack "$d/dump" "$d/clrstack.txt"; then
		check_failed "$what: dotnet-dump clrstack -all failed: $(tail -2 "$d/clrstack.txt")"
		return
	fi
	if python3 "$ORACLE" compare "$d/clrstack.txt" "$d/report.json" --min 1 --per-thread \
		--name "$what vs clrstack -all" >"$d/clrstack.out"; then
		head -1 "$d/clrstack.out"
	else
		cat "$d/clrstack.out"
		check_failed "$what: managed frames differ from dotnet-dump's clrstack -all"
	fi
	summary+=("$(head -1 "$d/clrstack.out")")
	if python3 "$ORACLE" check-lines "$d/clrstack.txt" "$d/report.json" --name "$what" >"$d/lines.out"; then
		head -1 "$d/lines.out"
	else
		cat "$d/lines.out"
		check_failed "$what: source lines differ from dotnet-dump's clrstack -all"
	fi
	summary+=("$(head -1 "$d/lines.out")")
}

# The corpus's WebApp (tests/dotnet/apps, build.sh --corpus, cached): CWEB[rt]
declare -A CWEB
bash "$abs_srcdir/dotnet/build.sh" --corpus >corpus-build.out 2>corpus-build.err
while read -r tag app rt path; do
	[ "$tag" = corpus ] && [ "$app" = WebApp ] || continue
	case $path in
	/*) CWEB[$rt]=$path ;;
	*) check_failed "the corpus's WebApp for $rt did not build: $path" ;;
	esac
done <corpus-build.out

# tasks PID: --comm TID=COMM for every thread of PID, as the kernel names it
tasks() {
	local t
	for t in /proc/"$1"/task/*; do
		printf -- '--comm\n%s=%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)"
	done
}

# webapp_collect RT: the corpus's WebApp (ASP.NET Core, Kestrel) started and left waiting for
# requests; `dotnet-dump collect --type Heap` of it, `crashpipe analyze` of that dump against
# dotnet-dump's clrthreads (every managed thread there, none crashed, no exception), the
# kernel's threads of the live process (exactly those; every managed_name the one the runtime
# gave the kernel, .NET TP Worker, Kestrel Timer, ...: --comm) and clrstack -all
# (collect_frames). The kernel's list is read before and after the collect; a thread pool
# that started or ended a thread in between makes it collect again (three tries).
webapp_collect() {
	local rt=$1 d=$test_dir/$1-webapp-collect app=${CWEB[$1]:-} pid before after try rtargs=()
	[ -n "$app" ] || return 0
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		exec "$app"
	) >"$d/app.out" 2>"$d/app.err" &
	pid=$!
	at_exit "kill $pid 2>/dev/null"
	for _ in $(seq 300); do
		grep -q '^listening ' "$d/app.out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^listening ' "$d/app.out"; then
		check_failed "$rt WebApp collect: the app did not start listening: $(tail -2 "$d/app.out" "$d/app.err" | tr '\n' ' ')"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return
	fi
	sleep 1	# the thread pool's and Kestrel's threads started
	for try in 1 2 3; do
		before=$(tasks "$pid")
		rm -f "$d/dump"
		if ! env -u LD_PRELOAD "$dd" collect -p "$pid" --type Heap -o "$d/dump" >"$d/collect.out" 2>&1; then
			check_failed "$rt WebApp: dotnet-dump collect --type Heap failed: $(tail -2 "$d/collect.out")"
			break
		fi
		after=$(tasks "$pid")
		[ "$before" != "$after" ] || break
		echo "NOTE: $rt WebApp: its threads changed while dotnet-dump collected (try $try)" >&2
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -s "$d/dump" ] || return
	[ ! -e "$(dirname "$app")/libcoreclr.so" ] || rtargs=(--runtime-dir "$(dirname "$app")")
	local what="$rt WebApp dotnet-dump collect --type Heap"
	if ! "$CRASHPIPE" analyze "${rtargs[@]}" -o "$d/report.json" "$d/dump" 2>"$d/analyze.err"; then
		check_failed "$what: crashpipe analyze failed: $(tail -2 "$d/analyze.err")"
		return
	fi
	local sosargs=()
	if sos "$d/dump" "$d/sos.json" >"$d/sos.out"; then
		sosargs=(--sos "$d/sos.json")
	else
		check_failed "$what: dotnet-dump analyze failed: $(tail -3 "$d/sos.json.clrthreads")"
	fi
	local comm=()
	mapfile -t comm <<<"$after"
	if python3 "$CHECK" check "$d/report.json" "${sosargs[@]}" --writer createdump --signal 0 --no-crash \
		"${comm[@]}" >"$d/check.out"; then
		echo "$what: $(tail -1 "$d/sos.out"); $(tr '\n' ';' <"$d/check.out")"
	else
		cat "$d/check.out"
		check_failed "$what: $(grep -m3 FAILED "$d/check.out" | tr '\n' ' ')"
	fi
	collect_frames "$what" "$d"
	rm -f "$d/dump"
}

summary=()
for rt in "${RUNTIMES[@]}"; do
	# ---- 1. createdump at the crash, every dump type; the first also leaves the kernel's core
	for type in 1 2 3 4; do
		d=$test_dir/$rt-crash-$type
		mkdir -p "$d"
		limit=0
		[ "$type" = 1 ] && limit=unlimited
		(
			ulimit -c "$limit"
			exec env DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType="$type" \
				DOTNET_DbgMiniDumpName="$d/dump.%p" "${APP[$rt]}" longname
		) >"$d/app.out" 2>&1 &
		pid=$!
		wait "$pid"
		rc=$?
		[ "$rc" = 134 ] || check_failed "$rt crash type $type: exit status $rc, expected 134: $(tail -3 "$d/app.out")"
		tid=$(app_fact "$d/app.out" "crash tid")
		# a mini (1) or triage (3) dump has no GC heap: it holds the managed Thread object
		# and its name string or not (seen both ways on .NET 10's mini dump): a name, or
		# none, never another; the heap (2) and full (4) dumps must have it
		nameopt=--name
		[ "$type" = 1 ] || [ "$type" = 3 ] && nameopt=--name-optional
		[ -s "$d/dump.$pid" ] || { check_failed "$rt crash type $type: createdump wrote no dump: $(grep createdump "$d/app.out" | tail -2)"; continue; }
		analyze_and_check "$rt createdump type $type" "$d/dump.$pid" "$d" "$rt" --writer createdump --signal 6 \
			--crashed-tid "$tid" --exception-type "$(app_fact "$d/app.out" "expect type")" \
			"$nameopt" "$tid=$(app_fact "$d/app.out" "thread tid $tid managed-name")"

		# ---- the same dump without the crash signal its notes carry (all cursig 0): the
		# thread with an exception in flight is the crashed one, as dotnet-dump shows it
		if [ "$type" = 1 ]; then
			mkdir -p "$d/unsignalled"
			if python3 "$CHECK" unsignal "$d/dump.$pid" "$d/unsignalled/dump"; then
				analyze_and_check "$rt createdump type 1, no signal in its notes" "$d/unsignalled/dump" \
					"$d/unsignalled" "$rt" --writer createdump --crashed-tid "$tid" \
					--exception-type "$(app_fact "$d/app.out" "expect type")"
				grep -q "the one with an exception in flight" "$d/unsignalled/report.json" ||
					check_failed "$rt unsignalled: the report has no note on how the crashed thread was found"
			else
				check_failed "$rt: cannot write the unsignalled dump"
			fi
			rm -f "$d/unsignalled/dump"
		fi

		# ---- 3. the kernel's core of that crash, as systemd-coredump stores it
		if [ "$type" = 1 ]; then
			core=$test_dir/cores/core.$pid
			if [ ! -s "$core" ]; then
				check_failed "$rt: the kernel wrote no core $core"
				continue
			fi
			boot=$(tr -d - </proc/sys/kernel/random/boot_id)
			z=$d/core.Crasher.0.$boot.$pid.$(date +%s)000000.zst
			zstd -q -1 -o "$z" "$core" || { check_failed "$rt: zstd failed"; continue; }
			python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.coredump.pid", sys.argv[2].encode())' "$z" "$pid" 2>/dev/null ||
				echo "NOTE: $rt: no user xattrs here; systemd-coredump's file name alone says who stored the core" >&2
			mkdir -p "$d/zst"
			# dotnet-dump reads no kernel core (its DAC needs the runtime's pages, which a
			# default coredump_filter leaves out): its oracle is createdump's dump of the
			# same crash
			analyze_and_check "$rt systemd-coredump .zst" "$z" "$d/zst" "$rt" "$d/dump.$pid" --writer systemd-coredump --signal 6 \
				--crashed-tid "$tid" --exception-type "$(app_fact "$d/app.out" "expect type")" \
				--name "$tid=$(app_fact "$d/app.out" "thread tid $tid managed-name")"
			rm -f "$z" "$core"
		fi
		rm -f "$d/dump.$pid"
	done

	# ---- 1b. 100 named threads (threads100), a dump with heap: every Thread.Name
	d=$test_dir/$rt-threads100
	mkdir -p "$d"
	(
		ulimit -c 0
		exec env DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=2 DOTNET_DbgMiniDumpName="$d/dump.%p" \
			"${APP[$rt]}" threads100
	) >"$d/app.out" 2>&1 &
	pid=$!
	wait "$pid"
	names=()
	while read -r t n; do
		names+=(--name "$t=$n")
	done < <(sed -n 's/^parked tid \([0-9]*\) name \(parked-[0-9]*\)$/\1 \2/p' "$d/app.out")
	[ ${#names[@]} = 200 ] || check_failed "$rt threads100: the app printed $((${#names[@]} / 2)) parked threads, expected 100"
	if [ -s "$d/dump.$pid" ]; then
		analyze_and_check "$rt createdump threads100" "$d/dump.$pid" "$d" "$rt" --writer createdump --signal 6 \
			--crashed-tid "$(app_fact "$d/app.out" "crash tid")" --exception-type "$(app_fact "$d/app.out" "expect type")" \
			"${names[@]}"
	else
		check_failed "$rt threads100: createdump wrote no dump: $(grep createdump "$d/app.out" | tail -2)"
	fi
	rm -f "$d/dump.$pid"

	# ---- 2. dotnet-dump collect of a process parked at a known point, every dump type
	d=$test_dir/$rt-hang
	mkdir -p "$d"
	("${APP[$rt]}" hang >"$d/app.out" 2>&1) &
	hang=$!
	at_exit "kill $hang 2>/dev/null"
	for _ in $(seq 100); do
		grep -q '^hang ready' "$d/app.out" && break
		sleep 0.1
	done
	if ! grep -q '^hang ready' "$d/app.out"; then
		check_failed "$rt hang: the app did not get ready: $(tail -3 "$d/app.out")"
	else
		pid=$(sed -n 's/^crasher scenario hang runtime [^ ]* pid \([0-9]*\)$/\1/p' "$d/app.out")
		names=()
		while read -r t n; do
			names+=(--name "$t=$n")
		done < <(sed -n 's/^thread tid \([0-9]*\) managed-name \(hang-worker-[0-9]\)$/\1 \2/p' "$d/app.out")
		[ ${#names[@]} = 4 ] || check_failed "$rt hang: the app printed $((${#names[@]} / 2)) hang-worker names, expected 2"
		for type in Mini Heap Triage Full; do
			mkdir -p "$d/$type"
			if ! env -u LD_PRELOAD "$dd" collect -p "$pid" --type "$type" -o "$d/$type/dump" >"$d/$type/collect.out" 2>&1; then
				check_failed "$rt hang: dotnet-dump collect --type $type failed: $(tail -2 "$d/$type/collect.out")"
				continue
			fi
			analyze_and_check "$rt dotnet-dump collect --type $type" "$d/$type/dump" "$d/$type" "$rt" \
				--writer createdump --signal 0 --no-crash "${names[@]}"
			collect_frames "$rt dotnet-dump collect --type $type" "$d/$type"
			rm -f "$d/$type/dump"
		done
	fi
	kill "$hang" 2>/dev/null
	wait "$hang" 2>/dev/null

	# ---- 2b. dotnet-dump collect of the corpus's WebApp, waiting for requests
	webapp_collect "$rt"

	# ---- 4. the kernel pipe into crashpipe handle
	d=$test_dir/$rt-pipe
	mkdir -p "$d"
	set_core_pattern "$(handle_pattern --spool "$spool")" 1
	(
		ulimit -c unlimited
		exec "${APP[$rt]}" longname
	) >"$d/app.out" 2>&1 &
	pid=$!
	wait "$pid"
	tid=$(app_fact "$d/app.out" "crash tid")
	if wait_for_file report "$spool/*-$pid-*.json.zst" 60; then
		sleep 0.2
		zstd -q -dc "$report" >"$d/report.json" &&
			if python3 "$CHECK" check "$d/report.json" --writer kernel --signal 6 --crashed-tid "$tid" \
				--exception-type "$(app_fact "$d/app.out" "expect type")" \
				--name "$tid=settlement-worker" --os-name "$tid=settlement-work" >"$d/check.out"; then
				echo "$rt kernel pipe: $(head -1 "$d/check.out")"
			else
				cat "$d/check.out"
				check_failed "$rt kernel pipe: $(grep -m3 FAILED "$d/check.out" | tr '\n' ' ')"
			fi
	else
		check_failed "$rt kernel pipe: no report $spool/*-$pid-*.json.zst within 60 s"
	fi
	set_core_pattern "$test_dir/cores/core.%p"
done
echo "== agreement (dotnet-dump collect: crashpipe analyze vs dotnet-dump clrstack -all of the same dump)"
printf '%s\n' "${summary[@]}"
checks_done
