/*
 * fuzz-hint.c - libFuzzer target for the hint reader (src/hint.c): the bytes are the file
 * crashpipe-createdump would have left in the hints directory, which the crashed user
 * writes and root reads.
 *
 * cp_hint_read() opens DIR/PID inside a root directory fd, so each input is written to
 * that file in a private temporary directory, as the user's process would, and read as
 * `handle` reads it: for process FUZZ_PID, by its owner, against a core whose threads are
 * FUZZ_PID and two more. A hint it accepts must name one of those threads and a signal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "fsopen.h"
#include "hint.h"
#include "stub/hint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PID 4242

static char dir[64];
static char path[96];
static int rootfd = -1;
static struct cp_core_thread threads[3] = { { .tid = FUZZ_PID }, { .tid = FUZZ_PID + 1 }, { .tid = 77 } };
static struct cp_core core = { .threads = threads, .n_threads = 3, .pid = FUZZ_PID, .has_psinfo = true };

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/fuzz-hint-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/%d", dir, FUZZ_PID);
	atexit(cleanup);
	rootfd = cp_open_root("/");
	if (rootfd < 0)
		abort();
	core.uid = getuid();
	core.gid = getgid();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rootfd < 0)
		setup();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	struct cp_hint h;
	const char *why = NULL;
	int r = cp_hint_read(rootfd, dir, FUZZ_PID, getuid(), &core, &h, &why);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz-hint: %d (%s)%s\n", r, why ? why : "-", r == 0 ? ": accepted" : "");
	if (r == 0) {
		if (h.tid != FUZZ_PID && h.tid != FUZZ_PID + 1 && h.tid != 77)
			abort();	/* a thread the core does not have */
		if (h.signal <= 0 || h.signal > 64)
			abort();
		if (access(path, F_OK) == 0)
			abort();	/* a used hint is removed */
	} else if (r == -EINVAL || r == -EFBIG || r == -EPERM) {
		if (!why || !*why)
			abort();	/* a hint that was there but refused says why */
	} else {
		abort();	/* the file was there: nothing else may fail */
	}
	if (size > CP_HINT_MAX && r != -EFBIG)
		abort();
	return 0;
}
