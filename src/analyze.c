/*
 * analyze.c - `crashpipe analyze`: a saved core (plain, .zst, or on stdin) to a report;
 * and the pipeline every entry point shares.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "analyze.h"
#include "analyze-child.h"
#include "debugcache.h"
#include "cleanup.h"
#include "clrname.h"
#include "core.h"
#include "fsopen.h"
#include "log.h"
#include "inline.h"
#include "modules.h"
#include "nativeaot.h"
#include "report.h"
#include "signature.h"
#include "srclines.h"
#include "target.h"
#include "unwind.h"
#include "zio.h"

static void fill_process(struct cp_core *core, struct cp_report *r)
{
	struct cp_process *p = &r->process;
	const struct cp_core_thread *crashed = &core->threads[core->crashed];
	uint64_t entry;

	/* The kernel's own pid and ids (%P, %u, %g: the host's view), when the caller has
	 * them, beat the core's: NT_PRPSINFO holds them as the process saw them, inside its
	 * PID and user namespaces, where any user can be pid 1 and uid 0. */
	if (!p->pid)
		p->pid = core->has_psinfo ? core->pid : crashed->tid;
	p->tid = crashed->tid;
	if (core->has_psinfo) {
		/* (uid_t)-1 is no id: a report holds none. */
		if (!p->has_ids && core->uid != (uid_t)-1 && core->gid != (gid_t)-1) {
			p->has_ids = true;
			p->uid = core->uid;
			p->gid = core->gid;
		}
		if (!p->comm && core->fname[0])
			p->comm = strdup(core->fname);
		if (!p->cmdline && core->psargs[0])
			p->cmdline = strdup(core->psargs);
	}
	if (core->has_siginfo) {
		p->signal = core->si_signo;
		p->si_code = core->si_code;
		p->has_si_code = true;
		p->has_fault_address = core->has_fault_addr;
		p->fault_address = core->fault_addr;
	} else {
		p->signal = crashed->cursig;
	}
	if (!p->core_writer && core->writer != CP_CORE_WRITER_UNKNOWN)
		p->core_writer = strdup(core->writer == CP_CORE_WRITER_KERNEL ? "kernel" :
					core->writer == CP_CORE_WRITER_GCORE ? "gcore" : "createdump");
	/* The executable is the file mapped where the program's entry point lies. */
	if (!p->exe && cp_core_auxv(core, AT_ENTRY, &entry)) {
		const struct cp_mapping *m = cp_core_mapping_at(core, entry);
		if (m)
			p->exe = strdup(m->path);
	}
}

/*
 * A dump whose notes do not say which thread crashed (createdump's of a process that was
 * not crashing, or of an older runtime): the thread that has an exception in flight, the
 * unhandled one, crashed, as SOS finds it (the DAC's worker gives a thread its current
 * exception state only, without the crashed thread's last-thrown fallback, here). None
 * has one: nothing crashed, the report says so (no thread "crashed", signal 0).
 */
static void crashed_by_exception(struct cp_report *r)
{
	for (size_t i = 0; i < r->n_threads; i++) {
		if (!r->threads[i].exception)
			continue;
		r->threads[i].crashed = true;
		r->process.tid = r->threads[i].tid;
		cp_report_note(r, false, "the dump does not say which thread crashed: thread %d, the one with an exception in flight",
			       r->threads[i].tid);
		return;
	}
	cp_report_note(r, false, "the dump does not say which thread crashed, and no thread has an exception in flight: a dump of a running process");
}

/* The crashed thread first, as in every report (the core's order is the unwinder's and the
 * DAC's; createdump writes the crashed thread where /proc/PID/task lists it). */
static void crashed_first(struct cp_report *r)
{
	for (size_t i = 1; i < r->n_threads; i++) {
		if (!r->threads[i].crashed)
			continue;
		struct cp_thread t = r->threads[i];
		memmove(&r->threads[1], &r->threads[0], i * sizeof(t));
		r->threads[0] = t;
		return;
	}
}

/* What the core says without libdw: the process, the notes on the core, and its threads in
 * core order (the unwinder indexes them the same way). */
static int core_facts(struct cp_core *core, struct cp_report *r)
{
	fill_process(core, r);
	for (size_t i = 0; i < core->n_problems; i++)
		cp_report_note(r, true, "core: %s", core->problems[i]);
	/* Threads in core order: the one that crashed comes first. The report keeps that
	 * order, so cp_unwind_threads() can index them the same way. */
	for (size_t i = 0; i < core->n_threads; i++) {
		struct cp_thread *th = cp_report_add_thread(r, core->threads[i].tid);
		if (!th)
			return -ENOMEM;
		th->crashed = core->crash_known && i == core->crashed;
		if (!th->name && core->threads[i].tid == r->process.pid && r->process.comm)
			th->name = strdup(r->process.comm);
	}
	return 0;
}

int cp_analyze_core_registers_only(struct cp_core *core, struct cp_report *r)
{
	int ret = core_facts(core, r);
	for (size_t i = 0; ret == 0 && i < r->n_threads && i < core->n_threads; i++)
		if (!cp_thread_add_frame(&r->threads[i], core->threads[i].regs.rip, core->threads[i].regs.rsp))
			ret = -ENOMEM;
	crashed_first(r);
	return ret;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

bool cp_analyze_same_threads(const struct cp_report *r, const struct cp_core *core, bool each_once)
{
	if (r->n_threads != core->n_threads)
		return false;
	_cleanup_free_ pid_t *a = calloc(core->n_threads + 1, sizeof(pid_t));
	_cleanup_free_ pid_t *b = calloc(core->n_threads + 1, sizeof(pid_t));
	if (!a || !b)
		return false;
	for (size_t i = 0; i < core->n_threads; i++) {
		a[i] = r->threads[i].tid;
		b[i] = core->threads[i].tid;
	}
	qsort(a, core->n_threads, sizeof(pid_t), cmp_pid);
	qsort(b, core->n_threads, sizeof(pid_t), cmp_pid);
	for (size_t i = 0; i < core->n_threads; i++)
		if (a[i] != b[i] || (each_once && i > 0 && a[i] == a[i - 1]))
			return false;
	return true;
}

void cp_analyze_options_init(struct cp_analyze_options *opts, uid_t uid, gid_t gid)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_frames = CP_DEFAULT_MAX_FRAMES;
	opts->locate = (struct cp_locate_options)CP_LOCATE_OPTIONS_INIT;
	opts->live_fd = -1;
	opts->dac.max_frames = CP_DEFAULT_MAX_FRAMES;
	opts->dac.timeout = CP_DEFAULT_DAC_TIMEOUT;
	/* The DAC never runs as root: as the crashed user, or nobody for a root process. */
	opts->dac.drop_privileges = true;
	opts->dac.uid = uid ? uid : 65534;
	opts->dac.gid = uid ? gid : 65534;
}

/* clrname reads the assemblies srclines has read. */
static int clrname_lookup(void *sl, const char *path, const struct cp_md **md_ret)
{
	const struct cp_pe *pe;
	return cp_srclines_assembly(sl, path, &pe, md_ret);
}

int cp_analyze_core(struct cp_core *core, int rootfd, const struct cp_analyze_options *opts,
		    struct cp_report *r)
{
	size_t max_frames = opts->max_frames;
	struct cp_target *t = NULL;
	struct cp_modules *mods = NULL;
	int ret;

	if ((ret = core_facts(core, r)) < 0)
		return ret;
	r->live = opts->live_fd >= 0;

	ret = cp_target_create(core, rootfd, &t);
	if (ret < 0)
		return ret;
	cp_target_set_live(t, opts->live_fd);
	ret = cp_modules_create(core, t, opts->debug_cache, &opts->locate, r, &mods);
	if (ret < 0) {
		cp_report_note(r, true, "modules: %s", strerror(-ret));
		goto out;
	}
	/* The DAC's process walks the managed stacks while we unwind the native ones. */
	struct cp_dac_options dac = opts->dac;
	struct cp_dac_run run;
	dac.max_frames = max_frames;
	dac.disabled = opts->no_dac;
	ret = cp_dac_start(core, t, mods, r, rootfd, &dac, &run);
	if (ret < 0)
		goto out_dac;
	ret = cp_unwind_threads(core, t, mods, r, max_frames);
	if (ret < 0)
		cp_report_note(r, true, "unwinding: %s", strerror(-ret));
	for (size_t i = 0; i < r->n_threads; i++)
		if (r->threads[i].truncated)
			cp_report_note(r, false, "thread %d: more than %zu frames (a stack overflow?); the rest are left out",
				       r->threads[i].tid, max_frames);
	/* A NativeAOT app has no DAC: its runtime's crash info and its symbols instead. */
	if (cp_nativeaot_annotate(core, t, mods, r) == -ENOMEM)
		cp_report_note(r, true, "nativeaot: %s", strerror(ENOMEM));
	ret = cp_modules_to_report(mods, r);
out_dac:
	(void) cp_dac_finish(t, mods, r, &dac, &run);
	/* Last on the native frames: capped, folded and merged with the DAC's (inline.h). */
	if (cp_inline_expand_report(mods, r) < 0)
		cp_report_note(r, true, "inline frames: %s", strerror(ENOMEM));
	/* Source lines of managed frames, from the assemblies' portable PDBs. */
	struct cp_srclines *sl = cp_srclines_create(rootfd, opts->symbol_path);
	if (!sl || cp_srclines_fill(sl, r) < 0)
		cp_report_note(r, true, "source lines: out of memory");
	/* Their names as the runtime prints them, from the same assemblies' metadata. */
	(void) cp_clrname_fill(r, sl ? clrname_lookup : NULL, sl);
	cp_srclines_destroy(sl);
	if (!core->crash_known)
		crashed_by_exception(r);
out:
	/* Unmapping every ELF file libdw opened costs more than a millisecond. */
	if (!opts->exiting) {
		cp_modules_destroy(mods);
		cp_target_destroy(t);
	}
	crashed_first(r);
	return ret < 0 && ret != -ENOMEM ? 0 : ret;
}

static bool all_of(const char *s, size_t n, const char *set)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

/*
 * Did systemd-coredump store this core? It names a core
 * core.COMM.UID.BOOT_ID.PID.USEC[.zst|.xz|.lz4] and sets user.coredump.* extended
 * attributes on it (systemd src/coredump/coredump.c, make_filename and fix_xattr). Either
 * is enough: a copy loses the attributes, a renamed file keeps them. What it stores is the
 * kernel's core as it was.
 */
static bool stored_by_systemd(int fd, const char *path)
{
	char v[32];
	if (fgetxattr(fd, "user.coredump.pid", v, sizeof(v)) > 0)
		return true;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (strncmp(base, "core.", 5) != 0)
		return false;
	size_t n = strlen(base);
	static const char *const suffixes[] = { ".zst", ".xz", ".lz4" };
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && strcmp(base + n - k, suffixes[i]) == 0) {
			n -= k;
			break;
		}
	}
	/* From the end: USEC, PID, BOOT_ID, UID (COMM may hold dots). */
	static const char *const sets[] = { "0123456789", "0123456789", "0123456789abcdef", "0123456789" };
	for (size_t f = 0; f < 4; f++) {
		const char *dot = memrchr(base, '.', n);
		if (!dot || dot < base + 4)
			return false;
		size_t len = base + n - dot - 1;
		if (!all_of(dot + 1, len, sets[f]) || (f == 2 && len != 32))
			return false;
		n = dot - base;
	}
	return n > 5;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: crashpipe analyze [OPTIONS] CORE|-\n"
		"Write a report of a saved core dump (plain or zstd-compressed; - reads stdin).\n\n"
		"  -o, --output=FILE      write the report to FILE: FILE.json plain, FILE.json.zst\n"
		"                         compressed (default: JSON on standard output)\n"
		"      --sysroot=DIR      look up the files the process had mapped under DIR\n"
		"                         (a core from another machine or a container)\n"
		"      --exe=FILE         the crashed executable\n"
		"      --module-dir=DIR   a directory of the process's executable and libraries:\n"
		"                         a file there with a module's build-id is used for it\n"
		"                         (by file name when the core has no build-id); repeatable\n"
		"      --debug-dir=DIR    separate debuginfo, as DIR/.build-id/XX/REST.debug or by\n"
		"                         its .gnu_debuglink name (as gdb's debug-file-directory);\n"
		"                         repeatable\n"
		"      --no-debuginfod    never fetch files from DEBUGINFOD_URLS\n"
		"      --max-frames=N     at most N frames per thread (default %d)\n"
		"      --dac=PATH         the .NET DAC (libmscordaccore.so) to use (its code runs:\n"
		"                         without this, only a DAC in a root-owned runtime directory)\n"
		"      --runtime-dir=DIR  look for the DAC in DIR (the crashed runtime's directory)\n"
		"      --no-dac           native frames only\n"
		"      --symbol-path=DIR[:DIR...]\n"
		"                         also look for the portable PDBs of .NET assemblies in\n"
		"                         these directories (beside the assembly and embedded in it\n"
		"                         are always tried)\n"
		"      --debug-cache=DIR  decompressed debuginfo kept by `crashpipe handle`\n"
		"                         (default %s; used for the host's own files only)\n"
		"      --timeout=SECONDS  give the analysis (a confined child process) at most\n"
		"                         SECONDS (default %d); past that, or when it crashes,\n"
		"                         the report has frame 0 of each thread and says why\n"
		"  -h, --help             show this help\n", CP_DEFAULT_MAX_FRAMES, CP_DEBUG_CACHE_DEFAULT,
		CP_ANALYZE_TIMEOUT);
}

int cp_parse_max_frames(const char *arg, size_t *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || *end || v == 0 || v > 1000000)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cp_cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "max-frames", required_argument, NULL, 'm' },
		{ "dac", required_argument, NULL, 'd' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "no-dac", no_argument, NULL, 'n' },
		{ "debug-cache", required_argument, NULL, 'c' },
		{ "symbol-path", required_argument, NULL, 'S' },
		{ "exe", required_argument, NULL, 'e' },
		{ "module-dir", required_argument, NULL, 'M' },
		{ "debug-dir", required_argument, NULL, 'D' },
		{ "no-debuginfod", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *output = "-", *sysroot = "/", *dac = NULL, *runtime_dir = NULL;
	const char *debug_cache = CP_DEBUG_CACHE_DEFAULT, *symbol_path = NULL;
	size_t max_frames = CP_DEFAULT_MAX_FRAMES;
	unsigned timeout = CP_ANALYZE_TIMEOUT;
	bool no_dac = false, sysroot_named = false;
	/* Where files are, opened now: a bad one is an error before any work. */
	_cleanup_(cp_locate_options_deinit) struct cp_locate_options locate = CP_LOCATE_OPTIONS_INIT;
	const char *bad;
	int c, e;

	locate.debuginfod = true;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 's':
			sysroot = optarg;
			sysroot_named = true;
			break;
		case 'm':
			if (cp_parse_max_frames(optarg, &max_frames) < 0) {
				cp_log(LOG_ERR, "--max-frames: '%s' is not a number from 1 to 1000000", optarg);
				return 2;
			}
			break;
		case 'd':
			dac = optarg;
			break;
		case 'r':
			runtime_dir = optarg;
			break;
		case 'n':
			no_dac = true;
			break;
		case 'c':
			debug_cache = optarg;
			break;
		case 'S':
			symbol_path = optarg;
			break;
		case 'e':
			if ((e = cp_locate_set_exe(&locate, optarg, &bad)) < 0) {
				if (bad)
					cp_log(LOG_ERR, "--exe %s: %s", optarg, bad);
				else
					cp_log_errno(LOG_ERR, e, "--exe %s: %m", optarg);
				return 1;
			}
			break;
		case 'M':
		case 'D':
			if ((e = cp_locate_add_dir(&locate, optarg, c == 'D')) < 0) {
				cp_log_errno(LOG_ERR, e, "%s %s: %m", c == 'D' ? "--debug-dir" : "--module-dir", optarg);
				return 1;
			}
			break;
		case 'N':
			locate.debuginfod = false;
			break;
		case 'T': {
			size_t v;
			if (cp_parse_max_frames(optarg, &v) < 0 || v > 86400) {
				cp_log(LOG_ERR, "--timeout: '%s' is not a number of seconds from 1 to 86400", optarg);
				return 2;
			}
			timeout = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	const char *path = argv[optind];

	_cleanup_close_ int rootfd = cp_open_root(sysroot);
	if (rootfd < 0) {
		cp_log_errno(LOG_ERR, rootfd, "%s: cannot open the sysroot: %m", sysroot);
		return 1;
	}
	_cleanup_close_ int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cp_log_errno(LOG_ERR, -errno, "%s: %m", path);
		return 1;
	}
	struct cp_input *in;
	int r = cp_input_open(fd, &in);
	if (r < 0) {
		if (r == -ENODATA)
			cp_log(LOG_ERR, "%s: empty file, not a core", path);
		else
			cp_log_errno(LOG_ERR, r, "%s: %m", path);
		return 1;
	}
	struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
	cfg.spool = true;	/* not the kernel's stream: gcore's notes come last */
	struct cp_core *core;
	const char *why = NULL;
	r = cp_core_read(in, &cfg, &core, &why);
	if (r < 0) {
		if (why)
			cp_log(LOG_ERR, "%s: %s", path, why);
		else
			cp_log_errno(LOG_ERR, r, "%s: %m", path);
		cp_input_destroy(in);
		return 1;
	}

	struct cp_report *report = cp_report_create();
	if (!report) {
		cp_log(LOG_ERR, "%s: out of memory", path);
		r = -ENOMEM;
	} else {
		struct cp_analyze_options aopts;
		/* The DAC runs as whoever runs analyze, nobody for root: never as the ids the
		 * core claims (a core can claim gid 0). */
		cp_analyze_options_init(&aopts, getuid(), getgid());
		aopts.max_frames = max_frames;
		aopts.no_dac = no_dac;
		aopts.dac.dac_path = dac;
		aopts.dac.runtime_dir = runtime_dir;
		/* A DAC from a directory the user named, or else from a root-owned runtime. */
		aopts.dac.trust = dac || runtime_dir || (sysroot_named && !cp_root_is_host(rootfd)) ?
				  CP_DAC_TRUST_NAMED : CP_DAC_TRUST_SYSTEM;
		aopts.debug_cache = cp_root_is_host(rootfd) ? debug_cache : NULL;
		aopts.symbol_path = symbol_path;
		aopts.locate = locate;	/* borrowed: closed here, after the analysis */
		if (strcmp(path, "-") != 0 && stored_by_systemd(fd, path))
			report->process.core_writer = strdup("systemd-coredump");
		/* libdw, libunwind and the DAC meet the core's bytes in a child only. */
		_cleanup_free_ char *json = NULL;
		size_t len = 0;
		r = cp_analyze_core_isolated(core, rootfd, &aopts, timeout, report, &json, &len);
		if (r < 0)
			cp_log_errno(LOG_ERR, r, "%s: %m", path);
		else if (!json && (r = cp_report_sign(report)) < 0)
			cp_log_errno(LOG_ERR, r, "%s: %m", path);
		else if ((r = json ? cp_report_write_parsed_json(json, len, output) : cp_report_write(report, output)) < 0)
			cp_log_errno(LOG_ERR, r, "%s: cannot write the report: %m", output);
	}
	cp_report_destroy(report);
	cp_core_destroy(core);
	cp_input_destroy(in);
	return r < 0 ? 1 : 0;
}
