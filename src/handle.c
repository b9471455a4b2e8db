/*
 * handle.c - `crashpipe handle`, run by the kernel through core_pattern:
 *
 *   |/usr/bin/crashpipe handle --spool DIR %P %i %u %g %s %t %c %h %F
 *
 * The core arrives on stdin, and the dying process is held until stdin is drained, so the
 * order matters: log the crash first (so it is not lost), read /proc/PID while it is
 * there, read the core keeping only what the report needs, close stdin to let the
 * process go, and only then analyse.
 *
 * A .NET process is the exception: the first reader of its report is waiting, and the
 * core of a .NET process takes longer to arrive than the whole analysis takes. So the
 * analysis starts as soon as the notes (threads, registers, mappings) are in, and reads
 * the process's memory from /proc/PID/mem: every thread is stopped while the kernel
 * dumps, so that memory is what the core holds. The report is written first, then the
 * rest of the core is drained and the process let go. When the analysis of the live
 * process fails or outlasts LIVE_TIMEOUT, the core is read and analysed as usual.
 *
 * Analysis parses data the crashed user controlled with large libraries (libdw,
 * libunwind), so it runs in a child that takes on the crashed process's uid and gid and
 * sends the report back through a pipe; the parent writes it. When the child crashes or
 * hangs, the parent writes what it knows without it: the process, the signal, the
 * threads with their registers' frame 0, and a note saying why the rest is missing.
 *
 * With --keep-core, every byte of the core read is also compressed into a file that is
 * named beside the report once the report is written (keepcore.c); last, the spool is
 * trimmed to its caps, sparing the report just written (retention.c).
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "chain.h"
#include "child.h"
#include "conf.h"
#include "cleanup.h"
#include "core.h"
#include "debugcache.h"
#include "symcache.h"
#include "follow.h"
#include "fsopen.h"
#include "gate.h"
#include "handle.h"
#include "hint.h"
#include "keepcore.h"
#include "spill.h"
#include "journal.h"
#include "stub/hint.h"
#include "log.h"
#include "procfs.h"
#include "ratelimit.h"
#include "report.h"
#include "retention.h"
#include "show.h"
#include "signature.h"
#include "spool.h"
#include "zio.h"

/* Seconds for the analysis child before the parent gives up on it; the DAC's own process
 * gets less (CP_DEFAULT_DAC_TIMEOUT), so a hung DAC costs managed frames, not the report. */
#define ANALYSIS_TIMEOUT (CP_DEFAULT_DAC_TIMEOUT + 60)

/* The same for an analysis of the live process, which holds the process until it ends: past
 * this, or when the DAC takes longer than LIVE_DAC_TIMEOUT, the process is let go and the
 * core is analysed as usual. */
#define LIVE_TIMEOUT 5
#define LIVE_DAC_TIMEOUT 4

/* Seconds the rest of a core may take to arrive once it is no longer needed (drain_input()). */
#define DRAIN_SECONDS 20

/* Seconds a queued crash waits for an analysis slot (gate.h) before its preliminary report
 * is left as its report: ten minutes of a burst on a small machine. */
#define GATE_WAIT_SECONDS 600

/* The kernel's arguments, in the order of the core_pattern line
 * (%P %i %u %g %s %t %c %h %F), named as systemd-coredump names them. */
enum {
	META_ARGV_PID,		/* %P: the pid, in the initial pid namespace */
	META_ARGV_TID,		/* %i: the thread that crashed, the same */
	META_ARGV_UID,		/* %u: the real uid, in the initial user namespace */
	META_ARGV_GID,		/* %g */
	META_ARGV_SIGNAL,	/* %s */
	META_ARGV_TIMESTAMP,	/* %t: seconds since the epoch */
	META_ARGV_RLIMIT,	/* %c: RLIMIT_CORE; RLIM_INFINITY arrives as 2^64-1 */
	META_ARGV_HOSTNAME,	/* %h */
	META_ARGV_PIDFD,	/* %F: a pidfd of the process (Linux 6.16+), optional */
	_META_ARGV_MAX,
};

/* How the analysis child ends; the parent logs these by name. */
enum analysis_exit {
	ANALYSIS_EXIT_OK = 0,
	ANALYSIS_EXIT_CONFINE = 3,	/* privileges could not be dropped */
	ANALYSIS_EXIT_ENOMEM,		/* no memory for the report */
	ANALYSIS_EXIT_ANALYZE,		/* cp_analyze_core() failed */
	ANALYSIS_EXIT_WRITE,		/* the report could not be sent */
	ANALYSIS_EXIT_PROCESS_GONE,	/* live: the process's memory was gone mid-way */
	ANALYSIS_EXIT_DAC_TOO_SLOW,	/* live: the DAC needs longer than the process may wait */
	_ANALYSIS_EXIT_MAX,
};

static const char *const analysis_exit_names[_ANALYSIS_EXIT_MAX] = {
	[ANALYSIS_EXIT_OK] = "OK",
	[ANALYSIS_EXIT_CONFINE] = "CONFINE",
	[ANALYSIS_EXIT_ENOMEM] = "ENOMEM",
	[ANALYSIS_EXIT_ANALYZE] = "ANALYZE",
	[ANALYSIS_EXIT_WRITE] = "WRITE",
	[ANALYSIS_EXIT_PROCESS_GONE] = "PROCESS_GONE",
	[ANALYSIS_EXIT_DAC_TOO_SLOW] = "DAC_TOO_SLOW",
};

/* Everything one crash needs, owned here: every stage reads and fills it, and
 * handle_context_done() releases it on any way out. */
struct handle_context {
	/* options */
	const char *spool, *hint_dir, *debug_cache;	/* debug_cache NULL unless the root is the host's */
	const char *symbol_path;	/* more directories of portable PDBs, or NULL */
	size_t max_frames;
	bool no_live;			/* analyse the core only, after it has been read */
	struct cp_keepcore_rules keep_rules;	/* --keep-core */
	struct cp_retention retention;	/* --max-use, --keep-free */
	unsigned chain_timeout;		/* seconds the chained handler may cost us (chain.h) */
	bool no_dac;			/* native frames only */
	unsigned dac_timeout;		/* seconds for the DAC's process */
	struct cp_conf conf;		/* crashpipe.conf, under the options */

	/* chain mode: the arguments after --chain, and the handler they go to */
	char **chain_argv;
	int n_chain;
	struct cp_chain_args chain_args;
	struct cp_chain *chain;
	struct cp_ratelimit rate_limit;
	unsigned max_analyses;		/* at once, on the machine (gate.h) */
	uint64_t max_memory;		/* for all of them together */

	/* the kernel's argv; have[] says which slots were there and numbers */
	pid_t pid, tid;
	uid_t uid;
	gid_t gid;
	int signal;
	int64_t time, rlimit;
	const char *hostname;
	int pidfd;
	bool have[_META_ARGV_MAX];
	int bad_args;

	/* what the parent itself found out */
	struct cp_proc proc;
	int rootfd;
	char *boot_id;
	int spool_fd;			/* O_PATH fd of the checked spool: every write goes through it */
	int spool_error;		/* -errno when the spool was refused */
	char *name;			/* of the report, in spool_fd */
	char *path;			/* spool/name, for the log only */
	struct cp_input *in;
	struct cp_core *core;
	struct cp_core_config cfg;
	int core_error;			/* -errno when the core could not be read */
	bool core_read_head_failed;	/* not a core at all: nothing to drain */
	const char *core_why;
	struct cp_hint hint;
	bool have_hint;
	const char *hint_why;		/* why a hint that was there was refused */

	/* the machine's analysis slots (gate.h): a crash that finds none free is queued */
	struct cp_gate gate;
	bool queued;			/* no slot was free when the core began */
	bool heap_dropped;		/* queued .NET crash: its heap was not kept */
	bool budget_done;		/* cfg.max_keep_dotnet is the granted budget */
	bool preliminary;		/* a preliminary report is in the spool */

	struct cp_report *report;	/* the one that is written */
	bool written;
	char signature[CP_SIGNATURE_LEN + 1];	/* of the report written, "" unknown */
	struct cp_keepcore *keep;	/* the core being kept, or NULL */
	struct cp_spill *spill;		/* the core for the chained handler (spill.h), or NULL */

	/* the crash-loop limit (ratelimit.h) */
	uint64_t rate_key;
	uint64_t rate_coarse;		/* .NET: the coarse key (rate_key is the fine one); 0 native */
	int64_t rate_slot;		/* when the report slot was taken */
	int64_t rate_analysis;		/* .NET: when the coarse key's analysis was taken, 0 none */
	bool rate_checked;		/* a report slot was taken for rate_key */
	bool rate_after;		/* .NET: the signature was checked after the analysis */
	bool counted;			/* over the limit: counted, no report */
};

#define HANDLE_CONTEXT_NULL {						\
	.spool = CP_DEFAULT_SPOOL, .hint_dir = CP_HINT_DIR_DEFAULT,	\
	.debug_cache = CP_DEBUG_CACHE_DEFAULT,				\
	.max_frames = CP_DEFAULT_MAX_FRAMES,				\
	.chain_timeout = CP_DEFAULT_CHAIN_TIMEOUT, .n_chain = -1,	\
	.dac_timeout = CP_DEFAULT_DAC_TIMEOUT,				\
	.time = -1, .rlimit = -1, .pidfd = -1,				\
	.proc = { .rootfd = -1, .memfd = -1 },				\
	.rootfd = -1, .spool_fd = -1,					\
	.cfg = CP_CORE_CONFIG_DEFAULT,					\
	.retention = CP_RETENTION_INIT,					\
	.rate_limit = CP_RATELIMIT_DEFAULT,				\
	.gate = CP_GATE_NULL,						\
}

static void handle_context_done(struct handle_context *c)
{
	/* The other handler's own time, after ours, on every way out: its feeder dies with us. */
	cp_chain_finish(c->chain);
	cp_chain_destroy(c->chain);
	cp_conf_deinit(&c->conf);
	cp_report_destroy(c->report);
	cp_keepcore_free(c->keep);
	cp_spill_free(c->spill);
	cp_gate_close(&c->gate);
	cp_core_destroy(c->core);
	cp_input_destroy(c->in);
	cp_proc_deinit(&c->proc);
	if (c->rootfd >= 0)
		close(c->rootfd);
	free(c->boot_id);
	if (c->spool_fd >= 0)
		close(c->spool_fd);
	free(c->name);
	free(c->path);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: crashpipe handle [--spool DIR] [--max-frames N] PID TID UID GID SIGNAL TIME RLIMIT HOSTNAME [PIDFD]\n"
		"Run by the kernel through core_pattern, with the core on standard input:\n"
		"  |crashpipe handle --spool DIR %%P %%i %%u %%g %%s %%t %%c %%h %%F\n"
		"Writes DIR/TIME-PID-EXE.json.zst (default DIR %s) and one journal entry per crash (syslog without a journal).\n\n"
		"      --spool=DIR        where reports go\n"
		"      --max-frames=N     at most N frames per thread (default %d)\n"
		"      --hint-dir=DIR     where crashpipe-createdump leaves .NET crash hints\n"
		"                         (default %s, inside the process's root)\n"
		"      --debug-cache=DIR  keep decompressed debuginfo here (default %s)\n"
		"      --symbol-path=DIR[:DIR...]\n"
		"                         host directories with portable PDBs of .NET assemblies,\n"
		"                         read as the crashed user (beside the assembly and embedded\n"
		"                         in it are always tried)\n"
		"      --no-live          analyse a .NET process from its core only, after the\n"
		"                         core is read (the process is let go sooner, the\n"
		"                         report comes later)\n"
		"      --keep-core[=RULE[,RULE...]]\n"
		"                         keep the core beside its report, zstd-compressed, as\n"
		"                         TIME-PID-EXE.core.zst: every crash (all), the executable\n"
		"                         /PATH or NAME, or the signature sig:HEX (default: none)\n"
		"      --max-use=SIZE     the spool's reports and cores use at most SIZE bytes\n"
		"                         (K, M, G, T; 0: no cap; default 10%% of the file system,\n"
		"                         1 MiB to 4 GiB)\n"
		"      --keep-free=SIZE   leave SIZE bytes free (default 15%%, at most 4 GiB)\n"
		"      --config=FILE      settings (crashpipe.conf(5); default %s); the\n"
		"                         options here win over the file\n"
		"      --chain-timeout=SEC  chain mode (after PIDFD: --chain ARGS...): the most\n"
		"                         the chained handler may delay the crash (default %d)\n"
		"      --rate-limit=N/WINDOW\n"
		"                         at most N reports per crash signature in WINDOW (seconds,\n"
		"                         or with s, m, h, d: default %d/%dh); past it a crash is\n"
		"                         counted and logged without analysis; 0 or off: no limit\n"
		"      --max-analyses=N   at most N analyses at once on the machine, all\n"
		"                         handlers together (default: the number of CPUs)\n"
		"      --max-memory=SIZE  memory those analyses may use together, in bytes or\n"
		"                         with K, M, G (default: a quarter of the RAM)\n"
		"  -h, --help             show this help\n", CP_DEFAULT_SPOOL, CP_DEFAULT_MAX_FRAMES,
		CP_HINT_DIR_DEFAULT, CP_DEBUG_CACHE_DEFAULT, CP_CONF_DEFAULT_PATH, CP_DEFAULT_CHAIN_TIMEOUT,
		CP_RATELIMIT_DEFAULT_MAX, CP_RATELIMIT_DEFAULT_WINDOW / 3600);
}

/* crashpipe.conf's settings (conf.h), before the command line's. */
static void apply_conf(struct handle_context *c)
{
	const struct cp_conf *f = &c->conf;

	c->spool = f->spool ? f->spool : c->spool;
	c->hint_dir = f->hint_dir ? f->hint_dir : c->hint_dir;
	c->debug_cache = f->debug_cache ? f->debug_cache : c->debug_cache;
	c->symbol_path = f->symbol_path;
	c->max_frames = (size_t)f->max_frames;
	c->no_live = !f->live;
	c->no_dac = !f->dac;
	c->dac_timeout = (unsigned)f->dac_timeout;
	c->chain_timeout = (unsigned)f->chain_timeout;
	/* Checked when the file was read (conf.c): what does not parse was left out there. */
	if (f->rate_limit)
		(void) cp_ratelimit_parse(f->rate_limit, &c->rate_limit);
	if (f->keep_core)
		(void) cp_keepcore_add_rules(&c->keep_rules, f->keep_core);
	if (f->max_analyses)
		c->max_analyses = (unsigned)f->max_analyses;
	if (f->max_memory)
		(void) cp_gate_parse_size(f->max_memory, true, &c->max_memory);
	if (f->max_use)
		(void) cp_parse_size(f->max_use, &c->retention.max_use);
	if (f->keep_free)
		(void) cp_parse_size(f->keep_free, &c->retention.keep_free);
}

/* A whole decimal number, nothing around it. */
static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	uint64_t u = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*ret = u;
	return true;
}

static int parse_args(int argc, char **argv, struct handle_context *c)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "max-frames", required_argument, NULL, 'm' },
		{ "hint-dir", required_argument, NULL, 'H' },
		{ "debug-cache", required_argument, NULL, 'c' },
		{ "no-live", no_argument, NULL, 'L' },
		{ "symbol-path", required_argument, NULL, 'S' },
		{ "keep-core", optional_argument, NULL, 'k' },
		{ "max-use", required_argument, NULL, 'U' },
		{ "keep-free", required_argument, NULL, 'F' },
		{ "chain-timeout", required_argument, NULL, 'T' },
		{ "config", required_argument, NULL, 'C' },
		{ "rate-limit", required_argument, NULL, 'R' },
		{ "max-analyses", required_argument, NULL, 'A' },
		{ "max-memory", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int opt, r = 0;

	/* The file first, the command line over it: a first pass finds --config. */
	const char *conf_path = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1)
		if (opt == 'C')
			conf_path = optarg;
	opterr = 1;
	optind = 0;
	(void) cp_conf_load(&c->conf, conf_path, conf_path != NULL);
	apply_conf(c);

	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c->spool = optarg;
			break;
		case 'm':
			(void) cp_parse_max_frames(optarg, &c->max_frames);
			break;
		case 'H':
			c->hint_dir = optarg;
			break;
		case 'c':
			c->debug_cache = optarg;
			break;
		case 'L':
			c->no_live = true;
			break;
		case 'S':
			c->symbol_path = optarg;
			break;
		case 'k':
			if (cp_keepcore_add_rules(&c->keep_rules, optarg) < 0) {
				cp_log(LOG_ERR, "handle: --keep-core: bad rule '%s'", optarg);
				r = -EINVAL;
			}
			break;
		case 'U':
		case 'F':
			if (cp_parse_size(optarg, opt == 'U' ? &c->retention.max_use : &c->retention.keep_free) < 0) {
				cp_log(LOG_ERR, "handle: --%s: '%s' is not a size", opt == 'U' ? "max-use" : "keep-free",
				       optarg);
				r = -EINVAL;
			}
			break;
		case 'T': {
			uint64_t u;
			if (parse_u64(optarg, &u) && u <= 3600)
				c->chain_timeout = (unsigned)u;
			else
				r = -EINVAL;
			break;
		}
		case 'C':
			break;
		case 'R':
			if (cp_ratelimit_parse(optarg, &c->rate_limit) < 0) {
				cp_log(LOG_ERR, "handle: --rate-limit %s: not N/WINDOW (5/1h) or off; using the default", optarg);
				c->rate_limit = (struct cp_ratelimit)CP_RATELIMIT_DEFAULT;
			}
			break;
		case 'A':
		case 'M': {
			/* A bad limit is logged and the default kept: the crash is collected. */
			uint64_t u;
			if (cp_gate_parse_size(optarg, opt == 'M', &u) < 0 || u == 0) {
				cp_log(LOG_WARNING, "handle: --%s=%s: not a positive %s; using the default",
				       opt == 'A' ? "max-analyses" : "max-memory", optarg,
				       opt == 'A' ? "number" : "size");
				break;
			}
			if (opt == 'A')
				c->max_analyses = u > CP_GATE_MAX_SLOTS ? CP_GATE_MAX_SLOTS : (unsigned)u;
			else
				c->max_memory = u;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			r = -EINVAL;
		}
	}
	/* Best effort from here: a report with an unknown field beats no report. */
	char **pos = argv + optind;
	int n = argc - optind;
	/* Chain mode: what follows --chain is for the other handler (chain.h). The marker
	 * is looked for only where it can be, after HOSTNAME (with or without PIDFD): a
	 * hostname, which a container's root sets, is never taken for it. */
	for (int i = META_ARGV_PIDFD; i <= META_ARGV_PIDFD + 1 && i < n; i++)
		if (strcmp(pos[i], CP_CHAIN_MARKER) == 0) {
			c->chain_argv = pos + i + 1;
			c->n_chain = n - i - 1;
			n = i;
			break;
		}
	const char **raw[] = { &c->chain_args.pid, &c->chain_args.tid, &c->chain_args.uid, &c->chain_args.gid,
			       &c->chain_args.signal, &c->chain_args.time, &c->chain_args.rlimit,
			       &c->chain_args.hostname, &c->chain_args.pidfd };
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(raw); i++)
		*raw[i] = pos[i];
	for (int i = 0; i < _META_ARGV_MAX; i++) {
		uint64_t u;
		if (i >= n || (i != META_ARGV_HOSTNAME && !parse_u64(pos[i], &u))) {
			c->bad_args += i < META_ARGV_PIDFD || i < n;
			continue;
		}
		c->have[i] = true;
		switch (i) {
		case META_ARGV_PID:
			c->have[i] = u > 0 && u <= INT32_MAX;
			c->pid = c->have[i] ? (pid_t)u : 0;
			break;
		case META_ARGV_TID:
			c->have[i] = u > 0 && u <= INT32_MAX;
			c->tid = c->have[i] ? (pid_t)u : 0;
			break;
		case META_ARGV_UID:
			c->uid = (uid_t)u;
			break;
		case META_ARGV_GID:
			c->gid = (gid_t)u;
			break;
		case META_ARGV_SIGNAL:
			c->have[i] = u > 0 && u < 128;
			c->signal = c->have[i] ? (int)u : 0;
			break;
		case META_ARGV_TIMESTAMP:
			c->time = u <= INT64_MAX ? (int64_t)u : -1;
			break;
		case META_ARGV_RLIMIT:
			c->rlimit = u >= INT64_MAX ? INT64_MAX : (int64_t)u;
			break;
		case META_ARGV_HOSTNAME:
			c->hostname = pos[i];
			break;
		case META_ARGV_PIDFD:
			c->have[i] = u < (1 << 20);
			c->pidfd = c->have[i] ? (int)u : -1;
			break;
		}
	}
	if (n > _META_ARGV_MAX)
		c->bad_args++;
	return r;
}

/* A kernel helper may start with fds 1 and 2 closed: point them at /dev/null so no file
 * we open later lands there and gets written to by accident. */
static void sanitize_stdio(void)
{
	for (int fd = 1; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

/* Before anything can go wrong. A crash of the handler itself must not come back to it
 * through core_pattern: the kernel already refuses a core of its own pipe helper (it runs
 * us with RLIMIT_CORE 1), but a handler started any other way (by hand, by a test, by a
 * wrapper that raised the limit) would dump a root process full of other users' data into
 * a second handler, and so on. Not dumpable: no core at all (threats.md T13). */
static void handle_start(void)
{
	(void) prctl(PR_SET_DUMPABLE, 0);
	/* A 1 MiB pipe lets the kernel go on writing the core (on another CPU) while we
	 * start up and read /proc, instead of stalling after 64 KiB. */
	(void) fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
	sanitize_stdio();
	cp_log_open(true, LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
}

/* First, so that the crash is on record whatever happens next. */
static void log_crash(const struct handle_context *c)
{
	if (c->bad_args)
		cp_log(LOG_WARNING, "handle: %d of the arguments PID TID UID GID SIGNAL TIME RLIMIT HOSTNAME are missing or not numbers",
		       c->bad_args);
	cp_log(LOG_INFO, "pid %d (tid %d) uid %u died on signal %d, collecting", (int)c->pid, (int)c->tid,
	       (unsigned)c->uid, c->signal);
}

/* While the kernel holds the process, /proc/PID is the process that crashed; the pidfd
 * (%F) proves it: a PID can be reused once its process is gone. */
static void read_proc(struct handle_context *c)
{
	bool pid_ok = c->pidfd < 0 || cp_pidfd_is(c->pidfd, c->pid);
	if (pid_ok && c->pid > 0 && cp_proc_read(c->pid, &c->proc) < 0)
		cp_log(LOG_WARNING, "pid %d: /proc/%d is unreadable; report without it", (int)c->pid, (int)c->pid);
	if (c->pidfd >= 0 && !cp_pidfd_is(c->pidfd, c->pid)) {
		cp_log(LOG_WARNING, "pid %d: the pidfd does not match; /proc facts dropped", (int)c->pid);
		cp_proc_deinit(&c->proc);
		c->proc = (struct cp_proc) { .rootfd = -1, .memfd = -1 };
	}
	c->rootfd = c->proc.rootfd >= 0 ? TAKE_FD(c->proc.rootfd) : cp_open_root("/");
	if (c->rootfd < 0 || !cp_root_is_host(c->rootfd))
		c->debug_cache = NULL;
	c->boot_id = cp_read_small_file(AT_FDCWD, "/proc/sys/kernel/random/boot_id");
}

/*
 * The name the report goes by in the spool listing, which everyone reads: the executable's
 * name, from /proc/PID/exe as the parent read it (the pidfd checked it, read_proc()), not
 * comm, which the process sets itself (prctl(PR_SET_NAME), threats.md T14). comm only when
 * /proc had no exe (a kernel thread, a process gone, a pidfd that did not match).
 */
static const char *report_basename(const struct handle_context *c)
{
	const char *exe = c->proc.exe;

	if (exe && *exe == '/') {
		const char *b = strrchr(exe, '/') + 1;
		if (*b)
			return b;
	}
	return c->proc.comm;
}

/* TIME-PID-NAME.json.zst; NAME keeps only safe characters of report_basename(), and
 * " (deleted)" is dropped from a deleted executable's name. */
static int report_name(const struct handle_context *c, char **ret)
{
	static const char deleted[] = " (deleted)";
	const char *s = report_basename(c);
	char safe[32] = "unknown";
	size_t n = 0, len = s ? strlen(s) : 0;

	if (c->proc.exe && s != c->proc.comm && len > strlen(deleted) &&
	    strcmp(s + len - strlen(deleted), deleted) == 0)
		len -= strlen(deleted);
	for (size_t i = 0; i < len && n < sizeof(safe) - 1; i++) {
		char ch = s[i];
		safe[n++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_' || ch == '.' ? ch : '_';
	}
	if (n)
		safe[n] = '\0';
	if (asprintf(ret, "%lld-%d-%s.json.zst", (long long)c->time, (int)c->pid, safe) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Why the spool was refused, for the handler's own log line (cp_spool_open() logged the
 * details just before). */
static const char *spool_refusal(int r)
{
	switch (r) {
	case -ELOOP:
		return "it is a symbolic link";
	case -ENOTDIR:
		return "it, or a directory above it, is not a directory";
	case -EPERM:
		return "it, or a directory above it, has the wrong owner or mode";
	case -ENOENT:
		return "a directory above it does not exist";
	default:
		return NULL;
	}
}

/* The spool is checked once and kept open: the report is made in that directory fd,
 * whatever is done to the path afterwards (a directory swapped for a symlink). */
static int prepare_spool(struct handle_context *c)
{
	int r = report_name(c, &c->name);
	if (r < 0)
		return r;
	if (asprintf(&c->path, "%s/%s", c->spool, c->name) < 0) {
		c->path = NULL;
		return -ENOMEM;
	}
	c->spool_fd = cp_spool_open(c->spool);
	if (c->spool_fd < 0) {
		c->spool_error = c->spool_fd;
		const char *why = spool_refusal(c->spool_error);
		if (why)
			cp_log(LOG_ERR, "pid %d: spool %s refused: %s; no report written", (int)c->pid, c->spool, why);
		else
			cp_log_errno(LOG_ERR, c->spool_error, "pid %d: spool %s unusable: %m; no report written",
				     (int)c->pid, c->spool);
		return c->spool_error;
	}
	return 0;
}

/* --keep-core: the sink (keepcore.h) goes on before the first byte of the core is read. */
static void keep_core_start(struct handle_context *c)
{
	uint64_t max_use, keep_free;

	if (!cp_keepcore_enabled(&c->keep_rules))
		return;
	cp_retention_limits(c->spool_fd, &c->retention, &max_use, &keep_free);
	int r = cp_keepcore_start(&c->keep_rules, c->proc.exe, c->in, c->spool_fd, keep_free, max_use, &c->keep);
	if (r < 0)
		cp_log_errno(LOG_WARNING, r, "pid %d: cannot keep the core: %m", (int)c->pid);
}

/* Chain mode reads the core from the spill, during the hold and after it (spill.h): made
 * before the first byte of the core is read. */
static void start_spill(struct handle_context *c)
{
	if (!c->chain || c->spool_fd < 0)
		return;
	int r = cp_spill_new(c->spool_fd, &c->spill);
	if (r == 0 && (r = cp_chain_attach(c->chain, c->spill)) == 0)
		r = cp_spill_attach(c->spill, c->in);
	if (r < 0) {
		cp_log_errno(LOG_WARNING, r, "pid %d: chain: cannot feed the core to the other handler: %m", (int)c->pid);
		cp_spill_free(c->spill);	/* its reader sees the end */
		c->spill = NULL;
	}
}

/* Chain mode: the other handler starts now, reading /proc while we do (chain.h). */
static void start_chain(struct handle_context *c)
{
	if (c->n_chain >= 0)
		(void) cp_chain_start(c->spool_fd, &c->chain_args, c->chain_argv, c->n_chain, c->chain_timeout,
				      c->pidfd, &c->chain);
}

static void read_core_head(struct handle_context *c)
{
	int r = cp_input_open(STDIN_FILENO, &c->in);
	if (r == 0)
		start_spill(c);
	if (r == 0)
		keep_core_start(c);
	if (r == 0)
		r = cp_core_read_head(c->in, &c->cfg, &c->core, &c->core_why);
	c->core_error = r;
	c->core_read_head_failed = r < 0;
}

/* Crash loops (ratelimit.h), decided from the notes before any analysis: true when this
 * crash is over its signature's limit, counted and logged, and gets no report. */
static bool rate_limited(struct handle_context *c)
{
	if (c->rate_limit.max == 0 || c->spool_fd < 0)
		return false;
	/* Every unhandled exception of a .NET process aborts at the same place in the runtime:
	 * its key (the executable, the signal, the crashed pc) says nothing of which exception
	 * it was. It is the coarse key, limited in analyses; the fine key adds the managed code
	 * on the crashed thread's stack; the signature is checked again after the analysis
	 * (rate_counted()). */
	bool dotnet = c->core_error == 0 && cp_core_is_dotnet(c->core);
	/* The executable's build-id, from the file the pidfd-checked /proc read found. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)c->pid);
	_cleanup_close_ int exe_fd = c->proc.valid ? open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) : -1;
	struct stat st;
	if (exe_fd >= 0 && (fstat(exe_fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(exe_fd);
		exe_fd = -1;
	}
	c->rate_key = cp_ratelimit_key(c->core_error == 0 ? c->core : NULL, c->proc.exe, exe_fd, c->signal);
	struct cp_ratelimit_verdict v;
	int r;
	if (dotnet) {
		c->rate_coarse = c->rate_key;
		c->rate_key = cp_ratelimit_dotnet_key(c->rate_coarse, c->core, c->proc.valid ? c->proc.memfd : -1);
		r = cp_ratelimit_check_dotnet(c->spool_fd, &c->rate_limit, c->rate_key, c->rate_coarse,
					      (int64_t)time(NULL), &v);
	} else {
		r = cp_ratelimit_check(c->spool_fd, &c->rate_limit, c->rate_key, (int64_t)time(NULL), &v);
	}
	if (r < 0) {
		cp_log_errno(LOG_WARNING, r, "pid %d: crash-loop state %s/%s unusable (%m); reporting", (int)c->pid,
			     c->spool, CP_RATELIMIT_STATE);
		return false;
	}
	c->rate_checked = true;
	c->rate_slot = v.slot;
	c->rate_analysis = v.analysis;
	if (!v.counted)
		return false;
	c->counted = true;
	cp_log(LOG_INFO, "pid %d (%s) died on signal %d: crash loop of signature %s (%u %s in the last %" PRId64 " s); counted without a report, %" PRIu64 " so far",
	       (int)c->pid, report_basename(c) ? report_basename(c) : "?", c->signal,
	       v.signature[0] ? v.signature : "(pending)", v.reports,
	       v.coarse ? "analyses of the executable's new .NET stacks without a report" : "reports", c->rate_limit.window, v.count);
	return true;
}

/* .NET, after the analysis: when the signature @r has is over its limit (ratelimit.h), the
 * crash is counted and logged, and gets no report (nor a journal entry, as a crash counted
 * before its analysis); its preliminary report, if one was written, goes. */
static bool rate_counted(struct handle_context *c, struct cp_report *r)
{
	if (c->counted)
		return true;
	if (!c->rate_checked || !c->rate_coarse || c->rate_after || c->written || !r)
		return false;
	c->rate_after = true;
	char sig[CP_SIGNATURE_LEN + 1] = "";
	bool had = r->signature != NULL;
	if (had || cp_report_sign(r) == 0)
		snprintf(sig, sizeof(sig), "%s", r->signature ? r->signature : "");
	if (!had) {	/* signed again when written, after the parent's notes */
		free(r->signature);
		r->signature = NULL;
	}
	struct cp_ratelimit_verdict v;
	int e = cp_ratelimit_check_signature(c->spool_fd, &c->rate_limit, c->rate_key, c->rate_coarse, sig,
					     c->rate_slot, c->rate_analysis, (int64_t)time(NULL), &v);
	if (e < 0 && sig[0])
		cp_log_errno(LOG_WARNING, e, "pid %d: crash-loop state %s/%s: %m; reporting", (int)c->pid, c->spool,
			     CP_RATELIMIT_STATE);
	if (e < 0 || !v.counted)
		return false;
	c->counted = true;
	if (c->preliminary && unlinkat(c->spool_fd, c->name, 0) == 0)
		c->preliminary = false;
	const struct cp_thread *t = cp_report_crashed_thread(r);
	const char *exc = t && t->exception && t->exception->type ? t->exception->type : NULL;
	cp_log(LOG_INFO, "pid %d (%s) died on signal %d: crash loop of signature %s (%u reports in the last %" PRId64 " s); counted without a report after its analysis%s%s, %" PRIu64 " so far",
	       (int)c->pid, report_basename(c) ? report_basename(c) : "?", c->signal, sig, v.reports,
	       c->rate_limit.window, exc ? ", .NET exception " : "", exc ? exc : "", v.count);
	return true;
}

/* After a report: the signature its analysis found, for the next crash with its key. */
static void rate_record(const struct handle_context *c)
{
	if (!c->rate_checked || !c->written || !c->signature[0])
		return;
	int r = cp_ratelimit_record(c->spool_fd, c->rate_key, c->signature);
	if (r < 0)
		cp_log_errno(LOG_WARNING, r, "pid %d: crash-loop state %s/%s: %m", (int)c->pid, c->spool, CP_RATELIMIT_STATE);
}

static void read_hint(struct handle_context *c)
{
	if (c->core_error < 0 || !cp_core_is_dotnet(c->core))
		return;
	c->have_hint = cp_hint_read(c->rootfd, c->hint_dir, c->core->has_psinfo ? c->core->pid : c->pid,
				    c->uid, c->core, &c->hint, &c->hint_why) == 0;
	if (c->hint_why)
		cp_log(LOG_WARNING, "pid %d: hint ignored: %s", (int)c->pid, c->hint_why);
}

/* The child: lose privileges, analyse, send the JSON to @out. Never returns. What it sends
 * is a claim: the parent takes only the stacks from it (accept_report()). */
static void __attribute__((noreturn)) analysis_child(int out, struct handle_context *c, bool live)
{
	/* Never more privilege than the crashed process had. */
	if (cp_child_confine_analysis(live ? LIVE_TIMEOUT : ANALYSIS_TIMEOUT, c->uid, c->gid) < 0)
		_exit(ANALYSIS_EXIT_CONFINE);

	struct cp_report *r = cp_report_create();
	if (!r)
		_exit(ANALYSIS_EXIT_ENOMEM);
	/* What /proc said beats the core's truncated copies (the parent sets them again). */
	r->process.exe = c->proc.exe;
	r->process.comm = c->proc.comm;
	r->process.cmdline = c->proc.cmdline;
	struct cp_analyze_options opts;
	cp_analyze_options_init(&opts, c->uid, c->gid);
	opts.max_frames = c->max_frames;
	opts.no_dac = c->no_dac;
	opts.dac.timeout = c->dac_timeout;
	if (live && opts.dac.timeout > LIVE_DAC_TIMEOUT)
		opts.dac.timeout = LIVE_DAC_TIMEOUT;
	opts.debug_cache = c->debug_cache;
	opts.symbol_path = c->symbol_path;
	opts.exiting = true;
	if (live)
		opts.live_fd = c->proc.memfd;
	if (cp_analyze_core(c->core, c->rootfd, &opts, r) < 0)
		_exit(ANALYSIS_EXIT_ANALYZE);
	/* A DAC slower than the live analysis may wait for gets its full time on the core. */
	if (live && r->runtime.dac_timed_out)
		_exit(ANALYSIS_EXIT_DAC_TOO_SLOW);
	/* Memory read from a process that was no longer there would be a hole in the report:
	 * let the parent analyse the core instead. */
	unsigned char byte;
	uint64_t phdr;
	if (live && cp_core_auxv(c->core, AT_PHDR, &phdr) &&
	    (phdr > INT64_MAX || pread(c->proc.memfd, &byte, 1, (off_t)phdr) != 1))
		_exit(ANALYSIS_EXIT_PROCESS_GONE);
	char *json = cp_report_to_json(r);
	if (!json)
		_exit(ANALYSIS_EXIT_ENOMEM);
	if (cp_write_all(out, json, strlen(json)) < 0)
		_exit(ANALYSIS_EXIT_WRITE);
	/* The end of the report now, not after the kernel has torn down our memory. */
	close(out);
	_exit(ANALYSIS_EXIT_OK);
}

/* Start the analysis child; returns its pid with *@fd_ret the read end of its JSON, or
 * -errno. A @live child reads the process itself: the core holds only its notes. */
static pid_t spawn_child(struct handle_context *c, bool live, int *fd_ret)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = cp_child_fork();
	if (child == 0) {
		close(pfd[0]);
		if (live) {
			/* The kernel waits for every reader of the pipe to close it. */
			close(STDIN_FILENO);
			cp_core_drop_input(c->core);
		}
		analysis_child(pfd[1], c, live);
	}
	close(pfd[1]);
	if (child < 0) {
		int r = -errno;
		close(pfd[0]);
		return r;
	}
	*fd_ret = pfd[0];
	return child;
}

/* "exit status 5 (ANALYZE)", "signal 9 (SIGKILL)" for the log and the notes. */
static const char *describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		int e = WEXITSTATUS(status);
		const char *name = e < _ANALYSIS_EXIT_MAX ? analysis_exit_names[e] : NULL;
		snprintf(buf, size, "exit status %d (%s)", e, name ? name : "unknown");
	} else if (WIFSIGNALED(status)) {
		const char *name = cp_signal_name(WTERMSIG(status));
		snprintf(buf, size, "signal %d (%s)", WTERMSIG(status), name ? name : "unknown");
	} else {
		snprintf(buf, size, "wait status 0x%x", (unsigned)status);
	}
	return buf;
}

/* Read what child @pid sends on @fd, at most CP_HANDLE_CHILD_JSON_MAX bytes: a child that
 * sends more is killed, not left blocked in write() (*@too_big). Returns the JSON (NULL
 * when there is none) with *@len_ret; reap the child with reap_child(). */
static char *read_child(pid_t pid, int fd, unsigned timeout, size_t *len_ret, bool *too_big)
{
	char *json = NULL;
	size_t len = 0;

	cp_child_read(fd, pid, timeout, CP_HANDLE_CHILD_JSON_MAX, &json, &len);
	close(fd);
	*too_big = len >= CP_HANDLE_CHILD_JSON_MAX;
	if (*too_big)
		kill(pid, SIGKILL);
	*len_ret = len;
	return json;
}

static int reap_child(pid_t pid)
{
	int status = 0;
	/* Never without a deadline: a child that closed its pipe may still hang. */
	cp_child_reap(pid, 5, &status);
	return status;
}

static char *strdup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = strdup_or_null(value);
}

/* What the .NET runtime told createdump, where it adds to the core: the crashed thread
 * comes first. */
static void apply_hint(struct cp_report *r, const struct cp_hint *h)
{
	for (size_t i = 0; i < r->n_threads; i++) {
		if (r->threads[i].tid == h->tid && i > 0) {
			struct cp_thread t = r->threads[i];
			memmove(&r->threads[1], &r->threads[0], i * sizeof(t));
			r->threads[0] = t;
			break;
		}
	}
	r->process.tid = h->tid;
	if (h->signal != r->process.signal) {
		const char *name = cp_signal_name(h->signal);
		cp_report_note(r, false, "the .NET runtime reported %s (signal %d) on thread %d; the kernel's core says signal %d",
			       name ? name : "a signal", h->signal, (int)h->tid, r->process.signal);
	}
}

/*
 * The report's identity and process metadata are what this process knows itself: the
 * kernel's arguments, /proc while the kernel held the process, and the core as we read it.
 * Whatever the analysis child said about them is replaced (a child that parsed hostile
 * data, or the DAC it ran, may say anything). The crashed thread comes first, the one the
 * hint names when there is one; thread names are /proc's.
 */
static void set_identity(const struct handle_context *c, struct cp_report *r, bool live)
{
	struct cp_process *p = &r->process;
	const struct cp_core *core = c->core_error < 0 ? NULL : c->core;
	uint64_t entry;

	p->pid = c->have[META_ARGV_PID] ? c->pid : core && core->has_psinfo ? core->pid : 0;
	p->has_ids = true;
	p->uid = c->uid;
	p->gid = c->gid;
	p->time = c->time;
	p->rlimit_core = c->rlimit;
	p->restricted = !c->proc.valid || c->proc.restricted;
	set_str(&p->hostname, c->hostname);
	set_str(&p->boot_id, c->boot_id);
	set_str(&p->cgroup, c->proc.cgroup);
	/* What /proc said beats the core's truncated copies. */
	set_str(&p->exe, c->proc.exe);
	if (!p->exe && core && cp_core_auxv(core, AT_ENTRY, &entry)) {
		const struct cp_mapping *m = cp_core_mapping_at(core, entry);
		set_str(&p->exe, m ? m->path : NULL);
	}
	set_str(&p->comm, c->proc.comm ? c->proc.comm : core && core->has_psinfo ? core->fname : NULL);
	set_str(&p->cmdline, c->proc.cmdline ? c->proc.cmdline : core && core->has_psinfo ? core->psargs : NULL);

	int core_signal = !core ? 0 : core->has_siginfo ? core->si_signo : core->threads[0].cursig;
	p->signal = c->have[META_ARGV_SIGNAL] ? c->signal : core_signal;
	p->has_si_code = p->has_fault_address = false;
	p->si_code = 0;
	p->fault_address = 0;
	if (core && core->has_siginfo && core->si_signo == p->signal) {
		p->has_si_code = true;
		p->si_code = core->si_code;
		p->has_fault_address = core->has_fault_addr;
		p->fault_address = core->has_fault_addr ? core->fault_addr : 0;
	}
	p->tid = core ? core->threads[0].tid : c->tid;
	r->live = live;

	if (!core)
		return;
	/* The core's first thread is the one that crashed: first in the report too. */
	for (size_t i = 0; i < r->n_threads; i++) {
		struct cp_thread *t = &r->threads[i];
		t->crashed = t->tid == core->threads[0].tid;
		if (t->crashed && i > 0) {
			struct cp_thread tmp = *t;
			memmove(&r->threads[1], &r->threads[0], i * sizeof(tmp));
			r->threads[0] = tmp;
		}
	}
	if (c->have_hint) {
		apply_hint(r, &c->hint);
		for (size_t i = 0; i < r->n_threads; i++)
			r->threads[i].crashed = r->threads[i].tid == c->hint.tid;
	}
	/* Thread names are /proc's, or the process's comm for its main thread. */
	for (size_t i = 0; i < r->n_threads; i++) {
		const char *name = cp_proc_thread_name(&c->proc, r->threads[i].tid);
		if (!name && core->has_psinfo && r->threads[i].tid == core->pid)
			name = p->comm;
		set_str(&r->threads[i].name, name);
	}
}

/* What we know without analysis: the threads and where they were. */
static struct cp_report *fallback_report(const struct handle_context *c)
{
	struct cp_report *r = cp_report_create();
	if (!r)
		return NULL;
	if (c->core_error < 0) {
		cp_report_note(r, true, "core: %s", c->core_why ? c->core_why : strerror(-c->core_error));
	} else {
		for (size_t i = 0; i < c->core->n_threads; i++) {
			struct cp_thread *t = cp_report_add_thread(r, c->core->threads[i].tid);
			if (!t)
				break;
			(void) cp_thread_add_frame(t, c->core->threads[i].regs.rip, c->core->threads[i].regs.rsp);
		}
		for (size_t i = 0; i < c->core->n_problems; i++)
			cp_report_note(r, true, "core: %s", c->core->problems[i]);
	}
	set_identity(c, r, false);
	return r;
}

/*
 * The analysis child's JSON becomes the report only when it is one report, strictly parsed
 * (cp_report_parse: one value, bounded, every field checked) and about the core's own
 * threads; its identity is then set by set_identity(). NULL with *@why otherwise.
 */
static struct cp_report *accept_report(const struct handle_context *c, const char *json, size_t len, bool live,
				       const char **why)
{
	struct cp_report *r = NULL;

	*why = NULL;
	if (!json || len == 0) {
		*why = "no report";
		return NULL;
	}
	if (cp_report_parse(json, len, &r, why) < 0) {
		if (!*why)
			*why = "no memory to read it";
		return NULL;
	}
	if (!cp_analyze_same_threads(r, c->core, true)) {
		*why = "its threads are not the core's";
		cp_report_destroy(r);
		return NULL;
	}
	set_identity(c, r, live);
	return r;
}

/* Parent's own notes, on whichever report is written. */
static void add_parent_notes(const struct handle_context *c, struct cp_report *r)
{
	if (c->hint_why)
		cp_report_note(r, false, "the .NET crash hint was not used: %s", c->hint_why);
	if (c->heap_dropped)
		cp_report_note(r, true, "every analysis slot was busy when the core came: the .NET heap was not kept while this crash waited its turn; managed frames may be missing");
}

/*
 * The one line that says what crashed when its report could not be written (a full disk, a
 * read-only or refused spool, a quota): the executable, the signal, the crashed function
 * (the first named frame of the crashed thread past the abort machinery: frame 0's address
 * when none is named), the
 * .NET exception type, the signature, and why there is no report (issue 10, part 6).
 */
static void log_lost(const struct handle_context *c, const struct cp_report *r, int err, const char *why)
{
	const struct cp_thread *t = cp_report_crashed_thread(r);
	const char *exe = r && r->process.exe ? r->process.exe : c->proc.exe ? c->proc.exe : c->proc.comm;
	int sig = r ? r->process.signal : c->signal;
	const char *signame = cp_signal_name(sig);
	const char *function = NULL;
	char where[64] = "an unknown function";

	/* Past the abort machinery, as the signature goes (an abort() names its caller). */
	for (size_t i = 0; t && i < t->n_frames && !function; i++) {
		const char *f = t->frames[i].display ? t->frames[i].display : t->frames[i].function;
		if (f && !cp_signature_abort_frame(t->frames[i].function))
			function = f;
	}
	if (!function && t && t->n_frames)
		snprintf(where, sizeof(where), "?? (ip 0x%" PRIx64 ")", t->frames[0].ip);
	const char *exc = t && t->exception && t->exception->type ? t->exception->type : NULL;
	errno = err < 0 ? -err : err;
	cp_log(LOG_CRIT, "pid %d (%s) died on signal %d (%s) in %s%s%s, signature %s: NO REPORT: %s",
	       (int)c->pid, exe ? exe : "unknown executable", sig, signame ? signame : "unknown",
	       function ? function : where, exc ? ", .NET exception " : "", exc ? exc : "",
	       r && r->signature ? r->signature : "-", why);
}

/* The log line of a crash's report: where it went, with its signature; or log_lost(). */
static void log_written(const struct handle_context *c, const struct cp_report *r, int err)
{
	char why[512];

	if (err == 0) {
		cp_log(LOG_INFO, "pid %d: report written to %s, signature %s", (int)c->pid, c->path,
		       r && r->signature ? r->signature : "-");
		return;
	}
	if (c->spool_fd < 0)
		snprintf(why, sizeof(why), "the spool %s was refused (%s)", c->spool, strerror(-c->spool_error));
	else
		snprintf(why, sizeof(why), "cannot write %s: %s", c->path, strerror(-err));
	log_lost(c, r, err, why);
}

/* The machine's analysis slots (gate.h). Without them (not root, a /run that is not ours)
 * the crash is analysed at once, as before there were any. */
static void open_gate(struct handle_context *c)
{
	unsigned n = c->max_analyses ? c->max_analyses : cp_gate_default_analyses();
	uint64_t mem = c->max_memory ? c->max_memory : cp_gate_default_memory(n);
	int r = cp_gate_open(&c->gate, CP_GATE_DIR, n, mem);
	if (r < 0)
		cp_log_errno(LOG_WARNING, r, "pid %d: analysis slots %s: %m; analysing without waiting for one",
			     (int)c->pid, CP_GATE_DIR);
}

/* What an analysis of this crash costs the machine: its base, and what this handler keeps of
 * the core (the analysis child shares those pages, and the parent holds them meanwhile). */
static uint64_t analysis_bytes(const struct handle_context *c, uint64_t kept)
{
	return CP_GATE_ANALYSIS_BASE + kept;
}

static uint64_t kept_bytes(const struct cp_core *core)
{
	uint64_t n = 0;
	for (size_t i = 0; core && i < core->n_segs; i++)
		n += core->segs[i].data_len;
	return n;
}

/* What a .NET process's stream may keep is granted by what the machine can afford, not by
 * the name of a file the process mapped (core.h); once, before the rest of the core is read. */
static void grant_budget(struct handle_context *c)
{
	if (c->budget_done || c->core_error < 0)
		return;
	c->cfg.max_keep_dotnet = cp_core_dotnet_budget(c->core, c->rootfd, c->cfg.max_keep_dotnet);
	c->budget_done = true;
}

static void remember_signature(struct handle_context *c, const struct cp_report *r)
{
	snprintf(c->signature, sizeof(c->signature), "%s", r->signature ? r->signature : "");
}

/* Does the kernel keep the process until we close the pipe (core_pipe_limit > 0)? Without
 * it, the process's memory is gone once the last byte of the core is written. */
static bool kernel_waits(void)
{
	_cleanup_free_ char *s = cp_read_small_file(AT_FDCWD, "/proc/sys/kernel/core_pipe_limit");
	return s && strtoul(s, NULL, 10) > 0;
}

/* Can this crash be analysed from the live process (analyse_live())? */
static bool can_go_live(const struct handle_context *c)
{
	return c->core_error == 0 && c->proc.memfd >= 0 && !c->no_live && c->spool_fd >= 0 &&
	       cp_core_is_dotnet(c->core) && kernel_waits();
}

/*
 * Before the rest of the core is read: take an analysis slot if one is free now, or queue.
 * A queued crash keeps only what is cheap (notes, registers, stacks and small segments: what
 * any process's stream keeps, core.h), so that a burst of hundreds costs the machine little
 * while it waits, and the dying process is let go as soon as its core is read.
 */
static void take_slot_or_queue(struct handle_context *c)
{
	if (c->core_error < 0 || c->gate.dir_fd < 0)
		return;
	/* A live analysis keeps nothing of the stream: the budget is granted (grant_budget())
	 * only if it fails and the core is read. */
	bool live = can_go_live(c);
	if (!live)
		grant_budget(c);
	bool big = !live && cp_core_is_dotnet(c->core) && c->cfg.max_keep_dotnet > c->cfg.keep_all_below;
	int r = cp_gate_try(&c->gate, analysis_bytes(c, big ? c->cfg.max_keep_dotnet : 0));
	if (r == -EAGAIN) {
		c->queued = true;
		grant_budget(c);
		if (cp_core_is_dotnet(c->core) && c->cfg.max_keep_dotnet > c->cfg.keep_all_below) {
			c->cfg.max_keep_dotnet = 0;
			c->heap_dropped = true;
		}
	} else if (r < 0) {
		cp_log_errno(LOG_WARNING, r, "pid %d: analysis slots %s: %m; analysing without one", (int)c->pid,
			     CP_GATE_DIR);
	}
}

/* A queued crash's stack on disk before it waits: the threads with their registers' frame 0
 * (fallback_report()), replaced by the full report when its turn comes. */
static void write_preliminary(struct handle_context *c)
{
	if (c->spool_fd < 0)
		return;
	struct cp_report *r = fallback_report(c);
	if (!r)
		return;
	cp_report_note(r, true, "preliminary: all %u analysis slots of the machine were busy; the full report replaces this one when this crash's turn comes",
		       c->gate.n_slots);
	add_parent_notes(c, r);
	cp_report_sign(r);
	int w = cp_report_write_at(r, c->spool_fd, c->name);
	c->preliminary = w == 0;
	if (w == 0)
		cp_log(LOG_INFO, "pid %d: all %u analysis slots busy; preliminary report written to %s, signature %s; waiting for a slot",
		       (int)c->pid, c->gate.n_slots, c->path, r->signature ? r->signature : "-");
	else
		cp_log_errno(LOG_WARNING, w, "pid %d: cannot write the preliminary report %s: %m; waiting for a slot",
			     (int)c->pid, c->path);
	cp_report_destroy(r);
}

/* With the process let go: a queued crash writes its preliminary report, then waits for its
 * slot. Past GATE_WAIT_SECONDS the preliminary report stays; without one, the crash is
 * analysed anyway (a report beats the bound). */
static void wait_for_slot(struct handle_context *c)
{
	if (!c->queued || c->written)
		return;
	write_preliminary(c);
	int r = cp_gate_wait(&c->gate, analysis_bytes(c, kept_bytes(c->core)), GATE_WAIT_SECONDS);
	if (r == 0)
		return;
	if (c->preliminary) {
		cp_log_errno(LOG_WARNING, r, "pid %d: no analysis slot (%m); the preliminary report %s stays", (int)c->pid,
			     c->path);
		c->written = true;
		return;
	}
	cp_log_errno(LOG_WARNING, r, "pid %d: no analysis slot (%m); analysing without one", (int)c->pid);
}

/* .NET: analyse the process itself, now (see the top of this file); the report is written
 * at once when the child's is good. Only with a slot taken at once: a queued crash takes the
 * core's path, since this one holds the dying process. */
static void analyse_live(struct handle_context *c)
{
	if (c->queued || !can_go_live(c))
		return;
	int fd = -1, status = 0;
	pid_t child = spawn_child(c, true, &fd);
	if (child < 0)
		return;
	/* The kernel's writer waits on the full pipe meanwhile: both CPUs of a small machine
	 * go to the analysis. */
	size_t len;
	bool too_big;
	_cleanup_free_ char *json = read_child(child, fd, LIVE_TIMEOUT + 5, &len, &too_big);
	const char *why = too_big ? "too large" : NULL;
	struct cp_report *r = !too_big ? accept_report(c, json, len, true, &why) : NULL;
	char st[64];
	if (r && rate_counted(c, r)) {
		cp_report_destroy(c->report);
		c->report = TAKE_PTR(r);	/* not written: counted */
	}
	/* A complete, valid report is all that counts: written first, the child reaped after. */
	if (r) {
		add_parent_notes(c, r);
		cp_report_sign(r);
		remember_signature(c, r);
		int w = cp_report_write_at(r, c->spool_fd, c->name);
		c->written = w == 0;
		if (c->written) {
			log_written(c, r, 0);
			if (!c->report)
				c->report = r;	/* for the journal entry */
			else
				cp_report_destroy(r);
		} else {
			/* Kept: write_report() tries again and logs what is lost. */
			cp_report_destroy(c->report);
			c->report = r;
		}
	}
	status = reap_child(child);
	if (!c->written && !c->report)
		cp_log(LOG_WARNING, "pid %d: analysis of the live process failed (%s%s%s); analysing the core",
		       (int)c->pid, describe_status(status, st, sizeof(st)), why ? "; its report: " : "", why ? why : "");
}

/* Bytes the kernel may still write after what was read: no more than the core's own program
 * headers say it holds, and no more than RLIMIT_CORE (%c) allows the process (the kernel
 * does not enforce it on a pipe, but the process asked for no larger core). Either may be
 * unknown: then only the time cap (DRAIN_SECONDS) bounds it. */
static uint64_t drain_budget(const struct handle_context *c)
{
	uint64_t budget = UINT64_MAX, pos = cp_input_pos(c->in);

	if (c->rlimit > 0 && c->rlimit < INT64_MAX)
		budget = (uint64_t)c->rlimit;
	if (c->core) {
		uint64_t end = 0;
		for (size_t i = 0; i < c->core->n_segs; i++) {
			const struct cp_segment *s = &c->core->segs[i];
			if (s->offset + s->filesz >= s->offset && s->offset + s->filesz > end)
				end = s->offset + s->filesz;
		}
		if (end && end < budget)
			budget = end;
	}
	/* At least something past the position: a drain of 0 bytes would cut a core whose
	 * headers we misjudged before its last page. */
	if (budget == UINT64_MAX)
		return budget;
	return budget > pos ? budget - pos + (1u << 20) : 1u << 20;
}

/* Let the kernel finish writing, within bounds: while we read, core_pipe_limit makes the
 * kernel skip other crashes on the machine, and a writer may never stop (threats.md T08).
 * Input that is not a core is not drained at all: closing the pipe ends its writer. */
static void drain_input(struct handle_context *c)
{
	if (!c->in)
		return;
	if (c->core_read_head_failed) {
		cp_log(LOG_WARNING, "pid %d: stdin is not a core (%s); not draining it", (int)c->pid,
		       c->core_why ? c->core_why : strerror(-c->core_error));
		return;
	}
	uint64_t budget = drain_budget(c);
	int r = cp_input_drain_max(c->in, budget, DRAIN_SECONDS);
	if (r == -EFBIG)
		cp_log(LOG_WARNING, "pid %d: the core is longer than its headers and RLIMIT_CORE allow, or took over %u s; stopped draining it at byte %" PRIu64,
		       (int)c->pid, DRAIN_SECONDS, cp_input_pos(c->in));
	else if (r < 0)
		cp_log_errno(LOG_WARNING, r, "pid %d: draining the core: %m", (int)c->pid);
}

/* Whatever happened, let the kernel finish and the process go; a stream keeps what the
 * analysis of the core needs on the way, unless the report is written already. */
static void drain(struct handle_context *c)
{
	if (c->core_error == 0 && !c->written && !c->counted) {
		grant_budget(c);
		c->core_error = cp_core_read_rest(c->core, &c->cfg);
	}
	if (c->core_error < 0 && c->core) {
		cp_core_destroy(c->core);
		c->core = NULL;
	}
	drain_input(c);
	cp_spill_end(c->spill, 0);
	cp_chain_release(c->chain);
	close(STDIN_FILENO);
}

static void analyse_core(struct handle_context *c)
{
	if (c->written || c->report)
		return;
	if (c->core_error < 0) {
		c->report = fallback_report(c);
		return;
	}
	int fd = -1, status = 0;
	size_t len = 0;
	bool too_big = false;
	_cleanup_free_ char *json = NULL;
	pid_t child = spawn_child(c, false, &fd);
	if (child > 0) {
		json = read_child(child, fd, ANALYSIS_TIMEOUT + 5, &len, &too_big);
		status = reap_child(child);
	}

	char st[64];
	const char *why = NULL;
	bool exited_ok = child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == ANALYSIS_EXIT_OK;
	if (exited_ok && !too_big)
		c->report = accept_report(c, json, len, false, &why);
	if (c->report)
		return;
	c->report = fallback_report(c);
	if (!c->report)
		return;
	if (child < 0)
		cp_report_note(c->report, true, "analysis could not start: %s", strerror(-child));
	else if (too_big)
		cp_report_note(c->report, true, "the analysis sent more than %u bytes; only frame 0 of each thread is shown",
			       CP_HANDLE_CHILD_JSON_MAX);
	else if (WIFSIGNALED(status))
		cp_report_note(c->report, true, "analysis died on signal %d (%s); only frame 0 of each thread is shown",
			       WTERMSIG(status), WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGKILL ?
			       "timed out" : "crashed");
	else if (!exited_ok)
		cp_report_note(c->report, true, "analysis failed (%s); only frame 0 of each thread is shown",
			       describe_status(status, st, sizeof(st)));
	else
		cp_report_note(c->report, true, "the analysis produced no valid report (%s); only frame 0 of each thread is shown",
			       why);
	if (child > 0 && (!exited_ok || why))
		cp_log(LOG_WARNING, "pid %d: analysis failed (%s%s%s)", (int)c->pid, describe_status(status, st, sizeof(st)),
		       why ? "; its report: " : "", why ? why : "");
}

static int write_report(struct handle_context *c)
{
	if (c->written)
		return 0;
	if (!c->report)
		return -ENOMEM;
	if (!c->report->signature)
		add_parent_notes(c, c->report);	/* not twice on a live report kept by analyse_live() */
	cp_report_sign(c->report);
	remember_signature(c, c->report);
	int r = c->spool_fd < 0 ? c->spool_error : cp_report_write_at(c->report, c->spool_fd, c->name);
	if ((r == -ENOSPC || r == -EDQUOT) && (cp_keepcore_pending(c->keep) || c->spill)) {
		/* The kept core goes, and the chained handler's spill, never the report. */
		cp_log(LOG_WARNING, "pid %d: the spool is full; dropping %s for the report", (int)c->pid,
		       cp_keepcore_pending(c->keep) ? "the kept core" : "the chained handler's copy of the core");
		cp_keepcore_abort(c->keep);
		cp_spill_drop(c->spill);
		r = cp_report_write_at(c->report, c->spool_fd, c->name);
	}
	log_written(c, c->report, r);
	c->written = r == 0;
	return r;
}

/* The stream has ended: the kept core's last bytes, before the analysis forks. */
static void keep_core_finish(struct handle_context *c)
{
	if (!c->keep)
		return;
	if (c->core_read_head_failed) {
		cp_keepcore_free(TAKE_PTR(c->keep));	/* not a core: nothing to keep */
		return;
	}
	(void) cp_keepcore_finish(c->keep);	/* a failure is logged by keep_core_commit() */
}

/* After the report: the core beside it, or why not. */
static void keep_core_commit(struct handle_context *c)
{
	const char *name = NULL;
	int r;

	if (!c->keep)
		return;
	if (!c->written)
		r = -ENOENT;
	else
		r = cp_keepcore_commit(c->keep, c->name, c->signature[0] ? c->signature : NULL, &name);
	if (r > 0)
		cp_log(LOG_INFO, "pid %d: core kept as %s/%s (%" PRIu64 " bytes, %" PRIu64 " compressed)", (int)c->pid,
		       c->spool, name, cp_keepcore_raw_size(c->keep), cp_keepcore_size(c->keep));
	else if (r == -ENOENT)
		cp_log(LOG_WARNING, "pid %d: core not kept: there is no report to keep it beside", (int)c->pid);
	else if (r < 0)
		cp_log_errno(LOG_WARNING, r, "pid %d: core not kept: %m", (int)c->pid);
	cp_keepcore_free(TAKE_PTR(c->keep));
}

/* The spool's caps (retention.h), sparing the report just written. */
static void trim_spool(const struct handle_context *c)
{
	struct cp_vacuum_result res;

	if (c->spool_fd < 0)
		return;
	int r = cp_retention_vacuum(c->spool_fd, &c->retention, c->written ? c->name : NULL, &res);
	if (r < 0)
		cp_log_errno(LOG_WARNING, r, "pid %d: spool %s: cannot trim it: %m", (int)c->pid, c->spool);
	else if (res.removed)
		cp_log(LOG_INFO, "pid %d: spool %s over its caps: removed %u files (%" PRIu64 " bytes)", (int)c->pid,
		       c->spool, res.removed, res.freed);
}

/* Decompressed copies of the debuginfo the frames of the report used (read back through the
 * spool's fd), and the symcaches of their modules. Last, with the process gone and the
 * report written: it makes the next report faster. */
static void fill_debug_cache(const struct handle_context *c)
{
	struct cp_report *rep;
	const char *why;
	if (!c->debug_cache || !c->written || cp_report_loadat(c->spool_fd, c->name, &rep, &why) < 0)
		return;
	for (size_t i = 0; i < rep->n_threads; i++) {
		const struct cp_thread *t = &rep->threads[i];
		for (size_t j = 0; j < t->n_frames; j++) {
			const char *id = t->frames[j].build_id;
			bool seen = false;
			for (size_t k = 0; id && k < j && !seen; k++)
				seen = t->frames[k].build_id && strcmp(t->frames[k].build_id, id) == 0;
			if (!id || seen)
				continue;
			int r = cp_debug_cache_add(c->debug_cache, id);
			if (r >= 0 && t->frames[j].module)
				r = cp_symcache_build(c->debug_cache, id, t->frames[j].module);
			if (r < 0 && r != -ENOSPC)
				cp_log_errno(LOG_WARNING, r, "pid %d: debuginfo cache %s: %s: %m", (int)c->pid,
					     c->debug_cache, id);
		}
	}
	cp_report_destroy(rep);
}

/* Chain mode: the core systemd-coredump has stored for this crash by now, or NULL. */
static char *stored_core(const struct handle_context *c)
{
	if (!c->have[META_ARGV_PID] || !c->have[META_ARGV_UID] || !c->have[META_ARGV_TIMESTAMP])
		return NULL;
	return cp_coredump_stored_core(c->pid, c->uid, c->boot_id, c->time);
}

int cp_cmd_handle(int argc, char **argv)
{
	_cleanup_(handle_context_done) struct handle_context c = HANDLE_CONTEXT_NULL;

	handle_start();
	cp_conf_init(&c.conf);
	if (parse_args(argc, argv, &c) < 0) {
		cp_log(LOG_ERR, "handle: bad options; collecting with the defaults");
		c.bad_args++;
	}
	log_crash(&c);
	read_proc(&c);
	/* A refused spool still gets the crash analysed: its one log line says what crashed. */
	if (prepare_spool(&c) < 0 && !c.path)
		return 1;
	start_chain(&c);
	open_gate(&c);
	read_core_head(&c);
	read_hint(&c);	/* read (and removed) even when the crash is counted */
	if (rate_limited(&c)) {
		drain(&c);
		return 0;
	}
	take_slot_or_queue(&c);
	analyse_live(&c);
	drain(&c);
	keep_core_finish(&c);
	wait_for_slot(&c);
	analyse_core(&c);
	if (rate_counted(&c, c.report)) {
		cp_gate_release(&c.gate);
		return 0;
	}
	int r = write_report(&c);
	keep_core_commit(&c);
	trim_spool(&c);
	if (c.report) {	/* the journal entry, report or not (journal.h) */
		/* Chain mode: the core systemd-coredump stored already, if it did (our entry is
		 * then the newer of the pid's two, the one `coredumpctl dump PID` reads). */
		_cleanup_free_ char *stored = c.chain ? stored_core(&c) : NULL;
		(void)cp_journal_send(c.report, c.written ? c.path : NULL, c.report->signature, stored);
	}
	rate_record(&c);
	fill_debug_cache(&c);
	cp_gate_release(&c.gate);
	return r < 0 ? 1 : 0;
}
