/*
 * fuzz-analyze.c - libFuzzer target for the whole analysis pipeline that `crashpipe analyze`
 * runs in its child (cp_analyze_core(): the core as libdwfl and libunwind see it, the
 * modules, the unwind, the symbols, the report), in-process, on a core read from the fuzz
 * input through the same input layer as analyze's (a memfd: a seekable file; zstd inputs
 * are decompressed by it).
 *
 * The modules' files come from a fixed sysroot: the directory $CP_FUZZ_SYSROOT when it is
 * set (e.g. a tree holding the seed cores' programs), else an empty directory made at start,
 * so that only the core's own bytes are read and a run is the same on every machine. The
 * DAC is off (it would fork its own process) and so is the debuginfo cache. The report is
 * also serialised and parsed back, as the parent of the analysis child does with it.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyze.h"
#include "core.h"
#include "fsopen.h"
#include "report.h"
#include "zio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int rootfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	const char *dir = getenv("CP_FUZZ_SYSROOT");
	static char empty[] = "/tmp/fuzz-analyze-root.XXXXXX";
	if (!dir || !*dir) {
		dir = mkdtemp(empty);
		if (!dir)
			abort();
	}
	rootfd = cp_open_root(dir);
	if (rootfd < 0)
		abort();
	if (dir == empty)
		(void) rmdir(empty);	/* the fd keeps it, empty for good */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-analyze", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();

	struct cp_input *in;
	struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
	struct cp_core *core;
	const char *why = NULL;
	if (cp_input_open(fd, &in) == 0) {
		if (cp_core_read(in, &cfg, &core, &why) == 0) {
			struct cp_report *r = cp_report_create();
			if (r) {
				struct cp_analyze_options opts;
				cp_analyze_options_init(&opts, 65534, 65534);
				opts.max_frames = 256;
				opts.no_dac = true;
				if (cp_analyze_core(core, rootfd, &opts, r) == 0) {
					/* What the parent does with the child's report. */
					char *json = cp_report_to_json(r);
					struct cp_report *back = NULL;
					const char *bad = NULL;
					if (json && cp_report_parse(json, strlen(json), &back, &bad) < 0 && bad)
						abort();	/* our own report must parse */
					cp_report_destroy(back);
					free(json);
				}
				cp_report_destroy(r);
			}
			cp_core_destroy(core);
		}
		cp_input_destroy(in);
	}
	close(fd);
	return 0;
}
