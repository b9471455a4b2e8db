#ifndef CP_EHFRAME_H
#define CP_EHFRAME_H

/*
 * ehframe - a module's .eh_frame_hdr (LSB's "Exception Frame Header"), decoded from the
 * crashed process's memory: where its binary-search table of FDEs is, for the unwinder
 * (unwind.c hands it to libunwind as a UNW_INFO_FORMAT_REMOTE_TABLE).
 */

#include <stdint.h>

struct cp_target;

/* The table, as runtime addresses. Each of its @count entries is two 32-bit offsets from
 * @hdr (DW_EH_PE_datarel | DW_EH_PE_sdata4): a function's start and its FDE. */
struct cp_eh_frame_table {
	uint64_t hdr;		/* the .eh_frame_hdr section */
	uint64_t table;		/* its first entry */
	uint64_t count;
};

/* The .eh_frame_hdr table of the ELF image whose ELF header is mapped at @image, with
 * load bias @bias, read through @t. Returns 0, -ENOENT when it has no PT_GNU_EH_FRAME or no
 * table usable for a binary search (static executables are linked without one), -EFAULT
 * when its headers cannot be read. */
int cp_eh_frame_table_find(struct cp_target *t, uint64_t image, uint64_t bias, struct cp_eh_frame_table *ret);

#endif
