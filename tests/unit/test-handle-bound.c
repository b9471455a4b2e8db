/*
 * test-handle-bound.c - what the root parent of `crashpipe handle` may spend on what its
 * analysis child sends (issue 7, finding 3: 30 MiB of injected JSON took the root handler to
 * 885 MB).
 *
 * The parent reads at most CP_HANDLE_CHILD_JSON_MAX bytes and parses them with
 * cp_report_parse(). Each hostile input below, at most that size, is parsed in a child
 * process of its own that measures its peak RSS (ru_maxrss) before and after: the growth
 * must stay under PARSE_BOUND, the bound handle.h states. The inputs are the costly shapes
 * for a JSON tree: the most values the reader admits, the longest strings, the most frames,
 * the deepest nesting, and what it must refuse outright (more values, two values, garbage
 * after one).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handle.h"
#include "report.h"
#include "unit.h"

#define HEAD "{\"schema\":\"crashpipe/1\","

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* Fill up to @max bytes with @item separated by commas, leaving room for @tail. */
static void fill(struct buf *b, const char *item, size_t max_items, size_t max, const char *tail)
{
	size_t il = strlen(item) + 1, tl = strlen(tail);
	for (size_t i = 0; i < max_items && b->len + il + tl < max; i++) {
		if (i)
			put(b, ",");
		put(b, item);
	}
	put(b, tail);
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Parse @b in a child; returns the growth of its peak RSS in KiB, with *@ok whether the
 * parse succeeded. */
static long parse_cost(const char *what, const struct buf *b, bool *ok)
{
	int pfd[2];
	long res[2] = { -1, 0 };

	if (pipe(pfd) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		struct cp_report *r = NULL;
		const char *why = NULL;
		long before = maxrss_kb();
		int ret = cp_report_parse(b->s, b->len, &r, &why);
		long out[2] = { maxrss_kb() - before, ret == 0 };
		(void) !write(pfd[1], out, sizeof(out));
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], res, sizeof(res)) != sizeof(res))
		res[0] = -1;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	*ok = res[1];
	printf("%-28s %9zu bytes: %s, peak RSS +%ld KiB\n", what, b->len, *ok ? "accepted" : "refused", res[0]);
	return res[0];
}

int main(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* ASan's redzones, shadow and quarantine are part of every peak RSS: what is measured
	 * is no longer the parser's cost. The parser's memory errors are the ASan suite's job
	 * (test-report, fuzz-report). */
	printf("SKIP: peak RSS is not the parser's cost in an AddressSanitizer build\n");
	return 77;
#endif
	const size_t max = CP_HANDLE_CHILD_JSON_MAX;
	const long bound_kb = CP_HANDLE_PARSE_BOUND >> 10;
	long worst = 0, cost;
	bool ok;
	char item[4096];

	/* The most values the reader admits, in an unknown field. */
	struct buf a = { 0 };
	put(&a, HEAD "\"x\":[");
	fill(&a, "0", CP_REPORT_MAX_VALUES - 8, max, "]}");
	cost = parse_cost("most values", &a, &ok);
	CHECK(cost >= 0 && cost < bound_kb);
	worst = cost > worst ? cost : worst;

	/* More values than that: refused before a tree is built. */
	struct buf b = { 0 };
	put(&b, HEAD "\"x\":[");
	fill(&b, "0", SIZE_MAX, max, "]}");
	cost = parse_cost("too many values", &b, &ok);
	CHECK(!ok);
	CHECK(cost >= 0 && cost < bound_kb);
	worst = cost > worst ? cost : worst;

	/* The most values as objects (a key and a value each). */
	struct buf c = { 0 };
	put(&c, HEAD "\"x\":[");
	fill(&c, "{\"a\":0}", CP_REPORT_MAX_VALUES / 2 - 8, max, "]}");
	cost = parse_cost("most objects", &c, &ok);
	CHECK(cost >= 0 && cost < bound_kb);
	worst = cost > worst ? cost : worst;

	/* Long strings: notes, kept in the report too. */
	memset(item, 'n', sizeof(item));
	item[0] = '"';
	item[sizeof(item) - 2] = '"';
	item[sizeof(item) - 1] = '\0';
	struct buf d = { 0 };
	put(&d, HEAD "\"notes\":[");
	fill(&d, item, SIZE_MAX, max, "]}");
	cost = parse_cost("long notes", &d, &ok);
	CHECK(ok);
	CHECK(cost >= 0 && cost < bound_kb);
	worst = cost > worst ? cost : worst;

	/* Frames: each becomes a struct cp_frame with its strings. */
	struct buf e = { 0 };
	put(&e, HEAD "\"threads\":[{\"tid\":1,\"frames\":[");
	fill(&e, "{\"ip\":\"0x1\",\"sp\":\"0x2\",\"kind\":\"native\",\"module\":\"/m\",\"function\":\"f\"}",
	     SIZE_MAX, max, "]}]}");
	cost = parse_cost("most frames", &e, &ok);
	CHECK(cost >= 0 && cost < bound_kb);
	worst = cost > worst ? cost : worst;

	/* Deep nesting, and two values, and garbage after one: refused. */
	struct buf f = { 0 };
	put(&f, HEAD "\"x\":");
	for (int i = 0; i < 100000; i++)
		put(&f, "[");
	for (int i = 0; i < 100000; i++)
		put(&f, "]");
	put(&f, "}");
	parse_cost("deep nesting", &f, &ok);
	CHECK(!ok);
	struct buf g = { 0 };
	put(&g, HEAD "\"notes\":[]}" HEAD "\"notes\":[\"forged\"]}");
	parse_cost("two values", &g, &ok);
	CHECK(!ok);
	struct buf h = { 0 };
	put(&h, HEAD "\"notes\":[]} x");
	parse_cost("garbage after one value", &h, &ok);
	CHECK(!ok);

	printf("worst: +%ld KiB for at most %zu bytes of JSON; bound %ld KiB\n", worst, max, bound_kb);
	return UNIT_DONE();
}
