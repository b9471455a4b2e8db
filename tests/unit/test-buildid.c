/*
 * test-buildid.c - buildid.h: hex, the debug tree's names by build-id, and reading a
 * build-id from an ELF file (this test's own executable, linked with one, and a file that
 * is not ELF).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buildid.h"
#include "unit.h"

int main(void)
{
	char buf[256];
	static const unsigned char id[] = { 0x93, 0xac, 0x61, 0x0e, 0x00, 0xff };

	char *h = cp_hex(id, sizeof(id));
	CHECK(h && strcmp(h, "93ac610e00ff") == 0);
	CHECK(cp_build_id_hex_valid("93ac610e00ff"));
	CHECK(!cp_build_id_hex_valid("93AC"));
	CHECK(!cp_build_id_hex_valid("93a"));
	CHECK(!cp_build_id_hex_valid("93ac/../x"));
	CHECK(!cp_build_id_hex_valid(""));

	CHECK(cp_build_id_path(buf, sizeof(buf), "/var/cache/x", h, ".sym") == 0 &&
	      strcmp(buf, "/var/cache/x/93/ac610e00ff.sym") == 0);
	CHECK(cp_build_id_debug_path(buf, sizeof(buf), CP_SYSTEM_DEBUG_DIR, h) == 0 &&
	      strcmp(buf, "/usr/lib/debug/.build-id/93/ac610e00ff.debug") == 0);
	/* "/" as the debug directory: a path inside a root or a --debug-dir. */
	CHECK(cp_build_id_debug_path(buf, sizeof(buf), "/", h) == 0 && strcmp(buf, "/.build-id/93/ac610e00ff.debug") == 0);
	CHECK(cp_build_id_debug_path(buf, sizeof(buf), "/d", "../../etc/passwd") == -EINVAL);
	CHECK(cp_build_id_path(buf, 16, "/a/long/directory/name", h, ".debug") == -ENAMETOOLONG);
	free(h);

	/* This executable has a build-id (GNU ld's --build-id, Debian's default). */
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	unsigned char got[CP_MAX_BUILD_ID];
	int n = fd >= 0 ? cp_elf_build_id(fd, got, sizeof(got)) : -errno;
	CHECK(n == 20 || n == 16);
	char *hex = fd >= 0 ? cp_elf_build_id_hex(fd) : NULL;
	CHECK(hex && n > 0 && strlen(hex) == 2 * (size_t)n && cp_build_id_hex_valid(hex));
	free(hex);
	CHECK(fd >= 0 && cp_elf_build_id(fd, got, 4) == -ENOENT);	/* no room: none */
	if (fd >= 0)
		close(fd);

	int mfd = memfd_create("notelf", MFD_CLOEXEC);
	CHECK(mfd >= 0 && write(mfd, "not an ELF file\n", 16) == 16);
	CHECK(mfd >= 0 && cp_elf_build_id(mfd, got, sizeof(got)) == -EINVAL);
	CHECK(mfd >= 0 && cp_elf_build_id_hex(mfd) == NULL);
	if (mfd >= 0)
		close(mfd);
	return UNIT_DONE();
}
