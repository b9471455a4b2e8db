#ifndef CP_ZIO_H
#define CP_ZIO_H

/*
 * zio - byte sources and sinks that may be zstd-compressed. The only user of libzstd.
 *
 * A cp_input reads a core (or a report) from a file descriptor: a seekable plain file is
 * read with pread() at any offset; a pipe or a zstd stream (recognised by its magic) can
 * only go forward, so reading behind the current position fails with -ESPIPE.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cp_input;

/* Wrap @fd (borrowed: the caller closes it after cp_input_destroy()). Reads the first bytes
 * to recognise zstd. Returns 0 or -errno; -ENODATA when the input is empty. */
int cp_input_open(int fd, struct cp_input **ret);
void cp_input_destroy(struct cp_input *in);

/* The fd wrapped. */
int cp_input_fd(const struct cp_input *in);

/* Refuse a zstd frame whose window is larger than 2^@log bytes (the decoder would allocate
 * it): the bound of a reader that needs little memory. No-op on plain data. */
int cp_input_set_max_window(struct cp_input *in, int log);

/* True when any offset can be read (a plain regular file). */
bool cp_input_seekable(const struct cp_input *in);

/* Size of a seekable input's file; UINT64_MAX for a stream. */
uint64_t cp_input_size(const struct cp_input *in);

/* Read up to @len bytes at offset @off of the (decompressed) data. Returns the number read,
 * short only at the end of the data, or -errno (-ESPIPE: @off lies behind a stream's
 * position; -EBADMSG: corrupt zstd data). */
ssize_t cp_input_read_at(struct cp_input *in, uint64_t off, void *buf, size_t len);

/*
 * A sink sees every raw byte of a stream as the reader consumes it, in order, from the
 * first: the bytes of the file as they came (compressed ones compressed), whether the
 * reader used them or skipped them. It is how a stream is kept (keep-core) or handed on
 * (a chained handler) while it is read once. @fn returns 0 or -errno; after an error the
 * sink is not called again, and cp_input_sink_error() tells why. At most CP_INPUT_MAX_SINKS;
 * add them before the first read. Not for seekable inputs (-EINVAL): they are not streamed.
 */
#define CP_INPUT_MAX_SINKS 4
typedef int (*cp_input_sink_fn)(void *userdata, const void *buf, size_t len);
int cp_input_add_sink(struct cp_input *in, cp_input_sink_fn fn, void *userdata);

/* The sink added with @userdata may also take the bytes the reader skips straight from the
 * input pipe, without their being copied through our memory: @take consumes up to @len
 * bytes waiting in @in_fd itself (splice(2) into a file) and returns how many, 0 at the end
 * of the stream, or -errno (the sink is stopped, and the bytes are read as usual). Used
 * only while it is the one sink still working, on a plain (not zstd) pipe. Returns 0, or
 * -ENOENT when no sink has @userdata. */
typedef ssize_t (*cp_input_take_fn)(void *userdata, int in_fd, size_t len);
int cp_input_sink_set_take(struct cp_input *in, void *userdata, cp_input_take_fn take);

/* The error that stopped the sink added with @userdata, or 0. */
int cp_input_sink_error(const struct cp_input *in, void *userdata);

/* Read and discard the rest of a stream, so a kernel writer finishes. Returns 0 or -errno. */
int cp_input_drain(struct cp_input *in);

/* The same, but read at most @max_bytes or for at most @max_seconds: a writer that never
 * ends (a process with terabytes of untouched memory, an endless pipe) must not hold the
 * reader. Returns 0 at the end of the data, -EFBIG when it stopped before, or -errno. */
int cp_input_drain_max(struct cp_input *in, uint64_t max_bytes, unsigned max_seconds);

/* Bytes of (decompressed) data consumed so far; after cp_input_drain() the total size. */
uint64_t cp_input_pos(const struct cp_input *in);

/* Read the whole input into a new NUL-terminated buffer of at most @max bytes.
 * -EFBIG when it is larger. */
int cp_input_read_all(struct cp_input *in, size_t max, char **buf_ret, size_t *len_ret);

/* Write all @len bytes to @fd, retrying short writes. Returns 0 or -errno. */
int cp_write_all(int fd, const void *buf, size_t len);

/* Compress @len bytes at @data into a new buffer (zstd, level 3). */
int cp_zstd_compress(const void *data, size_t len, void **out_ret, size_t *out_len_ret);

/*
 * A streaming zstd writer: bytes handed to cp_zwriter_write() are compressed into one
 * frame written to @fd (borrowed) as they come, in bounded memory (the window, the
 * workers' jobs and one output buffer; no copy of the data). @level may be negative
 * (zstd's fast levels); @workers > 0 compresses on that many threads beside the caller
 * (ZSTD_c_nbWorkers), 0 in the caller. The window is at most 2^CP_ZWRITER_WINDOW_LOG,
 * which every reader of ours admits (cp_input_set_max_window()).
 */
#define CP_ZWRITER_WINDOW_LOG 23
struct cp_zwriter;
int cp_zwriter_new(int fd, int level, int workers, struct cp_zwriter **ret);
/* Returns 0 or -errno (of the write to fd; -EIO from zstd). */
int cp_zwriter_write(struct cp_zwriter *w, const void *buf, size_t len);
/* End the frame and write the rest. Returns 0 or -errno. */
int cp_zwriter_finish(struct cp_zwriter *w);
/* Compressed bytes written to fd so far. */
uint64_t cp_zwriter_written(const struct cp_zwriter *w);
void cp_zwriter_free(struct cp_zwriter *w);		/* NULL is a no-op */

#endif
