/*
 * pdb.c - portable PDBs: open one (a file, or the deflated copy embedded in an assembly),
 * and map a method token and IL offset to a document and line.
 *
 * Format: dotnet/runtime docs/design/specs/PortablePdb-Metadata.md (the #Pdb stream, the
 * Document and MethodDebugInformation tables, the document name blob, the sequence points
 * blob); the embedded form ("MPDB", u32 size, deflate) from PE-COFF.md in the same folder.
 * The mapping is the one the runtime uses for its own stack traces:
 * src/libraries/System.Diagnostics.StackTrace/src/System/Diagnostics/StackTraceSymbols.cs,
 * GetSourceLineInfo: walk the method's sequence points in order, stop at the first whose IL
 * offset is beyond the frame's, keep the last one before it that is not hidden.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cleanup.h"
#include "ecma335.h"
#include "pdb.h"

/* The line of a hidden sequence point, as the runtime names it (SequencePoint.HiddenLine). */
#define HIDDEN_LINE 0xfeefee
/* Lines and columns are below 2^29 (the spec's bound). */
#define MAX_LINE 0x20000000
/* A document name longer than this is not a path anyone wrote. */
#define MAX_DOCUMENT_NAME 4096

struct cp_pdb {
	uint8_t *data;
	size_t size;
	struct cp_md md;
	char **documents;		/* decoded names, by Document row - 1; NULL: not yet */
};

#define BAD(msg) ({ if (why) *why = (msg); -EBADMSG; })

int cp_pdb_open(uint8_t *data, size_t size, struct cp_pdb **ret, const char **why)
{
	_cleanup_free_ uint8_t *owned = data;
	struct cp_pdb *pdb = calloc(1, sizeof(*pdb));
	if (!pdb)
		return -ENOMEM;
	int r = cp_md_open(data, size, &pdb->md, why);
	if (r < 0) {
		free(pdb);
		return r;
	}
	if (!pdb->md.has_pdb) {
		free(pdb);
		return BAD("not a portable PDB (no #Pdb stream)");
	}
	uint32_t n = cp_md_rows(&pdb->md, CP_MD_DOCUMENT);
	pdb->documents = calloc(n ? n : 1, sizeof(*pdb->documents));
	if (!pdb->documents) {
		free(pdb);
		return -ENOMEM;
	}
	pdb->data = TAKE_PTR(owned);
	pdb->size = size;
	*ret = pdb;
	return 0;
}

int cp_pdb_open_fd(int fd, struct cp_pdb **ret, const char **why)
{
	uint8_t *data;
	size_t size;
	int r = cp_ecma_read_fd(fd, CP_ECMA_MAX_FILE, &data, &size);
	if (r < 0) {
		if (why)
			*why = r == -EFBIG ? "PDB file too large" : "PDB file unreadable";
		return r;
	}
	return cp_pdb_open(data, size, ret, why);
}

int cp_pdb_open_embedded(const struct cp_pe_debug *d, struct cp_pdb **ret, const char **why)
{
	const uint8_t *in;
	size_t in_size;
	uint32_t size;
	int r = cp_pe_embedded_pdb(d, &in, &in_size, &size, why);
	if (r < 0)
		return r;
	if (size > CP_ECMA_MAX_FILE) {
		if (why)
			*why = "embedded PDB too large";
		return -EFBIG;
	}
	if (size < 16)
		return BAD("embedded PDB too small");
	_cleanup_free_ uint8_t *out = malloc(size);
	if (!out)
		return -ENOMEM;
	z_stream z = { 0 };
	if (inflateInit2(&z, -15) != Z_OK)		/* raw deflate, no zlib header */
		return -ENOMEM;
	/* zlib's counters are uInt: both sizes are below CP_ECMA_MAX_FILE, in range. */
	z.next_in = (Bytef *) in;
	z.avail_in = (uInt) (in_size > CP_ECMA_MAX_FILE ? CP_ECMA_MAX_FILE : in_size);
	z.next_out = out;
	z.avail_out = size;
	int zr = inflate(&z, Z_FINISH);
	uLong got = z.total_out;
	inflateEnd(&z);
	if (zr != Z_STREAM_END || got != size)
		return BAD(zr == Z_BUF_ERROR && got == size ? "embedded PDB larger than it says" :
			   "embedded PDB: bad deflate data");
	return cp_pdb_open(TAKE_PTR(out), size, ret, why);
}

void cp_pdb_destroy(struct cp_pdb *pdb)
{
	if (!pdb)
		return;
	uint32_t n = cp_md_rows(&pdb->md, CP_MD_DOCUMENT);
	for (uint32_t i = 0; i < n; i++)
		free(pdb->documents[i]);
	free(pdb->documents);
	free(pdb->data);
	free(pdb);
}

const uint8_t *cp_pdb_id(const struct cp_pdb *pdb)
{
	return pdb->md.pdb_id;
}

const struct cp_md *cp_pdb_metadata(const struct cp_pdb *pdb)
{
	return &pdb->md;
}

/* The name of Document @row: "separator part (separator part)*", each part a blob of UTF-8,
 * joined by the separator (none when it is 0). */
static int document_name(struct cp_pdb *pdb, uint32_t row, const char **ret, const char **why)
{
	if (row == 0 || row > cp_md_rows(&pdb->md, CP_MD_DOCUMENT))
		return BAD("sequence point names a document that does not exist");
	if (pdb->documents[row - 1]) {
		*ret = pdb->documents[row - 1];
		return 0;
	}
	uint32_t idx, size, part_size;
	const uint8_t *blob, *part;
	if (cp_md_cell(&pdb->md, CP_MD_DOCUMENT, row, CP_MD_DOCUMENT_NAME, &idx) < 0 ||
	    cp_md_blob(&pdb->md, idx, &blob, &size) < 0)
		return BAD("document name blob outside the #Blob heap");
	struct cp_sig s;
	uint8_t sep;
	cp_sig_init(&s, blob, size);
	if (cp_sig_u8(&s, &sep) < 0)
		return BAD("empty document name blob");
	if (sep >= 0x80)
		return BAD("document name separator is not ASCII");
	char buf[MAX_DOCUMENT_NAME + 1];
	size_t len = 0;
	for (bool first = true; !cp_sig_done(&s); first = false) {
		uint32_t p;
		if (cp_sig_uint(&s, &p) < 0)
			return BAD("document name blob truncated");
		if (!first && sep) {
			if (len >= MAX_DOCUMENT_NAME)
				return BAD("document name too long");
			buf[len++] = (char) sep;
		}
		if (cp_md_blob(&pdb->md, p, &part, &part_size) < 0)
			return BAD("document name part outside the #Blob heap");
		if (part_size > MAX_DOCUMENT_NAME - len)
			return BAD("document name too long");
		if (memchr(part, 0, part_size))
			return BAD("document name with a NUL byte");
		memcpy(buf + len, part, part_size);
		len += part_size;
	}
	buf[len] = 0;
	char *name = strdup(buf);
	if (!name)
		return -ENOMEM;
	pdb->documents[row - 1] = name;
	*ret = name;
	return 0;
}

int cp_pdb_lookup(struct cp_pdb *pdb, uint32_t token, uint32_t il_offset,
		  const char **document_ret, uint32_t *line_ret, const char **why)
{
	const struct cp_md *md = &pdb->md;
	uint32_t row = cp_md_token_row(token), doc, idx, size;
	const uint8_t *blob;

	if (cp_md_token_table(token) != CP_MD_METHODDEF || row == 0)
		return -EINVAL;
	/* MethodDebugInformation has a row per MethodDef, with the same number. */
	if (row > cp_md_rows(md, CP_MD_METHODDEBUGINFORMATION))
		return -ENOENT;
	if (cp_md_cell(md, CP_MD_METHODDEBUGINFORMATION, row, CP_MD_METHODDEBUGINFORMATION_DOCUMENT, &doc) < 0 ||
	    cp_md_cell(md, CP_MD_METHODDEBUGINFORMATION, row, CP_MD_METHODDEBUGINFORMATION_SEQUENCEPOINTS, &idx) < 0)
		return -EBADMSG;
	if (idx == 0)
		return -ENOENT;		/* no sequence points: no IL, or no source */
	if (cp_md_blob(md, idx, &blob, &size) < 0)
		return BAD("sequence points blob outside the #Blob heap");

	struct cp_sig s;
	uint32_t local_sig, il = 0, best_doc = 0;
	int64_t start_line = 0, start_col = 0, best_line = -1;
	bool first = true, seen_visible = false;
	cp_sig_init(&s, blob, size);
	if (cp_sig_uint(&s, &local_sig) < 0)
		return BAD("sequence points blob truncated");
	if (doc == 0 && cp_sig_uint(&s, &doc) < 0)	/* the initial document, when the row has none */
		return BAD("sequence points blob truncated");
	while (!cp_sig_done(&s)) {
		uint32_t d_il, d_lines, u;
		int32_t v;
		if (cp_sig_uint(&s, &d_il) < 0)
			return BAD("sequence points blob truncated");
		if (!first && d_il == 0) {		/* a document record */
			if (cp_sig_uint(&s, &doc) < 0)
				return BAD("sequence points blob truncated");
			continue;
		}
		if (!first && (uint64_t) il + d_il > UINT32_MAX)
			return BAD("sequence point IL offset overflows");
		il = first ? d_il : il + d_il;
		first = false;
		if (cp_sig_uint(&s, &d_lines) < 0)
			return BAD("sequence points blob truncated");
		bool hidden;
		if (d_lines == 0) {
			if (cp_sig_uint(&s, &u) < 0)
				return BAD("sequence points blob truncated");
			hidden = u == 0;
		} else {
			if (cp_sig_int(&s, &v) < 0)
				return BAD("sequence points blob truncated");
			hidden = false;
		}
		if (!hidden) {
			if (!seen_visible) {
				if (cp_sig_uint(&s, &u) < 0)
					return BAD("sequence points blob truncated");
				start_line = u;
				if (cp_sig_uint(&s, &u) < 0)
					return BAD("sequence points blob truncated");
				start_col = u;
			} else {
				if (cp_sig_int(&s, &v) < 0)
					return BAD("sequence points blob truncated");
				start_line += v;
				if (cp_sig_int(&s, &v) < 0)
					return BAD("sequence points blob truncated");
				start_col += v;
			}
			seen_visible = true;
			if (start_line < 0 || start_line >= MAX_LINE || start_col < 0 || start_col >= 0x10000)
				return BAD("sequence point line out of range");
		}
		if (il > il_offset)
			break;
		if (!hidden && start_line != HIDDEN_LINE) {
			best_line = start_line;
			best_doc = doc;
		}
	}
	if (best_line < 0)
		return -ENOENT;
	int r = document_name(pdb, best_doc, document_ret, why);
	if (r < 0)
		return r;
	*line_ret = (uint32_t) best_line;
	return 0;
}
