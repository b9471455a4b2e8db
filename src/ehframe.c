/*
 * ehframe.c - decoding a module's .eh_frame_hdr from the target's memory.
 *
 * The section (LSB 5.0, "Exception Frame Header"; the linker writes it with
 * --eh-frame-hdr, which gcc passes for dynamic links only) is:
 *   u8 version (1), u8 eh_frame_ptr_enc, u8 fde_count_enc, u8 table_enc,
 *   eh_frame_ptr (eh_frame_ptr_enc), fde_count (fde_count_enc),
 *   fde_count pairs (initial location, FDE address) in table_enc.
 * Only the encodings linkers write are accepted: 4-byte values, absolute or pc-relative
 * for the two header fields, and a table of datarel sdata4 pairs, the one form a binary
 * search can index (libunwind's dwarf_search_unwind_table expects that form too).
 */
#include "config.h"

#include <dwarf.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>

#include "ehframe.h"
#include "target.h"

#define EH_FRAME_HDR_VERSION 1
#define DW_EH_PE_FORMAT_MASK 0x0f	/* the value's size and signedness */
#define DW_EH_PE_APPL_MASK 0x70		/* what it is relative to */
#define MAX_PHNUM 256u
#define MAX_FDE_COUNT (1u << 26)

/* Read the DW_EH_PE-encoded value at *@addr (advanced past it) into @val. */
static int read_encoded(struct cp_target *t, uint64_t *addr, uint8_t enc, uint64_t *val)
{
	int32_t v;

	if (enc == DW_EH_PE_omit)
		return -ENOENT;
	uint8_t format = enc & DW_EH_PE_FORMAT_MASK;
	if (format != DW_EH_PE_sdata4 && format != DW_EH_PE_udata4)
		return -ENOTSUP;
	if (cp_target_read(t, *addr, &v, sizeof(v)) < 0)
		return -EFAULT;
	uint64_t base;
	switch (enc & DW_EH_PE_APPL_MASK) {
	case DW_EH_PE_absptr:
		base = 0;
		break;
	case DW_EH_PE_pcrel:
		base = *addr;
		break;
	default:
		return -ENOTSUP;
	}
	*val = base + (format == DW_EH_PE_sdata4 ? (uint64_t)(int64_t)v : (uint64_t)(uint32_t)v);
	*addr += sizeof(v);
	return 0;
}

int cp_eh_frame_table_find(struct cp_target *t, uint64_t image, uint64_t bias, struct cp_eh_frame_table *ret)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (cp_target_read(t, image, &eh, sizeof(eh)) < 0)
		return -EFAULT;
	for (unsigned i = 0; i < eh.e_phnum && i < MAX_PHNUM; i++) {
		if (cp_target_read(t, image + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)) < 0)
			return -EFAULT;
		if (ph.p_type != PT_GNU_EH_FRAME)
			continue;
		struct {
			uint8_t version, eh_frame_ptr_enc, fde_count_enc, table_enc;
		} h;
		uint64_t addr = bias + ph.p_vaddr, p = addr + sizeof(h), eh_frame, count;
		if (cp_target_read(t, addr, &h, sizeof(h)) < 0 || h.version != EH_FRAME_HDR_VERSION)
			return -ENOENT;
		if (read_encoded(t, &p, h.eh_frame_ptr_enc, &eh_frame) < 0 ||
		    read_encoded(t, &p, h.fde_count_enc, &count) < 0)
			return -ENOENT;
		if (h.table_enc != (DW_EH_PE_datarel | DW_EH_PE_sdata4) || count == 0 || count > MAX_FDE_COUNT)
			return -ENOENT;
		ret->hdr = addr;
		ret->table = p;
		ret->count = count;
		return 0;
	}
	return -ENOENT;
}
