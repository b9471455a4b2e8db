#ifndef CP_PDB_H
#define CP_PDB_H

/*
 * pdb - portable PDBs: the #Pdb stream's id, the Document and MethodDebugInformation tables
 * and the sequence points blob; (method token, IL offset) -> (document, line) as the
 * runtime maps them for its own stack traces. The only user of zlib (embedded PDBs).
 *
 * Source: dotnet/runtime docs/design/specs/PortablePdb-Metadata.md (the format) and
 * src/libraries/System.Diagnostics.StackTrace/src/System/Diagnostics/StackTraceSymbols.cs
 * (the mapping the runtime uses).
 */

#include <stddef.h>
#include <stdint.h>

struct cp_md;
struct cp_pe_debug;
struct cp_pdb;			/* opaque: one portable PDB, owning its bytes */

/* A portable PDB's id: the GUID and the stamp, as the #Pdb stream and the assembly's
 * CodeView entry (GUID + the entry's timestamp) give them. */
#define CP_PDB_ID_SIZE 20

/* Parse @data/@size, taking ownership of @data (malloc'd) in every case. */
int cp_pdb_open(uint8_t *data, size_t size, struct cp_pdb **ret, const char **why);

/* Read a PDB from @fd (at most CP_ECMA_MAX_FILE bytes) and parse it. */
int cp_pdb_open_fd(int fd, struct cp_pdb **ret, const char **why);

/* Inflate the Embedded Portable PDB debug entry @d and parse it. */
int cp_pdb_open_embedded(const struct cp_pe_debug *d, struct cp_pdb **ret, const char **why);

void cp_pdb_destroy(struct cp_pdb *pdb);	/* NULL is a no-op */

/* The PDB's id (CP_PDB_ID_SIZE bytes). */
const uint8_t *cp_pdb_id(const struct cp_pdb *pdb);

/* The PDB's metadata (its tables: StateMachineMethod, LocalScope, CustomDebugInformation...). */
const struct cp_md *cp_pdb_metadata(const struct cp_pdb *pdb);

/* The source line of IL offset @il_offset in method @token (a MethodDef token): the
 * non-hidden sequence point with the greatest IL offset <= @il_offset. *document_ret is the
 * document's name as the PDB stores it (owned by @pdb). -ENOENT when the method has no
 * sequence point there; -EBADMSG for a malformed blob. */
int cp_pdb_lookup(struct cp_pdb *pdb, uint32_t token, uint32_t il_offset,
		  const char **document_ret, uint32_t *line_ret, const char **why);

#endif
