#ifndef CP_SYNTH_H
#define CP_SYNTH_H

/*
 * synth.h - small ELF cores built in memory, laid out the way the kernel lays them out
 * (header, program headers, notes, then the PT_LOAD data), for the reader's and target's
 * unit tests. Real kernel cores are tested end to end by tests/run-*.sh.
 */

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

struct synth {
	unsigned char buf[1 << 16];
	size_t len;
	unsigned char notes[8192];
	size_t notes_len;
	struct { uint64_t vaddr, size; unsigned char fill; } loads[8];
	size_t n_loads;
};

static void synth_note(struct synth *s, const char *name, uint32_t type, const void *desc, uint32_t len)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, len, type };
	memcpy(s->notes + s->notes_len, h, 12);
	s->notes_len += 12;
	memcpy(s->notes + s->notes_len, name, h[0]);
	s->notes_len += (h[0] + 3) & ~3u;
	memcpy(s->notes + s->notes_len, desc, len);
	s->notes_len += (len + 3) & ~3u;
}

static void synth_thread(struct synth *s, pid_t tid, uint64_t rip, uint64_t rsp)
{
	struct elf_prstatus pr;
	memset(&pr, 0, sizeof(pr));
	pr.pr_pid = tid;
	pr.pr_cursig = 11;
	struct user_regs_struct *regs = (struct user_regs_struct *)&pr.pr_reg;
	regs->rip = rip;
	regs->rsp = rsp;
	synth_note(s, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
}

static void synth_load(struct synth *s, uint64_t vaddr, uint64_t size, unsigned char fill)
{
	s->loads[s->n_loads].vaddr = vaddr;
	s->loads[s->n_loads].size = size;
	s->loads[s->n_loads].fill = fill;
	s->n_loads++;
}

/* Lay it all out into s->buf; returns the core's length. */
static size_t synth_finish(struct synth *s)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)s->buf;
	size_t phnum = 1 + s->n_loads;
	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = phnum;
	Elf64_Phdr *ph = (Elf64_Phdr *)(s->buf + sizeof(*eh));
	size_t off = sizeof(*eh) + phnum * sizeof(*ph);
	memset(ph, 0, phnum * sizeof(*ph));
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = off;
	ph[0].p_filesz = s->notes_len;
	memcpy(s->buf + off, s->notes, s->notes_len);
	off += s->notes_len;
	off = (off + 4095) & ~(size_t)4095;
	for (size_t i = 0; i < s->n_loads; i++) {
		ph[1 + i].p_type = PT_LOAD;
		ph[1 + i].p_offset = off;
		ph[1 + i].p_vaddr = s->loads[i].vaddr;
		ph[1 + i].p_filesz = ph[1 + i].p_memsz = s->loads[i].size;
		ph[1 + i].p_flags = PF_R | PF_W;
		memset(s->buf + off, s->loads[i].fill, s->loads[i].size);
		off += s->loads[i].size;
	}
	s->len = off;
	return off;
}

#endif
