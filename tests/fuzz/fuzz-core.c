/*
 * fuzz-core.c - libFuzzer target for the core reader (src/core.c) and its input layer
 * (src/zio.c): the bytes are a core as the kernel (or a hostile user) would hand it over.
 *
 * Each input is read three times, the ways `crashpipe` reads cores: from a memfd (a plain
 * seekable file, read in place, as `analyze` reads a core on disk), from a pipe (a stream,
 * read in one forward pass with cp_core_read_head() then cp_core_read_rest(), as `handle`
 * reads the kernel's pipe), and from a pipe with spooling on (as `analyze` reads stdin or a
 * .zst: a stream whose notes come after its memory, gcore's layout, is copied to a
 * temporary file in $TMPDIR, /dev/shm here unless set, and read from there). A zstd-compressed input goes through the decompressor
 * both times. What a read returns is then used the way the analysis uses it: threads and
 * registers, NT_FILE mappings, auxv, memory reads at the addresses the core itself names,
 * and the notes-only core for libunwind, which must read back.
 */
#include "config.h"

#include <elf.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "zio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PIPE_BYTES (1u << 20)	/* the most a pipe holds without a reader: -max_len below it */

static volatile uint64_t sink;

static void consume(const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		sink += b[i];
}

static void read_at(struct cp_core *core, uint64_t addr, size_t len)
{
	unsigned char buf[256];
	if (len > sizeof(buf))
		len = sizeof(buf);
	ssize_t n = cp_core_read_mem(core, addr, buf, len);
	if (n > (ssize_t)len)
		abort();	/* more than asked for */
	if (n > 0)
		consume(buf, n);
}

/* Use @core the way the analysis does; @depth 0 also writes and rereads its notes core. */
static void use(struct cp_core *core, int depth);

static void reread_notes(const struct cp_core *core)
{
	int fd = memfd_create("fuzz-core-notes", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (cp_core_write_notes(core, fd) == 0) {
		struct cp_input *in;
		struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
		struct cp_core *c2;
		const char *why;
		if (cp_input_open(fd, &in) == 0) {
			/* The notes core is what libunwind-coredump gets: never more threads
			 * than the core (fewer when a hostile core's notes are misaligned). */
			if (cp_core_read(in, &cfg, &c2, &why) == 0) {
				if (c2->n_threads > core->n_threads)
					abort();
				use(c2, 1);
				cp_core_destroy(c2);
			}
			cp_input_destroy(in);
		}
	}
	close(fd);
}

static void use(struct cp_core *core, int depth)
{
	uint64_t v;

	for (size_t i = 0; i < core->n_problems; i++)
		sink += strlen(core->problems[i]);
	sink += strlen(core->fname) + strlen(core->psargs);
	for (size_t i = 0; i < core->n_threads && i < 64; i++) {
		const struct cp_core_thread *t = &core->threads[i];
		read_at(core, t->regs.rsp, 256);
		read_at(core, t->regs.rsp - 128, 128);
		read_at(core, t->regs.rip, 16);
		read_at(core, t->regs.rbp, 16);
	}
	for (size_t i = 0; i < core->n_maps && i < 256; i++) {
		const struct cp_mapping *m = &core->maps[i];
		sink += strlen(m->path);
		if (cp_core_mapping_at(core, m->start) == NULL && m->start < m->end)
			abort();	/* a listed mapping is found at its start */
		read_at(core, m->start, 64);
	}
	for (size_t i = 0; i < core->n_segs && i < 256; i++) {
		const struct cp_segment *s = &core->segs[i];
		sink += cp_core_segment_at(core, s->vaddr) != NULL;
		read_at(core, s->vaddr, 64);
		read_at(core, s->vaddr + s->memsz - 1, 8);
		read_at(core, s->vaddr + s->filesz - 8, 64);
	}
	static const uint64_t types[] = { AT_ENTRY, AT_PHDR, AT_SYSINFO_EHDR, AT_BASE, AT_EXECFN, AT_NULL };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (cp_core_auxv(core, types[i], &v))
			read_at(core, v, 64);
	if (core->has_fault_addr)
		read_at(core, core->fault_addr, 16);
	read_at(core, 0, 16);
	read_at(core, UINT64_MAX - 7, 16);
	sink += cp_core_is_dotnet(core);
	if (depth == 0)
		reread_notes(core);
}

/* Seekable: a memfd holding the bytes, read in place. */
static void from_file(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-core", MFD_CLOEXEC);
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
			use(core, 0);
			cp_core_destroy(core);
		}
		cp_input_destroy(in);
	}
	close(fd);
}

/* A stream: the bytes in a pipe, read forward in two steps as `handle` reads the kernel's,
 * or with @spool as `analyze` reads one. */
static void from_pipe(const uint8_t *data, size_t size, bool spool)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	if (size > 65536 && fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES) < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	struct cp_input *in;
	struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
	struct cp_core *core;
	const char *why = NULL;
	cfg.spool = spool;
	if (cp_input_open(p[0], &in) == 0) {
		int r = cp_core_read_head(in, &cfg, &core, &why);
		if (r < 0 && r != -ENOMEM && (!why || !*why))
			abort();	/* a refused core says why */
		if (r == 0) {
			if (cp_core_read_rest(core, &cfg) == 0) {
				if (core->in && (!spool || core->in != core->spool))
					abort();	/* a stream is done with once read */
				if (!spool && core->spool)
					abort();	/* only analyze spools */
				use(core, 0);
			}
			cp_core_destroy(core);
		}
		cp_input_destroy(in);
	}
	close(p[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > PIPE_BYTES)
		return -1;	/* not added to the corpus */
	from_file(data, size);
	from_pipe(data, size, false);
	from_pipe(data, size, true);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	if (access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 0);
	return 0;
}
