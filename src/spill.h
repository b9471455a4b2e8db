#ifndef CP_SPILL_H
#define CP_SPILL_H

/*
 * spill - the core's bytes on their way past the handler, for a consumer slower than the
 * kernel: the chained handler (chain.c).
 *
 * The kernel holds the dying process until the handler has read the last byte of its core
 * and closed the pipe. A consumer fed straight from the handler's reads sets the pace of
 * that read: a chained handler reads at its own pace (systemd-coredump copies the core to
 * a file, then compresses it). So the handler writes every raw byte of the stream, at
 * the rate it reads them, into one unnamed file of the spool (the spill; the bytes it
 * skips go from the kernel's pipe into the file by splice(2), never through our memory),
 * and the consumer is a process of its own that reads the file behind it, at its own
 * pace, during and after the hold. What it has read is punched out of the file, so the
 * file holds only the backlog. The file has no name and is gone with the last fd; the
 * consumer dies with the handler (parent-death signal).
 *
 * In the handler:   cp_spill_new() → cp_spill_fork() → cp_spill_attach() →
 *                   (the core is read) → cp_spill_end() → the consumer's owner reaps it.
 * In the consumer:  cp_spill_splice() until 0 (the end) or -errno.
 */

#include <stdint.h>
#include <sys/types.h>

struct cp_input;
struct cp_spill;
struct cp_spill_reader;

/* A new, empty spill in the directory @dir_fd (borrowed). Returns 0 or -errno. */
int cp_spill_new(int dir_fd, struct cp_spill **ret);

/* Run @fn(reader, @data) in a new process (cp_child_fork()) that exits with what it
 * returns: the spill's one reader, of every byte from the first, so it must be forked
 * before any is written (-EINVAL after, or for a second one). The writer never waits for it: its pace must not hold the dying
 * process (the page cache the backlog takes is the kernel's to write back). It is tied to
 * our life (parent-death signal) and has no stdin (the kernel holds the dying process
 * while any reader of its pipe has it open). Returns its
 * pid (the caller reaps it) or -errno. */
pid_t cp_spill_fork(struct cp_spill *s, int (*fn)(struct cp_spill_reader *r, void *data), void *data);

/* Make the spill a sink of @in (zio.h) that also takes the bytes @in's reader skips, by
 * splice(2) from the pipe. Returns 0 or -errno. */
int cp_spill_attach(struct cp_spill *s, struct cp_input *in);

/* The stream ended (@error 0) or broke (-errno): the consumers see the end, or the error,
 * once they have read what there is. Idempotent: the first call counts. */
void cp_spill_end(struct cp_spill *s, int error);

/* Give its space back now (a full file system: the report first); its reader sees
 * -ECANCELED. NULL is a no-op. */
void cp_spill_drop(struct cp_spill *s);

/* Ends the spill with -ECANCELED if it was not ended, closes our fds. NULL is a no-op. */
void cp_spill_free(struct cp_spill *s);

/* In the consumer: up to @len bytes at the reader's position, moved by splice(2) into the
 * pipe @pipe_fd (which may block), waiting for them while the stream goes on. Returns the
 * count, 0 at the end, or -errno (the spill broke). */
ssize_t cp_spill_splice(struct cp_spill_reader *r, int pipe_fd, size_t len);

#endif
