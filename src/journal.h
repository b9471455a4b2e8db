#ifndef CP_JOURNAL_H
#define CP_JOURNAL_H

/*
 * journal - the systemd journal as crashpipe's output and as follow mode's input; the only
 * user of libsystemd.
 *
 * Output: one entry per crash in the shape coredumpctl(1) reads (systemd 252,
 * src/coredump/coredumpctl.c matches the coredump and backtrace MESSAGE_IDs and prints the
 * COREDUMP_* fields), with the backtrace id, the COREDUMP_* fields, a MESSAGE that leads
 * with what died and why and then the crashed thread's stack, and CRASHPIPE_* fields of
 * our own. Every value that came from the crashed process is made safe (termsafe.h: no
 * control character, so no newline anywhere but between MESSAGE's own lines) and capped
 * (threats.md T22): a value past its cap is cut at a character boundary and ends in
 * CP_JOURNAL_TRUNCATED. Field names are ours only. When no journal runs, one syslog line.
 *
 * Input: systemd-coredump's entries (MESSAGE_ID fc2e22bc...), read from the system journal
 * after a cursor.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct cp_report;

#define CP_JOURNAL_BACKTRACE_ID "1f4e0a44a88649939aaea34fc6da8c95"
#define CP_JOURNAL_COREDUMP_ID "fc2e22bc6ee647b6b90729ab34a250b1"

/* Caps, in bytes before the marker: a one-line field (COREDUMP_COMM, _EXE, _CMDLINE,
 * CRASHPIPE_EXCEPTION_TYPE, ...), the exception message inside MESSAGE, the whole MESSAGE.
 * journald itself takes entries up to 768 MiB; systemd-coredump halves its COREDUMP= field
 * on EMSGSIZE, and so does cp_journal_send() with MESSAGE. */
#define CP_JOURNAL_FIELD_MAX 2048u
#define CP_JOURNAL_EXCEPTION_MAX 4096u
#define CP_JOURNAL_MESSAGE_MAX 65536u
#define CP_JOURNAL_MESSAGE_FRAMES 64u
#define CP_JOURNAL_TRUNCATED "...[truncated by crashpipe]"

/* The fields of @r's entry, each "NAME=value" (value not NUL-terminated in iov_len's count,
 * but a NUL follows it), in the order sent (MESSAGE first). */
#define CP_JOURNAL_MAX_FIELDS 40
struct cp_journal_fields {
	struct iovec iov[CP_JOURNAL_MAX_FIELDS];
	size_t n;
};
/* Fill @f (zeroed by the caller) for @r as cp_journal_send() sends it. 0 or -ENOMEM (then
 * @f holds what was made: cp_journal_fields_done() it either way). */
int cp_journal_fields(const struct cp_report *r, const char *report_path, const char *signature,
		      const char *core_filename, struct cp_journal_fields *f);
void cp_journal_fields_done(struct cp_journal_fields *f);

/* Send @r's entry (@report_path: where the report was written, or NULL) to the journal, or
 * one line to syslog(3) when no journal socket takes it. @signature: the crash signature or
 * NULL. @core_filename: the core systemd-coredump stored for this crash (follow, chain), or
 * NULL; as COREDUMP_FILENAME it keeps `coredumpctl dump PID` working when our entry is the
 * newest of that pid. Returns 0 (journal), 1 (syslog) or -errno. */
int cp_journal_send(const struct cp_report *r, const char *report_path, const char *signature,
		    const char *core_filename);

/* One of systemd-coredump's entries; strings owned (NULL when the field is missing), the
 * rest -1 when missing. */
struct cp_coredump_entry {
	char *cursor;
	int64_t pid, uid, gid, signal, rlimit;
	int64_t timestamp_usec;		/* COREDUMP_TIMESTAMP */
	char *exe, *comm, *cmdline, *hostname, *cgroup, *filename, *boot_id;
	bool truncated;			/* COREDUMP_TRUNCATED=1 */
};
void cp_coredump_entry_deinit(struct cp_coredump_entry *e);

struct cp_journal_reader;

/* Open the system journal at systemd-coredump's entries after @cursor (NULL: from the
 * first). Returns 0 or -errno. */
int cp_journal_reader_open(const char *cursor, struct cp_journal_reader **ret);
void cp_journal_reader_close(struct cp_journal_reader *j);
/* The next entry: 1 and *@e filled, 0 at the end, or -errno. */
int cp_journal_reader_next(struct cp_journal_reader *j, struct cp_coredump_entry *e);
/* Wait up to @usec (UINT64_MAX: forever) for the journal to change or @extra_fd (-1: none)
 * to be readable. 1: @extra_fd is readable, 0: otherwise (changed, or the time is up),
 * -errno. journald tells readers of new entries only after its own coalescing delay (up
 * to ~250 ms after the write, journal-file.c's post-change timer); new entries are
 * visible to cp_journal_reader_next() before that, so a caller that expects one soon may
 * wait with a short @usec and look. */
int cp_journal_reader_wait(struct cp_journal_reader *j, int extra_fd, uint64_t usec);

#endif
