#ifndef CP_GATE_H
#define CP_GATE_H

/*
 * gate - the analysis slots every `crashpipe handle` on the machine shares, so that a burst of
 * crashes costs the machine a bounded load: at most max_analyses analyses at once, and at
 * most max_memory bytes for them together.
 *
 * A slot is a file, CP_GATE_DIR/slot.K (K < max_analyses), held with flock(LOCK_EX): the
 * kernel drops the lock when its holder exits, however it ends, so a handler that is killed
 * never leaks a slot. The memory budget is shared out over the slots: each slot stands for
 * max_memory / max_analyses bytes, and an analysis that needs more holds as many slots as
 * its memory needs (all of them at most: then it runs alone). Slots are taken in ascending
 * order when more than one is needed, so two large analyses cannot deadlock.
 *
 * The directory is root's only (mode 0700, owned by the caller), made and opened below
 * /run/crashpipe without following any link; the slot files in it are opened the same way.
 */

#include <stdbool.h>
#include <stdint.h>

#define CP_GATE_DIR "/run/crashpipe/gate"

/* What an analysis is assumed to need beside the memory its handler kept of the core: the
 * analysis child's own libraries and tables (14-20 MB peak measured for native and .NET
 * crashes, bench/README), with room to spare. */
#define CP_GATE_ANALYSIS_BASE (48ull << 20)

/* The most slots there may be; a larger --max-analyses is cut to this. */
#define CP_GATE_MAX_SLOTS 256

struct cp_gate {
	int dir_fd;			/* of CP_GATE_DIR, or -1 */
	unsigned n_slots;		/* max_analyses */
	uint64_t slot_bytes;		/* max_memory / max_analyses */
	unsigned n_held;
	int held[CP_GATE_MAX_SLOTS];	/* fds of the slot files held, flock'ed */
};

#define CP_GATE_NULL { .dir_fd = -1 }

/* The defaults: the number of CPUs online, and a quarter of MemTotal (at least
 * CP_GATE_ANALYSIS_BASE per slot). */
unsigned cp_gate_default_analyses(void);
uint64_t cp_gate_default_memory(unsigned n_slots);

/* Parse the value of --max-analyses (a whole number) or, with @suffixes, of --max-memory
 * (cp_parse_size()'s sizes, retention.h: bytes, or with a suffix K, M, G, T, powers of 1024;
 * not "auto"). Returns 0 or -EINVAL. */
int cp_gate_parse_size(const char *s, bool suffixes, uint64_t *ret);

/* Open (making it when missing) the gate directory @dir with @n_slots slots sharing
 * @max_memory bytes. Returns 0 or -errno (-EPERM: the directory is not ours alone, -ELOOP:
 * a link on the way); then the caller goes on without a gate, and says so. */
int cp_gate_open(struct cp_gate *g, const char *dir, unsigned n_slots, uint64_t max_memory);

/* How many slots an analysis that needs @bytes holds: 1 to n_slots. */
unsigned cp_gate_slots_for(const struct cp_gate *g, uint64_t bytes);

/* Take the slots an analysis of @bytes needs if they are free now, without waiting.
 * Returns 0 (held), -EAGAIN (busy: nothing is held) or another -errno. */
int cp_gate_try(struct cp_gate *g, uint64_t bytes);

/* The same, waiting up to @timeout seconds for them. Returns 0, -ETIMEDOUT (nothing is
 * held) or another -errno. */
int cp_gate_wait(struct cp_gate *g, uint64_t bytes, unsigned timeout);

/* Let the slots go (nothing held is a no-op). */
void cp_gate_release(struct cp_gate *g);

/* Release, and close the directory. */
void cp_gate_close(struct cp_gate *g);

#endif
