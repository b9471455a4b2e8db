/*
 * report-to-json.c - the report as JSON text, schema "crashpipe/1" (crashpipe-report(5)):
 * one *_to_json() per object of the schema, each the mirror of its *_from_json() in
 * report-from-json.c, members in the same order. Every member is always written, null
 * when unknown. Field names are an interface other tools read: they change only with the
 * schema's version.
 *
 * Addresses are hex strings: readers keep JSON numbers as doubles, which cannot hold
 * every 64-bit address.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "json-writer.h"
#include "report.h"

/* A folded cycle that lies within the @n frames from @i on (anything else is written as
 * no cycle: the reader would refuse it). */
static bool repeat_valid(const struct cp_frame *f, size_t i, size_t n)
{
	return f->repeat_length >= 1 && f->repeat_count >= 2 && i < n && f->repeat_length <= n - i;
}

static bool omitted_valid(const struct cp_thread *t)
{
	return t->n_omitted > 0 && t->omitted_after <= t->n_frames;
}

/* Frame @index of the @n of an array (@n 0: of a list in which a cycle means nothing, the
 * exception's "frames"); @in_stack: of an exception's stack (with "segment"). */
static void frame_to_json(struct cp_jw *w, const struct cp_frame *f, size_t index, size_t n, bool in_stack)
{
	cp_jw_open(w, NULL, false);
	cp_jw_num(w, "index", index);
	cp_jw_hex(w, "ip", f->ip);
	cp_jw_hex(w, "sp", f->sp);
	cp_jw_str(w, "kind", cp_frame_kind_name(f->kind));
	cp_jw_str(w, "module", f->module);
	cp_jw_str(w, "build_id", f->build_id);
	if (f->has_module_offset)
		cp_jw_hex(w, "module_offset", f->module_offset);
	else
		cp_jw_null(w, "module_offset");
	cp_jw_str(w, "function", f->function);
	cp_jw_str(w, "display", f->display);
	cp_jw_num_or_null(w, "offset", f->has_offset, f->offset);
	cp_jw_str(w, "file", f->file);
	cp_jw_num_or_null(w, "line", f->line > 0, f->line);
	if (cp_unwinder_name(f->unwinder))
		cp_jw_str(w, "unwinder", cp_unwinder_name(f->unwinder));
	if (f->kind == CP_FRAME_MANAGED || f->kind == CP_FRAME_RUNTIME) {
		char tok[16];
		snprintf(tok, sizeof(tok), "0x%08" PRIx32, f->token);
		cp_jw_str(w, "assembly", f->assembly);
		cp_jw_str(w, "token", f->has_token ? tok : NULL);
		cp_jw_num_or_null(w, "il_offset", f->has_il_offset, f->il_offset);
	}
	if (in_stack)
		cp_jw_num(w, "segment", f->segment > 0 ? f->segment : 0);
	if (repeat_valid(f, index, n)) {
		cp_jw_open(w, "repeat", false);
		cp_jw_num(w, "length", f->repeat_length);
		cp_jw_num(w, "count", f->repeat_count);
		cp_jw_close(w);
	} else {
		cp_jw_null(w, "repeat");
	}
	cp_jw_close(w);
}

/* @frames_of: the thread whose managed frames go into "frames" (the outermost exception
 * only). */
static void exception_to_json(struct cp_jw *w, const char *key, const struct cp_exception *e, pid_t tid,
			      const struct cp_thread *frames_of)
{
	char hr[16];

	snprintf(hr, sizeof(hr), "0x%08" PRIx32, (uint32_t)e->hresult);
	cp_jw_open(w, key, false);
	if (tid)
		cp_jw_num(w, "thread", tid);
	cp_jw_str(w, "type", e->type);
	cp_jw_str(w, "message", e->message);
	cp_jw_str(w, "hresult", e->has_hresult ? hr : NULL);
	if (frames_of) {
		/* The stack the exception was found on: the thread's managed frames. */
		cp_jw_open(w, "frames", true);
		for (size_t i = 0, n = 0; i < frames_of->n_frames; i++)
			if (frames_of->frames[i].kind == CP_FRAME_MANAGED)
				frame_to_json(w, &frames_of->frames[i], n++, 0, false);
		cp_jw_close(w);
	}
	if (e->has_stack) {
		/* What the exception object recorded where it was thrown. */
		cp_jw_open(w, "stack", true);
		for (size_t i = 0; i < e->n_stack; i++)
			frame_to_json(w, &e->stack[i], i, e->n_stack, true);
		cp_jw_close(w);
	} else {
		cp_jw_null(w, "stack");
	}
	cp_jw_open(w, "inner", true);
	for (size_t i = 0; i < e->n_inners; i++)
		exception_to_json(w, NULL, e->inners[i], 0, NULL);
	cp_jw_close(w);
	cp_jw_close(w);
}

static void thread_exception_to_json(struct cp_jw *w, const char *key, const struct cp_thread *t)
{
	if (!t || !t->exception)
		cp_jw_null(w, key);
	else
		exception_to_json(w, key, t->exception, t->tid, t);
}

static void thread_to_json(struct cp_jw *w, const struct cp_thread *t)
{
	cp_jw_open(w, NULL, false);
	cp_jw_num(w, "tid", t->tid);
	cp_jw_str(w, "name", t->name);
	cp_jw_str(w, "managed_name", t->managed_name);
	cp_jw_bool(w, "crashed", t->crashed);
	cp_jw_bool(w, "truncated", t->truncated || omitted_valid(t));
	if (omitted_valid(t)) {
		cp_jw_open(w, "omitted", false);
		cp_jw_num(w, "after", t->omitted_after);
		cp_jw_num(w, "count", t->n_omitted);
		cp_jw_close(w);
	} else {
		cp_jw_null(w, "omitted");
	}
	cp_jw_str(w, "error", t->error);
	thread_exception_to_json(w, "exception", t);
	cp_jw_open(w, "frames", true);
	for (size_t i = 0; i < t->n_frames; i++)
		frame_to_json(w, &t->frames[i], i, t->n_frames, false);
	cp_jw_close(w);
	cp_jw_close(w);
}

static void process_to_json(struct cp_jw *w, const struct cp_process *p)
{
	cp_jw_open(w, "process", false);
	cp_jw_num(w, "pid", p->pid);
	cp_jw_num(w, "tid", p->tid);
	cp_jw_str(w, "exe", p->exe);
	cp_jw_str(w, "comm", p->comm);
	cp_jw_str(w, "cmdline", p->cmdline);
	cp_jw_num_or_null(w, "uid", p->has_ids, p->uid);
	cp_jw_num_or_null(w, "gid", p->has_ids, p->gid);
	cp_jw_num(w, "signal", p->signal);
	cp_jw_str(w, "signal_name", cp_signal_name(p->signal));
	cp_jw_num_or_null(w, "si_code", p->has_si_code, p->si_code);
	cp_jw_str(w, "si_code_name", p->has_si_code ? cp_si_code_name(p->signal, p->si_code) : NULL);
	if (p->has_fault_address)
		cp_jw_hex(w, "fault_address", p->fault_address);
	else
		cp_jw_null(w, "fault_address");
	cp_jw_num_or_null(w, "time", p->time >= 0, p->time);
	cp_jw_str(w, "hostname", p->hostname);
	cp_jw_str(w, "boot_id", p->boot_id);
	cp_jw_str(w, "cgroup", p->cgroup);
	cp_jw_num_or_null(w, "rlimit_core", p->rlimit_core >= 0,
			  p->rlimit_core == INT64_MAX ? -1 : (double)p->rlimit_core);
	cp_jw_str(w, "core_writer", p->core_writer);
	cp_jw_bool(w, "restricted", p->restricted);
	cp_jw_close(w);
}

static void runtime_to_json(struct cp_jw *w, const struct cp_runtime *rt)
{
	if (!rt->present) {
		cp_jw_null(w, "runtime");
		return;
	}
	cp_jw_open(w, "runtime", false);
	/* "dotnet": a .NET runtime of a kind not known (what every report said before the
	 * kinds; crashpipe-report(5)). */
	cp_jw_str(w, "kind", rt->kind ? rt->kind : "dotnet");
	cp_jw_str(w, "version", rt->version);
	cp_jw_str(w, "directory", rt->directory);
	cp_jw_str(w, "dac", rt->dac);
	cp_jw_str(w, "dac_error", rt->dac_error);
	cp_jw_close(w);
}

static void module_to_json(struct cp_jw *w, const struct cp_module_info *m)
{
	cp_jw_open(w, NULL, false);
	cp_jw_str(w, "path", m->path);
	cp_jw_hex(w, "base", m->base);
	cp_jw_hex(w, "end", m->end);
	cp_jw_str(w, "build_id", m->build_id);
	if (m->build_id_match < 0)
		cp_jw_null(w, "file_build_id_match");
	else
		cp_jw_bool(w, "file_build_id_match", m->build_id_match);
	cp_jw_str(w, "debuginfo", m->debuginfo);
	cp_jw_str(w, "source", m->source);
	cp_jw_str(w, "debuginfo_source", m->debuginfo_source);
	cp_jw_close(w);
}

char *cp_report_to_json(const struct cp_report *r)
{
	struct cp_jw w = {};

	cp_jw_open(&w, NULL, false);
	cp_jw_str(&w, "schema", CP_SCHEMA);
	cp_jw_str(&w, "generator", PACKAGE_NAME " " PACKAGE_VERSION);
	cp_jw_bool(&w, "partial", r->partial);
	cp_jw_str(&w, "memory_source", r->live ? "live" : "core");
	if (r->signature)
		cp_jw_str(&w, "signature", r->signature);
	process_to_json(&w, &r->process);
	runtime_to_json(&w, &r->runtime);
	const struct cp_thread *crashed = NULL;
	for (size_t i = 0; i < r->n_threads && !crashed; i++)
		if (r->threads[i].crashed)
			crashed = &r->threads[i];
	thread_exception_to_json(&w, "exception", crashed);
	cp_jw_open(&w, "threads", true);
	for (size_t i = 0; i < r->n_threads; i++)
		thread_to_json(&w, &r->threads[i]);
	cp_jw_close(&w);
	cp_jw_open(&w, "modules", true);
	for (size_t i = 0; i < r->n_modules; i++)
		module_to_json(&w, &r->modules[i]);
	cp_jw_close(&w);
	cp_jw_open(&w, "notes", true);
	for (size_t i = 0; i < r->n_notes; i++)
		cp_jw_str(&w, NULL, r->notes[i]);
	cp_jw_close(&w);
	cp_jw_close(&w);
	return cp_jw_finish(&w);
}
