#ifndef CP_FOLD_H
#define CP_FOLD_H

/*
 * fold - deep stacks in bounded memory: recursive cycles stored once with a repeat count,
 * and beyond the frame cap the first frames and the last ones kept, with the number of
 * frames left out between them.
 *
 * Frames are pushed one at a time, innermost first, as an unwinder finds them; nothing but
 * a window of CP_FOLD_WINDOW frames, the cycle being counted, and the kept frames (at most
 * the cap) is held at any time, so a walk of a million frames costs the memory of the cap.
 *
 * A cycle is a run of L frames (1 <= L <= CP_FOLD_MAX_PERIOD) that occurs N >= 2 times in
 * a row; frames are the same when the caller's @same says so (function and module, never
 * the ip: one method calling itself from two places is still one cycle). At each position
 * the period that covers the most of the window is taken, the shortest of those on a tie;
 * the cycle then goes on for as long as whole periods match, and is stored as its first L
 * frames with (L, N) on the first one, as the runtime prints "Repeat N times:" and
 * createdump's crash report its "repeated" block.
 *
 * A stack that fits in the cap is kept as it is, every frame with its own ip and line: the
 * first cap frames are only held until one more comes; then the folding starts from the
 * first frame on.
 *
 * The frames that are kept are "units": a single frame, or a cycle's L frames. The first
 * units go to the head while it has room (3/4 of the cap), the rest into a ring of the
 * last units (the other 1/4); a unit pushed out of the ring, or one larger than it, is
 * counted as left out. One gap only: left-out frames always lie between the head and the
 * ring.
 *
 * The items are the caller's (struct cp_frame for the native unwinder, the DAC worker's
 * frames): plain structs of ops->size bytes, moved with memcpy, freed with ops->drop.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CP_FOLD_MAX_PERIOD 16u
#define CP_FOLD_WINDOW (4u * CP_FOLD_MAX_PERIOD)

struct cp_fold_ops {
	size_t size;					/* bytes of one item */
	bool (*same)(const void *a, const void *b);	/* the same function: may fold */
	void (*drop)(void *item);			/* free what an item owns (may be NULL) */
};

struct cp_fold;

/* A folder keeping at most @cap items (head 3/4 of it, ring the rest; cap 0 keeps none).
 * NULL on ENOMEM. */
struct cp_fold *cp_fold_create(const struct cp_fold_ops *ops, size_t cap);
/* Free the folder and every item it still holds. NULL is a no-op. */
void cp_fold_destroy(struct cp_fold *f);

/* Take @item (its contents are moved in: the caller must not free them, also on failure).
 * Returns 0 or -ENOMEM. */
int cp_fold_push(struct cp_fold *f, void *item);
/* The same for a frame that is never folded into a cycle (frame 0, where it crashed). */
int cp_fold_push_alone(struct cp_fold *f, void *item);

/* @count frames that were never pushed lie here (a gap in the source, say a peer that left
 * them out already): what was kept so far stays, and the gap joins the left-out frames. */
void cp_fold_gap(struct cp_fold *f, uint64_t count);

/* Push an item that is already a cycle's first frame: @items[0..len-1] occurred @count
 * times (an already folded list being capped again). 0 or -ENOMEM; @items are taken. */
int cp_fold_push_cycle(struct cp_fold *f, void *items, uint32_t len, uint32_t count);

/* No more frames: decide the window. After this only the accessors below are valid. */
int cp_fold_finish(struct cp_fold *f);

/* The kept items in stack order, @i from 0 to cp_fold_count() - 1; *len_ret and
 * *count_ret get the cycle starting at item i (0 and 0: none). */
size_t cp_fold_count(const struct cp_fold *f);
void *cp_fold_item(struct cp_fold *f, size_t i, uint32_t *len_ret, uint32_t *count_ret);
/* Frames pushed in all (cycles and gaps counted in full). */
uint64_t cp_fold_total(const struct cp_fold *f);
/* Frames left out, and after how many of the kept items (both 0: none). */
uint64_t cp_fold_omitted(const struct cp_fold *f, size_t *after_ret);

/* ---- struct cp_frame (report.h) ---- */
struct cp_thread;
extern const struct cp_fold_ops cp_fold_frame_ops;	/* same: kind, function, module */

/* Move what @f kept (struct cp_frame items) to the end of @th's frames, with the repeats,
 * omitted_after/n_omitted (relative to @th's frames) and truncated when any were left out.
 * Destroys @f. Returns 0 or -ENOMEM (the frames taken so far stay in @th). */
int cp_fold_to_thread(struct cp_fold *f, struct cp_thread *th);

/* Cap @th's frames (already folded: repeats and an omission are kept) to @cap items the
 * same way: first 3/4, last 1/4, one gap. 0 or -ENOMEM. */
int cp_fold_cap_thread(struct cp_thread *th, size_t cap);

#endif
