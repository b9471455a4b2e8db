/*
 * ecma335.c - a strict reader of .NET assemblies and portable PDBs: PE headers, the CLI
 * header, the debug directory, the metadata root, heaps and tables, signature blobs.
 *
 * Layouts: ECMA-335 6th edition partition II (II.22 tables and their columns, II.23.2
 * blobs, II.24.2 metadata root, streams and the #~ stream, II.25 the PE file); the
 * Portable PDB tables, the #Pdb stream and the HasCustomDebugInformation coded index from
 * dotnet/runtime docs/design/specs/PortablePdb-Metadata.md; the debug directory entries
 * (CodeView RSDS, Embedded Portable PDB "MPDB", PDB Checksum) from
 * dotnet/runtime docs/design/specs/PE-COFF.md.
 *
 * Everything is checked against the bytes given: a hostile file gets -EBADMSG and a reason,
 * never a read outside them.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecma335.h"

#define BAD(why_ret, msg) ({ if (why_ret) *(why_ret) = (msg); -EBADMSG; })

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t) (p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t) rd32(p) | (uint64_t) rd32(p + 4) << 32;
}

/* Is [off, off + len) inside a buffer of @size bytes? */
static inline bool in_bounds(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

int cp_ecma_read_fd(int fd, size_t max, uint8_t **data_ret, size_t *size_ret)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size < 0 || (uint64_t) st.st_size > max)
		return -EFBIG;
	size_t want = (size_t) st.st_size;
	uint8_t *buf = malloc(want ? want : 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t) got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;		/* shrank under us: keep what is there */
		got += (size_t) n;
	}
	*data_ret = buf;
	*size_ret = got;
	return 0;
}

/* ---- PE -------------------------------------------------------------------------------- */

int cp_pe_rva_to_offset(const struct cp_pe *pe, uint32_t rva, uint32_t size, size_t *off_ret)
{
	for (unsigned i = 0; i < pe->n_sections; i++) {
		const struct cp_pe_section *s = &pe->sections[i];
		if (rva < s->vaddr)
			continue;
		uint64_t rel = (uint64_t) rva - s->vaddr;
		if (rel >= s->raw_size && !(rel == s->raw_size && size == 0))
			continue;
		if (!in_bounds(s->raw_size, rel, size))
			return -ERANGE;
		*off_ret = (size_t) (s->raw_offset + rel);
		return 0;
	}
	return -ERANGE;
}

int cp_pe_parse_headers(const uint8_t *head, size_t head_size, uint64_t file_size,
			struct cp_pe *ret, const char **why)
{
	struct cp_pe pe = { .file_size = file_size };

	if (head_size > file_size)
		head_size = (size_t) file_size;
	if (head_size < 0x40 || head[0] != 'M' || head[1] != 'Z')
		return BAD(why, "not a PE file (no MZ header)");
	uint32_t lfanew = rd32(head + 0x3c);
	if (!in_bounds(head_size, lfanew, 24) || memcmp(head + lfanew, "PE\0\0", 4) != 0)
		return BAD(why, "not a PE file (no PE signature)");
	const uint8_t *coff = head + lfanew + 4;
	pe.machine = rd16(coff);
	pe.n_sections = rd16(coff + 2);
	pe.timestamp = rd32(coff + 4);
	uint16_t opt_size = rd16(coff + 16);
	uint64_t opt_off = (uint64_t) lfanew + 24;
	if (!in_bounds(head_size, opt_off, opt_size) || opt_size < 2)
		return BAD(why, "PE optional header outside the file");
	const uint8_t *opt = head + opt_off;
	uint16_t magic = rd16(opt);
	uint32_t ndir_off, dir_off;
	if (magic == 0x10b) {
		ndir_off = 92;
		dir_off = 96;
	} else if (magic == 0x20b) {
		pe.pe32plus = true;
		ndir_off = 108;
		dir_off = 112;
	} else {
		return BAD(why, "unknown PE optional header magic");
	}
	if (opt_size < dir_off)
		return BAD(why, "PE optional header too short");
	uint32_t n_dirs = rd32(opt + ndir_off);
	if (n_dirs > (opt_size - dir_off) / 8)
		n_dirs = (opt_size - dir_off) / 8;
	if (pe.n_sections > CP_PE_MAX_SECTIONS)
		return BAD(why, "too many PE sections");
	uint64_t sec_off = opt_off + opt_size;
	if (!in_bounds(head_size, sec_off, (uint64_t) pe.n_sections * 40))
		return BAD(why, "PE section table outside the file");
	for (unsigned i = 0; i < pe.n_sections; i++) {
		const uint8_t *s = head + sec_off + (uint64_t) i * 40;
		struct cp_pe_section *sec = &pe.sections[i];
		sec->vsize = rd32(s + 8);
		sec->vaddr = rd32(s + 12);
		sec->raw_size = rd32(s + 16);
		sec->raw_offset = rd32(s + 20);
		if (!in_bounds(file_size, sec->raw_offset, sec->raw_size))
			return BAD(why, "PE section data outside the file");
		/* Bytes past the section's size in memory are not part of the image. */
		if (sec->vsize && sec->raw_size > sec->vsize)
			sec->raw_size = sec->vsize;
	}
	/* Data directories: 6 debug, 14 CLI header */
	if (n_dirs > 6) {
		pe.debug_rva = rd32(opt + dir_off + 6 * 8);
		pe.debug_size = rd32(opt + dir_off + 6 * 8 + 4);
	}
	if (n_dirs > 14) {
		pe.cli_rva = rd32(opt + dir_off + 14 * 8);
		pe.cli_size = rd32(opt + dir_off + 14 * 8 + 4);
	}
	*ret = pe;
	return 0;
}

int cp_pe_parse_cli(struct cp_pe *pe, const uint8_t *cli, size_t size, const char **why)
{
	if (size < 72)
		return BAD(why, "CLI header truncated");
	pe->has_cli = true;
	pe->cli_major = rd16(cli + 4);
	pe->cli_minor = rd16(cli + 6);
	pe->metadata_rva = rd32(cli + 8);
	pe->metadata_rva_size = rd32(cli + 12);
	pe->cli_flags = rd32(cli + 16);
	pe->entry_point = rd32(cli + 20);
	size_t off;
	if (!pe->metadata_rva || !pe->metadata_rva_size ||
	    cp_pe_rva_to_offset(pe, pe->metadata_rva, pe->metadata_rva_size, &off) < 0)
		return BAD(why, "CLI metadata outside the file");
	pe->metadata_offset = off;
	return 0;
}

int cp_pe_parse(const uint8_t *data, size_t size, struct cp_pe *ret, const char **why)
{
	struct cp_pe pe;
	size_t off;
	int r = cp_pe_parse_headers(data, size, size, &pe, why);
	if (r < 0)
		return r;
	pe.data = data;
	pe.size = size;
	if (pe.debug_rva && pe.debug_size) {
		if (cp_pe_rva_to_offset(&pe, pe.debug_rva, pe.debug_size, &off) < 0)
			return BAD(why, "PE debug directory outside the file");
		pe.debug_dir = data + off;
		pe.n_debug = pe.debug_size / 28;
	}
	if (pe.cli_rva && pe.cli_size) {
		if (pe.cli_size < 72 || cp_pe_rva_to_offset(&pe, pe.cli_rva, 72, &off) < 0)
			return BAD(why, "CLI header outside the file");
		if ((r = cp_pe_parse_cli(&pe, data + off, 72, why)) < 0)
			return r;
		pe.metadata = data + pe.metadata_offset;
		pe.metadata_size = pe.metadata_rva_size;
	}
	*ret = pe;
	return 0;
}

int cp_pe_debug_entry(const struct cp_pe *pe, uint32_t i, struct cp_pe_debug *ret)
{
	if (i >= pe->n_debug)
		return -ERANGE;
	const uint8_t *e = pe->debug_dir + (size_t) i * 28;
	struct cp_pe_debug d = {
		.characteristics = rd32(e),
		.timestamp = rd32(e + 4),
		.major = rd16(e + 8),
		.minor = rd16(e + 10),
		.type = rd32(e + 12),
		.size_of_data = rd32(e + 16),
		.rva = rd32(e + 20),
		.file_offset = rd32(e + 24),
	};
	/* Read from the file, the data is where PointerToRawData says (what
	 * System.Reflection.Metadata's PEReader does for an unmapped image). */
	if (pe->data && d.size_of_data && in_bounds(pe->size, d.file_offset, d.size_of_data)) {
		d.data = pe->data + d.file_offset;
		d.data_size = d.size_of_data;
	}
	*ret = d;
	return 0;
}

int cp_pe_debug_find(const struct cp_pe *pe, uint32_t type, struct cp_pe_debug *ret)
{
	for (uint32_t i = 0; i < pe->n_debug; i++) {
		struct cp_pe_debug d;
		if (cp_pe_debug_entry(pe, i, &d) == 0 && d.type == type) {
			*ret = d;
			return 0;
		}
	}
	return -ENOENT;
}

int cp_pe_codeview(const struct cp_pe_debug *d, struct cp_pe_codeview *ret, const char **why)
{
	if (d->type != CP_PE_DEBUG_CODEVIEW)
		return -EINVAL;
	if (!d->data || d->data_size < 25 || memcmp(d->data, "RSDS", 4) != 0)
		return BAD(why, "CodeView entry is not RSDS");
	const char *path = (const char *) d->data + 24;
	const void *nul = memchr(path, 0, d->data_size - 24);
	if (!nul)
		return BAD(why, "CodeView PDB path not terminated");
	struct cp_pe_codeview cv = {
		.age = rd32(d->data + 20),
		.path = path,
		.path_len = (size_t) ((const char *) nul - path),
		.portable = d->minor == 0x504d,
		.stamp = d->timestamp,
	};
	memcpy(cv.guid, d->data + 4, 16);
	*ret = cv;
	return 0;
}

int cp_pe_embedded_pdb(const struct cp_pe_debug *d, const uint8_t **deflate_ret,
		       size_t *deflate_size_ret, uint32_t *pdb_size_ret, const char **why)
{
	if (d->type != CP_PE_DEBUG_EMBEDDED_PDB)
		return -EINVAL;
	if (!d->data || d->data_size < 8 || memcmp(d->data, "MPDB", 4) != 0)
		return BAD(why, "embedded PDB entry without MPDB signature");
	*pdb_size_ret = rd32(d->data + 4);
	*deflate_ret = d->data + 8;
	*deflate_size_ret = d->data_size - 8;
	return 0;
}

int cp_pe_pdb_checksum(const struct cp_pe_debug *d, const char **algorithm_ret,
		       const uint8_t **sum_ret, size_t *sum_size_ret, const char **why)
{
	if (d->type != CP_PE_DEBUG_PDB_CHECKSUM)
		return -EINVAL;
	if (!d->data)
		return BAD(why, "PDB checksum entry outside the file");
	const uint8_t *nul = memchr(d->data, 0, d->data_size);
	if (!nul || nul == d->data)
		return BAD(why, "PDB checksum entry without an algorithm name");
	*algorithm_ret = (const char *) d->data;
	*sum_ret = nul + 1;
	*sum_size_ret = d->data_size - (size_t) (nul + 1 - d->data);
	return 0;
}

/* ---- Metadata schema ------------------------------------------------------------------- */

/* A column: a fixed size, a heap index, a simple index into a table, or a coded index. */
enum {
	C_END = 0, C_U16, C_U32, C_STR, C_GUID, C_BLOB,
	C_TABLE = 0x40,		/* | table */
	C_CODED = 0x80,		/* | enum cp_md_coded */
};
#define T(t) (C_TABLE | (t))
#define K(k) (C_CODED | (k))

static const uint8_t schema[_CP_MD_TABLE_MAX][CP_MD_MAX_COLUMNS + 1] = {
	[CP_MD_MODULE] = { C_U16, C_STR, C_GUID, C_GUID, C_GUID },
	[CP_MD_TYPEREF] = { K(CP_MD_CODED_RESOLUTIONSCOPE), C_STR, C_STR },
	[CP_MD_TYPEDEF] = { C_U32, C_STR, C_STR, K(CP_MD_CODED_TYPEDEFORREF), T(CP_MD_FIELD),
			    T(CP_MD_METHODDEF) },
	[CP_MD_FIELDPTR] = { T(CP_MD_FIELD) },
	[CP_MD_FIELD] = { C_U16, C_STR, C_BLOB },
	[CP_MD_METHODPTR] = { T(CP_MD_METHODDEF) },
	[CP_MD_METHODDEF] = { C_U32, C_U16, C_U16, C_STR, C_BLOB, T(CP_MD_PARAM) },
	[CP_MD_PARAMPTR] = { T(CP_MD_PARAM) },
	[CP_MD_PARAM] = { C_U16, C_U16, C_STR },
	[CP_MD_INTERFACEIMPL] = { T(CP_MD_TYPEDEF), K(CP_MD_CODED_TYPEDEFORREF) },
	[CP_MD_MEMBERREF] = { K(CP_MD_CODED_MEMBERREFPARENT), C_STR, C_BLOB },
	/* Constant.Type is one byte and a padding byte: read as a u16, the type in its low byte */
	[CP_MD_CONSTANT] = { C_U16, K(CP_MD_CODED_HASCONSTANT), C_BLOB },
	[CP_MD_CUSTOMATTRIBUTE] = { K(CP_MD_CODED_HASCUSTOMATTRIBUTE),
				    K(CP_MD_CODED_CUSTOMATTRIBUTETYPE), C_BLOB },
	[CP_MD_FIELDMARSHAL] = { K(CP_MD_CODED_HASFIELDMARSHAL), C_BLOB },
	[CP_MD_DECLSECURITY] = { C_U16, K(CP_MD_CODED_HASDECLSECURITY), C_BLOB },
	[CP_MD_CLASSLAYOUT] = { C_U16, C_U32, T(CP_MD_TYPEDEF) },
	[CP_MD_FIELDLAYOUT] = { C_U32, T(CP_MD_FIELD) },
	[CP_MD_STANDALONESIG] = { C_BLOB },
	[CP_MD_EVENTMAP] = { T(CP_MD_TYPEDEF), T(CP_MD_EVENT) },
	[CP_MD_EVENTPTR] = { T(CP_MD_EVENT) },
	[CP_MD_EVENT] = { C_U16, C_STR, K(CP_MD_CODED_TYPEDEFORREF) },
	[CP_MD_PROPERTYMAP] = { T(CP_MD_TYPEDEF), T(CP_MD_PROPERTY) },
	[CP_MD_PROPERTYPTR] = { T(CP_MD_PROPERTY) },
	[CP_MD_PROPERTY] = { C_U16, C_STR, C_BLOB },
	[CP_MD_METHODSEMANTICS] = { C_U16, T(CP_MD_METHODDEF), K(CP_MD_CODED_HASSEMANTICS) },
	[CP_MD_METHODIMPL] = { T(CP_MD_TYPEDEF), K(CP_MD_CODED_METHODDEFORREF),
			       K(CP_MD_CODED_METHODDEFORREF) },
	[CP_MD_MODULEREF] = { C_STR },
	[CP_MD_TYPESPEC] = { C_BLOB },
	[CP_MD_IMPLMAP] = { C_U16, K(CP_MD_CODED_MEMBERFORWARDED), C_STR, T(CP_MD_MODULEREF) },
	[CP_MD_FIELDRVA] = { C_U32, T(CP_MD_FIELD) },
	[CP_MD_ENCLOG] = { C_U32, C_U32 },
	[CP_MD_ENCMAP] = { C_U32 },
	[CP_MD_ASSEMBLY] = { C_U32, C_U16, C_U16, C_U16, C_U16, C_U32, C_BLOB, C_STR, C_STR },
	[CP_MD_ASSEMBLYPROCESSOR] = { C_U32 },
	[CP_MD_ASSEMBLYOS] = { C_U32, C_U32, C_U32 },
	[CP_MD_ASSEMBLYREF] = { C_U16, C_U16, C_U16, C_U16, C_U32, C_BLOB, C_STR, C_STR, C_BLOB },
	[CP_MD_ASSEMBLYREFPROCESSOR] = { C_U32, T(CP_MD_ASSEMBLYREF) },
	[CP_MD_ASSEMBLYREFOS] = { C_U32, C_U32, C_U32, T(CP_MD_ASSEMBLYREF) },
	[CP_MD_FILE] = { C_U32, C_STR, C_BLOB },
	[CP_MD_EXPORTEDTYPE] = { C_U32, C_U32, C_STR, C_STR, K(CP_MD_CODED_IMPLEMENTATION) },
	[CP_MD_MANIFESTRESOURCE] = { C_U32, C_U32, C_STR, K(CP_MD_CODED_IMPLEMENTATION) },
	[CP_MD_NESTEDCLASS] = { T(CP_MD_TYPEDEF), T(CP_MD_TYPEDEF) },
	[CP_MD_GENERICPARAM] = { C_U16, C_U16, K(CP_MD_CODED_TYPEORMETHODDEF), C_STR },
	[CP_MD_METHODSPEC] = { K(CP_MD_CODED_METHODDEFORREF), C_BLOB },
	[CP_MD_GENERICPARAMCONSTRAINT] = { T(CP_MD_GENERICPARAM), K(CP_MD_CODED_TYPEDEFORREF) },
	[CP_MD_DOCUMENT] = { C_BLOB, C_GUID, C_BLOB, C_GUID },
	[CP_MD_METHODDEBUGINFORMATION] = { T(CP_MD_DOCUMENT), C_BLOB },
	[CP_MD_LOCALSCOPE] = { T(CP_MD_METHODDEF), T(CP_MD_IMPORTSCOPE), T(CP_MD_LOCALVARIABLE),
			       T(CP_MD_LOCALCONSTANT), C_U32, C_U32 },
	[CP_MD_LOCALVARIABLE] = { C_U16, C_U16, C_STR },
	[CP_MD_LOCALCONSTANT] = { C_STR, C_BLOB },
	[CP_MD_IMPORTSCOPE] = { T(CP_MD_IMPORTSCOPE), C_BLOB },
	[CP_MD_STATEMACHINEMETHOD] = { T(CP_MD_METHODDEF), T(CP_MD_METHODDEF) },
	[CP_MD_CUSTOMDEBUGINFORMATION] = { K(CP_MD_CODED_HASCUSTOMDEBUGINFORMATION), C_GUID,
					   C_BLOB },
};

#define NONE 0xff

struct coded_kind {
	uint8_t bits, n;
	uint8_t tables[27];
};

static const struct coded_kind coded[_CP_MD_CODED_MAX] = {
	[CP_MD_CODED_TYPEDEFORREF] = { 2, 3, { CP_MD_TYPEDEF, CP_MD_TYPEREF, CP_MD_TYPESPEC } },
	[CP_MD_CODED_HASCONSTANT] = { 2, 3, { CP_MD_FIELD, CP_MD_PARAM, CP_MD_PROPERTY } },
	[CP_MD_CODED_HASCUSTOMATTRIBUTE] = { 5, 22, {
		CP_MD_METHODDEF, CP_MD_FIELD, CP_MD_TYPEREF, CP_MD_TYPEDEF, CP_MD_PARAM,
		CP_MD_INTERFACEIMPL, CP_MD_MEMBERREF, CP_MD_MODULE, CP_MD_DECLSECURITY,
		CP_MD_PROPERTY, CP_MD_EVENT, CP_MD_STANDALONESIG, CP_MD_MODULEREF, CP_MD_TYPESPEC,
		CP_MD_ASSEMBLY, CP_MD_ASSEMBLYREF, CP_MD_FILE, CP_MD_EXPORTEDTYPE,
		CP_MD_MANIFESTRESOURCE, CP_MD_GENERICPARAM, CP_MD_GENERICPARAMCONSTRAINT,
		CP_MD_METHODSPEC } },
	[CP_MD_CODED_HASFIELDMARSHAL] = { 1, 2, { CP_MD_FIELD, CP_MD_PARAM } },
	[CP_MD_CODED_HASDECLSECURITY] = { 2, 3, { CP_MD_TYPEDEF, CP_MD_METHODDEF, CP_MD_ASSEMBLY } },
	[CP_MD_CODED_MEMBERREFPARENT] = { 3, 5, { CP_MD_TYPEDEF, CP_MD_TYPEREF, CP_MD_MODULEREF,
						  CP_MD_METHODDEF, CP_MD_TYPESPEC } },
	[CP_MD_CODED_HASSEMANTICS] = { 1, 2, { CP_MD_EVENT, CP_MD_PROPERTY } },
	[CP_MD_CODED_METHODDEFORREF] = { 1, 2, { CP_MD_METHODDEF, CP_MD_MEMBERREF } },
	[CP_MD_CODED_MEMBERFORWARDED] = { 1, 2, { CP_MD_FIELD, CP_MD_METHODDEF } },
	[CP_MD_CODED_IMPLEMENTATION] = { 2, 3, { CP_MD_FILE, CP_MD_ASSEMBLYREF, CP_MD_EXPORTEDTYPE } },
	[CP_MD_CODED_CUSTOMATTRIBUTETYPE] = { 3, 5, { NONE, NONE, CP_MD_METHODDEF, CP_MD_MEMBERREF,
						      NONE } },
	[CP_MD_CODED_RESOLUTIONSCOPE] = { 2, 4, { CP_MD_MODULE, CP_MD_MODULEREF, CP_MD_ASSEMBLYREF,
						  CP_MD_TYPEREF } },
	[CP_MD_CODED_TYPEORMETHODDEF] = { 1, 2, { CP_MD_TYPEDEF, CP_MD_METHODDEF } },
	[CP_MD_CODED_HASCUSTOMDEBUGINFORMATION] = { 5, 27, {
		CP_MD_METHODDEF, CP_MD_FIELD, CP_MD_TYPEREF, CP_MD_TYPEDEF, CP_MD_PARAM,
		CP_MD_INTERFACEIMPL, CP_MD_MEMBERREF, CP_MD_MODULE, CP_MD_DECLSECURITY,
		CP_MD_PROPERTY, CP_MD_EVENT, CP_MD_STANDALONESIG, CP_MD_MODULEREF, CP_MD_TYPESPEC,
		CP_MD_ASSEMBLY, CP_MD_ASSEMBLYREF, CP_MD_FILE, CP_MD_EXPORTEDTYPE,
		CP_MD_MANIFESTRESOURCE, CP_MD_GENERICPARAM, CP_MD_GENERICPARAMCONSTRAINT,
		CP_MD_METHODSPEC, CP_MD_DOCUMENT, CP_MD_LOCALSCOPE, CP_MD_LOCALVARIABLE,
		CP_MD_LOCALCONSTANT, CP_MD_IMPORTSCOPE } },
};

/* The row count that sizes indexes into @t: a PDB indexes the assembly's tables, whose
 * counts its #Pdb stream gives. */
static uint32_t index_rows(const struct cp_md *md, unsigned t)
{
	uint32_t n = md->rows[t];
	if (md->has_pdb && md->pdb_rows[t] > n)
		n = md->pdb_rows[t];
	return n;
}

static unsigned column_size(const struct cp_md *md, uint8_t c)
{
	switch (c) {
	case C_U16:
		return 2;
	case C_U32:
		return 4;
	case C_STR:
		return md->heap_sizes & 0x01 ? 4 : 2;
	case C_GUID:
		return md->heap_sizes & 0x02 ? 4 : 2;
	case C_BLOB:
		return md->heap_sizes & 0x04 ? 4 : 2;
	}
	if (c & C_CODED) {
		const struct coded_kind *k = &coded[c & 0x3f];
		uint32_t max = 0;
		for (unsigned i = 0; i < k->n; i++)
			if (k->tables[i] != NONE && index_rows(md, k->tables[i]) > max)
				max = index_rows(md, k->tables[i]);
		return max < (1u << (16 - k->bits)) ? 2 : 4;
	}
	return index_rows(md, c & 0x3f) < 0x10000 ? 2 : 4;
}

/* ---- Metadata root and streams --------------------------------------------------------- */

static int parse_pdb_stream(struct cp_md *md, const uint8_t *p, uint32_t size, const char **why)
{
	if (size < 32)
		return BAD(why, "#Pdb stream too short");
	memcpy(md->pdb_id, p, 20);
	md->pdb_entry_point = rd32(p + 20);
	md->pdb_referenced = rd64(p + 24);
	uint32_t off = 32;
	for (unsigned t = 0; t < 64; t++) {
		if (!(md->pdb_referenced & (UINT64_C(1) << t)))
			continue;
		/* Only the type system tables may be referenced. */
		if (t >= CP_MD_DOCUMENT || !schema[t][0])
			return BAD(why, "#Pdb stream references an unknown table");
		if (size - off < 4)
			return BAD(why, "#Pdb stream row counts truncated");
		md->pdb_rows[t] = rd32(p + off);
		if (md->pdb_rows[t] > 0xffffff)
			return BAD(why, "#Pdb stream row count too large");
		off += 4;
	}
	md->has_pdb = true;
	return 0;
}

static int parse_tables(struct cp_md *md, const uint8_t *p, uint32_t size, const char **why)
{
	if (size < 24)
		return BAD(why, "#~ stream too short");
	md->major = p[4];
	md->minor = p[5];
	md->heap_sizes = p[6];
	md->valid = rd64(p + 8);
	md->sorted = rd64(p + 16);
	uint64_t off = 24;
	for (unsigned t = 0; t < 64; t++) {
		if (!(md->valid & (UINT64_C(1) << t)))
			continue;
		if (!schema[t][0]) {
			if (why)
				*why = "metadata has a table this reader does not know";
			return -ENOTSUP;
		}
		if (!in_bounds(size, off, 4))
			return BAD(why, "#~ row counts truncated");
		md->rows[t] = rd32(p + off);
		if (md->rows[t] > 0xffffff)
			return BAD(why, "#~ row count too large");
		off += 4;
	}
	if (md->heap_sizes & 0x40) {		/* "extra data": 4 bytes after the row counts */
		if (!in_bounds(size, off, 4))
			return BAD(why, "#~ extra data truncated");
		off += 4;
	}
	for (unsigned t = 0; t < _CP_MD_TABLE_MAX; t++) {
		if (!schema[t][0])
			continue;
		unsigned o = 0, c = 0;
		for (; c < CP_MD_MAX_COLUMNS && schema[t][c]; c++) {
			unsigned s = column_size(md, schema[t][c]);
			md->col_offset[t][c] = (uint8_t) o;
			md->col_size[t][c] = (uint8_t) s;
			o += s;
		}
		md->n_columns[t] = (uint8_t) c;
		md->row_size[t] = o;
		if (!md->rows[t])
			continue;
		uint64_t bytes = (uint64_t) md->rows[t] * o;
		if (!in_bounds(size, off, bytes))
			return BAD(why, "metadata table outside the #~ stream");
		md->tables[t] = p + off;
		off += bytes;
	}
	return 0;
}

int cp_md_open(const uint8_t *data, size_t size, struct cp_md *ret, const char **why)
{
	struct cp_md *md = ret;
	memset(md, 0, sizeof(*md));
	md->data = data;
	md->size = size;
	if (size < 16 || rd32(data) != 0x424a5342)
		return BAD(why, "no metadata signature (BSJB)");
	uint32_t vlen = rd32(data + 12);
	if (vlen > 255 || !in_bounds(size, 16, (uint64_t) vlen + 4))
		return BAD(why, "metadata version string too long");
	memcpy(md->version, data + 16, vlen);
	md->version[vlen] = 0;
	uint64_t off = 16 + (uint64_t) vlen;
	uint16_t n_streams = rd16(data + off + 2);
	off += 4;
	const uint8_t *tables = NULL, *pdb = NULL;
	uint32_t tables_size = 0, pdb_size = 0;
	for (unsigned i = 0; i < n_streams; i++) {
		if (!in_bounds(size, off, 9))
			return BAD(why, "metadata stream headers truncated");
		uint32_t s_off = rd32(data + off), s_size = rd32(data + off + 4);
		const char *name = (const char *) data + off + 8;
		size_t max = size - off - 8 < 32 ? size - off - 8 : 32;
		const char *nul = memchr(name, 0, max);
		if (!nul)
			return BAD(why, "metadata stream name not terminated");
		off += 8 + (((size_t) (nul - name) + 1 + 3) & ~(size_t) 3);
		if (!in_bounds(size, s_off, s_size))
			return BAD(why, "metadata stream outside the metadata");
		const uint8_t *s = data + s_off;
		struct cp_md_heap *h = NULL;
		if (!strcmp(name, "#Strings"))
			h = &md->strings;
		else if (!strcmp(name, "#Blob"))
			h = &md->blob;
		else if (!strcmp(name, "#GUID"))
			h = &md->guid;
		else if (!strcmp(name, "#US"))
			h = &md->us;
		else if (!strcmp(name, "#~")) {
			if (tables)
				return BAD(why, "two #~ streams");
			tables = s;
			tables_size = s_size;
		} else if (!strcmp(name, "#-")) {
			if (why)
				*why = "uncompressed (#-) metadata tables are not supported";
			return -ENOTSUP;
		} else if (!strcmp(name, "#Pdb")) {
			if (pdb)
				return BAD(why, "two #Pdb streams");
			pdb = s;
			pdb_size = s_size;
		}
		if (h) {
			if (h->data)
				return BAD(why, "a metadata heap given twice");
			h->data = s;
			h->size = s_size;
		}
	}
	int r;
	if (pdb && (r = parse_pdb_stream(md, pdb, pdb_size, why)) < 0)
		return r;
	if (tables && (r = parse_tables(md, tables, tables_size, why)) < 0)
		return r;
	if (!tables && !pdb)
		return BAD(why, "metadata without tables");
	return 0;
}

/* ---- Tables ---------------------------------------------------------------------------- */

uint32_t cp_md_rows(const struct cp_md *md, enum cp_md_table table)
{
	return (unsigned) table < _CP_MD_TABLE_MAX ? md->rows[table] : 0;
}

int cp_md_cell(const struct cp_md *md, enum cp_md_table table, uint32_t row, unsigned col,
	       uint32_t *ret)
{
	if ((unsigned) table >= _CP_MD_TABLE_MAX || row == 0 || row > md->rows[table] ||
	    col >= md->n_columns[table])
		return -ERANGE;
	const uint8_t *p = md->tables[table] + (size_t) (row - 1) * md->row_size[table] +
			   md->col_offset[table][col];
	*ret = md->col_size[table][col] == 2 ? rd16(p) : rd32(p);
	return 0;
}

int cp_md_decode(enum cp_md_coded kind, uint32_t value, enum cp_md_table *table_ret,
		 uint32_t *row_ret)
{
	if ((unsigned) kind >= _CP_MD_CODED_MAX)
		return -EINVAL;
	const struct coded_kind *k = &coded[kind];
	uint32_t tag = value & ((1u << k->bits) - 1);
	if (tag >= k->n || k->tables[tag] == NONE)
		return -EBADMSG;
	*table_ret = (enum cp_md_table) k->tables[tag];
	*row_ret = value >> k->bits;
	return 0;
}

int cp_md_encode(enum cp_md_coded kind, enum cp_md_table table, uint32_t row, uint32_t *ret)
{
	if ((unsigned) kind >= _CP_MD_CODED_MAX)
		return -EINVAL;
	const struct coded_kind *k = &coded[kind];
	for (unsigned i = 0; i < k->n; i++)
		if (k->tables[i] == table) {
			if (row > (UINT32_MAX >> k->bits))
				return -ERANGE;
			*ret = row << k->bits | i;
			return 0;
		}
	return -EINVAL;
}

int cp_md_list(const struct cp_md *md, enum cp_md_table table, uint32_t row, unsigned col,
	       uint32_t *first_ret, uint32_t *end_ret)
{
	if ((unsigned) table >= _CP_MD_TABLE_MAX || col >= md->n_columns[table] ||
	    !(schema[table][col] & C_TABLE) || (schema[table][col] & C_CODED))
		return -EINVAL;
	unsigned target = schema[table][col] & 0x3f;
	uint32_t n = md->rows[target], first, end;
	int r = cp_md_cell(md, table, row, col, &first);
	if (r < 0)
		return r;
	if (row < md->rows[table]) {
		r = cp_md_cell(md, table, row + 1, col, &end);
		if (r < 0)
			return r;
	} else {
		end = n + 1;
	}
	/* A list may start one past the end (empty) and must not run backwards. */
	if (first == 0 || first > n + 1 || end > n + 1 || end < first)
		return -EBADMSG;
	*first_ret = first;
	*end_ret = end;
	return 0;
}

int cp_md_find(const struct cp_md *md, enum cp_md_table table, unsigned col, uint32_t value,
	       uint32_t *first_ret, uint32_t *end_ret)
{
	if ((unsigned) table >= _CP_MD_TABLE_MAX || col >= md->n_columns[table])
		return -EINVAL;
	uint32_t n = md->rows[table], v;
	if (md->sorted & (UINT64_C(1) << table)) {
		uint32_t lo = 1, hi = n + 1;	/* first row with cell >= value */
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			(void) cp_md_cell(md, table, mid, col, &v);
			if (v < value)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint32_t end = lo;
		while (end <= n && cp_md_cell(md, table, end, col, &v) == 0 && v == value)
			end++;
		*first_ret = lo;
		*end_ret = end;
		return 0;
	}
	/* Unsorted: the first run of matching rows. */
	for (uint32_t i = 1; i <= n; i++) {
		(void) cp_md_cell(md, table, i, col, &v);
		if (v != value)
			continue;
		uint32_t end = i + 1;
		while (end <= n && cp_md_cell(md, table, end, col, &v) == 0 && v == value)
			end++;
		*first_ret = i;
		*end_ret = end;
		return 0;
	}
	*first_ret = *end_ret = n + 1;
	return 0;
}

/* ---- Heaps ----------------------------------------------------------------------------- */

int cp_md_string(const struct cp_md *md, uint32_t index, const char **ret)
{
	if (index == 0 && !md->strings.size) {
		*ret = "";
		return 0;
	}
	if (index >= md->strings.size)
		return -ERANGE;
	const char *s = (const char *) md->strings.data + index;
	if (!memchr(s, 0, md->strings.size - index))
		return -EBADMSG;
	*ret = s;
	return 0;
}

/* A compressed unsigned integer at @p, at most @avail bytes (II.23.2). */
static int read_compressed(const uint8_t *p, size_t avail, uint32_t *value, unsigned *len)
{
	if (avail < 1)
		return -EBADMSG;
	if (!(p[0] & 0x80)) {
		*value = p[0];
		*len = 1;
	} else if ((p[0] & 0xc0) == 0x80) {
		if (avail < 2)
			return -EBADMSG;
		*value = (uint32_t) (p[0] & 0x3f) << 8 | p[1];
		*len = 2;
	} else if ((p[0] & 0xe0) == 0xc0) {
		if (avail < 4)
			return -EBADMSG;
		*value = (uint32_t) (p[0] & 0x1f) << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
		*len = 4;
	} else {
		return -EBADMSG;
	}
	return 0;
}

int cp_md_blob(const struct cp_md *md, uint32_t index, const uint8_t **data_ret, uint32_t *size_ret)
{
	if (index == 0 && !md->blob.size) {
		*data_ret = (const uint8_t *) "";
		*size_ret = 0;
		return 0;
	}
	if (index >= md->blob.size)
		return -ERANGE;
	uint32_t len;
	unsigned n;
	if (read_compressed(md->blob.data + index, md->blob.size - index, &len, &n) < 0)
		return -EBADMSG;
	if (!in_bounds(md->blob.size, (uint64_t) index + n, len))
		return -EBADMSG;
	*data_ret = md->blob.data + index + n;
	*size_ret = len;
	return 0;
}

int cp_md_guid(const struct cp_md *md, uint32_t index, const uint8_t **ret)
{
	if (index == 0)
		return -ENOENT;
	if (!in_bounds(md->guid.size, (uint64_t) (index - 1) * 16, 16))
		return -ERANGE;
	*ret = md->guid.data + (size_t) (index - 1) * 16;
	return 0;
}

int cp_md_userstring(const struct cp_md *md, uint32_t index, const uint8_t **utf16_ret,
		     uint32_t *size_ret)
{
	if (index >= md->us.size)
		return -ERANGE;
	uint32_t len;
	unsigned n;
	if (read_compressed(md->us.data + index, md->us.size - index, &len, &n) < 0 ||
	    !in_bounds(md->us.size, (uint64_t) index + n, len))
		return -EBADMSG;
	*utf16_ret = md->us.data + index + n;
	*size_ret = len ? len - 1 : 0;	/* the last byte flags non-ASCII content */
	return 0;
}

/* ---- Helpers for names ----------------------------------------------------------------- */

int cp_md_method_owner(const struct cp_md *md, uint32_t method, uint32_t *typedef_ret)
{
	uint32_t n = md->rows[CP_MD_TYPEDEF], first, end;
	if (method == 0 || method > md->rows[CP_MD_METHODDEF])
		return -ERANGE;
	/* MethodLists run forwards: the last TypeDef whose list starts at or before @method. */
	uint32_t lo = 1, hi = n + 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2, v;
		if (cp_md_cell(md, CP_MD_TYPEDEF, mid, CP_MD_TYPEDEF_METHODLIST, &v) < 0)
			return -EBADMSG;
		if (v <= method)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Empty lists share a start: step back to the one that holds @method. */
	for (uint32_t t = lo - 1; t >= 1; t--) {
		if (cp_md_list(md, CP_MD_TYPEDEF, t, CP_MD_TYPEDEF_METHODLIST, &first, &end) < 0)
			return -EBADMSG;
		if (method >= first && method < end) {
			*typedef_ret = t;
			return 0;
		}
		if (end <= method)
			break;
	}
	return -ENOENT;
}

int cp_md_enclosing_type(const struct cp_md *md, uint32_t type, uint32_t *enclosing_ret)
{
	uint32_t first, end, v;
	int r = cp_md_find(md, CP_MD_NESTEDCLASS, CP_MD_NESTEDCLASS_NESTED, type, &first, &end);
	if (r < 0)
		return r;
	if (first >= end)
		return -ENOENT;
	r = cp_md_cell(md, CP_MD_NESTEDCLASS, first, CP_MD_NESTEDCLASS_ENCLOSING, &v);
	if (r < 0)
		return r;
	if (v == 0 || v > md->rows[CP_MD_TYPEDEF] || v == type)
		return -EBADMSG;
	*enclosing_ret = v;
	return 0;
}

int cp_md_type_name(const struct cp_md *md, enum cp_md_table table, uint32_t row,
		    const char **namespace_ret, const char **name_ret)
{
	uint32_t ns, name;
	int r;
	if (table == CP_MD_TYPEDEF) {
		if ((r = cp_md_cell(md, table, row, CP_MD_TYPEDEF_NAMESPACE, &ns)) < 0 ||
		    (r = cp_md_cell(md, table, row, CP_MD_TYPEDEF_NAME, &name)) < 0)
			return r;
	} else if (table == CP_MD_TYPEREF) {
		if ((r = cp_md_cell(md, table, row, CP_MD_TYPEREF_NAMESPACE, &ns)) < 0 ||
		    (r = cp_md_cell(md, table, row, CP_MD_TYPEREF_NAME, &name)) < 0)
			return r;
	} else {
		return -EINVAL;
	}
	if ((r = cp_md_string(md, ns, namespace_ret)) < 0 || (r = cp_md_string(md, name, name_ret)) < 0)
		return r;
	return 0;
}

int cp_md_attribute_type(const struct cp_md *md, uint32_t ca, const char **namespace_ret,
			 const char **name_ret)
{
	uint32_t v, row;
	enum cp_md_table t;
	int r = cp_md_cell(md, CP_MD_CUSTOMATTRIBUTE, ca, CP_MD_CUSTOMATTRIBUTE_TYPE, &v);
	if (r < 0)
		return r;
	if ((r = cp_md_decode(CP_MD_CODED_CUSTOMATTRIBUTETYPE, v, &t, &row)) < 0)
		return r;
	if (t == CP_MD_METHODDEF) {
		uint32_t type;
		if ((r = cp_md_method_owner(md, row, &type)) < 0)
			return r;
		return cp_md_type_name(md, CP_MD_TYPEDEF, type, namespace_ret, name_ret);
	}
	/* A MemberRef: its parent is the attribute's type */
	if ((r = cp_md_cell(md, CP_MD_MEMBERREF, row, CP_MD_MEMBERREF_CLASS, &v)) < 0)
		return r;
	if ((r = cp_md_decode(CP_MD_CODED_MEMBERREFPARENT, v, &t, &row)) < 0)
		return r;
	if (t != CP_MD_TYPEDEF && t != CP_MD_TYPEREF)
		return -ENOENT;
	return cp_md_type_name(md, t, row, namespace_ret, name_ret);
}

int cp_md_has_attribute(const struct cp_md *md, enum cp_md_table table, uint32_t row,
			const char *ns, const char *name, uint32_t *ca_ret)
{
	uint32_t parent, first, end;
	int r = cp_md_encode(CP_MD_CODED_HASCUSTOMATTRIBUTE, table, row, &parent);
	if (r < 0)
		return r;
	if ((r = cp_md_find(md, CP_MD_CUSTOMATTRIBUTE, CP_MD_CUSTOMATTRIBUTE_PARENT, parent,
			    &first, &end)) < 0)
		return r;
	for (uint32_t i = first; i < end; i++) {
		const char *ans, *aname;
		if (cp_md_attribute_type(md, i, &ans, &aname) < 0)
			continue;
		if (!strcmp(ans, ns) && !strcmp(aname, name)) {
			if (ca_ret)
				*ca_ret = i;
			return 1;
		}
	}
	return 0;
}

/* ---- Signatures ------------------------------------------------------------------------ */

int cp_sig_u8(struct cp_sig *s, uint8_t *ret)
{
	if (s->end - s->p < 1)
		return -EBADMSG;
	*ret = *s->p++;
	return 0;
}

int cp_sig_u16(struct cp_sig *s, uint16_t *ret)
{
	if (s->end - s->p < 2)
		return -EBADMSG;
	*ret = rd16(s->p);
	s->p += 2;
	return 0;
}

int cp_sig_u32(struct cp_sig *s, uint32_t *ret)
{
	if (s->end - s->p < 4)
		return -EBADMSG;
	*ret = rd32(s->p);
	s->p += 4;
	return 0;
}

int cp_sig_uint(struct cp_sig *s, uint32_t *ret)
{
	unsigned n;
	if (s->p > s->end || read_compressed(s->p, (size_t) (s->end - s->p), ret, &n) < 0)
		return -EBADMSG;
	s->p += n;
	return 0;
}

int cp_sig_int(struct cp_sig *s, int32_t *ret)
{
	uint32_t u;
	unsigned n;
	if (s->p > s->end || read_compressed(s->p, (size_t) (s->end - s->p), &u, &n) < 0)
		return -EBADMSG;
	s->p += n;
	/* The sign bit is rotated into bit 0; the value has 6, 13 or 28 bits. */
	int32_t v = (int32_t) (u >> 1);
	if (u & 1)
		v -= n == 1 ? 0x40 : n == 2 ? 0x2000 : 0x10000000;
	*ret = v;
	return 0;
}

int cp_sig_typedeforref(struct cp_sig *s, enum cp_md_table *table_ret, uint32_t *row_ret)
{
	uint32_t v;
	if (cp_sig_uint(s, &v) < 0)
		return -EBADMSG;
	return cp_md_decode(CP_MD_CODED_TYPEDEFORREF, v, table_ret, row_ret);
}

int cp_sig_method_header(struct cp_sig *s, struct cp_sig_method *ret)
{
	struct cp_sig_method m = { 0 };
	if (cp_sig_u8(s, &m.callconv) < 0)
		return -EBADMSG;
	/* Methods (0-5, 9 unmanaged) and properties (8) have this shape. */
	unsigned cc = m.callconv & CP_SIG_CALLCONV_MASK;
	if (cc == CP_SIG_FIELD || cc == CP_SIG_LOCAL || cc >= CP_SIG_GENERICINST)
		return -EBADMSG;
	if (m.callconv & CP_SIG_GENERIC && cp_sig_uint(s, &m.n_generic) < 0)
		return -EBADMSG;
	if (cp_sig_uint(s, &m.n_params) < 0)
		return -EBADMSG;
	/* Each parameter takes at least a byte. */
	if (m.n_params > (size_t) (s->end - s->p))
		return -EBADMSG;
	*ret = m;
	return 0;
}

int cp_sig_elem(struct cp_sig *s, struct cp_sig_elem *ret)
{
	struct cp_sig_elem e = { 0 };
	for (;;) {
		if (cp_sig_u8(s, &e.type) < 0)
			return -EBADMSG;
		if (e.type != CP_ELEMENT_CMOD_REQD && e.type != CP_ELEMENT_CMOD_OPT)
			break;
		if (cp_sig_typedeforref(s, &e.table, &e.row) < 0)
			return -EBADMSG;
	}
	e.table = 0;
	e.row = 0;
	switch (e.type) {
	case CP_ELEMENT_CLASS:
	case CP_ELEMENT_VALUETYPE:
		if (cp_sig_typedeforref(s, &e.table, &e.row) < 0)
			return -EBADMSG;
		break;
	case CP_ELEMENT_VAR:
	case CP_ELEMENT_MVAR:
		if (cp_sig_uint(s, &e.number) < 0)
			return -EBADMSG;
		break;
	case CP_ELEMENT_GENERICINST: {
		uint8_t kind;
		if (cp_sig_u8(s, &kind) < 0 || (kind != CP_ELEMENT_CLASS && kind != CP_ELEMENT_VALUETYPE))
			return -EBADMSG;
		e.is_valuetype = kind == CP_ELEMENT_VALUETYPE;
		if (cp_sig_typedeforref(s, &e.table, &e.row) < 0 || cp_sig_uint(s, &e.number) < 0)
			return -EBADMSG;
		if (e.number == 0 || e.number > (size_t) (s->end - s->p))
			return -EBADMSG;
		break;
	}
	case CP_ELEMENT_VOID: case CP_ELEMENT_BOOLEAN: case CP_ELEMENT_CHAR:
	case CP_ELEMENT_I1: case CP_ELEMENT_U1: case CP_ELEMENT_I2: case CP_ELEMENT_U2:
	case CP_ELEMENT_I4: case CP_ELEMENT_U4: case CP_ELEMENT_I8: case CP_ELEMENT_U8:
	case CP_ELEMENT_R4: case CP_ELEMENT_R8: case CP_ELEMENT_STRING: case CP_ELEMENT_PTR:
	case CP_ELEMENT_BYREF: case CP_ELEMENT_ARRAY: case CP_ELEMENT_TYPEDBYREF:
	case CP_ELEMENT_I: case CP_ELEMENT_U: case CP_ELEMENT_FNPTR: case CP_ELEMENT_OBJECT:
	case CP_ELEMENT_SZARRAY: case CP_ELEMENT_SENTINEL: case CP_ELEMENT_PINNED:
		break;
	default:
		return -EBADMSG;
	}
	*ret = e;
	return 0;
}

int cp_sig_array_shape(struct cp_sig *s, uint32_t *rank_ret)
{
	uint32_t rank, n, v;
	int32_t lo;
	if (cp_sig_uint(s, &rank) < 0 || rank == 0 || cp_sig_uint(s, &n) < 0 || n > rank)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++)
		if (cp_sig_uint(s, &v) < 0)
			return -EBADMSG;
	if (cp_sig_uint(s, &n) < 0 || n > rank)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++)
		if (cp_sig_int(s, &lo) < 0)
			return -EBADMSG;
	*rank_ret = rank;
	return 0;
}

int cp_sig_skip_type(struct cp_sig *s, unsigned depth)
{
	struct cp_sig_elem e;
	uint32_t rank;
	if (depth == 0 || cp_sig_elem(s, &e) < 0)
		return -EBADMSG;
	switch (e.type) {
	case CP_ELEMENT_PTR:
	case CP_ELEMENT_BYREF:
	case CP_ELEMENT_SZARRAY:
	case CP_ELEMENT_PINNED:
		return cp_sig_skip_type(s, depth - 1);
	case CP_ELEMENT_ARRAY:
		if (cp_sig_skip_type(s, depth - 1) < 0)
			return -EBADMSG;
		return cp_sig_array_shape(s, &rank);
	case CP_ELEMENT_GENERICINST:
		for (uint32_t i = 0; i < e.number; i++)
			if (cp_sig_skip_type(s, depth - 1) < 0)
				return -EBADMSG;
		return 0;
	case CP_ELEMENT_FNPTR: {
		struct cp_sig_method m;
		if (cp_sig_method_header(s, &m) < 0 || cp_sig_skip_type(s, depth - 1) < 0)
			return -EBADMSG;
		for (uint32_t i = 0; i < m.n_params; i++)
			if (cp_sig_skip_type(s, depth - 1) < 0)
				return -EBADMSG;
		return 0;
	}
	case CP_ELEMENT_SENTINEL:
		return -EBADMSG;	/* only between a vararg method's parameters */
	}
	return 0;
}
