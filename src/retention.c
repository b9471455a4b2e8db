/*
 * retention.c - trimming the spool to its caps (retention.h), and `crashpipe vacuum`.
 *
 * After systemd-coredump's coredump-vacuum.c in what it decides (MaxUse= and KeepFree=, their
 * defaults, the file just written spared, the biggest user of the spool trimmed first), with
 * two differences: the group trimmed first is the signature with the most reports, not the
 * uid with the most bytes (a crash loop of one program must not evict the one report of
 * another), and the directory is read once, not once per file removed.
 *
 * The spool is root's (spool.c checks it), but what is in it is not trusted: a name is
 * looked at with fstatat(AT_SYMLINK_NOFOLLOW), a file is opened only when it is a regular
 * file of ours (O_NOFOLLOW|O_NONBLOCK, then checked to be the same inode), and removed with
 * unlinkat() on the directory fd (CVE-2009-1295: never a path, never recursion).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "retention.h"
#include "show.h"
#include "signature.h"
#include "spool.h"

#define REPORT_SUFFIX ".json.zst"
#define CORE_SUFFIX ".core.zst"
#define NAME_PART_MAX 31	/* handle.c's report_name() keeps at most this much */

/* One crash in the spool: its report and the core kept beside it, either may be missing. */
struct entry {
	char *stem;		/* TIME-PID-NAME */
	uint64_t time, pid;
	int64_t mtime;		/* ns */
	uint64_t size;		/* allocated bytes of both */
	bool report, core;
	char group[64];		/* "sig:HEX" or "name:NAME" */
	bool keep;		/* the report just written */
};

int cp_parse_size(const char *s, uint64_t *ret)
{
	char *end;

	if (strcmp(s, "auto") == 0) {
		*ret = CP_RETENTION_AUTO;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	uint64_t v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (shift && v > (UINT64_MAX - 1) >> shift)
		return -EINVAL;
	*ret = v << shift;
	return *ret == CP_RETENTION_AUTO ? -EINVAL : 0;
}

static uint64_t page_align(uint64_t v)
{
	return v > UINT64_MAX - 4095 ? v : (v + 4095) & ~4095ull;
}

void cp_retention_limits(int dir_fd, const struct cp_retention *cfg, uint64_t *max_use, uint64_t *keep_free)
{
	struct statvfs sv;
	uint64_t fs_size = 0;

	if (fstatvfs(dir_fd, &sv) == 0)
		fs_size = (uint64_t)sv.f_frsize * sv.f_blocks;
	*max_use = cfg->max_use;
	if (*max_use == CP_RETENTION_AUTO) {
		*max_use = page_align(fs_size / 100 * CP_MAX_USE_SHARE);
		if (*max_use > CP_MAX_USE_UPPER)
			*max_use = CP_MAX_USE_UPPER;
		if (*max_use < CP_MAX_USE_LOWER)
			*max_use = CP_MAX_USE_LOWER;
	}
	*keep_free = cfg->keep_free;
	if (*keep_free == CP_RETENTION_AUTO) {
		*keep_free = fs_size ? page_align(fs_size / 100 * CP_KEEP_FREE_SHARE) : CP_KEEP_FREE_UNKNOWN;
		if (*keep_free > CP_KEEP_FREE_UPPER)
			*keep_free = CP_KEEP_FREE_UPPER;
	}
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* TIME-PID-NAME.json.zst or .core.zst, NAME as handle.c makes it. Sets the stem's length,
 * which kind, and where NAME starts. */
static bool our_name(const char *name, size_t *stem_len, bool *is_core, size_t *name_off)
{
	size_t n = strlen(name), rs = strlen(REPORT_SUFFIX), cs = strlen(CORE_SUFFIX);

	if (n > rs && strcmp(name + n - rs, REPORT_SUFFIX) == 0) {
		*stem_len = n - rs;
		*is_core = false;
	} else if (n > cs && strcmp(name + n - cs, CORE_SUFFIX) == 0) {
		*stem_len = n - cs;
		*is_core = true;
	} else {
		return false;
	}
	const char *d1 = memchr(name, '-', *stem_len);
	if (!d1 || !all_digits(name, d1 - name))
		return false;
	const char *d2 = memchr(d1 + 1, '-', *stem_len - (d1 + 1 - name));
	if (!d2 || !all_digits(d1 + 1, d2 - d1 - 1))
		return false;
	*name_off = d2 + 1 - name;
	size_t part = *stem_len - *name_off;
	if (part == 0 || part > NAME_PART_MAX)
		return false;
	for (size_t i = *name_off; i < *stem_len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* The report's signature attribute, read through an fd of the file we looked at. */
static bool read_signature(int dfd, const char *name, const struct stat *st, char out[17])
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat now;
	char buf[32];

	if (fd < 0 || fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_ino != st->st_ino ||
	    now.st_dev != st->st_dev)
		return false;
	ssize_t n = fgetxattr(fd, CP_SIGNATURE_XATTR, buf, sizeof(buf) - 1);
	if (n != CP_SIGNATURE_LEN)
		return false;
	buf[n] = '\0';
	if (!cp_signature_valid(buf))
		return false;
	memcpy(out, buf, n + 1);
	return true;
}

struct spool_scan {
	struct entry *e;
	size_t n, cap;
	uint64_t used;
};

static void scan_done(struct spool_scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].stem);
	free(s->e);
}

static struct entry *entry_for(struct spool_scan *s, const char *stem, size_t len)
{
	/* A report and its core are read one after the other mostly; look back a little
	 * first, then everywhere (the spool is at most some thousands of files). */
	for (size_t i = s->n; i-- > 0;)
		if (strlen(s->e[i].stem) == len && memcmp(s->e[i].stem, stem, len) == 0)
			return &s->e[i];
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entry *e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		s->e = e;
		s->cap = cap;
	}
	struct entry *e = &s->e[s->n];
	*e = (struct entry) { .stem = strndup(stem, len) };
	if (!e->stem)
		return NULL;
	s->n++;
	return e;
}

/* The one readdir: every file of ours, with its size; the groups when @groups. */
static int scan(int dfd, const char *keep, bool groups, struct spool_scan *s)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	size_t keep_len = 0, keep_off;
	bool keep_core;
	if (keep && !our_name(keep, &keep_len, &keep_core, &keep_off))
		keep_len = 0;

	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		size_t stem_len, name_off;
		bool is_core;
		struct stat st;
		if (!our_name(de->d_name, &stem_len, &is_core, &name_off))
			continue;
		/* Not a regular file of ours: not counted, never opened, never removed. */
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_nlink != 1)
			continue;
		struct entry *e = entry_for(s, de->d_name, stem_len);
		if (!e) {
			r = -ENOMEM;
			break;
		}
		if (is_core ? e->core : e->report)
			continue;
		e->time = strtoull(de->d_name, NULL, 10);
		e->pid = strtoull(strchr(de->d_name, '-') + 1, NULL, 10);
		int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		if (!e->mtime || mtime < e->mtime)
			e->mtime = mtime;
		e->size += (uint64_t)st.st_blocks * 512;
		s->used += (uint64_t)st.st_blocks * 512;
		*(is_core ? &e->core : &e->report) = true;
		e->keep = keep_len && keep_len == stem_len && memcmp(keep, de->d_name, stem_len) == 0;
		char sig[17];
		if (groups && !is_core && read_signature(dfd, de->d_name, &st, sig))
			snprintf(e->group, sizeof(e->group), "sig:%s", sig);
		else if (!e->group[0] || strncmp(e->group, "name:", 5) == 0)
			snprintf(e->group, sizeof(e->group), "name:%.*s", (int)(stem_len - name_off),
				 de->d_name + name_off);
	}
	closedir(d);
	return r;
}

/* Groups together, oldest first within each. */
static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->group, y->group);
	if (c)
		return c;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->stem, y->stem);
}

static bool over_caps(int dfd, uint64_t used, uint64_t max_use, uint64_t keep_free)
{
	struct statvfs sv;

	if (max_use && used > max_use)
		return true;
	return keep_free && fstatvfs(dfd, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < keep_free;
}

/* Remove one file of @e; ENOENT: another handler did. */
static void remove_file(int dfd, const struct entry *e, const char *suffix, struct cp_vacuum_result *res)
{
	char name[NAME_MAX + 1];

	snprintf(name, sizeof(name), "%s%s", e->stem, suffix);
	if (unlinkat(dfd, name, 0) == 0) {
		res->removed++;
		cp_log(LOG_DEBUG, "vacuum: removed %s", name);
	} else if (errno != ENOENT) {
		cp_log_errno(LOG_WARNING, -errno, "vacuum: cannot remove %s: %m", name);
	}
}

int cp_retention_vacuum(int spool_fd, const struct cp_retention *cfg, const char *keep, struct cp_vacuum_result *res)
{
	struct cp_vacuum_result dummy;
	struct spool_scan s = { 0 };
	uint64_t max_use, keep_free;
	int r;

	res = res ? res : &dummy;
	*res = (struct cp_vacuum_result) { 0 };
	_cleanup_close_ int dfd = openat(spool_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	cp_retention_limits(dfd, cfg, &max_use, &keep_free);
	(void) flock(dfd, LOCK_EX);	/* released when dfd closes */

	/* Sizes first: the signatures are read only when something must go. */
	r = scan(dfd, keep, false, &s);
	if (r == 0 && over_caps(dfd, s.used, max_use, keep_free)) {
		scan_done(&s);
		s = (struct spool_scan) { 0 };
		r = scan(dfd, keep, true, &s);
	}
	if (r < 0) {
		scan_done(&s);
		return r;
	}
	qsort(s.e, s.n, sizeof(*s.e), entry_cmp);

	/* Groups are runs of s.e; next[] is each run's oldest entry not yet removed. */
	while (over_caps(dfd, s.used, max_use, keep_free)) {
		struct entry *victim = NULL;
		size_t best_count = 0;
		uint64_t best_bytes = 0;
		for (size_t i = 0; i < s.n;) {
			size_t j = i, count = 0;
			uint64_t bytes = 0;
			struct entry *oldest = NULL;
			for (; j < s.n && strcmp(s.e[j].group, s.e[i].group) == 0; j++) {
				if (!s.e[j].report && !s.e[j].core)
					continue;	/* removed */
				count++;
				bytes += s.e[j].size;
				if (!oldest && !s.e[j].keep)
					oldest = &s.e[j];
			}
			if (oldest && (count > best_count || (count == best_count && bytes > best_bytes))) {
				victim = oldest;
				best_count = count;
				best_bytes = bytes;
			}
			i = j;
		}
		if (!victim)
			break;	/* only the report just written is left */
		/* The core first: it is most of the bytes, and a report without its core is
		 * still a report. */
		if (victim->core)
			remove_file(dfd, victim, CORE_SUFFIX, res);
		if (victim->report)
			remove_file(dfd, victim, REPORT_SUFFIX, res);
		victim->core = victim->report = false;
		s.used -= victim->size;
		res->freed += victim->size;
	}
	res->used = s.used;
	for (size_t i = 0; i < s.n; i++)
		res->files += s.e[i].report + s.e[i].core;
	scan_done(&s);
	return 0;
}

static void vacuum_usage(FILE *f)
{
	fprintf(f,
		"Usage: crashpipe vacuum [--spool DIR] [--max-use SIZE] [--keep-free SIZE]\n"
		"Trim the spool (default %s) as `crashpipe handle` does after each report: its\n"
		"reports and kept cores use at most SIZE bytes (--max-use; default 10%% of the file\n"
		"system, 1 MiB to 4 GiB) and leave SIZE bytes free (--keep-free; default 15%%, at\n"
		"most 4 GiB); oldest first in the group of crashes with the most reports.\n"
		"SIZE: bytes with an optional K, M, G or T; 0 for no cap; auto.\n\n"
		"  -h, --help             show this help\n", CP_DEFAULT_SPOOL);
}

int cp_cmd_vacuum(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "max-use", required_argument, NULL, 'u' },
		{ "keep-free", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct cp_retention cfg = CP_RETENTION_INIT;
	const char *spool = CP_DEFAULT_SPOOL;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			spool = optarg;
			break;
		case 'u':
		case 'f':
			if (cp_parse_size(optarg, opt == 'u' ? &cfg.max_use : &cfg.keep_free) < 0) {
				cp_log(LOG_ERR, "vacuum: --%s: '%s' is not a size (bytes, with K, M, G or T)",
				       opt == 'u' ? "max-use" : "keep-free", optarg);
				return 2;
			}
			break;
		case 'h':
			vacuum_usage(stdout);
			return 0;
		default:
			vacuum_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		cp_log(LOG_ERR, "vacuum: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	_cleanup_close_ int fd = cp_spool_open(spool);
	if (fd < 0)
		return 1;
	struct cp_vacuum_result res;
	int r = cp_retention_vacuum(fd, &cfg, NULL, &res);
	if (r < 0) {
		cp_log_errno(LOG_ERR, r, "vacuum: %s: %m", spool);
		return 1;
	}
	printf("removed %u files (%" PRIu64 " bytes); %u files of %" PRIu64 " bytes left in %s\n", res.removed,
	       res.freed, res.files, res.used, spool);
	return 0;
}
