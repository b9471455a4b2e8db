#ifndef CP_DAC_WIRE_H
#define CP_DAC_WIRE_H

/*
 * wire - the protocol between the DAC's process and its parent: the encoder the worker
 * writes with and the strict, bounded parser the parent reads with. Nothing here knows the
 * DAC, libdw or the target, so a fuzzer links this file alone.
 *
 * The stream is a sequence of records, each
 *
 *   u8 type | u32 length (little-endian) | payload (length bytes, at most CP_WIRE_MAX_RECORD)
 *
 * Integers in payloads are little-endian of fixed width; a string is a u32 length and that
 * many bytes of UTF-8 (at most CP_WIRE_MAX_STRING, no NUL, no overlong forms, no
 * surrogates). Records:
 *
 *   START     1  u32 version (CP_WIRE_VERSION)                      first, exactly once
 *   THREAD    2  u32 tid                                            a thread the DAC knows
 *   FRAME     3  u8 kind ('m' managed method, 'r' runtime-managed code, 'c' context only),
 *                u64 ip, u64 sp, u32 token, u8 has_il, u32 il,
 *                u64 regs[8] (rip rsp rbp rbx r12 r13 r14 r15), str name, str assembly
 *   EXCEPTION 4  u32 parent (CP_WIRE_NO_PARENT for the thread's exception, else the index
 *                of an earlier EXCEPTION of the thread, counted from 0 in the order they
 *                came), u32 hresult, str type, str message
 *   ERROR     5  str message                                       why the DAC gave up
 *   END       6  (empty)                                           last, exactly once
 *   EXCEPTION_FRAME
 *             7  u32 exception (the index of the EXCEPTION just before), u32 segment,
 *                u64 ip, u64 sp, u32 token, u8 has_il, u32 il, str name, str assembly:
 *                one frame of the stack trace the exception object recorded, in the order
 *                the runtime prints them; segment 0 first, +1 after each "--- End of stack
 *                trace from previous location ---"
 *   THREAD_NAME 8  u32 tid, str name (not empty)                   the managed Thread.Name
 *   REPEAT    9  u32 length, u32 count: the FRAME just before starts a folded cycle: it
 *                and the next length-1 FRAMEs of the thread occurred count times in a
 *                row there (1 <= length <= CP_WIRE_MAX_PERIOD, 2 <= count <=
 *                CP_WIRE_MAX_REPEAT), sent once (src/fold.h)
 *   OMITTED  10  u64 count: the walk left count frames of the thread out here, between
 *                the FRAME before and the next one (1 <= count <= CP_WIRE_MAX_REPEAT;
 *                at most once a thread)
 *
 * Grammar: START (THREAD (FRAME REPEAT? | EXCEPTION EXCEPTION_FRAME* | OMITTED |
 * THREAD_NAME)*)* ERROR? END, and nothing after END; FRAME, EXCEPTION and OMITTED belong
 * to the THREAD before them. A thread is one of the core's threads and comes once; a
 * thread has at most max_frames FRAMEs (the worker walks to the bottom and folds what it
 * found into them); a cycle's frames are the thread's, belong to no other cycle and no
 * OMITTED falls among them. Its exceptions form a tree: the first one (index 0) and only
 * it has no parent, each other one's parent came before it, at most
 * CP_WIRE_MAX_EXCEPTION_DEPTH deep and CP_WIRE_MAX_EXCEPTIONS in all (an
 * AggregateException has several inner ones). An exception has at most max_frames frames,
 * their segments start at 0 and grow by 0 or 1 from frame to frame. A THREAD_NAME names
 * any thread whose THREAD came before, at most once per thread (the worker sends the
 * names after every walk, so that a DAC failing on them costs no frames). The whole
 * stream is less than CP_WIRE_MAX_TOTAL bytes. Unknown types, a record of the wrong size
 * and a payload with bytes left over are violations.
 *
 * Strings are checked to be UTF-8 and nothing more: control characters and bidi overrides
 * are the business of the report's writer (JSON escapes) and of the terminal sanitiser of
 * `show`, like every other string from the crashed process.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CP_WIRE_VERSION 2
#define CP_WIRE_MAX_RECORD (64u << 10)
#define CP_WIRE_MAX_TOTAL (8u << 20)
#define CP_WIRE_MAX_STRING 4096u
#define CP_WIRE_MAX_EXCEPTION_DEPTH 8u
#define CP_WIRE_MAX_EXCEPTIONS 128u
#define CP_WIRE_NO_PARENT 0xffffffffu
#define CP_WIRE_MAX_PERIOD 16u
#define CP_WIRE_MAX_REPEAT (1u << 20)

enum cp_wire_type {
	CP_WIRE_START = 1,
	CP_WIRE_THREAD = 2,
	CP_WIRE_FRAME = 3,
	CP_WIRE_EXCEPTION = 4,
	CP_WIRE_ERROR = 5,
	CP_WIRE_END = 6,
	CP_WIRE_EXCEPTION_FRAME = 7,
	CP_WIRE_THREAD_NAME = 8,
	CP_WIRE_REPEAT = 9,
	CP_WIRE_OMITTED = 10,
};

struct cp_wire_frame {
	char kind;			/* 'm', 'r' or 'c' */
	uint64_t ip, sp;
	uint32_t token, il;
	bool has_il;
	uint64_t regs[8];		/* rip rsp rbp rbx r12 r13 r14 r15 */
	char *name, *assembly;		/* NULL when empty */
	uint32_t repeat_length, repeat_count;	/* REPEAT: a cycle starts here (0: none) */
};

/* One frame of an exception object's recorded stack trace. */
struct cp_wire_exception_frame {
	uint64_t ip, sp;
	uint32_t token, il, segment;
	bool has_il;
	char *name, *assembly;		/* NULL when empty */
};

struct cp_wire_exception {
	uint32_t parent;		/* an earlier index, or CP_WIRE_NO_PARENT for [0] */
	uint32_t depth;			/* 0 for [0], its parent's + 1 */
	uint32_t hresult;
	char *type, *message;		/* NULL when empty */
	struct cp_wire_exception_frame *frames;
	size_t n_frames;
};

struct cp_wire_thread {
	pid_t tid;
	struct cp_wire_frame *frames;
	size_t n_frames;
	/* [0] is the thread's exception, each other one an inner one of its parent; in the
	 * order they came (a parent before its inner ones). */
	struct cp_wire_exception *exceptions;
	size_t n_exceptions;
	bool in_exception;		/* parser state: EXCEPTION_FRAMEs may follow */
	char *managed_name;		/* THREAD_NAME's, or NULL */
	size_t omitted_after;		/* OMITTED: n_omitted frames left out after frames[0..after) */
	uint64_t n_omitted;
};

struct cp_wire_result {
	struct cp_wire_thread *threads;
	size_t n_threads;
	char *error;			/* the ERROR record's message */
	bool ended;			/* the END record came */
	/* The first violation: the records before it are kept, nothing after it. */
	char malformed[160];
};

/* ---- encoder (the DAC's process) ----
 * Each writes one whole record to @fd; strings are cut to CP_WIRE_MAX_STRING bytes at a
 * character boundary. Return 0 or -errno. */
int cp_wire_put_start(int fd);
int cp_wire_put_thread(int fd, pid_t tid);
int cp_wire_put_frame(int fd, const struct cp_wire_frame *f);
int cp_wire_put_exception(int fd, uint32_t parent, uint32_t hresult, const char *type, const char *message);
int cp_wire_put_exception_frame(int fd, uint32_t exception, const struct cp_wire_exception_frame *f);
int cp_wire_put_error(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cp_wire_put_end(int fd);
int cp_wire_put_thread_name(int fd, pid_t tid, const char *name);
int cp_wire_put_repeat(int fd, uint32_t length, uint32_t count);
int cp_wire_put_omitted(int fd, uint64_t count);

/* Encode into a buffer instead (for seeds and tests): the record of @type with @payload. */
size_t cp_wire_record(uint8_t *buf, size_t cap, uint8_t type, const void *payload, uint32_t len);

/* ---- parser (the parent) ---- */
struct cp_wire_limits {
	const pid_t *tids;		/* the core's threads: the only tids accepted */
	size_t n_tids;
	size_t max_frames;		/* per thread, and per exception */
};

/* Parse @len bytes into *@res (zeroed here). Returns 0 (res->malformed[0] set on a
 * violation, res->ended when the stream was whole) or -ENOMEM. */
int cp_wire_parse(const uint8_t *buf, size_t len, const struct cp_wire_limits *lim, struct cp_wire_result *res);
void cp_wire_result_deinit(struct cp_wire_result *res);

/* Is [s, s + n) UTF-8 without NUL, overlong forms or surrogates? */
bool cp_wire_utf8_valid(const uint8_t *s, size_t n);

#endif
