/*
 * fuzz-fold.c - libFuzzer target for src/fold.c: a stack of any shape (the frames of a
 * crashed process are the attacker's) is folded within its bounds and loses nothing it
 * does not count. Input: byte 0 the cap, then one byte a frame (its function, from a
 * small alphabet so that cycles are common; 0xff: frame pushed alone, 0xfe: a gap).
 * Checked: at most cap frames kept; kept + left out = pushed; with nothing left out, the
 * kept frames expanded are the frames pushed; every frame is freed exactly once.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct item {
	int key;
};

static long live;

static bool same(const void *a, const void *b)
{
	return ((const struct item *)a)->key == ((const struct item *)b)->key;
}

static void drop(void *p)
{
	(void) p;
	live--;
}

static const struct cp_fold_ops ops = { sizeof(struct item), same, drop };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 100000)
		return 0;
	size_t cap = data[0];
	struct cp_fold *f = cp_fold_create(&ops, cap);
	if (!f)
		return 0;
	int *keys = malloc(size * sizeof(*keys));
	size_t n = 0;
	size_t gaps = 0;
	for (size_t i = 1; i < size; i++) {
		struct item it = { data[i] % 7 };
		if (data[i] == 0xfe) {
			cp_fold_gap(f, 3);
			gaps++;
			continue;
		}
		keys[n++] = it.key;
		live++;
		if ((data[i] == 0xff ? cp_fold_push_alone(f, &it) : cp_fold_push(f, &it)) < 0)
			abort();
	}
	if (cp_fold_finish(f) < 0)
		abort();
	size_t after, kept = cp_fold_count(f), phys = 0, pos = 0;
	uint64_t omitted = cp_fold_omitted(f, &after);
	if (kept > cap || after > kept || cp_fold_total(f) != n + 3 * gaps)
		abort();
	bool ok = true;
	for (size_t i = 0; i < kept; i++) {
		uint32_t len, count;
		struct item *it = cp_fold_item(f, i, &len, &count);
		if (!len) {
			ok = ok && (omitted || (pos < n && keys[pos] == it->key));
			pos++, phys++;
			continue;
		}
		if (len > CP_FOLD_MAX_PERIOD || i + len > kept || count < 1 || (after > i && after < i + len))
			abort();
		for (uint32_t c = 0; c < count; c++)
			for (uint32_t j = 0; j < len; j++) {
				uint32_t l2, c2;
				struct item *p = cp_fold_item(f, i + j, &l2, &c2);
				ok = ok && (omitted || (pos < n && keys[pos] == p->key));
				pos++;
			}
		phys += (size_t)len * count;
		i += len - 1;
	}
	if (phys + omitted != cp_fold_total(f) || !ok)
		abort();
	cp_fold_destroy(f);
	if (live != 0)
		abort();
	free(keys);
	return 0;
}
