/*
 * target.c - see target.h.
 *
 * Unwinders read a word at a time, so a small direct-mapped cache of 4 KiB pages sits in
 * front of pread(): a thread's walk reads the same few pages of stack, unwind tables and
 * code again and again. Files are read with pread(), never mmap(), so a file truncated
 * under us costs a failed read, not a SIGBUS.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "core.h"
#include "fsopen.h"
#include "target.h"
#include "zio.h"

#define PAGE 4096u
#define CACHE_PAGES 512u

struct target_file {
	const char *path;	/* borrowed from the core */
	int fd;			/* -1 until opened, -errno when opening failed */
	bool blocked;
	uint64_t size;
};

struct cache_page {
	uint32_t tag;		/* 0: empty, else the source + 1 (source 0: the core, i + 1: files[i]) */
	uint32_t len;		/* valid bytes */
	uint64_t page;
	unsigned char data[PAGE];
};

struct cp_target {
	struct cp_core *core;
	int rootfd;
	int live_fd;		/* /proc/PID/mem of the process being dumped, or -1 */
	struct target_file *files;
	size_t n_files;
	size_t *map_file;	/* core->maps[i] is files[map_file[i]] */
	struct cache_page *cache;
};

static size_t file_index(struct cp_target *t, const char *path)
{
	for (size_t i = 0; i < t->n_files; i++)
		if (strcmp(t->files[i].path, path) == 0)
			return i;
	return SIZE_MAX;
}

int cp_target_create(struct cp_core *core, int rootfd, struct cp_target **ret)
{
	_cleanup_free_ struct cp_target *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->core = core;
	t->rootfd = rootfd;
	t->live_fd = -1;
	t->files = calloc(core->n_maps + 1, sizeof(*t->files));
	t->map_file = calloc(core->n_maps + 1, sizeof(*t->map_file));
	/* calloc()'s pages are faulted in as they are used: most never are. */
	t->cache = calloc(CACHE_PAGES, sizeof(*t->cache));
	if (!t->files || !t->map_file || !t->cache) {
		free(t->files);
		free(t->map_file);
		free(t->cache);
		return -ENOMEM;
	}
	for (size_t i = 0; i < core->n_maps; i++) {
		/* Mappings of one file sit next to each other: look at the last one first. */
		const char *path = core->maps[i].path;
		size_t f = t->n_files && strcmp(t->files[t->n_files - 1].path, path) == 0 ?
			   t->n_files - 1 : file_index(t, path);
		if (f == SIZE_MAX) {
			f = t->n_files++;
			t->files[f].path = path;
			t->files[f].fd = -1;
		}
		t->map_file[i] = f;
	}
	*ret = TAKE_PTR(t);
	return 0;
}

void cp_target_destroy(struct cp_target *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_files; i++)
		if (t->files[i].fd >= 0)
			close(t->files[i].fd);
	free(t->files);
	free(t->map_file);
	free(t->cache);
	free(t);
}

int cp_target_rootfd(const struct cp_target *t)
{
	return t->rootfd;
}

int *cp_target_fds(const struct cp_target *t, size_t *n_ret)
{
	int *fds = malloc((t->n_files + 3) * sizeof(*fds));
	size_t n = 0;

	*n_ret = 0;
	if (!fds)
		return NULL;
	if (t->rootfd >= 0)
		fds[n++] = t->rootfd;
	if (t->live_fd >= 0)
		fds[n++] = t->live_fd;
	if (t->core->in && cp_input_fd(t->core->in) >= 0)
		fds[n++] = cp_input_fd(t->core->in);
	for (size_t i = 0; i < t->n_files; i++)
		if (t->files[i].fd >= 0)
			fds[n++] = t->files[i].fd;
	*n_ret = n;
	return fds;
}

static int open_file(struct cp_target *t, struct target_file *f)
{
	if (f->fd != -1)
		return f->fd;
	/* The kernel marks files deleted since they were mapped; whatever has that name now
	 * is another file. */
	size_t n = strlen(f->path);
	if (n > 10 && strcmp(f->path + n - 10, " (deleted)") == 0) {
		f->fd = -ENOENT;
		return f->fd;
	}
	int fd = cp_open_in_root(t->rootfd, f->path, false);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			close(fd);
			fd = -errno;
		} else {
			f->size = st.st_size;
		}
	}
	f->fd = fd;
	return fd;
}

int cp_target_file_fd(struct cp_target *t, const char *path)
{
	size_t i = file_index(t, path);
	if (i == SIZE_MAX)
		return -ENOENT;
	if (t->files[i].blocked)
		return -EPERM;
	return open_file(t, &t->files[i]);
}

size_t cp_target_open_files(struct cp_target *t, int *fds)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_files; i++)
		if (!t->files[i].blocked && open_file(t, &t->files[i]) >= 0)
			fds[n++] = t->files[i].fd;
	return n;
}

/* Cached pages of files[@i] must go. */
static void drop_cached(struct cp_target *t, size_t i)
{
	for (size_t c = 0; c < CACHE_PAGES; c++)
		if (t->cache[c].tag == i + 2)
			t->cache[c].tag = 0;
}

int cp_target_use_file(struct cp_target *t, const char *path, int fd)
{
	size_t i = file_index(t, path);
	struct stat st;
	if (i == SIZE_MAX || fstat(fd, &st) < 0) {
		close(fd);
		return -ENOENT;
	}
	struct target_file *f = &t->files[i];
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->size = st.st_size;
	f->blocked = false;
	drop_cached(t, i);
	return 0;
}

void cp_target_block_file(struct cp_target *t, const char *path)
{
	size_t i = file_index(t, path);
	if (i == SIZE_MAX)
		return;
	t->files[i].blocked = true;
	drop_cached(t, i);
}

void cp_target_set_live(struct cp_target *t, int memfd)
{
	t->live_fd = memfd;
	memset(t->cache, 0, CACHE_PAGES * sizeof(*t->cache));
}

int cp_target_live_fd(const struct cp_target *t)
{
	return t->live_fd;
}

/* The process's memory at @addr: the live process's, in a segment the core lists, else
 * the core's bytes. Bytes copied from the start, 0 for none, or -errno. */
static ssize_t read_process(struct cp_target *t, uint64_t addr, void *buf, size_t len)
{
	const struct cp_segment *s;

	/* The live process has all of a mapping, file-backed text included. pread() takes a
	 * signed offset, so the vsyscall page at the top comes from the core. */
	if (t->live_fd >= 0 && addr <= INT64_MAX && (s = cp_core_segment_at(t->core, addr))) {
		uint64_t rel = addr - s->vaddr;
		size_t l = len > s->memsz - rel ? s->memsz - rel : len;
		ssize_t n = pread(t->live_fd, buf, l, (off_t)addr);
		if (n > 0)
			return n;
	}
	return cp_core_read_mem(t->core, addr, buf, len);
}

/* The cached page @page of source @src, filled on a miss; NULL when it cannot be read. */
static struct cache_page *cached(struct cp_target *t, uint32_t src, uint64_t page)
{
	struct cache_page *c = &t->cache[(page ^ ((uint64_t)src * 0x9e3779b1u)) % CACHE_PAGES];
	ssize_t n;

	if (c->tag == src + 1 && c->page == page)
		return c;
	if (src == 0) {
		n = read_process(t, page * PAGE, c->data, PAGE);
	} else {
		struct target_file *f = &t->files[src - 1];
		n = pread(f->fd, c->data, PAGE, page * PAGE);
		if (n < 0)
			n = -errno;
	}
	if (n <= 0) {
		c->tag = 0;
		return NULL;
	}
	c->tag = src + 1;
	c->page = page;
	c->len = n;
	return c;
}

/* Copy at most @len bytes at offset @pos of source @src (within one page), through the cache. */
static size_t copy_cached(struct cp_target *t, uint32_t src, uint64_t pos, void *buf, size_t len)
{
	struct cache_page *c = cached(t, src, pos / PAGE);
	size_t off = pos % PAGE;

	if (!c || off >= c->len)
		return 0;
	if (len > c->len - off)
		len = c->len - off;
	memcpy(buf, c->data + off, len);
	return len;
}

/* Copy what one source has of [addr, addr + len) within one page; returns bytes copied. */
static size_t read_core_chunk(struct cp_target *t, uint64_t addr, void *buf, size_t len)
{
	if (t->core->in || t->live_fd >= 0)
		return copy_cached(t, 0, addr, buf, len);
	ssize_t n = cp_core_read_mem(t->core, addr, buf, len);
	return n > 0 ? n : 0;
}

/* The file NT_FILE says is mapped at @addr, opened, and @addr's offset in it: how many
 * bytes of [addr, addr + len) it holds from there (0 when none can be read). */
static size_t file_at(struct cp_target *t, uint64_t addr, size_t len, size_t *fi_ret, uint64_t *foff_ret)
{
	const struct cp_mapping *m = cp_core_mapping_at(t->core, addr);
	if (!m)
		return 0;
	size_t fi = t->map_file[m - t->core->maps];
	struct target_file *f = &t->files[fi];
	if (f->blocked || open_file(t, f) < 0)
		return 0;
	uint64_t foff = m->offset + (addr - m->start);
	if (foff < m->offset || foff >= f->size || foff > INT64_MAX)
		return 0;
	if (len > m->end - addr)
		len = m->end - addr;
	if (len > f->size - foff)
		len = f->size - foff;
	*fi_ret = fi;
	*foff_ret = foff;
	return len;
}

static size_t read_file_chunk(struct cp_target *t, uint64_t addr, void *buf, size_t len)
{
	size_t fi;
	uint64_t foff;
	len = file_at(t, addr, len, &fi, &foff);
	return len ? copy_cached(t, fi + 1, foff, buf, len) : 0;
}

/* As much of [addr, addr + len) as one source has in one piece, uncached; bytes copied. */
static size_t read_direct(struct cp_target *t, uint64_t addr, void *buf, size_t len, bool files)
{
	ssize_t n = read_process(t, addr, buf, len);
	if (n > 0 || !files)
		return n > 0 ? n : 0;
	size_t fi;
	uint64_t foff;
	len = file_at(t, addr, len, &fi, &foff);
	n = len ? pread(t->files[fi].fd, buf, len, (off_t)foff) : 0;
	return n > 0 ? n : 0;
}

static int read_mem(struct cp_target *t, uint64_t addr, void *buf, size_t len, bool files)
{
	unsigned char *p = buf;

	if (len > UINT64_MAX - addr)
		return -EFAULT;
	while (len > 0) {
		/* A large read (the DAC reads megabytes at once) goes around the page cache:
		 * one pread() instead of one per page, and the cache keeps what unwinders reuse. */
		size_t n = len >= 2 * PAGE ? read_direct(t, addr, p, len, files) : 0;
		if (n > 0) {
			addr += n;
			p += n;
			len -= n;
			continue;
		}
		size_t chunk = PAGE - addr % PAGE;
		if (chunk > len)
			chunk = len;
		n = read_core_chunk(t, addr, p, chunk);
		if (n == 0 && files)
			n = read_file_chunk(t, addr, p, chunk);
		if (n == 0)
			return -EFAULT;
		addr += n;
		p += n;
		len -= n;
	}
	return 0;
}

int cp_target_read(struct cp_target *t, uint64_t addr, void *buf, size_t len)
{
	return read_mem(t, addr, buf, len, true);
}

int cp_target_read_core(struct cp_target *t, uint64_t addr, void *buf, size_t len)
{
	return read_mem(t, addr, buf, len, false);
}
