/*
 * inline.c - see inline.h.
 *
 * The DIE walk is the same for one address and for a whole module (the symcache's), so a
 * warm report finds what a cold one does: from each compilation unit down through the
 * DIEs that can hold code (namespaces, subprograms, lexical blocks, inlined subroutines,
 * try and catch blocks), an inlined subroutine's depth counted from the subprogram it is
 * in. For one address only the DIEs whose ranges hold it are entered (libdw's
 * dwarf_haspc); a DIE without ranges (a namespace) is entered always. The DWARF is the
 * crashed machine's and may be hostile: the nesting walked is bounded, every attribute
 * may be missing.
 */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "inline.h"
#include "modules.h"
#include "report.h"

/* Deeper DIE nesting than this is not walked (a real program nests a few dozen). */
#define MAX_NESTING 256

/* ---- DWARF ---- */

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s;

	/* The abstract origin's (and its specification's) names: the concrete inlined
	 * subroutine has none of its own. */
	if ((s = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a))))
		return s;
	if ((s = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))))
		return s;
	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
}

/* The call site of the inlined subroutine @die: DW_AT_call_file indexes its unit's file
 * table (libdw's, with DWARF 5's file 0). */
static void call_site(Dwarf_Die *die, struct cp_inline_call *c)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t n;

	c->name = die_name(die);
	c->call_file = NULL;
	c->call_line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &w) == 0 && w <= INT32_MAX)
		c->call_line = (int)w;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &w) == 0 &&
	    dwarf_diecu(die, &cu, NULL, NULL) && dwarf_getsrcfiles(&cu, &files, &n) == 0 && w < n)
		c->call_file = dwarf_filesrc(files, w, NULL, NULL);
}

static bool holds_code(int tag)
{
	switch (tag) {
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_subprogram:
	case DW_TAG_lexical_block:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_entry_point:
		return true;
	default:
		return false;
	}
}

struct walk {
	bool one;			/* only the DIEs holding addr */
	uint64_t addr;
	struct cp_inline_chain *chain;	/* one: outermost first while walking */
	cp_inline_range_cb cb;
	void *arg;
};

/* The children of @parent; @depth: inlined subroutines around them in their subprogram. */
static int walk_children(struct walk *w, Dwarf_Die *parent, unsigned depth, unsigned nesting)
{
	Dwarf_Die die;

	if (nesting >= MAX_NESTING || dwarf_child(parent, &die) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&die);
		if (!holds_code(tag))
			continue;
		bool ranged = dwarf_hasattr(&die, DW_AT_low_pc) || dwarf_hasattr(&die, DW_AT_ranges);
		if (w->one && ranged && dwarf_haspc(&die, w->addr) <= 0)
			continue;
		unsigned inner = tag == DW_TAG_subprogram ? 0 : depth;
		if (tag == DW_TAG_inlined_subroutine && ranged) {
			struct cp_inline_call c;
			call_site(&die, &c);
			if (w->one) {
				/* Outermost first here; the innermost CP_INLINE_MAX_DEPTH kept. */
				struct cp_inline_chain *ch = w->chain;
				if (ch->n == CP_INLINE_MAX_DEPTH) {
					memmove(ch->calls, ch->calls + 1, (ch->n - 1) * sizeof(ch->calls[0]));
					ch->n--;
				}
				ch->calls[ch->n++] = c;
			} else {
				Dwarf_Addr base, low, high;
				ptrdiff_t off = 0;
				while ((off = dwarf_ranges(&die, off, &base, &low, &high)) > 0) {
					int r = low < high ? w->cb(w->arg, low, high, depth, &c) : 0;
					if (r)
						return r;
				}
			}
			inner = depth + 1;
		}
		int r = walk_children(w, &die, inner, nesting + 1);
		if (r)
			return r;
		/* One address is in one subprogram: the rest of its siblings hold none of it. */
		if (w->one && ranged)
			break;
	} while (dwarf_siblingof(&die, &die) == 0);
	return 0;
}

size_t cp_inline_chain_dwarf(Dwarf_Die *cu, uint64_t addr, struct cp_inline_chain *ret)
{
	struct walk w = { .one = true, .addr = addr, .chain = ret };

	ret->n = 0;
	(void) walk_children(&w, cu, 0, 0);
	/* Innermost first. */
	for (size_t i = 0; i < ret->n / 2; i++) {
		struct cp_inline_call c = ret->calls[i];
		ret->calls[i] = ret->calls[ret->n - 1 - i];
		ret->calls[ret->n - 1 - i] = c;
	}
	return ret->n;
}

int cp_inline_walk(Dwarf *dw, cp_inline_range_cb cb, void *arg)
{
	struct walk w = { .cb = cb, .arg = arg };
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu)) {
			int r = walk_children(&w, &cu, 0, 0);
			if (r)
				return r;
		}
		off = next;
	}
	return 0;
}

/* ---- expansion ---- */

static char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The inline frame for @call's function, at @p's place, with file:line @file, @line. */
static int inline_frame(struct cp_frame *out, const struct cp_frame *p, const struct cp_inline_call *call,
			const char *file, int line)
{
	*out = (struct cp_frame){
		.ip = p->ip, .sp = p->sp, .kind = CP_FRAME_INLINE, .unwinder = p->unwinder,
		.module_offset = p->module_offset, .has_module_offset = p->has_module_offset,
		.line = file ? line : 0,
	};
	out->module = strdup_or_null(p->module);
	out->build_id = strdup_or_null(p->build_id);
	out->function = call->name ? cp_modules_demangle(call->name) : NULL;
	out->file = strdup_or_null(file);
	if ((p->module && !out->module) || (p->build_id && !out->build_id) || (call->name && !out->function) ||
	    (file && !out->file)) {
		cp_frame_deinit(out);
		return -ENOMEM;
	}
	return 0;
}

int cp_inline_expand_thread(struct cp_modules *mods, struct cp_thread *th)
{
	size_t n = th->n_frames, cap = 0, total = 0;
	_cleanup_free_ size_t *start = calloc(n + 1, sizeof(*start));	/* old index -> new */
	_cleanup_free_ char **file = calloc(n + 1, sizeof(*file));	/* the call site's */
	_cleanup_free_ int *line = calloc(n + 1, sizeof(*line));
	_cleanup_free_ struct cp_frame *out = NULL;
	struct cp_inline_chain chain;
	int r = 0;

	if (!start || !file || !line)
		return -ENOMEM;
	/* First the new frames and strings, th untouched: on ENOMEM it keeps its frames. */
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct cp_frame *p = &th->frames[i];
		start[i] = total;
		size_t k = p->kind == CP_FRAME_NATIVE && p->has_lookup && p->function ?
			   cp_modules_inline_chain(mods, p->lookup, &chain) : 0;
		if (total + k + 1 > cap) {
			size_t want = (total + k + 1) * 2;
			struct cp_frame *o = realloc(out, want * sizeof(*o));
			if (!o) {
				r = -ENOMEM;
				break;
			}
			out = o;
			cap = want;
		}
		for (size_t j = 0; j < k && r == 0; j++) {
			/* The innermost is where the pc is: the line the symbolizer found; each
			 * outer one where the next inner one was called. */
			const char *f = j == 0 ? p->file : chain.calls[j - 1].call_file;
			int l = j == 0 ? p->line : chain.calls[j - 1].call_line;
			r = inline_frame(&out[total], p, &chain.calls[j], f, l);
			if (r == 0)
				total++;
		}
		if (r == 0 && k) {
			file[i] = strdup_or_null(chain.calls[k - 1].call_file);
			line[i] = file[i] ? chain.calls[k - 1].call_line : 0;
			if (chain.calls[k - 1].call_file && !file[i])
				r = -ENOMEM;
		}
		/* The physical frame's slot, filled below. */
		out[total] = (struct cp_frame){ .kind = CP_FRAME_NATIVE };
		total++;
	}
	if (r < 0) {
		for (size_t m = 0; m < total; m++)
			if (out[m].kind == CP_FRAME_INLINE)
				cp_frame_deinit(&out[m]);
		for (size_t i = 0; i < n; i++)
			free(file[i]);
		return r;
	}
	start[n] = total;
	if (total == n)
		return 0;	/* nothing inlined anywhere */
	/* report.c's arrays grow at powers of two: the capacity it assumes. */
	size_t p2 = 1;
	while (p2 < total)
		p2 <<= 1;
	if (cap < p2) {
		struct cp_frame *o = realloc(out, p2 * sizeof(*o));
		if (!o) {
			for (size_t m = 0; m < total; m++)
				if (out[m].kind == CP_FRAME_INLINE)
					cp_frame_deinit(&out[m]);
			for (size_t i = 0; i < n; i++)
				free(file[i]);
			return -ENOMEM;
		}
		out = o;
	}
	/* Then the physical frames moved in, with their call sites. */
	for (size_t i = 0; i < n; i++) {
		struct cp_frame *p = &th->frames[i], *first = &out[start[i]];
		size_t last = start[i + 1] - 1;
		if (last > start[i]) {
			free(p->file);
			p->file = TAKE_PTR(file[i]);
			p->line = line[i];
			/* A cycle starting at this frame starts at its group's first. */
			first->repeat_length = p->repeat_length;
			first->repeat_count = p->repeat_count;
			p->repeat_length = p->repeat_count = 0;
		}
		out[last] = *p;
		out[last].has_lookup = false;	/* expanded: never again */
	}
	/* Cycle lengths and the gap, in the expanded frames. */
	for (size_t i = 0; i < n; i++) {
		struct cp_frame *first = &out[start[i]];
		if (first->repeat_length >= 1 && first->repeat_length <= n - i)
			first->repeat_length = start[i + first->repeat_length] - start[i];
		else
			first->repeat_length = first->repeat_count = 0;
	}
	if (th->n_omitted && th->omitted_after <= n)
		th->omitted_after = start[th->omitted_after];
	free(th->frames);
	th->frames = TAKE_PTR(out);
	th->n_frames = total;
	return 0;
}

int cp_inline_expand_report(struct cp_modules *mods, struct cp_report *report)
{
	int ret = 0;

	if (!mods)
		return 0;
	for (size_t i = 0; i < report->n_threads; i++)
		if (cp_inline_expand_thread(mods, &report->threads[i]) < 0)
			ret = -ENOMEM;
	return ret;
}
