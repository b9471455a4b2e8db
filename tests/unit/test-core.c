/*
 * test-core.c - the core reader on cores built in memory: notes parsed, sizes checked,
 * the same result from a file, a pipe and a zstd stream, and clear errors on damage.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "core.h"
#include "synth.h"
#include "unit.h"
#include "zio.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

static struct synth S;

static void build(void)
{
	memset(&S, 0, sizeof(S));
	synth_thread(&S, 100, 0x401000, 0x7000100);
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	ps.pr_pid = 100;
	ps.pr_uid = 1000;
	ps.pr_gid = 1001;
	strcpy(ps.pr_fname, "victim");
	strcpy(ps.pr_psargs, "victim --flag ");
	synth_note(&S, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
	unsigned char si[128] = { 0 };
	int32_t v[3] = { 11, 0, 1 };
	uint64_t addr = 0xdead;
	memcpy(si, v, sizeof(v));
	memcpy(si + 16, &addr, 8);
	synth_note(&S, "CORE", NT_SIGINFO, si, sizeof(si));
	uint64_t auxv[] = { AT_ENTRY, 0x401000, AT_NULL, 0 };
	synth_note(&S, "CORE", NT_AUXV, auxv, sizeof(auxv));
	unsigned char file[256];
	uint64_t hdr[2 + 3] = { 1, 4096, 0x400000, 0x402000, 0 };
	memcpy(file, hdr, sizeof(hdr));
	strcpy((char *)file + sizeof(hdr), "/usr/bin/victim");
	synth_note(&S, "CORE", NT_FILE, file, sizeof(hdr) + 16);
	synth_thread(&S, 101, 0x401010, 0x7100100);
	synth_load(&S, 0x7000000, 0x1000, 0xaa);
	synth_load(&S, 0x7100000, 0x1000, 0xbb);
	synth_finish(&S);
}

/* A file holding @len bytes of @data, or a pipe fed by a thread. */
static int file_of(const void *data, size_t len)
{
	char path[] = "/tmp/test-core-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	if (write(fd, data, len) != (ssize_t)len)
		return -1;
	return fd;
}

struct feed { int fd; const void *data; size_t len; };
static void *feeder(void *arg)
{
	struct feed *f = arg;
	(void) !write(f->fd, f->data, f->len);
	close(f->fd);
	return NULL;
}

/* The input of the last stream read_core() read: a core read from a stream is done with
 * its input, which the caller destroys with stream_done(). */
static struct cp_input *last_stream;

static void stream_done(struct cp_core *c)
{
	cp_core_destroy(c);
	cp_input_destroy(last_stream);
	last_stream = NULL;
}

static int read_core(int fd, struct cp_core **core, const char **why)
{
	struct cp_input *in;
	struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
	int r = cp_input_open(fd, &in);
	if (r < 0)
		return r;
	r = cp_core_read(in, &cfg, core, why);
	if (r < 0)
		cp_input_destroy(in);
	else if (!(*core)->in)
		last_stream = in;
	return r;
}

static void check_core(struct cp_core *c)
{
	unsigned char b[16];
	uint64_t v;

	CHECK(c->n_threads == 2);
	CHECK(c->threads[0].tid == 100 && c->threads[0].regs.rip == 0x401000);
	CHECK(c->threads[1].tid == 101 && c->threads[1].regs.rsp == 0x7100100);
	CHECK(c->has_psinfo && c->uid == 1000 && c->gid == 1001);
	CHECK(strcmp(c->fname, "victim") == 0);
	CHECK(strcmp(c->psargs, "victim --flag") == 0);
	CHECK(c->has_siginfo && c->si_signo == 11 && c->si_code == 1);
	CHECK(c->has_fault_addr && c->fault_addr == 0xdead);
	CHECK(cp_core_auxv(c, AT_ENTRY, &v) && v == 0x401000);
	CHECK(c->n_maps == 1 && strcmp(c->maps[0].path, "/usr/bin/victim") == 0);
	CHECK(cp_core_mapping_at(c, 0x401fff) && !cp_core_mapping_at(c, 0x402000));
	CHECK(cp_core_read_mem(c, 0x7000ff0, b, 16) == 16 && b[0] == 0xaa && b[15] == 0xaa);
	CHECK(cp_core_read_mem(c, 0x7100000, b, 16) == 16 && b[0] == 0xbb);
	CHECK(cp_core_read_mem(c, 0x6fffff0, b, 16) == 0);
	CHECK(!c->partial);
}

static void test_file_pipe_zstd(void)
{
	struct cp_core *c;
	const char *why;

	int fd = file_of(S.buf, S.len);
	CHECK(read_core(fd, &c, &why) == 0);
	check_core(c);
	struct cp_input *in = c->in;
	cp_core_destroy(c);
	cp_input_destroy(in);
	close(fd);

	int p[2];
	pthread_t th;
	CHECK(pipe(p) == 0);
	struct feed f = { p[1], S.buf, S.len };
	pthread_create(&th, NULL, feeder, &f);
	CHECK(read_core(p[0], &c, &why) == 0);
	pthread_join(th, NULL);
	CHECK(c->in == NULL && c->size == S.len);
	check_core(c);
	stream_done(c);
	close(p[0]);

	size_t zcap = ZSTD_compressBound(S.len);
	void *z = malloc(zcap);
	size_t zlen = ZSTD_compress(z, zcap, S.buf, S.len, 1);
	CHECK(!ZSTD_isError(zlen));
	fd = file_of(z, zlen);
	CHECK(read_core(fd, &c, &why) == 0);
	check_core(c);
	stream_done(c);
	close(fd);

	/* A zstd stream cut short: the notes survive, the memory after the cut does not. */
	fd = file_of(z, zlen / 2);
	int r = read_core(fd, &c, &why);
	if (r == 0) {
		CHECK(c->partial);
		stream_done(c);
	} else {
		CHECK(r == -EINVAL || r == -EBADMSG);
	}
	close(fd);
	free(z);
}

static void expect_error(const void *data, size_t len, const char *what)
{
	struct cp_core *c;
	const char *why = NULL;
	int fd = file_of(data, len);
	int r = read_core(fd, &c, &why);
	if (r == 0) {
		fprintf(stderr, "expected an error: %s\n", what);
		CHECK(r != 0);
		struct cp_input *in = c->in;
		cp_core_destroy(c);
		cp_input_destroy(in);
	} else {
		CHECK(r == -ENODATA || why != NULL);
	}
	close(fd);
}

static void test_damage(void)
{
	static unsigned char b[sizeof(S.buf)];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;

	expect_error("", 0, "empty");
	expect_error("hello world, not a core", 23, "text");
	memcpy(b, S.buf, S.len);
	expect_error(b, 40, "cut in the ELF header");
	expect_error(b, 100, "cut in the program headers");
	eh->e_type = ET_EXEC;
	expect_error(b, S.len, "not a core");
	memcpy(b, S.buf, S.len);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_error(b, S.len, "32-bit");
	memcpy(b, S.buf, S.len);
	eh->e_phnum = 0xffff;
	expect_error(b, S.len, "PN_XNUM");
	memcpy(b, S.buf, S.len);
	eh->e_phnum = 1000;
	expect_error(b, S.len, "phnum beyond the file");
	memcpy(b, S.buf, S.len);
	eh->e_phoff = UINT64_MAX - 10;
	expect_error(b, S.len, "phoff huge");
	memcpy(b, S.buf, S.len);
	eh->e_phentsize = 32;
	expect_error(b, S.len, "phentsize");

	/* Damage inside the notes gives a partial core, or an error, never a crash. */
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	for (size_t pos = ph[0].p_offset; pos < ph[0].p_offset + ph[0].p_filesz; pos += 4) {
		static const uint32_t vals[] = { 0, 1, 0x7fffffff, 0xffffffff, 0xfffffff0 };
		for (size_t v = 0; v < 5; v++) {
			memcpy(b, S.buf, S.len);
			memcpy(b + pos, &vals[v], 4);
			struct cp_core *c;
			const char *why;
			int fd = file_of(b, S.len);
			if (read_core(fd, &c, &why) == 0) {
				CHECK(c->n_threads <= 2);
				struct cp_input *in = c->in;
				cp_core_destroy(c);
				cp_input_destroy(in);
			}
			close(fd);
		}
	}

	/* A segment claiming more than the file holds: read, but noted as truncated. */
	memcpy(b, S.buf, S.len);
	ph[2].p_filesz = ph[2].p_memsz = 1ull << 40;
	{
		struct cp_core *c;
		const char *why;
		int fd = file_of(b, S.len);
		CHECK(read_core(fd, &c, &why) == 0);
		CHECK(c->partial && c->n_problems >= 1 && strstr(c->problems[0], "truncated"));
		struct cp_input *in = c->in;
		cp_core_destroy(c);
		cp_input_destroy(in);
		close(fd);
	}
}

static void test_notes_only_core(void)
{
	struct cp_core *c;
	const char *why;
	int fd = file_of(S.buf, S.len);
	CHECK(read_core(fd, &c, &why) == 0);
	char path[] = "/tmp/test-notes-XXXXXX";
	int out = mkstemp(path);
	unlink(path);
	CHECK(cp_core_write_notes(c, out) == 0);
	struct cp_core *c2;
	CHECK(read_core(out, &c2, &why) == 0);
	CHECK(c2->n_threads == 2 && c2->threads[1].tid == 101);
	CHECK(c2->n_maps == 0);		/* NT_FILE left out */
	CHECK(c2->n_segs == 0);
	struct cp_input *in = c2->in;
	cp_core_destroy(c2);
	cp_input_destroy(in);
	in = c->in;
	cp_core_destroy(c);
	cp_input_destroy(in);
	close(out);
	close(fd);
}

/* A note named as createdump names them: "CORE", NUL, then a tag in the padding. */
static void tagged_note(struct synth *s, const char *tag, uint32_t type, const void *desc, uint32_t len)
{
	uint32_t h[3] = { 5, len, type };
	memcpy(s->notes + s->notes_len, h, 12);
	memcpy(s->notes + s->notes_len + 12, "CORE", 5);
	memcpy(s->notes + s->notes_len + 17, tag, 3);
	s->notes_len += 20;
	memcpy(s->notes + s->notes_len, desc, len);
	s->notes_len += (len + 3) & ~3u;
}

/* createdump's order (dumpwriterelf.cpp): PRPSINFO, AUXV, FILE, then each thread; only the
 * crashed thread has a signal (@crashed, or none when -1). */
static void build_createdump(struct synth *s, int crashed, const char *prp_tag)
{
	memset(s, 0, sizeof(*s));
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	ps.pr_pid = 200;
	strcpy(ps.pr_fname, "Crasher");
	tagged_note(s, prp_tag, NT_PRPSINFO, &ps, sizeof(ps));
	uint64_t auxv[] = { AT_ENTRY, 0x401000, AT_NULL, 0 };
	tagged_note(s, "AUX", NT_AUXV, auxv, sizeof(auxv));
	for (int i = 0; i < 3; i++) {
		struct elf_prstatus pr;
		memset(&pr, 0, sizeof(pr));
		pr.pr_pid = 200 + i;
		pr.pr_cursig = i == crashed ? 6 : 0;
		tagged_note(s, "THR", NT_PRSTATUS, &pr, sizeof(pr));
	}
	synth_load(s, 0x7000000, 0x1000, 0xaa);
	synth_finish(s);
}

static void check_writer(struct synth *s, enum cp_core_writer writer, size_t crashed, bool known)
{
	struct cp_core *c;
	const char *why;
	int fd = file_of(s->buf, s->len);
	CHECK(read_core(fd, &c, &why) == 0);
	CHECK(c->writer == writer);
	CHECK(c->crashed == crashed);
	CHECK(c->crash_known == known);
	struct cp_input *in = c->in;
	cp_core_destroy(c);
	cp_input_destroy(in);
	close(fd);
}

static void test_writer(void)
{
	static struct synth d;

	/* The kernel: the crashed thread's NT_PRSTATUS first. */
	check_writer(&S, CP_CORE_WRITER_KERNEL, 0, true);
	/* createdump: the thread with a signal crashed, wherever it is. */
	build_createdump(&d, 2, "PRP");
	check_writer(&d, CP_CORE_WRITER_CREATEDUMP, 2, true);
	build_createdump(&d, 1, "PRP");
	check_writer(&d, CP_CORE_WRITER_CREATEDUMP, 1, true);
	/* None has one: dotnet-dump collect of a running process. */
	build_createdump(&d, -1, "PRP");
	check_writer(&d, CP_CORE_WRITER_CREATEDUMP, 0, false);
	/* PRPSINFO first, its name padded with zeros: gdb's gcore; the first thread (gdb
	 * writes the one it stopped on first, and gives every thread its signal). */
	build_createdump(&d, 2, "\0\0\0");
	check_writer(&d, CP_CORE_WRITER_GCORE, 0, true);
	/* PRPSINFO first with another tag: a writer not known; the first thread. */
	build_createdump(&d, 2, "XYZ");
	check_writer(&d, CP_CORE_WRITER_UNKNOWN, 0, true);
}

/* gcore's layout: the same core with its notes moved after the memory. Through a pipe, a
 * one-pass read loses the memory; with spooling on (as analyze reads a stream) it does not,
 * and the spool is gone with the core. */
static void test_notes_last(void)
{
	static unsigned char buf[sizeof(S.buf) + sizeof(S.notes)];
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));

	build();
	memcpy(buf, S.buf, S.len);
	memcpy(buf + S.len, S.notes, S.notes_len);
	CHECK(ph[0].p_type == PT_NOTE);
	ph[0].p_offset = S.len;
	size_t len = S.len + S.notes_len;

	for (int spool = 0; spool < 2; spool++) {
		int p[2];
		pthread_t th;
		struct cp_input *in;
		struct cp_core *c;
		struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
		const char *why;
		cfg.spool = spool;
		CHECK(pipe(p) == 0);
		struct feed f = { p[1], buf, len };
		pthread_create(&th, NULL, feeder, &f);
		CHECK(cp_input_open(p[0], &in) == 0);
		int r = cp_core_read(in, &cfg, &c, &why);
		pthread_join(th, NULL);
		CHECK(r == 0);
		if (r == 0) {
			unsigned char b[16];
			CHECK(c->n_threads == 2);
			if (spool) {
				check_core(c);
				CHECK(c->spool && c->in == c->spool);
			} else {
				CHECK(c->partial && !c->spool);
				CHECK(cp_core_read_mem(c, 0x7000ff0, b, 16) == 0);
			}
			cp_core_destroy(c);
		}
		cp_input_destroy(in);
		close(p[0]);
	}
}

int main(void)
{
	build();
	test_file_pipe_zstd();
	test_damage();
	test_notes_only_core();
	test_writer();
	test_notes_last();
	return UNIT_DONE();
}
