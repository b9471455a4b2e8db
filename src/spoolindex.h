#ifndef CP_SPOOLINDEX_H
#define CP_SPOOLINDEX_H

/*
 * spoolindex - the spool read as groups of reports with the same crash signature, for
 * `list`, `info` and `show`: each report by its file name (TIME-PID-NAME.json[.zst], as
 * handle names them; the file's mtime when the name says no time) and its signature
 * extended attribute, so that no report is decompressed to group them (one that has no
 * attribute is loaded and signed: cp_signature_of_file()). The crashes the crash-loop limit
 * counted without a report (ratelimit.h) are added to their group's count and time span.
 *
 * Every entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW) in the directory fd that is
 * listed: an entry that is not a regular file, or whose signature cannot be had, is
 * skipped with one line (through the @skip callback), never followed or waited on.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "signature.h"

struct cp_spool_entry {
	char *name;			/* in the spool directory */
	int64_t time;			/* from the name, else the mtime */
	pid_t pid;			/* from the name, else 0 */
	int64_t mtime_ns;		/* orders entries of the same second */
	char signature[CP_SIGNATURE_LEN + 1];
};

struct cp_spool_group {
	char signature[CP_SIGNATURE_LEN + 1];
	struct cp_spool_entry **reports;	/* borrowed from the index, oldest first */
	size_t n_reports;
	uint64_t counted;		/* crashes counted without a report */
	int64_t counted_first, counted_last;	/* their times (0: none) */
	uint64_t count;			/* n_reports + counted */
	int64_t first, last;		/* of reports and counted crashes */
};

struct cp_spool_index {
	int dir_fd;			/* the spool, opened O_DIRECTORY */
	struct cp_spool_entry *entries;	/* oldest first */
	size_t n_entries;
	struct cp_spool_group *groups;	/* newest last first */
	size_t n_groups;
};

/* @skip(name, why, data) for each entry left out (@why a static string or strerror). */
typedef void (*cp_spool_skip_fn)(const char *name, const char *why, void *data);

/* Read the spool @dir into *@ret (cp_spool_index_destroy()). Only names of reports
 * (*.json, *.json.zst, not starting with '.') are looked at. 0 or -errno (the directory
 * itself cannot be opened: logged by the caller). */
int cp_spool_index_read(const char *dir, cp_spool_skip_fn skip, void *data, struct cp_spool_index **ret);
void cp_spool_index_destroy(struct cp_spool_index *idx);

/* The group of @signature, or NULL. */
const struct cp_spool_group *cp_spool_index_group(const struct cp_spool_index *idx, const char *signature);

/* The newest report whose name gives @pid, or NULL. */
const struct cp_spool_entry *cp_spool_index_by_pid(const struct cp_spool_index *idx, pid_t pid);

/* Is @name a report's file name (*.json or *.json.zst, not hidden)? */
bool cp_spool_is_report_name(const char *name);

#endif
