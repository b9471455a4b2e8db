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
 * reports. A key that has given two different signatures (one crash site, two bugs) is
 * never limited by itself: the limit must not hide a different bug.
 *
 * A .NET process's key says nothing of its exception: every unhandled exception aborts at
 * the same place in the runtime, so distinct exceptions of one service would merge. That
 * key is its coarse key, and its crash is decided twice (issue 10, part 3):
 *  - before the analysis, by a finer key (cp_ratelimit_dotnet_key(): the coarse key and the
 *    managed code the crashed thread's stack points to, read from the live process), under
 *    the rules above when that key was seen before and found one signature; a new key's
 *    (or an ambiguous one's) crash is analysed only while the coarse key's wasted analyses
 *    (those that ended without a report, and those under way) in the window are fewer than
 *    cp_ratelimit_dotnet_analyses(), else counted without one (cp_ratelimit_check_dotnet()),
 *    so that a loop whose fine keys never repeat still costs a bounded number of analyses;
 *  - after the analysis, by the signature it found: over its limit, the crash is counted,
 *    its report slot given back, and no report written (cp_ratelimit_check_signature()).
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
#define CP_RATELIMIT_DOTNET_FACTOR 4	/* a .NET executable's analyses: 4 x max per window */
#define CP_RATELIMIT_STACK_SCAN (16u << 10)	/* bytes of the crashed thread's stack looked at */
#define CP_RATELIMIT_STACK_CODE 16	/* code addresses found there that make the key */

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

/* The finer pre-analysis key of a .NET crash: @coarse (cp_ratelimit_key()) and the first
 * CP_RATELIMIT_STACK_CODE values in the CP_RATELIMIT_STACK_SCAN bytes above the crashed
 * thread's stack pointer that point into executable memory other than a shared object's
 * (JIT code, ReadyToRun images, the executable), each by its file and offset, read through
 * @mem_fd (the live process's /proc/PID/mem; -1: none, the key is then @coarse's alone,
 * hashed). The same for every crash of one exception thrown through one path, measured on
 * .NET 10 (tests/run-dotnet-loop.sh: 2 of 1000 crashes of one loop had another key, with
 * 32 values 6 or 7, with 4 as few but less telling); a service whose JIT places code
 * differently from run to run gets a new key each time, and then only the coarse key's
 * bound on analyses holds. */
uint64_t cp_ratelimit_dotnet_key(uint64_t coarse, const struct cp_core *core, int mem_fd);

/* What cp_ratelimit_check*() decided. */
struct cp_ratelimit_verdict {
	bool counted;			/* over the limit: count it, no report */
	bool coarse;			/* counted by the coarse key's analysis limit (.NET) */
	char signature[CP_SIGNATURE_LEN + 1];	/* the key's signature, "" when not known yet */
	unsigned reports;		/* reports of that signature in the window (coarse: analyses) */
	uint64_t count;			/* crashes counted without a report so far, this one included */
	int64_t slot;			/* not counted: the time of the report slot taken */
	int64_t analysis;		/* .NET: the time of the coarse key's analysis taken, 0 none */
};

/* Decide for a crash with @key at @now in the spool @spool_fd (an O_PATH fd is fine), and
 * record it: a report slot taken, or the crash counted. 0 or -errno (then: report it). */
int cp_ratelimit_check(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, int64_t now,
		       struct cp_ratelimit_verdict *ret);

/* The analyses a .NET executable may cost per window: CP_RATELIMIT_DOTNET_FACTOR x max, at
 * most CP_RATELIMIT_MAX_TIMES. */
unsigned cp_ratelimit_dotnet_analyses(const struct cp_ratelimit *rl);

/* cp_ratelimit_check() for a .NET crash with the fine @key and the @coarse one: a @key seen
 * before that found one signature is decided by it; any other crash is counted when
 * @coarse has had its analyses in the window (ret->coarse; counted for the signature
 * @coarse found last), else a report slot is taken for @key and an analysis for @coarse
 * (ret->analysis). A key is looked up, not made, when the crash is counted. 0 or -errno
 * (then: analyse and report it). */
int cp_ratelimit_check_dotnet(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, uint64_t coarse,
			      int64_t now, struct cp_ratelimit_verdict *ret);

/* After the analysis of a crash that took the report slot @slot (ret->slot of the check) for
 * @key and the analysis @analysis (ret->analysis, 0: none) of @coarse (0: none): @signature
 * is recorded for both, and when the signature already has its max reports in the window
 * (this crash's own slot not one of them) the crash is counted for @signature and its slot
 * given back (ret->counted: write no report; the analysis stays spent); else the analysis
 * is given back (a report: the signature's limit bounds those). 0 or -errno (then: write
 * the report). */
int cp_ratelimit_check_signature(int spool_fd, const struct cp_ratelimit *rl, uint64_t key, uint64_t coarse,
				 const char *signature, int64_t slot, int64_t analysis, int64_t now,
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
