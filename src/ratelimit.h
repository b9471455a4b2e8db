#ifndef CP_RATELIMIT_H
#define CP_RATELIMIT_H

/*
 * ratelimit - the crash-loop limit of `crashpipe handle`: per crash signature, at most
 * max full reports in window seconds; past it each crash is counted (and logged) without
 * an analysis (issue 10, threats.md T09).
 *
 * The signature is only known after the analysis, so the decision is made with a key that
 * the notes give before it (cp_ratelimit_key(): the executable, its build-id, the signal,
 * and the file and file offset of the crashed thread's pc, all independent of ASLR). The
 * state file CP_RATELIMIT_STATE in the spool maps each key to the signature its last
 * analysis found, with the key's recent report times and the crashes counted without a
 * report. A key is over its limit when the reports of its signature (over every key that
 * found it) in the window reach max; a key whose analysis has not ended yet counts its own
 * reports. A key that has given two different signatures (one crash site, two bugs: two
 * .NET exceptions thrown through the same runtime frame) is never limited: the limit must
 * not hide a different bug.
 *
 * The state file is root's, mode 0600, opened with no link followed and checked (a regular
 * file, ours, one link), flock'ed for every read-modify-write, at most CP_RATELIMIT_KEYS
 * lines of at most CP_RATELIMIT_MAX_TIMES times each (the least recently used keys go
 * first); any line that does not parse is dropped, so a damaged file costs counts, never
 * a report.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "signature.h"

struct cp_core;

#define CP_RATELIMIT_STATE ".crashpipe-ratelimit"
#define CP_RATELIMIT_KEYS 512
#define CP_RATELIMIT_MAX_TIMES 64	/* the largest max accepted */
#define CP_RATELIMIT_DEFAULT_MAX 5
#define CP_RATELIMIT_DEFAULT_WINDOW 3600

struct cp_ratelimit {
	unsigned max;			/* 0: no limit */
	int64_t window;			/* seconds */
};

#define CP_RATELIMIT_DEFAULT { CP_RATELIMIT_DEFAULT_MAX, CP_RATELIMIT_DEFAULT_WINDOW }

/* "N/WINDOW" (WINDOW: seconds, or a number followed by s, m, h or d; "5/1h", "10/30m"), or
 * "0" / "off" for no limit. 0 or -EINVAL. */
int cp_ratelimit_parse(const char *s, struct cp_ratelimit *ret);

/* The pre-analysis key of a crash: @exe (NULL: unknown), the build-id of the executable
 * open at @exe_fd (-1: none), @signal, and where the crashed thread's pc lies in @core's
 * file mappings (file name and offset; "anonymous" for memory no file maps). */
uint64_t cp_ratelimit_key(const struct cp_core *core, const char *exe, int exe_fd, int signal);

/* What cp_ratelimit_check() decided. */
struct cp_ratelimit_verdict {
	bool counted;			/* over the limit: count it, no report */
	char signature[CP_SIGNATURE_LEN + 1];	/* the key's signature, "" when not known yet */
	unsigned reports;		/* reports of that signature in the window */
	uint64_t count;			/* crashes counted without a report so far, this one included */
};

/* Decide for a crash with @key at @now in the spool @spool_fd (an O_PATH fd is fine), and
 * record it: a report slot taken, or the crash counted. 0 or -errno (then: report it). */
int cp_ratelimit_check(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, int64_t now,
		       struct cp_ratelimit_verdict *ret);

/* After the report of @key's crash was written: its @signature. 0 or -errno. */
int cp_ratelimit_record(int spool_fd, uint64_t key, const char *signature);

/* The crashes counted without a report, by signature, for `list`. */
struct cp_ratelimit_count {
	char signature[CP_SIGNATURE_LEN + 1];
	uint64_t count;
	int64_t first, last;
};

/* Read the state file of the spool @spool_fd (a shared lock; a missing file is no counts)
 * into a new array *@ret of *@n_ret entries, one per signature. 0 or -errno. */
int cp_ratelimit_counts(int spool_fd, struct cp_ratelimit_count **ret, size_t *n_ret);

#endif
