#ifndef CP_DEBUGCACHE_H
#define CP_DEBUGCACHE_H

/*
 * debugcache - separate debuginfo with its DWARF sections stored uncompressed, by build-id.
 *
 * Debian's -dbg packages ship DWARF compressed (SHF_COMPRESSED, zlib), and libdw inflates
 * every debug section of a file the first time one line is looked up in it: 40-60 ms for
 * libc's, more than all the rest of a .NET report. So `crashpipe handle`, once the report
 * is written and the process is gone, keeps a decompressed copy of the debug files the
 * crash's frames needed, and later analyses open the copy, where libdw reads only the
 * pages it uses. The copy is a cache: deleting it costs time, never a frame.
 *
 * Only the host's own /usr/lib/debug is copied, and only files owned by root that no one
 * else can write. A copy is used only for a process whose root is the host's root, and
 * libdwfl checks its build-id on use like that of any debug file.
 */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#define CP_DEBUG_CACHE_DEFAULT "/var/cache/crashpipe/debug"

/* Open the cached copy for build-id @hex (lower-case hex) in @dir: fd or -errno. */
int cp_debug_cache_open(const char *dir, const char *hex);

/* Make the cached copy of /usr/lib/debug/.build-id/XX/REST.debug for @hex when that file
 * has compressed sections and no copy exists yet. Returns 1 when a copy was made, 0 when
 * none is needed, or -errno. */
int cp_debug_cache_add(const char *dir, const char *hex);

/* The host's debuginfo for build-id @hex: the cached copy in @dir, else the file under
 * /usr/lib/debug when root owns it and no one else can write it. fd or -errno. */
int cp_debuginfo_open(const char *dir, const char *hex);

/* A copy in memory (a sealed-off memfd) of the ELF file at @fd with each of its compressed
 * sections inflated, for an analysis without a cached copy: libdw inflates them one after
 * another at its first lookup, while here each section goes to a thread of its own (one
 * zlib stream cannot be split, so the copy takes as long as the largest section: 26 of
 * the 42 ms libc's debug file costs). The new fd, or -errno when @fd has nothing to inflate
 * or cannot be copied (the caller goes on with @fd). @fd is not closed or moved. */
int cp_debuginfo_inflated(int fd);

/* @dir/XX/REST@suffix for build-id @hex (lower-case hex): 0 or -errno. */
int cp_debug_cache_path(char *buf, size_t cap, const char *dir, const char *hex, const char *suffix);

/* Is @fd a regular file owned by root that no one else can write? Fills *@st. */
bool cp_debug_cache_trusted(int fd, struct stat *st);

/* mkdir -p: 0 or -errno. */
int cp_mkdir_p(const char *path, mode_t mode);

/* Is @rootfd the same directory as this process's "/"? */
bool cp_root_is_host(int rootfd);

#endif
