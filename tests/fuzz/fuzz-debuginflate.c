/*
 * fuzz-debuginflate.c - libFuzzer target for the in-memory inflated copy of a debug file
 * (cp_debuginfo_inflated, src/debugcache.c): the bytes are an ELF file with compressed
 * sections, as a --debug-dir or a module directory may hold one anybody made.
 *
 * Each input is put in a memfd and copied; when a copy comes back, libelf must read it and
 * every section it made must be uncompressed, inside the copy, of the size its compression
 * header promised.
 */
#include "config.h"

#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debugcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		elf_version(EV_CURRENT);
		ready = 1;
	}
	int fd = memfd_create("fuzz-debuginflate", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	int copy = cp_debuginfo_inflated(fd);
	if (copy >= 0) {
		struct stat st;
		if (fstat(copy, &st) < 0)
			abort();
		Elf *e = elf_begin(copy, ELF_C_READ_MMAP, NULL);
		if (!e)
			abort();
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED))
				continue;
			if (sh.sh_offset > (uint64_t)st.st_size)
				continue;	/* a section the input had out of bounds, left as it was */
			Elf_Data *d = elf_rawdata(scn, NULL);
			volatile uint8_t sink = 0;
			if (d && d->d_buf && d->d_size)
				sink ^= ((const uint8_t *)d->d_buf)[d->d_size - 1];
			(void)sink;
		}
		elf_end(e);
		close(copy);
	}
	close(fd);
	return 0;
}
