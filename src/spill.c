/*
 * spill.c - the core's bytes in an unnamed file of the spool, for a consumer slower than
 * the kernel (spill.h).
 *
 * What the writer and its reader share is one page mapped MAP_SHARED before the reader is
 * forked: how many bytes the file holds, and whether the stream has ended (or broke). A
 * reader that has caught up waits on a pipe, which the writer pokes (one byte, never
 * blocking: a full pipe is a wake-up already pending) each time it has written WAKE_EVERY
 * more bytes and at the end; it also looks again every POLL_MS, so a missed poke costs at
 * most that.
 *
 * Written bytes: a buffer the reader read is written with pwrite(), leaving out whole
 * pages of zeros (a hole reads back as zeros); skipped bytes go from the kernel's pipe to
 * the file by splice(2). Both land in the page cache; the reader reads them back from there
 * and punches out (FALLOC_FL_PUNCH_HOLE) what it has passed, so dirty pages are dropped
 * before most of them reach the disk.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "sandbox.h"
#include "spill.h"
#include "spool.h"
#include "zio.h"

#define WAKE_EVERY (1u << 20)
#define POLL_MS 50
#define PAGE 4096u
/* Punch in steps this large: fewer calls, and the extents stay whole. */
#define PUNCH_STEP (8ull << 20)

struct shared {
	_Atomic uint64_t written;
	_Atomic int state;		/* 0 streaming, 1 ended, -errno broken */
};

struct cp_spill {
	struct cp_newfile file;
	struct shared *sh;
	int wake;			/* the reader's pipe, write end; -1 */
	bool forked;
	uint64_t written, last_wake;
	int error;
	bool ended;
};

struct cp_spill_reader {
	int fd;
	int wake;			/* read end */
	struct shared *sh;
	uint64_t pos, punched;
};

int cp_spill_new(int dir_fd, struct cp_spill **ret)
{
	_cleanup_free_ struct cp_spill *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->sh = mmap(NULL, sizeof(*s->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->sh == MAP_FAILED)
		return -errno;
	s->wake = -1;
	/* Read back by the reader, punched by it: read-write. Never named. */
	r = cp_newfile_create(dir_fd, O_RDWR, &s->file);
	if (r < 0) {
		munmap(s->sh, sizeof(*s->sh));
		return r;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

static void wake(struct cp_spill *s)
{
	if (s->wake >= 0)
		(void) !write(s->wake, "", 1);	/* EAGAIN: a wake-up is pending */
	s->last_wake = s->written;
}

static void grew(struct cp_spill *s, size_t n)
{
	s->written += n;
	atomic_store(&s->sh->written, s->written);
	if (s->written - s->last_wake >= WAKE_EVERY)
		wake(s);
}

/* Stop the spill: the reader sees @error. Returns it. */
static int fail(struct cp_spill *s, int error)
{
	if (!s->error)
		s->error = error;
	cp_spill_end(s, error);
	/* Its blocks are the report's now (a full file system). */
	(void) !ftruncate(s->file.fd, 0);
	return error;
}

static bool zero_page(const unsigned char *p)
{
	static const unsigned char zeros[PAGE];
	return memcmp(p, zeros, PAGE) == 0;
}

/* Write @p[@from, @to) of a buffer that starts at the file's end. */
static int put(struct cp_spill *s, const unsigned char *p, size_t from, size_t to)
{
	while (from < to) {
		ssize_t n = pwrite(s->file.fd, p + from, to - from, (off_t)(s->written + from));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		from += (size_t)n;
	}
	return 0;
}

/* The zio sink: every byte the handler read, at the file's end. Whole pages of zeros (at
 * page-aligned file offsets) stay holes; the file is extended over trailing ones, so a
 * reader never reads past its end. */
static int sink(void *userdata, const void *buf, size_t len)
{
	struct cp_spill *s = userdata;
	const unsigned char *p = buf;
	size_t run = 0;		/* the start of the bytes not written yet */
	int r;

	if (s->ended)
		return s->error ? s->error : -EPIPE;
	for (size_t i = 0; i < len;) {
		size_t piece = PAGE - (size_t)((s->written + i) % PAGE);
		if (piece > len - i)
			piece = len - i;
		if (piece == PAGE && zero_page(p + i)) {
			if ((r = put(s, p, run, i)) < 0)
				return fail(s, r);
			run = i + PAGE;
		}
		i += piece;
	}
	if ((r = put(s, p, run, len)) < 0)
		return fail(s, r);
	if (run == len && ftruncate(s->file.fd, (off_t)(s->written + len)) < 0)
		return fail(s, -errno);
	grew(s, len);
	return 0;
}

/* The bytes the handler skips, from the kernel's pipe to the file. */
static ssize_t take(void *userdata, int in_fd, size_t len)
{
	struct cp_spill *s = userdata;

	if (s->ended)
		return s->error ? s->error : -EPIPE;
	if (len > (1u << 24))
		len = 1u << 24;
	for (;;) {
		loff_t off = (loff_t)s->written;
		ssize_t n = splice(in_fd, NULL, s->file.fd, &off, len, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(s, -errno);
		grew(s, (size_t)n);
		return n;
	}
}

int cp_spill_attach(struct cp_spill *s, struct cp_input *in)
{
	int r = cp_input_add_sink(in, sink, s);
	return r < 0 ? r : cp_input_sink_set_take(in, s, take);
}

void cp_spill_end(struct cp_spill *s, int error)
{
	if (!s || s->ended)
		return;
	s->ended = true;
	if (error && !s->error)
		s->error = error;
	/* The file's size is what was written, holes at the end included. */
	if (!s->error && ftruncate(s->file.fd, (off_t)s->written) < 0)
		s->error = -errno;
	atomic_store(&s->sh->state, s->error ? s->error : 1);
	wake(s);
	if (s->wake >= 0) {
		close(s->wake);
		s->wake = -1;
	}
}

pid_t cp_spill_fork(struct cp_spill *s, int (*fn)(struct cp_spill_reader *r, void *data), void *data)
{
	int pfd[2];

	if (s->forked || s->written)
		return -EINVAL;
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = cp_child_fork();
	if (pid == 0) {
		close(pfd[1]);
		/* The kernel holds the dying process while any reader of its pipe has it. */
		close(STDIN_FILENO);
		if (cp_sandbox_tie_to_parent(parent) < 0)
			_exit(127);
		struct cp_spill_reader r = { .fd = s->file.fd, .wake = pfd[0], .sh = s->sh };
		_exit(fn(&r, data));
	}
	int e = -errno;
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		return e;
	}
	s->wake = pfd[1];
	s->forked = true;
	return pid;
}

void cp_spill_drop(struct cp_spill *s)
{
	if (s)
		(void) fail(s, -ECANCELED);
}

void cp_spill_free(struct cp_spill *s)
{
	if (!s)
		return;
	cp_spill_end(s, -ECANCELED);
	cp_newfile_abort(&s->file);
	munmap(s->sh, sizeof(*s->sh));
	free(s);
}

/* Bytes there are for @r now, 0 at the end, or -errno; waits while the stream goes on. */
static ssize_t wait_for(struct cp_spill_reader *r, size_t len)
{
	for (;;) {
		/* The state before the size: a size read after "ended" is the final one. */
		int state = atomic_load(&r->sh->state);
		uint64_t written = atomic_load(&r->sh->written);
		if (written > r->pos) {
			uint64_t n = written - r->pos;
			return (ssize_t)(n < len ? n : len);
		}
		if (state < 0)
			return state;
		if (state > 0)
			return 0;
		struct pollfd p = { .fd = r->wake, .events = POLLIN };
		if (poll(&p, 1, POLL_MS) > 0) {
			char buf[64];
			while (read(r->wake, buf, sizeof(buf)) > 0)
				;
		}
	}
}

/* The file ends before the bytes it was said to hold: the spill broke (and gave its space
 * back), or something else cut it. */
static int broken(const struct cp_spill_reader *r)
{
	int state = atomic_load(&r->sh->state);
	return state < 0 ? state : -EIO;
}

/* @r has consumed @n more bytes: punch out what it has passed. */
static void advance(struct cp_spill_reader *r, size_t n)
{
	r->pos += n;
	uint64_t low = r->pos - r->pos % PUNCH_STEP;
	if (low <= r->punched)
		return;
	(void) fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->punched, (off_t)(low - r->punched));
	r->punched = low;
}

ssize_t cp_spill_splice(struct cp_spill_reader *r, int pipe_fd, size_t len)
{
	ssize_t want = wait_for(r, len);
	if (want <= 0)
		return want;
	for (;;) {
		loff_t off = (loff_t)r->pos;
		ssize_t n = splice(r->fd, &off, pipe_fd, NULL, (size_t)want, SPLICE_F_MOVE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return broken(r);
		advance(r, (size_t)n);
		return n;
	}
}
