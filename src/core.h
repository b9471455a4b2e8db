#ifndef CP_CORE_H
#define CP_CORE_H

/*
 * core - an ELF64 x86_64 core file read in one forward pass.
 *
 * The kernel writes the notes first and then every PT_LOAD in address order; the reader
 * parses the notes, decides which memory the report needs (the stacks, small segments
 * such as ELF header pages and the vDSO) and keeps just that, so a stream of any size
 * costs a bounded amount of memory. A plain core file on disk is not copied at all: its
 * segments are read in place later (cp_core_read_mem).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* The bounds of ids the notes may give (a report holds no others): the kernel's
 * PID_MAX_LIMIT, and the highest signal number. */
#define CP_PID_MAX 4194304
#define CP_SIGNAL_MAX 64

struct cp_input;

struct cp_core_config {
	uint64_t max_stack;		/* bytes kept per thread stack, from its SP upwards */
	uint64_t keep_all_below;	/* keep every segment when all of them fit in this */
	uint64_t max_notes;		/* largest PT_NOTE segment accepted */
	uint64_t max_keep_dotnet;	/* bytes kept of a .NET process's stream (the DAC reads its heap) */
	/* A stream whose notes come after its memory (gdb's gcore, and any writer but the
	 * kernel and createdump) cannot be read in one pass: with @spool set it is copied to
	 * an unlinked temporary file in $TMPDIR or /var/tmp, at most max_spool bytes and what
	 * leaves free space on that filesystem, and read from there. Off for the kernel's
	 * stream (handle), which keeps its one pass. */
	bool spool;
	uint64_t max_spool;
};

#define CP_CORE_CONFIG_DEFAULT { \
	.max_stack = 32ull << 20, .keep_all_below = 4ull << 20, .max_notes = 64ull << 20, \
	.max_keep_dotnet = 4ull << 30, .spool = false, .max_spool = 32ull << 30 }

struct cp_segment {
	uint64_t vaddr, memsz, filesz, offset;
	uint32_t flags;			/* PF_R | PF_W | PF_X */
	/* Bytes kept in memory (streams only): [vaddr + keep_lo, vaddr + keep_hi). */
	uint64_t keep_lo, keep_hi;
	unsigned char *data;		/* mmap()ed, data_len bytes */
	uint64_t data_len;
};

/* One NT_FILE entry: a file-backed mapping. */
struct cp_mapping {
	uint64_t start, end, offset;	/* offset in bytes into the file */
	const char *path;		/* points into the core's NT_FILE copy */
};

struct cp_core_thread {
	pid_t tid;
	int cursig;
	struct user_regs_struct regs;
};

/* Who wrote the core, told by its notes (cp_core.writer). */
enum cp_core_writer {
	CP_CORE_WRITER_UNKNOWN = 0,
	CP_CORE_WRITER_KERNEL,		/* the first note is the crashed thread's NT_PRSTATUS */
	CP_CORE_WRITER_CREATEDUMP,	/* the .NET runtime's createdump (dotnet-dump collect,
					 * DOTNET_DbgEnableMiniDump) */
	CP_CORE_WRITER_GCORE,		/* gdb's gcore: NT_PRPSINFO first, untagged */
};

struct cp_core {
	/* Every field is written by core.c only; the rest of the program reads them. */
	struct cp_input *in;		/* kept while a seekable core can still be read */
	struct cp_input *spool;		/* owned: the temporary copy of a stream (cp_core_config.spool),
					 * then also in */
	unsigned char *bounce;		/* for reading a stream past its zero pages */
	uint64_t size;			/* bytes of core data seen */

	struct cp_segment *segs;
	size_t n_segs;
	struct cp_mapping *maps;
	size_t n_maps;
	/* In note order. The kernel writes the thread that crashed first; createdump writes
	 * them in /proc/PID/task order and gives only the crashed one a cursig. */
	struct cp_core_thread *threads;
	size_t n_threads;
	size_t crashed;			/* index of the thread that crashed (0 for the kernel) */
	bool crash_known;		/* false: a dump of a process that had not crashed, or
					 * a createdump dump whose notes do not say which */
	enum cp_core_writer writer;

	bool has_psinfo;
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	char fname[17];
	char psargs[81];

	bool has_siginfo;
	int si_signo, si_errno, si_code;
	uint64_t fault_addr;
	bool has_fault_addr;

	uint64_t *auxv;			/* pairs of (type, value) */
	size_t n_auxv;

	/* Raw notes the kernel wrote, and the parts of them that belong to all threads. */
	unsigned char *notes;
	size_t notes_len;
	size_t *note_segs;		/* where each PT_NOTE segment's notes start in notes */
	size_t n_note_segs;
	char *file_strings;		/* NT_FILE's copy */

	/* What went wrong while reading, one line each; the report carries them. */
	char **problems;
	size_t n_problems;
	bool partial;
};

/* Read the core from @in (borrowed until cp_core_destroy() when seekable). Returns 0 or
 * -errno; on failure *@error_ret (if not NULL) gets a static description of what is wrong
 * and *ret is untouched. A core that is damaged after its notes still yields a core with
 * partial set and problems recorded. */
int cp_core_read(struct cp_input *in, const struct cp_core_config *cfg,
		 struct cp_core **ret, const char **error_ret);
void cp_core_destroy(struct cp_core *core);

/* cp_core_read() in two steps: the headers and notes (threads, registers, NT_FILE: all a
 * live analysis needs), then the memory of a stream, kept as cp_core_read() keeps it. A
 * core between the two must not be read from; after the first, its @in is still in use. */
int cp_core_read_head(struct cp_input *in, const struct cp_core_config *cfg,
		      struct cp_core **ret, const char **error_ret);
int cp_core_read_rest(struct cp_core *core, const struct cp_core_config *cfg);
/* Forget the core's input after cp_core_read_head(): a process that closed it (the live
 * analysis child of handle, which must not hold the kernel's pipe) keeps the notes only;
 * its memory comes from the live process (cp_target_set_live()). */
void cp_core_drop_input(struct cp_core *core);

/* cp_core_read_rest() reads a stream up to the end of its last segment, for at most this
 * many seconds; whatever comes after is left for the caller (cp_input_drain_max()). */
#define CP_CORE_DRAIN_SECONDS 20

/* Copy @len bytes of the crashed process's memory at @addr that the core itself holds.
 * Returns the number of bytes copied from the start (0 when @addr is not in the core),
 * or -errno. File-backed memory the core left out, and the live process's memory, are the
 * target's business (target.h). */
ssize_t cp_core_read_mem(struct cp_core *core, uint64_t addr, void *buf, size_t len);

/* Does the process run .NET (libcoreclr.so mapped, or the JIT's double-mapped memfd of a
 * single-file app)? A claim by names the process chose: good enough for what costs the
 * process itself (its live analysis, its hint), not for what costs the machine. */
bool cp_core_is_dotnet(const struct cp_core *core);

/*
 * What a .NET process's stream may keep (cp_core_config.max_keep_dotnet): the DAC reads the
 * runtime's data and the GC heap, so that memory is kept whole, up to @max, where any other
 * process keeps its stacks and small segments (keep_all_below). The root handler keeps it in
 * its own memory, and "is .NET" only means a mapped file is named libcoreclr.so, so a name
 * alone grants nothing (issue 7, finding 9). The budget is granted when
 *  - the runtime's file (libcoreclr.so, or the executable of a single-file app), looked at
 *    inside the process's root @rootfd without following links, is a regular file owned by
 *    root that nobody else may write: an installed runtime, the host's or a container
 *    image's, not a user's copy of any file under that name; and then it is at most
 *  - a quarter of MemAvailable: a user may still map the machine's real runtime without
 *    running it (or bind-mount it in a namespace of their own), and what the handler keeps
 *    must be what the machine can afford beside everything else on it. Concurrent handlers
 *    each see the memory kept by those before them gone from MemAvailable.
 * RLIMIT_CORE (%c) is not used: the kernel pipes the whole core whatever it is, and most
 * services run with 0.
 * Returns the budget, or 0 for none (then a problem on @core says why, for the report).
 */
uint64_t cp_core_dotnet_budget(struct cp_core *core, int rootfd, uint64_t max);

/* The segment holding @addr, or NULL. */
const struct cp_segment *cp_core_segment_at(const struct cp_core *core, uint64_t addr);

/* The NT_FILE mapping holding @addr, or NULL. */
const struct cp_mapping *cp_core_mapping_at(const struct cp_core *core, uint64_t addr);

/* The value of auxv entry @type; false when absent. */
bool cp_core_auxv(const struct cp_core *core, uint64_t type, uint64_t *val_ret);

/* Write a core holding only the process and thread notes (no NT_FILE, no memory, no
 * NT_PRSTATUS too short to be a thread: libunwind would read past it) to @fd:
 * what libunwind-coredump needs to serve threads and registers. Returns 0 or -errno. */
int cp_core_write_notes(const struct cp_core *core, int fd);

/* Record a problem (printf-style), for the report's notes. */
void cp_core_problem(struct cp_core *core, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
