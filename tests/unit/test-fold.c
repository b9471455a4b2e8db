/*
 * test-fold.c - src/fold.c: cycles stored once with their count, the head and the last
 * frames kept beyond the cap, one gap; checked by expanding what was kept back into the
 * sequence that was pushed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "report.h"
#include "unit.h"

struct item {
	int key;
	int seq;	/* position in the input: kept items must be the real ones */
	int *live;	/* counts items alive: every one is dropped exactly once */
};

static int live;

static bool item_same(const void *a, const void *b)
{
	return ((const struct item *)a)->key == ((const struct item *)b)->key;
}

static void item_drop(void *p)
{
	(*((struct item *)p)->live)--;
}

static const struct cp_fold_ops ops = { sizeof(struct item), item_same, item_drop };

/* Fold @keys with @cap; the expansion of the head, the gap and the ring. */
struct result {
	int out[4096];		/* the kept units expanded: cycles N times */
	size_t n_out, n_kept, after;
	uint64_t omitted, total;
	uint32_t len[4096], count[4096];
	int seq[4096];
};

static void fold(const int *keys, size_t n, size_t cap, struct result *res)
{
	struct cp_fold *f = cp_fold_create(&ops, cap);
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		struct item it = { keys[i], (int)i, &live };
		live++;
		CHECK(cp_fold_push(f, &it) == 0);
	}
	CHECK(cp_fold_finish(f) == 0);
	res->n_kept = cp_fold_count(f);
	res->omitted = cp_fold_omitted(f, &res->after);
	res->total = cp_fold_total(f);
	for (size_t i = 0; i < res->n_kept; i++) {
		uint32_t len, count;
		struct item *it = cp_fold_item(f, i, &res->len[i], &res->count[i]);
		res->seq[i] = it->seq;
		len = res->len[i];
		count = res->count[i];
		if (!len) {
			res->out[res->n_out++] = it->key;
			continue;
		}
		CHECK(count >= 2 || len > 1);
		CHECK(i + len <= res->n_kept);
		for (uint32_t c = 0; c < count; c++)
			for (uint32_t j = 0; j < len && res->n_out < 4096; j++) {
				struct item *p = cp_fold_item(f, i + j, &(uint32_t){ 0 }, &(uint32_t){ 0 });
				res->out[res->n_out++] = p->key;
			}
		i += len - 1;
	}
	cp_fold_destroy(f);
}

static void test_plain(void)
{
	int keys[100];
	struct result r;

	for (int i = 0; i < 100; i++)
		keys[i] = i;
	fold(keys, 100, 1024, &r);
	CHECK(r.n_kept == 100 && r.omitted == 0 && r.total == 100);
	CHECK(r.n_out == 100 && memcmp(r.out, keys, sizeof(keys)) == 0);
	CHECK(live == 0);
}

/* One function, 100000 deep: one frame, repeated 100000 times. */
static void test_recursion(void)
{
	static int keys[100003];
	struct result r;

	keys[0] = 7;		/* the frame that faulted */
	for (int i = 1; i <= 100000; i++)
		keys[i] = 1;
	keys[100001] = 2;	/* main */
	keys[100002] = 3;	/* __libc_start_call_main */
	fold(keys, 100003, 1024, &r);
	CHECK(r.n_kept == 4 && r.omitted == 0 && r.total == 100003);
	CHECK(r.len[1] == 1 && r.count[1] == 100000);
	CHECK(r.seq[0] == 0 && r.seq[1] == 1 && r.seq[2] == 100001 && r.seq[3] == 100002);
	CHECK(live == 0);
}

/* A stack overflow in a cycle of four, entered at its third method, above the bottom. */
static void test_cycle(void)
{
	static int keys[4 * 500 + 10];
	static const int cyc[4] = { 30, 40, 10, 20 };
	struct result r;
	size_t n = 0;

	for (int i = 0; i < 500; i++)
		for (int j = 0; j < 4; j++)
			keys[n++] = cyc[j];
	keys[n++] = 30;		/* a partial period, then the bottom */
	keys[n++] = 40;
	keys[n++] = 10;
	keys[n++] = 5;
	keys[n++] = 6;
	fold(keys, n, 1024, &r);
	CHECK(r.n_kept == 9 && r.omitted == 0);
	CHECK(r.len[0] == 4 && r.count[0] == 500);
	CHECK(r.n_out == n && memcmp(r.out, keys, n * sizeof(int)) == 0);
	/* A A B A A B ...: the period of three, not A twice. */
	n = 0;
	for (int i = 0; i < 30; i++) {
		keys[n++] = 1;
		keys[n++] = 1;
		keys[n++] = 2;
	}
	fold(keys, n, 64, &r);
	CHECK(r.n_kept == 3 && r.len[0] == 3 && r.count[0] == 30);
	/* The same 90 frames fit in a cap of 90: kept as they are, no cycle. */
	fold(keys, n, 90, &r);
	CHECK(r.n_kept == 90 && r.omitted == 0 && r.n_out == n && memcmp(r.out, keys, n * sizeof(int)) == 0);
	for (size_t i = 0; i < r.n_kept; i++)
		CHECK(r.len[i] == 0 && r.seq[i] == (int)i);
	CHECK(live == 0);
}

/* 10000 frames that never repeat, a cap of 100: the first 75 and the last 25. */
static void test_cap(void)
{
	static int keys[10000];
	struct result r;

	for (int i = 0; i < 10000; i++)
		keys[i] = i;
	fold(keys, 10000, 100, &r);
	CHECK(r.n_kept == 100 && r.after == 75 && r.omitted == 9900 && r.total == 10000);
	CHECK(r.seq[0] == 0 && r.seq[74] == 74 && r.seq[75] == 9975 && r.seq[99] == 9999);
	/* cap 1: one frame, the rest counted */
	fold(keys, 10000, 1, &r);
	CHECK(r.n_kept == 1 && r.after == 1 && r.omitted == 9999);
	/* cap 0 */
	fold(keys, 10000, 0, &r);
	CHECK(r.n_kept == 0 && r.omitted == 10000);
	CHECK(live == 0);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* Random stacks of a few functions with cycles: what is kept expands to the input (no
 * cap reached), or to its first and last frames with the count between them. */
static void test_random(void)
{
	static int keys[3000];
	struct result r;
	int bad = 0;

	for (int iter = 0; iter < 300; iter++) {
		size_t n = 0, want = rnd() % 3000;
		while (n < want) {
			if (rnd() % 3 == 0) {
				size_t len = 1 + rnd() % 20, reps = 1 + rnd() % 40, base = n;
				for (size_t j = 0; j < len && n < want; j++)
					keys[n++] = (int)(rnd() % 5);
				for (size_t k = 1; k < reps; k++)
					for (size_t j = 0; j < len && n < want; j++)
						keys[n] = keys[base + j], n++;
			} else {
				keys[n++] = (int)(rnd() % 5);
			}
		}
		size_t cap = iter % 2 ? 4096 : 8 + rnd() % 200;
		fold(keys, n, cap, &r);
		if (r.total != n || r.n_kept > cap)
			bad++, fprintf(stderr, "iter %d: total %zu of %zu, %zu kept, cap %zu\n", iter, (size_t)r.total, n, r.n_kept, cap);
		if (!r.omitted) {
			if (r.n_out != n || memcmp(r.out, keys, n * sizeof(int)) != 0)
				bad++, fprintf(stderr, "iter %d: expands to %zu of %zu\n", iter, r.n_out, n);
			continue;
		}
		/* The head expands to the first frames, the ring to the last ones. */
		size_t phys = 0;
		for (size_t i = 0; i < r.after; i++) {
			if (r.len[i]) {
				phys += (size_t)r.len[i] * r.count[i];
				i += r.len[i] - 1;
			} else {
				phys++;
			}
		}
		if (memcmp(r.out, keys, phys * sizeof(int)) != 0)
			bad++, fprintf(stderr, "iter %d: head differs\n", iter);
		size_t tail = r.n_out - phys;
		if (phys + r.omitted + tail != n || memcmp(r.out + phys, keys + n - tail, tail * sizeof(int)) != 0)
		{
			bad++, fprintf(stderr, "iter %d: %zu + %zu + %zu of %zu\n", iter, phys, (size_t)r.omitted, tail, n);
			for (size_t q = 0; q < tail; q++) if (r.out[phys+q] != keys[n-tail+q]) { fprintf(stderr, " first diff at tail %zu\n", q); break; }
			for (size_t q = r.after; q < r.n_kept; q++) fprintf(stderr, " [%d %u %u]", r.seq[q], r.len[q], r.count[q]);
			fprintf(stderr, "\n");
		}
	}
	CHECK(bad == 0);
	CHECK(live == 0);
}

/* struct cp_frame: folded by function and module, not ip; capped again with a gap. */
static void test_frames(void)
{
	struct cp_fold *f = cp_fold_create(&cp_fold_frame_ops, 8);
	struct cp_thread th = { .tid = 1 };

	for (int i = 0; i < 1000; i++) {
		struct cp_frame fr = { .ip = 0x1000 + (i % 2) * 8, .sp = 0x7000 + 32 * i, .kind = CP_FRAME_MANAGED };
		fr.function = strdup(i == 0 ? "Top" : "Recurse");
		fr.module = strdup("App.dll");
		CHECK(cp_fold_push(f, &fr) == 0);
	}
	for (int i = 0; i < 20; i++) {
		struct cp_frame fr = { .ip = 0x2000 + i, .sp = 0x9000 + i * 16, .kind = CP_FRAME_NATIVE };
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		fr.function = strdup(name);
		CHECK(cp_fold_push(f, &fr) == 0);
	}
	CHECK(cp_fold_finish(f) == 0);
	CHECK(cp_fold_to_thread(f, &th) == 0);
	/* Top, Recurse x999, n0..n3 in the head (6 of 8); the ring keeps n18, n19 */
	CHECK(th.n_frames == 8);
	CHECK(th.frames[1].repeat_length == 1 && th.frames[1].repeat_count == 999);
	CHECK(th.frames[1].sp == 0x7000 + 32);
	CHECK(th.omitted_after == 6 && th.n_omitted == 14 && th.truncated);
	CHECK(strcmp(th.frames[6].function, "n18") == 0 && strcmp(th.frames[7].function, "n19") == 0);
	/* Capped to 4: Top, Recurse x999, n0 | n1..n3, the gap, n18 | n19 */
	CHECK(cp_fold_cap_thread(&th, 4) == 0);
	CHECK(th.n_frames == 4 && th.omitted_after == 3 && th.n_omitted == 3 + 14 + 1);
	CHECK(th.frames[1].repeat_count == 999 && strcmp(th.frames[3].function, "n19") == 0);
	for (size_t i = 0; i < th.n_frames; i++)
		cp_frame_deinit(&th.frames[i]);
	free(th.frames);
}

int main(void)
{
	test_plain();
	test_recursion();
	test_cycle();
	test_cap();
	test_random();
	test_frames();
	return UNIT_DONE();
}
