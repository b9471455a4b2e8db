/*
 * wire.c - see wire.h. The encoder builds each record in a buffer and writes it whole; the
 * parser walks a buffer the parent collected, record by record, and stops at the first
 * thing that is not exactly what the grammar allows.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"

/* ---- encoder ---- */

struct enc {
	uint8_t buf[5 + CP_WIRE_MAX_RECORD];
	size_t len;
	bool overflow;
};

static void enc_bytes(struct enc *e, const void *p, size_t n)
{
	if (e->overflow || n > sizeof(e->buf) - e->len) {
		e->overflow = true;
		return;
	}
	if (n)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void enc_u8(struct enc *e, uint8_t v)
{
	enc_bytes(e, &v, 1);
}

static void enc_u32(struct enc *e, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };
	enc_bytes(e, b, 4);
}

static void enc_u64(struct enc *e, uint64_t v)
{
	enc_u32(e, (uint32_t)v);
	enc_u32(e, (uint32_t)(v >> 32));
}

/* At most CP_WIRE_MAX_STRING bytes, not cutting a character in two. */
static void enc_str(struct enc *e, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > CP_WIRE_MAX_STRING) {
		n = CP_WIRE_MAX_STRING;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	enc_u32(e, n);
	enc_bytes(e, s, n);
}

static void enc_begin(struct enc *e, uint8_t type)
{
	e->len = 0;
	e->overflow = false;
	enc_u8(e, type);
	enc_u32(e, 0);		/* the length, filled in by enc_send() */
}

static int enc_send(struct enc *e, int fd)
{
	if (e->overflow)
		return -EMSGSIZE;
	uint32_t n = e->len - 5;
	uint8_t b[4] = { n, n >> 8, n >> 16, n >> 24 };
	memcpy(e->buf + 1, b, 4);
	for (size_t off = 0; off < e->len;) {
		ssize_t w = write(fd, e->buf + off, e->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += w;
	}
	return 0;
}

/* One encoder per process: the worker is single-threaded. */
static struct enc enc;

int cp_wire_put_start(int fd)
{
	enc_begin(&enc, CP_WIRE_START);
	enc_u32(&enc, CP_WIRE_VERSION);
	return enc_send(&enc, fd);
}

int cp_wire_put_thread(int fd, pid_t tid)
{
	enc_begin(&enc, CP_WIRE_THREAD);
	enc_u32(&enc, (uint32_t)tid);
	return enc_send(&enc, fd);
}

/* The part of a method FRAME and EXCEPTION_FRAME share (get_method() reads it). */
static void enc_method(struct enc *e, uint64_t ip, uint64_t sp, uint32_t token, bool has_il, uint32_t il)
{
	enc_u64(e, ip);
	enc_u64(e, sp);
	enc_u32(e, token);
	enc_u8(e, has_il);
	enc_u32(e, has_il ? il : 0);
}

int cp_wire_put_frame(int fd, const struct cp_wire_frame *f)
{
	enc_begin(&enc, CP_WIRE_FRAME);
	enc_u8(&enc, (uint8_t)f->kind);
	enc_method(&enc, f->ip, f->sp, f->token, f->has_il, f->il);
	for (size_t i = 0; i < 8; i++)
		enc_u64(&enc, f->regs[i]);
	enc_str(&enc, f->name);
	enc_str(&enc, f->assembly);
	return enc_send(&enc, fd);
}

int cp_wire_put_exception(int fd, uint32_t parent, uint32_t hresult, const char *type, const char *message)
{
	enc_begin(&enc, CP_WIRE_EXCEPTION);
	enc_u32(&enc, parent);
	enc_u32(&enc, hresult);
	enc_str(&enc, type);
	enc_str(&enc, message);
	return enc_send(&enc, fd);
}

int cp_wire_put_exception_frame(int fd, uint32_t exception, const struct cp_wire_exception_frame *f)
{
	enc_begin(&enc, CP_WIRE_EXCEPTION_FRAME);
	enc_u32(&enc, exception);
	enc_u32(&enc, f->segment);
	enc_method(&enc, f->ip, f->sp, f->token, f->has_il, f->il);
	enc_str(&enc, f->name);
	enc_str(&enc, f->assembly);
	return enc_send(&enc, fd);
}

int cp_wire_put_error(int fd, const char *fmt, ...)
{
	char msg[CP_WIRE_MAX_STRING + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	enc_begin(&enc, CP_WIRE_ERROR);
	enc_str(&enc, msg);
	return enc_send(&enc, fd);
}

int cp_wire_put_end(int fd)
{
	enc_begin(&enc, CP_WIRE_END);
	return enc_send(&enc, fd);
}

int cp_wire_put_thread_name(int fd, pid_t tid, const char *name)
{
	enc_begin(&enc, CP_WIRE_THREAD_NAME);
	enc_u32(&enc, (uint32_t)tid);
	enc_str(&enc, name);
	return enc_send(&enc, fd);
}

int cp_wire_put_repeat(int fd, uint32_t length, uint32_t count)
{
	enc_begin(&enc, CP_WIRE_REPEAT);
	enc_u32(&enc, length);
	enc_u32(&enc, count);
	return enc_send(&enc, fd);
}

int cp_wire_put_omitted(int fd, uint64_t count)
{
	enc_begin(&enc, CP_WIRE_OMITTED);
	enc_u64(&enc, count);
	return enc_send(&enc, fd);
}

size_t cp_wire_record(uint8_t *buf, size_t cap, uint8_t type, const void *payload, uint32_t len)
{
	if (cap < 5 || len > cap - 5)
		return 0;
	buf[0] = type;
	buf[1] = len;
	buf[2] = len >> 8;
	buf[3] = len >> 16;
	buf[4] = len >> 24;
	if (len)
		memcpy(buf + 5, payload, len);
	return 5 + (size_t)len;
}

/* ---- parser ---- */

bool cp_wire_utf8_valid(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t len;
		uint32_t cp, min;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len > n - i)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return false;
		i += len;
	}
	return true;
}

/* A cursor over one record's payload. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool short_;
};

static uint64_t get_n(struct cur *c, size_t n)
{
	uint64_t v = 0;

	if (c->short_ || c->left < n) {
		c->short_ = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	c->left -= n;
	return v;
}

#define get_u8(c) ((uint8_t)get_n(c, 1))
#define get_u32(c) ((uint32_t)get_n(c, 4))
#define get_u64(c) get_n(c, 8)

struct parser {
	struct cp_wire_result *res;
	const struct cp_wire_limits *lim;
	bool started;
	bool nomem;
	uint8_t last;		/* the type of the record before */
	bool omitted;		/* the current thread had its OMITTED */
	bool naming;		/* a THREAD_NAME came: only names, ERROR and END may follow */
};

static void violation(struct parser *ps, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void violation(struct parser *ps, size_t off, const char *fmt, ...)
{
	char what[128];
	va_list ap;

	if (ps->res->malformed[0])
		return;		/* the first one says why */
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ps->res->malformed, sizeof(ps->res->malformed), "%s (at byte %zu)", what, off);
}

/* A string field: NULL when empty; sets *bad with the reason when it is not allowed. */
static char *get_str(struct parser *ps, struct cur *c, const char **bad)
{
	uint32_t n = get_u32(c);

	if (c->short_)
		return NULL;
	if (n > CP_WIRE_MAX_STRING) {
		*bad = "a string longer than the limit";
		return NULL;
	}
	if (n > c->left) {
		c->short_ = true;
		return NULL;
	}
	if (!cp_wire_utf8_valid(c->p, n)) {
		*bad = "a string that is not UTF-8";
		return NULL;
	}
	char *s = NULL;
	if (n) {
		s = malloc(n + 1);
		if (!s) {
			ps->nomem = true;
		} else {
			memcpy(s, c->p, n);
			s[n] = '\0';
		}
	}
	c->p += n;
	c->left -= n;
	return s;
}

static bool tid_allowed(const struct cp_wire_limits *lim, pid_t tid)
{
	for (size_t i = 0; i < lim->n_tids; i++)
		if (lim->tids[i] == tid)
			return true;
	return false;
}

static bool type_known(uint8_t type)
{
	return type >= CP_WIRE_START && type <= CP_WIRE_OMITTED;	/* 1 to 10, every one known */
}

static const char *type_name(uint8_t type)
{
	static const char *const names[] = {
		[CP_WIRE_START] = "START", [CP_WIRE_THREAD] = "THREAD", [CP_WIRE_FRAME] = "FRAME",
		[CP_WIRE_EXCEPTION] = "EXCEPTION", [CP_WIRE_ERROR] = "ERROR", [CP_WIRE_END] = "END",
		[CP_WIRE_EXCEPTION_FRAME] = "EXCEPTION_FRAME",
		[CP_WIRE_THREAD_NAME] = "THREAD_NAME",
		[CP_WIRE_REPEAT] = "REPEAT", [CP_WIRE_OMITTED] = "OMITTED",
	};
	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "?";
}

/* The thread's folds are whole: every cycle within its frames, overlapping no other and
 * not cut by the OMITTED. Otherwise they are dropped, with a violation. */
static bool folds_ok(struct parser *ps, struct cp_wire_thread *th, size_t off)
{
	size_t end = 0;		/* the end of the cycle last seen */
	bool ok = true;

	for (size_t i = 0; i < th->n_frames && ok; i++) {
		uint32_t len = th->frames[i].repeat_length;
		if (!len)
			continue;
		ok = i >= end && len <= th->n_frames - i &&
		     !(th->n_omitted && th->omitted_after > i && th->omitted_after < i + len);
		end = i + len;
	}
	if (!ok) {
		violation(ps, off, "thread %d: a REPEAT beyond its frames or across another", (int)th->tid);
		for (size_t i = 0; i < th->n_frames; i++)
			th->frames[i].repeat_length = th->frames[i].repeat_count = 0;
	}
	return ok;
}

/* The part of a method FRAME and EXCEPTION_FRAME share: u64 ip, u64 sp, u32 token,
 * u8 has_il, u32 il. */
static void get_method(struct cur *c, uint64_t *ip, uint64_t *sp, uint32_t *token, uint8_t *has_il,
		       uint32_t *il)
{
	*ip = get_u64(c);
	*sp = get_u64(c);
	*token = get_u32(c);
	*has_il = get_u8(c);
	*il = get_u32(c);
}

/* has_il is a bool on the wire: false (a violation) for anything else. */
static bool method_has_il_ok(struct parser *ps, size_t off, uint8_t has_il)
{
	if (has_il > 1) {
		violation(ps, off, "has_il %u", has_il);
		return false;
	}
	return true;
}

/* The two strings that end FRAME and EXCEPTION_FRAME, name and assembly (NULL when
 * empty). False when the record is not whole (record() says why from @bad and @c) or
 * memory ran out: then neither is kept. */
static bool get_method_names(struct parser *ps, struct cur *c, const char **bad, char **name, char **assembly)
{
	*name = get_str(ps, c, bad);
	*assembly = *bad ? NULL : get_str(ps, c, bad);
	if (*bad || c->short_ || ps->nomem || c->left) {
		free(*name);
		free(*assembly);
		*name = *assembly = NULL;
		return false;
	}
	return true;
}

/* @array (of @n elements of @size) with room for one more, or NULL (ps->nomem; @array
 * is left as it was). */
static void *grow(struct parser *ps, void *array, size_t n, size_t size)
{
	void *p = realloc(array, (n + 1) * size);
	if (!p)
		ps->nomem = true;
	return p;
}

/* One record; false on a violation (recorded) or ENOMEM. */
static bool record(struct parser *ps, uint8_t type, struct cur *c, size_t off)
{
	struct cp_wire_result *r = ps->res;
	struct cp_wire_thread *th = r->n_threads ? &r->threads[r->n_threads - 1] : NULL;
	const char *bad = NULL;

	if (!type_known(type)) {
		violation(ps, off, "unknown record type %u", type);
		return false;
	}
	uint8_t prev = ps->last;
	ps->last = type;
	if (th && (type == CP_WIRE_THREAD || type == CP_WIRE_END) && !folds_ok(ps, th, off))
		return false;
	if (!ps->started && type != CP_WIRE_START) {
		violation(ps, off, "%s before START", type_name(type));
		return false;
	}
	if (r->error && type != CP_WIRE_END) {
		violation(ps, off, "%s after ERROR", type_name(type));
		return false;
	}
	if (ps->naming && type != CP_WIRE_THREAD_NAME && type != CP_WIRE_ERROR && type != CP_WIRE_END) {
		violation(ps, off, "%s after THREAD_NAME", type_name(type));
		return false;
	}
	switch (type) {
	case CP_WIRE_START: {
		if (ps->started) {
			violation(ps, off, "a second START");
			return false;
		}
		uint32_t v = get_u32(c);
		if (c->short_ || c->left)
			break;
		if (v != CP_WIRE_VERSION) {
			violation(ps, off, "protocol version %u, expected %u", v, CP_WIRE_VERSION);
			return false;
		}
		ps->started = true;
		break;
	}
	case CP_WIRE_THREAD: {
		pid_t tid = (pid_t)get_u32(c);
		if (c->short_ || c->left)
			break;
		if (!tid_allowed(ps->lim, tid)) {
			violation(ps, off, "thread %u is not a thread of the core", (unsigned)tid);
			return false;
		}
		for (size_t i = 0; i < r->n_threads; i++) {
			if (r->threads[i].tid == tid) {
				violation(ps, off, "thread %d twice", (int)tid);
				return false;
			}
		}
		/* Distinct and among the core's: at most n_tids of them. */
		struct cp_wire_thread *p = realloc(r->threads, (r->n_threads + 1) * sizeof(*p));
		if (!p) {
			ps->nomem = true;
			return false;
		}
		r->threads = p;
		memset(&p[r->n_threads], 0, sizeof(*p));
		p[r->n_threads++].tid = tid;
		ps->omitted = false;
		break;
	}
	case CP_WIRE_REPEAT: {
		uint32_t len = get_u32(c), count = get_u32(c);
		if (c->short_ || c->left)
			break;
		if (!th || prev != CP_WIRE_FRAME) {
			violation(ps, off, "REPEAT not after a FRAME");
			return false;
		}
		if (len < 1 || len > CP_WIRE_MAX_PERIOD || count < 2 || count > CP_WIRE_MAX_REPEAT) {
			violation(ps, off, "thread %d: a cycle of %u frames %u times", (int)th->tid, len, count);
			return false;
		}
		th->frames[th->n_frames - 1].repeat_length = len;
		th->frames[th->n_frames - 1].repeat_count = count;
		break;
	}
	case CP_WIRE_OMITTED: {
		uint64_t count = get_u64(c);
		if (c->short_ || c->left)
			break;
		if (!th) {
			violation(ps, off, "OMITTED before any THREAD");
			return false;
		}
		if (ps->omitted || count < 1 || count > CP_WIRE_MAX_REPEAT) {
			violation(ps, off, "thread %d: %s", (int)th->tid, ps->omitted ? "a second OMITTED" : "OMITTED out of range");
			return false;
		}
		ps->omitted = true;
		th->omitted_after = th->n_frames;
		th->n_omitted = count;
		break;
	}
	case CP_WIRE_FRAME: {
		if (!th) {
			violation(ps, off, "FRAME before any THREAD");
			return false;
		}
		if (th->n_frames >= ps->lim->max_frames) {
			violation(ps, off, "thread %d: more than %zu frames", (int)th->tid, ps->lim->max_frames);
			return false;
		}
		struct cp_wire_frame f = { 0 };
		uint8_t has_il;
		f.kind = (char)get_u8(c);
		get_method(c, &f.ip, &f.sp, &f.token, &has_il, &f.il);
		for (size_t i = 0; i < 8; i++)
			f.regs[i] = get_u64(c);
		if (!c->short_ && f.kind != 'm' && f.kind != 'r' && f.kind != 'c') {
			violation(ps, off, "frame kind 0x%02x", (unsigned char)f.kind);
			return false;
		}
		if (!c->short_ && !method_has_il_ok(ps, off, has_il))
			return false;
		f.has_il = has_il;
		if (!get_method_names(ps, c, &bad, &f.name, &f.assembly))
			break;
		struct cp_wire_frame *p = grow(ps, th->frames, th->n_frames, sizeof(*p));
		if (!p) {
			free(f.name);
			free(f.assembly);
			return false;
		}
		th->frames = p;
		p[th->n_frames++] = f;
		th->in_exception = false;
		break;
	}
	case CP_WIRE_EXCEPTION: {
		if (!th) {
			violation(ps, off, "EXCEPTION before any THREAD");
			return false;
		}
		uint32_t parent = get_u32(c);
		uint32_t hresult = get_u32(c);
		if (c->short_)
			break;
		if (th->n_exceptions >= CP_WIRE_MAX_EXCEPTIONS) {
			violation(ps, off, "thread %d: more than %u exceptions", (int)th->tid, CP_WIRE_MAX_EXCEPTIONS);
			return false;
		}
		if ((th->n_exceptions == 0) != (parent == CP_WIRE_NO_PARENT)) {
			violation(ps, off, "thread %d: exception %zu with parent %d", (int)th->tid, th->n_exceptions,
				  parent == CP_WIRE_NO_PARENT ? -1 : (int)parent);
			return false;
		}
		if (parent != CP_WIRE_NO_PARENT && parent >= th->n_exceptions) {
			violation(ps, off, "thread %d: exception %zu with parent %u, not an earlier one", (int)th->tid,
				  th->n_exceptions, parent);
			return false;
		}
		uint32_t depth = parent == CP_WIRE_NO_PARENT ? 0 : th->exceptions[parent].depth + 1;
		if (depth >= CP_WIRE_MAX_EXCEPTION_DEPTH) {
			violation(ps, off, "exception depth %u", depth);
			return false;
		}
		struct cp_wire_exception e = { .parent = parent, .depth = depth, .hresult = hresult };
		e.type = get_str(ps, c, &bad);
		if (!bad)
			e.message = get_str(ps, c, &bad);
		if (bad || c->short_ || ps->nomem || c->left) {
			free(e.type);
			free(e.message);
			break;
		}
		struct cp_wire_exception *p = realloc(th->exceptions, (th->n_exceptions + 1) * sizeof(*p));
		if (!p) {
			free(e.type);
			free(e.message);
			ps->nomem = true;
			return false;
		}
		th->exceptions = p;
		p[th->n_exceptions++] = e;
		th->in_exception = true;
		break;
	}
	case CP_WIRE_EXCEPTION_FRAME: {
		if (!th || !th->in_exception) {
			violation(ps, off, "EXCEPTION_FRAME not after an EXCEPTION");
			return false;
		}
		struct cp_wire_exception *e = &th->exceptions[th->n_exceptions - 1];
		uint32_t index = get_u32(c);
		struct cp_wire_exception_frame f = { 0 };
		uint8_t has_il;
		f.segment = get_u32(c);
		get_method(c, &f.ip, &f.sp, &f.token, &has_il, &f.il);
		if (c->short_)
			break;
		if (index != th->n_exceptions - 1) {
			violation(ps, off, "thread %d: a frame of exception %u after exception %zu", (int)th->tid, index,
				  th->n_exceptions - 1);
			return false;
		}
		if (e->n_frames >= ps->lim->max_frames) {
			violation(ps, off, "thread %d: exception %u: more than %zu frames", (int)th->tid, index,
				  ps->lim->max_frames);
			return false;
		}
		uint32_t last = e->n_frames ? e->frames[e->n_frames - 1].segment : 0;
		if (f.segment != last && (e->n_frames == 0 || f.segment != last + 1)) {
			violation(ps, off, "thread %d: exception %u: segment %u after %u", (int)th->tid, index, f.segment,
				  last);
			return false;
		}
		if (!method_has_il_ok(ps, off, has_il))
			return false;
		f.has_il = has_il;
		if (!get_method_names(ps, c, &bad, &f.name, &f.assembly))
			break;
		struct cp_wire_exception_frame *p = grow(ps, e->frames, e->n_frames, sizeof(*p));
		if (!p) {
			free(f.name);
			free(f.assembly);
			return false;
		}
		e->frames = p;
		p[e->n_frames++] = f;
		break;
	}
	case CP_WIRE_ERROR: {
		char *msg = get_str(ps, c, &bad);
		if (bad || c->short_ || ps->nomem || c->left) {
			free(msg);
			break;
		}
		r->error = msg ? msg : strdup("(no message)");
		if (!r->error)
			ps->nomem = true;
		break;
	}
	case CP_WIRE_THREAD_NAME: {
		pid_t tid = (pid_t)get_u32(c);
		if (c->short_)
			break;
		ps->naming = true;
		th = NULL;
		for (size_t i = 0; i < r->n_threads && !th; i++)
			if (r->threads[i].tid == tid)
				th = &r->threads[i];
		if (!th) {
			violation(ps, off, "THREAD_NAME of thread %u before its THREAD", (unsigned)tid);
			return false;
		}
		if (th->managed_name) {
			violation(ps, off, "thread %d: a second THREAD_NAME", (int)th->tid);
			return false;
		}
		char *name = get_str(ps, c, &bad);
		if (bad || c->short_ || ps->nomem || c->left) {
			free(name);
			break;
		}
		if (!name) {
			violation(ps, off, "thread %d: an empty THREAD_NAME", (int)th->tid);
			return false;
		}
		th->managed_name = name;
		break;
	}
	case CP_WIRE_END:
		r->ended = true;
		break;
	}
	if (ps->nomem)
		return false;
	if (bad) {
		violation(ps, off, "%s: %s", type_name(type), bad);
		return false;
	}
	if (c->short_) {
		violation(ps, off, "%s: payload too short", type_name(type));
		return false;
	}
	if (c->left) {
		violation(ps, off, "%s: %zu bytes left over", type_name(type), c->left);
		return false;
	}
	return true;
}

int cp_wire_parse(const uint8_t *buf, size_t len, const struct cp_wire_limits *lim, struct cp_wire_result *res)
{
	struct parser ps = { .res = res, .lim = lim };
	size_t off = 0;

	bool over = len >= CP_WIRE_MAX_TOTAL;

	memset(res, 0, sizeof(*res));
	/* The records in the first CP_WIRE_MAX_TOTAL bytes still count. */
	if (over)
		len = CP_WIRE_MAX_TOTAL;
	while (off < len && !res->ended) {
		if (len - off < 5)
			break;	/* a record cut short: the process was stopped in the middle */
		uint8_t type = buf[off];
		uint32_t n = (uint32_t)buf[off + 1] | (uint32_t)buf[off + 2] << 8 |
			     (uint32_t)buf[off + 3] << 16 | (uint32_t)buf[off + 4] << 24;
		if (!type_known(type)) {
			violation(&ps, off, "unknown record type %u", type);
			goto stop;
		}
		if (n > CP_WIRE_MAX_RECORD) {
			violation(&ps, off, "a record of %u bytes", n);
			goto stop;
		}
		if (n > len - off - 5)
			break;
		struct cur c = { .p = buf + off + 5, .left = n };
		if (!record(&ps, type, &c, off))
			goto stop;
		off += 5 + (size_t)n;
	}
	/* A stream cut short: the last thread's folds are checked all the same. */
	if (!res->ended && res->n_threads)
		(void) folds_ok(&ps, &res->threads[res->n_threads - 1], off);
	if (res->ended && off < len)
		violation(&ps, off, "%zu bytes after END", len - off);
	else if (over)
		violation(&ps, off, "%u bytes or more", CP_WIRE_MAX_TOTAL);
	return 0;
stop:
	/* The rest is discarded; what was kept of the last thread is checked. */
	if (res->n_threads)
		(void) folds_ok(&ps, &res->threads[res->n_threads - 1], off);
	return ps.nomem ? -ENOMEM : 0;
}

void cp_wire_result_deinit(struct cp_wire_result *res)
{
	for (size_t i = 0; i < res->n_threads; i++) {
		struct cp_wire_thread *th = &res->threads[i];
		for (size_t j = 0; j < th->n_frames; j++) {
			free(th->frames[j].name);
			free(th->frames[j].assembly);
		}
		free(th->frames);
		for (size_t j = 0; j < th->n_exceptions; j++) {
			struct cp_wire_exception *e = &th->exceptions[j];
			free(e->type);
			free(e->message);
			for (size_t k = 0; k < e->n_frames; k++) {
				free(e->frames[k].name);
				free(e->frames[k].assembly);
			}
			free(e->frames);
		}
		free(th->exceptions);
		free(th->managed_name);
	}
	free(res->threads);
	free(res->error);
	memset(res, 0, sizeof(*res));
}
