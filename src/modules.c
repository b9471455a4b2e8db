/*
 * modules.c - modules, symbols and lines with libdwfl.
 *
 * The modules come from NT_FILE, not from libdwfl's own core reading: we may not have the
 * whole core (a stream keeps only what it needs), and each file must be opened by us,
 * inside the crashed process's root and without following links (fsopen.h), or where the
 * user said the files are: locate.h finds each module's file and separate debuginfo. A mapping at
 * file offset 0 whose first bytes are an ELF header starts a module; the module ends with
 * the last consecutive NT_FILE entry of the same file. The vDSO is not a file: its image
 * is in the core and is handed to libdwfl through a memfd.
 *
 * The build-id the process really had is read from the ELF header page the kernel keeps
 * in every core (coredump_filter bit 4) and checked against the file's: a file replaced
 * since (a package upgrade) would give wrong symbols and wrong unwind tables.
 *
 * One file is one module in libdwfl, reported once: a file can be mapped from offset 0
 * more than once (any program can mmap its own executable again; dlmopen loads a library
 * twice), and libdwfl keys its modules by name and address range. For an ET_EXEC file the
 * range comes from the program headers whatever base we pass, so a second report of the
 * same file finds the first module, is refused as an overlap, and the refusal marks that
 * first module for removal: dwfl_report_end() frees it (elfutils' __libdwfl_report_elf and
 * dwfl_report_module). So every later mapping of a file already reported, with the same
 * build-id in the core, is attached to the first one's Dwfl_Module and translates its
 * addresses into that module's (dw_bias); one whose build-id differs is another file
 * under the same name and is not used. Should libdwfl refuse a report all the same, the
 * modules reported before are reported again (which clears libdwfl's mark), and after
 * dwfl_report_end() no mapping keeps a Dwfl_Module libdwfl no longer lists.
 */
#include "config.h"

#include <elf.h>
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buildid.h"
#include "cleanup.h"
#include "debugcache.h"
#include "ehframe.h"
#include "elfnote.h"
#include "inline.h"
#include "symcache.h"
#include "symindex.h"
#include "core.h"
#include "fsopen.h"
#include "locate.h"
#include "modules.h"
#include "report.h"
#include "target.h"

#ifdef HAVE_CXA_DEMANGLE
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);
#endif

#define MAX_BUILD_ID CP_MAX_BUILD_ID

struct cp_module {
	const char *path;		/* borrowed from the core's NT_FILE, or "[vdso]" */
	uint64_t start, end, bias;
	Dwfl_Module *dw;		/* NULL: not reported to libdwfl; shared by every
					 * mapping of one file (see above) */
	uint64_t dw_bias;		/* libdwfl's bias for dw: addresses in dw are ours
					 * + dw_bias - bias */
	bool attached;			/* dw was reported for an earlier mapping */
	bool dw_listed;			/* dw is still in libdwfl's list (drop_unlisted) */
	unsigned char mem_id[MAX_BUILD_ID];	/* build-id in the core's header page */
	size_t mem_id_len;
	char *build_id;			/* hex: the core's when known, else the file's */
	int match;			/* 1, 0, -1 unknown */
	enum cp_source source;		/* where its file came from (locate.h) */
	enum cp_source debug_source;	/* and its separate debuginfo */
	struct cp_target *t;
	/* .eh_frame_hdr, looked up once */
	bool eh_done;
	int eh_err;
	struct cp_eh_frame_table eh;
	/* its symbols by address, built at the first lookup, or its symcache */
	bool syms_done;
	struct cp_symindex *syms;
	struct cp_symcache *symcache;
};

/* A symbol lookup already made: threads of one process share most return addresses. */
struct sym_cache {
	uint64_t lookup;	/* 0: empty */
	char *function, *file;	/* owned */
	uint64_t start;		/* the function's start, when function is set */
	int line;
};

#define SYM_CACHE_SIZE 1024u

struct cp_modules {
	struct sym_cache cache[SYM_CACHE_SIZE];
	Dwfl *dwfl;
	struct cp_module *mods;		/* sorted by start */
	size_t n;
	struct cp_target *t;
	struct cp_core *core;
	const char *debug_cache;	/* decompressed debuginfo by build-id, or NULL */
	struct cp_locate *loc;		/* where files come from */
	/* The unwinder's state over these modules (unwind.c), owned: destroyed first */
	void *unwinder;
	void (*unwinder_destroy)(void *);
	/* inline chains already looked up, like cache (allocated at the first) */
	struct inline_cache {
		uint64_t lookup;	/* 0: empty */
		struct cp_inline_chain chain;
	} *inl;
};

#define INLINE_CACHE_SIZE 64

/* Separate debuginfo: where locate.h says, opened by us; libdwfl checks the build-id of
 * what we return and refuses a file that does not match. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink, GElf_Word crc, char **ret_name)
{
	struct cp_modules *mods = *userdata;
	struct cp_module *m = NULL;
	const unsigned char *bits;
	GElf_Addr vaddr;

	for (size_t i = 0; i < mods->n && !m; i++)
		if (mods->mods[i].dw == mod && !mods->mods[i].attached)
			m = &mods->mods[i];
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	_cleanup_free_ char *h = n > 1 ? cp_hex(bits, n) : NULL;
	enum cp_source src;
	int fd = cp_locate_debuginfo(mods->loc, h, file_name, m ? m->source : CP_SOURCE_ROOT, debuglink, ret_name, &src);
	if (fd < 0)
		return -1;
	/* Compressed DWARF (Debian's -dbg packages) without a cached copy: inflated here, in
	 * parallel, rather than by libdw one section after another. */
	int inflated = cp_debuginfo_inflated(fd);
	if (inflated >= 0) {
		close(fd);
		fd = inflated;
	}
	if (m)
		m->debug_source = src;
	return fd;
}

/* Never asked: every module is reported with an open fd. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	return -1;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* Read the ELF header and program headers of the image mapped at @start; the load bias is
 * @start minus the page of the first PT_LOAD's vaddr. Fills the build-id the core holds. */
static int parse_image(struct cp_modules *mods, struct cp_module *m)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];

	if (cp_target_read(mods->t, m->start, &eh, sizeof(eh)) < 0 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || (eh.e_type != ET_DYN && eh.e_type != ET_EXEC))
		return -ENOEXEC;
	size_t phnum = eh.e_phnum < ARRAY_SIZE(ph) ? eh.e_phnum : ARRAY_SIZE(ph);
	if (cp_target_read(mods->t, m->start + eh.e_phoff, ph, phnum * sizeof(*ph)) < 0)
		return -ENOEXEC;

	bool have_load = false;
	for (size_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			m->bias = m->start - (ph[i].p_vaddr & ~(uint64_t)4095);
			have_load = true;
			break;
		}
	if (!have_load)
		return -ENOEXEC;

	for (size_t i = 0; i < phnum && !m->mem_id_len; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > 4096)
			continue;
		unsigned char buf[4096];
		size_t len = ph[i].p_filesz;
		/* Only the core's own copy says what was mapped. */
		if (cp_target_read_core(mods->t, m->bias + ph[i].p_vaddr, buf, len) < 0)
			continue;
		struct cp_elfnote_iter it;
		struct cp_elfnote note;
		cp_elfnote_iter_init(&it, buf, len, 0, ph[i].p_align);
		while (cp_elfnote_next(&it, &note, NULL) > 0)
			if (note.type == NT_GNU_BUILD_ID && cp_elfnote_named(&note, "GNU") &&
			    note.descsz > 0 && note.descsz <= MAX_BUILD_ID) {
				memcpy(m->mem_id, note.desc, note.descsz);
				m->mem_id_len = note.descsz;
				break;
			}
	}
	return 0;
}

/* Compare the build-id of the file behind @m->dw with the one the core holds for @m. A
 * difference is noted; with @block the file is blocked for reads too (the first mapping of
 * a file: the file is not what was mapped); a later mapping that differs is only not used. */
static void check_build_id(struct cp_modules *mods, struct cp_module *m, struct cp_report *report, bool block)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(m->dw, &bits, &vaddr);
	if (m->mem_id_len && n > 0) {
		m->match = (size_t)n == m->mem_id_len && memcmp(bits, m->mem_id, n) == 0;
		if (!m->match) {
			_cleanup_free_ char *a = cp_hex(m->mem_id, m->mem_id_len);
			_cleanup_free_ char *b = cp_hex(bits, n);
			if (block) {
				cp_report_note(report, true,
					       "%s: build-id %s on disk, %s in the crashed process: the file was replaced; not used for symbols or unwinding",
					       m->path, b ? b : "?", a ? a : "?");
				cp_target_block_file(mods->t, m->path);
			} else {
				cp_report_note(report, true,
					       "%s: the mapping at 0x%" PRIx64 " has build-id %s, the file %s: not used for symbols or unwinding",
					       m->path, m->start, a ? a : "?", b ? b : "?");
			}
		}
	}
	if (!m->build_id) {
		if (m->mem_id_len)
			m->build_id = cp_hex(m->mem_id, m->mem_id_len);
		else if (n > 0)
			m->build_id = cp_hex(bits, n);
	}
}

/* libdwfl refused a report: if that was an overlap with a module already reported, the
 * refusal marked that module for removal at dwfl_report_end(). Reporting each module again
 * under its own name and range clears the mark (dwfl_report_module finds it). */
static void keep_reported(struct cp_modules *mods)
{
	for (size_t i = 0; i < mods->n; i++) {
		struct cp_module *m = &mods->mods[i];
		Dwarf_Addr low, high;
		if (!m->dw || m->attached)
			continue;
		const char *name = dwfl_module_info(m->dw, NULL, &low, &high, NULL, NULL, NULL, NULL);
		if (name && dwfl_report_module(mods->dwfl, name, low, high) != m->dw)
			m->dw = NULL;	/* should not be: then it is not used */
	}
}

/* Is @fd an x86_64 ELF executable or shared object? Asked before libdwfl sees the file:
 * what a process maps may be anything (a huge sparse file of zeros sends libelf down
 * paths that leak), and only such files can be modules of an x86_64 core. */
static const char *not_an_elf_module(int fd)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return "shorter than an ELF header";
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return "not an ELF file";
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return "not an x86_64 ELF file";
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return "neither an executable nor a shared object";
	return NULL;
}

static int report_module(struct cp_modules *mods, struct cp_module *m, int fd, struct cp_report *report)
{
	const char *why = not_an_elf_module(fd);
	if (why) {
		cp_report_note(report, false, "%s: not usable as an ELF module: %s", m->path, why);
		return -EINVAL;
	}
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);	/* libdwfl closes its fd at dwfl_end() */
	if (dupfd < 0)
		return -errno;
	m->dw = dwfl_report_elf(mods->dwfl, m->path, m->path, dupfd, m->bias, false);
	if (!m->dw) {
		close(dupfd);
		cp_report_note(report, false, "%s: not usable as an ELF module: %s", m->path, dwfl_errmsg(-1));
		keep_reported(mods);
		return -EINVAL;
	}

	void **userdata;
	dwfl_module_info(m->dw, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = mods;	/* for find_debuginfo() */

	/* libdwfl's bias: ours for an ET_DYN file, 0 for ET_EXEC whatever we asked. */
	GElf_Addr bias;
	m->dw_bias = dwfl_module_getelf(m->dw, &bias) ? bias : m->bias;
	check_build_id(mods, m, report, true);
	return 0;
}

/* The first mapping of @m's file (the same path), if any came before. */
static struct cp_module *first_mapping(struct cp_modules *mods, const struct cp_module *m)
{
	for (size_t i = 0; i < mods->n; i++)
		if (&mods->mods[i] != m && !mods->mods[i].attached && strcmp(mods->mods[i].path, m->path) == 0)
			return &mods->mods[i];
	return NULL;
}

/* @m maps the file of @first again: use @first's libdwfl module, never report it again. */
static void attach_mapping(struct cp_modules *mods, struct cp_module *first, struct cp_module *m,
			   struct cp_report *report)
{
	m->attached = true;
	if (!first->dw) {
		/* Not opened or not usable: said once, for the first mapping. */
		if (m->mem_id_len)
			m->build_id = cp_hex(m->mem_id, m->mem_id_len);
		return;
	}
	m->dw = first->dw;
	m->dw_bias = first->dw_bias;
	check_build_id(mods, m, report, false);
}

/* After dwfl_report_end(): a mapping whose module libdwfl no longer lists (it freed it)
 * must not use it. */
static int listed(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	struct cp_modules *mods = arg;
	for (size_t i = 0; i < mods->n; i++)
		if (mods->mods[i].dw == mod)
			mods->mods[i].dw_listed = true;
	return DWARF_CB_OK;
}

static void drop_unlisted(struct cp_modules *mods, struct cp_report *report)
{
	dwfl_getmodules(mods->dwfl, listed, mods, 0);
	for (size_t i = 0; i < mods->n; i++) {
		struct cp_module *m = &mods->mods[i];
		if (m->dw && !m->dw_listed) {
			cp_report_note(report, true, "%s: dropped by libdwfl; not used for symbols", m->path);
			m->dw = NULL;
		}
	}
}

static int add_vdso(struct cp_modules *mods, struct cp_module *m, struct cp_report *report)
{
	const struct cp_segment *s = cp_core_segment_at(mods->core, m->start);
	if (!s || s->memsz > (1u << 20))
		return -ENOENT;
	m->end = s->vaddr + s->memsz;
	_cleanup_free_ void *img = malloc(s->memsz);
	if (!img || cp_target_read_core(mods->t, m->start, img, m->end - m->start) < 0) {
		cp_report_note(report, false, "the vDSO's image is not in the core");
		return -ENOENT;
	}
	_cleanup_close_ int fd = memfd_create("vdso", MFD_CLOEXEC);
	if (fd < 0 || write(fd, img, m->end - m->start) != (ssize_t)(m->end - m->start))
		return -errno;
	return report_module(mods, m, fd, report);
}

static int cmp_start(const void *a, const void *b)
{
	const struct cp_module *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int cp_modules_create(struct cp_core *core, struct cp_target *t, const char *debug_cache,
		      const struct cp_locate_options *locate, struct cp_report *report, struct cp_modules **ret)
{
	_cleanup_free_ struct cp_modules *mods = calloc(1, sizeof(*mods));
	uint64_t vdso, entry = 0;

	if (!mods)
		return -ENOMEM;
	mods->t = t;
	mods->core = core;
	mods->debug_cache = debug_cache;
	mods->mods = calloc(core->n_maps + 1, sizeof(*mods->mods));
	mods->dwfl = dwfl_begin(&callbacks);
	mods->loc = cp_locate_create(locate, t, debug_cache, report);
	if (!mods->mods || !mods->dwfl || !mods->loc) {
		free(mods->mods);
		if (mods->dwfl)
			dwfl_end(mods->dwfl);
		cp_locate_destroy(mods->loc);
		return -ENOMEM;
	}
	/* The executable is the module holding the entry point. */
	(void) cp_core_auxv(core, AT_ENTRY, &entry);
	dwfl_report_begin(mods->dwfl);

	for (size_t i = 0; i < core->n_maps; i++) {
		const struct cp_mapping *map = &core->maps[i];
		if (map->offset != 0)
			continue;
		struct cp_module *m = &mods->mods[mods->n];
		memset(m, 0, sizeof(*m));
		m->path = map->path;
		m->start = map->start;
		m->end = map->end;
		m->match = -1;
		m->t = t;
		for (size_t j = i + 1; j < core->n_maps && strcmp(core->maps[j].path, map->path) == 0 &&
				       core->maps[j].offset != 0; j++)
			m->end = core->maps[j].end;
		if (parse_image(mods, m) < 0)
			continue;	/* not ELF: a data file, a PE assembly... */
		mods->n++;
		struct cp_module *first = first_mapping(mods, m);
		if (first) {
			attach_mapping(mods, first, m, report);
			continue;
		}
		bool refused;
		const char *where;
		int fd = cp_locate_module(mods->loc, m->path, m->mem_id, m->mem_id_len,
					  entry && entry >= m->start && entry < m->end, &m->source, &where, &refused);
		if (fd < 0) {
			/* Without the file: no symbols, no unwind tables for its frames. */
			cp_report_note(report, true, "%s: cannot open: %s", m->path, strerror(-fd));
			if (m->mem_id_len)
				m->build_id = cp_hex(m->mem_id, m->mem_id_len);
			if (refused)
				m->match = 0;	/* a file of it was found, with another build-id */
			continue;
		}
		(void) report_module(mods, m, fd, report);
	}

	if (cp_core_auxv(core, AT_SYSINFO_EHDR, &vdso) && vdso) {
		struct cp_module *m = &mods->mods[mods->n];
		memset(m, 0, sizeof(*m));
		m->path = "[vdso]";
		m->start = vdso;
		m->match = -1;
		m->t = t;
		if (parse_image(mods, m) == 0) {
			mods->n++;
			(void) add_vdso(mods, m, report);
		}
	}

	dwfl_report_end(mods->dwfl, NULL, NULL);
	drop_unlisted(mods, report);
	qsort(mods->mods, mods->n, sizeof(*mods->mods), cmp_start);
	*ret = TAKE_PTR(mods);
	return 0;
}

void cp_modules_destroy(struct cp_modules *mods)
{
	if (!mods)
		return;
	if (mods->unwinder)
		mods->unwinder_destroy(mods->unwinder);	/* it may use dwfl */
	for (size_t i = 0; i < mods->n; i++) {
		free(mods->mods[i].build_id);
		cp_symindex_free(mods->mods[i].syms);
		cp_symcache_close(mods->mods[i].symcache);
	}
	for (size_t i = 0; i < SYM_CACHE_SIZE; i++) {
		free(mods->cache[i].function);
		free(mods->cache[i].file);
	}
	free(mods->mods);
	free(mods->inl);
	dwfl_end(mods->dwfl);
	cp_locate_destroy(mods->loc);
	free(mods);
}

void *cp_modules_unwinder(const struct cp_modules *mods)
{
	return mods->unwinder;
}

void cp_modules_set_unwinder(struct cp_modules *mods, void *uw, void (*destroy)(void *))
{
	mods->unwinder = uw;
	mods->unwinder_destroy = destroy;
}

struct Dwfl *cp_modules_dwfl(struct cp_modules *mods)
{
	return mods->dwfl;
}

const struct cp_module *cp_modules_find(const struct cp_modules *mods, uint64_t addr)
{
	size_t lo = 0, hi = mods->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < mods->mods[mid].start)
			hi = mid;
		else if (addr >= mods->mods[mid].end)
			lo = mid + 1;
		else
			return &mods->mods[mid];
	}
	return NULL;
}

int cp_module_eh_frame_table(const struct cp_module *cm, uint64_t *hdr_ret, uint64_t *table_ret,
			     uint64_t *count_ret, uint64_t *start_ret, uint64_t *end_ret)
{
	struct cp_module *m = (struct cp_module *)cm;	/* the lookup is cached inside */

	if (!m->eh_done) {
		/* A file that is not what was mapped has no say in how its frames unwind. */
		m->eh_err = m->match == 0 ? -ENOENT : cp_eh_frame_table_find(m->t, m->start, m->bias, &m->eh);
		m->eh_done = true;
	}
	if (m->eh_err < 0)
		return m->eh_err;
	*hdr_ret = m->eh.hdr;
	*table_ret = m->eh.table;
	*count_ret = m->eh.count;
	*start_ret = m->start;
	*end_ret = m->end;
	return 0;
}

char *cp_modules_demangle(const char *versioned)
{
	_cleanup_free_ char *name = strndup(versioned, strcspn(versioned, "@"));

	if (!name || !*name)
		return strdup(versioned);
#ifdef HAVE_CXA_DEMANGLE
	if (name[0] == '_' && name[1] == 'Z') {
		int status;
		char *d = __cxa_demangle(name, NULL, NULL, &status);
		if (d && status == 0)
			return d;
		free(d);
	}
#endif
	return TAKE_PTR(name);
}

void cp_modules_symbolize(struct cp_modules *mods, uint64_t lookup, struct cp_frame *f)
{
	const struct cp_module *found = cp_modules_find(mods, lookup);
	if (!found)
		return;
	struct cp_module *m = &mods->mods[found - mods->mods];
	f->module = strdup(m->path);
	f->build_id = m->build_id ? strdup(m->build_id) : NULL;
	f->module_offset = f->ip - m->bias;
	f->has_module_offset = true;
	if (!m->dw || m->match == 0)
		return;
	f->lookup = lookup;
	f->has_lookup = true;

	struct sym_cache *c = &mods->cache[(lookup ^ (lookup >> 12)) % SYM_CACHE_SIZE];
	if (c->lookup != lookup) {
		free(c->function);
		free(c->file);
		memset(c, 0, sizeof(*c));
		c->lookup = lookup;

		if (!m->syms_done) {
			GElf_Addr bias;
			if (mods->debug_cache && m->build_id && dwfl_module_getelf(m->dw, &bias))
				m->symcache = cp_symcache_open(mods->debug_cache, m->build_id, bias);
			if (!m->symcache)
				m->syms = cp_symindex_build(m->dw);
			m->syms_done = true;
		}
		/* In libdwfl's addresses of the module (another mapping of the file, or
		 * an ET_EXEC mapped away from its link address, has its own). */
		uint64_t delta = m->dw_bias - m->bias, dl = lookup + delta, start;
		const char *name = m->symcache ? cp_symcache_function(m->symcache, dl, &start) :
				   cp_symindex_lookup(m->syms, dl, &start);
		if (!name) {
			GElf_Off off;
			GElf_Sym sym;
			name = dwfl_module_addrinfo(m->dw, dl, &off, &sym, NULL, NULL, NULL);
			start = dl - off;
		}
		if (name) {
			c->function = cp_modules_demangle(name);
			c->start = start - delta;
		}
		const char *file = NULL;
		if (!m->symcache || cp_symcache_line(m->symcache, dl, &file, &c->line) < 0) {
			Dwfl_Line *line = dwfl_module_getsrc(m->dw, dl);
			file = line ? dwfl_lineinfo(line, NULL, &c->line, NULL, NULL, NULL) : NULL;
		}
		if (file)
			c->file = strdup(file);
	}
	if (c->function) {
		f->function = strdup(c->function);
		f->offset = f->ip - c->start;
		f->has_offset = true;
	}
	if (c->file) {
		f->file = strdup(c->file);
		f->line = c->line;
	}
}

static size_t inline_chain(struct cp_modules *mods, uint64_t lookup, struct cp_inline_chain *ret);

size_t cp_modules_inline_chain(struct cp_modules *mods, uint64_t lookup, struct cp_inline_chain *ret)
{
	/* Threads of one process share most return addresses (and the names stay valid
	 * while mods lives). */
	if (!mods->inl)
		mods->inl = calloc(INLINE_CACHE_SIZE, sizeof(*mods->inl));
	if (!mods->inl || !lookup)
		return inline_chain(mods, lookup, ret);
	struct inline_cache *c = &mods->inl[(lookup ^ (lookup >> 12)) % INLINE_CACHE_SIZE];
	if (c->lookup != lookup) {
		inline_chain(mods, lookup, &c->chain);
		c->lookup = lookup;
	}
	ret->n = c->chain.n;
	memcpy(ret->calls, c->chain.calls, c->chain.n * sizeof(ret->calls[0]));
	return ret->n;
}

static size_t inline_chain(struct cp_modules *mods, uint64_t lookup, struct cp_inline_chain *ret)
{
	const struct cp_module *found = cp_modules_find(mods, lookup);

	ret->n = 0;
	if (!found || !found->dw || found->match == 0)
		return 0;
	struct cp_module *m = &mods->mods[found - mods->mods];
	uint64_t dl = lookup + (m->dw_bias - m->bias);
	/* cp_modules_symbolize() has opened its symcache, if it has one. */
	if (m->symcache) {
		int n = cp_symcache_inline(m->symcache, dl, ret);
		if (n >= 0)
			return n;
	}
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->dw, dl, &bias);
	return cu ? cp_inline_chain_dwarf(cu, dl - bias, ret) : 0;
}

int cp_module_build_id_match(const struct cp_module *m)
{
	return m->match;
}

int cp_modules_to_report(struct cp_modules *mods, struct cp_report *report)
{
	for (size_t i = 0; i < mods->n; i++) {
		struct cp_module *m = &mods->mods[i];
		struct cp_module_info *mi = cp_report_add_module(report);
		if (!mi)
			return -ENOMEM;
		mi->path = strdup(m->path);
		mi->base = m->start;
		mi->end = m->end;
		mi->build_id = m->build_id ? strdup(m->build_id) : NULL;
		mi->build_id_match = m->match;
		/* A later mapping of a file has the first one's files. */
		const struct cp_module *o = m;
		for (size_t j = 0; m->attached && j < mods->n; j++)
			if (!mods->mods[j].attached && mods->mods[j].dw == m->dw)
				o = &mods->mods[j];
		const char *src = cp_source_name(m->dw ? o->source : CP_SOURCE_NONE);
		mi->source = src ? strdup(src) : NULL;
		if (m->dw) {
			const char *mainfile = NULL, *debugfile = NULL;
			char p[PATH_MAX];
			dwfl_module_info(m->dw, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
			if (debugfile) {
				mi->debuginfo = strdup(debugfile);
				/* The file's own DWARF, or a separate file found by locate. */
				src = cp_source_name(mainfile && strcmp(mainfile, debugfile) == 0 ? o->source :
						     o->debug_source);
				mi->debuginfo_source = src ? strdup(src) : NULL;
			} else if (m->symcache && cp_build_id_debug_path(p, sizeof(p), CP_SYSTEM_DEBUG_DIR, m->build_id) == 0) {
				/* A symcache is made from the debuginfo of that build-id (symcache.h). */
				mi->debuginfo = strdup(p);
				mi->debuginfo_source = strdup(cp_source_name(CP_SOURCE_ROOT));
			}
		}
	}
	return 0;
}

int cp_modules_lookup(struct cp_modules *mods, uint64_t in_module, const char *name, uint64_t *addr_ret,
		      const char **path_ret, uint64_t *start_ret)
{
	const struct cp_module *m = cp_modules_find(mods, in_module);
	if (!m || !m->dw || m->match == 0)
		return -ENOENT;
	int n = dwfl_module_getsymtab(m->dw);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *s = dwfl_module_getsym_info(m->dw, i, &sym, &addr, NULL, NULL, NULL);
		if (s && sym.st_shndx != SHN_UNDEF && strncmp(s, name, strlen(name)) == 0 &&
		    (s[strlen(name)] == '\0' || s[strlen(name)] == '@')) {
			*addr_ret = addr - (m->dw_bias - m->bias);	/* in this mapping */
			*path_ret = m->path;
			*start_ret = m->start;
			return 0;
		}
	}
	return -ENOENT;
}

void cp_clr_method_deinit(struct cp_clr_method *m)
{
	free(m->linkage);
	free(m->name);
	for (size_t i = 0; i < m->n_params; i++)
		free(m->params[i]);
	free(m->params);
	memset(m, 0, sizeof(*m));
}

/* The name of a parameter's type: references are followed (a class is passed by
 * reference), pointers get a '*'; at most a few levels, the DWARF is the compiler's. */
static char *clr_type_name(Dwarf_Die *type)
{
	Dwarf_Attribute a;
	Dwarf_Die die = *type, next;
	int stars = 0;

	for (int depth = 0; depth < 8; depth++) {
		int tag = dwarf_tag(&die);
		if (tag != DW_TAG_reference_type && tag != DW_TAG_pointer_type &&
		    tag != DW_TAG_rvalue_reference_type && tag != DW_TAG_const_type &&
		    tag != DW_TAG_typedef) {
			const char *name = dwarf_diename(&die);
			char *s;
			if (!name || asprintf(&s, "%s%.*s", name, stars, "********") < 0)
				return NULL;
			return s;
		}
		if (tag == DW_TAG_pointer_type && stars < 8)
			stars++;
		if (!dwarf_attr(&die, DW_AT_type, &a) || !dwarf_formref_die(&a, &next))
			return NULL;
		die = next;
	}
	return NULL;
}

int cp_modules_clr_method(struct cp_modules *mods, uint64_t lookup, struct cp_clr_method *ret)
{
	const struct cp_module *found = cp_modules_find(mods, lookup);
	if (!found || !found->dw || found->match == 0)
		return -ENOENT;
	uint64_t dl = lookup + found->dw_bias - found->bias;
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(found->dw, dl, &bias);
	Dwarf_Attribute a;
	const char *producer;
	if (!cu || !dwarf_attr(cu, DW_AT_producer, &a) || !(producer = dwarf_formstring(&a)) ||
	    strcmp(producer, "NetRuntime") != 0)
		return -ENOENT;

	Dwarf_Die *scopes = NULL, decl, child;
	int n = dwarf_getscopes(cu, dl - bias, &scopes);
	int fn = -1;
	for (int i = 0; i < n; i++)
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram)
			fn = i;		/* the outermost: the method the code belongs to */
	if (fn < 0) {
		free(scopes);
		return -ENOENT;
	}
	decl = scopes[fn];
	free(scopes);
	if (dwarf_attr(&decl, DW_AT_specification, &a) && !dwarf_formref_die(&a, &decl))
		return -ENOENT;

	struct cp_clr_method m = { 0 };
	const char *name = dwarf_diename(&decl);
	const char *linkage = dwarf_attr_integrate(&decl, DW_AT_linkage_name, &a) ? dwarf_formstring(&a) : NULL;
	if (!name || !linkage)
		return -ENOENT;
	if (!(m.name = strdup(name)) || !(m.linkage = strdup(linkage)))
		goto nomem;
	if (dwarf_child(&decl, &child) == 0) {
		do {
			bool artificial = false;
			Dwarf_Die type;
			if (dwarf_tag(&child) != DW_TAG_formal_parameter)
				continue;
			if (dwarf_attr(&child, DW_AT_artificial, &a))
				(void) dwarf_formflag(&a, &artificial);
			if (artificial)
				continue;
			char *tn = NULL;
			if (dwarf_attr(&child, DW_AT_type, &a) && dwarf_formref_die(&a, &type))
				tn = clr_type_name(&type);
			if (!tn && !(tn = strdup("?")))
				goto nomem;
			char **p = realloc(m.params, (m.n_params + 1) * sizeof(*p));
			if (!p) {
				free(tn);
				goto nomem;
			}
			m.params = p;
			m.params[m.n_params++] = tn;
		} while (dwarf_siblingof(&child, &child) == 0 && m.n_params < 64);
	}
	*ret = m;
	return 0;
nomem:
	cp_clr_method_deinit(&m);
	return -ENOMEM;
}
