#ifndef CP_KEEPCORE_H
#define CP_KEEPCORE_H

/*
 * keepcore - `handle --keep-core[=RULE]`: keep the core that streams from the kernel,
 * zstd-compressed on the way (a sink of the cp_input the handler reads: every raw byte, in
 * order, whatever the reader uses or skips), in a new file of the spool that is named
 * TIME-PID-NAME.core.zst beside its report, mode 0600 root:root, only after the report.
 *
 * Rules (any one matching keeps the core; off when there are none):
 *   all, *          every crash
 *   /PATH           the executable at PATH (/proc/PID/exe, as the handler read it)
 *   sig:HEX         crashes with this signature (16 hex digits, signature.h)
 *   NAME            an executable called NAME (the last part of its path)
 * A signature is known only after the analysis: when only signature rules could match,
 * the core is kept tentatively and dropped after the analysis when none does.
 */

#include <stdbool.h>
#include <stdint.h>

struct cp_input;

#define CP_KEEPCORE_MAX_RULES 16

struct cp_keepcore_rules {
	const char *rules[CP_KEEPCORE_MAX_RULES];	/* borrowed (argv) */
	unsigned n;
};

/* Add a comma-separated list of rules (the argument of --keep-core; NULL: "all"). Returns 0,
 * or -EINVAL (an empty or malformed rule) / -E2BIG (too many rules). */
int cp_keepcore_add_rules(struct cp_keepcore_rules *rules, char *arg);

/* Is any rule set? */
static inline bool cp_keepcore_enabled(const struct cp_keepcore_rules *rules)
{
	return rules->n > 0;
}

/* zstd's parameters for a kept core: the level (negative: zstd's fast levels) and the
 * workers beside the reader, as bench/keepcore measured them (see keepcore.c). */
#define CP_KEEPCORE_LEVEL (-10)
#define CP_KEEPCORE_WORKERS 2

struct cp_keepcore;

/*
 * Start keeping the core that @in streams (before its first read) in the spool @spool_fd
 * (borrowed) when a rule may match the executable @exe (NULL when unknown). *@ret is NULL
 * when no rule can match. While it streams, the core stops being kept when the file system
 * gets below @keep_free bytes free, or when it is compressed to more than @max_size bytes
 * (the spool's MaxUse: a core that could never fit would evict every other report); 0 for
 * no limit. Returns 0 or -errno.
 */
int cp_keepcore_start(const struct cp_keepcore_rules *rules, const char *exe, struct cp_input *in,
		      int spool_fd, uint64_t keep_free, uint64_t max_size, struct cp_keepcore **ret);

/* The stream is read to its end (or as far as it will be): end the zstd frame. On failure
 * the file is dropped at once (its space is free for the report). Returns 0 or -errno. */
int cp_keepcore_finish(struct cp_keepcore *k);

/* Drop the core (a full spool: the report goes first). */
void cp_keepcore_abort(struct cp_keepcore *k);

/* Is a file still being kept (not dropped)? */
bool cp_keepcore_pending(const struct cp_keepcore *k);

/* Why it was dropped, for the log: -errno, 0 while pending or after commit. */
int cp_keepcore_error(const struct cp_keepcore *k);

/*
 * After the report @report_name (TIME-PID-NAME.json.zst) is written: name the core beside it
 * when a rule matches (for a tentative core: @signature, NULL when unknown, matches a
 * sig: rule), else drop it. Returns 1 kept (*@name_ret, owned by @k, is its name), 0 dropped
 * by the rules, or -errno.
 */
int cp_keepcore_commit(struct cp_keepcore *k, const char *report_name, const char *signature,
		       const char **name_ret);

/* Compressed and raw bytes so far. */
uint64_t cp_keepcore_size(const struct cp_keepcore *k);
uint64_t cp_keepcore_raw_size(const struct cp_keepcore *k);

void cp_keepcore_free(struct cp_keepcore *k);	/* drops an uncommitted file; NULL: no-op */

#endif
