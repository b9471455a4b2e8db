#ifndef CP_SYMCACHE_H
#define CP_SYMCACHE_H

/*
 * symcache - a module's symbols and source lines, worked out once and kept by build-id
 * beside the decompressed debuginfo (debugcache.h), the way crash services keep
 * "symcaches" of the libraries they see again and again.
 *
 * The first source line libdw finds in libc costs 3-4 ms (it reads the header of every
 * compilation unit to file the address ranges), and indexing libc's 10,000 symbols about
 * as much again: every report pays it, .NET ones included, where the DAC is done sooner.
 * `crashpipe handle` writes a symcache for a library whose debuginfo it copied, after the
 * report is written; an analysis that finds one reads it with a binary search.
 *
 * It holds what libdwfl would answer, not a guess: the symbols as symindex.h indexes them,
 * the address ranges of the compilation units merged as libdwfl merges them, each unit's
 * line table as libdw decodes it, and (version 2) every range of every inlined subroutine
 * as inline.c's DIE walk finds it, for the inline frames; the lookups follow libdwfl's
 * rules. Where the file cannot tell, the caller asks libdwfl. A file of another version
 * is not read, and cp_symcache_build() replaces it.
 */

#include <stdint.h>

struct cp_symcache;

/* Build the symcache of the ELF file @path (build-id @hex) into @dir, with its debuginfo
 * from @dir's decompressed copy or /usr/lib/debug. Only for a root-owned file no one
 * else can write. Returns 1 when written, 0 when not needed or not possible, or -errno. */
int cp_symcache_build(const char *dir, const char *hex, const char *path);

/* Open the symcache of build-id @hex in @dir for a module loaded with bias @bias: NULL
 * when there is none (or it is damaged). */
struct cp_symcache *cp_symcache_open(const char *dir, const char *hex, uint64_t bias);
void cp_symcache_close(struct cp_symcache *c);

/* The function at process address @addr and its start, as dwfl_module_addrinfo() would
 * say it; NULL when the symcache cannot tell. */
const char *cp_symcache_function(const struct cp_symcache *c, uint64_t addr, uint64_t *start_ret);

/* The source line at @addr, as dwfl_module_getsrc() would say it: 1 with *@file_ret and
 * *@line_ret, 0 when libdwfl would find none, -1 when the symcache cannot tell. */
int cp_symcache_line(const struct cp_symcache *c, uint64_t addr, const char **file_ret, int *line_ret);

/* The calls inlined at @addr, as cp_inline_chain_dwarf() would find them (inline.h):
 * their number (0: none), or -1 when the symcache cannot tell. */
struct cp_inline_chain;
int cp_symcache_inline(const struct cp_symcache *c, uint64_t addr, struct cp_inline_chain *ret);

#endif
