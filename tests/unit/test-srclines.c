/*
 * test-srclines.c - cp_srclines_fill() again on a report `crashpipe handle` wrote, and what
 * it costs: run by tests/run-dotnet-srclines.sh on the reports of real crashes.
 *
 *   test-srclines REPORT.json [ROUNDS]
 *
 * Every managed frame's file and line are cleared and filled again from the same
 * assemblies and PDBs (the host's root): they must come back exactly as the handler's
 * analysis child wrote them, and at least one frame must have a line. Then the time of a
 * whole pass (create, fill, destroy: what one analysis adds) is measured cold (the page
 * cache of every assembly and PDB the frames name dropped first, with
 * posix_fadvise(DONTNEED)) and warm, ROUNDS times each (default 5); the figures printed
 * are the medians, with the peak RSS.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fsopen.h"
#include "report.h"
#include "srclines.h"
#include "unit.h"

struct saved {
	char *file;
	int line;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

/* Each managed frame of the threads and of the exceptions' stacks, in a fixed order. */
static size_t frames_of(struct cp_report *r, struct cp_frame **out, size_t cap)
{
	size_t n = 0;
	for (size_t t = 0; t < r->n_threads; t++) {
		struct cp_thread *th = &r->threads[t];
		for (size_t i = 0; i < th->n_frames; i++)
			if (th->frames[i].kind == CP_FRAME_MANAGED && n < cap)
				out[n++] = &th->frames[i];
		struct cp_exception *stack[64];
		size_t ns = 0;
		if (th->exception)
			stack[ns++] = th->exception;
		while (ns) {
			struct cp_exception *e = stack[--ns];
			for (size_t i = 0; i < e->n_stack; i++)
				if (e->stack[i].kind == CP_FRAME_MANAGED && n < cap)
					out[n++] = &e->stack[i];
			for (size_t i = 0; i < e->n_inners && ns < 64; i++)
				stack[ns++] = e->inners[i];
		}
	}
	return n;
}

static void drop_cache(struct cp_frame **f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!f[i]->assembly)
			continue;
		char pdb[4200];
		const char *paths[2] = { f[i]->assembly, pdb };
		snprintf(pdb, sizeof(pdb), "%s", f[i]->assembly);
		char *dot = strrchr(pdb, '.');
		if (dot)
			strcpy(dot, ".pdb");
		for (int k = 0; k < 2; k++) {
			int fd = open(paths[k], O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				(void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
				close(fd);
			}
		}
	}
}

static double one_pass(int rootfd, struct cp_report *r)
{
	double t0 = now_ms();
	struct cp_srclines *s = cp_srclines_create(rootfd, NULL);
	CHECK(s && cp_srclines_fill(s, r) == 0);
	cp_srclines_destroy(s);
	return now_ms() - t0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		/* make check runs it bare: the real run is tests/run-dotnet-srclines.sh's */
		printf("SKIP: needs a report from tests/run-dotnet-srclines.sh\n");
		return 77;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (rounds < 1 || rounds > 100)
		rounds = 5;
	struct cp_report *r;
	const char *why = NULL;
	if (cp_report_load(argv[1], &r, &why) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], why ? why : "unreadable");
		return 99;
	}
	static struct cp_frame *f[1 << 16];
	static struct saved saved[1 << 16];
	size_t n = frames_of(r, f, 1 << 16), with_line = 0;
	for (size_t i = 0; i < n; i++) {
		saved[i].file = f[i]->file ? strdup(f[i]->file) : NULL;
		saved[i].line = f[i]->line;
		with_line += f[i]->line > 0;
	}
	CHECK(with_line > 0);
	int rootfd = cp_open_root("/");
	CHECK(rootfd >= 0);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long rss_before = ru.ru_maxrss;
	double cold[100], warm[100];
	for (int k = 0; k < rounds; k++) {
		for (size_t i = 0; i < n; i++) {
			free(f[i]->file);
			f[i]->file = NULL;
			f[i]->line = 0;
		}
		drop_cache(f, n);
		cold[k] = one_pass(rootfd, r);
		for (size_t i = 0; i < n; i++) {
			bool same = (saved[i].file ? f[i]->file && !strcmp(saved[i].file, f[i]->file) : !f[i]->file) &&
				    saved[i].line == f[i]->line;
			if (!same)
				fprintf(stderr, "frame %zu %s: handler %s:%d, again %s:%d\n", i, f[i]->function,
					saved[i].file, saved[i].line, f[i]->file, f[i]->line);
			CHECK(same);
		}
		warm[k] = one_pass(rootfd, r);
	}
	qsort(cold, rounds, sizeof(double), cmp);
	qsort(warm, rounds, sizeof(double), cmp);
	getrusage(RUSAGE_SELF, &ru);
	printf("srclines: %zu managed frames, %zu with a line; one pass: cold %.2f ms, warm %.2f ms "
	       "(median of %d); peak RSS %ld KiB (+%ld KiB for the passes)\n", n, with_line, cold[rounds / 2],
	       warm[rounds / 2], rounds, ru.ru_maxrss, ru.ru_maxrss - rss_before);
	for (size_t i = 0; i < n; i++)
		free(saved[i].file);
	close(rootfd);
	cp_report_destroy(r);
	return UNIT_DONE();
}
