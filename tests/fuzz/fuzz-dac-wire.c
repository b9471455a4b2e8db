/*
 * fuzz-dac-wire.c - libFuzzer target for the parser of the DAC wire protocol (dac/wire.c):
 * the bytes a hostile DAC's process could send its parent. The parser must never crash,
 * read out of bounds, leak or take more than its bounds; and what it accepts must satisfy
 * the limits it was given (checked here, so a bound that is not enforced is a crash).
 *
 * Build alone: clang -g -O1 -fsanitize=fuzzer,address,undefined -include config.h -Isrc -Idac
 *              dac/wire.c tests/fuzz/fuzz-dac-wire.c
 * Seeds: tests/fuzz/corpus/dac-wire/ (written by tests/unit/test-dacwire --write-seeds).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pid_t tids[] = { 100, 101, 102, 103, 1, 2 };
	const struct cp_wire_limits lim = { .tids = tids, .n_tids = 6, .max_frames = 64 };
	struct cp_wire_result r;

	if (cp_wire_parse(data, size, &lim, &r) < 0)
		return 0;
	if (r.n_threads > lim.n_tids)
		abort();
	for (size_t i = 0; i < r.n_threads; i++) {
		const struct cp_wire_thread *t = &r.threads[i];
		if (t->n_frames > lim.max_frames || t->n_exceptions > CP_WIRE_MAX_EXCEPTIONS)
			abort();
		for (size_t j = 0; j < t->n_exceptions; j++) {
			const struct cp_wire_exception *e = &t->exceptions[j];
			if ((j == 0) != (e->parent == CP_WIRE_NO_PARENT) || (j > 0 && e->parent >= j) ||
			    e->depth >= CP_WIRE_MAX_EXCEPTION_DEPTH || e->n_frames > lim.max_frames)
				abort();
			for (size_t k = 0; k < e->n_frames; k++)
				if (e->frames[k].segment > k)
					abort();
		}
		for (size_t j = i + 1; j < r.n_threads; j++)
			if (r.threads[j].tid == t->tid)
				abort();
		for (size_t j = 0; j < t->n_frames; j++) {
			const struct cp_wire_frame *f = &t->frames[j];
			if (f->kind != 'm' && f->kind != 'r' && f->kind != 'c')
				abort();
			if ((f->name && (strlen(f->name) > CP_WIRE_MAX_STRING ||
					 !cp_wire_utf8_valid((const uint8_t *)f->name, strlen(f->name)))) ||
			    (f->assembly && strlen(f->assembly) > CP_WIRE_MAX_STRING))
				abort();
		}
		/* Folded cycles are whole (inside the frames, disjoint, not cut by OMITTED). */
		size_t end = 0;
		for (size_t j = 0; j < t->n_frames; j++) {
			uint32_t len = t->frames[j].repeat_length;
			if (!len)
				continue;
			if (j < end || len > CP_WIRE_MAX_PERIOD || len > t->n_frames - j ||
			    t->frames[j].repeat_count < 2 || t->frames[j].repeat_count > CP_WIRE_MAX_REPEAT ||
			    (t->n_omitted && t->omitted_after > j && t->omitted_after < j + len))
				abort();
			end = j + len;
		}
		if (t->omitted_after > t->n_frames || t->n_omitted > CP_WIRE_MAX_REPEAT)
			abort();
	}
	if (r.malformed[0] && strlen(r.malformed) >= sizeof(r.malformed))
		abort();
	cp_wire_result_deinit(&r);
	return 0;
}
