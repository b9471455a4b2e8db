/*
 * fold.c - see fold.h. Deep stacks kept in bounded memory: cycles counted, the head and
 * the last frames kept, the rest counted.
 *
 * The two runtimes' own ways, for comparison (dotnet/runtime): the "Stack overflow." text
 * (src/coreclr/vm/eepolicy.cpp, CallStackLogger) looks only for the sequence that starts
 * at the top of the stack and prints it once under "Repeat N times:"; createdump
 * (src/coreclr/debug/createdump/threadinfo.cpp, crashreportwriter.cpp) folds the frames of
 * a stack overflow whose ip was seen before into one "repeated" block. We fold any cycle
 * anywhere in the stack, by function rather than ip, and keep the bottom of the stack,
 * which both of them print.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fold.h"
#include "report.h"

/* Where a kept unit starts: len frames (a cycle's period, or 1) that occurred count times
 * (1 for a single frame). The frames after a unit's first have len 0. */
struct meta {
	uint32_t len, count;
};

struct cp_fold {
	const struct cp_fold_ops *ops;
	size_t head_cap, tail_cap;
	/* frames pushed, not yet decided: a ring of CP_FOLD_WINDOW */
	unsigned char *win;
	size_t win_start, win_n;
	/* the cycle being counted: its first period, owned */
	unsigned char *period;
	uint32_t per_len, per_count;
	unsigned char *one;	/* room for a single frame on its way out of the window */
	/* Until the stack outgrows the cap, its frames are only kept (lossless). */
	bool folding;
	unsigned char *raw;
	bool *raw_alone;
	size_t n_raw, raw_alloc;
	/* the head: the first units, in order */
	unsigned char *head;
	struct meta *head_meta;
	size_t n_head, head_alloc;
	bool head_closed;
	/* the ring of the last units */
	unsigned char *tail;
	struct meta *tail_meta;
	size_t tail_start, n_tail, tail_alloc;
	uint64_t omitted, total;
	size_t omitted_after;
};

static void *at(const struct cp_fold *f, unsigned char *base, size_t i)
{
	return base + i * f->ops->size;
}

static void *win_at(const struct cp_fold *f, size_t i)
{
	return at(f, f->win, (f->win_start + i) % CP_FOLD_WINDOW);
}

static void drop(const struct cp_fold *f, void *item)
{
	if (f->ops->drop)
		f->ops->drop(item);
}

struct cp_fold *cp_fold_create(const struct cp_fold_ops *ops, size_t cap)
{
	struct cp_fold *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->ops = ops;
	f->tail_cap = cap / 4;
	f->head_cap = cap - f->tail_cap;
	f->win = malloc(CP_FOLD_WINDOW * ops->size);
	f->period = malloc(CP_FOLD_MAX_PERIOD * ops->size);
	f->one = malloc(ops->size);
	if (!f->win || !f->period || !f->one) {
		cp_fold_destroy(f);
		return NULL;
	}
	return f;
}

void cp_fold_destroy(struct cp_fold *f)
{
	if (!f)
		return;
	if (f->win)
		for (size_t i = 0; i < f->win_n; i++)
			drop(f, win_at(f, i));
	for (uint32_t i = 0; i < f->per_len; i++)
		drop(f, at(f, f->period, i));
	for (size_t i = 0; i < f->n_raw; i++)
		drop(f, at(f, f->raw, i));
	free(f->raw);
	free(f->raw_alone);
	for (size_t i = 0; i < f->n_head; i++)
		drop(f, at(f, f->head, i));
	for (size_t i = 0; i < f->n_tail; i++)
		drop(f, at(f, f->tail, (f->tail_start + i) % f->tail_alloc));
	free(f->win);
	free(f->period);
	free(f->one);
	free(f->head);
	free(f->head_meta);
	free(f->tail);
	free(f->tail_meta);
	free(f);
}

/* Doubling growth of an item array and its meta to hold @need. */
static int reserve(struct cp_fold *f, unsigned char **items, struct meta **meta, size_t *alloc, size_t need,
		   size_t limit)
{
	if (need <= *alloc)
		return 0;
	size_t n = *alloc ? *alloc : 16;
	while (n < need)
		n *= 2;
	if (n > limit)
		n = limit;
	unsigned char *p = realloc(*items, n * f->ops->size);
	if (!p)
		return -ENOMEM;
	*items = p;
	struct meta *m = realloc(*meta, n * sizeof(*m));
	if (!m)
		return -ENOMEM;
	*meta = m;
	*alloc = n;
	return 0;
}

/* The ring grows (linearised) up to tail_cap. */
static int tail_reserve(struct cp_fold *f, size_t need)
{
	if (need <= f->tail_alloc)
		return 0;
	size_t n = f->tail_alloc ? f->tail_alloc * 2 : 16;
	while (n < need)
		n *= 2;
	if (n > f->tail_cap)
		n = f->tail_cap;
	unsigned char *items = malloc(n * f->ops->size);
	struct meta *meta = malloc(n * sizeof(*meta));
	if (!items || !meta) {
		free(items);
		free(meta);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n_tail; i++) {
		size_t j = (f->tail_start + i) % f->tail_alloc;
		memcpy(items + i * f->ops->size, at(f, f->tail, j), f->ops->size);
		meta[i] = f->tail_meta[j];
	}
	free(f->tail);
	free(f->tail_meta);
	f->tail = items;
	f->tail_meta = meta;
	f->tail_start = 0;
	f->tail_alloc = n;
	return 0;
}

static void close_head(struct cp_fold *f)
{
	if (!f->head_closed) {
		f->head_closed = true;
		f->omitted_after = f->n_head;
	}
}

/* The oldest unit of the ring is left out. */
static void evict(struct cp_fold *f)
{
	struct meta m = f->tail_meta[f->tail_start];
	uint32_t len = m.len ? m.len : 1;

	for (uint32_t i = 0; i < len && f->n_tail; i++) {
		drop(f, at(f, f->tail, f->tail_start));
		f->tail_start = (f->tail_start + 1) % f->tail_alloc;
		f->n_tail--;
	}
	f->omitted += (uint64_t)len * (m.count ? m.count : 1);
}

/* Keep the unit @items[0..k-1] (a cycle of period k occurring @count times, or one
 * frame): in the head while it fits, else in the ring. The items are taken. */
static int place(struct cp_fold *f, const unsigned char *items, uint32_t k, uint32_t count)
{
	size_t size = f->ops->size;
	uint64_t physical = (uint64_t)k * count;

	if (!f->head_closed && f->n_head + k <= f->head_cap) {
		if (reserve(f, &f->head, &f->head_meta, &f->head_alloc, f->n_head + k, f->head_cap) < 0)
			goto fail;
		memcpy(at(f, f->head, f->n_head), items, k * size);
		for (uint32_t i = 0; i < k; i++)
			f->head_meta[f->n_head + i] = (struct meta){ 0, 0 };
		f->head_meta[f->n_head] = (struct meta){ k, count };
		f->n_head += k;
		return 0;
	}
	close_head(f);
	if (k > f->tail_cap) {
		/* Left out with everything before it in the ring: the gap stays one. */
		while (f->n_tail)
			evict(f);
		for (uint32_t i = 0; i < k; i++)
			drop(f, (void *)(items + i * size));
		f->omitted += physical;
		return 0;
	}
	while (f->n_tail + k > f->tail_cap)
		evict(f);
	if (tail_reserve(f, f->n_tail + k) < 0)
		goto fail;
	for (uint32_t i = 0; i < k; i++) {
		size_t j = (f->tail_start + f->n_tail + i) % f->tail_alloc;
		memcpy(at(f, f->tail, j), items + i * size, size);
		f->tail_meta[j] = i ? (struct meta){ 0, 0 } : (struct meta){ k, count };
	}
	f->n_tail += k;
	return 0;
fail:
	for (uint32_t i = 0; i < k; i++)
		drop(f, (void *)(items + i * size));
	f->omitted += physical;
	return -ENOMEM;
}

static int close_cycle(struct cp_fold *f)
{
	uint32_t len = f->per_len;

	if (!len)
		return 0;
	f->per_len = 0;
	return place(f, f->period, len, f->per_count);
}

/* Drop the first @n frames of the window (they were counted in a cycle). */
static void win_consume(struct cp_fold *f, size_t n, bool free_them)
{
	for (size_t i = 0; i < n; i++) {
		if (free_them)
			drop(f, win_at(f, 0));
		f->win_start = (f->win_start + 1) % CP_FOLD_WINDOW;
		f->win_n--;
	}
}

/* Decide the frame at the window's start: it goes on the cycle being counted, starts a
 * new one, or is kept alone. */
static int step(struct cp_fold *f)
{
	size_t size = f->ops->size;

	if (f->per_len) {
		uint32_t len = f->per_len;
		bool whole = f->win_n >= len && f->per_count < UINT32_MAX;
		for (uint32_t i = 0; whole && i < len; i++)
			whole = f->ops->same(win_at(f, i), at(f, f->period, i));
		if (whole) {
			f->per_count++;
			win_consume(f, len, true);
			return 0;
		}
		return close_cycle(f);
	}

	/* The period whose repeats cover the most of the window; the shortest on a tie. */
	size_t best_len = 0, best_reps = 0;
	for (size_t len = 1; len <= CP_FOLD_MAX_PERIOD && 2 * len <= f->win_n; len++) {
		size_t m = len;
		while (m < f->win_n && f->ops->same(win_at(f, m), win_at(f, m - len)))
			m++;
		size_t reps = m / len;
		if (reps >= 2 && reps * len > best_len * best_reps) {
			best_len = len;
			best_reps = reps;
		}
	}
	if (best_len) {
		for (size_t i = 0; i < best_len; i++)
			memcpy(at(f, f->period, i), win_at(f, i), size);
		win_consume(f, best_len, false);
		win_consume(f, (best_reps - 1) * best_len, true);
		f->per_len = (uint32_t)best_len;
		f->per_count = (uint32_t)best_reps;
		return 0;
	}
	memcpy(f->one, win_at(f, 0), size);
	win_consume(f, 1, false);
	return place(f, f->one, 1, 1);
}

/* Everything pushed so far is decided and kept or counted. */
static int drain(struct cp_fold *f)
{
	int r = 0;

	while (f->win_n)
		if (step(f) < 0)
			r = -ENOMEM;
	if (close_cycle(f) < 0)
		r = -ENOMEM;
	return r;
}

static int window_push(struct cp_fold *f, const void *item)
{
	int r = 0;

	/* Closing a cycle decides nothing: step until a frame has left the window. */
	while (f->win_n == CP_FOLD_WINDOW)
		if (step(f) < 0)
			r = -ENOMEM;
	memcpy(win_at(f, f->win_n), item, f->ops->size);
	f->win_n++;
	return r;
}

/* A frame that is never part of a cycle (frame 0: where it crashed). */
static int alone_push(struct cp_fold *f, const void *item)
{
	int r = drain(f);

	memcpy(f->one, item, f->ops->size);
	if (place(f, f->one, 1, 1) < 0)
		r = -ENOMEM;
	return r;
}

/* The stack does not fit: fold from its first frame on. */
static int start_folding(struct cp_fold *f)
{
	int r = 0;

	if (f->folding)
		return 0;
	f->folding = true;
	for (size_t i = 0; i < f->n_raw; i++)
		if ((f->raw_alone[i] ? alone_push(f, at(f, f->raw, i)) : window_push(f, at(f, f->raw, i))) < 0)
			r = -ENOMEM;
	f->n_raw = 0;
	free(f->raw);
	free(f->raw_alone);
	f->raw = NULL;
	f->raw_alone = NULL;
	return r;
}

/* Kept as it is while the stack fits in the cap. */
static int raw_push(struct cp_fold *f, const void *item, bool alone)
{
	if (f->n_raw == f->raw_alloc) {
		size_t n = f->raw_alloc ? f->raw_alloc * 2 : 64;
		if (n > f->head_cap + f->tail_cap)
			n = f->head_cap + f->tail_cap;
		unsigned char *p = realloc(f->raw, n * f->ops->size);
		if (!p)
			return -ENOMEM;
		f->raw = p;
		bool *a = realloc(f->raw_alone, n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		f->raw_alone = a;
		f->raw_alloc = n;
	}
	memcpy(at(f, f->raw, f->n_raw), item, f->ops->size);
	f->raw_alone[f->n_raw++] = alone;
	return 0;
}

static int push(struct cp_fold *f, void *item, bool alone)
{
	int r = 0;

	f->total++;
	if (!f->folding && f->n_raw < f->head_cap + f->tail_cap) {
		r = raw_push(f, item, alone);
		if (r < 0)
			drop(f, item);
		return r;
	}
	if (start_folding(f) < 0)
		r = -ENOMEM;
	if ((alone ? alone_push(f, item) : window_push(f, item)) < 0)
		r = -ENOMEM;
	return r;
}

int cp_fold_push(struct cp_fold *f, void *item)
{
	return push(f, item, false);
}

int cp_fold_push_alone(struct cp_fold *f, void *item)
{
	return push(f, item, true);
}

int cp_fold_push_cycle(struct cp_fold *f, void *items, uint32_t len, uint32_t count)
{
	int r = start_folding(f);

	if (drain(f) < 0)
		r = -ENOMEM;
	f->total += (uint64_t)len * count;
	if (place(f, items, len, count) < 0)
		r = -ENOMEM;
	return r;
}

void cp_fold_gap(struct cp_fold *f, uint64_t count)
{
	(void) start_folding(f);
	(void) drain(f);
	close_head(f);
	while (f->n_tail)
		evict(f);
	f->omitted += count;
	f->total += count;
}

int cp_fold_finish(struct cp_fold *f)
{
	if (!f->folding) {
		/* It all fit: every frame as it was, no cycle. */
		free(f->head);
		free(f->head_meta);
		f->head = TAKE_PTR(f->raw);
		f->n_head = f->head_alloc = f->n_raw;
		f->n_raw = 0;
		f->head_meta = calloc(f->n_head ? f->n_head : 1, sizeof(*f->head_meta));
		if (!f->head_meta) {
			for (size_t i = 0; i < f->n_head; i++)
				drop(f, at(f, f->head, i));
			f->n_head = 0;
			return -ENOMEM;
		}
		f->folding = true;
		return 0;
	}
	return drain(f);
}

size_t cp_fold_count(const struct cp_fold *f)
{
	return f->n_head + f->n_tail;
}

void *cp_fold_item(struct cp_fold *f, size_t i, uint32_t *len_ret, uint32_t *count_ret)
{
	struct meta m;
	void *item;

	if (i < f->n_head) {
		m = f->head_meta[i];
		item = at(f, f->head, i);
	} else {
		size_t j = (f->tail_start + i - f->n_head) % f->tail_alloc;
		m = f->tail_meta[j];
		item = at(f, f->tail, j);
	}
	/* A single frame is no cycle. */
	bool cycle = m.len > 1 || m.count > 1;
	*len_ret = cycle ? m.len : 0;
	*count_ret = cycle ? m.count : 0;
	return item;
}

uint64_t cp_fold_total(const struct cp_fold *f)
{
	return f->total;
}

uint64_t cp_fold_omitted(const struct cp_fold *f, size_t *after_ret)
{
	*after_ret = f->omitted ? f->omitted_after : 0;
	return f->omitted;
}

/* ---- struct cp_frame ---- */

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same function: kind, name and module; without a name, the same place in the same
 * module (or the same ip when no module is known either). */
static bool frame_same(const void *pa, const void *pb)
{
	const struct cp_frame *a = pa, *b = pb;

	if (a->kind != b->kind || !str_same(a->module, b->module))
		return false;
	if (a->function || b->function)
		return str_same(a->function, b->function);
	if (a->module)
		return a->has_module_offset == b->has_module_offset && a->module_offset == b->module_offset;
	return a->ip == b->ip;
}

static void frame_drop(void *p)
{
	cp_frame_deinit(p);
}

const struct cp_fold_ops cp_fold_frame_ops = {
	.size = sizeof(struct cp_frame),
	.same = frame_same,
	.drop = frame_drop,
};

int cp_fold_to_thread(struct cp_fold *f, struct cp_thread *th)
{
	size_t base = th->n_frames, after = 0;
	size_t n = cp_fold_count(f);
	int r = 0;

	uint64_t omitted = cp_fold_omitted(f, &after);
	for (size_t i = 0; i < n; i++) {
		uint32_t len, count;
		struct cp_frame *item = cp_fold_item(f, i, &len, &count);
		struct cp_frame *fr = cp_thread_add_frame(th, item->ip, item->sp);
		if (!fr) {
			r = -ENOMEM;
			cp_frame_deinit(item);
			continue;
		}
		*fr = *item;
		fr->repeat_length = len;
		fr->repeat_count = count;
	}
	/* Every item is the thread's now (or freed). */
	f->n_head = f->n_tail = 0;
	if (omitted) {
		th->omitted_after = base + after;
		th->n_omitted = omitted;
		th->truncated = true;
	}
	cp_fold_destroy(f);
	return r;
}

int cp_fold_cap_thread(struct cp_thread *th, size_t cap)
{
	struct cp_frame *frames = th->frames;
	size_t n = th->n_frames, gap_at = th->n_omitted ? th->omitted_after : SIZE_MAX;
	uint64_t gap = th->n_omitted;
	bool truncated = th->truncated;
	int r = 0;

	struct cp_fold *f = cp_fold_create(&cp_fold_frame_ops, cap);
	if (!f)
		return -ENOMEM;
	th->frames = NULL;
	th->n_frames = 0;
	th->omitted_after = th->n_omitted = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == gap_at)
			cp_fold_gap(f, gap);
		uint32_t len = frames[i].repeat_length, count = frames[i].repeat_count;
		frames[i].repeat_length = frames[i].repeat_count = 0;
		if (len >= 1 && count >= 2 && len <= n - i &&
		    (gap_at <= i || gap_at >= i + len)) {
			if (cp_fold_push_cycle(f, &frames[i], len, count) < 0)
				r = -ENOMEM;
			i += len - 1;
		} else if (cp_fold_push(f, &frames[i]) < 0) {
			r = -ENOMEM;
		}
	}
	if (gap_at == n)
		cp_fold_gap(f, gap);
	free(frames);
	if (cp_fold_finish(f) < 0)
		r = -ENOMEM;
	if (cp_fold_to_thread(f, th) < 0)
		r = -ENOMEM;
	th->truncated = th->truncated || truncated;
	return r;
}
