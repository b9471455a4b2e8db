#ifndef CP_BUILDID_H
#define CP_BUILDID_H

/*
 * buildid - GNU build-ids: reading one from an ELF file, writing it as hex, and the one
 * place that knows how a debug tree names a file by build-id, DIR/XX/REST.SUFFIX (XX the
 * first byte in hex, REST the others; /usr/lib/debug/.build-id/XX/REST.debug, gdb's and
 * libdwfl's layout, and the debug cache's XX/REST.debug and XX/REST.sym).
 */

#include <stdbool.h>
#include <stddef.h>

#define CP_MAX_BUILD_ID 64		/* bytes; GNU ld writes 20 (sha1) or 16 (md5/uuid) */
#define CP_SYSTEM_DEBUG_DIR "/usr/lib/debug"

/* The GNU build-id of the ELF file open at @fd, into @buf. Returns its length or -errno
 * (-ENOENT: it has none; -EINVAL: not an ELF file). */
int cp_elf_build_id(int fd, unsigned char *buf, size_t cap);

/* The same as lower-case hex, in a new string; NULL when there is none (or on ENOMEM). */
char *cp_elf_build_id_hex(int fd);

/* @n bytes at @p as lower-case hex, in a new string (NULL on ENOMEM). */
char *cp_hex(const unsigned char *p, size_t n);

/* Is @hex a build-id as we write them: 4 to 128 lower-case hex digits? */
bool cp_build_id_hex_valid(const char *hex);

/* @dir/XX/REST@suffix for build-id @hex into @buf: 0, -EINVAL for a bad @hex, or
 * -ENAMETOOLONG. */
int cp_build_id_path(char *buf, size_t cap, const char *dir, const char *hex, const char *suffix);

/* The separate debuginfo of @hex in the debug directory @debug_dir (such as
 * /usr/lib/debug): @debug_dir/.build-id/XX/REST.debug. 0 or -errno as above. */
int cp_build_id_debug_path(char *buf, size_t cap, const char *debug_dir, const char *hex);

#endif
