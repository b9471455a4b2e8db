/*
 * debugcache.c - see debugcache.h.
 *
 * The copy is made with libelf, which can decompress a section in place (elf_compress)
 * and lay the file out again (elf_update); the program headers of a debug file describe
 * NOBITS sections and are left as they were, which is all libdwfl reads of them.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
