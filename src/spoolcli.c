/*
 * spoolcli.c - the coredumpctl-like commands over the spool: `crashpipe list` (the reports
 * grouped by crash signature, with counts and first/last seen, newest group first;
 * `--reports` for one line per report), `crashpipe info PID|REPORT|SIGNATURE`, and finding
 * the report `show` means by a pid or a signature. Columns and conventions follow
 * coredumpctl(1) of systemd 252 where they overlap (TIME PID UID GID SIG ... EXE, --since,
 * a match by pid or executable, the newest matching entry for info), with times in UTC.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json-writer.h"
#include "log.h"
#include "report.h"
#include "show.h"
#include "signature.h"
#include "spoolcli.h"
#include "spoolindex.h"
#include "termsafe.h"

static void index_destroyp(struct cp_spool_index **p)
{
	cp_spool_index_destroy(*p);
}

static void report_destroyp(struct cp_report **p)
{
	cp_report_destroy(*p);
}

/* coredumpctl's form: "Fri 2026-12-04 19:01:53 UTC" (always UTC here). */
static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || (int64_t)tt != t || !gmtime_r(&tt, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "-");
}

/* One line on stderr per spool entry left out. */
static void skip_entry(const char *name, const char *why, void *data)
{
	_cleanup_free_ char *safe = cp_termsafe(name);
	_cleanup_free_ char *safe_why = cp_termsafe(why);
	fprintf(stderr, "crashpipe: %s/%s: skipped: %s\n", (const char *)data, safe ? safe : "?",
		safe_why ? safe_why : "?");
}

static void skip_quiet(const char *name, const char *why, void *data)
{
	(void) name, (void) why, (void) data;
}

static int read_index(const char *spool, bool quiet, const char *safe_spool, struct cp_spool_index **ret)
{
	int r = cp_spool_index_read(spool, quiet ? skip_quiet : skip_entry, (void *)safe_spool, ret);
	if (r < 0)
		cp_log_errno(LOG_ERR, r, "%s: %m", safe_spool);
	return r;
}

int cp_parse_since(const char *s, int64_t now, int64_t *ret)
{
	char *end;
	if (strcmp(s, "now") == 0) {
		*ret = now;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		*ret = now - now % 86400 - (s[0] == 'y' ? 86400 : 0);
		return 0;
	}
	if (s[0] == '@') {
		errno = 0;
		long long v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || v < 0)
			return -EINVAL;
		*ret = v;
		return 0;
	}
	if (s[0] == '-' || s[0] == '+') {
		/* "-1h", "-30min", "-2d", "-90s", "-1h30m": systemd.time(7)'s relative form. */
		const char *p = s + 1;
		int64_t total = 0;
		if (!*p)
			return -EINVAL;
		while (*p) {
			errno = 0;
			long long v = strtoll(p, &end, 10);
			if (errno || end == p || v < 0 || v > 100000000)
				return -EINVAL;
			static const struct {
				const char *unit;
				int64_t secs;
			} units[] = { { "min", 60 }, { "sec", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
				      { "d", 86400 }, { "w", 7 * 86400 } };
			size_t k = 0, len = 0;
			for (; k < ARRAY_SIZE(units); k++) {
				len = strlen(units[k].unit);
				if (strncmp(end, units[k].unit, len) == 0)
					break;
			}
			if (k == ARRAY_SIZE(units)) {
				if (*end)
					return -EINVAL;
				total += v;	/* a bare number: seconds */
				break;
			}
			total += v * units[k].secs;
			p = end + len;
		}
		*ret = s[0] == '-' ? now - total : now + total;
		return 0;
	}
	/* Absolute: "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS" (also with a 'T'). */
	static const char *const forms[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
					     "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct tm tm = { 0 };
		const char *e = strptime(s, forms[i], &tm);
		if (e && (*e == '\0' || strcmp(e, " UTC") == 0)) {
			time_t t = timegm(&tm);
			if (t == (time_t)-1)
				return -EINVAL;
			*ret = t;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* --exe: a path is compared with the executable, a name with its file name or comm
 * (coredumpctl: COREDUMP_EXE for a path, COREDUMP_COMM for a name). */
static bool exe_matches(const struct cp_report *r, const char *want)
{
	const char *exe = r ? r->process.exe : NULL;
	if (!r)
		return false;
	if (strchr(want, '/'))
		return exe && strcmp(exe, want) == 0;
	return (exe && strcmp(base_name(exe), want) == 0) || (r->process.comm && strcmp(r->process.comm, want) == 0);
}

struct list_opts {
	const char *spool;
	bool json, reports, have_since;
	int64_t since;
	const char *exe, *signature;
};

/* The part of group @g at or after --since: *@sub gets its reports, counts and times. */
static bool group_since(const struct cp_spool_group *g, const struct list_opts *o, struct cp_spool_group *sub)
{
	*sub = *g;
	if (!o->have_since)
		return g->count > 0;
	size_t k = 0;
	while (k < g->n_reports && g->reports[k]->time < o->since)
		k++;
	sub->reports = g->reports + k;
	sub->n_reports = g->n_reports - k;
	/* Crashes counted without a report are kept as a whole when the last is in range. */
	sub->counted = g->counted_last >= o->since ? g->counted : 0;
	sub->count = sub->n_reports + sub->counted;
	if (sub->count == 0)
		return false;
	sub->first = INT64_MAX;
	sub->last = 0;
	if (sub->n_reports) {
		sub->first = sub->reports[0]->time;
		sub->last = sub->reports[sub->n_reports - 1]->time;
	}
	if (sub->counted) {
		if (g->counted_first && g->counted_first < sub->first)
			sub->first = g->counted_first;
		if (g->counted_last > sub->last)
			sub->last = g->counted_last;
	}
	return true;
}

/* The newest report of @g that loads, or NULL. */
static struct cp_report *newest_report(const struct cp_spool_index *idx, const struct cp_spool_group *g)
{
	for (size_t k = g->n_reports; k-- > 0;) {
		struct cp_report *r;
		const char *why;
		if (cp_report_loadat(idx->dir_fd, g->reports[k]->name, &r, &why) == 0)
			return r;
	}
	return NULL;
}

static void json_group(struct cp_jw *w, const struct list_opts *o, const struct cp_spool_group *g,
		       const struct cp_report *r)
{
	/* Names and strings that came from others go through the terminal sanitiser here too:
	 * it keeps handle's own names as they are, and the JSON valid UTF-8 whatever bytes a
	 * file name or a report holds. */
	_cleanup_free_ char *exe = r && r->process.exe ? cp_termsafe(r->process.exe) : NULL;
	cp_jw_open(w, NULL, false);
	cp_jw_str(w, "signature", g->signature);
	cp_jw_str(w, "exe", exe);
	cp_jw_num(w, "count", (double)g->count);
	cp_jw_num(w, "reported", (double)g->n_reports);
	cp_jw_num(w, "counted", (double)g->counted);
	cp_jw_num(w, "first", (double)g->first);
	cp_jw_num(w, "last", (double)g->last);
	cp_jw_num_or_null(w, "pid", r, r ? r->process.pid : 0);
	cp_jw_num_or_null(w, "uid", r && r->process.has_ids, r ? r->process.uid : 0);
	cp_jw_num_or_null(w, "gid", r && r->process.has_ids, r ? r->process.gid : 0);
	cp_jw_num_or_null(w, "signal", r, r ? r->process.signal : 0);
	cp_jw_open(w, "reports", true);
	for (size_t k = 0; k < g->n_reports; k++) {
		_cleanup_free_ char *p = NULL, *safe = NULL;
		if (asprintf(&p, "%s/%s", o->spool, g->reports[k]->name) >= 0)
			safe = cp_termsafe(p);
		cp_jw_str(w, NULL, safe);
	}
	cp_jw_close(w);
	cp_jw_close(w);
}

static void text_group(const struct cp_spool_group *g, const struct cp_report *r)
{
	char last[40], first[40], pid[16] = "-", uid[16] = "-", gid[16] = "-";
	format_time(g->last, last, sizeof(last));
	format_time(g->first, first, sizeof(first));
	const char *sig = r ? cp_signal_name(r->process.signal) : NULL;
	if (r)
		snprintf(pid, sizeof(pid), "%d", r->process.pid);
	if (r && r->process.has_ids) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)r->process.uid);
		snprintf(gid, sizeof(gid), "%u", (unsigned)r->process.gid);
	}
	_cleanup_free_ char *exe = cp_termsafe(r && r->process.exe ? r->process.exe : "-");
	printf("%-27s %7s %5s %5s %-7s %7" PRIu64 " %-27s %s %s\n", last, pid, uid, gid, sig ? sig : "-", g->count,
	       first, g->signature, exe ? exe : "?");
}

static int list_groups(const struct list_opts *o)
{
	_cleanup_free_ char *safe_spool = cp_termsafe(o->spool);
	_cleanup_(index_destroyp) struct cp_spool_index *idx = NULL;
	if (!safe_spool)
		return cp_log_errno(LOG_ERR, -ENOMEM, "%m"), 1;
	if (read_index(o->spool, false, safe_spool, &idx) < 0)
		return 1;
	struct cp_jw w = { 0 };
	size_t shown = 0;
	if (o->json)
		cp_jw_open(&w, NULL, true);
	else
		printf("%-27s %7s %5s %5s %-7s %7s %-27s %-16s %s\n", "TIME", "PID", "UID", "GID", "SIG", "COUNT", "FIRST",
		       "SIGNATURE", "EXE");
	for (size_t i = 0; i < idx->n_groups; i++) {
		struct cp_spool_group g;
		if (o->signature && strcmp(idx->groups[i].signature, o->signature) != 0)
			continue;
		if (!group_since(&idx->groups[i], o, &g))
			continue;
		_cleanup_(report_destroyp) struct cp_report *r = newest_report(idx, &g);
		if (o->exe && !exe_matches(r, o->exe))
			continue;
		if (o->json)
			json_group(&w, o, &g, r);
		else
			text_group(&g, r);
		shown++;
	}
	if (o->json) {
		cp_jw_close(&w);
		_cleanup_free_ char *text = cp_jw_finish(&w);
		if (!text)
			return cp_log_errno(LOG_ERR, -ENOMEM, "%m"), 1;
		puts(text);
	} else if (shown == 0) {
		/* coredumpctl says so too, on stderr, and exits 1 when nothing matched a filter. */
		fprintf(stderr, "No crashes found.\n");
		return o->exe || o->signature || o->have_since ? 1 : 0;
	}
	return 0;
}

static void list_usage(FILE *f)
{
	fprintf(f, "Usage: crashpipe list [--spool DIR] [--since TIME] [--exe PATH|NAME] [--signature SIG] [--json]\n"
		   "       crashpipe list --reports [--spool DIR]\n"
		   "The crashes in the spool (default %s), one line per crash signature,\n"
		   "newest first: the newest crash's TIME, PID, UID, GID, SIG, the COUNT of crashes\n"
		   "(those the crash-loop limit counted without a report included), the FIRST one,\n"
		   "the SIGNATURE and the EXE. Times are UTC.\n\n"
		   "      --spool=DIR        the spool\n"
		   "  -S, --since=TIME       only crashes at or after TIME: YYYY-MM-DD [HH:MM[:SS]],\n"
		   "                         @EPOCH, -1h, -30min, -2d, today, yesterday\n"
		   "      --exe=PATH|NAME    only crashes of this executable (a NAME: its file name)\n"
		   "      --signature=SIG    only crashes with this signature\n"
		   "      --json             the groups as a JSON array (crashpipe(8))\n"
		   "      --reports          one line per report, oldest first\n"
		   "  -h, --help             show this help\n", CP_DEFAULT_SPOOL);
}

int cp_cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' }, { "since", required_argument, NULL, 'S' },
		{ "exe", required_argument, NULL, 'e' }, { "signature", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' }, { "reports", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, {}
	};
	struct list_opts o = { .spool = CP_DEFAULT_SPOOL };
	int c;

	while ((c = getopt_long(argc, argv, "hS:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.spool = optarg;
			break;
		case 'S':
			if (cp_parse_since(optarg, (int64_t)time(NULL), &o.since) < 0) {
				_cleanup_free_ char *safe = cp_termsafe(optarg);
				cp_log(LOG_ERR, "--since %s: not a time (YYYY-MM-DD [HH:MM[:SS]], @EPOCH, -1h, today)",
				       safe ? safe : "?");
				return 2;
			}
			o.have_since = true;
			break;
		case 'e':
			o.exe = optarg;
			break;
		case 'g':
			if (!cp_signature_valid(optarg)) {
				_cleanup_free_ char *safe = cp_termsafe(optarg);
				cp_log(LOG_ERR, "--signature %s: not a signature (16 lowercase hex digits)", safe ? safe : "?");
				return 2;
			}
			o.signature = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'r':
			o.reports = true;
			break;
		case 'h':
			list_usage(stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		list_usage(stderr);
		return 2;
	}
	if (o.reports)
		return cp_show_list_reports(o.spool);
	return list_groups(&o);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int cp_spool_load_arg(const char *spool, const char *arg, struct cp_report **ret, char **path_ret,
		      char sig_ret[CP_SIGNATURE_LEN + 1])
{
	_cleanup_free_ char *safe_arg = cp_termsafe(arg);
	_cleanup_free_ char *safe_spool = cp_termsafe(spool);
	const char *why = NULL;
	int r;

	*ret = NULL;
	*path_ret = NULL;
	sig_ret[0] = '\0';
	if (!safe_arg || !safe_spool)
		return cp_log_errno(LOG_ERR, -ENOMEM, "%m");
	/* A file by that name first (a path, or a name in the current directory). */
	bool is_pid = all_digits(arg), is_sig = cp_signature_valid(arg);
	if (strchr(arg, '/') || (!is_pid && !is_sig) || faccessat(AT_FDCWD, arg, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r = cp_report_load(arg, ret, &why);
		if (r < 0) {
			if (why)
				cp_log(LOG_ERR, "%s: %s", safe_arg, why);
			else if (r == -ENOENT && !strchr(arg, '/'))
				cp_log(LOG_ERR, "%s: no such report, pid or signature", safe_arg);
			else
				cp_log_errno(LOG_ERR, r, "%s: %m", safe_arg);
			return r;
		}
		if ((*ret)->signature)
			snprintf(sig_ret, CP_SIGNATURE_LEN + 1, "%s", (*ret)->signature);
		*path_ret = strdup(arg);
		return 0;
	}
	_cleanup_(index_destroyp) struct cp_spool_index *idx = NULL;
	r = read_index(spool, true, safe_spool, &idx);
	if (r < 0)
		return r;
	const char *name = NULL;
	if (is_pid) {
		long pid = strtol(arg, NULL, 10);
		const struct cp_spool_entry *e = pid > 0 && pid <= INT32_MAX ? cp_spool_index_by_pid(idx, (pid_t)pid) : NULL;
		if (e) {
			name = e->name;
			memcpy(sig_ret, e->signature, CP_SIGNATURE_LEN + 1);
		}
	} else {
		const struct cp_spool_group *g = cp_spool_index_group(idx, arg);
		if (g && g->n_reports) {
			name = g->reports[g->n_reports - 1]->name;
			memcpy(sig_ret, g->signature, CP_SIGNATURE_LEN + 1);
		}
	}
	if (!name) {
		cp_log(LOG_ERR, "%s: no report of %s %s in %s", safe_arg, is_pid ? "pid" : "signature", safe_arg, safe_spool);
		return -ENOENT;
	}
	_cleanup_free_ char *safe_name = cp_termsafe(name);
	r = cp_report_loadat(idx->dir_fd, name, ret, &why);
	if (r < 0) {
		if (why)
			cp_log(LOG_ERR, "%s/%s: %s", safe_spool, safe_name ? safe_name : "?", why);
		else
			cp_log_errno(LOG_ERR, r, "%s/%s: %m", safe_spool, safe_name ? safe_name : "?");
		return r;
	}
	if (asprintf(path_ret, "%s/%s", spool, name) < 0)
		*path_ret = NULL;
	return 0;
}

/* info: where the report is, its signature and its group's count, then what show shows. */
int cp_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, {}
	};
	const char *spool = CP_DEFAULT_SPOOL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 's') {
			spool = optarg;
		} else if (c == 'h') {
			printf("Usage: crashpipe info [--spool DIR] PID|REPORT|SIGNATURE\n"
			       "What `show` shows of a report, found by the crashed process's pid (the newest\n"
			       "report of that pid in the spool, default %s), by its path, or by a crash\n"
			       "signature (the newest report with it), after where it is stored, its signature\n"
			       "and how often that signature crashed.\n", CP_DEFAULT_SPOOL);
			return 0;
		} else {
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: crashpipe info [--spool DIR] PID|REPORT|SIGNATURE\n");
		return 2;
	}
	_cleanup_(report_destroyp) struct cp_report *r = NULL;
	_cleanup_free_ char *path = NULL;
	char sig[CP_SIGNATURE_LEN + 1];
	if (cp_spool_load_arg(spool, argv[optind], &r, &path, sig) < 0)
		return 1;
	_cleanup_free_ char *safe_path = cp_termsafe(path ? path : "?");
	printf("%12s: %s\n", "Report", safe_path ? safe_path : "?");
	if (sig[0]) {
		printf("%12s: %s", "Signature", sig);
		_cleanup_(index_destroyp) struct cp_spool_index *idx = NULL;
		const struct cp_spool_group *g = NULL;
		if (cp_spool_index_read(spool, skip_quiet, NULL, &idx) == 0)
			g = cp_spool_index_group(idx, sig);
		if (g) {
			char first[40], last[40];
			format_time(g->first, first, sizeof(first));
			format_time(g->last, last, sizeof(last));
			printf(" (%" PRIu64 " crashes, %zu reported; first %s, last %s)", g->count, g->n_reports,
			       first, last);
		}
		putchar('\n');
	}
	putchar('\n');
	cp_show_report(stdout, r);
	return 0;
}
