#ifndef CP_ECMA335_H
#define CP_ECMA335_H

/*
 * ecma335 - a strict reader of .NET assemblies and portable PDBs: the PE parts that lead to
 * the CLI metadata and the debug directory (cp_pe_*), the ECMA-335 metadata itself: root,
 * heaps and tables (cp_md_*), and the compressed integers and signature blobs (cp_sig_*).
 *
 * Every byte comes from a file the crashed user controls. Nothing is trusted: each offset,
 * size, index and row count is checked against the bytes given, before it is used. Nothing
 * here allocates: a cp_pe and a cp_md point into the caller's bytes, which must outlive them.
 * Failures return -errno: -EBADMSG malformed, -ERANGE an index out of its table or heap,
 * -ENOENT absent, -ENOTSUP a valid form this reader does not handle, -EFBIG too large.
 * Where a @why is taken, it gets a static one-line reason on -EBADMSG/-ENOTSUP.
 *
 * Sources: ECMA-335 6th edition, partition II (II.22 tables, II.23.2 blobs and signatures,
 * II.24 metadata physical layout, II.25 PE); the Portable PDB v1.0 spec and the PE/COFF
 * debug directory spec in dotnet/runtime docs/design/specs/PortablePdb-Metadata.md and
 * PE-COFF.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reading a file into memory: at most this much (an assembly or a PDB is far smaller). */
#define CP_ECMA_MAX_FILE (256u << 20)

/* Read all of @fd (a regular file, from its start) into a new buffer, at most @max bytes
 * (-EFBIG beyond). The caller frees *data_ret. */
int cp_ecma_read_fd(int fd, size_t max, uint8_t **data_ret, size_t *size_ret);

/* ---- PE/COFF --------------------------------------------------------------------------- */

struct cp_pe_section {
	uint32_t vaddr, vsize;		/* RVA and size in memory */
	uint32_t raw_offset, raw_size;	/* where its bytes are in the file */
};

#define CP_PE_MAX_SECTIONS 96

struct cp_pe {
	const uint8_t *data;		/* the whole file, borrowed; NULL after cp_pe_parse_headers() */
	size_t size;
	uint64_t file_size;
	bool pe32plus;
	uint16_t machine;
	uint32_t timestamp;		/* COFF header TimeDateStamp */
	uint16_t n_sections;
	struct cp_pe_section sections[CP_PE_MAX_SECTIONS];
	/* Data directories 6 (debug) and 14 (CLI header): 0 when absent. */
	uint32_t debug_rva, debug_size, cli_rva, cli_size;
	/* The CLI header, when present (has_cli). */
	bool has_cli;
	uint16_t cli_major, cli_minor;
	uint32_t cli_flags;
	uint32_t entry_point;		/* token or RVA (COMIMAGE_FLAGS_NATIVE_ENTRYPOINT) */
	uint32_t metadata_rva, metadata_rva_size;
	size_t metadata_offset;		/* in the file, checked to lie inside a section */
	const uint8_t *metadata;	/* the metadata root ("BSJB"), inside data (NULL without) */
	size_t metadata_size;
	/* The debug directory (data directory 6): n_debug entries of 28 bytes. */
	const uint8_t *debug_dir;
	uint32_t n_debug;
};

/* Parse the PE image in @data/@size (a file's bytes, not a mapped image): DOS and PE
 * headers, sections, the CLI header and the debug directory. A PE without a CLI header
 * parses (has_cli false). */
int cp_pe_parse(const uint8_t *data, size_t size, struct cp_pe *ret, const char **why);

/* The same from the first @head_size bytes of a file of @file_size bytes, for a caller that
 * reads the rest itself (pread what cp_pe_rva_to_offset() names): the headers and sections,
 * the data directories' RVAs; data, debug_dir and metadata stay NULL. */
int cp_pe_parse_headers(const uint8_t *head, size_t head_size, uint64_t file_size,
			struct cp_pe *ret, const char **why);

/* The CLI header's 72 bytes at @cli (read from the file where cli_rva maps):
 * sets has_cli, the CLI fields and metadata_offset (checked inside a section). */
int cp_pe_parse_cli(struct cp_pe *pe, const uint8_t *cli, size_t size, const char **why);

/* Map @size bytes at @rva to a file offset: the range must lie in one section's raw data. */
int cp_pe_rva_to_offset(const struct cp_pe *pe, uint32_t rva, uint32_t size, size_t *off_ret);

enum cp_pe_debug_type {
	CP_PE_DEBUG_CODEVIEW = 2,
	CP_PE_DEBUG_REPRO = 16,
	CP_PE_DEBUG_EMBEDDED_PDB = 17,
	CP_PE_DEBUG_PDB_CHECKSUM = 19,
};

struct cp_pe_debug {
	uint32_t characteristics, timestamp;
	uint16_t major, minor;
	uint32_t type;			/* enum cp_pe_debug_type, or another */
	uint32_t size_of_data, rva, file_offset;
	const uint8_t *data;		/* size_of_data bytes at file_offset, inside pe->data; */
	size_t data_size;		/* NULL/0 if they lie outside the file */
};

/* Entry @i (< pe->n_debug) of the debug directory. Without pe->data (parsed from the headers
 * only, debug_dir pointing at the caller's copy of the directory), data stays NULL: read
 * size_of_data bytes at file_offset. */
int cp_pe_debug_entry(const struct cp_pe *pe, uint32_t i, struct cp_pe_debug *ret);

/* The first entry of @type. -ENOENT if none. */
int cp_pe_debug_find(const struct cp_pe *pe, uint32_t type, struct cp_pe_debug *ret);

/* A CodeView (RSDS) entry. For a portable PDB (minor == 0x504d), the PDB id is the GUID
 * followed by the entry's timestamp: struct cp_pdb_id. */
struct cp_pe_codeview {
	uint8_t guid[16];
	uint32_t age;
	const char *path;		/* NUL-terminated inside pe->data; UTF-8 */
	size_t path_len;
	bool portable;			/* minor version 0x504d: a portable PDB */
	uint32_t stamp;			/* the debug entry's timestamp */
};

int cp_pe_codeview(const struct cp_pe_debug *d, struct cp_pe_codeview *ret, const char **why);

/* An Embedded Portable PDB entry: "MPDB", u32 uncompressed size, then raw deflate data
 * (which pdb.c inflates: ecma335 does no decompression). */
int cp_pe_embedded_pdb(const struct cp_pe_debug *d, const uint8_t **deflate_ret,
		       size_t *deflate_size_ret, uint32_t *pdb_size_ret, const char **why);

/* A PDB Checksum entry: a NUL-terminated algorithm name ("SHA256") and the checksum. */
int cp_pe_pdb_checksum(const struct cp_pe_debug *d, const char **algorithm_ret,
		       const uint8_t **sum_ret, size_t *sum_size_ret, const char **why);

/* ---- Metadata: tables and columns ------------------------------------------------------ */

enum cp_md_table {
	CP_MD_MODULE = 0x00,
	CP_MD_TYPEREF = 0x01,
	CP_MD_TYPEDEF = 0x02,
	CP_MD_FIELDPTR = 0x03,
	CP_MD_FIELD = 0x04,
	CP_MD_METHODPTR = 0x05,
	CP_MD_METHODDEF = 0x06,
	CP_MD_PARAMPTR = 0x07,
	CP_MD_PARAM = 0x08,
	CP_MD_INTERFACEIMPL = 0x09,
	CP_MD_MEMBERREF = 0x0a,
	CP_MD_CONSTANT = 0x0b,
	CP_MD_CUSTOMATTRIBUTE = 0x0c,
	CP_MD_FIELDMARSHAL = 0x0d,
	CP_MD_DECLSECURITY = 0x0e,
	CP_MD_CLASSLAYOUT = 0x0f,
	CP_MD_FIELDLAYOUT = 0x10,
	CP_MD_STANDALONESIG = 0x11,
	CP_MD_EVENTMAP = 0x12,
	CP_MD_EVENTPTR = 0x13,
	CP_MD_EVENT = 0x14,
	CP_MD_PROPERTYMAP = 0x15,
	CP_MD_PROPERTYPTR = 0x16,
	CP_MD_PROPERTY = 0x17,
	CP_MD_METHODSEMANTICS = 0x18,
	CP_MD_METHODIMPL = 0x19,
	CP_MD_MODULEREF = 0x1a,
	CP_MD_TYPESPEC = 0x1b,
	CP_MD_IMPLMAP = 0x1c,
	CP_MD_FIELDRVA = 0x1d,
	CP_MD_ENCLOG = 0x1e,
	CP_MD_ENCMAP = 0x1f,
	CP_MD_ASSEMBLY = 0x20,
	CP_MD_ASSEMBLYPROCESSOR = 0x21,
	CP_MD_ASSEMBLYOS = 0x22,
	CP_MD_ASSEMBLYREF = 0x23,
	CP_MD_ASSEMBLYREFPROCESSOR = 0x24,
	CP_MD_ASSEMBLYREFOS = 0x25,
	CP_MD_FILE = 0x26,
	CP_MD_EXPORTEDTYPE = 0x27,
	CP_MD_MANIFESTRESOURCE = 0x28,
	CP_MD_NESTEDCLASS = 0x29,
	CP_MD_GENERICPARAM = 0x2a,
	CP_MD_METHODSPEC = 0x2b,
	CP_MD_GENERICPARAMCONSTRAINT = 0x2c,
	/* Portable PDB */
	CP_MD_DOCUMENT = 0x30,
	CP_MD_METHODDEBUGINFORMATION = 0x31,
	CP_MD_LOCALSCOPE = 0x32,
	CP_MD_LOCALVARIABLE = 0x33,
	CP_MD_LOCALCONSTANT = 0x34,
	CP_MD_IMPORTSCOPE = 0x35,
	CP_MD_STATEMACHINEMETHOD = 0x36,
	CP_MD_CUSTOMDEBUGINFORMATION = 0x37,
	_CP_MD_TABLE_MAX = 0x40,
};

/* Column numbers, per table, in the order of ECMA-335 II.22 and the Portable PDB spec. */
enum { CP_MD_MODULE_GENERATION, CP_MD_MODULE_NAME, CP_MD_MODULE_MVID, CP_MD_MODULE_ENCID,
       CP_MD_MODULE_ENCBASEID };
enum { CP_MD_TYPEREF_SCOPE, CP_MD_TYPEREF_NAME, CP_MD_TYPEREF_NAMESPACE };
enum { CP_MD_TYPEDEF_FLAGS, CP_MD_TYPEDEF_NAME, CP_MD_TYPEDEF_NAMESPACE, CP_MD_TYPEDEF_EXTENDS,
       CP_MD_TYPEDEF_FIELDLIST, CP_MD_TYPEDEF_METHODLIST };
enum { CP_MD_FIELDPTR_FIELD };
enum { CP_MD_FIELD_FLAGS, CP_MD_FIELD_NAME, CP_MD_FIELD_SIGNATURE };
enum { CP_MD_METHODPTR_METHOD };
enum { CP_MD_METHODDEF_RVA, CP_MD_METHODDEF_IMPLFLAGS, CP_MD_METHODDEF_FLAGS, CP_MD_METHODDEF_NAME,
       CP_MD_METHODDEF_SIGNATURE, CP_MD_METHODDEF_PARAMLIST };
enum { CP_MD_PARAMPTR_PARAM };
enum { CP_MD_PARAM_FLAGS, CP_MD_PARAM_SEQUENCE, CP_MD_PARAM_NAME };
enum { CP_MD_INTERFACEIMPL_CLASS, CP_MD_INTERFACEIMPL_INTERFACE };
enum { CP_MD_MEMBERREF_CLASS, CP_MD_MEMBERREF_NAME, CP_MD_MEMBERREF_SIGNATURE };
enum { CP_MD_CONSTANT_TYPE, CP_MD_CONSTANT_PARENT, CP_MD_CONSTANT_VALUE };
enum { CP_MD_CUSTOMATTRIBUTE_PARENT, CP_MD_CUSTOMATTRIBUTE_TYPE, CP_MD_CUSTOMATTRIBUTE_VALUE };
enum { CP_MD_FIELDMARSHAL_PARENT, CP_MD_FIELDMARSHAL_NATIVETYPE };
enum { CP_MD_DECLSECURITY_ACTION, CP_MD_DECLSECURITY_PARENT, CP_MD_DECLSECURITY_PERMISSIONSET };
enum { CP_MD_CLASSLAYOUT_PACKINGSIZE, CP_MD_CLASSLAYOUT_CLASSSIZE, CP_MD_CLASSLAYOUT_PARENT };
enum { CP_MD_FIELDLAYOUT_OFFSET, CP_MD_FIELDLAYOUT_FIELD };
enum { CP_MD_STANDALONESIG_SIGNATURE };
enum { CP_MD_EVENTMAP_PARENT, CP_MD_EVENTMAP_EVENTLIST };
enum { CP_MD_EVENTPTR_EVENT };
enum { CP_MD_EVENT_FLAGS, CP_MD_EVENT_NAME, CP_MD_EVENT_TYPE };
enum { CP_MD_PROPERTYMAP_PARENT, CP_MD_PROPERTYMAP_PROPERTYLIST };
enum { CP_MD_PROPERTYPTR_PROPERTY };
enum { CP_MD_PROPERTY_FLAGS, CP_MD_PROPERTY_NAME, CP_MD_PROPERTY_TYPE };
enum { CP_MD_METHODSEMANTICS_SEMANTICS, CP_MD_METHODSEMANTICS_METHOD,
       CP_MD_METHODSEMANTICS_ASSOCIATION };
enum { CP_MD_METHODIMPL_CLASS, CP_MD_METHODIMPL_BODY, CP_MD_METHODIMPL_DECLARATION };
enum { CP_MD_MODULEREF_NAME };
enum { CP_MD_TYPESPEC_SIGNATURE };
enum { CP_MD_IMPLMAP_FLAGS, CP_MD_IMPLMAP_MEMBER, CP_MD_IMPLMAP_IMPORTNAME, CP_MD_IMPLMAP_SCOPE };
enum { CP_MD_FIELDRVA_RVA, CP_MD_FIELDRVA_FIELD };
enum { CP_MD_ENCLOG_TOKEN, CP_MD_ENCLOG_FUNCCODE };
enum { CP_MD_ENCMAP_TOKEN };
enum { CP_MD_ASSEMBLY_HASHALGID, CP_MD_ASSEMBLY_MAJOR, CP_MD_ASSEMBLY_MINOR, CP_MD_ASSEMBLY_BUILD,
       CP_MD_ASSEMBLY_REVISION, CP_MD_ASSEMBLY_FLAGS, CP_MD_ASSEMBLY_PUBLICKEY, CP_MD_ASSEMBLY_NAME,
       CP_MD_ASSEMBLY_CULTURE };
enum { CP_MD_ASSEMBLYPROCESSOR_PROCESSOR };
enum { CP_MD_ASSEMBLYOS_PLATFORM, CP_MD_ASSEMBLYOS_MAJOR, CP_MD_ASSEMBLYOS_MINOR };
enum { CP_MD_ASSEMBLYREF_MAJOR, CP_MD_ASSEMBLYREF_MINOR, CP_MD_ASSEMBLYREF_BUILD,
       CP_MD_ASSEMBLYREF_REVISION, CP_MD_ASSEMBLYREF_FLAGS, CP_MD_ASSEMBLYREF_PUBLICKEY,
       CP_MD_ASSEMBLYREF_NAME, CP_MD_ASSEMBLYREF_CULTURE, CP_MD_ASSEMBLYREF_HASHVALUE };
enum { CP_MD_ASSEMBLYREFPROCESSOR_PROCESSOR, CP_MD_ASSEMBLYREFPROCESSOR_ASSEMBLYREF };
enum { CP_MD_ASSEMBLYREFOS_PLATFORM, CP_MD_ASSEMBLYREFOS_MAJOR, CP_MD_ASSEMBLYREFOS_MINOR,
       CP_MD_ASSEMBLYREFOS_ASSEMBLYREF };
enum { CP_MD_FILE_FLAGS, CP_MD_FILE_NAME, CP_MD_FILE_HASHVALUE };
enum { CP_MD_EXPORTEDTYPE_FLAGS, CP_MD_EXPORTEDTYPE_TYPEDEFID, CP_MD_EXPORTEDTYPE_NAME,
       CP_MD_EXPORTEDTYPE_NAMESPACE, CP_MD_EXPORTEDTYPE_IMPLEMENTATION };
enum { CP_MD_MANIFESTRESOURCE_OFFSET, CP_MD_MANIFESTRESOURCE_FLAGS, CP_MD_MANIFESTRESOURCE_NAME,
       CP_MD_MANIFESTRESOURCE_IMPLEMENTATION };
enum { CP_MD_NESTEDCLASS_NESTED, CP_MD_NESTEDCLASS_ENCLOSING };
enum { CP_MD_GENERICPARAM_NUMBER, CP_MD_GENERICPARAM_FLAGS, CP_MD_GENERICPARAM_OWNER,
       CP_MD_GENERICPARAM_NAME };
enum { CP_MD_METHODSPEC_METHOD, CP_MD_METHODSPEC_INSTANTIATION };
enum { CP_MD_GENERICPARAMCONSTRAINT_OWNER, CP_MD_GENERICPARAMCONSTRAINT_CONSTRAINT };
enum { CP_MD_DOCUMENT_NAME, CP_MD_DOCUMENT_HASHALGORITHM, CP_MD_DOCUMENT_HASH,
       CP_MD_DOCUMENT_LANGUAGE };
enum { CP_MD_METHODDEBUGINFORMATION_DOCUMENT, CP_MD_METHODDEBUGINFORMATION_SEQUENCEPOINTS };
enum { CP_MD_LOCALSCOPE_METHOD, CP_MD_LOCALSCOPE_IMPORTSCOPE, CP_MD_LOCALSCOPE_VARIABLELIST,
       CP_MD_LOCALSCOPE_CONSTANTLIST, CP_MD_LOCALSCOPE_STARTOFFSET, CP_MD_LOCALSCOPE_LENGTH };
enum { CP_MD_LOCALVARIABLE_ATTRIBUTES, CP_MD_LOCALVARIABLE_INDEX, CP_MD_LOCALVARIABLE_NAME };
enum { CP_MD_LOCALCONSTANT_NAME, CP_MD_LOCALCONSTANT_SIGNATURE };
enum { CP_MD_IMPORTSCOPE_PARENT, CP_MD_IMPORTSCOPE_IMPORTS };
enum { CP_MD_STATEMACHINEMETHOD_MOVENEXT, CP_MD_STATEMACHINEMETHOD_KICKOFF };
enum { CP_MD_CUSTOMDEBUGINFORMATION_PARENT, CP_MD_CUSTOMDEBUGINFORMATION_KIND,
       CP_MD_CUSTOMDEBUGINFORMATION_VALUE };

#define CP_MD_MAX_COLUMNS 9

/* Coded indexes (II.24.2.6). cp_md_cell() returns their raw value: decode with
 * cp_md_decode(). */
enum cp_md_coded {
	CP_MD_CODED_TYPEDEFORREF,
	CP_MD_CODED_HASCONSTANT,
	CP_MD_CODED_HASCUSTOMATTRIBUTE,
	CP_MD_CODED_HASFIELDMARSHAL,
	CP_MD_CODED_HASDECLSECURITY,
	CP_MD_CODED_MEMBERREFPARENT,
	CP_MD_CODED_HASSEMANTICS,
	CP_MD_CODED_METHODDEFORREF,
	CP_MD_CODED_MEMBERFORWARDED,
	CP_MD_CODED_IMPLEMENTATION,
	CP_MD_CODED_CUSTOMATTRIBUTETYPE,
	CP_MD_CODED_RESOLUTIONSCOPE,
	CP_MD_CODED_TYPEORMETHODDEF,
	CP_MD_CODED_HASCUSTOMDEBUGINFORMATION,	/* Portable PDB */
	_CP_MD_CODED_MAX,
};

/* A token: the table in the top byte, the 1-based row below. */
static inline uint32_t cp_md_token(enum cp_md_table table, uint32_t row)
{
	return (uint32_t) table << 24 | (row & 0xffffff);
}

static inline enum cp_md_table cp_md_token_table(uint32_t token)
{
	return (enum cp_md_table) (token >> 24);
}

static inline uint32_t cp_md_token_row(uint32_t token)
{
	return token & 0xffffff;
}

/* ---- Metadata: the image --------------------------------------------------------------- */

struct cp_md_heap {
	const uint8_t *data;		/* inside the metadata; NULL/0 when the stream is absent */
	uint32_t size;
};

struct cp_md {
	const uint8_t *data;		/* the metadata root, borrowed */
	size_t size;
	char version[256];		/* the root's version string, e.g. "v4.0.30319" or "PDB v1.0" */
	struct cp_md_heap strings, blob, guid, us;
	/* Portable PDB: the #Pdb stream (has_pdb): the PDB id, the entry point, and the row
	 * counts of the assembly's tables that the PDB's tables index (type system tables). */
	bool has_pdb;
	uint8_t pdb_id[20];		/* GUID (16) + stamp (4): struct cp_pdb_id in pdb.h */
	uint32_t pdb_entry_point;
	uint64_t pdb_referenced;	/* bit per table the counts below are given for */
	uint32_t pdb_rows[_CP_MD_TABLE_MAX];
	/* The #~ stream */
	uint8_t major, minor, heap_sizes;
	uint64_t valid, sorted;
	uint32_t rows[_CP_MD_TABLE_MAX];	/* 0 for an absent table */
	const uint8_t *tables[_CP_MD_TABLE_MAX];	/* first row of each present table */
	uint32_t row_size[_CP_MD_TABLE_MAX];
	uint8_t n_columns[_CP_MD_TABLE_MAX];
	uint8_t col_offset[_CP_MD_TABLE_MAX][CP_MD_MAX_COLUMNS];
	uint8_t col_size[_CP_MD_TABLE_MAX][CP_MD_MAX_COLUMNS];
};

/* Parse the metadata root in @data/@size (from cp_pe's metadata, or a whole portable PDB
 * file): the stream headers, the heaps, the #Pdb stream and the #~ table stream, with every
 * table's rows inside the stream. Index sizes of a PDB's references into the type system
 * tables come from its #Pdb stream, as the spec says. */
int cp_md_open(const uint8_t *data, size_t size, struct cp_md *ret, const char **why);

/* Rows in @table (0 if absent or unknown). Rows are numbered from 1. */
uint32_t cp_md_rows(const struct cp_md *md, enum cp_md_table table);

/* The value of column @col of row @row (1-based) of @table: a constant, a heap index, a
 * 1-based row of another table (0 = null), or a raw coded index. -ERANGE when @row or @col
 * does not exist. */
int cp_md_cell(const struct cp_md *md, enum cp_md_table table, uint32_t row, unsigned col,
	       uint32_t *ret);

/* Decode a coded index @value of kind @kind into a table and a 1-based row (0 = null).
 * -EBADMSG for a tag that names no table. The row is not checked: use cp_md_rows(). */
int cp_md_decode(enum cp_md_coded kind, uint32_t value, enum cp_md_table *table_ret,
		 uint32_t *row_ret);

/* Encode (@table, @row) as a coded index of @kind, for searching a Parent/Owner column.
 * -EINVAL if @table is not one of @kind's. */
int cp_md_encode(enum cp_md_coded kind, enum cp_md_table table, uint32_t row, uint32_t *ret);

/* A list column (TypeDef.MethodList, MethodDef.ParamList, ...): the rows [*first, *end) of
 * the target table owned by @row, running to the next row's start or the target's end. */
int cp_md_list(const struct cp_md *md, enum cp_md_table table, uint32_t row, unsigned col,
	       uint32_t *first_ret, uint32_t *end_ret);

/* Rows [*first, *end) of @table whose column @col equals @value: a binary search when the
 * table is marked sorted (as CustomAttribute, NestedClass, GenericParam, ... must be), a
 * scan otherwise. An empty range (first == end) when none. */
int cp_md_find(const struct cp_md *md, enum cp_md_table table, unsigned col, uint32_t value,
	       uint32_t *first_ret, uint32_t *end_ret);

/* ---- Metadata: heaps ------------------------------------------------------------------- */

/* #Strings: the NUL-terminated UTF-8 string at @index (0 is ""). */
int cp_md_string(const struct cp_md *md, uint32_t index, const char **ret);

/* #Blob: the blob at @index (its compressed length prefix decoded; 0 is the empty blob). */
int cp_md_blob(const struct cp_md *md, uint32_t index, const uint8_t **data_ret, uint32_t *size_ret);

/* #GUID: the 16 bytes of the 1-based @index; -ENOENT for 0 (the null GUID). */
int cp_md_guid(const struct cp_md *md, uint32_t index, const uint8_t **ret);

/* #US: the UTF-16LE string at @index (without its final flag byte); *size_ret in bytes. */
int cp_md_userstring(const struct cp_md *md, uint32_t index, const uint8_t **utf16_ret,
		     uint32_t *size_ret);

/* ---- Metadata: helpers for names -------------------------------------------------------- */

/* The TypeDef row that owns MethodDef row @method (by the TypeDefs' MethodLists). */
int cp_md_method_owner(const struct cp_md *md, uint32_t method, uint32_t *typedef_ret);

/* The TypeDef enclosing the nested TypeDef @type (NestedClass), -ENOENT if not nested. */
int cp_md_enclosing_type(const struct cp_md *md, uint32_t type, uint32_t *enclosing_ret);

/* Namespace and name of a TypeDef, TypeRef (@table) row. */
int cp_md_type_name(const struct cp_md *md, enum cp_md_table table, uint32_t row,
		    const char **namespace_ret, const char **name_ret);

/* Namespace and name of the attribute type of CustomAttribute row @ca (its constructor's
 * declaring TypeDef or TypeRef). */
int cp_md_attribute_type(const struct cp_md *md, uint32_t ca, const char **namespace_ret,
			 const char **name_ret);

/* Does the row (@table, @row) carry a custom attribute of type @ns.@name? Returns 1 (and its
 * CustomAttribute row in *ca_ret, if not NULL), 0, or -errno. */
int cp_md_has_attribute(const struct cp_md *md, enum cp_md_table table, uint32_t row,
			const char *ns, const char *name, uint32_t *ca_ret);

/* ---- Compressed integers and signatures (II.23.2) -------------------------------------- */

/* A cursor over a blob; every read checks it stays inside [p, end). */
struct cp_sig {
	const uint8_t *p, *end;
};

static inline void cp_sig_init(struct cp_sig *s, const uint8_t *data, size_t size)
{
	s->p = data;
	s->end = data + size;
}

static inline bool cp_sig_done(const struct cp_sig *s)
{
	return s->p >= s->end;
}

int cp_sig_u8(struct cp_sig *s, uint8_t *ret);
int cp_sig_u16(struct cp_sig *s, uint16_t *ret);	/* little-endian */
int cp_sig_u32(struct cp_sig *s, uint32_t *ret);
int cp_sig_uint(struct cp_sig *s, uint32_t *ret);	/* compressed unsigned: 1, 2 or 4 bytes */
int cp_sig_int(struct cp_sig *s, int32_t *ret);		/* compressed signed (rotated sign bit) */
/* TypeDefOrRefOrSpecEncoded: a compressed TypeDefOrRef coded index. */
int cp_sig_typedeforref(struct cp_sig *s, enum cp_md_table *table_ret, uint32_t *row_ret);

/* Element types (II.23.1.16) */
enum cp_element_type {
	CP_ELEMENT_END = 0x00,
	CP_ELEMENT_VOID = 0x01,
	CP_ELEMENT_BOOLEAN = 0x02,
	CP_ELEMENT_CHAR = 0x03,
	CP_ELEMENT_I1 = 0x04,
	CP_ELEMENT_U1 = 0x05,
	CP_ELEMENT_I2 = 0x06,
	CP_ELEMENT_U2 = 0x07,
	CP_ELEMENT_I4 = 0x08,
	CP_ELEMENT_U4 = 0x09,
	CP_ELEMENT_I8 = 0x0a,
	CP_ELEMENT_U8 = 0x0b,
	CP_ELEMENT_R4 = 0x0c,
	CP_ELEMENT_R8 = 0x0d,
	CP_ELEMENT_STRING = 0x0e,
	CP_ELEMENT_PTR = 0x0f,
	CP_ELEMENT_BYREF = 0x10,
	CP_ELEMENT_VALUETYPE = 0x11,
	CP_ELEMENT_CLASS = 0x12,
	CP_ELEMENT_VAR = 0x13,
	CP_ELEMENT_ARRAY = 0x14,
	CP_ELEMENT_GENERICINST = 0x15,
	CP_ELEMENT_TYPEDBYREF = 0x16,
	CP_ELEMENT_I = 0x18,
	CP_ELEMENT_U = 0x19,
	CP_ELEMENT_FNPTR = 0x1b,
	CP_ELEMENT_OBJECT = 0x1c,
	CP_ELEMENT_SZARRAY = 0x1d,
	CP_ELEMENT_MVAR = 0x1e,
	CP_ELEMENT_CMOD_REQD = 0x1f,
	CP_ELEMENT_CMOD_OPT = 0x20,
	CP_ELEMENT_INTERNAL = 0x21,
	CP_ELEMENT_SENTINEL = 0x41,
	CP_ELEMENT_PINNED = 0x45,
};

/* Calling convention byte of a method signature (II.23.2.1) */
enum {
	CP_SIG_CALLCONV_MASK = 0x0f,
	CP_SIG_VARARG = 0x05,
	CP_SIG_FIELD = 0x06,
	CP_SIG_LOCAL = 0x07,
	CP_SIG_PROPERTY = 0x08,
	CP_SIG_GENERICINST = 0x0a,	/* MethodSpec instantiation */
	CP_SIG_GENERIC = 0x10,
	CP_SIG_HASTHIS = 0x20,
	CP_SIG_EXPLICITTHIS = 0x40,
};

/* A MethodDefSig/MethodRefSig header: calling convention, generic parameter count (0 when
 * not CP_SIG_GENERIC), parameter count. The cursor is left on the return type. */
struct cp_sig_method {
	uint8_t callconv;
	uint32_t n_generic, n_params;
};

int cp_sig_method_header(struct cp_sig *s, struct cp_sig_method *ret);

/* One step of a Type (II.23.2.12): the element type after any custom modifiers (skipped) and
 * what it carries: for CLASS/VALUETYPE the TypeDef/TypeRef/TypeSpec row; for VAR/MVAR the
 * index; for GENERICINST the generic type (is_valuetype, table, row) and the argument count,
 * the arguments following as Types. For PTR, BYREF, SZARRAY, PINNED the element Type follows;
 * for ARRAY the element Type, then the shape (cp_sig_array_shape). FNPTR's method signature
 * follows (cp_sig_method_header). Primitive types carry nothing more. */
struct cp_sig_elem {
	uint8_t type;			/* enum cp_element_type */
	enum cp_md_table table;		/* CLASS, VALUETYPE, GENERICINST */
	uint32_t row;
	bool is_valuetype;		/* GENERICINST: VALUETYPE rather than CLASS */
	uint32_t number;		/* VAR/MVAR index, GENERICINST argument count */
};

int cp_sig_elem(struct cp_sig *s, struct cp_sig_elem *ret);

/* Skip one whole Type, nested at most @depth levels (-EBADMSG deeper). */
int cp_sig_skip_type(struct cp_sig *s, unsigned depth);

/* ARRAY's ArrayShape, after its element Type: the rank; the sizes and bounds skipped. */
int cp_sig_array_shape(struct cp_sig *s, uint32_t *rank_ret);

#endif
