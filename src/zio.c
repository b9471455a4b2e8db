/*
 * zio.c - reading cores and reports as plain or zstd streams, and compressing reports.
 *
 * The kernel pipe cannot seek and a .zst core cannot either, so the reader is built for a
 * single forward pass: everything before the current position is gone. A plain file on
 * disk is the exception and is read with pread(), which lets analysis skip what it does
 * not need at no cost.
 *
 * The writer (cp_zwriter) is the other direction, for a core kept while the kernel streams
 * it: one zstd frame, compressed as the bytes pass, never the whole input in memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "cleanup.h"
#include "zio.h"

/* Reads from a pipe land in page-aligned buffers: the kernel's copy into a destination
 * 16 bytes off a page boundary (what malloc returns) measured twice as slow here, and the
 * dying process waits for every byte of it. */
#define SCRATCH_SIZE (1u << 20)

struct cp_input {
	int fd;
	bool seekable;
	bool eof;
	uint64_t size;			/* of a seekable file */
	uint64_t pos;			/* decompressed offset of the next byte */
	unsigned char peek[4];		/* bytes read to recognise the format */
	size_t peek_len, peek_off;
	ZSTD_DCtx *dctx;		/* NULL for plain data */
	ZSTD_inBuffer zin;
	unsigned char *zbuf;
	size_t zbuf_size;
	unsigned char *scratch;		/* for skipping forward */
	bool fifo;
	int null_fd;			/* /dev/null for splice(), once opened; -1 */
	struct cp_input_sink_slot {
		cp_input_sink_fn fn;
		cp_input_take_fn take;	/* or NULL */
		void *userdata;
		int error;
	} sinks[CP_INPUT_MAX_SINKS];
	size_t n_sinks;
};

/* Hand raw bytes just read to the sinks still working. */
static void feed_sinks(struct cp_input *in, const void *buf, size_t len)
{
	for (size_t i = 0; i < in->n_sinks && len; i++) {
		if (in->sinks[i].error)
			continue;
		int r = in->sinks[i].fn(in->sinks[i].userdata, buf, len);
		if (r < 0)
			in->sinks[i].error = r;
	}
}

/* Read @len bytes, fewer only at the end of the file: at @off with pread(), or from the
 * current position with read() when @off is negative. */
static ssize_t read_full_at(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? read(fd, (char *)buf + done, len - done) :
			    pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* Raw bytes of the underlying file: the peeked ones first. */
static ssize_t raw_read(struct cp_input *in, void *buf, size_t len)
{
	size_t done = 0;

	if (in->peek_off < in->peek_len) {
		done = in->peek_len - in->peek_off;
		if (done > len)
			done = len;
		memcpy(buf, in->peek + in->peek_off, done);
		in->peek_off += done;
		if (done == len) {
			feed_sinks(in, buf, done);
			return done;
		}
	}
	ssize_t n = read_full_at(in->fd, (char *)buf + done, len - done, -1);
	if (n < 0)
		return n;
	feed_sinks(in, buf, done + n);
	return done + n;
}

int cp_input_open(int fd, struct cp_input **ret)
{
	_cleanup_free_ struct cp_input *in = calloc(1, sizeof(*in));
	struct stat st;

	if (!in)
		return -ENOMEM;
	in->fd = fd;
	in->null_fd = -1;
	if (fstat(fd, &st) < 0)
		return -errno;
	in->fifo = S_ISFIFO(st.st_mode);
	if (in->fifo) {
		/* A bigger pipe means fewer wake-ups of the dying process's kernel writer;
		 * best effort, the default (64 KiB) works too. */
		(void) fcntl(fd, F_SETPIPE_SZ, 1 << 20);
	}
	if (S_ISREG(st.st_mode)) {
		ssize_t n = pread(fd, in->peek, sizeof(in->peek), 0);
		if (n < 0)
			return -errno;
		in->peek_len = n;
		in->seekable = true;
		in->size = st.st_size;
	} else {
		ssize_t n = read_full_at(fd, in->peek, sizeof(in->peek), -1);
		if (n < 0)
			return n;
		in->peek_len = n;
	}
	if (in->peek_len == 0)
		return -ENODATA;

	/* A zstd frame starts with the magic number 0xFD2FB528, little-endian. */
	if (in->peek_len == 4 && memcmp(in->peek, "\x28\xb5\x2f\xfd", 4) == 0) {
		in->dctx = ZSTD_createDCtx();
		in->zbuf_size = ZSTD_DStreamInSize();
		in->zbuf = malloc(in->zbuf_size);
		if (!in->dctx || !in->zbuf) {
			ZSTD_freeDCtx(in->dctx);
			free(in->zbuf);
			return -ENOMEM;
		}
		in->zin.src = in->zbuf;
		if (in->seekable && lseek(fd, 4, SEEK_SET) < 0) {
			ZSTD_freeDCtx(in->dctx);
			free(in->zbuf);
			return -errno;
		}
		in->seekable = false;
	}
	*ret = TAKE_PTR(in);
	return 0;
}

void cp_input_destroy(struct cp_input *in)
{
	if (!in)
		return;
	ZSTD_freeDCtx(in->dctx);
	free(in->zbuf);
	free(in->scratch);
	if (in->null_fd >= 0)
		close(in->null_fd);
	free(in);
}

int cp_input_add_sink(struct cp_input *in, cp_input_sink_fn fn, void *userdata)
{
	if (in->seekable || !fn)
		return -EINVAL;
	if (in->n_sinks == CP_INPUT_MAX_SINKS)
		return -ENOSPC;
	in->sinks[in->n_sinks].fn = fn;
	in->sinks[in->n_sinks].userdata = userdata;
	in->sinks[in->n_sinks].take = NULL;
	in->sinks[in->n_sinks].error = 0;
	in->n_sinks++;
	return 0;
}

int cp_input_sink_set_take(struct cp_input *in, void *userdata, cp_input_take_fn take)
{
	for (size_t i = 0; i < in->n_sinks; i++)
		if (in->sinks[i].userdata == userdata) {
			in->sinks[i].take = take;
			return 0;
		}
	return -ENOENT;
}

/* The one sink still working when it can take skipped bytes itself; NULL otherwise. */
static struct cp_input_sink_slot *take_sink(struct cp_input *in)
{
	int found = -1;

	for (size_t i = 0; i < in->n_sinks; i++) {
		if (in->sinks[i].error)
			continue;
		if (!in->sinks[i].take || found >= 0)
			return NULL;
		found = (int)i;
	}
	return found < 0 ? NULL : &in->sinks[found];
}

static bool live_sinks(const struct cp_input *in)
{
	for (size_t i = 0; i < in->n_sinks; i++)
		if (!in->sinks[i].error)
			return true;
	return false;
}

int cp_input_sink_error(const struct cp_input *in, void *userdata)
{
	for (size_t i = 0; i < in->n_sinks; i++)
		if (in->sinks[i].userdata == userdata)
			return in->sinks[i].error;
	return 0;
}

int cp_input_fd(const struct cp_input *in)
{
	return in->fd;
}

int cp_input_set_max_window(struct cp_input *in, int log)
{
	if (!in->dctx)
		return 0;
	size_t r = ZSTD_DCtx_setParameter(in->dctx, ZSTD_d_windowLogMax, log);
	return ZSTD_isError(r) ? -EINVAL : 0;
}

bool cp_input_seekable(const struct cp_input *in)
{
	return in->seekable;
}

uint64_t cp_input_size(const struct cp_input *in)
{
	return in->seekable ? in->size : UINT64_MAX;
}

uint64_t cp_input_pos(const struct cp_input *in)
{
	return in->pos;
}

/* The next @len bytes of the stream, decompressing when needed. */
static ssize_t stream_read(struct cp_input *in, void *buf, size_t len)
{
	if (!in->dctx) {
		ssize_t n = raw_read(in, buf, len);
		if (n >= 0)
			in->pos += n;
		return n;
	}

	ZSTD_outBuffer out = { buf, len, 0 };
	while (out.pos < out.size && !in->eof) {
		if (in->zin.pos == in->zin.size) {
			ssize_t n = raw_read(in, in->zbuf, in->zbuf_size);
			if (n < 0)
				return n;
			if (n == 0) {
				in->eof = true;
				break;
			}
			in->zin.size = n;
			in->zin.pos = 0;
		}
		size_t r = ZSTD_decompressStream(in->dctx, &out, &in->zin);
		if (ZSTD_isError(r))
			return -EBADMSG;
	}
	in->pos += out.pos;
	return out.pos;
}

/*
 * Skip up to @len bytes of the stream. Plain data in a pipe goes to /dev/null by splice(),
 * which frees the pipe's pages without copying them: most of a core is memory the report
 * does not need, and the dying process waits while it is read.
 */
static ssize_t stream_skip(struct cp_input *in, size_t len)
{
	/* A sink must see the bytes, so they are read then, not spliced away; unless the
	 * only one still working takes them from the pipe itself (a splice(2) into its file:
	 * no copy through our memory). */
	bool plain_pipe = in->fifo && !in->dctx && in->peek_off == in->peek_len;
	struct cp_input_sink_slot *t = plain_pipe ? take_sink(in) : NULL;
	if (t) {
		ssize_t n = t->take(t->userdata, in->fd, len);
		if (n > 0)
			in->pos += n;
		if (n >= 0)
			return n;
		t->error = (int)n;	/* stopped: the bytes are read as usual */
	}
	if (plain_pipe && !live_sinks(in)) {
		if (in->null_fd < 0)
			in->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		while (in->null_fd >= 0) {
			ssize_t n = splice(in->fd, NULL, in->null_fd, NULL, len, 0);
			if (n > 0)
				in->pos += n;
			if (n >= 0)
				return n;
			if (errno != EINTR) {
				close(in->null_fd);
				in->null_fd = -1;
				in->fifo = false;	/* read() from now on */
			}
		}
	}
	if (!in->scratch && !(in->scratch = aligned_alloc(4096, SCRATCH_SIZE)))
		return -ENOMEM;
	return stream_read(in, in->scratch, len < SCRATCH_SIZE ? len : SCRATCH_SIZE);
}

ssize_t cp_input_read_at(struct cp_input *in, uint64_t off, void *buf, size_t len)
{
	if (in->seekable)
		return off > INT64_MAX ? 0 : read_full_at(in->fd, buf, len, off);

	if (off < in->pos)
		return -ESPIPE;
	while (in->pos < off) {
		uint64_t gap = off - in->pos;
		ssize_t n = stream_skip(in, gap < SSIZE_MAX ? gap : SSIZE_MAX);
		if (n < 0)
			return n;
		if (n == 0)
			return 0;	/* the data ends before @off */
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = stream_read(in, (char *)buf + done, len - done);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

int cp_input_drain_max(struct cp_input *in, uint64_t max_bytes, unsigned max_seconds)
{
	struct timespec start, now;
	uint64_t done = 0;

	if (in->seekable)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		uint64_t left = max_bytes - done;
		ssize_t n = stream_skip(in, left < (1u << 24) ? left : (1u << 24));
		if (n < 0)
			return n;
		if (n == 0)
			return 0;
		done += n;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (done >= max_bytes || (uint64_t)(now.tv_sec - start.tv_sec) >= max_seconds)
			return -EFBIG;
	}
}

int cp_input_drain(struct cp_input *in)
{
	if (in->seekable)
		return 0;
	for (;;) {
		ssize_t n = stream_skip(in, SSIZE_MAX);
		if (n < 0)
			return n;
		if (n == 0)
			return 0;
	}
}

int cp_input_read_all(struct cp_input *in, size_t max, char **buf_ret, size_t *len_ret)
{
	size_t cap = 64 * 1024, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= max)
				return -EFBIG;
			cap = cap * 2 > max ? max : cap * 2;
			char *p = realloc(buf, cap + 1);
			if (!p)
				return -ENOMEM;
			buf = p;
		}
		ssize_t n = cp_input_read_at(in, in->seekable ? len : in->pos, buf + len, cap - len);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*buf_ret = TAKE_PTR(buf);
	*len_ret = len;
	return 0;
}

int cp_zstd_compress(const void *data, size_t len, void **out_ret, size_t *out_len_ret)
{
	size_t cap = ZSTD_compressBound(len);
	_cleanup_free_ void *out = malloc(cap);

	if (!out)
		return -ENOMEM;
	size_t n = ZSTD_compress(out, cap, data, len, 3);
	if (ZSTD_isError(n))
		return -EIO;
	*out_ret = TAKE_PTR(out);
	*out_len_ret = n;
	return 0;
}

int cp_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

struct cp_zwriter {
	int fd;
	ZSTD_CCtx *cctx;
	unsigned char *out;
	size_t out_size;
	uint64_t written;
};

int cp_zwriter_new(int fd, int level, int workers, struct cp_zwriter **ret)
{
	_cleanup_free_ struct cp_zwriter *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->out_size = ZSTD_CStreamOutSize();
	w->cctx = ZSTD_createCCtx();
	w->out = malloc(w->out_size);
	if (!w->cctx || !w->out) {
		ZSTD_freeCCtx(w->cctx);
		free(w->out);
		return -ENOMEM;
	}
	size_t r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	/* Levels up to 19 use windows of at most 8 MiB; the "ultra" ones above, up to 128 MiB,
	 * more than our readers admit. */
	if (!ZSTD_isError(r) && level > 19)
		r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_windowLog, CP_ZWRITER_WINDOW_LOG);
	/* A libzstd built without threads refuses workers: compress in the caller then. */
	if (!ZSTD_isError(r) && workers > 0)
		(void) ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, workers);
	if (ZSTD_isError(r)) {
		ZSTD_freeCCtx(w->cctx);
		free(w->out);
		return -EINVAL;
	}
	*ret = TAKE_PTR(w);
	return 0;
}

/* Compress @in with @mode until zstd has taken it all (and, for ZSTD_e_end, flushed all),
 * writing each full output buffer. */
static int zwriter_run(struct cp_zwriter *w, ZSTD_inBuffer *in, ZSTD_EndDirective mode)
{
	for (;;) {
		ZSTD_outBuffer out = { w->out, w->out_size, 0 };
		size_t left = ZSTD_compressStream2(w->cctx, &out, in, mode);
		if (ZSTD_isError(left))
			return -EIO;
		if (out.pos) {
			int r = cp_write_all(w->fd, w->out, out.pos);
			if (r < 0)
				return r;
			w->written += out.pos;
		}
		if (mode == ZSTD_e_end ? left == 0 : in->pos == in->size)
			return 0;
	}
}

int cp_zwriter_write(struct cp_zwriter *w, const void *buf, size_t len)
{
	ZSTD_inBuffer in = { buf, len, 0 };

	return len ? zwriter_run(w, &in, ZSTD_e_continue) : 0;
}

int cp_zwriter_finish(struct cp_zwriter *w)
{
	ZSTD_inBuffer in = { NULL, 0, 0 };

	return zwriter_run(w, &in, ZSTD_e_end);
}

uint64_t cp_zwriter_written(const struct cp_zwriter *w)
{
	return w->written;
}

void cp_zwriter_free(struct cp_zwriter *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w);
}
