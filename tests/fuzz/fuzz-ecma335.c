/*
 * fuzz-ecma335.c - libFuzzer target for the ECMA-335 reader (src/ecma335.c): the bytes are an
 * assembly file, which the crashed user controls and the analysis child reads.
 *
 * Parses the PE, its debug directory entries (CodeView, embedded PDB, PDB checksum) and its
 * metadata (or, without a PE header, the bytes as a metadata root: a portable PDB), then
 * reads every cell of every table, resolves every heap index a cell may hold, decodes the
 * coded indexes, walks the list columns, method owners, enclosing types and attributes, and
 * every signature blob of MethodDef, MemberRef, TypeSpec, Field, StandAloneSig. What an
 * accessor returns must lie inside the input. Seeds (tests/fuzz/corpus/ecma335/): the test
 * app's Crasher.dll from tests/dotnet/build.sh, the same with an embedded PDB, its PDB.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecma335.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *lo, *hi;

static void inside(const void *p, size_t n)
{
	const uint8_t *b = p;
	if (b < lo || b > hi || n > (size_t) (hi - b))
		abort();
}

static void walk_sig(const struct cp_md *md, enum cp_md_table t, unsigned col)
{
	uint32_t n = cp_md_rows(md, t), v, len;
	const uint8_t *blob;
	for (uint32_t r = 1; r <= n && r <= 4096; r++) {
		if (cp_md_cell(md, t, r, col, &v) < 0 || cp_md_blob(md, v, &blob, &len) < 0)
			continue;
		if (len)
			inside(blob, len);
		struct cp_sig s;
		struct cp_sig_method m;
		cp_sig_init(&s, blob, len);
		if (t == CP_MD_METHODDEF || t == CP_MD_MEMBERREF) {
			if (cp_sig_method_header(&s, &m) == 0)
				for (uint32_t i = 0; i <= m.n_params && cp_sig_skip_type(&s, 32) == 0; i++)
					;
		} else {
			uint8_t b;
			if (t != CP_MD_TYPESPEC)
				(void) cp_sig_u8(&s, &b);
			while (!cp_sig_done(&s) && cp_sig_skip_type(&s, 32) == 0)
				;
		}
	}
}

static void walk_md(const struct cp_md *md)
{
	for (unsigned t = 0; t < _CP_MD_TABLE_MAX; t++) {
		uint32_t n = cp_md_rows(md, t);
		for (uint32_t r = 1; r <= n && r <= 4096; r++)
			for (unsigned c = 0; c < CP_MD_MAX_COLUMNS; c++) {
				uint32_t v, row, len, first, end;
				enum cp_md_table tt;
				const char *s;
				const uint8_t *p;
				if (cp_md_cell(md, t, r, c, &v) < 0)
					break;
				if (cp_md_string(md, v, &s) == 0 && *s)
					inside(s, strlen(s) + 1);
				if (cp_md_blob(md, v, &p, &len) == 0 && len)
					inside(p, len);
				if (cp_md_guid(md, v, &p) == 0)
					inside(p, 16);
				if (cp_md_userstring(md, v, &p, &len) == 0 && len)
					inside(p, len);
				for (unsigned k = 0; k < _CP_MD_CODED_MAX; k++)
					(void) cp_md_decode(k, v, &tt, &row);
				if (cp_md_list(md, t, r, c, &first, &end) == 0 && (end < first || first == 0))
					abort();
			}
	}
	uint32_t nm = cp_md_rows(md, CP_MD_METHODDEF), nt = cp_md_rows(md, CP_MD_TYPEDEF);
	for (uint32_t m = 1; m <= nm && m <= 4096; m++) {
		uint32_t td;
		const char *ns, *name;
		if (cp_md_method_owner(md, m, &td) == 0) {
			if (td == 0 || td > nt)
				abort();
			(void) cp_md_type_name(md, CP_MD_TYPEDEF, td, &ns, &name);
		}
		(void) cp_md_has_attribute(md, CP_MD_METHODDEF, m, "System.Diagnostics",
					   "StackTraceHiddenAttribute", NULL);
	}
	for (uint32_t t = 1; t <= nt && t <= 4096; t++) {
		uint32_t e;
		if (cp_md_enclosing_type(md, t, &e) == 0 && (e == 0 || e > nt))
			abort();
	}
	for (uint32_t ca = 1; ca <= cp_md_rows(md, CP_MD_CUSTOMATTRIBUTE) && ca <= 4096; ca++) {
		const char *ns, *name;
		(void) cp_md_attribute_type(md, ca, &ns, &name);
	}
	walk_sig(md, CP_MD_METHODDEF, CP_MD_METHODDEF_SIGNATURE);
	walk_sig(md, CP_MD_MEMBERREF, CP_MD_MEMBERREF_SIGNATURE);
	walk_sig(md, CP_MD_TYPESPEC, CP_MD_TYPESPEC_SIGNATURE);
	walk_sig(md, CP_MD_FIELD, CP_MD_FIELD_SIGNATURE);
	walk_sig(md, CP_MD_STANDALONESIG, CP_MD_STANDALONESIG_SIGNATURE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_pe pe;
	struct cp_md md;
	const char *why;

	lo = data;
	hi = data + size;
	if (size >= 2 && data[0] == 'M' && data[1] == 'Z') {
		if (cp_pe_parse(data, size, &pe, &why) < 0)
			return 0;
		for (uint32_t i = 0; i < pe.n_debug && i < 64; i++) {
			struct cp_pe_debug d;
			struct cp_pe_codeview cv;
			const uint8_t *p;
			const char *alg;
			size_t n;
			uint32_t pdb_size;
			if (cp_pe_debug_entry(&pe, i, &d) < 0)
				continue;
			if (d.data)
				inside(d.data, d.data_size);
			if (cp_pe_codeview(&d, &cv, &why) == 0)
				inside(cv.path, cv.path_len + 1);
			if (cp_pe_embedded_pdb(&d, &p, &n, &pdb_size, &why) == 0)
				inside(p, n);
			if (cp_pe_pdb_checksum(&d, &alg, &p, &n, &why) == 0)
				inside(p, n);
		}
		if (!pe.has_cli)
			return 0;
		inside(pe.metadata, pe.metadata_size);
		if (cp_md_open(pe.metadata, pe.metadata_size, &md, &why) == 0)
			walk_md(&md);
	} else if (cp_md_open(data, size, &md, &why) == 0) {
		walk_md(&md);
	}
	return 0;
}
