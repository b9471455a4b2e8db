/*
 * unwind-dwfl.c - libdwfl's unwinder over the modules modules.c reported.
 *
 * dwfl_attach_state() binds our Dwfl_Thread_Callbacks to the modules' Dwfl: one thread
 * (tid 1) whose initial registers are whatever the walk under way starts from, and memory
 * read through struct cp_target (libdwfl never opens or maps anything of the target: the
 * modules' files are the ones modules.c gave it). dwfl_getthread_frames() then unwinds by
 * the module's .eh_frame CFI, else its .debug_frame, else the backend's frame-pointer
 * step (elfutils' backends/x86_64_unwind.c): which one it took is not said, so a frame
 * stepped out of with no CFI covering it is told by looking the CFI up ourselves.
 *
 * libdwfl looks a frame's CFI up at its pc for the initial frame and at pc - 1 for the
 * others; a walk that starts at a return address therefore starts at rip - 1 (the call
 * instruction, whose CFI row is the one in effect for the caller).
 */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>

#include "modules.h"
#include "target.h"
#include "unwind-dwfl.h"

#define THREAD_TID 1

struct cp_dwfl_unwind {
	Dwfl *dwfl;			/* borrowed from the modules */
	struct cp_target *t;
	const struct cp_dwfl_regs *regs;	/* the walk under way: where it starts */
	bool exact;
	bool next_done;			/* next_thread's one thread was given */
};

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	struct cp_dwfl_unwind *d = dwfl_arg;

	if (d->next_done)
		return 0;
	d->next_done = true;
	*thread_argp = d;
	return THREAD_TID;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	if (tid != THREAD_TID)
		return false;
	*thread_argp = dwfl_arg;
	return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
	struct cp_dwfl_unwind *d = dwfl_arg;
	return cp_target_read(d->t, addr, result, sizeof(*result)) == 0;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct cp_dwfl_unwind *d = thread_arg;
	const struct cp_dwfl_regs *r = d->regs;

	if (!r || !(r->have & (1u << CP_DWFL_REG_IP)) || !(r->have & (1u << CP_DWFL_REG_SP)))
		return false;
	for (unsigned i = 0; i < CP_DWFL_NREGS; i++) {
		Dwarf_Word v = r->val[i];
		if (i == CP_DWFL_REG_IP && !d->exact)
			v--;
		if ((r->have & (1u << i)) && !dwfl_thread_state_registers(thread, (int)i, 1, &v))
			return false;
	}
	dwfl_thread_state_register_pc(thread, r->val[CP_DWFL_REG_IP] - !d->exact);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

int cp_dwfl_unwind_create(struct cp_modules *mods, struct cp_target *t, struct cp_dwfl_unwind **ret)
{
	struct cp_dwfl_unwind *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->dwfl = cp_modules_dwfl(mods);
	d->t = t;
	/* No ELF of the core: libdwfl takes the backend from the first module it can read. */
	if (!d->dwfl || !dwfl_attach_state(d->dwfl, NULL, THREAD_TID, &thread_callbacks, d)) {
		free(d);
		return -EINVAL;
	}
	*ret = d;
	return 0;
}

void cp_dwfl_unwind_destroy(struct cp_dwfl_unwind *d)
{
	/* libdwfl keeps its process state until dwfl_end(), with no detach callback: it
	 * never calls back with d once no walk is under way. */
	free(d);
}

static bool has_cfi(Dwfl *dwfl, Dwarf_Addr lookup)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, lookup);
	Dwarf_Addr bias;
	Dwarf_Frame *frame;

	if (!mod)
		return false;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, lookup - bias, &frame) == 0) {
		free(frame);
		return true;
	}
	cfi = dwfl_module_dwarf_cfi(mod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, lookup - bias, &frame) == 0) {
		free(frame);
		return true;
	}
	return false;
}

bool cp_dwfl_unwind_has_cfi(struct cp_dwfl_unwind *d, uint64_t lookup)
{
	return has_cfi(d->dwfl, lookup);
}

struct walk {
	struct cp_dwfl_unwind *d;
	cp_dwfl_frame_fn fn;
	void *arg;
	bool first;
	Dwarf_Addr prev_lookup;		/* where the frame before looks its CFI up */
	bool stopped;
	struct cp_dwfl_regs *last;	/* the last frame fn took */
};

static void frame_regs(Dwfl_Frame *state, struct cp_dwfl_regs *regs)
{
	regs->have = 0;
	for (unsigned i = 0; i < CP_DWFL_NREGS; i++) {
		Dwarf_Word v;
		if (dwfl_frame_reg(state, i, &v) == 0) {
			regs->val[i] = v;
			regs->have |= 1u << i;
		}
	}
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (w->first) {
		w->first = false;
		w->prev_lookup = pc;	/* already rip - 1 for a return address */
		return DWARF_CB_OK;
	}
	if (dwfl_frame_reg(state, CP_DWFL_REG_SP, &sp) != 0)
		return DWARF_CB_ABORT;
	bool by_fp = !has_cfi(w->d->dwfl, w->prev_lookup);
	w->prev_lookup = activation ? pc : pc - 1;
	if (!w->fn(w->arg, pc, sp, activation, by_fp)) {
		w->stopped = true;
		return DWARF_CB_ABORT;
	}
	frame_regs(state, w->last);
	w->last->val[CP_DWFL_REG_IP] = pc;
	w->last->have |= 1u << CP_DWFL_REG_IP;
	return DWARF_CB_OK;
}

int cp_dwfl_unwind_walk(struct cp_dwfl_unwind *d, const struct cp_dwfl_regs *regs, bool exact, cp_dwfl_frame_fn fn,
			void *arg, const char **err, struct cp_dwfl_regs *last)
{
	struct walk w = { .d = d, .fn = fn, .arg = arg, .first = true, .last = last };

	*last = *regs;
	d->regs = regs;
	d->exact = exact;
	int r = dwfl_getthread_frames(d->dwfl, THREAD_TID, frame_cb, &w);
	d->regs = NULL;
	if (w.stopped)
		return 1;
	if (r == 0)
		return 0;
	*err = dwfl_errmsg(-1);
	return -1;
}
