/*
 * runtime.c - see runtime.h.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buildid.h"
#include "cleanup.h"
#include "core.h"
#include "dac.h"
#include "fsopen.h"
#include "modules.h"
#include "report.h"
#include "runtime.h"
#include "target.h"

#define RUNTIME_NAME "libcoreclr.so"
#define DAC_NAME "libmscordaccore.so"
#define HOW_TO_NAME " (name a DAC you trust with --dac or --runtime-dir)"

static const struct cp_mapping *find_runtime(const struct cp_core *core)
{
	for (size_t i = 0; i < core->n_maps; i++) {
		const struct cp_mapping *m = &core->maps[i];
		const char *base = strrchr(m->path, '/');
		if (m->offset == 0 && base && strcmp(base + 1, RUNTIME_NAME) == 0)
			return m;
	}
	return NULL;
}

struct runtime_info {
	unsigned char dac_id[20];	/* the build-id of the DAC the runtime needs */
	size_t dac_id_len;
	char version[32];
};

/*
 * A single-file app exports DotNetRuntimeInfo (runtime's debugger headers; read the way
 * ClrMD's RuntimeInfo does): "DotNetRuntimeInfo\0" (18 bytes), int version at 20, then
 * three module indexes of 24 bytes (length byte, build-id) for the runtime, the DAC and the
 * DBI from 24; version 2 and later add the runtime's file version (major, minor, build)
 * at 96, whose build number is the product's patch number times 100. (The record is built
 * after libcoreclr.so, from its build-id, and linked into the single-file host only: the
 * shared framework's libcoreclr.so has no such export.)
 */
static int find_single_file(struct cp_target *t, struct cp_modules *mods, uint64_t entry,
			    const char **path_ret, uint64_t *base_ret, struct runtime_info *info)
{
	unsigned char b[112];
	uint64_t addr;
	int32_t version, v[3];

	if (cp_modules_lookup(mods, entry, "DotNetRuntimeInfo", &addr, path_ret, base_ret) < 0 ||
	    cp_target_read(t, addr, b, sizeof(b)) < 0 || memcmp(b, "DotNetRuntimeInfo", 18) != 0)
		return -ENOENT;
	memcpy(&version, b + 20, 4);
	if (b[48] > 0 && b[48] <= sizeof(info->dac_id)) {
		info->dac_id_len = b[48];
		memcpy(info->dac_id, b + 49, b[48]);
	}
	if (version >= 2) {
		memcpy(v, b + 96, sizeof(v));
		snprintf(info->version, sizeof(info->version), "%d.%d.%d", v[0], v[1], v[2] / 100);
	}
	return 0;
}

/* "10.0.12" from the shared framework's directory name, else from libcoreclr.so's
 * "@(#)Version 10.0.1226.42308" (the product's patch number is the build number / 100). */
static char *runtime_version(const char *dir, int fd)
{
	const char *base = strrchr(dir, '/');
	unsigned a, b, c;
	char tail;

	base = base ? base + 1 : dir;
	if (sscanf(base, "%u.%u.%u%c", &a, &b, &c, &tail) == 3)
		return strdup(base);
	if (fd < 0)
		return NULL;
	static char buf[1 << 16];
	static const char tag[] = "@(#)Version ";
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, off);
		if (n <= (ssize_t)sizeof(tag))
			return NULL;
		buf[n] = '\0';
		char *p = memmem(buf, n, tag, sizeof(tag) - 1);
		if (p && p + sizeof(tag) + 24 < buf + n) {
			if (sscanf(p + sizeof(tag) - 1, "%u.%u.%u", &a, &b, &c) == 3) {
				char *v;
				return asprintf(&v, "%u.%u.%u", a, b, c / 100) < 0 ? NULL : v;
			}
			return NULL;
		}
		off += n - (ssize_t)sizeof(tag);
	}
}

static const char *untrusted(const struct stat *st, bool dir)
{
	if (st->st_uid != 0)
		return dir ? "a directory on its path is not owned by root" : "it is not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return dir ? "a directory on its path is writable by group or others" :
			     "it is writable by group or others";
	return NULL;
}

int cp_dac_open_trusted(const char *path, const char **why)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dir = -1;
	struct stat st;
	char *save = NULL;

	*why = NULL;
	if (!copy)
		return -ENOMEM;
	if (path[0] != '/') {
		*why = "not an absolute path";
		return -EPERM;
	}
	dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	char *name = strtok_r(copy, "/", &save);
	while (name) {
		char *next = strtok_r(NULL, "/", &save);
		if (fstat(dir, &st) < 0)
			return -errno;
		if ((*why = untrusted(&st, true)))
			return -EPERM;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			*why = "its path has . or ..";
			return -EPERM;
		}
		if (!next) {
			/* Looked at before it is opened (no device or FIFO is), then opened
			 * without blocking, and handed on as a plain fd for the DAC's loader. */
			static const char *const refusals[] = {
				[CP_REGULAR_SYMLINK] = "it is a symbolic link",
				[CP_REGULAR_NOT_REGULAR] = "it is not a regular file",
				[CP_REGULAR_OWNER] = "it is not owned by root",
				[CP_REGULAR_CHANGED] = "it changed while it was opened",
			};
			const struct cp_regular_rules rules = { .check_owner = true, .owner = 0 };
			enum cp_regular_why refused;
			int fd = cp_open_regular_at(dir, name, &rules, &st, &refused);
			if (fd < 0 && refused < ARRAY_SIZE(refusals) && refusals[refused]) {
				*why = refusals[refused];
				return -EPERM;
			}
			if (fd < 0)
				return fd;
			if ((*why = untrusted(&st, false))) {
				close(fd);
				return -EPERM;
			}
			return fd;
		}
		int sub = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return errno == ENOTDIR ? (*why = "a component of its path is a symbolic link or not a directory",
						    -EPERM) : -errno;
		close(dir);
		dir = sub;
		name = next;
	}
	*why = "it names a directory";
	return -EPERM;
}

/* Open a file the user named (--dac, --runtime-dir): theirs to trust, but a regular file. */
static int open_named(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int cp_dac_runtime_find(struct cp_core *core, struct cp_target *t, struct cp_modules *mods,
			struct cp_report *report, int rootfd, const struct cp_dac_options *opts,
			uint64_t *runtime_base_ret, int *dac_fd_ret)
{
	struct cp_runtime *rt = &report->runtime;
	const struct cp_mapping *runtime = find_runtime(core);
	_cleanup_free_ char *dir = NULL, *dac_path = NULL;
	_cleanup_close_ int dac_fd = -1;
	struct runtime_info info = { 0 };
	const char *runtime_path, *why = NULL;
	uint64_t runtime_base, entry;

	*dac_fd_ret = -1;
	*runtime_base_ret = 0;
	if (!cp_core_is_dotnet(core))
		return 0;
	rt->present = true;
	if (runtime) {
		runtime_path = runtime->path;
		runtime_base = runtime->start;
	} else if (cp_core_auxv(core, AT_ENTRY, &entry) &&
		   find_single_file(t, mods, entry, &runtime_path, &runtime_base, &info) == 0) {
		/* A single-file app: the runtime is the executable; the DAC is not in it. */
	} else {
		rt->dac_error = strdup("neither " RUNTIME_NAME " nor a single-file app's DotNetRuntimeInfo was found");
		return 0;
	}
	/* libcoreclr.so, or a single-file app's runtime: CoreCLR either way (NativeAOT has
	 * neither). */
	if (!rt->kind && !(rt->kind = strdup("coreclr")))
		return -ENOMEM;
	_cleanup_free_ char *copy = strdup(runtime_path);
	if (!copy)
		return -ENOMEM;
	dir = strdup(dirname(copy));
	if (!dir)
		return -ENOMEM;
	rt->directory = strdup(dir);
	rt->version = info.version[0] ? strdup(info.version) : runtime_version(dir, cp_target_file_fd(t, runtime_path));

	/* The DAC does not check that it matches the runtime; we do, by build-id. */
	const struct cp_module *rm = cp_modules_find(mods, runtime_base);
	if (rm && cp_module_build_id_match(rm) == 0) {
		if (asprintf(&rt->dac_error, "%s on disk is not the one the process ran (its build-id differs)",
			     runtime_path) < 0)
			rt->dac_error = NULL;
		return 0;
	}
	if (opts->disabled) {
		rt->dac_error = strdup("not used (--no-dac)");
		return 0;
	}
	if (opts->dac_path) {
		dac_path = strdup(opts->dac_path);
		if (!dac_path)
			return -ENOMEM;
		dac_fd = open_named(dac_path);
	} else {
		if (asprintf(&dac_path, "%s/%s", opts->runtime_dir ? opts->runtime_dir : dir, DAC_NAME) < 0) {
			dac_path = NULL;
			return -ENOMEM;
		}
		if (opts->runtime_dir)
			dac_fd = open_named(dac_path);
		else if (opts->trust == CP_DAC_TRUST_SYSTEM)
			dac_fd = cp_dac_open_trusted(dac_path, &why);
		else
			dac_fd = cp_open_in_root(rootfd, dac_path, false);
	}
	if (dac_fd < 0) {
		int r;
		if (dac_fd == -EPERM && why)
			r = asprintf(&rt->dac_error, "%s was not loaded: %s, and it came from a path the core named" HOW_TO_NAME,
				     dac_path, why);
		else
			r = asprintf(&rt->dac_error, "%s: %s%s", dac_path, strerror(-dac_fd),
				     info.dac_id_len ? " (a single-file app: give its DAC with --dac or --runtime-dir)" : "");
		if (r < 0)
			rt->dac_error = NULL;
		return 0;
	}
	/* The runtime names the build-id of the DAC it needs: nothing else is loaded. */
	if (info.dac_id_len) {
		unsigned char id[64];
		int n = cp_elf_build_id(dac_fd, id, sizeof(id));
		if (n != (int)info.dac_id_len || memcmp(id, info.dac_id, n) != 0) {
			if (asprintf(&rt->dac_error, "%s is not the DAC of this runtime (build-id differs)", dac_path) < 0)
				rt->dac_error = NULL;
			return 0;
		}
	}
	rt->dac = TAKE_PTR(dac_path);
	*runtime_base_ret = runtime_base;
	*dac_fd_ret = TAKE_FD(dac_fd);
	return 0;
}
