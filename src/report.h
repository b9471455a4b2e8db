#ifndef CP_REPORT_H
#define CP_REPORT_H

/*
 * report - what crashpipe found, and its JSON form (schema "crashpipe/1", documented in
 * crashpipe-report(5)). Every stage fills these structs; how they become JSON and come
 * back is known only to the files the functions below are grouped by:
 *   report.c            the model: create, add, note, destroy
 *   report-to-json.c    the JSON writer, one *_to_json() per object (on json-writer.c)
 *   report-from-json.c  the strict reader, one *_from_json() per object, its mirror (on
 *                       json-reader.c, with it the only user of cJSON)
 *   report-file.c       writing and loading report files (plain or zstd)
 *   signame.c           signal and si_code names
 * A new member is a field here, a line in a *_to_json() and the same line in its
 * *_from_json(), and its entry in crashpipe-report(5).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "signame.h"

#define CP_SCHEMA "crashpipe/1"

/* CP_FRAME_INLINE: a call inlined into the physical native frame that follows it (inline.h);
 * it has that frame's ip, sp and module. */
enum cp_frame_kind { CP_FRAME_NATIVE, CP_FRAME_MANAGED, CP_FRAME_RUNTIME, CP_FRAME_INLINE, _CP_FRAME_KIND_MAX };

/* Which unwinder found a native frame (from its callee's): none for frame 0 (the thread's
 * registers) and for managed frames. */
enum cp_unwinder {
	CP_UNWINDER_NONE,
	CP_UNWINDER_LIBUNWIND,
	CP_UNWINDER_LIBDWFL,		/* dwfl_thread_getframes, by CFI */
	CP_UNWINDER_FRAME_POINTER,	/* no CFI for the callee: its frame pointer chain */
	CP_UNWINDER_SIGNAL_FRAME,	/* the registers the kernel saved in a signal frame
					 * that no CFI describes (musl's trampoline) */
	_CP_UNWINDER_MAX
};

struct cp_frame {
	uint64_t ip, sp;
	enum cp_frame_kind kind;
	char *module;			/* path of the module holding ip, or NULL */
	char *build_id;			/* hex, or NULL */
	uint64_t module_offset;		/* ip in the module's own addresses (ip - load bias) */
	char *function;			/* demangled, or NULL */
	uint64_t offset;		/* ip - function start */
	char *file;
	int line;			/* 0: unknown */
	bool has_module_offset, has_offset;
	enum cp_unwinder unwinder;	/* "unwinder": absent when CP_UNWINDER_NONE */
	/* managed frames */
	char *assembly;
	uint32_t token;
	uint32_t il_offset;
	bool has_token, has_il_offset;
	char *display;			/* the method as the runtime prints it in a stack trace
					 * ("Orders.FireAndForget(Int32 id)"), or NULL */
	int segment;			/* exception stacks only: 0 for the first segment the
					 * runtime prints, +1 after each "--- End of stack trace
					 * from previous location ---" */
	/* A folded cycle starts here: frames[i..i+repeat_length-1] occurred repeat_count
	 * times in a row, stored once. 0/0: no cycle. */
	uint32_t repeat_length, repeat_count;
	/* native frames: the address symbols were looked up at (ip, or ip - 1 for a return
	 * address), for the inline expansion (inline.h); not in the JSON */
	uint64_t lookup;
	bool has_lookup;
};

/* A managed exception, as the DAC found it on a thread. */
struct cp_exception {
	char *type, *message;
	int32_t hresult;
	bool has_hresult;
	/* The frames the exception object recorded (_stackTrace), in the order the runtime
	 * prints them; has_stack false: not known (null in the JSON). */
	struct cp_frame *stack;
	size_t n_stack;
	bool has_stack;
	/* InnerException, or all of an AggregateException's InnerExceptions; owned. */
	struct cp_exception **inners;
	size_t n_inners;
};

struct cp_thread {
	pid_t tid;
	char *name;
	char *managed_name;		/* Thread.Name, or NULL */
	bool crashed;
	bool truncated;			/* the frame cap was hit */
	char *error;			/* why unwinding stopped early, or NULL */
	struct cp_frame *frames;
	size_t n_frames;
	/* n_omitted > 0: that many frames were left out after the first omitted_after of
	 * frames (truncated is true then). */
	size_t omitted_after, n_omitted;
	struct cp_exception *exception;	/* the thread's current managed exception, or NULL */
};

struct cp_module_info {
	char *path;
	uint64_t base, end;		/* mapped address range */
	char *build_id;
	int build_id_match;		/* 1 yes, 0 no, -1 unknown */
	char *debuginfo;
	char *source;			/* where its file came from: "root", "exe", "module-dir",
					 * "debuginfod"; NULL: no file used */
	char *debuginfo_source;		/* where its debuginfo came from: the same names and
					 * "debug-dir"; NULL: none */
};

struct cp_process {
	pid_t pid, tid;
	char *exe, *comm, *cmdline;
	bool has_ids;
	uid_t uid;
	gid_t gid;
	int signal, si_code;
	bool has_si_code, has_fault_address;
	uint64_t fault_address;
	int64_t time;			/* -1: unknown */
	char *hostname, *boot_id, *cgroup;
	int64_t rlimit_core;		/* -1: unknown, INT64_MAX: unlimited (-1 in JSON) */
	bool restricted;		/* privileged process (or unknown): report for root only */
	char *core_writer;		/* "kernel", "createdump", "systemd-coredump", or NULL */
};

struct cp_runtime {
	bool present;			/* a .NET runtime was found in the process */
	char *kind;			/* "coreclr", "nativeaot", or NULL (unknown) */
	char *version, *directory, *dac, *dac_error;
	bool dac_timed_out;		/* not in the JSON */
};

struct cp_report {
	struct cp_process process;
	struct cp_runtime runtime;
	struct cp_thread *threads;
	size_t n_threads;
	struct cp_module_info *modules;
	size_t n_modules;
	char **notes;
	size_t n_notes;
	bool partial;
	bool live;			/* memory read from the process while it was dumped */
	char *signature;		/* the crash signature (signature.h), or NULL */
};

/* ---- report.c ---- */

struct cp_report *cp_report_create(void);
void cp_report_destroy(struct cp_report *report);

/* Add a thread (zeroed, tid set) and return it; NULL on ENOMEM. */
struct cp_thread *cp_report_add_thread(struct cp_report *report, pid_t tid);
/* The crashed thread of @report: the one marked crashed, else the first; NULL when @report
 * is NULL or has no thread. */
const struct cp_thread *cp_report_crashed_thread(const struct cp_report *report);
/* Append a frame (zeroed, ip/sp set) to @t; NULL on ENOMEM. */
struct cp_frame *cp_thread_add_frame(struct cp_thread *t, uint64_t ip, uint64_t sp);
struct cp_module_info *cp_report_add_module(struct cp_report *report);
void cp_frame_deinit(struct cp_frame *f);
/* Free @e, its stack and its inner exceptions (recursively). */
void cp_exception_destroy(struct cp_exception *e);
/* Append @inner (owned from then on, also on failure) to @e's inner exceptions; 0 or
 * -ENOMEM. */
int cp_exception_add_inner(struct cp_exception *e, struct cp_exception *inner);
/* Append a frame (zeroed, ip/sp set) to @e's stack and set has_stack; NULL on ENOMEM. */
struct cp_frame *cp_exception_add_frame(struct cp_exception *e, uint64_t ip, uint64_t sp);
const char *cp_frame_kind_name(enum cp_frame_kind kind);
/* "libunwind", "libdwfl", "frame-pointer", "signal-frame"; NULL for CP_UNWINDER_NONE. */
const char *cp_unwinder_name(enum cp_unwinder u);

/* Add a note (printf-style) on what could not be resolved; @partial marks the report so. */
void cp_report_note(struct cp_report *report, bool partial, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- report-to-json.c ---- */

/* Serialise into a new NUL-terminated string (pretty-printed). NULL on ENOMEM. */
char *cp_report_to_json(const struct cp_report *report);

/* ---- report-file.c ---- */

/* Write the report to @path atomically (a temporary file beside it, then rename): plain
 * JSON, or zstd-compressed JSON when @path ends in ".zst". With @path "-" print JSON on
 * stdout. Returns 0 or -errno. */
int cp_report_write(const struct cp_report *report, const char *path);

/* Write JSON text that claims to be a report (made by another process) the same way,
 * after checking that it parses and carries our schema. -EINVAL when it does not. */
int cp_report_write_json(const char *json, size_t len, const char *path);

/* The same for JSON that cp_report_parse() has accepted already (not checked again). */
int cp_report_write_parsed_json(const char *json, size_t len, const char *path);

/* The same as a file @name (no '/') in the directory @dir_fd (the spool, cp_spool_open()):
 * a new file of mode 0600 (root:root when we are root), made without a name (O_TMPFILE) or
 * under a fresh random one (O_EXCL), then renamed within @dir_fd. Nothing at @name is
 * followed or written into; only file descriptors are chmod'ed and chown'ed. A report with a
 * signature gives the file the extended attribute CP_SIGNATURE_XATTR (where the file system
 * has user xattrs). */
int cp_report_write_at(const struct cp_report *report, int dir_fd, const char *name);
int cp_report_write_json_at(int dir_fd, const char *name, const char *json, size_t len);

/* Read a report written by cp_report_write() (plain or zstd) with cp_report_parse(). Only a
 * regular file is read: the entry is looked at through O_PATH|O_NOFOLLOW, then that inode
 * opened O_RDONLY|O_NONBLOCK|O_NOCTTY (a symlink, a FIFO or a device is refused, never
 * opened or waited on), of at most CP_REPORT_MAX_SIZE bytes, compressed or not. Returns 0 or
 * -errno; *@error_ret gets a static reason for -EINVAL, -ELOOP (a symlink), -EFBIG (too
 * large) and -EBADF (not a regular file). */
int cp_report_load(const char *path, struct cp_report **ret, const char **error_ret);
/* The same for @name in the directory @dir_fd (AT_FDCWD for the working directory). */
int cp_report_loadat(int dir_fd, const char *name, struct cp_report **ret, const char **error_ret);

/* ---- report-from-json.c ---- */

/* Bounds of the strict reader (crashpipe-report(5)): JSON text of at most
 * CP_REPORT_MAX_SIZE bytes (after decompression), nested at most CP_REPORT_MAX_DEPTH deep,
 * holding at most CP_REPORT_MAX_VALUES values (cJSON spends ~100 bytes on each). */
#define CP_REPORT_MAX_SIZE (64u << 20)
#define CP_REPORT_MAX_DEPTH 64
#define CP_REPORT_MAX_VALUES 2000000u
#define CP_REPORT_MAX_THREADS 100000u
#define CP_REPORT_MAX_FRAMES 1000000u	/* per thread or exception: --max-frames' own limit */
#define CP_REPORT_MAX_MODULES 100000u
#define CP_REPORT_MAX_NOTES 100000u
#define CP_REPORT_MAX_INNERS 64u		/* inner exceptions of one (AggregateException) */
#define CP_REPORT_MAX_NESTING 16u		/* inner exceptions below the thread's */

/* Parse @len bytes of JSON text (need not be NUL-terminated) as a report, strictly: exactly
 * one JSON value (only whitespace after it), an object whose "schema" is CP_SCHEMA, within
 * the bounds above, every field of the right type and range. Nothing in @json is trusted.
 * Returns 0 or -errno; -EINVAL with a static reason in *@why (never NULL then). */
int cp_report_parse(const char *json, size_t len, struct cp_report **ret, const char **why);

#endif
