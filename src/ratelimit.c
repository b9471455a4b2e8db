/*
 * ratelimit.c - the crash-loop limit (ratelimit.h): the pre-analysis key, and the state
 * file in the spool that maps keys to signatures, report times and counts.
 *
 * The state file is text, one key a line:
 *   KEY SIGNATURE FLAGS COUNT FIRST LAST [TIME...]
 * KEY: 16 hex digits; SIGNATURE: 16 hex digits or "-" (analysis not ended yet); FLAGS, one
 * letter: "-" (a key: its TIMEs are its recent reports), "a" (the same, ambiguous: two
 * signatures seen, never limited), "c" (a .NET process's coarse key: its TIMEs are its
 * recent analyses, SIGNATURE the last one found) or "s" (a signature's own line: the
 * crashes of SIGNATURE counted after their analysis; KEY is a hash of SIGNATURE, no
 * TIMEs); COUNT: crashes counted without a report, FIRST and LAST their times (0: none);
 * TIMEs oldest first. All numbers decimal, times in seconds since the epoch. "c" and "s"
 * came with the .NET limit (2026-12): a crashpipe from before drops those lines as damaged,
 * which costs it the .NET counts only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildid.h"
#include "cleanup.h"
#include "core.h"
#include "ratelimit.h"

/* Larger than any file we write (512 lines of under 1 KiB): anything larger is not ours. */
#define STATE_MAX (1u << 20)

/* What an entry's line is (its FLAGS letter). */
enum rl_kind {
	RL_KEY,			/* "-" or "a": a pre-analysis key; its times are report slots */
	RL_COARSE,		/* "c": a .NET coarse key; its times are analyses */
	RL_SIGNATURE,		/* "s": a signature's crashes counted after their analysis */
};

struct rl_entry {
	uint64_t key;
	char signature[CP_SIGNATURE_LEN + 1];	/* "" when not known */
	enum rl_kind kind;
	bool ambiguous;
	uint64_t count;
	int64_t first, last;
	int64_t times[CP_RATELIMIT_MAX_TIMES];
	unsigned n_times;
};

struct rl_state {
	struct rl_entry *e;
	size_t n;
};

int cp_ratelimit_parse(const char *s, struct cp_ratelimit *ret)
{
	if (strcmp(s, "0") == 0 || strcmp(s, "off") == 0) {
		*ret = (struct cp_ratelimit){ 0, CP_RATELIMIT_DEFAULT_WINDOW };
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long n = strtoul(s, &end, 10);
	if (errno || end == s || *end != '/' || s[0] == '-' || n == 0 || n > CP_RATELIMIT_MAX_TIMES)
		return -EINVAL;
	const char *w = end + 1;
	unsigned long long v = strtoull(w, &end, 10);
	if (errno || end == w || w[0] == '-' || v == 0)
		return -EINVAL;
	unsigned long long mult = 1;
	if (*end && end[1])
		return -EINVAL;
	switch (*end) {
	case '\0': case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return -EINVAL;
	}
	if (v > (365ull * 86400) / mult)
		return -EINVAL;
	*ret = (struct cp_ratelimit){ (unsigned)n, (int64_t)(v * mult) };
	return 0;
}

static void fnv(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		*h ^= p[i];
		*h *= UINT64_C(0x100000001b3);
	}
}

static void fnv_field(uint64_t *h, const char *key, const char *value)
{
	fnv(h, key, strlen(key));
	fnv(h, "=", 1);
	if (value)
		fnv(h, value, strlen(value));
	fnv(h, "\n", 1);
}

uint64_t cp_ratelimit_key(const struct cp_core *core, const char *exe, int exe_fd, int signal)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	char buf[64];

	fnv_field(&h, "scheme", "crashpipe-ratelimit-key/1");
	fnv_field(&h, "exe", exe ? exe : "-");
	_cleanup_free_ char *bid = exe_fd >= 0 ? cp_elf_build_id_hex(exe_fd) : NULL;
	fnv_field(&h, "build-id", bid ? bid : "-");
	snprintf(buf, sizeof(buf), "%d", signal);
	fnv_field(&h, "signal", buf);
	if (core && core->n_threads > 0 && core->crashed < core->n_threads) {
		uint64_t pc = core->threads[core->crashed].regs.rip;
		const struct cp_mapping *m = NULL;
		for (size_t i = 0; i < core->n_maps && !m; i++)
			if (pc >= core->maps[i].start && pc < core->maps[i].end)
				m = &core->maps[i];
		fnv_field(&h, "pc-file", m && m->path ? m->path : "anonymous");
		snprintf(buf, sizeof(buf), "%" PRIx64, m ? pc - m->start + m->offset : 0);
		fnv_field(&h, "pc-offset", buf);
	}
	return h;
}

/* Is @path a shared object's (libX.so, libX.so.6)? Its code is the runtime's and libc's,
 * the same for every exception; what tells them apart is the managed code. */
static bool shared_object(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *so = strstr(base, ".so");
	return so && (so[3] == '\0' || so[3] == '.');
}

uint64_t cp_ratelimit_dotnet_key(uint64_t coarse, const struct cp_core *core, int mem_fd)
{
	uint64_t h = coarse, words[CP_RATELIMIT_STACK_SCAN / 8];
	char buf[64];
	unsigned found = 0;

	fnv_field(&h, "scheme", "crashpipe-ratelimit-dotnet/1");
	if (!core || core->n_threads == 0 || core->crashed >= core->n_threads || mem_fd < 0)
		return h;
	uint64_t sp = core->threads[core->crashed].regs.rsp & ~UINT64_C(7);
	const struct cp_segment *stack = cp_core_segment_at(core, sp);
	if (!stack || sp > INT64_MAX)
		return h;
	size_t len = sizeof(words);
	if (stack->vaddr + stack->memsz - sp < len)
		len = (size_t)(stack->vaddr + stack->memsz - sp);
	ssize_t n = pread(mem_fd, words, len, (off_t)sp);
	for (size_t i = 0; n > 0 && i < (size_t)n / 8 && found < CP_RATELIMIT_STACK_CODE; i++) {
		const struct cp_segment *seg = cp_core_segment_at(core, words[i]);
		if (!seg || !(seg->flags & PF_X))
			continue;
		const struct cp_mapping *m = cp_core_mapping_at(core, words[i]);
		if (m && m->path && shared_object(m->path))
			continue;
		/* JIT code (the double-mapped memfd, or anonymous memory), ReadyToRun images,
		 * the executable: each by its file and offset, anonymous code by its offset in
		 * its segment. */
		fnv_field(&h, "code-file", m && m->path ? m->path : "anonymous");
		snprintf(buf, sizeof(buf), "%" PRIx64, m ? words[i] - m->start + m->offset : words[i] - seg->vaddr);
		fnv_field(&h, "code-offset", buf);
		found++;
	}
	return h;
}

/* A whole number of up to 20 decimal digits, then a space or the end. */
static bool next_u64(char **p, uint64_t *ret)
{
	char *s = *p, *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || (*end != ' ' && *end != '\0'))
		return false;
	*ret = v;
	*p = *end ? end + 1 : end;
	return true;
}

static bool next_time(char **p, int64_t *ret)
{
	uint64_t v;
	if (!next_u64(p, &v) || v > INT32_MAX * 4ull)	/* year 2514: a sane bound */
		return false;
	*ret = (int64_t)v;
	return true;
}

static bool parse_line(char *line, struct rl_entry *e)
{
	*e = (struct rl_entry){ 0 };
	if (strlen(line) < CP_SIGNATURE_LEN + 1 || line[CP_SIGNATURE_LEN] != ' ')
		return false;
	line[CP_SIGNATURE_LEN] = '\0';
	if (!cp_signature_valid(line))
		return false;
	e->key = strtoull(line, NULL, 16);
	char *p = line + CP_SIGNATURE_LEN + 1;
	if (p[0] == '-' && p[1] == ' ') {
		p += 2;
	} else {
		if (strlen(p) < CP_SIGNATURE_LEN + 1 || p[CP_SIGNATURE_LEN] != ' ')
			return false;
		memcpy(e->signature, p, CP_SIGNATURE_LEN);
		if (!cp_signature_valid(e->signature))
			return false;
		p += CP_SIGNATURE_LEN + 1;
	}
	if (!p[0] || !strchr("-acs", p[0]) || p[1] != ' ')
		return false;
	e->ambiguous = p[0] == 'a';
	e->kind = p[0] == 'c' ? RL_COARSE : p[0] == 's' ? RL_SIGNATURE : RL_KEY;
	p += 2;
	if (!next_u64(&p, &e->count) || !next_time(&p, &e->first) || !next_time(&p, &e->last))
		return false;
	if (e->kind == RL_SIGNATURE && (*p || !e->signature[0]))
		return false;
	while (*p) {
		int64_t t;
		if (e->n_times == CP_RATELIMIT_MAX_TIMES || !next_time(&p, &t))
			return false;
		e->times[e->n_times++] = t;
	}
	return true;
}

/* Open the state file of @spool_fd with a lock; @create: make it when missing. */
static int state_open(int spool_fd, bool create, int lock)
{
	int flags = (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	_cleanup_close_ int fd = openat(spool_fd, CP_RATELIMIT_STATE, flags, 0600);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	if (st.st_uid != geteuid() || st.st_nlink != 1 || (st.st_mode & 077))
		return -EPERM;
	if (flock(fd, lock) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int state_read(int fd, struct rl_state *s)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size > STATE_MAX)
		return -EFBIG;
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	s->e = calloc(CP_RATELIMIT_KEYS + 1, sizeof(*s->e));
	if (!s->e)
		return -ENOMEM;
	s->n = 0;
	for (char *line = buf, *nl; *line && s->n < CP_RATELIMIT_KEYS; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;	/* a line cut short by a crash mid-write */
		*nl = '\0';
		if (parse_line(line, &s->e[s->n]))
			s->n++;
	}
	return 0;
}

static int state_write(int fd, const struct rl_state *s)
{
	size_t cap = s->n * (64 + 21 * (CP_RATELIMIT_MAX_TIMES + 3)) + 1, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct rl_entry *e = &s->e[i];
		len += (size_t)snprintf(buf + len, cap - len, "%016" PRIx64 " %s %c %" PRIu64 " %" PRId64 " %" PRId64,
					e->key, e->signature[0] ? e->signature : "-",
					e->kind == RL_COARSE ? 'c' : e->kind == RL_SIGNATURE ? 's' : e->ambiguous ? 'a' : '-',
					e->count, e->first, e->last);
		for (unsigned k = 0; k < e->n_times; k++)
			len += (size_t)snprintf(buf + len, cap - len, " %" PRId64, e->times[k]);
		buf[len++] = '\n';
	}
	if (ftruncate(fd, 0) < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = pwrite(fd, buf + off, len - off, (off_t)off);
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

static int64_t last_use(const struct rl_entry *e)
{
	int64_t t = e->last;
	if (e->n_times && e->times[e->n_times - 1] > t)
		t = e->times[e->n_times - 1];
	return t;
}

/* The entry of @key, made when missing (the least recently used one goes when full, never
 * @keep: an entry the caller still holds). */
static struct rl_entry *state_find_keep(struct rl_state *s, uint64_t key, bool create, const struct rl_entry *keep)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].key == key)
			return &s->e[i];
	if (!create)
		return NULL;
	size_t slot = s->n;
	if (s->n == CP_RATELIMIT_KEYS) {
		slot = &s->e[0] == keep ? 1 : 0;
		for (size_t i = slot + 1; i < s->n; i++)
			if (&s->e[i] != keep && last_use(&s->e[i]) < last_use(&s->e[slot]))
				slot = i;
	} else {
		s->n++;
	}
	s->e[slot] = (struct rl_entry){ .key = key };
	return &s->e[slot];
}

static struct rl_entry *state_find(struct rl_state *s, uint64_t key, bool create)
{
	return state_find_keep(s, key, create, NULL);
}

static unsigned in_window(const struct rl_entry *e, int64_t since)
{
	unsigned n = 0;
	for (unsigned k = 0; k < e->n_times; k++)
		n += e->times[k] > since;
	return n;
}

/* The reports of @signature in the window: the report slots of every key that found it. */
static unsigned reports_of(const struct rl_state *s, const char *signature, int64_t since)
{
	unsigned n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].kind == RL_KEY && strcmp(s->e[i].signature, signature) == 0)
			n += in_window(&s->e[i], since);
	return n;
}

/* The crashes of @signature counted without a report, over every line of it. */
static uint64_t counted_of(const struct rl_state *s, const char *signature)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].signature, signature) == 0)
			n += s->e[i].count;
	return n;
}

static void count_one(struct rl_entry *e, int64_t now)
{
	e->count++;
	if (!e->first)
		e->first = now;
	e->last = now;
}

/* A time slot in @e at @now, the ones out of the window dropped, the oldest when full. */
static void take_time(struct rl_entry *e, int64_t since, int64_t now)
{
	unsigned keep = 0;
	for (unsigned k = 0; k < e->n_times; k++)
		if (e->times[k] > since)
			e->times[keep++] = e->times[k];
	e->n_times = keep;
	if (e->n_times == CP_RATELIMIT_MAX_TIMES)
		memmove(e->times, e->times + 1, --e->n_times * sizeof(e->times[0]));
	e->times[e->n_times++] = now;
}

static bool has_time(const struct rl_entry *e, int64_t t)
{
	for (unsigned k = 0; k < e->n_times; k++)
		if (e->times[k] == t)
			return true;
	return false;
}

/* Give back one slot at @t (the newest such). */
static void drop_time(struct rl_entry *e, int64_t t)
{
	for (unsigned k = e->n_times; k-- > 0;)
		if (e->times[k] == t) {
			memmove(e->times + k, e->times + k + 1, (e->n_times - k - 1) * sizeof(e->times[0]));
			e->n_times--;
			return;
		}
}

static uint64_t signature_key(const char *signature)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	fnv_field(&h, "scheme", "crashpipe-ratelimit-signature/1");
	fnv_field(&h, "signature", signature);
	return h;
}

/* The "s" line of @signature (made when missing, never evicting @keep). */
static struct rl_entry *signature_entry(struct rl_state *s, const char *signature, const struct rl_entry *keep)
{
	struct rl_entry *e = state_find_keep(s, signature_key(signature), true, keep);
	if (e->kind != RL_SIGNATURE || strcmp(e->signature, signature) != 0) {
		*e = (struct rl_entry){ .key = e->key, .kind = RL_SIGNATURE };
		memcpy(e->signature, signature, CP_SIGNATURE_LEN + 1);
	}
	return e;
}

/* @e found @signature: what it counted so far stays its old signature's (its "s" line). */
static void set_signature(struct rl_state *s, struct rl_entry *e, const char *signature, bool ambiguity)
{
	if (e->signature[0] && strcmp(e->signature, signature) != 0) {
		if (ambiguity)
			e->ambiguous = true;
		if (e->count) {
			struct rl_entry *old = signature_entry(s, e->signature, e);
			old->count += e->count;
			if (e->first && (!old->first || e->first < old->first))
				old->first = e->first;
			if (e->last > old->last)
				old->last = e->last;
			e->count = 0;
			e->first = e->last = 0;
		}
	}
	memcpy(e->signature, signature, CP_SIGNATURE_LEN + 1);
}

/* The state file opened (state_open) and read into @s: its fd, or -errno (@s left empty). */
static int state_load(int spool_fd, bool create, int lock, struct rl_state *s)
{
	int fd = state_open(spool_fd, create, lock);
	if (fd < 0)
		return fd;
	int r = state_read(fd, s);
	if (r < 0) {
		free(s->e);
		*s = (struct rl_state){ 0 };
		close(fd);
		return r;
	}
	return fd;
}

unsigned cp_ratelimit_dotnet_analyses(const struct cp_ratelimit *rl)
{
	unsigned n = rl->max * CP_RATELIMIT_DOTNET_FACTOR;
	return n > CP_RATELIMIT_MAX_TIMES ? CP_RATELIMIT_MAX_TIMES : n;
}

int cp_ratelimit_check_dotnet(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, uint64_t coarse,
			      int64_t now, struct cp_ratelimit_verdict *ret)
{
	*ret = (struct cp_ratelimit_verdict){ 0 };
	if (rl->max == 0)
		return 0;
	struct rl_state s = { 0 };
	_cleanup_close_ int fd = state_load(spool_fd, true, LOCK_EX, &s);
	if (fd < 0)
		return fd;
	int64_t since = now - rl->window;
	/* Looked up, not made: a loop whose keys never repeat must not fill the file. */
	struct rl_entry *e = state_find(&s, key, false);
	if (e && e->kind != RL_KEY)
		e = NULL;
	if (e && !e->ambiguous) {
		/* A key seen before that found one signature: as a native crash's. */
		unsigned reports = e->signature[0] ? reports_of(&s, e->signature, since) : in_window(e, since);
		ret->reports = reports;
		memcpy(ret->signature, e->signature, sizeof(ret->signature));
		if (reports >= rl->max) {
			ret->counted = true;
			count_one(e, now);
			ret->count = e->signature[0] ? counted_of(&s, e->signature) : e->count;
		} else {
			take_time(e, since, now);
			ret->slot = now;
		}
	} else {
		/* A new key, or one that found two signatures: the analyses such keys cost the
		 * executable (those that ended without a report, and those under way) are
		 * bounded. */
		struct rl_entry *c = state_find_keep(&s, coarse, true, e);
		if (c->kind != RL_COARSE)
			*c = (struct rl_entry){ .key = coarse, .kind = RL_COARSE };
		ret->reports = in_window(c, since);
		if (ret->reports >= cp_ratelimit_dotnet_analyses(rl)) {
			ret->counted = ret->coarse = true;
			memcpy(ret->signature, c->signature, sizeof(ret->signature));
			count_one(c, now);
			ret->count = c->signature[0] ? counted_of(&s, c->signature) : c->count;
		} else {
			if (!e)
				e = state_find_keep(&s, key, true, c);
			if (e->kind != RL_KEY && e != c)
				*e = (struct rl_entry){ .key = key };
			memcpy(ret->signature, e->signature, sizeof(ret->signature));
			take_time(e, since, now);
			take_time(c, since, now);
			ret->slot = ret->analysis = now;
		}
	}
	int r = state_write(fd, &s);
	free(s.e);
	return r;
}

/* The crash key's entry of @s, made one (a key line) when it was another kind or new. */
static struct rl_entry *key_entry(struct rl_state *s, uint64_t key)
{
	struct rl_entry *e = state_find(s, key, true);
	if (e->kind != RL_KEY)
		*e = (struct rl_entry){ .key = key };
	return e;
}

int cp_ratelimit_check(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, int64_t now,
		       struct cp_ratelimit_verdict *ret)
{
	*ret = (struct cp_ratelimit_verdict){ 0 };
	if (rl->max == 0)
		return 0;
	struct rl_state s = { 0 };
	_cleanup_close_ int fd = state_load(spool_fd, true, LOCK_EX, &s);
	if (fd < 0)
		return fd;
	struct rl_entry *e = key_entry(&s, key);
	int64_t since = now - rl->window;
	unsigned reports = e->signature[0] ? reports_of(&s, e->signature, since) : in_window(e, since);
	memcpy(ret->signature, e->signature, sizeof(ret->signature));
	ret->reports = reports;
	if (!e->ambiguous && reports >= rl->max) {
		ret->counted = true;
		count_one(e, now);
		ret->count = e->signature[0] ? counted_of(&s, e->signature) : e->count;
	} else {
		/* Take a report slot now: crashes of a loop arrive while the first analyses run. */
		take_time(e, since, now);
		ret->slot = now;
	}
	int r = state_write(fd, &s);
	free(s.e);
	return r;
}

int cp_ratelimit_check_signature(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, uint64_t coarse,
				 const char *signature, int64_t slot, int64_t analysis, int64_t now,
				 struct cp_ratelimit_verdict *ret)
{
	*ret = (struct cp_ratelimit_verdict){ .slot = slot };
	if (rl->max == 0)
		return 0;
	if (!cp_signature_valid(signature))
		return -EINVAL;
	struct rl_state s = { 0 };
	_cleanup_close_ int fd = state_load(spool_fd, true, LOCK_EX, &s);
	if (fd < 0)
		return fd;
	struct rl_entry *e = key_entry(&s, key);
	set_signature(&s, e, signature, true);
	struct rl_entry *c = NULL;
	if (coarse && coarse != key) {
		c = state_find_keep(&s, coarse, true, e);
		if (c->kind != RL_COARSE)
			*c = (struct rl_entry){ .key = coarse, .kind = RL_COARSE };
		set_signature(&s, c, signature, false);
	}
	/* The slot this crash took is not one of the reports before it. */
	int64_t since = now - rl->window;
	bool mine = slot > since && has_time(e, slot);
	unsigned reports = reports_of(&s, signature, since) - mine;
	memcpy(ret->signature, signature, sizeof(ret->signature));
	ret->reports = reports;
	if (reports >= rl->max) {
		struct rl_entry *sig = signature_entry(&s, signature, e);
		ret->counted = true;
		ret->slot = 0;
		if (mine)
			drop_time(e, slot);
		count_one(sig, now);
		ret->count = counted_of(&s, signature);
	} else if (c && analysis) {
		/* An analysis that ends in a report is the signature's limit's business. */
		drop_time(c, analysis);
	}
	int r = state_write(fd, &s);
	free(s.e);
	return r;
}

int cp_ratelimit_record(int spool_fd, uint64_t key, const char *signature)
{
	if (!cp_signature_valid(signature))
		return -EINVAL;
	struct rl_state s = { 0 };
	_cleanup_close_ int fd = state_load(spool_fd, true, LOCK_EX, &s);
	if (fd < 0)
		return fd;
	struct rl_entry *e = key_entry(&s, key);
	set_signature(&s, e, signature, true);
	int r = state_write(fd, &s);
	free(s.e);
	return r;
}

int cp_ratelimit_counts(int spool_fd, struct cp_ratelimit_count **ret, size_t *n_ret)
{
	*ret = NULL;
	*n_ret = 0;
	struct rl_state s = { 0 };
	_cleanup_close_ int fd = state_load(spool_fd, false, LOCK_SH, &s);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	struct cp_ratelimit_count *c = calloc(s.n + 1, sizeof(*c));
	size_t n = 0;
	for (size_t i = 0; c && i < s.n; i++) {
		const struct rl_entry *e = &s.e[i];
		if (!e->signature[0] || e->count == 0)
			continue;
		size_t k = 0;
		while (k < n && strcmp(c[k].signature, e->signature) != 0)
			k++;
		if (k == n) {
			memcpy(c[n].signature, e->signature, sizeof(c[n].signature));
			c[n++].first = e->first;
		}
		c[k].count += e->count;
		if (e->first && (!c[k].first || e->first < c[k].first))
			c[k].first = e->first;
		if (e->last > c[k].last)
			c[k].last = e->last;
	}
	free(s.e);
	if (!c)
		return -ENOMEM;
	*ret = c;
	*n_ret = n;
	return 0;
}
