/*
 * debugcache.c - see debugcache.h.
 *
 * The copy is made with libelf, which can decompress a section in place (elf_compress)
 * and lay the file out again (elf_update); the program headers of a debug file describe
 * NOBITS sections and are left as they were, which is all libdwfl reads of them. The
 * in-memory copy for one analysis (cp_debuginfo_inflated) is laid out by hand, below, so
 * that its sections can be inflated in parallel.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libdeflate.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildid.h"
#include "cleanup.h"
#include "debugcache.h"
#include "spool.h"

#define MAX_CACHE_BYTES (1ull << 30)	/* stop adding past this much */
#define MAX_FILE_BYTES (256ull << 20)	/* debug files bigger than this are not copied */

int cp_debug_cache_path(char *buf, size_t cap, const char *dir, const char *hex, const char *suffix)
{
	return cp_build_id_path(buf, cap, dir, hex, suffix);
}

bool cp_debug_cache_trusted(int fd, struct stat *st)
{
	return fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_uid == 0 && !(st->st_mode & 022);
}

/* Open @path read-only if root owns it and no one else can write it: fd (with *@st) or
 * -errno. */
static int open_trusted(const char *path, int flags, struct stat *st)
{
	/* O_NONBLOCK: a FIFO planted at the name is refused by fstat(), not waited on. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (fd < 0)
		return -errno;
	if (!cp_debug_cache_trusted(fd, st) || fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int cp_debuginfo_open(const char *dir, const char *hex)
{
	char path[PATH_MAX];
	int fd = cp_debug_cache_open(dir, hex);
	if (fd >= 0 || cp_build_id_debug_path(path, sizeof(path), CP_SYSTEM_DEBUG_DIR, hex) < 0)
		return fd;
	struct stat st;
	return open_trusted(path, 0, &st);
}

int cp_debug_cache_open(const char *dir, const char *hex)
{
	char path[PATH_MAX];
	int r = cp_debug_cache_path(path, sizeof(path), dir, hex, ".debug");
	struct stat st;
	return r < 0 ? r : open_trusted(path, O_NOFOLLOW, &st);
}

bool cp_root_is_host(int rootfd)
{
	struct stat a, b;
	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void elf_endp(Elf **e)
{
	if (*e)
		elf_end(*e);
}

/* Does the ELF file at @fd have a SHF_COMPRESSED section? */
static int has_compressed(int fd)
{
	_cleanup_(elf_endp) Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF)
		return -ENOEXEC;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED))
			return 1;
	}
	return 0;
}

/* Every SHF_COMPRESSED section of the ELF file open read-write at @fd, decompressed. */
static int decompress_all(int fd)
{
	_cleanup_(elf_endp) Elf *e = elf_begin(fd, ELF_C_RDWR, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF)
		return -ENOEXEC;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			return -EBADMSG;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return -EBADMSG;
	}
	return elf_update(e, ELF_C_WRITE) < 0 ? -EIO : 0;
}

/* Bytes in the cache's files (two levels: XX/REST.debug). */
static unsigned long long cache_bytes(const char *dir)
{
	unsigned long long total = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		DIR *s = sub >= 0 ? fdopendir(sub) : NULL;
		if (!s) {
			if (sub >= 0)
				close(sub);
			continue;
		}
		for (struct dirent *f; (f = readdir(s));) {
			struct stat st;
			if (f->d_name[0] != '.' && fstatat(dirfd(s), f->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				total += (unsigned long long)st.st_blocks * 512;
		}
		closedir(s);
	}
	closedir(d);
	return total;
}

int cp_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int cp_debug_cache_add(const char *dir, const char *hex)
{
	char src[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX];
	int r = cp_debug_cache_path(dst, sizeof(dst), dir, hex, ".debug");
	if (r < 0)
		return r;
	if (access(dst, F_OK) == 0)
		return 0;
	if ((r = cp_build_id_debug_path(src, sizeof(src), CP_SYSTEM_DEBUG_DIR, hex)) < 0)
		return r;
	struct stat st;
	_cleanup_close_ int in = open_trusted(src, 0, &st);
	if (in < 0)
		return in == -ENOENT ? 0 : in;
	if ((unsigned long long)st.st_size > MAX_FILE_BYTES)
		return 0;
	elf_version(EV_CURRENT);
	r = has_compressed(in);
	if (r <= 0)
		return r;
	if (cache_bytes(dir) > MAX_CACHE_BYTES)
		return -ENOSPC;

	snprintf(sub, sizeof(sub), "%s/%.2s", dir, hex);
	if ((r = cp_mkdir_p(sub, 0755)) < 0)
		return r;
	/* Made in the directory's fd and renamed within it (spool.h), never by path. */
	_cleanup_close_ int sub_fd = open(sub, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub_fd < 0)
		return -errno;
	struct cp_newfile f;
	if ((r = cp_newfile_create(sub_fd, O_RDWR, &f)) < 0)
		return r;
	off_t off = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(f.fd, in, &off, st.st_size - off);
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto fail;
		}
	}
	if ((r = decompress_all(f.fd)) < 0)
		goto fail;
	r = cp_newfile_commit(&f, strrchr(dst, '/') + 1, 0644);
	return r < 0 ? r : 1;
fail:
	cp_newfile_abort(&f);
	return r;
}

/*
 * The in-memory copy (cp_debuginfo_inflated): the file's bytes as they are, then each
 * compressed section inflated after them, and its section header pointed there (offset,
 * size, alignment; SHF_COMPRESSED cleared). The compressed bytes stay where they were,
 * unreferenced. Workers take the sections largest first from a shared counter and inflate
 * each from the copy's own bytes into its place with libdeflate, which inflates a whole
 * buffer of known size two to three times as fast as zlib's streaming inflate (that libelf
 * and libdw use): the size is in the section's compression header.
 */
#define MAX_INFLATE_BYTES (1ull << 30)	/* all sections together, inflated */
#define MAX_INFLATE_THREADS 4

struct inflate_section {
	size_t index;
	uint64_t from, compressed;	/* the zlib stream in the file */
	uint64_t size, align, offset;	/* inflated, and where it goes in the copy */
};

struct inflate_job {
	int src, dst;			/* the file; the copy (memfd) */
	struct inflate_section *v;
	size_t n;
	size_t next;			/* taken with __atomic_fetch_add */
	int error;			/* the first, or 0 */
};

/* Anonymous memory of @size bytes, in huge pages where the kernel gives them (a page fault
 * per 4 KiB page costs more than inflating it on a virtual machine). */
static void *inflate_buffer(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

/* All @size bytes at @off, read into @buf (or with @out, written from it). */
static int pio_all(int fd, void *buf, size_t size, uint64_t off, bool out)
{
	for (size_t done = 0; done < size;) {
		ssize_t k = out ? pwrite(fd, (char *)buf + done, size - done, (off_t)(off + done)) :
				  pread(fd, (char *)buf + done, size - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		done += (size_t)k;
	}
	return 0;
}

static int inflate_one(struct libdeflate_decompressor *d, const struct inflate_job *j, const struct inflate_section *s)
{
	void *in = inflate_buffer(s->compressed), *out = inflate_buffer(s->size ? s->size : 1);
	size_t got = 0;
	int r = in && out ? pio_all(j->src, in, s->compressed, s->from, false) : -ENOMEM;

	if (r == 0 && (libdeflate_zlib_decompress(d, in, s->compressed, out, s->size, &got) != LIBDEFLATE_SUCCESS ||
		       got != s->size))
		r = -EBADMSG;
	if (r == 0)
		r = pio_all(j->dst, out, s->size, s->offset, true);
	if (in)
		munmap(in, s->compressed);
	if (out)
		munmap(out, s->size ? s->size : 1);
	return r;
}

static void *inflate_worker(void *arg)
{
	struct inflate_job *j = arg;
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	int r = d ? 0 : -ENOMEM;

	for (size_t i; r == 0 && (i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n;)
		r = inflate_one(d, j, &j->v[i]);
	if (d)
		libdeflate_free_decompressor(d);
	if (r < 0)
		__atomic_compare_exchange_n(&j->error, &(int){ 0 }, r, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return NULL;
}

static int by_file_offset(const void *a, const void *b)
{
	const struct inflate_section *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from ? 1 : 0;
}

/* @len bytes at @off of @src to the same offset of @dst, by the kernel. */
static int copy_range(int src, int dst, uint64_t off, uint64_t len)
{
	off_t in = (off_t)off;
	if (lseek(dst, (off_t)off, SEEK_SET) < 0)
		return -errno;
	while (len > 0) {
		ssize_t k = sendfile(dst, src, &in, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		len -= (uint64_t)k;
	}
	return 0;
}

static int by_compressed_size(const void *a, const void *b)
{
	const struct inflate_section *x = a, *y = b;
	return x->compressed < y->compressed ? 1 : x->compressed > y->compressed ? -1 : 0;
}

/* The compressed sections of @fd (a 64-bit little-endian ELF file of @size bytes) and where
 * each goes in the copy; *@total_ret: the copy's size. 0 (none: *@n_ret 0) or -errno. */
static int inflate_plan(int fd, uint64_t size, struct inflate_section **ret, size_t *n_ret, uint64_t *total_ret)
{
	_cleanup_(elf_endp) Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct inflate_section *v = NULL;
	size_t n = 0, shnum;
	uint64_t end = (size + 4095) & ~4095ull, inflated = 0;

	*n_ret = 0;
	if (!e || elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64 || elf_getshdrnum(e, &shnum) < 0)
		return -ENOEXEC;
	const char *ident = elf_getident(e, NULL);
	if (!ident || ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		GElf_Chdr ch;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED) || sh.sh_type == SHT_NOBITS)
			continue;
		/* Only zlib: anything else stays for libdw to refuse or read. */
		if (!gelf_getchdr(scn, &ch) || ch.ch_type != ELFCOMPRESS_ZLIB || sh.sh_size < sizeof(Elf64_Chdr) ||
		    sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			continue;
		if (ch.ch_size > MAX_INFLATE_BYTES - inflated) {
			free(v);
			return -EFBIG;
		}
		uint64_t align = ch.ch_addralign > 0 && ch.ch_addralign <= 4096 ? ch.ch_addralign : 8;
		struct inflate_section *p = realloc(v, (n + 1) * sizeof(*v));
		if (!p) {
			free(v);
			return -ENOMEM;
		}
		v = p;
		end = (end + align - 1) & ~(align - 1);
		v[n++] = (struct inflate_section){ .index = elf_ndxscn(scn), .from = sh.sh_offset + sizeof(Elf64_Chdr),
						   .compressed = sh.sh_size - sizeof(Elf64_Chdr), .size = ch.ch_size,
						   .align = ch.ch_addralign, .offset = end };
		end += ch.ch_size;
		inflated += ch.ch_size;
	}
	*ret = v;
	*n_ret = n;
	*total_ret = end;
	return 0;
}

/* Point section @s's header in the copy at its inflated bytes. */
static int inflate_patch(int dst, uint64_t size, const struct inflate_section *s)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	int r = pio_all(dst, &eh, sizeof(eh), 0, false);

	if (r < 0)
		return r;
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > size || s->index >= (size - eh.e_shoff) / sizeof(sh))
		return -EBADMSG;
	uint64_t at = eh.e_shoff + s->index * sizeof(sh);
	if ((r = pio_all(dst, &sh, sizeof(sh), at, false)) < 0)
		return r;
	sh.sh_offset = s->offset;
	sh.sh_size = s->size;
	sh.sh_addralign = s->align;
	sh.sh_flags &= ~(uint64_t)SHF_COMPRESSED;
	return pio_all(dst, &sh, sizeof(sh), at, true);
}

static size_t inflate_threads(size_t n)
{
	cpu_set_t set;
	size_t cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? (size_t)CPU_COUNT(&set) : 1;
	size_t t = cpus < MAX_INFLATE_THREADS ? cpus : MAX_INFLATE_THREADS;
	return t < n ? t : n;
}

int cp_debuginfo_inflated(int fd)
{
	_cleanup_free_ struct inflate_section *v = NULL;
	struct stat st;
	size_t n;
	uint64_t total;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(Elf64_Ehdr) || (uint64_t)st.st_size > MAX_FILE_BYTES)
		return -EINVAL;
	int r = inflate_plan(fd, (uint64_t)st.st_size, &v, &n, &total);
	if (r < 0)
		return r;
	if (n == 0)
		return -ENODATA;

	_cleanup_close_ int mfd = memfd_create("crashpipe-debuginfo", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, (off_t)total) < 0)
		return -errno;
	/* The file as it is, but for the compressed sections (left as holes: nothing refers
	 * to them once their headers are patched), copied by the kernel. */
	qsort(v, n, sizeof(*v), by_file_offset);
	uint64_t from = 0;
	for (size_t i = 0; i <= n && r == 0; i++) {
		uint64_t to = i < n ? v[i].from - sizeof(Elf64_Chdr) : (uint64_t)st.st_size;
		if (to > from)
			r = copy_range(fd, mfd, from, to - from);
		if (i < n && v[i].from + v[i].compressed > from)
			from = v[i].from + v[i].compressed;
	}
	if (r < 0)
		return r;

	struct inflate_job job = { .src = fd, .dst = mfd, .v = v, .n = n };
	pthread_t tids[MAX_INFLATE_THREADS];
	size_t started = 0;
	qsort(v, n, sizeof(*v), by_compressed_size);
	for (size_t t = 1; t < inflate_threads(n); t++)
		if (pthread_create(&tids[started], NULL, inflate_worker, &job) == 0)
			started++;
	inflate_worker(&job);
	for (size_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	r = job.error;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = inflate_patch(mfd, (uint64_t)st.st_size, &v[i]);
	if (r < 0)
		return r;
	if (lseek(mfd, 0, SEEK_SET) < 0)
		return -errno;
	return TAKE_FD(mfd);
}
