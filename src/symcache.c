/*
 * symcache.c - see symcache.h.
 *
 * The file, all in the machine's byte order, every part 8-byte aligned:
 *
 *   header      struct file_header
 *   symbols     struct cp_symrec[n_syms]           (symindex.h, sorted as it sorts)
 *   regions     struct region[n_regions]           (by start: one per run of a unit's ranges)
 *   units       struct unit[n_units]               (rows of each compilation unit)
 *   rows        struct row[n_rows]                 (each unit's line table, as libdw gives it)
 *   inlines     struct inl[n_inlines]              (every inlined subroutine's ranges, by low)
 *   strings     symbol names, file names and inlined functions' names, NUL-terminated
 *
 * Addresses are relative to the module's bias (symbols) or to its DWARF's (regions, rows,
 * inlines). Version 2 added the inlines (inline.h): each range of an inlined subroutine
 * with its depth and call site, and max_end, the highest end of the ranges up to it, so
 * that the ranges holding an address are found by a binary search and a short walk back.
 * The file is written by root, but read as data all the same: every count and offset is
 * checked against its size before use.
 */
#include "config.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildid.h"
#include "cleanup.h"
#include "debugcache.h"
#include "inline.h"
#include "modules.h"
#include "symcache.h"
#include "spool.h"
#include "symindex.h"
#include "zio.h"

#define MAGIC "CPSYMC2\n"

struct file_header {
	char magic[8];
	uint64_t dwarf_delta;		/* DWARF bias minus the module's bias */
	uint64_t n_syms, n_regions, n_units, n_rows, strings_len;
	uint64_t last_end;		/* end of the last address range, when n_regions */
	uint64_t has_dwarf;
	uint64_t n_inlines;
};

struct region {
	uint64_t start, unit;
};

struct unit {
	uint64_t first, n;		/* rows[first..first + n) */
};

struct row {
	uint64_t addr;
	uint32_t file, line;
	uint32_t end_sequence, pad;
};

struct inl {
	uint64_t low, high;		/* [low, high) */
	uint64_t max_end;		/* the highest high of inlines[0..this] */
	uint32_t name, call_file;	/* string offsets; NO_STRING: unknown */
	uint32_t call_line, depth;
};

#define NO_STRING UINT32_MAX
/* Deeper inline nesting than inline.c walks is damage. */
#define MAX_DEPTH 256u
/* The ranges walked back from an address at most; a longer walk is left to libdw. */
#define MAX_WALK 4096u

struct cp_symcache {
	void *map;
	size_t len;
	const struct file_header *h;
	struct cp_symindex *idx;
	const struct region *regions;
	const struct unit *units;
	const struct row *rows;
	const struct inl *inlines;
	const char *strings;
	uint64_t bias;
};

/* ---- building ---- */

struct builder {
	const char *dir;
	char *strings;
	size_t strings_len;
	struct region *regions;
	size_t n_regions;
	struct unit *units;
	size_t n_units;
	struct row *rows;
	size_t n_rows, cap_rows;
	struct inl *inlines;
	size_t n_inlines, cap_inlines;
	/* strings already added, by libdw's pointer (its .debug_str is one copy) */
	struct {
		const char *s;
		uint32_t off;
	} seen[1024];
};

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink, GElf_Word crc, char **ret_name)
{
	struct builder *b = *userdata;
	const unsigned char *bits;
	GElf_Addr vaddr;

	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	_cleanup_free_ char *hex = n > 0 ? cp_hex(bits, n) : NULL;
	int fd = hex ? cp_debuginfo_open(b->dir, hex) : -1;
	return fd >= 0 ? fd : -1;
}

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	return -1;
}

static const Dwfl_Callbacks build_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static int add_string(struct builder *b, const char *s, uint32_t *off_ret)
{
	size_t len = strlen(s) + 1;
	if (b->strings_len > UINT32_MAX - len)
		return -E2BIG;
	char *p = realloc(b->strings, b->strings_len + len);
	if (!p)
		return -ENOMEM;
	memcpy(p + b->strings_len, s, len);
	*off_ret = b->strings_len;
	b->strings = p;
	b->strings_len += len;
	return 0;
}

/* The line table of the unit whose DIE is at @off, appended to the rows. */
static int add_unit(struct builder *b, Dwarf *dw, Dwarf_Off off)
{
	struct unit *u = &b->units[b->n_units++];
	Dwarf_Die die;
	Dwarf_Lines *lines;
	size_t n;
	/* Files repeat row after row: remember the last few. */
	const char *seen[16] = { 0 };
	uint32_t seen_off[16];
	size_t n_seen = 0;

	u->first = b->n_rows;
	u->n = 0;
	if (!dwarf_offdie(dw, off, &die) || dwarf_getsrclines(&die, &lines, &n) != 0)
		return 0;	/* libdwfl finds no line there either */
	if (b->n_rows + n > b->cap_rows) {
		size_t cap = (b->n_rows + n) * 2;
		struct row *r = realloc(b->rows, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->rows = r;
		b->cap_rows = cap;
	}
	for (size_t i = 0; i < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		Dwarf_Addr addr;
		int line;
		bool end;
		const char *file = l ? dwarf_linesrc(l, NULL, NULL) : NULL;
		if (!l || dwarf_lineaddr(l, &addr) != 0 || dwarf_lineno(l, &line) != 0 ||
		    dwarf_lineendsequence(l, &end) != 0 || !file)
			return -EBADMSG;
		uint32_t foff = UINT32_MAX;
		for (size_t k = 0; k < n_seen && k < 16; k++)
			if (seen[k] == file)
				foff = seen_off[k];
		if (foff == UINT32_MAX) {
			int r = add_string(b, file, &foff);
			if (r < 0)
				return r;
			seen[n_seen % 16] = file;
			seen_off[n_seen % 16] = foff;
			n_seen++;
		}
		b->rows[b->n_rows++] = (struct row){ .addr = addr, .file = foff, .line = line, .end_sequence = end };
	}
	u->n = n;
	return 0;
}

/* The units' address ranges as libdwfl files them: libdw's sorted list, each run of
 * ranges of one unit merged into one region that reaches to the next region. */
static int add_lines(struct builder *b, Dwarf *dw, uint64_t *last_end)
{
	Dwarf_Aranges *ar;
	size_t n;

	if (dwarf_getaranges(dw, &ar, &n) != 0 || n == 0)
		return 0;
	b->regions = calloc(n, sizeof(*b->regions));
	b->units = calloc(n, sizeof(*b->units));
	Dwarf_Off *unit_off = calloc(n, sizeof(*unit_off));
	if (!b->regions || !b->units || !unit_off) {
		free(unit_off);
		return -ENOMEM;
	}
	int r = 0;
	Dwarf_Off prev = (Dwarf_Off)-1;
	for (size_t i = 0; i < n && r == 0; i++) {
		Dwarf_Addr addr;
		Dwarf_Word len;
		Dwarf_Off off;
		if (dwarf_getarangeinfo(dwarf_onearange(ar, i), &addr, &len, &off) != 0) {
			r = -EBADMSG;
			break;
		}
		*last_end = addr + len;
		if (off == prev)
			continue;
		prev = off;
		size_t u = 0;
		while (u < b->n_units && unit_off[u] != off)
			u++;
		if (u == b->n_units) {
			unit_off[u] = off;
			r = add_unit(b, dw, off);
		}
		b->regions[b->n_regions++] = (struct region){ .start = addr, .unit = u };
	}
	free(unit_off);
	return r;
}

/* @str's offset, added once per libdw pointer seen lately. */
static int add_string_seen(struct builder *b, const char *str, uint32_t *off_ret)
{
	size_t slot = ((uintptr_t)str >> 3) % (sizeof(b->seen) / sizeof(b->seen[0]));
	if (b->seen[slot].s == str) {
		*off_ret = b->seen[slot].off;
		return 0;
	}
	int r = add_string(b, str, off_ret);
	if (r == 0) {
		b->seen[slot].s = str;
		b->seen[slot].off = *off_ret;
	}
	return r;
}

static int add_inline(void *arg, uint64_t low, uint64_t high, unsigned depth, const struct cp_inline_call *call)
{
	struct builder *b = arg;
	struct inl in = { .low = low, .high = high, .call_file = NO_STRING, .depth = depth,
			  .call_line = call->call_line > 0 ? (uint32_t)call->call_line : 0 };

	if (depth >= MAX_DEPTH)
		return 0;	/* never read back */
	if (b->n_inlines == b->cap_inlines) {
		size_t cap = b->cap_inlines ? b->cap_inlines * 2 : 1024;
		struct inl *p = realloc(b->inlines, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->inlines = p;
		b->cap_inlines = cap;
	}
	int r = 0;
	in.name = NO_STRING;
	if (call->name)
		r = add_string_seen(b, call->name, &in.name);
	if (r == 0 && call->call_file)
		r = add_string_seen(b, call->call_file, &in.call_file);
	if (r < 0)
		return r;
	b->inlines[b->n_inlines++] = in;
	return 0;
}

static int cmp_inl(const void *pa, const void *pb)
{
	const struct inl *a = pa, *b = pb;
	if (a->low != b->low)
		return a->low < b->low ? -1 : 1;
	/* outer ranges first at one low: the walk back meets the inner ones first */
	return (a->depth > b->depth) - (a->depth < b->depth);
}

/* Every inlined subroutine's ranges (inline.c's walk), sorted, with their max_end. */
static int add_inlines(struct builder *b, Dwarf *dw)
{
	int r = cp_inline_walk(dw, add_inline, b);
	if (r < 0)
		return r;
	if (b->n_inlines)
		qsort(b->inlines, b->n_inlines, sizeof(*b->inlines), cmp_inl);
	uint64_t max_end = 0;
	for (size_t i = 0; i < b->n_inlines; i++) {
		if (b->inlines[i].high > max_end)
			max_end = b->inlines[i].high;
		b->inlines[i].max_end = max_end;
	}
	return 0;
}

static int write_file(const char *dst, const struct file_header *h, const struct cp_symrec *recs,
		      const struct builder *b)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s", dst);
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		int r = cp_mkdir_p(tmp, 0755);
		if (r < 0)
			return r;
	}
	/* Made in the directory's fd and renamed within it (spool.h), never by path. */
	_cleanup_close_ int dir_fd = open(slash ? tmp : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	struct cp_newfile f;
	int r = cp_newfile_create(dir_fd, O_WRONLY, &f);
	if (r < 0)
		return r;
	int fd = f.fd;
	static const char zeros[8];
	const struct {
		const void *p;
		size_t len;
	} parts[] = {
		{ h, sizeof(*h) },
		{ recs, h->n_syms * sizeof(*recs) },
		{ b->regions, b->n_regions * sizeof(*b->regions) },
		{ b->units, b->n_units * sizeof(*b->units) },
		{ b->rows, b->n_rows * sizeof(*b->rows) },
		{ b->inlines, b->n_inlines * sizeof(*b->inlines) },
		{ b->strings, b->strings_len },
		{ zeros, (8 - b->strings_len % 8) % 8 },
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && r == 0; i++)
		if (parts[i].len)
			r = cp_write_all(fd, parts[i].p, parts[i].len);
	if (r < 0) {
		cp_newfile_abort(&f);
		return r;
	}
	return cp_newfile_commit(&f, slash ? strrchr(dst, '/') + 1 : dst, 0644);
}

/* The file at @dst is a symcache of this version, or not one to replace: false only for a
 * trusted regular file (debugcache.h) of another version, which the build replaces (an
 * older crashpipe wrote it; it still reads it, this one does not). */
static bool current(const char *dst)
{
	_cleanup_close_ int fd = open(dst, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char magic[8];

	if (fd < 0 || !cp_debug_cache_trusted(fd, &st) || !S_ISREG(st.st_mode))
		return true;
	return pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) || memcmp(magic, MAGIC, 6) != 0 ||
	       memcmp(magic, MAGIC, 8) == 0;
}

int cp_symcache_build(const char *dir, const char *hex, const char *path)
{
	char dst[PATH_MAX], dbg[PATH_MAX];
	int r = cp_debug_cache_path(dst, sizeof(dst), dir, hex, ".sym");
	if (r < 0)
		return r;
	if (access(dst, F_OK) == 0 && current(dst))
		return 0;
	/* Only libraries with separate debuginfo have symbols worth the file. */
	if (cp_build_id_debug_path(dbg, sizeof(dbg), CP_SYSTEM_DEBUG_DIR, hex) < 0 || access(dbg, F_OK) != 0)
		return 0;
	/* @path comes from the crashed process's core and we are root: look at what it names
	 * (O_PATH opens no device, waits on no FIFO) before opening that very file. */
	_cleanup_close_ int pfd = open(path, O_PATH | O_CLOEXEC);
	struct stat st;
	if (pfd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!cp_debug_cache_trusted(pfd, &st))
		return 0;
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	_cleanup_close_ int fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	_cleanup_free_ char *idhex = cp_elf_build_id_hex(fd);
	if (!idhex || strcmp(idhex, hex) != 0)
		return 0;	/* not the file the crashed process had */

	struct builder b = { .dir = dir };
	struct file_header h = { .magic = MAGIC };
	struct cp_symrec *recs = NULL;
	size_t n_recs = 0;
	Dwfl *dwfl = dwfl_begin(&build_callbacks);
	int dupfd = dwfl ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
	Dwfl_Module *mod = dupfd >= 0 ? dwfl_report_elf(dwfl, path, path, dupfd, 0, false) : NULL;
	r = -EINVAL;
	if (mod) {
		void **userdata;
		dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
		*userdata = &b;
		dwfl_report_end(dwfl, NULL, NULL);
		GElf_Addr bias = 0;
		Dwarf_Addr dwbias = 0;
		r = dwfl_module_getelf(mod, &bias) ? 0 : -EINVAL;
		struct cp_symindex *idx = r == 0 ? cp_symindex_build(mod) : NULL;
		if (idx)
			r = cp_symindex_export(idx, bias, &recs, &n_recs, &b.strings, &b.strings_len);
		cp_symindex_free(idx);
		Dwarf *dw = r == 0 ? dwfl_module_getdwarf(mod, &dwbias) : NULL;
		if (dw) {
			h.has_dwarf = 1;
			h.dwarf_delta = dwbias - bias;
			r = add_lines(&b, dw, &h.last_end);
			if (r == 0)
				r = add_inlines(&b, dw);
		}
	} else if (dupfd >= 0) {
		close(dupfd);
	}
	if (dwfl)
		dwfl_end(dwfl);
	if (r == 0 && (n_recs || b.n_regions)) {
		h.n_syms = n_recs;
		h.n_regions = b.n_regions;
		h.n_units = b.n_units;
		h.n_rows = b.n_rows;
		h.n_inlines = b.n_inlines;
		h.strings_len = b.strings_len;
		r = write_file(dst, &h, recs, &b);
		if (r == 0)
			r = 1;
	}
	free(recs);
	free(b.strings);
	free(b.regions);
	free(b.units);
	free(b.rows);
	free(b.inlines);
	return r;
}

/* ---- reading ---- */

void cp_symcache_close(struct cp_symcache *c)
{
	if (!c)
		return;
	cp_symindex_free(c->idx);
	if (c->map)
		munmap(c->map, c->len);
	free(c);
}

/* @n items of @size at *@off within @len: advance *@off, false when they do not fit. */
static bool take(uint64_t *off, uint64_t n, size_t size, size_t len)
{
	if (n > (len - *off) / size)
		return false;
	*off += n * size;
	return true;
}

struct cp_symcache *cp_symcache_open(const char *dir, const char *hex, uint64_t bias)
{
	char path[PATH_MAX];
	if (cp_debug_cache_path(path, sizeof(path), dir, hex, ".sym") < 0)
		return NULL;
	/* O_NONBLOCK: a FIFO at the name is refused below, not waited on (mmap ignores it). */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || !cp_debug_cache_trusted(fd, &st) || (uint64_t)st.st_size < sizeof(struct file_header) ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return NULL;
	struct cp_symcache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->len = st.st_size;
	c->map = mmap(NULL, c->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		goto bad;
	}
	c->h = c->map;
	c->bias = bias;
	const struct file_header *h = c->h;
	uint64_t off = sizeof(*h), syms, regions, units, rows, inlines, strings;
	if (memcmp(h->magic, MAGIC, 8) != 0)
		goto bad;
	syms = off;
	if (!take(&off, h->n_syms, sizeof(struct cp_symrec), c->len))
		goto bad;
	regions = off;
	if (!take(&off, h->n_regions, sizeof(struct region), c->len))
		goto bad;
	units = off;
	if (!take(&off, h->n_units, sizeof(struct unit), c->len))
		goto bad;
	rows = off;
	if (!take(&off, h->n_rows, sizeof(struct row), c->len))
		goto bad;
	inlines = off;
	if (!take(&off, h->n_inlines, sizeof(struct inl), c->len))
		goto bad;
	strings = off;
	if (!take(&off, h->strings_len, 1, c->len) || h->strings_len == 0)
		goto bad;
	c->regions = (const void *)((const char *)c->map + regions);
	c->units = (const void *)((const char *)c->map + units);
	c->rows = (const void *)((const char *)c->map + rows);
	c->inlines = (const void *)((const char *)c->map + inlines);
	c->strings = (const char *)c->map + strings;
	if (c->strings[h->strings_len - 1] != '\0')
		goto bad;
	for (uint64_t i = 0; i < h->n_regions; i++)
		if (c->regions[i].unit >= h->n_units || (i > 0 && c->regions[i].start < c->regions[i - 1].start))
			goto bad;
	for (uint64_t i = 0; i < h->n_units; i++)
		if (c->units[i].first > h->n_rows || c->units[i].n > h->n_rows - c->units[i].first)
			goto bad;
	for (uint64_t i = 0; i < h->n_rows; i++)
		if (c->rows[i].file >= h->strings_len)
			goto bad;
	/* Sorted by low, each a non-empty range, max_end as the builder computed it: the
	 * lookup's walk back relies on all three. */
	for (uint64_t i = 0; i < h->n_inlines; i++) {
		const struct inl *in = &c->inlines[i];
		uint64_t prev_max = i ? c->inlines[i - 1].max_end : 0;
		if ((in->name != NO_STRING && in->name >= h->strings_len) || (in->call_file != NO_STRING && in->call_file >= h->strings_len) ||
		    in->low >= in->high || in->depth >= MAX_DEPTH || in->call_line > INT32_MAX ||
		    (i > 0 && in->low < c->inlines[i - 1].low) ||
		    in->max_end != (in->high > prev_max ? in->high : prev_max))
			goto bad;
	}
	if (h->n_syms) {
		c->idx = cp_symindex_import((const void *)((const char *)c->map + syms), h->n_syms, c->strings,
					    h->strings_len, bias);
		if (!c->idx)
			goto bad;
	}
	return c;
bad:
	cp_symcache_close(c);
	return NULL;
}

const char *cp_symcache_function(const struct cp_symcache *c, uint64_t addr, uint64_t *start_ret)
{
	return c->idx ? cp_symindex_lookup(c->idx, addr, start_ret) : NULL;
}

int cp_symcache_line(const struct cp_symcache *c, uint64_t addr, const char **file_ret, int *line_ret)
{
	const struct file_header *h = c->h;
	if (!h->has_dwarf || h->n_regions == 0)
		return -1;
	uint64_t a = addr - c->bias - h->dwarf_delta;

	/* The region: the last one starting at or below @a; the last region ends where the
	 * last range does (inclusive, as libdwfl has it). */
	size_t lo = 0, hi = h->n_regions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->regions[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || (lo == h->n_regions && a > h->last_end))
		return -1;
	const struct unit *u = &c->units[c->regions[lo - 1].unit];
	if (u->n == 0)
		return 0;
	const struct row *rows = c->rows + u->first;

	/* The last row at or below @a, unless it ends a sequence. */
	size_t l = 0, r = u->n - 1;
	while (l < r) {
		size_t idx = r - (r - l) / 2;
		if (a < rows[idx].addr)
			r = idx - 1;
		else
			l = idx;
	}
	if (rows[l].end_sequence || rows[l].addr > a)
		return 0;
	*file_ret = c->strings + rows[l].file;
	*line_ret = rows[l].line;
	return 1;
}

int cp_symcache_inline(const struct cp_symcache *c, uint64_t addr, struct cp_inline_chain *ret)
{
	const struct file_header *h = c->h;
	const struct inl *by_depth[CP_INLINE_MAX_DEPTH];
	size_t deepest = 0, n = 0;

	ret->n = 0;
	if (!h->has_dwarf)
		return -1;
	uint64_t a = addr - c->bias - h->dwarf_delta;

	/* The last range starting at or below @a; then back while some range up to there
	 * reaches beyond @a (max_end): those holding @a are among them. */
	size_t lo = 0, hi = h->n_inlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->inlines[mid].low <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Depth d at by_depth[d]: one range per depth, 0 to the deepest, as one DIE walk
	 * finds them; anything else (overlapping units, damage) is left to libdw. */
	bool seen[MAX_DEPTH] = { false };
	const struct inl *at[MAX_DEPTH];
	for (size_t i = lo, walked = 0; i > 0 && c->inlines[i - 1].max_end > a; i--) {
		if (++walked > MAX_WALK)
			return -1;
		const struct inl *in = &c->inlines[i - 1];
		if (in->high <= a)
			continue;
		if (seen[in->depth])
			return -1;
		seen[in->depth] = true;
		at[in->depth] = in;
		n++;
		if (in->depth + 1 > deepest)
			deepest = in->depth + 1;
	}
	if (n != deepest)
		return -1;
	/* Innermost first, the innermost CP_INLINE_MAX_DEPTH. */
	for (size_t d = deepest; d > 0 && ret->n < CP_INLINE_MAX_DEPTH; d--)
		by_depth[ret->n++] = at[d - 1];
	for (size_t i = 0; i < ret->n; i++) {
		const struct inl *in = by_depth[i];
		ret->calls[i] = (struct cp_inline_call){
			.name = in->name == NO_STRING ? NULL : c->strings + in->name,
			.call_file = in->call_file == NO_STRING ? NULL : c->strings + in->call_file,
			.call_line = (int)in->call_line,
		};
	}
	return (int)ret->n;
}
