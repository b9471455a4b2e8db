#ifndef CP_MODULES_H
#define CP_MODULES_H

/*
 * modules - every ELF object mapped in the crashed process, through libdwfl (the only
 * user of libdw/libelf): address range, load bias, build-id (checked against the one in
 * the core), symbols, DWARF lines and separate debuginfo.
 */

#include <stdbool.h>
#include <stdint.h>

struct cp_core;
struct cp_target;
struct cp_report;
struct cp_frame;
struct cp_modules;
struct cp_module;
struct cp_locate_options;

/* Find and report the modules of @core. @core and @t are borrowed; @debug_cache (may be
 * NULL) is a cache of decompressed debuginfo (debugcache.h) to look in first; @locate (may
 * be NULL: the root only) says where else files may be (locate.h). Problems are noted in
 * @report, which must outlive the modules (debuginfo is looked for on first use).
 * Returns 0 or -errno (only for ENOMEM and the like). */
int cp_modules_create(struct cp_core *core, struct cp_target *t, const char *debug_cache,
		      const struct cp_locate_options *locate, struct cp_report *report, struct cp_modules **ret);
void cp_modules_destroy(struct cp_modules *mods);

/* The state the unwinder (unwind.c) keeps over these modules: created at the first unwind,
 * owned by @mods from then on, @destroy'ed first in cp_modules_destroy(). */
void *cp_modules_unwinder(const struct cp_modules *mods);
void cp_modules_set_unwinder(struct cp_modules *mods, void *uw, void (*destroy)(void *));

/* The modules' libdwfl session, for libdwfl's own unwinder (unwind-dwfl.c), which
 * attaches its thread callbacks to it. */
struct Dwfl;
struct Dwfl *cp_modules_dwfl(struct cp_modules *mods);

/* The ELF module mapped at @addr, or NULL when @addr is in no ELF mapping (anonymous
 * memory, JIT code, a PE assembly...). */
const struct cp_module *cp_modules_find(const struct cp_modules *mods, uint64_t addr);

/* 1 when the module's file has the build-id of what was mapped, 0 when it differs, -1 when
 * unknown. */
int cp_module_build_id_match(const struct cp_module *m);

/* The module's .eh_frame_hdr binary-search table, as runtime addresses: @hdr_ret is the
 * header, @table_ret the table of @count_ret entries (pairs of 32-bit datarel offsets),
 * @start_ret/@end_ret the mapped range. Returns 0 or -ENOENT when it has no usable one. */
int cp_module_eh_frame_table(const struct cp_module *m, uint64_t *hdr_ret, uint64_t *table_ret,
			     uint64_t *count_ret, uint64_t *start_ret, uint64_t *end_ret);

/* Fill @f's module, build_id, module_offset, function, offset, file, line for its ip,
 * looking symbols up at @lookup (ip - 1 for a return address). */
void cp_modules_symbolize(struct cp_modules *mods, uint64_t lookup, struct cp_frame *f);

/* The calls inlined at @lookup (a frame's lookup address, as given to
 * cp_modules_symbolize()), innermost first, from the module's symcache or its DWARF
 * (inline.h); their names raw, alive as long as @mods. Returns their number. */
struct cp_inline_chain;
size_t cp_modules_inline_chain(struct cp_modules *mods, uint64_t lookup, struct cp_inline_chain *ret);

/* A symbol's name without its version ("__libc_start_main@@GLIBC_2.34"), demangled, in a
 * new string (NULL on ENOMEM). */
char *cp_modules_demangle(const char *versioned);

/* The address of the symbol @name (unversioned) defined by the module mapped at
 * @in_module; its path and load address. Returns 0 or -ENOENT. */
int cp_modules_lookup(struct cp_modules *mods, uint64_t in_module, const char *name, uint64_t *addr_ret,
		      const char **path_ret, uint64_t *start_ret);

/* A .NET method compiled by NativeAOT's ILCompiler, as its DWARF describes it: the
 * compiler's compile unit (producer "NetRuntime") declares each method as a member
 * function of its type's class, with the type's mangled name as the class name. */
struct cp_clr_method {
	char *linkage;			/* the symbol, e.g. "Aot_Program__Charge" */
	char *name;			/* the method's own name, e.g. "Charge" or ".ctor" */
	char **params;			/* the DWARF names of its parameter types, the implicit
					 * this left out: "int", "String", "__Array<nint>";
					 * a pointer type gets a trailing '*' */
	size_t n_params;
};
void cp_clr_method_deinit(struct cp_clr_method *m);

/* The NativeAOT method whose code holds @lookup (ip - 1 for a return address), into *@ret.
 * Returns 0, -ENOENT when @lookup is in no method of such a compile unit (native code,
 * no DWARF), or -ENOMEM. */
int cp_modules_clr_method(struct cp_modules *mods, uint64_t lookup, struct cp_clr_method *ret);

/* Add every module to @report->modules. */
int cp_modules_to_report(struct cp_modules *mods, struct cp_report *report);

#endif
