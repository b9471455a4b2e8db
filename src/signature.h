#ifndef CP_SIGNATURE_H
#define CP_SIGNATURE_H

/*
 * signature - the crash signature: one short string that is the same for every crash of the
 * same bug, whatever the pid, the load addresses (ASLR), the machine or the run, and
 * different for different bugs. It is what `list` groups by, what the crash-loop limit
 * counts, what the log line and the journal entry carry.
 *
 * It is a hash (FNV-1a, 64 bits, as 16 lowercase hex digits) of a canonical text made of:
 *   - the signal, and the executable's file name;
 *   - for a managed (.NET) exception on the crashed thread: its type and the throw site (the
 *     first frame of the exception's own stack: assembly file name and method token, or for
 *     a native frame what is said below);
 *   - else the crashed thread's top CP_SIGNATURE_FRAMES frames, after the frames of the
 *     C library's and the C++ runtime's abort machinery (raise, abort, __assert_fail,
 *     std::terminate, ...) that every abort shares: each by its module's build-id and the
 *     offset in it, by the module's file name and offset when the build-id is unknown, by
 *     its function name when the module is unknown; managed frames by assembly and token.
 * Inline frames are skipped (their physical frame carries the same address). The version
 * of the scheme is part of the text hashed, so a change of scheme changes every signature
 * rather than silently merging groups.
 *
 * Report files in the spool carry the signature as the extended attribute
 * CP_SIGNATURE_XATTR, so a spool is grouped without decompressing its reports.
 */

#include <stdbool.h>

struct cp_report;

#define CP_SIGNATURE_LEN 16		/* hex digits */
#define CP_SIGNATURE_FRAMES 3
#define CP_SIGNATURE_XATTR "user.crashpipe.signature"

/* Compute the signature of a finished report into r->signature (replacing what was there).
 * 0 or -ENOMEM. */
int cp_report_sign(struct cp_report *r);

/* Is @function (a frame's demangled name) part of the abort machinery the signature skips
 * (raise, abort, __assert_fail, std::terminate, ...)? For handle's log line, which names
 * the crashed function the same way. */
bool cp_signature_abort_frame(const char *function);

/* Is @s a signature: exactly CP_SIGNATURE_LEN lowercase hex digits? */
bool cp_signature_valid(const char *s);

/* The signature of the report @name in the directory @dir_fd: its CP_SIGNATURE_XATTR when it
 * has a valid one, else the report is loaded (cp_report_loadat: a regular file only, no link
 * followed) and its "signature" member taken, or computed when it has none. @out gets the
 * NUL-terminated signature. 0 or -errno (-EINVAL for a file that is not a report). */
int cp_signature_of_file(int dir_fd, const char *name, char out[CP_SIGNATURE_LEN + 1]);

#endif
