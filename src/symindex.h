#ifndef CP_SYMINDEX_H
#define CP_SYMINDEX_H

/*
 * symindex - a module's symbols sorted by address, to answer dwfl_module_addrinfo()'s
 * question without its linear scan.
 *
 * libdwfl looks a symbol up by reading every symbol of the module, each time: 10,000 of
 * them for libc with its debuginfo, a quarter of a millisecond per frame, more than all
 * the rest of a .NET report's native side. The index answers in a binary search where the
 * answer is plain: the symbols that start closest below the address all have a size, one
 * of them contains it, and nothing that starts lower reaches over it. It then picks among
 * them by the rules libdwfl's scan applies (global before local symbols, then the stronger
 * binding, then the smaller size, then the first in the table). Anything else (no
 * containing symbol, a symbol without a size in the way, nested ranges) it leaves to
 * libdwfl, so its answers are libdwfl's; tests/unit/test-symindex checks that on real
 * libraries.
 */

#include <elfutils/libdwfl.h>
#include <stdint.h>

struct cp_symindex;

/* Index the symbols of @mod; NULL when it has none (or on ENOMEM). */
struct cp_symindex *cp_symindex_build(Dwfl_Module *mod);
void cp_symindex_free(struct cp_symindex *idx);

/* The name of the symbol dwfl_module_addrinfo() gives for @addr (an address in the
 * process), with its start in *@start_ret; NULL when the index cannot tell, and the
 * caller must ask libdwfl. The name belongs to libdwfl's module. */
const char *cp_symindex_lookup(const struct cp_symindex *idx, uint64_t addr, uint64_t *start_ret);

/* How many symbols the index holds. */
size_t cp_symindex_size(const struct cp_symindex *idx);

/* An indexed symbol as stored in a file (symcache.h): addresses relative to the module's
 * bias, the name an offset into a string table. */
struct cp_symrec {
	uint64_t addr, size;
	uint32_t name, index;
	uint8_t binding, local_pass;
	uint8_t pad[6];
};

/* The symbols of @idx as @n_ret records, in index order, with their addresses less @bias;
 * the names are appended to *@strtab (of *@strtab_len bytes, grown with realloc()).
 * Returns 0 or -ENOMEM. */
int cp_symindex_export(const struct cp_symindex *idx, uint64_t bias, struct cp_symrec **recs_ret,
		       size_t *n_ret, char **strtab, size_t *strtab_len);

/* An index over records from cp_symindex_export(), their addresses plus @bias; the names
 * point into @strtab, which must outlive the index. NULL when a record is out of bounds. */
struct cp_symindex *cp_symindex_import(const struct cp_symrec *recs, size_t n, const char *strtab,
				       size_t strtab_len, uint64_t bias);

#endif
