/*
 * srclines.c - file and line of managed frames: for each frame the DAC named with an
 * assembly, a method token and an IL offset, find the assembly's portable PDB and look the
 * offset up in it.
 *
 * Where a PDB may be, in order (the first whose id is the assembly's wins):
 *   1. beside the assembly, under the file name its CodeView entry gives (what the
 *      runtime's StackTraceSymbols tries: System.Reflection.Metadata's
 *      PEReader.TryOpenAssociatedPortablePdb);
 *   2. embedded in the assembly (debug directory type 17);
 *   3. the path the CodeView entry gives, as it is (inside the process's root);
 *   4. each --symbol-path directory, under that file name.
 * Assemblies and 1.-3. are opened inside the process's root with fsopen's rules (regular
 * files, no symbolic links); the --symbol-path directories are the host's, given by whoever
 * runs crashpipe, opened with the same rules below each directory.
 */

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ecma335.h"
#include "fsopen.h"
#include "pdb.h"
#include "report.h"
#include "srclines.h"

/* At most this many assemblies and PDBs are read in one analysis. */
#define MAX_ASSEMBLIES 512

struct assembly {
	char *path;
	int error;			/* < 0: could not be read or parsed */
	uint8_t *data;
	size_t size;
	struct cp_pe pe;
	struct cp_md md;
	bool pdb_searched;
	struct cp_pdb *pdb;		/* borrowed from the cache; NULL: none found */
	char *why;			/* why no PDB is used, when one was found but refused */
	bool noted;
};

struct cp_srclines {
	int rootfd;
	char **symbol_dirs;
	size_t n_symbol_dirs;
	struct assembly *assemblies;
	size_t n_assemblies;
	struct cp_pdb **pdbs;		/* the cache, by id */
	size_t n_pdbs;
};

struct cp_srclines *cp_srclines_create(int rootfd, const char *symbol_path)
{
	struct cp_srclines *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rootfd = rootfd;
	s->assemblies = calloc(MAX_ASSEMBLIES, sizeof(*s->assemblies));
	s->pdbs = calloc(MAX_ASSEMBLIES, sizeof(*s->pdbs));
	if (!s->assemblies || !s->pdbs)
		goto oom;
	if (symbol_path && *symbol_path) {
		_cleanup_free_ char *copy = strdup(symbol_path);
		if (!copy)
			goto oom;
		size_t n = 1;
		for (const char *p = copy; *p; p++)
			n += *p == ':';
		s->symbol_dirs = calloc(n, sizeof(*s->symbol_dirs));
		if (!s->symbol_dirs)
			goto oom;
		char *save = NULL;
		for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			if (!(s->symbol_dirs[s->n_symbol_dirs] = strdup(dir)))
				goto oom;
			s->n_symbol_dirs++;
		}
	}
	return s;
oom:
	cp_srclines_destroy(s);
	return NULL;
}

void cp_srclines_destroy(struct cp_srclines *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_assemblies; i++) {
		free(s->assemblies[i].path);
		free(s->assemblies[i].data);
		free(s->assemblies[i].why);
	}
	for (size_t i = 0; i < s->n_pdbs; i++)
		cp_pdb_destroy(s->pdbs[i]);
	for (size_t i = 0; i < s->n_symbol_dirs; i++)
		free(s->symbol_dirs[i]);
	free(s->symbol_dirs);
	free(s->assemblies);
	free(s->pdbs);
	free(s);
}

static struct assembly *get_assembly(struct cp_srclines *s, const char *path)
{
	for (size_t i = 0; i < s->n_assemblies; i++)
		if (!strcmp(s->assemblies[i].path, path))
			return &s->assemblies[i];
	if (s->n_assemblies >= MAX_ASSEMBLIES)
		return NULL;
	struct assembly *a = &s->assemblies[s->n_assemblies];
	if (!(a->path = strdup(path)))
		return NULL;
	s->n_assemblies++;
	if (path[0] != '/') {
		a->error = -EINVAL;
		return a;
	}
	_cleanup_close_ int fd = cp_open_in_root(s->rootfd, path, false);
	if (fd < 0) {
		a->error = fd;
		return a;
	}
	int r = cp_ecma_read_fd(fd, CP_ECMA_MAX_FILE, &a->data, &a->size);
	if (r < 0) {
		a->error = r;
		return a;
	}
	if ((r = cp_pe_parse(a->data, a->size, &a->pe, NULL)) < 0 ||
	    (r = a->pe.has_cli ? 0 : -ENOEXEC) < 0 ||
	    (r = cp_md_open(a->pe.metadata, a->pe.metadata_size, &a->md, NULL)) < 0) {
		a->error = r;
		free(a->data);
		a->data = NULL;
	}
	return a;
}

int cp_srclines_assembly(struct cp_srclines *s, const char *path, const struct cp_pe **pe_ret,
			 const struct cp_md **md_ret)
{
	struct assembly *a = get_assembly(s, path);
	if (!a)
		return -ENOMEM;
	if (a->error < 0)
		return a->error;
	if (pe_ret)
		*pe_ret = &a->pe;
	if (md_ret)
		*md_ret = &a->md;
	return 0;
}

static struct cp_pdb *cached_pdb(struct cp_srclines *s, const uint8_t *id)
{
	for (size_t i = 0; i < s->n_pdbs; i++)
		if (!memcmp(cp_pdb_id(s->pdbs[i]), id, CP_PDB_ID_SIZE))
			return s->pdbs[i];
	return NULL;
}

/* Keep @pdb if its id is @id; otherwise say why not in *why. Takes @pdb. */
static struct cp_pdb *adopt(struct cp_srclines *s, struct cp_pdb *pdb, const uint8_t *id,
			    const char *where, char **why)
{
	if (memcmp(cp_pdb_id(pdb), id, CP_PDB_ID_SIZE) != 0) {
		free(*why);
		if (asprintf(why, "%s is not this build's PDB (its id differs)", where) < 0)
			*why = NULL;
		cp_pdb_destroy(pdb);
		return NULL;
	}
	if (s->n_pdbs >= MAX_ASSEMBLIES) {
		cp_pdb_destroy(pdb);
		return NULL;
	}
	s->pdbs[s->n_pdbs++] = pdb;
	return pdb;
}

static struct cp_pdb *try_fd(struct cp_srclines *s, int fd, const uint8_t *id, const char *where,
			     char **why)
{
	struct cp_pdb *pdb;
	const char *reason = "unreadable";
	if (fd < 0)
		return NULL;
	int r = cp_pdb_open_fd(fd, &pdb, &reason);
	close(fd);
	if (r < 0) {
		free(*why);
		if (asprintf(why, "%s: %s", where, r == -ENOMEM ? "out of memory" : reason) < 0)
			*why = NULL;
		return NULL;
	}
	return adopt(s, pdb, id, where, why);
}

static void find_pdb(struct cp_srclines *s, struct assembly *a)
{
	struct cp_pe_debug d;
	struct cp_pe_codeview cv;
	uint8_t id[CP_PDB_ID_SIZE];
	char path[4096];

	a->pdb_searched = true;
	if (cp_pe_debug_find(&a->pe, CP_PE_DEBUG_CODEVIEW, &d) < 0 || cp_pe_codeview(&d, &cv, NULL) < 0)
		return;			/* no PDB was made for it */
	if (!cv.portable) {
		a->why = strdup("its CodeView entry names a Windows PDB, not a portable one");
		return;
	}
	memcpy(id, cv.guid, 16);
	for (unsigned i = 0; i < 4; i++)	/* little-endian, as the #Pdb stream stores it */
		id[16 + i] = (uint8_t) (cv.stamp >> (8 * i));
	if ((a->pdb = cached_pdb(s, id)))
		return;

	/* The CodeView path may be a Windows one: its file name ends at either separator. */
	const char *base = cv.path;
	for (const char *p = cv.path; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return;

	/* 1. beside the assembly */
	_cleanup_free_ char *copy = strdup(a->path);
	if (!copy)
		return;
	const char *dir = dirname(copy);
	if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", base) < (int) sizeof(path) &&
	    (a->pdb = try_fd(s, cp_open_in_root(s->rootfd, path, false), id, path, &a->why)))
		return;
	/* 2. embedded */
	if (cp_pe_debug_find(&a->pe, CP_PE_DEBUG_EMBEDDED_PDB, &d) == 0) {
		struct cp_pdb *pdb;
		const char *reason = "unreadable";
		int r = cp_pdb_open_embedded(&d, &pdb, &reason);
		if (r == 0) {
			if ((a->pdb = adopt(s, pdb, id, "the embedded PDB", &a->why)))
				return;
		} else {
			free(a->why);
			if (asprintf(&a->why, "the embedded PDB: %s", r == -ENOMEM ? "out of memory" : reason) < 0)
				a->why = NULL;
		}
	}
	/* 3. where the build wrote it */
	if (cv.path[0] == '/' && strcmp(cv.path, path) &&
	    (a->pdb = try_fd(s, cp_open_in_root(s->rootfd, cv.path, false), id, cv.path, &a->why)))
		return;
	/* 4. the symbol path */
	for (size_t i = 0; i < s->n_symbol_dirs; i++) {
		_cleanup_close_ int dfd = cp_open_root(s->symbol_dirs[i]);
		if (dfd < 0)
			continue;
		if (snprintf(path, sizeof(path), "/%s", base) >= (int) sizeof(path))
			continue;
		char where[4200];
		snprintf(where, sizeof(where), "%s/%s", s->symbol_dirs[i], base);
		if ((a->pdb = try_fd(s, cp_open_in_root(dfd, path, false), id, where, &a->why)))
			return;
	}
}

static int fill_frame(struct cp_srclines *s, struct cp_report *report, struct cp_frame *f)
{
	if (f->kind != CP_FRAME_MANAGED || !f->assembly || !*f->assembly || !f->has_token ||
	    !f->has_il_offset)
		return 0;
	struct assembly *a = get_assembly(s, f->assembly);
	if (!a)
		return 0;		/* ENOMEM or too many assemblies: the frame keeps no line */
	if (a->error < 0)
		return 0;
	if (!a->pdb_searched)
		find_pdb(s, a);
	if (!a->pdb) {
		if (a->why && !a->noted) {
			cp_report_note(report, false, "%s: no source lines: %s", a->path, a->why);
			a->noted = true;
		}
		return 0;
	}
	const char *doc, *reason = NULL;
	uint32_t line;
	int r = cp_pdb_lookup(a->pdb, f->token, f->il_offset, &doc, &line, &reason);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (reason && !a->noted) {
			cp_report_note(report, false, "%s: PDB: %s", a->path, reason);
			a->noted = true;
		}
		return 0;
	}
	char *file = strdup(doc);
	if (!file)
		return -ENOMEM;
	free(f->file);
	f->file = file;
	f->line = (int) line;
	return 0;
}

static int fill_exception(struct cp_srclines *s, struct cp_report *report, struct cp_exception *e,
			  unsigned depth)
{
	if (!e || depth > 64)
		return 0;
	for (size_t i = 0; i < e->n_stack; i++) {
		int r = fill_frame(s, report, &e->stack[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < e->n_inners; i++) {
		int r = fill_exception(s, report, e->inners[i], depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int cp_srclines_fill(struct cp_srclines *s, struct cp_report *report)
{
	for (size_t t = 0; t < report->n_threads; t++) {
		struct cp_thread *th = &report->threads[t];
		for (size_t i = 0; i < th->n_frames; i++) {
			int r = fill_frame(s, report, &th->frames[i]);
			if (r < 0)
				return r;
		}
		int r = fill_exception(s, report, th->exception, 0);
		if (r < 0)
			return r;
	}
	return 0;
}
