/*
 * symindex.c - see symindex.h.
 *
 * What libdwfl's scan does, as far as this file relies on it (elfutils'
 * dwfl_module_addrsym.c): it visits the symbols from the module's first global one to the
 * end, then, only when that found nothing, the local ones. A symbol is a candidate when it
 * is named, defined, not a section, file or TLS symbol, starts at or below the address and
 * has no size or a size that reaches over it. A sized candidate replaces the one chosen so
 * far when it starts higher or has the stronger binding (global, weak, local), or, starting
 * at the same place with no weaker binding, is smaller. Symbols without a size only count
 * when no sized one is found; the index gives up on them.
 */
#include "config.h"

#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "symindex.h"

struct sym {
	uint64_t addr, size;
	const char *name;
	uint32_t index;		/* in libdwfl's numbering, the order of its scan */
	uint8_t binding;	/* binding_value() */
	bool local_pass;	/* visited by the second pass, over the local symbols */
};

struct cp_symindex {
	struct sym *syms;	/* by address, then index */
	uint64_t *max_end;	/* max_end[i]: the highest end of syms[0..i] */
	size_t n;
};

static uint8_t binding_value(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void fill_max_end(struct cp_symindex *idx)
{
	uint64_t m = 0;
	for (size_t i = 0; i < idx->n; i++) {
		uint64_t end = idx->syms[i].addr + idx->syms[i].size;
		if (end > m)
			m = end;
		idx->max_end[i] = m;
	}
}

/* An empty index with room for @n symbols. */
static struct cp_symindex *alloc_index(size_t n)
{
	struct cp_symindex *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return NULL;
	idx->syms = malloc(n * sizeof(*idx->syms));
	idx->max_end = malloc(n * sizeof(*idx->max_end));
	if (!idx->syms || !idx->max_end) {
		cp_symindex_free(idx);
		return NULL;
	}
	return idx;
}

struct cp_symindex *cp_symindex_build(Dwfl_Module *mod)
{
	int n = dwfl_module_getsymtab(mod);
	if (n <= 1)
		return NULL;
	int first_global = dwfl_module_getsymtab_first_global(mod);
	struct cp_symindex *idx = alloc_index(n);
	if (!idx)
		return NULL;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !*name || sym.st_shndx == SHN_UNDEF || type == STT_SECTION || type == STT_FILE ||
		    type == STT_TLS)
			continue;
		idx->syms[idx->n++] = (struct sym){
			.addr = addr, .size = sym.st_size, .name = name, .index = i,
			.binding = binding_value(&sym), .local_pass = first_global > 1 && i < first_global,
		};
	}
	if (idx->n == 0) {
		cp_symindex_free(idx);
		return NULL;
	}
	qsort(idx->syms, idx->n, sizeof(*idx->syms), cmp_sym);
	fill_max_end(idx);
	return idx;
}

int cp_symindex_export(const struct cp_symindex *idx, uint64_t bias, struct cp_symrec **recs_ret,
		       size_t *n_ret, char **strtab, size_t *strtab_len)
{
	struct cp_symrec *recs = calloc(idx->n + 1, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (size_t i = 0; i < idx->n; i++) {
		const struct sym *s = &idx->syms[i];
		size_t len = strlen(s->name) + 1;
		char *p = *strtab_len <= UINT32_MAX ? realloc(*strtab, *strtab_len + len) : NULL;
		if (!p) {
			free(recs);
			return -ENOMEM;
		}
		memcpy(p + *strtab_len, s->name, len);
		recs[i] = (struct cp_symrec){
			.addr = s->addr - bias, .size = s->size, .name = (uint32_t)*strtab_len, .index = s->index,
			.binding = s->binding, .local_pass = s->local_pass,
		};
		*strtab = p;
		*strtab_len += len;
	}
	*recs_ret = recs;
	*n_ret = idx->n;
	return 0;
}

struct cp_symindex *cp_symindex_import(const struct cp_symrec *recs, size_t n, const char *strtab,
				       size_t strtab_len, uint64_t bias)
{
	if (n == 0 || strtab_len == 0 || strtab[strtab_len - 1] != '\0')
		return NULL;
	struct cp_symindex *idx = alloc_index(n);
	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct cp_symrec *r = &recs[i];
		/* Sorted as cp_symindex_build() sorts, or the binary search would be wrong. */
		if (r->name >= strtab_len || (i > 0 && (r->addr < recs[i - 1].addr ||
		    (r->addr == recs[i - 1].addr && r->index <= recs[i - 1].index)))) {
			cp_symindex_free(idx);
			return NULL;
		}
		idx->syms[i] = (struct sym){
			.addr = r->addr + bias, .size = r->size, .name = strtab + r->name, .index = r->index,
			.binding = r->binding, .local_pass = r->local_pass != 0,
		};
	}
	idx->n = n;
	fill_max_end(idx);
	return idx;
}

void cp_symindex_free(struct cp_symindex *idx)
{
	if (!idx)
		return;
	free(idx->syms);
	free(idx->max_end);
	free(idx);
}

size_t cp_symindex_size(const struct cp_symindex *idx)
{
	return idx ? idx->n : 0;
}

/* Of the candidates of one pass, all starting at the same address, in scan order: the
 * one the scan keeps. */
static const struct sym *choose(const struct sym *g, size_t n, uint64_t addr, bool local_pass)
{
	const struct sym *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct sym *s = &g[i];
		if (s->local_pass != local_pass || addr - s->addr >= s->size)
			continue;
		if (!best || best->binding < s->binding || (best->size > s->size && best->binding <= s->binding))
			best = s;
	}
	return best;
}

const char *cp_symindex_lookup(const struct cp_symindex *idx, uint64_t addr, uint64_t *start_ret)
{
	if (!idx)
		return NULL;
	/* The last symbol starting at or below @addr. */
	size_t lo = 0, hi = idx->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	size_t last = lo - 1, first = last;
	uint64_t start = idx->syms[last].addr;
	while (first > 0 && idx->syms[first - 1].addr == start)
		first--;
	/* Nothing that starts lower may reach @addr: it would be a candidate too. */
	if (first > 0 && idx->max_end[first - 1] > addr)
		return NULL;
	/* A symbol without a size in the group: libdwfl's fallback rules, not ours. */
	for (size_t i = first; i <= last; i++)
		if (idx->syms[i].size == 0)
			return NULL;
	const struct sym *best = choose(&idx->syms[first], last - first + 1, addr, false);
	if (!best)
		best = choose(&idx->syms[first], last - first + 1, addr, true);
	if (!best)
		return NULL;
	*start_ret = best->addr;
	return best->name;
}
