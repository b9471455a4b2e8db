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
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "ecma335.h"
#include "fsopen.h"
#include "pdb.h"
#include "report.h"
#include "srclines.h"

/* At most this many assemblies and PDBs are read in one analysis. */
#define MAX_ASSEMBLIES 512

/* An assembly is never read whole (System.Private.CoreLib.dll is 15 MB): its headers, its
 * debug directory and the entries' data, and only when asked its metadata. */
struct assembly {
	char *path;
	int error;			/* < 0: could not be read, or no PE file */
	uint64_t size;
	struct cp_pe pe;		/* from the headers; debug_dir -> debug below */
	uint8_t *debug;			/* the debug directory */
	bool md_read;
	int md_error;
	uint8_t *md_data;		/* the metadata, when asked for */
	struct cp_md md;
	bool pdb_searched;
	struct cp_pdb *pdb;		/* borrowed from the cache; NULL: none found */
	char *why;			/* why no PDB is used, when one was found but refused */
	bool noted;
};

/* Head of the file read for its PE headers (they are in the first KiB or so). */
#define HEAD_SIZE 65536
/* At most this many debug directory entries. */
#define MAX_DEBUG_ENTRIES 64

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
		free(s->assemblies[i].debug);
		free(s->assemblies[i].md_data);
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

/* Read exactly @size bytes at @off of @fd into a new buffer. */
static int read_at(int fd, uint64_t off, size_t size, uint8_t **ret)
{
	if (size > CP_ECMA_MAX_FILE)
		return -EFBIG;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t) (off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EBADMSG;	/* shrank under us */
		}
		got += (size_t) n;
	}
	*ret = buf;
	return 0;
}

static int open_assembly(struct cp_srclines *s, const char *path, uint64_t *size_ret)
{
	int fd = cp_open_in_root(s->rootfd, path, false);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < 0) {
		int e = -errno;
		close(fd);
		return e ? e : -EINVAL;
	}
	*size_ret = (uint64_t) st.st_size;
	return fd;
}

static int load_assembly(struct cp_srclines *s, struct assembly *a)
{
	if (a->path[0] != '/')
		return -EINVAL;
	uint64_t size;
	_cleanup_close_ int fd = open_assembly(s, a->path, &size);
	if (fd < 0)
		return fd;
	if (size > CP_ECMA_MAX_FILE)
		return -EFBIG;
	a->size = size;
	_cleanup_free_ uint8_t *head = NULL;
	size_t head_size = size < HEAD_SIZE ? (size_t) size : HEAD_SIZE;
	int r = read_at(fd, 0, head_size, &head);
	if (r < 0)
		return r;
	if ((r = cp_pe_parse_headers(head, head_size, size, &a->pe, NULL)) < 0)
		return r;
	size_t off;
	if (a->pe.debug_rva && a->pe.debug_size >= 28) {
		uint32_t n = a->pe.debug_size / 28;
		if (n > MAX_DEBUG_ENTRIES)
			n = MAX_DEBUG_ENTRIES;
		if (cp_pe_rva_to_offset(&a->pe, a->pe.debug_rva, n * 28, &off) < 0 ||
		    read_at(fd, off, n * 28, &a->debug) < 0)
			return -EBADMSG;
		a->pe.debug_dir = a->debug;
		a->pe.n_debug = n;
	}
	return 0;
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
	a->error = load_assembly(s, a);
	return a;
}

/* The data of debug entry @d, read from the assembly (at most @max bytes). */
static int read_debug_data(struct cp_srclines *s, struct assembly *a, struct cp_pe_debug *d,
			   size_t max, uint8_t **ret)
{
	if (d->size_of_data > max || d->file_offset > a->size || d->size_of_data > a->size - d->file_offset)
		return -EBADMSG;
	uint64_t size;
	_cleanup_close_ int fd = open_assembly(s, a->path, &size);
	if (fd < 0)
		return fd;
	int r = read_at(fd, d->file_offset, d->size_of_data, ret);
	if (r < 0)
		return r;
	d->data = *ret;
	d->data_size = d->size_of_data;
	return 0;
}

int cp_srclines_assembly(struct cp_srclines *s, const char *path, const struct cp_pe **pe_ret,
			 const struct cp_md **md_ret)
{
	struct assembly *a = get_assembly(s, path);
	if (!a)
		return -ENOMEM;
	if (a->error < 0)
		return a->error;
	if (!a->md_read) {
		a->md_read = true;
		uint8_t *cli = NULL;
		size_t off;
		uint64_t size;
		int fd = open_assembly(s, a->path, &size);
		int r = fd;
		if (fd >= 0) {
			r = -ENOEXEC;		/* no CLI header: not a .NET assembly */
			if (a->pe.cli_rva && a->pe.cli_size >= 72 &&
			    cp_pe_rva_to_offset(&a->pe, a->pe.cli_rva, 72, &off) == 0 &&
			    (r = read_at(fd, off, 72, &cli)) == 0 &&
			    (r = cp_pe_parse_cli(&a->pe, cli, 72, NULL)) == 0 &&
			    (r = read_at(fd, a->pe.metadata_offset, a->pe.metadata_rva_size, &a->md_data)) == 0)
				r = cp_md_open(a->md_data, a->pe.metadata_rva_size, &a->md, NULL);
			close(fd);
		}
		free(cli);
		if (r == 0) {
			a->pe.metadata = a->md_data;
			a->pe.metadata_size = a->pe.metadata_rva_size;
		} else {
			free(a->md_data);
			a->md_data = NULL;
		}
		a->md_error = r;
	}
	if (a->md_error < 0)
		return a->md_error;
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

	_cleanup_free_ uint8_t *cv_data = NULL;
	a->pdb_searched = true;
	if (cp_pe_debug_find(&a->pe, CP_PE_DEBUG_CODEVIEW, &d) < 0 ||
	    read_debug_data(s, a, &d, 64 * 1024, &cv_data) < 0 || cp_pe_codeview(&d, &cv, NULL) < 0)
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
		struct cp_pdb *pdb = NULL;
		const char *reason = "unreadable";
		_cleanup_free_ uint8_t *emb = NULL;
		int r = read_debug_data(s, a, &d, CP_ECMA_MAX_FILE, &emb);
		if (r == 0)
			r = cp_pdb_open_embedded(&d, &pdb, &reason);
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
