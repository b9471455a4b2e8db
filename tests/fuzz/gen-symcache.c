/*
 * gen-symcache.c - the seed of fuzz-symcache (make-corpus.sh): the symcache that
 * cp_symcache_build() itself writes for a library (version 2: with its inline ranges;
 * libresolv has a few hundred).
 *
 *   gen-symcache DIR LIBRARY...
 *
 * writes DIR/XX/REST.sym for each LIBRARY (root-owned, with its debuginfo under
 * /usr/lib/debug) and prints the paths written.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildid.h"
#include "cleanup.h"
#include "debugcache.h"
#include "symcache.h"

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: gen-symcache DIR LIBRARY...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		_cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		_cleanup_free_ char *hex = fd >= 0 ? cp_elf_build_id_hex(fd) : NULL;
		char path[4096];
		if (!hex) {
			fprintf(stderr, "gen-symcache: %s: no build-id\n", argv[i]);
			rc = 1;
			continue;
		}
		int r = cp_symcache_build(argv[1], hex, argv[i]);
		if (r != 1 || cp_debug_cache_path(path, sizeof(path), argv[1], hex, ".sym") < 0) {
			fprintf(stderr, "gen-symcache: %s: no symcache written (%d)\n", argv[i], r);
			rc = 1;
			continue;
		}
		printf("%s\n", path);
	}
	return rc;
}
