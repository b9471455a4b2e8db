/*
 * core.c - the ELF core reader.
 *
 * Everything in a core is data the crashed user controlled, so every size, count and
 * offset is checked against what is really there before it is used, in 64-bit arithmetic
 * that cannot wrap. A core that goes bad after its notes still gives a partial core: the
 * threads and registers are worth a report on their own.
 *
 * Writers other than the kernel may put the notes after the memory: gdb's gcore writes
 * every PT_LOAD first and the PT_NOTE last (gdb/gcore.c, via BFD), and a one-pass reader
 * learns the threads' stack pointers only once the memory has gone by. Such a stream (on
 * stdin, or a .zst) is spooled to a temporary file and read from there like a core on disk,
 * rather than kept in memory while streaming: what the report needs of the memory (a stack
 * window per thread, the executable's data, the ELF headers) is known only from the notes,
 * so a bounded in-memory reader would have to keep everything up to its bound and guess; a
 * sparse file on disk costs the written pages only, keeps what any analysis (the DAC's
 * heap walk included) may read, and is bounded by a cap and the filesystem's free space,
 * with a problem recorded when cut. Offline inputs only: the kernel's stream (handle)
 * always has its notes first and keeps its one bounded pass, the dying process waits on it.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "core.h"
#include "elfnote.h"
#include "strv.h"
#include "zio.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define MAX_PHNUM 65535u		/* PN_XNUM cores (more segments) are refused */
#define SMALL_SEGMENT (64u * 1024)	/* ELF header pages, the vDSO, small data */
#define RED_ZONE 256u			/* below SP: the x86_64 red zone, rounded up */
#define SPARSE_FROM (1u << 20)		/* ranges this large skip their zero pages */
#define BOUNCE_SIZE (1u << 20)

void cp_core_problem(struct cp_core *core, const char *fmt, ...)
{
	va_list ap;

	core->partial = true;
	va_start(ap, fmt);
	cp_strv_append_va(&core->problems, &core->n_problems, fmt, ap);
	va_end(ap);
}

static void cp_core_destroyp(struct cp_core **core)
{
	cp_core_destroy(*core);
}

void cp_core_destroy(struct cp_core *core)
{
	if (!core)
		return;
	for (size_t i = 0; i < core->n_segs; i++)
		if (core->segs[i].data)
			munmap(core->segs[i].data, core->segs[i].data_len);
	for (size_t i = 0; i < core->n_problems; i++)
		free(core->problems[i]);
	free(core->problems);
	free(core->segs);
	free(core->maps);
	free(core->threads);
	free(core->auxv);
	free(core->notes);
	free(core->note_segs);
	free(core->file_strings);
	free(core->bounce);
	if (core->spool) {
		close(cp_input_fd(core->spool));
		cp_input_destroy(core->spool);
	}
	free(core);
}

/* A process or thread id from a note: 0 (unknown) unless it can be one, from 0 to the
 * kernel's PID_MAX_LIMIT (what a report may hold). */
static pid_t pid_or_zero(struct cp_core *core, const char *note, pid_t pid)
{
	if (pid >= 0 && pid <= CP_PID_MAX)
		return pid;
	cp_core_problem(core, "%s: pid %d is not a process id (0 used)", note, (int)pid);
	return 0;
}

static void parse_prstatus(struct cp_core *core, const unsigned char *desc, size_t len)
{
	struct elf_prstatus pr;

	if (len < sizeof(pr)) {
		cp_core_problem(core, "NT_PRSTATUS note of %zu bytes, expected %zu: thread skipped",
				len, sizeof(pr));
		return;
	}
	memcpy(&pr, desc, sizeof(pr));
	struct cp_core_thread *t = realloc(core->threads, (core->n_threads + 1) * sizeof(*t));
	if (!t)
		return;
	core->threads = t;
	t += core->n_threads++;
	memset(t, 0, sizeof(*t));
	t->tid = pid_or_zero(core, "NT_PRSTATUS", pr.pr_pid);
	t->cursig = pr.pr_cursig;
	if (t->cursig < 0 || t->cursig > CP_SIGNAL_MAX) {
		cp_core_problem(core, "NT_PRSTATUS: signal %d is not a signal number (0 used)", t->cursig);
		t->cursig = 0;
	}
	memcpy(&t->regs, &pr.pr_reg, sizeof(t->regs));
}

static void parse_prpsinfo(struct cp_core *core, const unsigned char *desc, size_t len)
{
	struct elf_prpsinfo ps;

	if (len < sizeof(ps)) {
		cp_core_problem(core, "NT_PRPSINFO note of %zu bytes, expected %zu", len, sizeof(ps));
		return;
	}
	memcpy(&ps, desc, sizeof(ps));
	core->has_psinfo = true;
	core->pid = pid_or_zero(core, "NT_PRPSINFO", ps.pr_pid);
	core->ppid = pid_or_zero(core, "NT_PRPSINFO", ps.pr_ppid);
	core->uid = ps.pr_uid;
	core->gid = ps.pr_gid;
	memcpy(core->fname, ps.pr_fname, sizeof(ps.pr_fname));
	core->fname[sizeof(ps.pr_fname)] = '\0';
	memcpy(core->psargs, ps.pr_psargs, sizeof(ps.pr_psargs));
	core->psargs[sizeof(ps.pr_psargs)] = '\0';
	/* The kernel pads psargs with NULs and ends it with a space when truncated. */
	for (size_t n = strlen(core->psargs); n > 0 && core->psargs[n - 1] == ' '; n--)
		core->psargs[n - 1] = '\0';
}

static void parse_siginfo(struct cp_core *core, const unsigned char *desc, size_t len)
{
	int32_t v[3];
	uint64_t addr;

	if (core->has_siginfo)
		return;		/* the first one is the crashed thread's */
	if (len < 128) {
		cp_core_problem(core, "NT_SIGINFO note of %zu bytes, expected 128", len);
		return;
	}
	memcpy(v, desc, sizeof(v));
	memcpy(&addr, desc + 16, sizeof(addr));
	if (v[0] < 0 || v[0] > CP_SIGNAL_MAX) {
		cp_core_problem(core, "NT_SIGINFO: signal %d is not a signal number: note ignored", v[0]);
		return;
	}
	core->has_siginfo = true;
	core->si_signo = v[0];
	core->si_errno = v[1];
	core->si_code = v[2];
	/* fault_addr is meaningful for the fault signals only, and only when the kernel sent them
	 * (si_code > 0); raise() and kill() put a pid there. */
	if (core->si_code > 0 && (v[0] == 4 || v[0] == 5 || v[0] == 7 || v[0] == 8 || v[0] == 11)) {
		core->has_fault_addr = true;
		core->fault_addr = addr;
	}
}

static void parse_auxv(struct cp_core *core, const unsigned char *desc, size_t len)
{
	size_t n = len / 16;

	free(core->auxv);
	core->auxv = malloc(n ? n * 16 : 1);
	if (!core->auxv) {
		core->n_auxv = 0;
		return;
	}
	memcpy(core->auxv, desc, n * 16);
	core->n_auxv = n;
}

static void parse_file(struct cp_core *core, const unsigned char *desc, size_t len)
{
	uint64_t count, page_size;

	if (core->maps) {
		cp_core_problem(core, "a second NT_FILE note was ignored");
		return;
	}
	if (len < 16) {
		cp_core_problem(core, "NT_FILE note of %zu bytes is too short", len);
		return;
	}
	memcpy(&count, desc, 8);
	memcpy(&page_size, desc + 8, 8);
	if (count > (len - 16) / 24) {
		cp_core_problem(core, "NT_FILE note claims %llu mappings in %zu bytes",
				(unsigned long long)count, len);
		return;
	}
	if (page_size == 0 || (page_size & (page_size - 1)) || page_size > (1u << 30)) {
		cp_core_problem(core, "NT_FILE note has page size %llu", (unsigned long long)page_size);
		return;
	}
	size_t strings_off = 16 + count * 24, strings_len = len - strings_off;
	core->file_strings = malloc(strings_len + 1);
	core->maps = calloc(count ? count : 1, sizeof(*core->maps));
	if (!core->file_strings || !core->maps)
		return;
	memcpy(core->file_strings, desc + strings_off, strings_len);
	core->file_strings[strings_len] = '\0';

	const char *s = core->file_strings, *end = core->file_strings + strings_len;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e[3];
		memcpy(e, desc + 16 + i * 24, sizeof(e));
		if (s >= end) {
			cp_core_problem(core, "NT_FILE note: names end after %llu of %llu mappings",
					(unsigned long long)i, (unsigned long long)count);
			break;
		}
		size_t slen = strnlen(s, end - s);
		if (s + slen == end) {
			cp_core_problem(core, "NT_FILE note: name %llu is not terminated",
					(unsigned long long)i);
			break;
		}
		if (e[1] > e[0] && e[2] <= UINT64_MAX / page_size) {
			struct cp_mapping *m = &core->maps[core->n_maps++];
			m->start = e[0];
			m->end = e[1];
			m->offset = e[2] * page_size;
			m->path = s;
		}
		s += slen + 1;
	}
}

/*
 * Who wrote the notes, from the first one: the kernel's first note is the crashed thread's
 * NT_PRSTATUS (fs/binfmt_elf.c, fill_note_info); createdump starts with NT_PRPSINFO and tags
 * the padding of every note's name ("CORE\0PRP", "CORE\0THR"; dotnet/runtime
 * src/coreclr/debug/createdump/dumpwriterelf.cpp, WriteProcessInfo and WriteThread); gdb's
 * gcore starts with NT_PRPSINFO too, its name padded with zeros (gdb/linux-tdep.c,
 * linux_make_corefile_notes: the process's notes before the threads').
 */
static void note_writer(struct cp_core *core, uint32_t type, const char *name, uint32_t namesz)
{
	if (core->writer != CP_CORE_WRITER_UNKNOWN || namesz != 5)
		return;
	if (type == NT_PRSTATUS && memcmp(name, "CORE\0\0\0\0", 8) == 0)
		core->writer = CP_CORE_WRITER_KERNEL;
	else if (type == NT_PRPSINFO && memcmp(name, "CORE\0PRP", 8) == 0)
		core->writer = CP_CORE_WRITER_CREATEDUMP;
	else if (type == NT_PRPSINFO && memcmp(name, "CORE\0\0\0\0", 8) == 0)
		core->writer = CP_CORE_WRITER_GCORE;
}

/* The thread that crashed: the first for the kernel; for createdump the one thread it
 * wrote with a signal (WriteThread is given the crash signal for --crashthread only), none
 * in a dump of a process that had not crashed (dotnet-dump collect). */
static void find_crashed(struct cp_core *core)
{
	core->crashed = 0;
	core->crash_known = core->writer != CP_CORE_WRITER_CREATEDUMP;
	if (core->writer != CP_CORE_WRITER_CREATEDUMP)
		return;
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i].cursig != 0) {
			core->crashed = i;
			core->crash_known = true;
			return;
		}
}

static void parse_notes(struct cp_core *core, size_t start)
{
	struct cp_elfnote_iter it;
	struct cp_elfnote note;
	const char *why;
	size_t at = start;
	int r;

	cp_elfnote_iter_init(&it, core->notes, core->notes_len, start, 4);
	while ((r = cp_elfnote_next(&it, &note, &why)) > 0) {
		if (note.offset == 0 && note.namesz == 5 && note.desc >= (const unsigned char *)note.name + 8)
			note_writer(core, note.type, note.name, note.namesz);
		if (cp_elfnote_named(&note, "CORE")) {
			switch (note.type) {
			case NT_PRSTATUS:
				parse_prstatus(core, note.desc, note.descsz);
				break;
			case NT_PRPSINFO:
				parse_prpsinfo(core, note.desc, note.descsz);
				break;
			case NT_SIGINFO:
				parse_siginfo(core, note.desc, note.descsz);
				break;
			case NT_AUXV:
				parse_auxv(core, note.desc, note.descsz);
				break;
			case NT_FILE:
				parse_file(core, note.desc, note.descsz);
				break;
			}
		}
		at = note.end;
	}
	if (r < 0)
		cp_core_problem(core, "note at offset %zu: %s", at, why);
}

bool cp_core_auxv(const struct cp_core *core, uint64_t type, uint64_t *val_ret)
{
	for (size_t i = 0; i < core->n_auxv; i++)
		if (core->auxv[2 * i] == type) {
			*val_ret = core->auxv[2 * i + 1];
			return true;
		}
	return false;
}

/* Binary searches: both arrays are sorted by address once read (memory reads of the
 * unwinders and the DAC come here, millions of times on a large .NET process). Segments
 * that overlap (only a hostile core has them) are found by their start. */
const struct cp_segment *cp_core_segment_at(const struct cp_core *core, uint64_t addr)
{
	size_t lo = 0, hi = core->n_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (core->segs[mid].vaddr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct cp_segment *s = &core->segs[lo - 1];
	return addr - s->vaddr < s->memsz ? s : NULL;
}

const struct cp_mapping *cp_core_mapping_at(const struct cp_core *core, uint64_t addr)
{
	size_t lo = 0, hi = core->n_maps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (core->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct cp_mapping *m = &core->maps[lo - 1];
	return addr < m->end ? m : NULL;
}

static int cmp_map_start(const void *a, const void *b)
{
	const struct cp_mapping *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_by_offset(const void *a, const void *b)
{
	const struct cp_segment *x = *(struct cp_segment *const *)a, *y = *(struct cp_segment *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_by_vaddr(const void *a, const void *b)
{
	const struct cp_segment *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static bool is_coreclr(const char *path)
{
	const char *base = strrchr(path, '/');
	return base && strcmp(base, "/libcoreclr.so") == 0;
}

bool cp_core_is_dotnet(const struct cp_core *core)
{
	for (size_t i = 0; i < core->n_maps; i++) {
		const char *path = core->maps[i].path;
		/* W^X JIT code of .NET 7+ lives in this memfd; a single-file app has it too. */
		if (is_coreclr(path) || strncmp(path, "/memfd:doublemapper", 19) == 0)
			return true;
	}
	return false;
}

/* The file the runtime runs from: libcoreclr.so, or the executable of a single-file app. */
static const char *runtime_file(const struct cp_core *core)
{
	uint64_t entry;
	for (size_t i = 0; i < core->n_maps; i++)
		if (is_coreclr(core->maps[i].path))
			return core->maps[i].path;
	if (cp_core_auxv(core, AT_ENTRY, &entry)) {
		const struct cp_mapping *m = cp_core_mapping_at(core, entry);
		if (m)
			return m->path;
	}
	return NULL;
}

/* Is @path inside @rootfd a regular file of root's that nobody else may write? Looked at
 * through O_PATH: nothing is opened, no link followed. */
static bool installed_by_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	struct stat st;

	while (*path == '/')
		path++;
	_cleanup_close_ int fd = *path ? syscall(SYS_openat2, rootfd, path, &how, sizeof(how)) : -1;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* MemAvailable of /proc/meminfo in bytes, or 0. */
static uint64_t mem_available(void)
{
	char buf[4096];
	_cleanup_close_ int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *s = strstr(buf, "\nMemAvailable:");
	unsigned long long kb;
	return s && sscanf(s, "\nMemAvailable: %llu kB", &kb) == 1 ? (uint64_t)kb << 10 : 0;
}

uint64_t cp_core_dotnet_budget(struct cp_core *core, int rootfd, uint64_t max)
{
	if (!cp_core_is_dotnet(core))
		return 0;
	const char *file = runtime_file(core);
	if (!file || rootfd < 0 || !installed_by_root(rootfd, file)) {
		cp_core_problem(core, "the .NET runtime %s is not a root-owned file only root may write: its memory is kept as any process's",
				file ? file : "(no file)");
		return 0;
	}
	uint64_t share = mem_available() / 4;
	return share < max ? share : max;
}

/* Widen [*lo, *hi) (relative to the segment) to hold [lo2, hi2). */
static void keep_range(struct cp_segment *s, uint64_t lo, uint64_t hi)
{
	if (hi > s->filesz)
		hi = s->filesz;
	if (lo >= hi)
		return;
	if (s->keep_hi == 0) {
		s->keep_lo = lo;
		s->keep_hi = hi;
		return;
	}
	if (lo < s->keep_lo)
		s->keep_lo = lo;
	if (hi > s->keep_hi)
		s->keep_hi = hi;
}

/*
 * Is @s the executable's own data: a written page of one of its mappings, or its .bss past
 * the end of the file (anonymous, right after its last mapping)? A NativeAOT runtime keeps
 * its crash info there (nativeaot.c: g_CrashInfoBuffer, 8 KiB in .bss); any program its
 * globals. Kept up to EXE_DATA_MAX bytes of each such segment.
 */
#define EXE_DATA_MAX (4u << 20)
static bool exe_data(const struct cp_core *core, const struct cp_segment *s)
{
	uint64_t entry, end = 0;
	const struct cp_mapping *e;

	if (!(s->flags & PF_W) || !cp_core_auxv(core, AT_ENTRY, &entry) || !(e = cp_core_mapping_at(core, entry)))
		return false;
	for (size_t i = 0; i < core->n_maps; i++)
		if (strcmp(core->maps[i].path, e->path) == 0 && core->maps[i].end > end)
			end = core->maps[i].end;
	const struct cp_mapping *m = cp_core_mapping_at(core, s->vaddr);
	return s->vaddr == end || (m && strcmp(m->path, e->path) == 0);
}

/* Decide what of a stream is worth keeping: see the comment at the top of core.h. */
static void choose_kept(struct cp_core *core, const struct cp_core_config *cfg)
{
	uint64_t total = 0, v;
	/* The DAC reads the runtime's data and the GC heap: all of it, within a budget. */
	uint64_t keep_all = cp_core_is_dotnet(core) && cfg->max_keep_dotnet > cfg->keep_all_below ?
			    cfg->max_keep_dotnet : cfg->keep_all_below;

	for (size_t i = 0; i < core->n_segs; i++)
		total += core->segs[i].filesz > keep_all ? keep_all : core->segs[i].filesz;
	if (total > keep_all && keep_all > cfg->keep_all_below)
		cp_core_problem(core, "a .NET process with %llu bytes of memory, over the %llu kept: managed frames may be missing",
				(unsigned long long)total, (unsigned long long)keep_all);
	for (size_t i = 0; i < core->n_segs; i++) {
		struct cp_segment *s = &core->segs[i];
		if (total <= keep_all || s->filesz <= SMALL_SEGMENT) {
			keep_range(s, 0, s->filesz);
			continue;
		}
		if (exe_data(core, s))
			keep_range(s, 0, EXE_DATA_MAX);
		for (size_t t = 0; t < core->n_threads; t++) {
			uint64_t sp = core->threads[t].regs.rsp;
			if (sp < s->vaddr || sp - s->vaddr >= s->filesz)
				continue;
			uint64_t lo = sp - s->vaddr > RED_ZONE ? sp - s->vaddr - RED_ZONE : 0;
			keep_range(s, lo, lo + cfg->max_stack);
		}
		/* The main thread's stack top (argv, environment, auxv) and, when it runs on an
		 * alternate signal stack, the stack it was interrupted on. */
		if (cp_core_auxv(core, AT_RANDOM, &v) && v >= s->vaddr && v - s->vaddr < s->filesz)
			keep_range(s, s->filesz > cfg->max_stack ? s->filesz - cfg->max_stack : 0, s->filesz);
	}
}

static bool all_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * Copy a large range through a bounce buffer, leaving out pages of zeros: the kernel
 * sends every untouched page of a thread stack or a heap as zeros (an 871 MB core of a
 * .NET service held 13 MB of data), and a page never written costs no memory.
 */
static ssize_t read_sparse(struct cp_core *core, uint64_t off, unsigned char *dst, uint64_t len)
{
	uint64_t done = 0;

	if (!core->bounce && !(core->bounce = aligned_alloc(4096, BOUNCE_SIZE)))
		return -ENOMEM;
	while (done < len) {
		size_t chunk = len - done < BOUNCE_SIZE ? len - done : BOUNCE_SIZE;
		ssize_t n = cp_input_read_at(core->in, off + done, core->bounce, chunk);
		if (n < 0)
			return done ? (ssize_t)done : n;
		for (size_t p = 0; p < (size_t)n; p += 4096) {
			size_t l = (size_t)n - p < 4096 ? (size_t)n - p : 4096;
			if (!all_zero(core->bounce + p, l))
				memcpy(dst + done + p, core->bounce + p, l);
		}
		done += n;
		if ((size_t)n < chunk)
			break;
	}
	return done;
}

static int read_segment_data(struct cp_core *core, struct cp_segment *s)
{
	uint64_t len = s->keep_hi - s->keep_lo;
	bool sparse = len >= SPARSE_FROM;

	/* Page-aligned (see zio.c). A small range is faulted in before the copy, not during
	 * it: the kernel holds the pipe while it copies, and the dying process waits. */
	s->data_len = (len + 4095) & ~(uint64_t)4095;
	s->data = mmap(NULL, s->data_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (sparse ? 0 : MAP_POPULATE), -1, 0);
	if (s->data == MAP_FAILED) {
		s->data = NULL;
		return -ENOMEM;
	}
	ssize_t n = sparse ? read_sparse(core, s->offset + s->keep_lo, s->data, len) :
		    cp_input_read_at(core->in, s->offset + s->keep_lo, s->data, len);
	if (n == -ESPIPE) {
		cp_core_problem(core, "segment at 0x%llx overlaps an earlier one in the stream; its memory is lost",
				(unsigned long long)s->vaddr);
		n = 0;
	}
	if (n < 0)
		return n;
	if ((uint64_t)n < len) {
		cp_core_problem(core, "core is truncated: it ends inside the segment at 0x%llx, after %llu bytes",
				(unsigned long long)s->vaddr, (unsigned long long)cp_input_pos(core->in));
		s->keep_hi = s->keep_lo + n;
		if (n == 0) {
			munmap(s->data, s->data_len);
			s->data = NULL;
			s->keep_hi = s->keep_lo = 0;
		}
		return 1;	/* nothing follows */
	}
	return 0;
}

/* ---- spooling a stream whose notes come after its memory ---- */

#define SPOOL_CHUNK (1u << 20)
#define SPOOL_RESERVE (256ull << 20)	/* free space left to everyone else on the filesystem */
#define SPOOL_STATFS_EVERY (64ull << 20)

/* Would a one-pass read lose memory: does a PT_LOAD's data start before a note ends? */
static bool notes_after_memory(const Elf64_Phdr *ph, size_t phnum)
{
	uint64_t notes_end = 0, first_load = UINT64_MAX;

	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_NOTE && ph[i].p_filesz <= UINT64_MAX - ph[i].p_offset &&
		    ph[i].p_offset + ph[i].p_filesz > notes_end)
			notes_end = ph[i].p_offset + ph[i].p_filesz;
		if (ph[i].p_type == PT_LOAD && ph[i].p_filesz > 0 && ph[i].p_offset < first_load)
			first_load = ph[i].p_offset;
	}
	return first_load < notes_end;
}

/* An unlinked file for the spool in $TMPDIR or /var/tmp: O_TMPFILE, or where the
 * filesystem has none, a mkstemp() name removed at once. */
static int spool_open(const char **dir_ret)
{
	const char *dir = getenv("TMPDIR");

	if (!dir || dir[0] != '/')
		dir = "/var/tmp";
	*dir_ret = dir;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : -errno;
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/crashpipe-core.XXXXXX", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	(void) unlink(path);
	return fd;
}

/* Bytes the spool in @fd may still take: the cap, and the free space above the reserve. */
static uint64_t spool_room(int fd, uint64_t written, uint64_t cap)
{
	struct statvfs sv;
	uint64_t room = cap > written ? cap - written : 0;

	if (fstatvfs(fd, &sv) == 0) {
		uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		avail = avail > SPOOL_RESERVE ? avail - SPOOL_RESERVE : 0;
		if (avail < room)
			room = avail;
	}
	return room;
}

/*
 * Copy the stream @in into a spool file: the ELF header and program headers already read
 * (@eh, @ph) at their offsets, then everything from the stream's position to its end or
 * the room left, pages of zeros left as holes, and the notes even past that room. On success core->spool is the spool, a
 * seekable input. Returns 0; 1 when no spool file could be made (a problem says why; the
 * stream is untouched and read in one pass); or -errno (the stream is spoiled then).
 */
static int spool_stream(struct cp_core *core, struct cp_input *in, const struct cp_core_config *cfg,
			const Elf64_Ehdr *eh, const Elf64_Phdr *ph, size_t phsize)
{
	const char *dir;
	int fd = spool_open(&dir);
	if (fd < 0) {
		cp_core_problem(core, "cannot spool the core (its notes come after its memory) to %s: %s",
				dir, strerror(-fd));
		return 1;
	}
	_cleanup_close_ int spool_fd = fd;
	_cleanup_free_ unsigned char *buf = aligned_alloc(4096, SPOOL_CHUNK);
	if (!buf)
		return -ENOMEM;
	if (pwrite(fd, eh, sizeof(*eh), 0) != (ssize_t)sizeof(*eh) ||
	    pwrite(fd, ph, phsize, eh->e_phoff) != (ssize_t)phsize)
		return errno ? -errno : -EIO;

	uint64_t pos = cp_input_pos(in), end = eh->e_phoff + phsize;
	uint64_t room = spool_room(fd, pos, cfg->max_spool), next_statfs = pos + SPOOL_STATFS_EVERY;
	const char *cut = NULL;
	for (;;) {
		if (pos >= next_statfs) {
			room = spool_room(fd, pos, cfg->max_spool);
			next_statfs = pos + SPOOL_STATFS_EVERY;
		}
		if (room == 0) {
			cut = pos >= cfg->max_spool ? "the spool's size limit" : "free space";
			break;
		}
		size_t want = room < SPOOL_CHUNK ? room : SPOOL_CHUNK;
		ssize_t n = cp_input_read_at(in, pos, buf, want);
		if (n == -EBADMSG) {
			cp_core_problem(core, "corrupt zstd data after offset %llu; memory after it is lost",
					(unsigned long long)pos);
			break;
		}
		if (n < 0)
			return n;
		if (n == 0)
			break;
		for (size_t p = 0; p < (size_t)n; p += 4096) {
			size_t l = (size_t)n - p < 4096 ? (size_t)n - p : 4096;
			if (all_zero(buf + p, l))
				continue;
			ssize_t w = pwrite(fd, buf + p, l, pos + p);
			if (w != (ssize_t)l) {
				if (w < 0 && errno != ENOSPC && errno != EFBIG)
					return -errno;
				n = p;
				cut = "free space";
				break;
			}
		}
		pos += n;
		room -= (uint64_t)n < room ? (uint64_t)n : room;
		if (cut)
			break;
	}
	/* Cut or not, the notes are what the report cannot do without: those past the cut
	 * are read on from the stream (each at most max_notes bytes) and written in. */
	uint64_t cut_at = pos;
	for (size_t i = 0; cut && i < eh->e_phnum; i++) {
		uint64_t off = ph[i].p_offset, len = ph[i].p_filesz;
		if (ph[i].p_type != PT_NOTE || len > cfg->max_notes || len > UINT64_MAX - off ||
		    off + len <= pos)
			continue;
		if (off < pos) {
			len -= pos - off;
			off = pos;
		}
		/* Up to the note within the time a stream is drained for: a writer that never
		 * ends (threats.md T08) must not hold analyze either. */
		uint64_t at = cp_input_pos(in);
		if (off > at && cp_input_drain_max(in, off - at, CP_CORE_DRAIN_SECONDS) != -EFBIG)
			break;
		if (cp_input_pos(in) != off)
			break;
		while (len > 0) {
			ssize_t n = cp_input_read_at(in, off, buf, len < SPOOL_CHUNK ? len : SPOOL_CHUNK);
			if (n == -ESPIPE)
				break;	/* overlaps another note read before: a hostile layout */
			if (n <= 0 || pwrite(fd, buf, n, off) != n)
				break;
			off += n;
			len -= n;
			if (off > end)
				end = off;
		}
	}
	if (pos < end)
		pos = end;
	if (ftruncate(fd, pos) < 0)
		return -errno;
	if (cut)
		cp_core_problem(core, "the core, spooled to %s because its notes come after its memory, was cut at %llu bytes (%s); its notes were kept",
				dir, (unsigned long long)cut_at, cut);
	struct cp_input *sin;
	int r = cp_input_open(fd, &sin);
	if (r < 0)
		return r;
	spool_fd = -1;
	core->spool = sin;
	return 0;
}

int cp_core_read_head(struct cp_input *in, const struct cp_core_config *cfg,
		      struct cp_core **ret, const char **error_ret)
{
	const char *dummy;
	const char **err = error_ret ? error_ret : &dummy;
	Elf64_Ehdr eh;

	ssize_t n = cp_input_read_at(in, 0, &eh, sizeof(eh));
	if (n < 0) {
		*err = n == -EBADMSG ? "corrupt zstd data" : "cannot read the ELF header";
		return n;
	}
	if ((size_t)n < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		*err = "not an ELF file";
		return -EINVAL;
	}
	if ((size_t)n < sizeof(eh)) {
		*err = "truncated inside the ELF header";
		return -EINVAL;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
		*err = "not a 64-bit ELF file";
		return -EINVAL;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		*err = "not a little-endian ELF file";
		return -EINVAL;
	}
	if (eh.e_type != ET_CORE) {
		*err = "an ELF file, but not a core dump";
		return -EINVAL;
	}
	if (eh.e_machine != EM_X86_64) {
		*err = "not an x86_64 core (only x86_64 is supported)";
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
		*err = "program header entries have the wrong size";
		return -EINVAL;
	}
	if (eh.e_phnum == 0) {
		*err = "no program headers";
		return -EINVAL;
	}
	if (eh.e_phnum == PN_XNUM) {
		*err = "more than 65534 segments (PN_XNUM) is not supported";
		return -EINVAL;
	}
	if (eh.e_phoff < sizeof(eh) || eh.e_phoff > UINT64_MAX / 2) {
		*err = "program header offset is out of range";
		return -EINVAL;
	}

	_cleanup_(cp_core_destroyp) struct cp_core *core = calloc(1, sizeof(*core));
	if (!core)
		return -ENOMEM;
	core->in = in;

	size_t phsize = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	_cleanup_free_ Elf64_Phdr *ph = malloc(phsize);
	if (!ph)
		return -ENOMEM;
	n = cp_input_read_at(in, eh.e_phoff, ph, phsize);
	if (n < 0) {
		*err = n == -ESPIPE ? "program headers before the ELF header's end" :
		       n == -EBADMSG ? "corrupt zstd data" : "cannot read the program headers";
		return n;
	}
	if ((size_t)n < phsize) {
		*err = "truncated inside the program headers";
		return -EINVAL;
	}

	if (cfg->spool && !cp_input_seekable(in) && notes_after_memory(ph, eh.e_phnum)) {
		int r = spool_stream(core, in, cfg, &eh, ph, phsize);
		if (r < 0) {
			*err = "cannot spool a core whose notes come after its memory";
			return r;
		}
		if (r == 0)
			core->in = in = core->spool;
	}

	/* A file's size bounds every offset; a stream's is known only at its end. */
	uint64_t file_size = cp_input_size(in);

	/* Segments, in file order for a single pass. */
	core->segs = calloc(eh.e_phnum, sizeof(*core->segs));
	_cleanup_free_ Elf64_Phdr **notes = calloc(eh.e_phnum, sizeof(*notes));
	size_t n_notes = 0;
	size_t n_truncated = 0;
	if (!core->segs || !notes)
		return -ENOMEM;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_NOTE) {
			notes[n_notes++] = p;
			continue;
		}
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > UINT64_MAX - p->p_offset || p->p_filesz > p->p_memsz ||
		    p->p_memsz > UINT64_MAX - p->p_vaddr) {
			cp_core_problem(core, "segment %zu (vaddr 0x%llx) has impossible sizes; ignored", i,
					(unsigned long long)p->p_vaddr);
			continue;
		}
		if (p->p_offset + p->p_filesz > file_size)
			n_truncated++;
		struct cp_segment *s = &core->segs[core->n_segs++];
		s->vaddr = p->p_vaddr;
		s->memsz = p->p_memsz;
		s->filesz = p->p_filesz;
		s->offset = p->p_offset;
		s->flags = p->p_flags;
	}
	if (n_notes == 0) {
		*err = "no PT_NOTE segment (no threads, no registers)";
		return -EINVAL;
	}

	/* Notes come first in every core the kernel writes; read them all, in file order. */
	for (size_t i = 0; i < n_notes; i++)
		for (size_t j = i + 1; j < n_notes; j++)
			if (notes[j]->p_offset < notes[i]->p_offset) {
				Elf64_Phdr *t = notes[i];
				notes[i] = notes[j];
				notes[j] = t;
			}
	for (size_t i = 0; i < n_notes; i++) {
		Elf64_Phdr *p = notes[i];
		if (p->p_filesz > cfg->max_notes || p->p_filesz > cfg->max_notes - core->notes_len) {
			cp_core_problem(core, "PT_NOTE segment of %llu bytes is over the %llu-byte limit; skipped",
					(unsigned long long)p->p_filesz, (unsigned long long)cfg->max_notes);
			continue;
		}
		unsigned char *b = realloc(core->notes, core->notes_len + p->p_filesz + 1);
		if (!b)
			return -ENOMEM;
		core->notes = b;
		n = cp_input_read_at(in, p->p_offset, b + core->notes_len, p->p_filesz);
		if (n == -ESPIPE) {
			cp_core_problem(core, "PT_NOTE segment lies before the program headers in the stream; skipped");
			continue;
		}
		if (n < 0) {
			*err = n == -EBADMSG ? "corrupt zstd data in the notes" : "cannot read the notes";
			return n;
		}
		if ((uint64_t)n < p->p_filesz)
			cp_core_problem(core, "core ends inside its notes (%zd of %llu bytes)", n,
					(unsigned long long)p->p_filesz);
		size_t start = core->notes_len;
		size_t *segs = realloc(core->note_segs, (core->n_note_segs + 1) * sizeof(*segs));
		if (!segs)
			return -ENOMEM;
		core->note_segs = segs;
		segs[core->n_note_segs++] = start;
		core->notes_len += n;
		parse_notes(core, start);
	}
	if (core->n_threads == 0) {
		*err = "no NT_PRSTATUS note: the core holds no thread";
		return -EINVAL;
	}
	find_crashed(core);

	if (n_truncated)
		cp_core_problem(core, "core is truncated: %zu of %zu segments end beyond its %llu bytes",
				n_truncated, core->n_segs, (unsigned long long)file_size);
	qsort(core->segs, core->n_segs, sizeof(*core->segs), cmp_by_vaddr);
	/* The kernel writes NT_FILE in address order already; a hostile core may not. */
	if (core->maps)
		qsort(core->maps, core->n_maps, sizeof(*core->maps), cmp_map_start);

	*ret = TAKE_PTR(core);
	return 0;
}

int cp_core_read_rest(struct cp_core *core, const struct cp_core_config *cfg)
{
	struct cp_input *in = core->in;
	int r;

	/* A seekable core is read in place later; a stream keeps what it must now. */
	if (!in || cp_input_seekable(in))
		return 0;
	_cleanup_free_ struct cp_segment **order = calloc(core->n_segs + 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	choose_kept(core, cfg);
	for (size_t i = 0; i < core->n_segs; i++)
		order[i] = &core->segs[i];
	qsort(order, core->n_segs, sizeof(*order), cmp_by_offset);
	for (size_t i = 0; i < core->n_segs; i++) {
		struct cp_segment *s = order[i];
		if (s->keep_hi <= s->keep_lo)
			continue;
		r = read_segment_data(core, s);
		if (r == -EBADMSG) {
			cp_core_problem(core, "corrupt zstd data after offset %llu; memory after it is lost",
					(unsigned long long)cp_input_pos(in));
			break;
		}
		if (r < 0)
			return r;
		if (r > 0)
			break;
	}
	/* Up to the end of the last segment the headers name, no further: what follows (a
	 * writer that never stops, threats.md T08) is the caller's to drain within bounds. */
	uint64_t end = 0, pos = cp_input_pos(in);
	for (size_t i = 0; i < core->n_segs; i++) {
		const struct cp_segment *s = &core->segs[i];
		if (s->offset + s->filesz >= s->offset && s->offset + s->filesz > end)
			end = s->offset + s->filesz;
	}
	r = end > pos ? cp_input_drain_max(in, end - pos, CP_CORE_DRAIN_SECONDS) : 0;
	if (r < 0 && r != -EBADMSG && r != -EFBIG)
		return r;
	core->size = cp_input_pos(in);
	core->in = NULL;
	return 0;
}

void cp_core_drop_input(struct cp_core *core)
{
	if (core->in != core->spool)
		core->in = NULL;
}

int cp_core_read(struct cp_input *in, const struct cp_core_config *cfg,
		 struct cp_core **ret, const char **error_ret)
{
	struct cp_core *core;
	int r = cp_core_read_head(in, cfg, &core, error_ret);

	if (r < 0)
		return r;
	r = cp_core_read_rest(core, cfg);
	if (r < 0) {
		if (error_ret)
			*error_ret = NULL;
		cp_core_destroy(core);
		return r;
	}
	*ret = core;
	return 0;
}

ssize_t cp_core_read_mem(struct cp_core *core, uint64_t addr, void *buf, size_t len)
{
	const struct cp_segment *s = cp_core_segment_at(core, addr);
	if (!s)
		return 0;
	uint64_t rel = addr - s->vaddr;
	if (rel >= s->filesz)
		return 0;
	if (len > s->filesz - rel)
		len = s->filesz - rel;

	if (core->in) {
		ssize_t n = cp_input_read_at(core->in, s->offset + rel, buf, len);
		return n;
	}
	if (!s->data || rel < s->keep_lo || rel >= s->keep_hi)
		return 0;
	if (len > s->keep_hi - rel)
		len = s->keep_hi - rel;
	memcpy(buf, s->data + (rel - s->keep_lo), len);
	return len;
}

/* A core of notes only: ELF header, one PT_NOTE header, the notes minus NT_FILE. */
int cp_core_write_notes(const struct cp_core *core, int fd)
{
	/* Each note is at least 12 bytes and gains at most 3 of padding. */
	_cleanup_free_ unsigned char *out = calloc(1, core->notes_len + core->notes_len / 4 + 4);
	size_t len = 0;

	if (!out)
		return -ENOMEM;
	/* The notes the reader parsed, segment by segment as it did, each padded whole: the
	 * notes core must read back as the same threads. */
	for (size_t i = 0; i < core->n_note_segs; i++) {
		size_t end = i + 1 < core->n_note_segs ? core->note_segs[i + 1] : core->notes_len;
		struct cp_elfnote_iter it;
		struct cp_elfnote note;
		cp_elfnote_iter_init(&it, core->notes, end, core->note_segs[i], 4);
		while (cp_elfnote_next(&it, &note, NULL) > 0)
			/* Not NT_FILE, nor a thread that parse_prstatus() skipped:
			 * libunwind-coredump copies a whole elf_prstatus out of every
			 * NT_PRSTATUS note, however short (a hostile core's read out of
			 * bounds, found by fuzz-analyze). */
			if (note.type != NT_FILE &&
			    !(note.type == NT_PRSTATUS && note.descsz < sizeof(struct elf_prstatus))) {
				memcpy(out + len, core->notes + note.offset, note.end - note.offset);
				len = (len + note.end - note.offset + 3) & ~(size_t)3;
			}
	}

	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1,
	};
	Elf64_Phdr ph = {
		.p_type = PT_NOTE, .p_offset = sizeof(eh) + sizeof(ph), .p_filesz = len, .p_align = 4,
	};
	if (pwrite(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    pwrite(fd, &ph, sizeof(ph), sizeof(eh)) != sizeof(ph) ||
	    pwrite(fd, out, len, sizeof(eh) + sizeof(ph)) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}
