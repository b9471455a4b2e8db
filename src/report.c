/*
 * report.c - the report's model: creating, growing and freeing the structs every stage
 * fills (report.h). What they look like as JSON is report-to-json.c's and
 * report-from-json.c's; as files, report-file.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "strv.h"

struct cp_report *cp_report_create(void)
{
	struct cp_report *r = calloc(1, sizeof(*r));
	if (r) {
		r->process.time = -1;
		r->process.rlimit_core = -1;
	}
	return r;
}

const struct cp_thread *cp_report_crashed_thread(const struct cp_report *r)
{
	for (size_t i = 0; r && i < r->n_threads; i++)
		if (r->threads[i].crashed)
			return &r->threads[i];
	return r && r->n_threads ? &r->threads[0] : NULL;
}

void cp_frame_deinit(struct cp_frame *f)
{
	free(f->module);
	free(f->build_id);
	free(f->function);
	free(f->file);
	free(f->assembly);
	free(f->display);
}

/* Recursion is bounded: the reader nests inner exceptions at most 16 deep, the DAC's
 * worker its chain likewise (dac/wire.h). */
void cp_exception_destroy(struct cp_exception *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_inners; i++)
		cp_exception_destroy(e->inners[i]);
	free(e->inners);
	for (size_t i = 0; i < e->n_stack; i++)
		cp_frame_deinit(&e->stack[i]);
	free(e->stack);
	free(e->type);
	free(e->message);
	free(e);
}

const char *cp_frame_kind_name(enum cp_frame_kind kind)
{
	static const char *const names[] = { "native", "managed", "runtime", "inline" };
	return kind < _CP_FRAME_KIND_MAX ? names[kind] : "native";
}

const char *cp_unwinder_name(enum cp_unwinder u)
{
	static const char *const names[] = { NULL, "libunwind", "libdwfl", "frame-pointer", "signal-frame" };
	return u < _CP_UNWINDER_MAX ? names[u] : NULL;
}

void cp_report_destroy(struct cp_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_threads; i++) {
		struct cp_thread *t = &r->threads[i];
		for (size_t j = 0; j < t->n_frames; j++)
			cp_frame_deinit(&t->frames[j]);
		free(t->frames);
		cp_exception_destroy(t->exception);
		free(t->name);
		free(t->managed_name);
		free(t->error);
	}
	free(r->threads);
	for (size_t i = 0; i < r->n_modules; i++) {
		free(r->modules[i].path);
		free(r->modules[i].build_id);
		free(r->modules[i].debuginfo);
		free(r->modules[i].source);
		free(r->modules[i].debuginfo_source);
	}
	free(r->modules);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	free(r->signature);
	free(r->runtime.kind);
	free(r->runtime.version);
	free(r->runtime.directory);
	free(r->runtime.dac);
	free(r->runtime.dac_error);
	struct cp_process *p = &r->process;
	free(p->exe);
	free(p->comm);
	free(p->cmdline);
	free(p->hostname);
	free(p->boot_id);
	free(p->cgroup);
	free(p->core_writer);
	free(r);
}

/* Grow *@array of @size-byte items to hold one more; returns the new (zeroed) item. */
static void *grow(void *array_ptr, size_t *n, size_t size)
{
	void **array = array_ptr;
	/* Capacity doubles at powers of two. */
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;
		void *p = realloc(*array, cap * size);
		if (!p)
			return NULL;
		*array = p;
	}
	void *item = (char *)*array + *n * size;
	memset(item, 0, size);
	(*n)++;
	return item;
}

struct cp_thread *cp_report_add_thread(struct cp_report *r, pid_t tid)
{
	struct cp_thread *t = grow(&r->threads, &r->n_threads, sizeof(*t));
	if (t)
		t->tid = tid;
	return t;
}

struct cp_frame *cp_thread_add_frame(struct cp_thread *t, uint64_t ip, uint64_t sp)
{
	struct cp_frame *f = grow(&t->frames, &t->n_frames, sizeof(*f));
	if (f) {
		f->ip = ip;
		f->sp = sp;
	}
	return f;
}

struct cp_frame *cp_exception_add_frame(struct cp_exception *e, uint64_t ip, uint64_t sp)
{
	struct cp_frame *f = grow(&e->stack, &e->n_stack, sizeof(*f));
	if (f) {
		f->ip = ip;
		f->sp = sp;
	}
	e->has_stack = true;
	return f;
}

int cp_exception_add_inner(struct cp_exception *e, struct cp_exception *inner)
{
	struct cp_exception **slot = grow(&e->inners, &e->n_inners, sizeof(*slot));
	if (!slot) {
		cp_exception_destroy(inner);
		return -ENOMEM;
	}
	*slot = inner;
	return 0;
}

struct cp_module_info *cp_report_add_module(struct cp_report *r)
{
	struct cp_module_info *m = grow(&r->modules, &r->n_modules, sizeof(*m));
	if (m)
		m->build_id_match = -1;
	return m;
}

void cp_report_note(struct cp_report *r, bool partial, const char *fmt, ...)
{
	va_list ap;

	if (partial)
		r->partial = true;
	va_start(ap, fmt);
	cp_strv_append_va(&r->notes, &r->n_notes, fmt, ap);
	va_end(ap);
}
