#ifndef CP_LOCATE_H
#define CP_LOCATE_H

/*
 * locate - where the file of a mapped module, and its separate debuginfo, come from.
 *
 * modules.c asks once per module, with what the core says of it: the path it was mapped
 * from (NT_FILE), the build-id the core holds (none for a core without the ELF header
 * page), and whether it is the executable (the module holding AT_ENTRY). The places tried,
 * in this order, are
 *
 *   its file    1. --exe FILE                              (the executable only)
 *               2. each --module-dir DIR: a regular file there with the core's build-id,
 *                  or, when the core has none, the one with the module's file name
 *               3. the path inside the root: the process's root (handle), --sysroot, or /
 *               4. debuginfod, by build-id                 (when enabled, see below)
 *   debuginfo   1. the debug cache (debugcache.h, host's root only)
 *               2. each --debug-dir DIR: DIR/.build-id/XX/REST.debug
 *               3. /usr/lib/debug/.build-id/XX/REST.debug inside the root
 *               4. the .gnu_debuglink name: beside the file, in .debug/ beside it and
 *                  /usr/lib/debug/FILEDIR/ inside the root; in each --module-dir; in each
 *                  --debug-dir as DIR/FILEDIR/NAME and DIR/NAME (gdb's debug-file-directory)
 *               5. debuginfod, by build-id
 *
 * A file named by the user (1, 2) or fetched (4, 5) whose build-id is not the one the core
 * holds is never used: the refusal is a note in the report. The root's file is handed on
 * unchecked when nothing after it could be tried: modules.c compares it with the core as it
 * always has. The root's debug files are checked by libdwfl, which refuses a mismatch.
 *
 * Files under the root are opened with cp_open_in_root() (fsopen.h: no links followed
 * where none may be, inside the root); those in a --module-dir or --debug-dir are opened
 * with the directory as the root, the .build-id links resolved inside it. The directories
 * and --exe are opened once, by the command (cp_locate_add_dir, cp_locate_set_exe), so a
 * bad one is an error there and the analysis, wherever it runs, only uses the fds.
 *
 * debuginfod (libdebuginfod, when built with it): only when the options ask for it and
 * DEBUGINFOD_URLS is set and not empty, as libdwfl decides; `analyze` asks by default,
 * `handle` (root, on a crash) only when configured to.
 */

#include <stdbool.h>
#include <stddef.h>

struct cp_report;
struct cp_target;
struct cp_locate;

/* Where a file came from; cp_source_name() gives its name in the report. */
enum cp_source {
	CP_SOURCE_NONE,
	CP_SOURCE_ROOT,		/* "root": the process's root or --sysroot (debug cache too) */
	CP_SOURCE_EXE,		/* "exe": --exe */
	CP_SOURCE_MODULE_DIR,	/* "module-dir" */
	CP_SOURCE_DEBUG_DIR,	/* "debug-dir" (debuginfo only) */
	CP_SOURCE_DEBUGINFOD,	/* "debuginfod" */
};

/* The report's name of @s, NULL for CP_SOURCE_NONE. */
const char *cp_source_name(enum cp_source s);

struct cp_locate_dir {
	const char *name;	/* as given, for notes and the report */
	int fd;			/* O_PATH directory fd, owned by the options */
};

struct cp_locate_options {
	const char *exe;	/* --exe, or NULL */
	int exe_fd;		/* its fd, owned by the options; -1 without */
	struct cp_locate_dir *module_dirs, *debug_dirs;
	size_t n_module_dirs, n_debug_dirs;
	bool debuginfod;	/* may fetch from DEBUGINFOD_URLS */
	/* Who fetches: NULL, this process (libdebuginfod, here); else @fetch, called with
	 * @fetch_arg, as cp_locate_fetch() is: analyze's analysis child may open no socket and
	 * asks its parent (analyze-child.c). */
	int (*fetch)(void *fetch_arg, const char *hex, bool exe, char **name_ret);
	void *fetch_arg;
};

#define CP_LOCATE_OPTIONS_INIT { .exe_fd = -1 }

/* Open @path as --exe: 0, or -errno with *@why a reason for the one-line error ("not a
 * regular file", "not an ELF file"...) when it is not an errno's. */
int cp_locate_set_exe(struct cp_locate_options *o, const char *path, const char **why);

/* Open the directory @path and add it to @o's module dirs (@debug false) or debug dirs:
 * 0 or -errno. */
int cp_locate_add_dir(struct cp_locate_options *o, const char *path, bool debug);

/* Fetch the executable (@exe) or the debuginfo of build-id @hex (lower-case hex,
 * cp_build_id_hex_valid()) from DEBUGINFOD_URLS with libdebuginfod, in this process: an fd
 * of the file in debuginfod's cache with *@name_ret its path (malloc'd), or -errno
 * (-ENOENT when crashpipe was built without debuginfod or libdebuginfod is not installed).
 * Not thread-safe: one caller at a time. */
int cp_locate_fetch(const char *hex, bool exe, char **name_ret);

/* Close the fds and free the arrays of @o. */
void cp_locate_options_deinit(struct cp_locate_options *o);

/* A locator for one analysis. @o (may be NULL: the root only), @t and @report are borrowed
 * and must outlive it; @debug_cache (may be NULL) as for cp_modules_create(). NULL on
 * ENOMEM. */
struct cp_locate *cp_locate_create(const struct cp_locate_options *o, struct cp_target *t, const char *debug_cache,
				   struct cp_report *report);
void cp_locate_destroy(struct cp_locate *l);

/*
 * The file for the module mapped from @path (the core's NT_FILE path), whose build-id in
 * the core is @id (@id_len 0: unknown), the executable when @is_exe. Returns an fd that
 * @t owns and reads the module's mappings from (cp_target_use_file() for a file found
 * elsewhere than the root), with *@src and *@where (borrowed from the locator: the file
 * as found, for notes) set; or -errno when there is none, with *@refused true when a
 * candidate was refused for its build-id (noted).
 */
int cp_locate_module(struct cp_locate *l, const char *path, const unsigned char *id, size_t id_len, bool is_exe,
		     enum cp_source *src, const char **where, bool *refused);

/* Separate debuginfo with build-id @hex (NULL: unknown) for the module mapped from @path
 * (its file from @module_src), whose .gnu_debuglink names @debuglink (may be NULL).
 * Returns an fd (the caller's: libdwfl takes it) with *@name_ret a new string naming the
 * file and *@src set, or -errno. */
int cp_locate_debuginfo(struct cp_locate *l, const char *hex, const char *path, enum cp_source module_src,
			const char *debuglink, char **name_ret, enum cp_source *src);

#endif
