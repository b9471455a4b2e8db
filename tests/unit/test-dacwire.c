/*
 * test-dacwire.c - the DAC wire protocol (dac/wire.c): what the encoder writes, the parser
 * reads back unchanged; and each rule of the grammar and each bound rejects a stream that
 * breaks it, keeping the records before the violation and nothing after.
 *
 * With --write-seeds DIR it also writes the fuzzer's seed corpus
 * (tests/fuzz/corpus/dac-wire/) with the real encoder.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "wire.h"

static const pid_t tids[] = { 100, 101, 102 };
static const struct cp_wire_limits lim = { .tids = tids, .n_tids = 3, .max_frames = 4 };

/* A growing buffer the encoder writes to through a pipe. */
struct stream {
	uint8_t *buf;
	size_t len;
};

/* Run @emit with an fd of a temporary file, collect what it wrote. */
static struct stream encode(void (*emit)(int fd))
{
	struct stream s = { 0 };
	char tmp[] = "/tmp/test-dacwire.XXXXXX";
	int fd = mkstemp(tmp);

	unlink(tmp);
	emit(fd);
	off_t n = lseek(fd, 0, SEEK_END);
	s.buf = malloc(n + 1);
	s.len = pread(fd, s.buf, n, 0);
	close(fd);
	return s;
}

static struct cp_wire_frame frame(char kind, uint64_t ip, const char *name)
{
	struct cp_wire_frame f = { .kind = kind, .ip = ip, .sp = ip * 2, .token = 0x06000001, .has_il = true,
				   .il = 7, .name = (char *)name, .assembly = (char *)"Crasher.dll" };
	for (int i = 0; i < 8; i++)
		f.regs[i] = ip + i;
	return f;
}

static void emit_good(int fd)
{
	struct cp_wire_frame f1 = frame('m', 0x1000, "Program.Main(string[])");
	struct cp_wire_frame f2 = frame('c', 0x2000, NULL);
	struct cp_wire_frame f3 = frame('r', 0x3000, "\xe2\x80\xae" "bidi \x1b[31m kept for the sanitiser");

	cp_wire_put_start(fd);
	cp_wire_put_thread(fd, 100);
	struct cp_wire_exception_frame x1 = { .ip = 0x5001, .sp = 0x6000, .token = 0x06000002, .has_il = true,
					      .il = 0x12, .name = (char *)"Orders.Validate(Int32)",
					      .assembly = (char *)"Orders.dll" };
	struct cp_wire_exception_frame x2 = { .ip = 0x5101, .sp = 0x6100, .segment = 1,
					      .name = (char *)"Orders+<FireAndForget>d__0.MoveNext()" };

	/* An AggregateException (0) with two inner ones (1, 3), the first with its own inner
	 * one (2). */
	cp_wire_put_exception(fd, CP_WIRE_NO_PARENT, 0x80131500, "System.AggregateException", "outer");
	cp_wire_put_exception_frame(fd, 0, &x1);
	cp_wire_put_exception(fd, 0, 0x80004003, "System.NullReferenceException", NULL);
	cp_wire_put_exception_frame(fd, 1, &x1);
	cp_wire_put_exception_frame(fd, 1, &x2);
	cp_wire_put_exception(fd, 1, 0, "System.IO.IOException", "deep");
	cp_wire_put_exception(fd, 0, 0, "System.TimeoutException", "second");
	x2.segment = 0;
	cp_wire_put_exception_frame(fd, 3, &x2);
	cp_wire_put_frame(fd, &f1);
	cp_wire_put_frame(fd, &f2);
	cp_wire_put_thread(fd, 102);
	cp_wire_put_frame(fd, &f3);
	/* Names come after the walks, for any thread sent before. */
	cp_wire_put_thread_name(fd, 100, "settlement-worker \xc3\xa9");
	cp_wire_put_end(fd);
}

static void emit_error(int fd)
{
	cp_wire_put_start(fd);
	cp_wire_put_thread(fd, 101);
	cp_wire_put_error(fd, "CLRDataCreateInstance failed with HRESULT 0x%08x", 0x80131c4fu);
	cp_wire_put_end(fd);
}

static char long_str[3 * CP_WIRE_MAX_STRING];

static void emit_long(int fd)
{
	/* é is two bytes: a cut at the limit would fall inside one. */
	for (size_t i = 0; i + 1 < sizeof(long_str); i += 2)
		memcpy(long_str + i, "\xc3\xa9", 2);
	long_str[sizeof(long_str) - 1] = '\0';
	struct cp_wire_frame f = frame('m', 0x10, long_str);
	cp_wire_put_start(fd);
	cp_wire_put_thread(fd, 100);
	cp_wire_put_frame(fd, &f);
	cp_wire_put_end(fd);
}

static void test_round_trip(void)
{
	struct stream s = encode(emit_good);
	struct cp_wire_result r;

	CHECK(cp_wire_parse(s.buf, s.len, &lim, &r) == 0);
	CHECK(r.malformed[0] == '\0');
	CHECK(r.ended);
	CHECK(!r.error);
	CHECK(r.n_threads == 2);
	if (r.n_threads == 2) {
		struct cp_wire_thread *t = &r.threads[0];
		CHECK(t->tid == 100);
		CHECK(t->n_frames == 2);
		CHECK(t->n_exceptions == 4);
		CHECK(t->frames[0].kind == 'm' && t->frames[0].ip == 0x1000 && t->frames[0].sp == 0x2000);
		CHECK(t->frames[0].token == 0x06000001 && t->frames[0].has_il && t->frames[0].il == 7);
		CHECK(t->frames[0].regs[7] == 0x1007);
		CHECK(t->frames[0].name && strcmp(t->frames[0].name, "Program.Main(string[])") == 0);
		CHECK(t->frames[0].assembly && strcmp(t->frames[0].assembly, "Crasher.dll") == 0);
		CHECK(t->frames[1].kind == 'c' && !t->frames[1].name);
		CHECK(t->exceptions[0].hresult == 0x80131500);
		CHECK(strcmp(t->exceptions[0].type, "System.AggregateException") == 0);
		CHECK(strcmp(t->exceptions[0].message, "outer") == 0);
		CHECK(t->exceptions[0].parent == CP_WIRE_NO_PARENT && t->exceptions[0].depth == 0);
		CHECK(!t->exceptions[1].message);
		CHECK(t->exceptions[1].parent == 0 && t->exceptions[1].depth == 1);
		CHECK(t->exceptions[2].parent == 1 && t->exceptions[2].depth == 2);
		CHECK(t->exceptions[3].parent == 0 && t->exceptions[3].depth == 1);
		CHECK(t->exceptions[0].n_frames == 1 && t->exceptions[1].n_frames == 2);
		CHECK(t->exceptions[2].n_frames == 0 && t->exceptions[3].n_frames == 1);
		if (t->exceptions[1].n_frames == 2) {
			struct cp_wire_exception_frame *x = t->exceptions[1].frames;
			CHECK(x[0].ip == 0x5001 && x[0].sp == 0x6000 && x[0].token == 0x06000002);
			CHECK(x[0].has_il && x[0].il == 0x12 && x[0].segment == 0);
			CHECK(strcmp(x[0].name, "Orders.Validate(Int32)") == 0 && strcmp(x[0].assembly, "Orders.dll") == 0);
			CHECK(x[1].segment == 1 && !x[1].has_il && x[1].il == 0 && !x[1].assembly);
			CHECK(strcmp(x[1].name, "Orders+<FireAndForget>d__0.MoveNext()") == 0);
		}
		CHECK(t->managed_name && strcmp(t->managed_name, "settlement-worker \xc3\xa9") == 0);
		CHECK(!r.threads[1].managed_name);
		CHECK(r.threads[1].tid == 102 && r.threads[1].n_frames == 1);
		CHECK(r.threads[1].frames[0].name && strncmp(r.threads[1].frames[0].name, "\xe2\x80\xae", 3) == 0);
	}
	cp_wire_result_deinit(&r);

	/* Every prefix is a stream stopped mid-way: whole records kept, no violation. */
	for (size_t n = 0; n < s.len; n++) {
		CHECK(cp_wire_parse(s.buf, n, &lim, &r) == 0);
		CHECK(r.malformed[0] == '\0');
		CHECK(!r.ended);
		CHECK(r.n_threads <= 2);
		cp_wire_result_deinit(&r);
	}
	free(s.buf);

	s = encode(emit_error);
	CHECK(cp_wire_parse(s.buf, s.len, &lim, &r) == 0);
	CHECK(r.ended && !r.malformed[0]);
	CHECK(r.error && strcmp(r.error, "CLRDataCreateInstance failed with HRESULT 0x80131c4f") == 0);
	CHECK(r.n_threads == 1);
	cp_wire_result_deinit(&r);
	free(s.buf);

	s = encode(emit_long);
	CHECK(cp_wire_parse(s.buf, s.len, &lim, &r) == 0);
	CHECK(r.ended && !r.malformed[0]);
	CHECK(r.n_threads == 1 && r.threads[0].n_frames == 1);
	if (r.n_threads == 1 && r.threads[0].n_frames == 1) {
		size_t n = strlen(r.threads[0].frames[0].name);
		CHECK(n <= CP_WIRE_MAX_STRING && n >= CP_WIRE_MAX_STRING - 1 && n % 2 == 0);
	}
	cp_wire_result_deinit(&r);
	free(s.buf);
}

/* ---- hand-built streams ---- */

struct builder {
	uint8_t buf[1 << 20];
	size_t len;
	uint8_t p[CP_WIRE_MAX_RECORD + 64];
	size_t plen;
};

static struct builder b;

static void p_u8(uint8_t v) { b.p[b.plen++] = v; }
static void p_u32(uint32_t v) { for (int i = 0; i < 4; i++) p_u8(v >> (8 * i)); }
static void p_u64(uint64_t v) { p_u32(v); p_u32(v >> 32); }
static void p_str(const char *s, size_t n) { p_u32(n); memcpy(b.p + b.plen, s, n); b.plen += n; }
static void rec(uint8_t type)
{
	b.len += cp_wire_record(b.buf + b.len, sizeof(b.buf) - b.len, type, b.p, b.plen);
	b.plen = 0;
}
static void r_start(uint32_t version) { p_u32(version); rec(CP_WIRE_START); }
static void r_thread(uint32_t tid) { p_u32(tid); rec(CP_WIRE_THREAD); }
static void r_frame_str(char kind, const char *name, size_t n)
{
	p_u8(kind);
	p_u64(1); p_u64(2); p_u32(3); p_u8(0); p_u32(0);
	for (int i = 0; i < 8; i++)
		p_u64(i);
	p_str(name, n);
	p_str("", 0);
	rec(CP_WIRE_FRAME);
}
static void r_frame(char kind) { r_frame_str(kind, "f", 1); }
static void r_exc(uint32_t parent) { p_u32(parent); p_u32(0); p_str("T", 1); p_str("m", 1); rec(CP_WIRE_EXCEPTION); }
static void r_xframe(uint32_t exception, uint32_t segment, uint8_t has_il)
{
	p_u32(exception); p_u32(segment);
	p_u64(1); p_u64(2); p_u32(3); p_u8(has_il); p_u32(4);
	p_str("f", 1);
	p_str("", 0);
	rec(CP_WIRE_EXCEPTION_FRAME);
}
#define NP CP_WIRE_NO_PARENT
static void r_end(void) { rec(CP_WIRE_END); }
static void r_name(uint32_t tid, const char *name) { p_u32(tid); p_str(name, strlen(name)); rec(CP_WIRE_THREAD_NAME); }
static void r_repeat(uint32_t len, uint32_t count) { p_u32(len); p_u32(count); rec(CP_WIRE_REPEAT); }
static void r_omitted(uint64_t count) { p_u64(count); rec(CP_WIRE_OMITTED); }

/* Parse the built stream: it must be rejected with @why in the message, keeping
 * @threads threads. */
static void expect_bad(int line, const char *why, size_t threads)
{
	struct cp_wire_result r;
	int ret = cp_wire_parse(b.buf, b.len, &lim, &r);

	unit_checks++;
	if (ret != 0 || !strstr(r.malformed, why) || r.n_threads != threads) {
		unit_failures++;
		fprintf(stderr, "line %d: expected \"%s\" with %zu threads, got ret %d \"%s\" with %zu threads\n",
			line, why, threads, ret, r.malformed, r.n_threads);
	}
	cp_wire_result_deinit(&r);
	b.len = 0;
}
#define EXPECT_BAD(why, threads) expect_bad(__LINE__, why, threads)

static void test_rejections(void)
{
	/* Grammar. */
	r_thread(100); EXPECT_BAD("THREAD before START", 0);
	r_start(CP_WIRE_VERSION); r_start(CP_WIRE_VERSION); EXPECT_BAD("a second START", 0);
	r_start(1); EXPECT_BAD("protocol version 1", 0);
	r_start(CP_WIRE_VERSION); r_frame('m'); EXPECT_BAD("FRAME before any THREAD", 0);
	r_start(CP_WIRE_VERSION); r_exc(0); EXPECT_BAD("EXCEPTION before any THREAD", 0);
	r_start(CP_WIRE_VERSION); r_thread(100); r_end(); r_thread(101); EXPECT_BAD("bytes after END", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); p_str("x", 1); rec(CP_WIRE_ERROR); r_thread(101); EXPECT_BAD("THREAD after ERROR", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); rec(200); EXPECT_BAD("unknown record type 200", 1);
	r_start(CP_WIRE_VERSION); rec(0); EXPECT_BAD("unknown record type 0", 0);
	/* Threads: the core's, once each, so at most the core's number of them. */
	r_start(CP_WIRE_VERSION); r_thread(999); EXPECT_BAD("thread 999 is not a thread of the core", 0);
	r_start(CP_WIRE_VERSION); r_thread(100); r_thread(101); r_thread(100); EXPECT_BAD("thread 100 twice", 2);
	r_start(CP_WIRE_VERSION); r_thread(0); EXPECT_BAD("not a thread of the core", 0);
	/* Frames: at most max_frames per thread; known kinds. */
	r_start(CP_WIRE_VERSION); r_thread(100); for (int i = 0; i < 5; i++) r_frame('m');
	EXPECT_BAD("more than 4 frames", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('x'); EXPECT_BAD("frame kind 0x78", 1);
	/* Exceptions: a tree, the first one its root, parents before their inner ones, bounded
	 * in depth and number. */
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(0); EXPECT_BAD("exception 0 with parent 0", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_exc(NP); EXPECT_BAD("exception 1 with parent -1", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_exc(1); EXPECT_BAD("exception 1 with parent 1, not an earlier one", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP);
	for (unsigned i = 1; i < CP_WIRE_MAX_EXCEPTION_DEPTH; i++) r_exc(i - 1);
	r_exc(CP_WIRE_MAX_EXCEPTION_DEPTH - 1); EXPECT_BAD("exception depth 8", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP);
	for (unsigned i = 1; i < CP_WIRE_MAX_EXCEPTIONS; i++) r_exc(0);
	r_exc(0); EXPECT_BAD("more than 128 exceptions", 1);
	/* A new thread starts its own tree. */
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_thread(101); r_exc(0); EXPECT_BAD("thread 101: exception 0 with parent 0", 2);
	/* Exception frames: right after their exception, segments from 0 up by 0 or 1, bounded. */
	r_start(CP_WIRE_VERSION); r_thread(100); r_xframe(0, 0, 0); EXPECT_BAD("EXCEPTION_FRAME not after an EXCEPTION", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_frame('m'); r_xframe(0, 0, 0);
	EXPECT_BAD("EXCEPTION_FRAME not after an EXCEPTION", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_exc(0); r_xframe(0, 0, 0);
	EXPECT_BAD("a frame of exception 0 after exception 1", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_xframe(0, 1, 0); EXPECT_BAD("segment 1 after 0", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_xframe(0, 0, 0); r_xframe(0, 1, 0); r_xframe(0, 1, 0);
	r_xframe(0, 0, 0); EXPECT_BAD("segment 0 after 1", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_xframe(0, 0, 0); r_xframe(0, 2, 0); EXPECT_BAD("segment 2 after 0", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_xframe(0, 0, 2); EXPECT_BAD("has_il 2", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); for (int i = 0; i < 5; i++) r_xframe(0, 0, 1);
	EXPECT_BAD("exception 0: more than 4 frames", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); p_u32(0); p_u32(0); rec(CP_WIRE_EXCEPTION_FRAME);
	EXPECT_BAD("EXCEPTION_FRAME: payload too short", 1);
	/* Thread names: of the thread before, once, not empty. */
	r_start(CP_WIRE_VERSION); r_name(100, "x"); EXPECT_BAD("THREAD_NAME of thread 100 before its THREAD", 0);
	r_start(CP_WIRE_VERSION); r_thread(100); r_name(101, "x"); EXPECT_BAD("THREAD_NAME of thread 101 before its THREAD", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_thread(101); r_name(100, "x"); r_name(101, "y"); r_name(100, "z");
	EXPECT_BAD("thread 100: a second THREAD_NAME", 2);
	r_start(CP_WIRE_VERSION); r_thread(100); r_name(100, "x"); r_name(100, "y"); EXPECT_BAD("thread 100: a second THREAD_NAME", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_name(100, ""); EXPECT_BAD("thread 100: an empty THREAD_NAME", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_name(100, "x"); r_thread(101); EXPECT_BAD("THREAD after THREAD_NAME", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_name(100, "x"); r_xframe(0, 0, 0);
	EXPECT_BAD("EXCEPTION_FRAME after THREAD_NAME", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_name(100, "\xc0\xaf"); EXPECT_BAD("THREAD_NAME: a string that is not UTF-8", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); p_u32(100); p_u32(5); p_u8(0x61); p_u8(0x62); rec(CP_WIRE_THREAD_NAME);
	EXPECT_BAD("THREAD_NAME: payload too short", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); p_u32(100); p_str("ab", 2); p_u8(0); rec(CP_WIRE_THREAD_NAME);
	EXPECT_BAD("THREAD_NAME: 1 bytes left over", 1);
	/* Sizes. */
	r_start(CP_WIRE_VERSION); b.buf[b.len++] = CP_WIRE_THREAD; memcpy(b.buf + b.len, "\x01\x00\x01\x00", 4); b.len += 4;
	EXPECT_BAD("a record of 65537 bytes", 0);
	r_start(CP_WIRE_VERSION); p_u32(100); p_u8(0); rec(CP_WIRE_THREAD); EXPECT_BAD("THREAD: 1 bytes left over", 0);
	r_start(CP_WIRE_VERSION); p_u8(1); rec(CP_WIRE_THREAD); EXPECT_BAD("THREAD: payload too short", 0);
	p_u32(1); p_u32(0); rec(CP_WIRE_START); EXPECT_BAD("START: 4 bytes left over", 0);
	r_start(CP_WIRE_VERSION); r_end(); b.buf[b.len - 4] = 1; b.buf[b.len++] = 0; EXPECT_BAD("END: 1 bytes left over", 0);
	/* Strings: bounded, UTF-8, no NUL. */
	static char big[CP_WIRE_MAX_STRING + 1];
	memset(big, 'a', sizeof(big));
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', big, sizeof(big)); EXPECT_BAD("a string longer than the limit", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', "a\0b", 3); EXPECT_BAD("not UTF-8", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', "\xc0\xaf", 2); EXPECT_BAD("not UTF-8", 1);	/* overlong '/' */
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', "\xed\xa0\x80", 3); EXPECT_BAD("not UTF-8", 1);	/* surrogate */
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', "\xf4\x90\x80\x80", 4); EXPECT_BAD("not UTF-8", 1);	/* > U+10FFFF */
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', "\x9b", 1); EXPECT_BAD("not UTF-8", 1);	/* raw C1 CSI */
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame_str('m', "\xe2\x82", 2); EXPECT_BAD("not UTF-8", 1);	/* cut short */
	/* A string length past the record. */
	r_start(CP_WIRE_VERSION); r_thread(100);
	p_u8('m'); p_u64(0); p_u64(0); p_u32(0); p_u8(0); p_u32(0);
	for (int i = 0; i < 8; i++)
		p_u64(0);
	p_u32(1000); rec(CP_WIRE_FRAME);
	EXPECT_BAD("FRAME: payload too short", 1);

	/* The total: more than CP_WIRE_MAX_TOTAL bytes is a violation, the records in the
	 * first CP_WIRE_MAX_TOTAL bytes still count. */
	size_t cap = CP_WIRE_MAX_TOTAL + (1 << 16);
	uint8_t *huge = calloc(1, cap);
	size_t len = 0;
	uint8_t pl[4] = { CP_WIRE_VERSION, 0, 0, 0 };
	len += cp_wire_record(huge + len, cap - len, CP_WIRE_START, pl, 4);
	uint8_t tl[4] = { 100, 0, 0, 0 };
	len += cp_wire_record(huge + len, cap - len, CP_WIRE_THREAD, tl, 4);
	/* Filler: empty context frames of a thread, with no limit on frames. */
	struct cp_wire_limits many = { .tids = tids, .n_tids = 3, .max_frames = SIZE_MAX };
	while (len + 5 + 200 < cap) {
		uint8_t fp[98] = { 'c' };
		len += cp_wire_record(huge + len, cap - len, CP_WIRE_FRAME, fp, sizeof(fp));
	}
	struct cp_wire_result r;
	CHECK(cp_wire_parse(huge, len, &many, &r) == 0);
	CHECK(strstr(r.malformed, "bytes or more") != NULL);
	CHECK(r.n_threads == 1 && r.threads[0].n_frames > 1000);
	CHECK(!r.ended);
	cp_wire_result_deinit(&r);
	free(huge);
}

/* REPEAT and OMITTED (issue 8, deep stacks): read back onto the frames and the thread; a
 * cycle beyond the thread's frames, across another, cut by OMITTED, or out of range is a
 * violation that drops the thread's cycles. */
static void emit_folded(int fd)
{
	struct cp_wire_frame top = frame('m', 0x1000, "Top()");
	struct cp_wire_frame rec1 = frame('m', 0x2000, "Recurse(Int32)");
	struct cp_wire_frame bottom = frame('m', 0x3000, "Main()");

	cp_wire_put_start(fd);
	cp_wire_put_thread(fd, 100);
	cp_wire_put_frame(fd, &top);
	cp_wire_put_frame(fd, &rec1);
	cp_wire_put_repeat(fd, 1, 20000);
	cp_wire_put_omitted(fd, 12345);
	cp_wire_put_frame(fd, &bottom);
	cp_wire_put_end(fd);
}

static void test_folds(void)
{
	struct stream s = encode(emit_folded);
	struct cp_wire_result r;

	CHECK(cp_wire_parse(s.buf, s.len, &lim, &r) == 0);
	CHECK(!r.malformed[0] && r.ended && r.n_threads == 1);
	if (r.n_threads == 1 && r.threads[0].n_frames == 3) {
		struct cp_wire_thread *t = &r.threads[0];
		CHECK(t->frames[0].repeat_length == 0);
		CHECK(t->frames[1].repeat_length == 1 && t->frames[1].repeat_count == 20000);
		CHECK(t->omitted_after == 2 && t->n_omitted == 12345);
	}
	cp_wire_result_deinit(&r);
	free(s.buf);

	r_start(CP_WIRE_VERSION); r_thread(100); r_repeat(1, 2); EXPECT_BAD("REPEAT not after a FRAME", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(0, 2); EXPECT_BAD("a cycle of 0 frames", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(1, 1); EXPECT_BAD("a cycle of 1 frames 1 times", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(17, 2); EXPECT_BAD("a cycle of 17", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(3, 2); r_frame('m'); r_end();
	EXPECT_BAD("a REPEAT beyond its frames", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(2, 2); r_frame('m'); r_repeat(1, 5); r_frame('m');
	r_thread(101); EXPECT_BAD("across another", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(2, 2); r_omitted(4); r_frame('m'); r_end();
	EXPECT_BAD("across another", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_omitted(4); r_omitted(4); EXPECT_BAD("a second OMITTED", 1);
	r_start(CP_WIRE_VERSION); r_thread(100); r_omitted(0); EXPECT_BAD("OMITTED out of range", 1);
	r_omitted(4); EXPECT_BAD("OMITTED before START", 0);

	/* Cut short inside a thread: its cycles are checked (and dropped) all the same. */
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(4, 2);
	struct cp_wire_result cut;
	CHECK(cp_wire_parse(b.buf, b.len, &lim, &cut) == 0);
	CHECK(!cut.ended && strstr(cut.malformed, "beyond its frames") && cut.n_threads == 1 &&
	      cut.threads[0].frames[0].repeat_length == 0);
	cp_wire_result_deinit(&cut);
	b.len = 0;
	/* The same when an unknown record ends it (found by fuzz-dac-wire). */
	r_start(CP_WIRE_VERSION); r_thread(100); r_frame('m'); r_repeat(5, 2); rec(0);
	CHECK(cp_wire_parse(b.buf, b.len, &lim, &cut) == 0);
	CHECK(strstr(cut.malformed, "unknown record type 0") && cut.n_threads == 1 &&
	      cut.threads[0].frames[0].repeat_length == 0);
	cp_wire_result_deinit(&cut);
	b.len = 0;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void write_seeds(const char *dir)
{
	struct stream s = encode(emit_good);
	write_file(dir, "good", s.buf, s.len);
	write_file(dir, "cut", s.buf, s.len / 2);
	free(s.buf);
	s = encode(emit_error);
	write_file(dir, "error", s.buf, s.len);
	free(s.buf);
	s = encode(emit_long);
	write_file(dir, "long-string", s.buf, s.len);
	free(s.buf);
	r_start(CP_WIRE_VERSION); r_thread(100); r_thread(101); r_thread(100); r_end();
	write_file(dir, "duplicate-thread", b.buf, b.len);
	b.len = 0;
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_exc(0); r_exc(3); r_end();
	write_file(dir, "exception-gap", b.buf, b.len);
	b.len = 0;
	r_start(CP_WIRE_VERSION); r_thread(100); r_exc(NP); r_xframe(0, 0, 1); r_xframe(0, 1, 0); r_exc(0);
	r_xframe(1, 0, 0); r_exc(0); r_exc(2); r_xframe(3, 0, 1); r_thread(101); r_exc(NP); r_end();
	write_file(dir, "exception-tree", b.buf, b.len);
	r_start(CP_WIRE_VERSION); r_thread(100); r_name(100, "settlement-worker"); r_thread(101); r_name(100, "x"); r_name(101, "y");
	r_name(101, "z"); r_end();
	write_file(dir, "thread-name", b.buf, b.len);
	b.len = 0;
	s = encode(emit_folded);
	write_file(dir, "folded", s.buf, s.len);
	free(s.buf);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
		write_seeds(argv[2]);
		return 0;
	}
	test_round_trip();
	test_rejections();
	test_folds();
	return UNIT_DONE();
}
