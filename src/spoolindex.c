/*
 * spoolindex.c - the spool as groups of reports by crash signature (spoolindex.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "ratelimit.h"
#include "report.h"
#include "spoolindex.h"

/* More entries than any spool's retention keeps: past it, the rest is skipped, said so. */
#define MAX_ENTRIES 200000

bool cp_spool_is_report_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".json") == 0) ||
				  (n > 9 && strcmp(name + n - 9, ".json.zst") == 0));
}

/* TIME-PID-...: handle's names (handle.c, report_name()). */
static bool parse_name(const char *name, int64_t *time_ret, pid_t *pid_ret)
{
	char *end;
	if (name[0] < '0' || name[0] > '9')
		return false;
	errno = 0;
	long long t = strtoll(name, &end, 10);
	if (errno || *end != '-' || t < 0)
		return false;
	const char *p = end + 1;
	if (*p < '0' || *p > '9')
		return false;
	long pid = strtol(p, &end, 10);
	if (errno || *end != '-' || pid <= 0 || pid > INT32_MAX)
		return false;
	*time_ret = t;
	*pid_ret = (pid_t)pid;
	return true;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct cp_spool_entry *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->mtime_ns != b->mtime_ns)	/* within one second: the order they were written */
		return a->mtime_ns < b->mtime_ns ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_entry_sig(const void *pa, const void *pb)
{
	const struct cp_spool_entry *const *a = pa, *const *b = pb;
	int c = strcmp((*a)->signature, (*b)->signature);
	if (c)
		return c;
	return *a < *b ? -1 : *a > *b;	/* entries are sorted by time: keep that order */
}

static int cmp_group(const void *pa, const void *pb)
{
	const struct cp_spool_group *a = pa, *b = pb;
	if (a->last != b->last)
		return a->last > b->last ? -1 : 1;
	/* Within one second, the group of the newer report first: reports point into the
	 * entries, which are oldest first. A group of counts alone sorts after. */
	const struct cp_spool_entry *na = a->n_reports ? a->reports[a->n_reports - 1] : NULL;
	const struct cp_spool_entry *nb = b->n_reports ? b->reports[b->n_reports - 1] : NULL;
	if (na != nb)
		return !nb ? -1 : !na ? 1 : na > nb ? -1 : 1;
	return strcmp(a->signature, b->signature);
}

/* The entry @name, or false (and @skip told why). */
static bool read_entry(int dir_fd, const char *name, cp_spool_skip_fn skip, void *data, struct cp_spool_entry *e)
{
	struct stat st;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		skip(name, strerror(errno), data);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		skip(name, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file", data);
		return false;
	}
	int r = cp_signature_of_file(dir_fd, name, e->signature);
	if (r < 0) {
		const char *why = NULL;
		struct cp_report *rep = NULL;
		/* The reader's own words for what is wrong with it, when it has them. */
		if (r != -ELOOP && r != -EBADF && r != -ENOENT && cp_report_loadat(dir_fd, name, &rep, &why) == 0)
			why = NULL;
		cp_report_destroy(rep);
		skip(name, why ? why : strerror(-r), data);
		return false;
	}
	e->pid = 0;
	e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (!parse_name(name, &e->time, &e->pid))
		e->time = st.st_mtim.tv_sec;
	e->name = strdup(name);
	return e->name != NULL;
}

/* The groups of idx->entries, with the crash-loop counts of the state file. */
static int make_groups(struct cp_spool_index *idx)
{
	size_t n = idx->n_entries;
	_cleanup_free_ struct cp_spool_entry **by_sig = calloc(n + 1, sizeof(*by_sig));
	struct cp_ratelimit_count *counts = NULL;
	size_t n_counts = 0;
	if (!by_sig)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		by_sig[i] = &idx->entries[i];
	qsort(by_sig, n, sizeof(*by_sig), cmp_entry_sig);
	(void) cp_ratelimit_counts(idx->dir_fd, &counts, &n_counts);	/* none is no counts */

	idx->groups = calloc(n + n_counts + 1, sizeof(*idx->groups));
	if (!idx->groups) {
		free(counts);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && strcmp(by_sig[j]->signature, by_sig[i]->signature) == 0)
			j++;
		struct cp_spool_group *g = &idx->groups[idx->n_groups++];
		memcpy(g->signature, by_sig[i]->signature, sizeof(g->signature));
		g->reports = malloc((j - i) * sizeof(*g->reports));
		if (!g->reports) {
			free(counts);
			return -ENOMEM;
		}
		memcpy(g->reports, by_sig + i, (j - i) * sizeof(*g->reports));
		g->n_reports = j - i;
		g->first = g->reports[0]->time;
		g->last = g->reports[j - i - 1]->time;
		i = j;
	}
	for (size_t k = 0; k < n_counts; k++) {
		struct cp_spool_group *g = NULL;
		for (size_t i = 0; i < idx->n_groups && !g; i++)
			if (strcmp(idx->groups[i].signature, counts[k].signature) == 0)
				g = &idx->groups[i];
		if (!g) {
			/* Its reports are gone (retention): the counts stay. */
			g = &idx->groups[idx->n_groups++];
			memcpy(g->signature, counts[k].signature, sizeof(g->signature));
			g->first = counts[k].first;
			g->last = counts[k].last;
		}
		g->counted += counts[k].count;
		g->counted_first = counts[k].first;
		g->counted_last = counts[k].last;
		if (counts[k].first && counts[k].first < g->first)
			g->first = counts[k].first;
		if (counts[k].last > g->last)
			g->last = counts[k].last;
	}
	free(counts);
	for (size_t i = 0; i < idx->n_groups; i++)
		idx->groups[i].count = idx->groups[i].n_reports + idx->groups[i].counted;
	qsort(idx->groups, idx->n_groups, sizeof(*idx->groups), cmp_group);
	return 0;
}

static void destroyp(struct cp_spool_index **p)
{
	cp_spool_index_destroy(*p);
}

int cp_spool_index_read(const char *dir, cp_spool_skip_fn skip, void *data, struct cp_spool_index **ret)
{
	_cleanup_(destroyp) struct cp_spool_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	idx->dir_fd = -1;
	idx->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (idx->dir_fd < 0)
		return -errno;
	int fd2 = dup(idx->dir_fd);
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		return -errno;
	}
	size_t cap = 0;
	struct dirent *de;
	bool said = false;
	while ((de = readdir(d))) {
		if (!cp_spool_is_report_name(de->d_name))
			continue;
		if (idx->n_entries == MAX_ENTRIES) {
			if (!said)
				skip(de->d_name, "too many reports in the spool; the rest are left out", data);
			said = true;
			continue;
		}
		if (idx->n_entries == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct cp_spool_entry *p = realloc(idx->entries, ncap * sizeof(*p));
			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			idx->entries = p;
			cap = ncap;
		}
		struct cp_spool_entry *e = &idx->entries[idx->n_entries];
		*e = (struct cp_spool_entry){ 0 };
		if (read_entry(idx->dir_fd, de->d_name, skip, data, e))
			idx->n_entries++;
	}
	closedir(d);
	qsort(idx->entries, idx->n_entries, sizeof(*idx->entries), cmp_entry);
	int r = make_groups(idx);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(idx);
	return 0;
}

void cp_spool_index_destroy(struct cp_spool_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->n_entries; i++)
		free(idx->entries[i].name);
	free(idx->entries);
	for (size_t i = 0; i < idx->n_groups; i++)
		free(idx->groups[i].reports);
	free(idx->groups);
	if (idx->dir_fd >= 0)
		close(idx->dir_fd);
	free(idx);
}

const struct cp_spool_group *cp_spool_index_group(const struct cp_spool_index *idx, const char *signature)
{
	for (size_t i = 0; i < idx->n_groups; i++)
		if (strcmp(idx->groups[i].signature, signature) == 0)
			return &idx->groups[i];
	return NULL;
}

const struct cp_spool_entry *cp_spool_index_by_pid(const struct cp_spool_index *idx, pid_t pid)
{
	for (size_t i = idx->n_entries; i-- > 0;)
		if (idx->entries[i].pid == pid)
			return &idx->entries[i];
	return NULL;
}
