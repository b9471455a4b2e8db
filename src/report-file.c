/*
 * report-file.c - reports as files: written atomically (plain JSON, or zstd for a ".zst"
 * name) by name in a directory fd, and read back from a regular file only, within the
 * reader's bounds, through report-from-json.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsopen.h"
#include "json-reader.h"
#include "report.h"
#include "signature.h"
#include "spool.h"
#include "zio.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int write_json(const char *json, size_t len, const char *path);
static int write_json_at(int dir_fd, const char *name, const char *json, size_t len, const char *signature);

int cp_report_write(const struct cp_report *r, const char *path)
{
	_cleanup_free_ char *json = cp_report_to_json(r);

	if (!json)
		return -ENOMEM;
	return write_json(json, strlen(json), path);
}

int cp_report_write_at(const struct cp_report *r, int dir_fd, const char *name)
{
	_cleanup_free_ char *json = cp_report_to_json(r);

	if (!json)
		return -ENOMEM;
	return write_json_at(dir_fd, name, json, strlen(json), r->signature);
}

static bool json_is_report(const char *json, size_t len)
{
	return cp_jr_has_string(json, len, "schema", CP_SCHEMA);
}

int cp_report_write_json(const char *json, size_t len, const char *path)
{
	if (!json_is_report(json, len))
		return -EINVAL;
	return write_json(json, len, path);
}

int cp_report_write_parsed_json(const char *json, size_t len, const char *path)
{
	return write_json(json, len, path);
}

int cp_report_write_json_at(int dir_fd, const char *name, const char *json, size_t len)
{
	if (!json_is_report(json, len))
		return -EINVAL;
	return write_json_at(dir_fd, name, json, len, NULL);
}

/* The bytes that go to the file: the JSON and its newline, compressed for a ".zst" name. */
static int file_bytes(const char *name, const char *json, size_t len, void **ret, size_t *len_ret)
{
	_cleanup_free_ char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, json, len);
	copy[len] = '\n';
	if (ends_with(name, ".zst"))
		return cp_zstd_compress(copy, len + 1, ret, len_ret);
	*ret = TAKE_PTR(copy);
	*len_ret = len + 1;
	return 0;
}

/*
 * The one way a report file is made, by name in a directory fd, so that no path is looked
 * up twice: a new file only we hold (cp_newfile_create), written, synced, made mode 0600
 * and (as root) root:root through its fd, then given its name with renameat() within the
 * same directory fd: a reader sees the old file or the whole new one, and whatever was at
 * the name (a symlink, a hard link to /etc/shadow) is replaced, never followed or written.
 */
static int write_json_at(int dir_fd, const char *name, const char *json, size_t len, const char *signature)
{
	_cleanup_free_ void *data = NULL;
	struct cp_newfile f;
	int ret;

	if (!*name || strchr(name, '/'))
		return -EINVAL;
	ret = file_bytes(name, json, len, &data, &len);
	if (ret < 0)
		return ret;
	ret = cp_newfile_create(dir_fd, O_WRONLY, &f);
	if (ret < 0)
		return ret;
	ret = cp_write_all(f.fd, data, len);
	/* Where the file system has no user xattrs, readers load the report instead. */
	if (ret == 0 && cp_signature_valid(signature))
		(void)fsetxattr(f.fd, CP_SIGNATURE_XATTR, signature, CP_SIGNATURE_LEN, 0);
	if (ret == 0 && fsync(f.fd) < 0 && errno != EINVAL)
		ret = -errno;
	if (ret < 0) {
		cp_newfile_abort(&f);
		return ret;
	}
	return cp_newfile_commit(&f, name, 0600);
}

static int write_json(const char *json, size_t len, const char *path)
{
	int ret;

	if (strcmp(path, "-") == 0) {
		ret = cp_write_all(STDOUT_FILENO, json, len);
		return ret < 0 ? ret : cp_write_all(STDOUT_FILENO, "\n", 1);
	}
	/* A device or a FIFO a person named (/dev/null, /dev/stdout) is written as it is;
	 * a FIFO nobody reads fails at once (O_NONBLOCK) instead of hanging. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		_cleanup_free_ void *data = NULL;
		_cleanup_close_ int out = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (out < 0)
			return -errno;
		if (fcntl(out, F_SETFL, 0) < 0)
			return -errno;
		ret = file_bytes(path, json, len, &data, &len);
		return ret < 0 ? ret : cp_write_all(out, data, len);
	}
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	_cleanup_close_ int dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	return write_json_at(dir_fd, slash ? slash + 1 : path, json, len, NULL);
}

struct entry {
	int dir_fd;
	const char *name;
};

/* No /proc: the entry again, with the same rules (cp_reopen_regular() checks that it is
 * the inode looked at). */
static int reopen_by_name(void *userdata, int pfd, int flags)
{
	const struct entry *e = userdata;
	(void) pfd;
	int fd = openat(e->dir_fd, e->name, flags | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int cp_report_loadat(int dir_fd, const char *name, struct cp_report **ret, const char **error_ret)
{
	struct cp_input *in;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	/* Anyone may have put the entry there: look at it through O_PATH first (that opens
	 * no device and waits on no FIFO), then open that very inode. */
	*error_ret = NULL;
	struct entry e = { dir_fd, name };
	const struct cp_regular_rules rules = { .fallback = reopen_by_name, .userdata = &e };
	enum cp_regular_why refused;
	_cleanup_close_ int pfd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	_cleanup_close_ int fd = cp_reopen_regular(pfd, &rules, &st, &refused);
	if (fd == -ELOOP) {	/* the entry, or (no /proc) the name opened again */
		*error_ret = "a symbolic link, not read";
		return fd;
	}
	if (fd < 0 && (refused == CP_REGULAR_NOT_REGULAR || refused == CP_REGULAR_CHANGED)) {
		*error_ret = "not a regular file, not read";
		return -EBADF;
	}
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > CP_REPORT_MAX_SIZE) {
		*error_ret = "larger than 64 MiB";
		return -EFBIG;
	}
	r = cp_input_open(fd, &in);
	if (r == -ENODATA) {
		*error_ret = "empty file";
		return -EINVAL;
	}
	if (r < 0)
		return r;
	/* crashpipe writes level 3 (a 2 MiB window at most); 16 MiB leaves room for a report
	 * recompressed by hand and keeps the decoder small. */
	r = cp_input_set_max_window(in, 24);
	if (r >= 0)
		r = cp_input_read_all(in, CP_REPORT_MAX_SIZE, &buf, &len);
	cp_input_destroy(in);
	if (r == -EBADMSG) {
		*error_ret = "corrupt zstd data (or a window larger than 16 MiB)";
		return -EINVAL;
	}
	if (r == -EFBIG) {
		*error_ret = "decompresses to more than 64 MiB";
		return -EFBIG;
	}
	if (r < 0)
		return r;
	return cp_report_parse(buf, len, ret, error_ret);
}

int cp_report_load(const char *path, struct cp_report **ret, const char **error_ret)
{
	return cp_report_loadat(AT_FDCWD, path, ret, error_ret);
}
