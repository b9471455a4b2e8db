/*
 * follow.c - `crashpipe follow`: systemd-coredump stays the core_pattern handler, and
 * crashpipe follows its journal entries (MESSAGE_ID fc2e22bc..., journal.h). For each it
 * analyses the stored core the way `crashpipe analyze` does (cp_analyze_saved_core(): the
 * confined child, .NET included), writes the report into the spool and sends the report's
 * journal entry. Where it stopped is the journal cursor of the last entry done, kept in
 * SPOOL/follow.cursor (mode 0600, replaced atomically after each entry), so a restart
 * neither repeats nor skips a crash.
 *
 * The stored core's path comes from the journal, and any process may log an entry that
 * looks like systemd-coredump's: the file is opened only as a plain name in
 * systemd-coredump's own directory (CP_FOLLOW_COREDUMP_DIR), without following a link,
 * and only when it is a regular file. A core that is missing (vacuumed), refused or
 * unreadable (truncated) gives a report of the journal's fields alone, with a note.
 *
 * cp_coredump_stored_core() finds, by the name systemd-coredump gives it, the core it
 * stored of a crash: chain mode's journal entry names it (handle.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "analyze-child.h"
#include "cleanup.h"
#include "debugcache.h"
#include "follow.h"
#include "fsopen.h"
#include "journal.h"
#include "log.h"
#include "procfs.h"
#include "report.h"
#include "show.h"
#include "signature.h"
#include "spool.h"

#define CURSOR_FILE "follow.cursor"
#define CURSOR_MAX 4096

static char *read_cursor(int spool_fd)
{
	_cleanup_close_ int fd = openat(spool_fd, CURSOR_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_size >= CURSOR_MAX)
		return NULL;
	char buf[CURSOR_MAX];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return *buf ? strdup(buf) : NULL;
}

static int save_cursor(int spool_fd, const char *cursor)
{
	struct cp_newfile nf;
	int r = cp_newfile_create(spool_fd, O_WRONLY, &nf);
	if (r < 0)
		return r;
	size_t len = strlen(cursor);
	if (write(nf.fd, cursor, len) != (ssize_t)len || write(nf.fd, "\n", 1) != 1) {
		r = errno ? -errno : -EIO;
		cp_newfile_abort(&nf);
		return r;
	}
	return cp_newfile_commit(&nf, CURSOR_FILE, 0600);
}

/* The stored core @filename, opened only as a plain "core.*" name directly in
 * CP_FOLLOW_COREDUMP_DIR, never through a link; a regular file. -errno, and *@why. */
static int open_stored_core(const char *filename, const char **why)
{
	static const char dir[] = CP_FOLLOW_COREDUMP_DIR "/";
	const char *name = filename + strlen(dir);
	*why = NULL;
	if (strncmp(filename, dir, strlen(dir)) != 0 || strchr(name, '/') || strncmp(name, "core.", 5) != 0) {
		*why = "not a file in " CP_FOLLOW_COREDUMP_DIR;
		return -EPERM;
	}
	_cleanup_close_ int dfd = open(CP_FOLLOW_COREDUMP_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			*why = "a symbolic link";
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*why = "not a regular file";
		return -EPERM;
	}
	return fd;
}

char *cp_coredump_stored_core(pid_t pid, uid_t uid, const char *boot_id, int64_t time)
{
	char boot[33], tail[128];
	size_t n = 0;
	if (!boot_id || time < 0 || pid <= 0)
		return NULL;
	for (const char *s = boot_id; *s && *s != '\n' && n < sizeof(boot) - 1; s++)
		if (*s != '-')
			boot[n++] = *s;
	boot[n] = '\0';
	if (n != 32)
		return NULL;
	/* ".UID.BOOTID.PID.USEC": COMM before it may hold dots, a suffix may follow it */
	int k = snprintf(tail, sizeof(tail), ".%u.%s.%d.%" PRId64 "000000", (unsigned)uid, boot, (int)pid, time);
	if (k < 0 || (size_t)k >= sizeof(tail))
		return NULL;
	_cleanup_close_ int dfd = open(CP_FOLLOW_COREDUMP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	DIR *d = fdopendir(dfd);
	if (!d)
		return NULL;
	dfd = -1;	/* the DIR's now */
	char *found = NULL;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		static const char *const suffixes[] = { ".zst", ".xz", ".lz4", "" };
		const char *name = de->d_name;
		size_t len = strlen(name), i;
		if (strncmp(name, "core.", 5) != 0)
			continue;
		for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
			size_t sl = strlen(suffixes[i]);
			if (len > 5 + (size_t)k + sl && strcmp(name + len - sl, suffixes[i]) == 0 &&
			    strncmp(name + len - sl - k, tail, k) == 0)
				break;
		}
		if (i == ARRAY_SIZE(suffixes))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (asprintf(&found, "%s/%s", CP_FOLLOW_COREDUMP_DIR, name) < 0)
			found = NULL;
	}
	closedir(d);
	return found;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Fill what the analysis left unknown from the journal's fields. */
static void fill_from_entry(struct cp_report *r, const struct cp_coredump_entry *e)
{
	struct cp_process *p = &r->process;
	if (p->pid <= 0 && e->pid > 0)
		p->pid = e->pid;
	if (!p->has_ids && e->uid >= 0 && e->gid >= 0) {
		p->uid = e->uid;
		p->gid = e->gid;
		p->has_ids = true;
	}
	if (p->signal <= 0 && e->signal > 0)
		p->signal = e->signal;
	if (p->time < 0 && e->timestamp_usec >= 0)
		p->time = e->timestamp_usec / 1000000;
	if (p->rlimit_core < 0 && e->rlimit >= 0)
		p->rlimit_core = e->rlimit;
	if (!p->exe)
		p->exe = dup_or_null(e->exe);
	if (!p->comm)
		p->comm = dup_or_null(e->comm);
	if (!p->cmdline)
		p->cmdline = dup_or_null(e->cmdline);
	if (!p->hostname)
		p->hostname = dup_or_null(e->hostname);
	if (!p->cgroup)
		p->cgroup = dup_or_null(e->cgroup);
	if (!p->boot_id && e->boot_id && strlen(e->boot_id) == 32) {
		/* The journal's 32 hex digits, in /proc's form (8-4-4-4-12). */
		const char *b = e->boot_id;
		if (asprintf(&p->boot_id, "%.8s-%.4s-%.4s-%.4s-%.12s", b, b + 8, b + 12, b + 16, b + 20) < 0)
			p->boot_id = NULL;
	}
	if (!p->core_writer)
		p->core_writer = strdup("systemd-coredump");
}

/* TIME-PID-NAME.json.zst, as handle names its reports: NAME from the executable's base
 * name (else comm), safe characters only. */
static int report_name(const struct cp_report *r, char **ret)
{
	const struct cp_process *p = &r->process;
	const char *s = p->exe && strrchr(p->exe, '/') && strrchr(p->exe, '/')[1] ? strrchr(p->exe, '/') + 1 : p->comm;
	char safe[32] = "unknown";
	size_t n = 0;
	for (size_t i = 0; s && s[i] && s[i] != ' ' && n < sizeof(safe) - 1; i++) {
		char ch = s[i];
		safe[n++] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_' || ch == '.' ? ch : '_';
	}
	if (n)
		safe[n] = '\0';
	return asprintf(ret, "%lld-%d-%s.json.zst", (long long)(p->time >= 0 ? p->time : 0), (int)p->pid, safe) < 0 ?
	       -ENOMEM : 0;
}

struct follow {
	const char *spool;
	int spool_fd, rootfd;
	unsigned timeout;
	bool no_dac;
	size_t done;
};

/* The report of one entry: the stored core's analysis when there is one, else the journal's
 * fields with a note; *@core_ok: the stored core was there. NULL on ENOMEM. */
static struct cp_report *analyse_entry(struct follow *fw, const struct cp_coredump_entry *e, bool *core_ok)
{
	struct cp_report *r = cp_report_create();
	if (!r)
		return NULL;
	if (!e->filename) {
		fill_from_entry(r, e);
		cp_report_note(r, true, "systemd-coredump stored no core (Storage=none or journal, or over its limits): the report has the journal's fields only");
		return r;
	}
	const char *why;
	_cleanup_close_ int fd = open_stored_core(e->filename, &why);
	if (fd < 0) {
		fill_from_entry(r, e);
		if (fd == -ENOENT)
			cp_report_note(r, true, "the stored core %s is gone (vacuumed): the report has the journal's fields only", e->filename);
		else
			cp_report_note(r, true, "the stored core %s was not opened (%s): the report has the journal's fields only",
				       e->filename, why ? why : strerror(-fd));
		return r;
	}
	*core_ok = true;
	struct cp_analyze_options aopts;
	cp_analyze_options_init(&aopts, getuid(), getgid());
	aopts.no_dac = fw->no_dac;
	aopts.debug_cache = CP_DEBUG_CACHE_DEFAULT;
	aopts.locate.debuginfod = false;	/* follow runs as root: no downloads (threats.md T19) */
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	int a = cp_analyze_saved_core(fd, e->filename, fw->rootfd, &aopts, fw->timeout, r, &json, &len);
	if (a < 0) {
		cp_report_destroy(r);
		if (!(r = cp_report_create()))
			return NULL;
		fill_from_entry(r, e);
		cp_report_note(r, true, "the stored core %s could not be read (%s): the report has the journal's fields only",
			       e->filename, strerror(-a));
		return r;
	}
	if (json) {
		struct cp_report *parsed;
		const char *bad;
		if (cp_report_parse(json, len, &parsed, &bad) == 0) {
			cp_report_destroy(r);
			r = parsed;
		} else {
			cp_report_note(r, true, "the analysis's report did not parse again: %s", bad);
		}
	}
	fill_from_entry(r, e);
	if (e->truncated)
		cp_report_note(r, true, "systemd-coredump truncated the core (COREDUMP_TRUNCATED=1, its ProcessSizeMax or ExternalSizeMax): memory past its end is missing");
	return r;
}

static int process_entry(struct follow *fw, const struct cp_coredump_entry *e)
{
	bool core_ok = false;
	struct cp_report *r = analyse_entry(fw, e, &core_ok);
	if (!r)
		return -ENOMEM;
	_cleanup_free_ char *name = NULL, *path = NULL;
	int w = report_name(r, &name);
	if (w >= 0 && asprintf(&path, "%s/%s", fw->spool, name) < 0) {
		path = NULL;
		w = -ENOMEM;
	}
	/* After the journal's fields are in: the executable's name is part of it. */
	if (w >= 0)
		w = cp_report_sign(r);
	if (w >= 0)
		w = cp_report_write_at(r, fw->spool_fd, name);
	if (w < 0)
		cp_log_errno(LOG_ERR, w, "pid %d: cannot write its report: %m", (int)r->process.pid);
	else
		cp_log(LOG_INFO, "pid %d: report written to %s", (int)r->process.pid, path);
	(void)cp_journal_send(r, w < 0 ? NULL : path, r->signature, core_ok ? e->filename : NULL);
	cp_report_destroy(r);
	fw->done += w >= 0;
	return w;
}

/* How long after a core is stored follow looks for its entry every 20 ms. */
#define BURST_USEC (3 * 1000000ull)

static uint64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void drain_fd(int fd)
{
	char buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: crashpipe follow [--once] [--spool DIR]\n"
		"Follow systemd-coredump's journal entries: for each crash, analyse the core it stored\n"
		"in %s, write the report to DIR (default %s) and send its journal entry.\n"
		"Where it stopped is kept in DIR/%s: a restart neither repeats nor skips a crash.\n\n"
		"      --once             process the entries there are, then exit\n"
		"      --spool=DIR        the spool (default %s)\n"
		"      --no-dac           native frames only\n"
		"      --timeout=SECONDS  give each analysis at most SECONDS (default %d)\n"
		"  -h, --help             show this help\n",
		CP_FOLLOW_COREDUMP_DIR, CP_DEFAULT_SPOOL, CURSOR_FILE, CP_DEFAULT_SPOOL, CP_ANALYZE_TIMEOUT);
}

int cp_cmd_follow(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' },
		{ "spool", required_argument, NULL, 's' },
		{ "no-dac", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct follow fw = { .spool = CP_DEFAULT_SPOOL, .timeout = CP_ANALYZE_TIMEOUT };
	bool once = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case '1':
			once = true;
			break;
		case 's':
			fw.spool = optarg;
			break;
		case 'n':
			fw.no_dac = true;
			break;
		case 'T': {
			size_t v;
			if (cp_parse_max_frames(optarg, &v) < 0 || v > 86400) {
				cp_log(LOG_ERR, "--timeout: '%s' is not a number of seconds from 1 to 86400", optarg);
				return 2;
			}
			fw.timeout = v;
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
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (fw.spool[0] != '/') {
		cp_log(LOG_ERR, "--spool: %s: must be an absolute path", fw.spool);
		return 2;
	}
	_cleanup_close_ int spool_fd = cp_spool_open(fw.spool);
	if (spool_fd < 0)
		return 1;	/* cp_spool_open() said why */
	_cleanup_close_ int rootfd = cp_open_root("/");
	if (rootfd < 0) {
		cp_log_errno(LOG_ERR, rootfd, "/: cannot open the root directory: %m");
		return 1;
	}
	fw.spool_fd = spool_fd;
	fw.rootfd = rootfd;

	/* Cores renamed into systemd-coredump's directory: a crash's entry is due. Without it
	 * (no directory yet) follow just waits for journald's notification. */
	_cleanup_close_ int in_fd = once ? -1 : inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in_fd >= 0 && inotify_add_watch(in_fd, CP_FOLLOW_COREDUMP_DIR, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
		close(in_fd);
		in_fd = -1;
	}
	uint64_t burst_until = 0;

	_cleanup_free_ char *cursor = read_cursor(spool_fd);
	struct cp_journal_reader *j;
	int r = cp_journal_reader_open(cursor, &j);
	if (r < 0) {
		cp_log_errno(LOG_ERR, r, "cannot open the journal: %m");
		return 1;
	}
	for (;;) {
		struct cp_coredump_entry e;
		r = cp_journal_reader_next(j, &e);
		if (r < 0) {
			cp_log_errno(LOG_ERR, r, "reading the journal: %m");
			break;
		}
		if (r == 0) {
			if (once)
				break;
			/* A core just stored: its entry follows within milliseconds, but journald
			 * tells its readers late (journal.h), so look every 20 ms for a while. */
			bool soon = burst_until > now_usec();
			if ((r = cp_journal_reader_wait(j, in_fd, soon ? 20000 : UINT64_MAX)) < 0) {
				cp_log_errno(LOG_ERR, r, "waiting for the journal: %m");
				break;
			}
			if (r == 1) {
				drain_fd(in_fd);
				burst_until = now_usec() + BURST_USEC;
			}
			continue;
		}
		r = process_entry(&fw, &e);
		/* Done with this entry, report or not (a spool that refuses it refuses the
		 * next as well: it is logged, not retried forever). */
		int s = save_cursor(spool_fd, e.cursor);
		if (s < 0)
			cp_log_errno(LOG_ERR, s, "%s/%s: cannot save the journal cursor: %m", fw.spool, CURSOR_FILE);
		cp_coredump_entry_deinit(&e);
		if (r == -ENOMEM || s < 0) {
			r = r < 0 ? r : s;
			break;
		}
		r = 0;
	}
	cp_journal_reader_close(j);
	if (once)
		cp_log(LOG_INFO, "follow: %zu report%s written", fw.done, fw.done == 1 ? "" : "s");
	return r < 0 ? 1 : 0;
}
