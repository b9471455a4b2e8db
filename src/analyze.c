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
#include <unistd.h>

#include "analyze.h"
#include "debugcache.h"
#include "cleanup.h"
#include "core.h"
#include "fsopen.h"
#include "log.h"
#include "modules.h"
#include "nativeaot.h"
#include "report.h"
#include "target.h"
#include "unwind.h"
#include "zio.h"

static void fill_process(struct cp_core *core, struct cp_report *r)
{
	struct cp_process *p = &r->process;
	const struct cp_core_thread *crashed = &core->threads[0];
	uint64_t entry;

	/* The kernel's own pid and ids (%P, %u, %g: the host's view), when the caller has
	 * them, beat the core's: NT_PRPSINFO holds them as the process saw them, inside its
	 * PID and user namespaces, where any user can be pid 1 and uid 0. */
	if (!p->pid)
		p->pid = core->has_psinfo ? core->pid : crashed->tid;
	p->tid = crashed->tid;
	if (core->has_psinfo) {
		if (!p->has_ids) {
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
	/* The executable is the file mapped where the program's entry point lies. */
	if (!p->exe && cp_core_auxv(core, AT_ENTRY, &entry)) {
		const struct cp_mapping *m = cp_core_mapping_at(core, entry);
		if (m)
			p->exe = strdup(m->path);
	}
}

void cp_analyze_options_init(struct cp_analyze_options *opts, uid_t uid, gid_t gid)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_frames = CP_DEFAULT_MAX_FRAMES;
	opts->dac.max_frames = CP_DEFAULT_MAX_FRAMES;
	opts->dac.timeout = CP_DEFAULT_DAC_TIMEOUT;
	/* The DAC never runs as root: as the crashed user, or nobody for a root process. */
	opts->dac.drop_privileges = true;
	opts->dac.uid = uid ? uid : 65534;
	opts->dac.gid = uid ? gid : 65534;
}

int cp_analyze_core(struct cp_core *core, int rootfd, const struct cp_analyze_options *opts,
		    struct cp_report *r)
{
	size_t max_frames = opts->max_frames;
	struct cp_target *t = NULL;
	struct cp_modules *mods = NULL;
	int ret;

	fill_process(core, r);
	r->live = core->live_fd >= 0;
	for (size_t i = 0; i < core->n_problems; i++)
		cp_report_note(r, true, "core: %s", core->problems[i]);

	/* Threads in core order: the one that crashed comes first. The report keeps that
	 * order, so cp_unwind_threads() can index them the same way. */
	for (size_t i = 0; i < core->n_threads; i++) {
		struct cp_thread *th = cp_report_add_thread(r, core->threads[i].tid);
		if (!th)
			return -ENOMEM;
		th->crashed = i == 0;
		if (!th->name && core->threads[i].tid == r->process.pid && r->process.comm)
			th->name = strdup(r->process.comm);
	}

	ret = cp_target_create(core, rootfd, &t);
	if (ret < 0)
		return ret;
	ret = cp_modules_create(core, t, opts->debug_cache, r, &mods);
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
out:
	/* Unmapping every ELF file libdw opened costs more than a millisecond. */
	if (!opts->exiting) {
		cp_modules_destroy(mods);
		cp_target_destroy(t);
	}
	return ret < 0 && ret != -ENOMEM ? 0 : ret;
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
		"      --max-frames=N     at most N frames per thread (default %d)\n"
		"      --dac=PATH         the .NET DAC (libmscordaccore.so) to use (its code runs:\n"
		"                         without this, only a DAC in a root-owned runtime directory)\n"
		"      --runtime-dir=DIR  look for the DAC in DIR (the crashed runtime's directory)\n"
		"      --no-dac           native frames only\n"
		"      --debug-cache=DIR  decompressed debuginfo kept by `crashpipe handle`\n"
		"                         (default %s; used for the host's own files only)\n"
		"  -h, --help             show this help\n", CP_DEFAULT_MAX_FRAMES, CP_DEBUG_CACHE_DEFAULT);
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
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *output = "-", *sysroot = "/", *dac = NULL, *runtime_dir = NULL;
	const char *debug_cache = CP_DEBUG_CACHE_DEFAULT;
	size_t max_frames = CP_DEFAULT_MAX_FRAMES;
	bool no_dac = false, sysroot_named = false;
	int c;

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
		r = cp_analyze_core(core, rootfd, &aopts, report);
		if (r < 0)
			cp_log_errno(LOG_ERR, r, "%s: %m", path);
		else if ((r = cp_report_write(report, output)) < 0)
			cp_log_errno(LOG_ERR, r, "%s: cannot write the report: %m", output);
	}
	cp_report_destroy(report);
	cp_core_destroy(core);
	cp_input_destroy(in);
	return r < 0 ? 1 : 0;
}
