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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyze.h"
#include "child.h"
#include "cleanup.h"
#include "core.h"
#include "debugcache.h"
#include "symcache.h"
#include "fsopen.h"
#include "handle.h"
#include "hint.h"
#include "stub/hint.h"
#include "log.h"
#include "procfs.h"
#include "report.h"
#include "show.h"
#include "zio.h"

/* Seconds for the analysis child before the parent gives up on it; the DAC's own process
 * gets less (CP_DEFAULT_DAC_TIMEOUT), so a hung DAC costs managed frames, not the report. */
#define ANALYSIS_TIMEOUT (CP_DEFAULT_DAC_TIMEOUT + 60)

/* The same for an analysis of the live process, which holds the process until it ends: past
 * this, or when the DAC takes longer than LIVE_DAC_TIMEOUT, the process is let go and the
 * core is analysed as usual. */
#define LIVE_TIMEOUT 5
#define LIVE_DAC_TIMEOUT 4

struct handle_args {
	const char *spool;
	size_t max_frames;
	pid_t pid, tid;
	uid_t uid;
	gid_t gid;
	int signal;
	int64_t time;
	int64_t rlimit;
	const char *hostname;
	const char *hint_dir;
	const char *debug_cache;	/* NULL unless the process's root is the host's */
	bool no_live;			/* analyse the core only, after it has been read */
	int pidfd;
	int bad_args;		/* positional arguments missing or not numbers */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: crashpipe handle [--spool DIR] [--max-frames N] PID TID UID GID SIGNAL TIME RLIMIT HOSTNAME [PIDFD]\n"
		"Run by the kernel through core_pattern, with the core on standard input:\n"
		"  |crashpipe handle --spool DIR %%P %%i %%u %%g %%s %%t %%c %%h %%F\n"
		"Writes DIR/TIME-PID-COMM.json.zst (default DIR %s) and one syslog line per crash.\n\n"
		"      --spool=DIR        where reports go\n"
		"      --max-frames=N     at most N frames per thread (default %d)\n"
		"      --hint-dir=DIR     where crashpipe-createdump leaves .NET crash hints\n"
		"                         (default %s, inside the process's root)\n"
		"      --debug-cache=DIR  keep decompressed debuginfo here (default %s)\n"
		"      --no-live          analyse a .NET process from its core only, after the\n"
		"                         core is read (the process is let go sooner, the\n"
		"                         report comes later)\n"
		"  -h, --help             show this help\n", CP_DEFAULT_SPOOL, CP_DEFAULT_MAX_FRAMES,
		CP_HINT_DIR_DEFAULT, CP_DEBUG_CACHE_DEFAULT);
}

static int parse_args(int argc, char **argv, struct handle_args *a)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "max-frames", required_argument, NULL, 'm' },
		{ "hint-dir", required_argument, NULL, 'H' },
		{ "debug-cache", required_argument, NULL, 'c' },
		{ "no-live", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->spool = optarg;
			break;
		case 'm':
			(void) cp_parse_max_frames(optarg, &a->max_frames);
			break;
		case 'H':
			a->hint_dir = optarg;
			break;
		case 'c':
			a->debug_cache = optarg;
			break;
		case 'L':
			a->no_live = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	/* Best effort from here: a report with an unknown field beats no report. */
	char **pos = argv + optind;
	int n = argc - optind;
	a->pid = a->tid = a->signal = 0;
	a->time = a->rlimit = -1;
	a->pidfd = -1;
	a->hostname = n > 7 ? pos[7] : NULL;
	for (int i = 0; i < 7; i++) {
		uint64_t u;
		char *end;
		if (i >= n) {
			a->bad_args++;
			continue;
		}
		errno = 0;
		u = strtoull(pos[i], &end, 10);
		if (errno || end == pos[i] || *end || pos[i][0] == '-') {
			a->bad_args++;
			continue;
		}
		switch (i) {
		case 0: a->pid = u <= INT32_MAX ? (pid_t)u : 0; break;
		case 1: a->tid = u <= INT32_MAX ? (pid_t)u : 0; break;
		case 2: a->uid = (uid_t)u; break;
		case 3: a->gid = (gid_t)u; break;
		case 4: a->signal = u < 128 ? (int)u : 0; break;
		case 5: a->time = u <= INT64_MAX ? (int64_t)u : -1; break;
		/* %c: RLIM_INFINITY arrives as 18446744073709551615. */
		case 6: a->rlimit = u >= INT64_MAX ? INT64_MAX : (int64_t)u; break;
		}
	}
	if (n > 9)
		a->bad_args++;
	if (n == 9) {
		char *end;
		long fd = strtol(pos[8], &end, 10);
		if (*end == '\0' && end != pos[8] && fd >= 0 && fd < (1 << 20))
			a->pidfd = fd;
	}
	return 0;
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

static char *boot_id(void)
{
	return cp_read_small_file(AT_FDCWD, "/proc/sys/kernel/random/boot_id");
}

static void fill_from_args(struct cp_report *r, const struct handle_args *a, struct cp_proc *proc)
{
	struct cp_process *p = &r->process;

	p->pid = a->pid;
	p->has_ids = true;
	p->uid = a->uid;
	p->gid = a->gid;
	p->time = a->time;
	p->rlimit_core = a->rlimit;
	p->hostname = a->hostname ? strdup(a->hostname) : NULL;
	p->boot_id = boot_id();
	/* What /proc said beats the core's truncated copies. */
	p->exe = TAKE_PTR(proc->exe);
	p->comm = TAKE_PTR(proc->comm);
	p->cmdline = TAKE_PTR(proc->cmdline);
	p->cgroup = TAKE_PTR(proc->cgroup);
}

/* What we know without analysis: the threads and where they were. */
static void fill_fallback(struct cp_report *r, struct cp_core *core, const struct cp_proc *proc)
{
	for (size_t i = 0; i < core->n_threads; i++) {
		struct cp_thread *t = cp_report_add_thread(r, core->threads[i].tid);
		if (!t)
			return;
		t->crashed = i == 0;
		const char *name = cp_proc_thread_name(proc, t->tid);
		t->name = name ? strdup(name) : NULL;
		(void) cp_thread_add_frame(t, core->threads[i].regs.rip, core->threads[i].regs.rsp);
	}
	if (!r->process.signal)
		r->process.signal = core->has_siginfo ? core->si_signo : core->threads[0].cursig;
	r->process.tid = core->threads[0].tid;
}

/* What the .NET runtime told createdump, where it adds to the core. */
static void apply_hint(struct cp_report *r, const struct cp_hint *h)
{
	for (size_t i = 0; i < r->n_threads; i++) {
		r->threads[i].crashed = r->threads[i].tid == h->tid;
		if (r->threads[i].crashed && i > 0) {
			/* The crashed thread comes first. */
			struct cp_thread t = r->threads[i];
			memmove(&r->threads[1], &r->threads[0], i * sizeof(t));
			r->threads[0] = t;
		}
	}
	r->process.tid = h->tid;
	if (h->signal != r->process.signal) {
		const char *name = cp_signal_name(h->signal);
		cp_report_note(r, false, "the .NET runtime reported %s (signal %d) on thread %d; the kernel's core says signal %d",
			       name ? name : "a signal", h->signal, (int)h->tid, r->process.signal);
	}
}

/* The child: lose privileges, analyse, send the JSON to @out. Never returns. */
static void __attribute__((noreturn)) analysis_child(int out, struct cp_core *core, int rootfd,
						     const struct handle_args *a, struct cp_proc *proc,
						     const struct cp_hint *hint, bool live)
{
	/* Never more privilege than the crashed process had. */
	if (cp_child_confine_analysis(live ? LIVE_TIMEOUT : ANALYSIS_TIMEOUT, a->uid, a->gid) < 0)
		_exit(3);

	struct cp_report *r = cp_report_create();
	if (!r)
		_exit(4);
	fill_from_args(r, a, proc);
	struct cp_analyze_options opts;
	cp_analyze_options_init(&opts, a->uid, a->gid);
	opts.max_frames = a->max_frames;
	if (live)
		opts.dac.timeout = LIVE_DAC_TIMEOUT;
	opts.debug_cache = a->debug_cache;
	opts.exiting = true;
	if (cp_analyze_core(core, rootfd, &opts, r) < 0)
		_exit(5);
	/* A DAC slower than the live analysis may wait for gets its full time on the core. */
	if (live && r->runtime.dac_timed_out)
		_exit(8);
	/* Memory read from a process that was no longer there would be a hole in the report:
	 * let the parent analyse the core instead. */
	unsigned char byte;
	uint64_t phdr;
	if (live && cp_core_auxv(core, AT_PHDR, &phdr) && cp_core_read_mem(core, phdr, &byte, 1) != 1)
		_exit(7);
	if (hint)
		apply_hint(r, hint);
	for (size_t i = 0; i < r->n_threads; i++) {
		const char *name = cp_proc_thread_name(proc, r->threads[i].tid);
		if (name) {
			free(r->threads[i].name);
			r->threads[i].name = strdup(name);
		}
	}
	char *json = cp_report_to_json(r);
	if (!json || cp_write_all(out, json, strlen(json)) < 0)
		_exit(6);
	/* The end of the report now, not after the kernel has torn down our memory. */
	close(out);
	_exit(0);
}

/* Start the analysis child; returns its pid with *@fd_ret the read end of its JSON, or
 * -errno. A @live child reads the process itself: the core holds only its notes. */
static pid_t spawn_child(struct cp_core *core, int rootfd, const struct handle_args *a, struct cp_proc *proc,
			 const struct cp_hint *hint, bool live, int *fd_ret)
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
			core->in = NULL;
			core->live_fd = proc->memfd;
		}
		analysis_child(pfd[1], core, rootfd, a, proc, hint, live);
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

/* Collect the JSON of a child from spawn_child(); *@status is its wait status, or -errno
 * when it did not start. */
static void collect_child(pid_t child, int fd, unsigned timeout, char **json, size_t *json_len, int *status)
{
	*json = NULL;
	*json_len = 0;
	if (child < 0) {
		*status = child;
		return;
	}
	cp_child_collect(fd, child, timeout + 5, 256u << 20, json, json_len, status);
	close(fd);
}

static bool child_ok(int status, const char *json, size_t json_len)
{
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && json && json_len > 0;
}

static void log_written(int r, const char *path, pid_t pid)
{
	if (r < 0)
		cp_log_errno(LOG_ERR, r, "pid %d: cannot write %s: %m", (int)pid, path);
	else
		cp_log(LOG_INFO, "pid %d: report written to %s", (int)pid, path);
}

/* The child's JSON is checked before it is written: it came from a process that parsed
 * hostile data. -EINVAL when it is not a valid report. */
static int write_json(const char *json, size_t len, const char *path, pid_t pid)
{
	int r = cp_report_write_json(json, len, path);
	if (r != -EINVAL)
		log_written(r, path, pid);
	return r;
}

/* Decompressed copies of the debuginfo the frames of the report at @path used, and the
 * symcaches of their modules. */
static void fill_debug_cache(const char *dir, const char *path, pid_t pid)
{
	struct cp_report *rep;
	const char *why;
	if (cp_report_load(path, &rep, &why) < 0)
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
			int r = cp_debug_cache_add(dir, id);
			if (r >= 0 && t->frames[j].module)
				r = cp_symcache_build(dir, id, t->frames[j].module);
			if (r < 0 && r != -ENOSPC)
				cp_log_errno(LOG_WARNING, r, "pid %d: debuginfo cache %s: %s: %m", (int)pid, dir, id);
		}
	}
	cp_report_destroy(rep);
}

/* Does the kernel keep the process until we close the pipe (core_pipe_limit > 0)? Without
 * it, the process's memory is gone once the last byte of the core is written. */
static bool kernel_waits(void)
{
	_cleanup_free_ char *s = cp_read_small_file(AT_FDCWD, "/proc/sys/kernel/core_pipe_limit");
	return s && strtoul(s, NULL, 10) > 0;
}

static int make_spool(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* DIR/TIME-PID-COMM.json.zst; the name keeps only safe characters of comm. */
static char *report_path(const struct handle_args *a, const char *comm)
{
	char safe[32] = "unknown";
	size_t n = 0;

	for (const char *s = comm; s && *s && n < sizeof(safe) - 1; s++)
		safe[n++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.' ? *s : '_';
	if (n)
		safe[n] = '\0';
	char *path;
	if (asprintf(&path, "%s/%lld-%d-%s.json.zst", a->spool, (long long)a->time, (int)a->pid, safe) < 0)
		return NULL;
	return path;
}

int cp_cmd_handle(int argc, char **argv)
{
	struct handle_args a = { .spool = CP_DEFAULT_SPOOL, .max_frames = CP_DEFAULT_MAX_FRAMES,
				 .debug_cache = CP_DEBUG_CACHE_DEFAULT };
	struct cp_proc proc = { .rootfd = -1, .memfd = -1 };
	int r;

	/* First of all: a 1 MiB pipe lets the kernel go on writing the core (on another CPU)
	 * while we start up and read /proc, instead of stalling after 64 KiB. */
	(void) fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
	sanitize_stdio();
	cp_log_open(true, LOG_INFO);
	if (parse_args(argc, argv, &a) < 0) {
		cp_log(LOG_ERR, "handle: bad options; collecting with the defaults");
		a.bad_args++;
	}
	if (a.bad_args)
		cp_log(LOG_WARNING, "handle: %d of the arguments PID TID UID GID SIGNAL TIME RLIMIT HOSTNAME are missing or not numbers",
		       a.bad_args);
	signal(SIGPIPE, SIG_IGN);

	/* First, so that the crash is on record whatever happens next. */
	cp_log(LOG_INFO, "pid %d (tid %d) uid %u died on signal %d, collecting", (int)a.pid, (int)a.tid,
	       (unsigned)a.uid, a.signal);

	/* While the kernel holds the process, /proc/PID is the process that crashed; the pidfd
	 * (%F) proves it: a PID can be reused once its process is gone. */
	bool pid_ok = a.pidfd < 0 || cp_pidfd_is(a.pidfd, a.pid);
	if (pid_ok && a.pid > 0 && cp_proc_read(a.pid, &proc) < 0)
		cp_log(LOG_WARNING, "pid %d: /proc/%d is unreadable; report without it", (int)a.pid, (int)a.pid);
	if (a.pidfd >= 0 && !cp_pidfd_is(a.pidfd, a.pid)) {
		cp_log(LOG_WARNING, "pid %d: the pidfd does not match; /proc facts dropped", (int)a.pid);
		cp_proc_deinit(&proc);
	}
	_cleanup_close_ int rootfd = proc.rootfd >= 0 ? TAKE_FD(proc.rootfd) : cp_open_root("/");
	if (rootfd < 0 || !cp_root_is_host(rootfd))
		a.debug_cache = NULL;

	struct cp_report *report = cp_report_create();
	if (!report)
		return 1;
	_cleanup_free_ char *path = report_path(&a, proc.comm);
	if (!path || make_spool(a.spool) < 0) {
		cp_log(LOG_ERR, "pid %d: cannot create the spool %s: %m", (int)a.pid, a.spool);
		return 1;
	}

	struct cp_input *in = NULL;
	struct cp_core *core = NULL;
	const char *why = NULL;
	struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
	r = cp_input_open(STDIN_FILENO, &in);
	if (r == 0)
		r = cp_core_read_head(in, &cfg, &core, &why);
	struct cp_hint hint;
	bool have_hint = false;
	if (r == 0 && cp_core_is_dotnet(core)) {
		const char *hint_why = NULL;
		have_hint = cp_hint_read(rootfd, a.hint_dir ? a.hint_dir : CP_HINT_DIR_DEFAULT,
					 core->has_psinfo ? core->pid : a.pid, a.uid, core, &hint, &hint_why) == 0;
		if (hint_why)
			cp_log(LOG_WARNING, "pid %d: hint ignored: %s", (int)a.pid, hint_why);
	}

	_cleanup_free_ char *json = NULL;
	size_t json_len = 0;
	bool written = false;
	if (r == 0 && proc.memfd >= 0 && !a.no_live && cp_core_is_dotnet(core) && kernel_waits()) {
		/* .NET: analyse the process itself, now (see the top of this file). */
		int fd = -1;
		pid_t child = spawn_child(core, rootfd, &a, &proc, have_hint ? &hint : NULL, true, &fd);
		if (child > 0) {
			/* The kernel's writer waits on the full pipe meanwhile: both CPUs of a
			 * small machine go to the analysis. A complete, valid report is all
			 * that counts; the child is reaped after it is written. */
			cp_child_read(fd, child, LIVE_TIMEOUT + 5, 256u << 20, &json, &json_len);
			close(fd);
			written = json && write_json(json, json_len, path, a.pid) == 0;
			int status;
			cp_child_reap(child, LIVE_TIMEOUT + 5, &status);
			if (!written)
				cp_log(LOG_WARNING, "pid %d: analysis of the live process failed (%s %d); analysing the core",
				       (int)a.pid, WIFSIGNALED(status) ? "signal" : "exit status",
				       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			free(json);
			json = NULL;
		}
		/* The report is written: the rest of the core is only drained (below). */
		if (!written)
			r = cp_core_read_rest(core, &cfg);
	} else if (r == 0) {
		r = cp_core_read_rest(core, &cfg);
	}
	if (r < 0 && core) {
		cp_core_destroy(core);
		core = NULL;
	}
	/* Whatever happened, let the kernel finish and the process go. */
	if (in)
		(void) cp_input_drain(in);
	close(STDIN_FILENO);

	int status = 0;
	if (written) {
		/* done */
	} else if (r < 0) {
		fill_from_args(report, &a, &proc);
		report->process.signal = a.signal;
		report->process.tid = a.tid;
		cp_report_note(report, true, "core: %s", why ? why : strerror(-r));
	} else {
		int fd = -1;
		pid_t child = spawn_child(core, rootfd, &a, &proc, have_hint ? &hint : NULL, false, &fd);
		collect_child(child, fd, ANALYSIS_TIMEOUT, &json, &json_len, &status);
		fill_from_args(report, &a, &proc);
		fill_fallback(report, core, &proc);
		if (!child_ok(status, json, json_len)) {
			if (status < 0)
				cp_report_note(report, true, "analysis could not start: %s", strerror(-status));
			else if (WIFSIGNALED(status))
				cp_report_note(report, true, "analysis died on signal %d (%s); only frame 0 of each thread is shown",
					       WTERMSIG(status), WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGKILL ?
					       "timed out" : "crashed");
			else
				cp_report_note(report, true, "analysis failed (exit status %d); only frame 0 of each thread is shown",
					       WEXITSTATUS(status));
			free(json);
			json = NULL;
		}
	}

	if (!written) {
		r = json ? write_json(json, json_len, path, a.pid) : -EINVAL;
		if (r == -EINVAL) {
			if (json)
				cp_report_note(report, true, "the analysis produced no valid report");
			r = cp_report_write(report, path);
			log_written(r, path, a.pid);
		}
	}

	/* Last, with the process gone and the report written: make the next report faster. */
	if (a.debug_cache && (written || r >= 0))
		fill_debug_cache(a.debug_cache, path, a.pid);

	cp_report_destroy(report);
	cp_core_destroy(core);
	cp_input_destroy(in);
	cp_proc_deinit(&proc);
	return written || r >= 0 ? 0 : 1;
}
