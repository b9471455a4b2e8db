/*
 * locate.c - see locate.h. The only user of libdebuginfod.
 *
 * A --module-dir is read once, at the first module that looks there: the build-id of
 * every regular ELF file in it (not its subdirectories), so that each module is then a
 * lookup. A directory of thousands of files costs that many opens once per analysis.
 *
 * libdebuginfod is dlopen()ed only when a fetch may happen, as libdwfl does it
 * (libdwfl/debuginfod-client.c): linking it would run its constructor, libcurl's global
 * initialisation (TLS libraries and all), in every crashpipe, `handle` on each crash too.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_DEBUGINFOD
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#endif

#include "buildid.h"
#include "cleanup.h"
#include "debugcache.h"
#include "fsopen.h"
#include "locate.h"
#include "report.h"
#include "target.h"

#define MAX_DIR_FILES 65536	/* files of a --module-dir looked at */

struct dir_file {
	size_t dir;		/* index in module_dirs */
	char *name;
	unsigned char id[CP_MAX_BUILD_ID];
	int id_len;		/* <= 0: none */
};

struct cp_locate {
	const struct cp_locate_options *o;
	struct cp_target *t;
	const char *debug_cache;
	struct cp_report *report;
	bool indexed;
	struct dir_file *files;
	size_t n_files;
	char *where;		/* the last file found, as cp_locate_module() names it */
#ifdef HAVE_DEBUGINFOD
	bool dfd_done;
	debuginfod_client *dfd;
#endif
};

#ifdef HAVE_DEBUGINFOD
/* libdebuginfod's functions, loaded once per process (dfd_load()). */
static struct {
	bool done;
	void *lib;
	debuginfod_client *(*begin)(void);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	int (*find_executable)(debuginfod_client *, const unsigned char *, int, char **);
	void (*end)(debuginfod_client *);
} dfd_lib;
#endif

const char *cp_source_name(enum cp_source s)
{
	switch (s) {
	case CP_SOURCE_ROOT:
		return "root";
	case CP_SOURCE_EXE:
		return "exe";
	case CP_SOURCE_MODULE_DIR:
		return "module-dir";
	case CP_SOURCE_DEBUG_DIR:
		return "debug-dir";
	case CP_SOURCE_DEBUGINFOD:
		return "debuginfod";
	default:
		return NULL;
	}
}

/* Is @fd an ELF file? (Anything else in a directory is skipped without a word.) */
static bool is_elf(int fd)
{
	unsigned char magic[4];
	return pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) && memcmp(magic, "\177ELF", 4) == 0;
}

int cp_locate_set_exe(struct cp_locate_options *o, const char *path, const char **why)
{
	*why = NULL;
	/* O_NONBLOCK: a FIFO is refused by fstat(), not waited on. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		return -EINVAL;
	}
	if (!is_elf(fd)) {
		*why = "not an ELF file";
		close(fd);
		return -ENOEXEC;
	}
	if (o->exe_fd >= 0)
		close(o->exe_fd);
	o->exe = path;
	o->exe_fd = fd;
	return 0;
}

int cp_locate_add_dir(struct cp_locate_options *o, const char *path, bool debug)
{
	struct cp_locate_dir **v = debug ? &o->debug_dirs : &o->module_dirs;
	size_t *n = debug ? &o->n_debug_dirs : &o->n_module_dirs;

	int fd = cp_open_root(path);
	if (fd < 0)
		return fd;
	struct cp_locate_dir *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		close(fd);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = (struct cp_locate_dir){ .name = path, .fd = fd };
	return 0;
}

void cp_locate_options_deinit(struct cp_locate_options *o)
{
	if (o->exe_fd >= 0)
		close(o->exe_fd);
	for (size_t i = 0; i < o->n_module_dirs; i++)
		close(o->module_dirs[i].fd);
	for (size_t i = 0; i < o->n_debug_dirs; i++)
		close(o->debug_dirs[i].fd);
	free(o->module_dirs);
	free(o->debug_dirs);
	*o = (struct cp_locate_options)CP_LOCATE_OPTIONS_INIT;
}

struct cp_locate *cp_locate_create(const struct cp_locate_options *o, struct cp_target *t, const char *debug_cache,
				   struct cp_report *report)
{
	static const struct cp_locate_options none = CP_LOCATE_OPTIONS_INIT;
	struct cp_locate *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->o = o ? o : &none;
	l->t = t;
	l->debug_cache = debug_cache;
	l->report = report;
	return l;
}

void cp_locate_destroy(struct cp_locate *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_files; i++)
		free(l->files[i].name);
	free(l->files);
	free(l->where);
#ifdef HAVE_DEBUGINFOD
	if (l->dfd)
		dfd_lib.end(l->dfd);
#endif
	free(l);
}

/* Open @name inside the directory @dirfd (as its root: links resolved inside it). */
static int open_in_dir(int dirfd, const char *name, bool follow)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "/%s", name) >= sizeof(path))
		return -ENAMETOOLONG;
	return cp_open_in_root(dirfd, path, follow);
}

static void index_dir(struct cp_locate *l, size_t d)
{
	const struct cp_locate_dir *dir = &l->o->module_dirs[d];
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	size_t seen = 0;

	if (!dp) {
		if (fd >= 0)
			close(fd);
		cp_report_note(l->report, false, "--module-dir %s: cannot read: %s", dir->name, strerror(errno));
		return;
	}
	for (struct dirent *de; (de = readdir(dp));) {
		if (de->d_name[0] == '.' || (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN))
			continue;
		if (++seen > MAX_DIR_FILES) {
			cp_report_note(l->report, false, "--module-dir %s: more than %d files; the rest are not looked at",
				       dir->name, MAX_DIR_FILES);
			break;
		}
		_cleanup_close_ int f = open_in_dir(dir->fd, de->d_name, true);
		if (f < 0 || !is_elf(f))
			continue;
		struct dir_file *nv = realloc(l->files, (l->n_files + 1) * sizeof(*nv));
		if (!nv)
			break;
		l->files = nv;
		struct dir_file *df = &l->files[l->n_files];
		df->dir = d;
		df->name = strdup(de->d_name);
		if (!df->name)
			break;
		df->id_len = cp_elf_build_id(f, df->id, sizeof(df->id));
		l->n_files++;
	}
	closedir(dp);
}

/* The file name of @path, without the " (deleted)" the kernel adds to a removed file. */
static void base_name(const char *path, char *buf, size_t cap)
{
	const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(b);
	if (n > 10 && strcmp(b + n - 10, " (deleted)") == 0)
		n -= 10;
	snprintf(buf, cap, "%.*s", (int)n, b);
}

static bool same_id(const unsigned char *a, size_t a_len, const unsigned char *b, int b_len)
{
	return b_len > 0 && (size_t)b_len == a_len && memcmp(a, b, a_len) == 0;
}

static void note_refused(struct cp_locate *l, const char *what, const char *file, const unsigned char *fid,
			 int fid_len, const char *path, const unsigned char *id, size_t id_len)
{
	_cleanup_free_ char *a = fid_len > 0 ? cp_hex(fid, fid_len) : NULL;
	_cleanup_free_ char *b = cp_hex(id, id_len);
	cp_report_note(l->report, true, "%s %s: build-id %s, the crashed process's %s had %s: not used", what, file,
		       a ? a : "none", path, b ? b : "?");
}

static void set_where(struct cp_locate *l, const char *dir, const char *name)
{
	free(l->where);
	if (asprintf(&l->where, "%s%s%s", dir, name ? "/" : "", name ? name : "") < 0)
		l->where = NULL;
}

/* Hand @fd (taken) to the target as @path's file; the fd the target now reads from. */
static int use(struct cp_locate *l, const char *path, int fd)
{
	int r = cp_target_use_file(l->t, path, fd);
	return r < 0 ? r : cp_target_file_fd(l->t, path);
}

static bool dfd_enabled(struct cp_locate *l)
{
#ifdef HAVE_DEBUGINFOD
	const char *urls = getenv("DEBUGINFOD_URLS");
	return l->o->debuginfod && urls && *urls;
#else
	return false;
#endif
}

#ifdef HAVE_DEBUGINFOD
/* libdebuginfod's functions, loaded once per process; false when it is not installed. */
static bool dfd_load(void)
{
	if (!dfd_lib.done) {
		dfd_lib.done = true;
		void *lib = dlopen(DEBUGINFOD_SONAME, RTLD_LAZY | RTLD_LOCAL);
		if (lib) {
			dfd_lib.begin = (debuginfod_client * (*)(void)) dlsym(lib, "debuginfod_begin");
			dfd_lib.find_debuginfo = (int (*)(debuginfod_client *, const unsigned char *, int, char **))
				dlsym(lib, "debuginfod_find_debuginfo");
			dfd_lib.find_executable = (int (*)(debuginfod_client *, const unsigned char *, int, char **))
				dlsym(lib, "debuginfod_find_executable");
			dfd_lib.end = (void (*)(debuginfod_client *)) dlsym(lib, "debuginfod_end");
			if (dfd_lib.begin && dfd_lib.find_debuginfo && dfd_lib.find_executable && dfd_lib.end)
				dfd_lib.lib = lib;
			else
				dlclose(lib);
		}
	}
	return dfd_lib.lib != NULL;
}

static debuginfod_client *dfd_client(struct cp_locate *l)
{
	if (!l->dfd_done) {
		l->dfd_done = true;
		if (dfd_enabled(l) && dfd_load())
			l->dfd = dfd_lib.begin();
		if (dfd_enabled(l) && !l->dfd)
			cp_report_note(l->report, false, "debuginfod: %s", dfd_lib.lib ? "no client" :
				       "cannot load " DEBUGINFOD_SONAME);
	}
	return l->dfd;
}

/* One fetch with client @c: fd or -errno, *@name_ret the file in debuginfod's cache. */
static int dfd_find(debuginfod_client *c, const char *hex, bool exe, char **name_ret)
{
	char *name = NULL;
	int fd = (exe ? dfd_lib.find_executable : dfd_lib.find_debuginfo)(c, (const unsigned char *)hex, 0, &name);
	if (fd < 0) {
		free(name);
		return fd;
	}
	if (!name && !(name = strdup("debuginfod"))) {
		close(fd);
		return -ENOMEM;
	}
	*name_ret = name;
	return fd;
}

/* Fetch by build-id: @exe the executable, else the debuginfo. fd or -errno, with
 * *@name_ret the file in debuginfod's cache. */
static int dfd_fetch(struct cp_locate *l, const char *hex, bool exe, char **name_ret)
{
	if (!hex)
		return -ENOENT;
	if (l->o->fetch)
		return l->o->fetch(l->o->fetch_arg, hex, exe, name_ret);
	debuginfod_client *c = dfd_client(l);
	return c ? dfd_find(c, hex, exe, name_ret) : -ENOENT;
}

int cp_locate_fetch(const char *hex, bool exe, char **name_ret)
{
	static debuginfod_client *c;

	if (!cp_build_id_hex_valid(hex))
		return -EINVAL;
	if (!c && dfd_load())
		c = dfd_lib.begin();
	return c ? dfd_find(c, hex, exe, name_ret) : -ENOENT;
}
#else
static int dfd_fetch(struct cp_locate *l, const char *hex, bool exe, char **name_ret)
{
	return -ENOENT;
}

int cp_locate_fetch(const char *hex, bool exe, char **name_ret)
{
	return -ENOENT;
}
#endif

int cp_locate_module(struct cp_locate *l, const char *path, const unsigned char *id, size_t id_len, bool is_exe,
		     enum cp_source *src, const char **where, bool *refused)
{
	const struct cp_locate_options *o = l->o;
	unsigned char fid[CP_MAX_BUILD_ID];
	char name[NAME_MAX + 1];
	int n;

	*refused = false;
	*src = CP_SOURCE_NONE;
	*where = NULL;

	/* 1. --exe: used as it is when the core has no build-id (the user said so). */
	if (is_exe && o->exe_fd >= 0) {
		n = cp_elf_build_id(o->exe_fd, fid, sizeof(fid));
		if (!id_len || same_id(id, id_len, fid, n)) {
			int fd = fcntl(o->exe_fd, F_DUPFD_CLOEXEC, 3);
			if (fd < 0)
				return -errno;
			set_where(l, o->exe, NULL);
			*src = CP_SOURCE_EXE;
			*where = l->where;
			return use(l, path, fd);
		}
		note_refused(l, "--exe", o->exe, fid, n, path, id, id_len);
		*refused = true;
	}

	/* 2. --module-dir: by build-id, else by name. */
	if (o->n_module_dirs && !l->indexed) {
		for (size_t d = 0; d < o->n_module_dirs; d++)
			index_dir(l, d);
		l->indexed = true;
	}
	base_name(path, name, sizeof(name));
	const struct dir_file *pick = NULL;
	for (size_t i = 0; i < l->n_files && !pick; i++)
		if (id_len ? same_id(id, id_len, l->files[i].id, l->files[i].id_len) : strcmp(l->files[i].name, name) == 0)
			pick = &l->files[i];
	if (!pick && id_len) {
		/* A file of that name with another build-id: say why it is not used. */
		for (size_t i = 0; i < l->n_files; i++)
			if (strcmp(l->files[i].name, name) == 0) {
				char file[PATH_MAX];
				snprintf(file, sizeof(file), "%s/%s", o->module_dirs[l->files[i].dir].name, name);
				note_refused(l, "--module-dir", file, l->files[i].id, l->files[i].id_len, path, id, id_len);
				*refused = true;
			}
	}
	if (pick) {
		int fd = open_in_dir(o->module_dirs[pick->dir].fd, pick->name, true);
		if (fd >= 0) {
			set_where(l, o->module_dirs[pick->dir].name, pick->name);
			*src = CP_SOURCE_MODULE_DIR;
			*where = l->where;
			return use(l, path, fd);
		}
	}

	/* 3. The root: unchecked when nothing comes after it (modules.c checks). */
	_cleanup_free_ char *hex = id_len ? cp_hex(id, id_len) : NULL;
	int fd = cp_target_file_fd(l->t, path);
	bool later = hex && dfd_enabled(l);
	if (fd >= 0) {
		n = later ? cp_elf_build_id(fd, fid, sizeof(fid)) : 0;
		if (!later || same_id(id, id_len, fid, n)) {
			*src = CP_SOURCE_ROOT;
			*where = path;
			return fd;
		}
	}

	/* 4. debuginfod. */
	char *fetched = NULL;
	int dfd = later ? dfd_fetch(l, hex, true, &fetched) : -ENOENT;
	if (dfd >= 0) {
		n = cp_elf_build_id(dfd, fid, sizeof(fid));
		if (same_id(id, id_len, fid, n)) {
			set_where(l, fetched, NULL);
			free(fetched);
			*src = CP_SOURCE_DEBUGINFOD;
			*where = l->where;
			return use(l, path, dfd);
		}
		note_refused(l, "debuginfod's", fetched, fid, n, path, id, id_len);
		*refused = true;
		close(dfd);
	}
	free(fetched);
	if (fd >= 0) {
		/* The root's file all the same: modules.c notes the difference and blocks it. */
		*src = CP_SOURCE_ROOT;
		*where = path;
		return fd;
	}
	return fd;
}

/* @fd (taken) as debuginfo from a place the user named: refused with a note when its
 * build-id is not @hex. Returns @fd or -1. */
static int checked(struct cp_locate *l, int fd, const char *hex, const char *file, const char *path)
{
	if (fd < 0 || !hex)
		return fd;
	_cleanup_free_ char *fhex = cp_elf_build_id_hex(fd);
	if (fhex && strcmp(fhex, hex) == 0)
		return fd;
	cp_report_note(l->report, false, "%s: build-id %s, the debuginfo of %s has %s: not used", file,
		       fhex ? fhex : "none", path, hex);
	close(fd);
	return -1;
}

static int found(int fd, const char *name, char **name_ret, enum cp_source s, enum cp_source *src)
{
	if (fd < 0)
		return fd;
	if (!(*name_ret = strdup(name))) {
		close(fd);
		return -ENOMEM;
	}
	*src = s;
	return fd;
}

int cp_locate_debuginfo(struct cp_locate *l, const char *hex, const char *path, enum cp_source module_src,
			const char *debuglink, char **name_ret, enum cp_source *src)
{
	const struct cp_locate_options *o = l->o;
	int rootfd = cp_target_rootfd(l->t);
	char p[PATH_MAX], shown[PATH_MAX + 256];
	int fd;

	*src = CP_SOURCE_NONE;
	if (hex && !cp_build_id_hex_valid(hex))
		hex = NULL;
	if (hex) {
		/* 1. The decompressed copy, named as the file it is a copy of. */
		if (l->debug_cache && (fd = cp_debug_cache_open(l->debug_cache, hex)) >= 0 &&
		    cp_build_id_debug_path(p, sizeof(p), CP_SYSTEM_DEBUG_DIR, hex) == 0)
			return found(fd, p, name_ret, CP_SOURCE_ROOT, src);
		/* 2. --debug-dir by build-id. */
		for (size_t i = 0; i < o->n_debug_dirs; i++) {
			if (cp_build_id_debug_path(p, sizeof(p), "/", hex) < 0)
				break;
			snprintf(shown, sizeof(shown), "%s%s", o->debug_dirs[i].name, p);
			fd = checked(l, cp_open_in_root(o->debug_dirs[i].fd, p, true), hex, shown, path);
			if (fd >= 0)
				return found(fd, shown, name_ret, CP_SOURCE_DEBUG_DIR, src);
		}
		/* 3. The root's /usr/lib/debug. */
		if (cp_build_id_debug_path(p, sizeof(p), CP_SYSTEM_DEBUG_DIR, hex) == 0 &&
		    (fd = cp_open_in_root(rootfd, p, true)) >= 0)
			return found(fd, p, name_ret, CP_SOURCE_ROOT, src);
	}

	/* 4. By the .gnu_debuglink name. */
	if (debuglink && *debuglink && !strchr(debuglink, '/') && path && path[0] == '/') {
		_cleanup_free_ char *copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		const char *dir = dirname(copy);
		if (strcmp(dir, "/") == 0)
			dir = "";
		if (module_src == CP_SOURCE_ROOT) {
			const char *const where[][2] = { { "", "/" }, { "", "/.debug/" }, { CP_SYSTEM_DEBUG_DIR, "/" } };
			for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
				if ((size_t)snprintf(p, sizeof(p), "%s%s%s%s", where[i][0], dir, where[i][1], debuglink) >=
				    sizeof(p))
					continue;
				if (i == 0 && strcmp(p, path) == 0)
					continue;	/* the debuglink names the file itself */
				if ((fd = cp_open_in_root(rootfd, p, false)) >= 0)
					return found(fd, p, name_ret, CP_SOURCE_ROOT, src);
			}
		}
		char name[NAME_MAX + 1];
		base_name(path, name, sizeof(name));
		for (size_t i = 0; i < o->n_module_dirs && strcmp(name, debuglink) != 0; i++) {
			snprintf(shown, sizeof(shown), "%s/%s", o->module_dirs[i].name, debuglink);
			fd = checked(l, open_in_dir(o->module_dirs[i].fd, debuglink, false), hex, shown, path);
			if (fd >= 0)
				return found(fd, shown, name_ret, CP_SOURCE_MODULE_DIR, src);
		}
		for (size_t i = 0; i < o->n_debug_dirs; i++) {
			for (int with_dir = 1; with_dir >= 0; with_dir--) {
				if ((size_t)snprintf(p, sizeof(p), "%s/%s", with_dir ? dir : "", debuglink) >= sizeof(p))
					continue;
				snprintf(shown, sizeof(shown), "%s%s", o->debug_dirs[i].name, p);
				fd = checked(l, cp_open_in_root(o->debug_dirs[i].fd, p, false), hex, shown, path);
				if (fd >= 0)
					return found(fd, shown, name_ret, CP_SOURCE_DEBUG_DIR, src);
			}
		}
	}

	/* 5. debuginfod. */
	char *fetched = NULL;
	fd = hex && dfd_enabled(l) ? dfd_fetch(l, hex, false, &fetched) : -ENOENT;
	if (fd >= 0) {
		fd = checked(l, fd, hex, fetched, path);
		if (fd >= 0) {
			*name_ret = fetched;
			*src = CP_SOURCE_DEBUGINFOD;
			return fd;
		}
	}
	free(fetched);
	return -ENOENT;
}
