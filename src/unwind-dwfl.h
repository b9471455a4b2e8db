#ifndef CP_UNWIND_DWFL_H
#define CP_UNWIND_DWFL_H

/*
 * unwind-dwfl - libdwfl's unwinder (dwfl_thread_getframes) as unwind.c's fallback, for
 * the frames libunwind has no table for: the CFI of .eh_frame without an .eh_frame_hdr
 * (static executables), of .debug_frame, and elfutils' frame-pointer walk where no CFI
 * covers a frame at all.
 */

#include <stdbool.h>
#include <stdint.h>

struct cp_modules;
struct cp_target;
struct cp_dwfl_unwind;

/* x86-64's DWARF registers 0..16 (rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, and 16
 * the return address: rip), the numbering libunwind's UNW_X86_64_* also use. */
#define CP_DWFL_NREGS 17
#define CP_DWFL_REG_SP 7
#define CP_DWFL_REG_IP 16

struct cp_dwfl_regs {
	uint64_t val[CP_DWFL_NREGS];
	uint32_t have;			/* bit i: val[i] is known */
};

/* Attach libdwfl's thread state to @mods' Dwfl (once for its life: the result belongs to
 * the unwinder state @mods owns), memory read through @t. Returns 0 or -errno. */
int cp_dwfl_unwind_create(struct cp_modules *mods, struct cp_target *t, struct cp_dwfl_unwind **ret);
void cp_dwfl_unwind_destroy(struct cp_dwfl_unwind *d);

/* Does CFI (the module's .eh_frame, else its .debug_frame) cover @lookup? */
bool cp_dwfl_unwind_has_cfi(struct cp_dwfl_unwind *d, uint64_t lookup);

/* One frame libdwfl found: @ip (exact when @exact: the frame a signal interrupted, else a
 * return address), @sp its CFA-based stack pointer; @by_frame_pointer when no CFI covered
 * the frame it stepped out of. Returns true to go on. */
typedef bool (*cp_dwfl_frame_fn)(void *arg, uint64_t ip, uint64_t sp, bool exact, bool by_frame_pointer);

/* Walk from @regs, whose rip is exact when @exact (else a return address), calling @fn
 * for every frame after that first one. Returns 0 at the stack's end, 1 when @fn stopped
 * it, -1 with *@err (libdwfl's message, static) when libdwfl could not go on. *@last gets
 * the registers libdwfl has for the last frame @fn took (@regs when none). */
int cp_dwfl_unwind_walk(struct cp_dwfl_unwind *d, const struct cp_dwfl_regs *regs, bool exact, cp_dwfl_frame_fn fn,
			void *arg, const char **err, struct cp_dwfl_regs *last);

#endif
