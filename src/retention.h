#ifndef CP_RETENTION_H
#define CP_RETENTION_H

/*
 * retention - the spool's caps, as systemd-coredump's MaxUse= and KeepFree=
 * (coredump.conf(5)): the reports and kept cores together use at most max_use bytes, and
 * leave at least keep_free bytes of the file system free. Over either, the oldest entry
 * (a report and the core kept beside it) of the group with the most reports goes first:
 * reports are grouped by signature (the user.crashpipe.signature attribute), those without
 * one by the executable's name in the file name; so a crash loop of one program trims
 * itself and never evicts the reports of others.
 *
 * Only files of ours are counted or removed: regular files with one link, named
 * TIME-PID-NAME.json.zst or TIME-PID-NAME.core.zst. Everything else (symlinks, FIFOs,
 * directories, hidden temporary files being written, foreign names) is left alone, never
 * opened. Every operation is relative to the spool's fd and follows no link.
 */

#include <stdint.h>

/* A cap worked out from the file system's size, as systemd does: */
#define CP_RETENTION_AUTO UINT64_MAX
#define CP_MAX_USE_SHARE 10			/* MaxUse: 10% of the file system, */
#define CP_MAX_USE_LOWER (1ull << 20)		/* at least 1 MiB */
#define CP_MAX_USE_UPPER (4ull << 30)		/* and at most 4 GiB */
#define CP_KEEP_FREE_SHARE 15			/* KeepFree: 15% of it, */
#define CP_KEEP_FREE_UPPER (4ull << 30)		/* at most 4 GiB */
#define CP_KEEP_FREE_UNKNOWN (1ull << 20)	/* 1 MiB when the size is unknown */

struct cp_retention {
	uint64_t max_use;	/* bytes, 0: no cap, CP_RETENTION_AUTO: from the file system */
	uint64_t keep_free;	/* the same */
};

#define CP_RETENTION_INIT { .max_use = CP_RETENTION_AUTO, .keep_free = CP_RETENTION_AUTO }

/* A size: a whole number of bytes with an optional K, M, G or T (powers of 1024), or
 * "auto". Returns 0 or -EINVAL. */
int cp_parse_size(const char *s, uint64_t *ret);

/* The caps that apply to the file system of @dir_fd, AUTO worked out. */
void cp_retention_limits(int dir_fd, const struct cp_retention *cfg, uint64_t *max_use, uint64_t *keep_free);

struct cp_vacuum_result {
	unsigned removed;	/* files removed */
	uint64_t freed;		/* their bytes (allocated blocks) */
	uint64_t used;		/* bytes the spool's files use afterwards */
	unsigned files;		/* files of ours left */
};

/*
 * Trim the spool @spool_fd (an fd of the directory; O_PATH will do) to the caps of @cfg,
 * never removing the entry of the report @keep (a name in the spool, or NULL): the one
 * just written. Holds an flock on the directory meanwhile, so handlers that end at once
 * trim one after the other. @res may be NULL. Returns 0 or -errno (the spool could not be
 * read; a file that could not be removed is skipped).
 */
int cp_retention_vacuum(int spool_fd, const struct cp_retention *cfg, const char *keep, struct cp_vacuum_result *res);

/* `crashpipe vacuum`. */
int cp_cmd_vacuum(int argc, char **argv);

#endif
