#ifndef CP_SRCLINES_H
#define CP_SRCLINES_H

/*
 * srclines - source file and line of managed frames, from the portable PDBs of the
 * assemblies the DAC names.
 *
 * Runs in the unprivileged analysis child, after the DAC's frames are merged. Assemblies are
 * opened inside the process's root with fsopen's rules, read once per analysis; a PDB is
 * looked for embedded in the assembly, beside it (the CodeView path, then its file name in
 * the assembly's directory) and in the --symbol-path directories, and used only when its id
 * is the assembly's. PDBs are cached by id for the whole analysis.
 */

#include <stdint.h>

struct cp_report;
struct cp_pe;
struct cp_md;
struct cp_srclines;		/* opaque: the assemblies and PDBs read in one analysis */

/* @rootfd is borrowed (the process's root; files are opened inside it). @symbol_path is a
 * ':'-separated list of host directories (or NULL), copied. NULL only on ENOMEM. */
struct cp_srclines *cp_srclines_create(int rootfd, const char *symbol_path);
void cp_srclines_destroy(struct cp_srclines *s);	/* NULL is a no-op */

/* The metadata of the assembly at @path (as the DAC names it, inside the root): read and
 * parsed once per analysis, owned by @s, valid until cp_srclines_destroy(). The file is never
 * read whole: *pe_ret has the headers, sections and CLI header, and its metadata pointer
 * (the bytes *md_ret reads), but its data pointer is NULL. -errno if it cannot be read or is
 * no .NET assembly (-ENOEXEC), the same each time it is asked for. For other passes over
 * managed frames (clrname). */
int cp_srclines_assembly(struct cp_srclines *s, const char *path, const struct cp_pe **pe_ret,
			 const struct cp_md **md_ret);

/* Fill `file` and `line` of every managed frame of @report that has an assembly, a token
 * and an IL offset (the threads' frames and the exceptions' stacks), where a PDB maps them.
 * Frames it cannot map keep what they have. Why a PDB was not used is noted in the report
 * once per assembly. Returns 0, or -ENOMEM. */
int cp_srclines_fill(struct cp_srclines *s, struct cp_report *report);

#endif
