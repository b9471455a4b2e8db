#ifndef CP_SPOOLCLI_H
#define CP_SPOOLCLI_H

/*
 * spoolcli - the coredumpctl-like commands over the spool (list, info) and finding the
 * report that `show` and `info` are asked for.
 */

#include <stdint.h>

#include "signature.h"

struct cp_report;

int cp_cmd_list(int argc, char **argv);
int cp_cmd_info(int argc, char **argv);

/* The report @arg names: a path (or a file of that name here), else a pid (the newest
 * report of that pid in @spool) or a crash signature (the newest report with it). On
 * success *@ret, *@path_ret (spool/name or @arg) and @sig_ret (the signature, "" when not
 * known) are set; on failure one line was logged. 0 or -errno. */
int cp_spool_load_arg(const char *spool, const char *arg, struct cp_report **ret, char **path_ret,
		      char sig_ret[CP_SIGNATURE_LEN + 1]);

/* --since's TIME (coredumpctl's forms: "YYYY-MM-DD[ HH:MM[:SS]]" in UTC, "@EPOCH", "-1h",
 * "-30min", "-2d", "now", "today", "yesterday") relative to @now, into *@ret. 0 or -EINVAL. */
int cp_parse_since(const char *s, int64_t now, int64_t *ret);

#endif
