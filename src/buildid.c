/*
 * buildid.c - see buildid.h. The build-id of a file is read with libelf (the notes of its
 * program headers, else of its sections), as libdwfl reads it for the modules it loads.
 */
#include "config.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildid.h"

char *cp_hex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

int cp_elf_build_id(int fd, unsigned char *buf, size_t cap)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	const void *id;
	ssize_t n = elf_kind(elf) == ELF_K_ELF ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	int r = elf_kind(elf) == ELF_K_ELF ? -ENOENT : -EINVAL;
	if (n > 0 && (size_t)n <= cap) {
		memcpy(buf, id, n);
		r = n;
	}
	elf_end(elf);
	return r;
}

char *cp_elf_build_id_hex(int fd)
{
	unsigned char id[CP_MAX_BUILD_ID];
	int n = cp_elf_build_id(fd, id, sizeof(id));
	return n > 0 ? cp_hex(id, n) : NULL;
}

bool cp_build_id_hex_valid(const char *hex)
{
	size_t n = strspn(hex, "0123456789abcdef");
	return n == strlen(hex) && n >= 4 && n <= 2 * CP_MAX_BUILD_ID;
}

int cp_build_id_path(char *buf, size_t cap, const char *dir, const char *hex, const char *suffix)
{
	if (!cp_build_id_hex_valid(hex))
		return -EINVAL;
	if ((size_t)snprintf(buf, cap, "%s/%.2s/%s%s", dir, hex, hex + 2, suffix) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int cp_build_id_debug_path(char *buf, size_t cap, const char *debug_dir, const char *hex)
{
	char dir[4096];
	if ((size_t)snprintf(dir, sizeof(dir), "%s/.build-id", strcmp(debug_dir, "/") == 0 ? "" : debug_dir) >= sizeof(dir))
		return -ENAMETOOLONG;
	return cp_build_id_path(buf, cap, dir, hex, ".debug");
}
