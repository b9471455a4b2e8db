/*
 * show.c - `crashpipe show` and `crashpipe list --reports`: reports as text a person can scan at
 * 3 a.m. A .NET exception comes first, as the runtime printed it (its own stack, its
 * inner exceptions), then what died and why, then the crashed thread with file:line,
 * then the other threads, with identical stacks folded into one, as a count; folded
 * cycles and omitted frames are said so.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "report.h"
#include "show.h"
#include "signature.h"
#include "spoolcli.h"
#include "termsafe.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Report strings come from the crashed process and file names from whoever wrote into the
 * spool: every one goes to the terminal through the sanitiser. */
static void put(FILE *out, const char *s)
{
	cp_termsafe_fputs(s, out);
}

/* "YYYY-mm-dd HH:MM:SS" of @t, or "?" when gmtime_r() cannot (the reader bounds the year,
 * but a struct may come from elsewhere). */
static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t < 0 || (int64_t)tt != t || !gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "?");
}

/* The name a frame is shown by: the runtime's own form when known, else the symbol. */
static const char *frame_name(const struct cp_frame *f)
{
	return f->display ? f->display : f->function;
}

/* Frame #@i; @inlined_into: the frame before is an inline frame of the same place (@f is
 * the next one out of its chain), whose line has shown the address already. As gdb's
 * backtrace, the frames of one inline chain show the address once, on the innermost. */
static void print_frame(FILE *out, size_t i, const struct cp_frame *f, bool inlined_into)
{
	if (inlined_into)
		fprintf(out, "  #%-3zu %18s ", i, "");
	else
		fprintf(out, "  #%-3zu 0x%016" PRIx64 " ", i, f->ip);
	if (f->display) {
		put(out, f->display);
	} else if (f->function) {
		put(out, f->function);
		if (f->has_offset)
			fprintf(out, "+0x%" PRIx64, f->offset);
	} else {
		fputs("??", out);
	}
	if (f->file) {
		fputs(" (", out);
		put(out, f->file);
		fprintf(out, ":%d)", f->line);
	}
	if ((f->kind == CP_FRAME_MANAGED || f->kind == CP_FRAME_RUNTIME) && f->has_il_offset)
		fprintf(out, " [IL_%04x]", f->il_offset);
	if (f->module) {
		fputs(" in ", out);
		put(out, base_name(f->module));
		if (!f->function && f->has_module_offset)
			fprintf(out, "+0x%" PRIx64, f->module_offset);
	}
	fputc('\n', out);
}

/* A frame of an exception's stack, as the runtime prints it: "   at NAME in FILE:line N"
 * (after a newline, see print_exception()). */
static void print_stack_frame(FILE *out, const struct cp_frame *f)
{
	const char *name = frame_name(f);

	fputs("\n   at ", out);
	put(out, name ? name : "??");
	if (f->file && f->line > 0) {
		fputs(" in ", out);
		put(out, f->file);
		fprintf(out, ":line %d", f->line);
	}
}

/*
 * Folded cycles (crashpipe-report(5), "repeat"): the frames of a cycle are printed once,
 * and after its last one a line says how often they ran in a row. Cycles may nest; those
 * still open are kept here (more than CYCLES_OPEN at once, and a cycle's line comes right
 * after its first frame: it names its frames either way).
 */
#define CYCLES_OPEN 16

struct cycles {
	struct {
		size_t start, end;
		uint32_t count;
	} open[CYCLES_OPEN];
	size_t n;
	bool numbered;		/* thread frames (#N) or an exception's (runtime form) */
};

/* Thread frames' lines end in a newline; an exception's begin with one (as the runtime's
 * Exception.ToString() joins its lines). */
static void print_cycle(FILE *out, const struct cycles *c, size_t start, size_t end, uint32_t count)
{
	size_t len = end - start + 1;

	if (c->numbered && len == 1)
		fprintf(out, "  ... the frame above (#%zu) repeated %" PRIu32 " times\n", start, count);
	else if (c->numbered)
		fprintf(out, "  ... the %zu frames above (#%zu to #%zu) repeated %" PRIu32 " times\n", len, start, end, count);
	else if (len == 1)
		fprintf(out, "\n   ... the frame above repeated %" PRIu32 " times", count);
	else
		fprintf(out, "\n   ... the %zu frames above repeated %" PRIu32 " times", len, count);
}

/* After frame @i of @n (@f) is printed: open its cycle, close those that end with it. */
static void cycles_after(FILE *out, struct cycles *c, const struct cp_frame *f, size_t i, size_t n)
{
	if (f->repeat_length >= 1 && f->repeat_count >= 2 && f->repeat_length <= n - i) {
		size_t end = i + f->repeat_length - 1;
		if (end == i || c->n == CYCLES_OPEN)
			print_cycle(out, c, i, end, f->repeat_count);
		else
			c->open[c->n++] = (__typeof__(c->open[0])){ i, end, f->repeat_count };
	}
	/* The innermost (last opened) first. */
	for (size_t k = c->n; k-- > 0;)
		if (c->open[k].end == i) {
			print_cycle(out, c, c->open[k].start, c->open[k].end, c->open[k].count);
			memmove(&c->open[k], &c->open[k + 1], (c->n - k - 1) * sizeof(c->open[0]));
			c->n--;
		}
}

static void print_frames(FILE *out, const struct cp_thread *t)
{
	struct cycles c = { .numbered = true };
	bool omitted = t->n_omitted > 0 && t->omitted_after <= t->n_frames;

	for (size_t i = 0; i < t->n_frames; i++) {
		if (omitted && i == t->omitted_after)
			fprintf(out, "  ... %zu frames omitted ...\n", t->n_omitted);
		const struct cp_frame *prev = i > 0 ? &t->frames[i - 1] : NULL;
		print_frame(out, i, &t->frames[i], prev && prev->kind == CP_FRAME_INLINE &&
			    prev->ip == t->frames[i].ip && prev->sp == t->frames[i].sp && i != t->omitted_after);
		cycles_after(out, &c, &t->frames[i], i, t->n_frames);
	}
	if (omitted && t->omitted_after == t->n_frames)
		fprintf(out, "  ... %zu frames omitted ...\n", t->n_omitted);
	if (t->truncated && !omitted)
		fprintf(out, "  ... more frames left out (stack overflow?)\n");
	if (t->error) {
		fputs("  (", out);
		put(out, t->error);
		fputs(")\n", out);
	}
	if (t->n_frames == 0 && !t->error)
		fprintf(out, "  (no frames)\n");
}

/* The exception's recorded stack in the runtime's order, "--- End of stack trace from
 * previous location ---" where a segment ends (a rethrow through ExceptionDispatchInfo). */
static void print_exception_stack(FILE *out, const struct cp_exception *e)
{
	struct cycles c = { .numbered = false };

	for (size_t i = 0; i < e->n_stack; i++) {
		if (i > 0 && e->stack[i].segment != e->stack[i - 1].segment)
			fputs("\n--- End of stack trace from previous location ---", out);
		print_stack_frame(out, &e->stack[i]);
		cycles_after(out, &c, &e->stack[i], i, e->n_stack);
	}
}

static bool is_aggregate(const struct cp_exception *e)
{
	return e->type && strcmp(e->type, "System.AggregateException") == 0;
}

/*
 * An exception as the runtime's Exception.ToString() writes it (dotnet/runtime
 * src/libraries/System.Private.CoreLib/src/System/Exception.cs and AggregateException.cs),
 * each line after the first preceded by a newline, none after the last: "TYPE: MESSAGE"
 * (": MESSAGE" only for a message that is not empty), its first inner exception after
 * " ---> " followed by "   --- End of inner exception stack trace ---", then its own
 * stack; then an AggregateException's further inner exceptions, each as " ---> (Inner
 * Exception #N) ..." closed by "<---" and a newline. The reader bounds the nesting (16),
 * so the recursion is bounded too.
 */
static void print_exception(FILE *out, const struct cp_exception *e)
{
	put(out, e->type ? e->type : "?");
	if (e->message && *e->message) {
		fputs(": ", out);
		put(out, e->message);
	}
	if (e->n_inners > 0) {
		fputs("\n ---> ", out);
		print_exception(out, e->inners[0]);
		fputs("\n   --- End of inner exception stack trace ---", out);
	}
	print_exception_stack(out, e);
	for (size_t i = 1; i < e->n_inners; i++) {
		fprintf(out, "\n ---> (%s #%zu) ", is_aggregate(e) ? "Inner Exception" : "inner exception", i);
		print_exception(out, e->inners[i]);
		fputs("<---\n", out);
	}
}

/* Two threads of one process have the same stack when every frame returns to the same
 * code address, with the same cycles folded and the same frames omitted; where their
 * stacks lie does not matter. */
static bool same_stack(const struct cp_thread *a, const struct cp_thread *b)
{
	if (a->n_frames != b->n_frames || a->truncated != b->truncated || a->n_omitted != b->n_omitted ||
	    a->omitted_after != b->omitted_after)
		return false;
	for (size_t i = 0; i < a->n_frames; i++) {
		const struct cp_frame *x = &a->frames[i], *y = &b->frames[i];
		if (x->ip != y->ip || x->repeat_length != y->repeat_length || x->repeat_count != y->repeat_count)
			return false;
	}
	return true;
}

/* Threads sorted by their stacks (then by their place in the report), so that the threads
 * of one stack lie together: a report may hold 100000 threads, all different, and
 * comparing each with every other took minutes. */
struct stack_key {
	const struct cp_thread *t;
	size_t index;
};

static int cmp_stack_key(const void *pa, const void *pb)
{
	const struct stack_key *ka = pa, *kb = pb;
	const struct cp_thread *a = ka->t, *b = kb->t;

	if (a->n_frames != b->n_frames)
		return a->n_frames < b->n_frames ? -1 : 1;
	if (a->truncated != b->truncated)
		return a->truncated ? 1 : -1;
	if (a->n_omitted != b->n_omitted)
		return a->n_omitted < b->n_omitted ? -1 : 1;
	if (a->omitted_after != b->omitted_after)
		return a->omitted_after < b->omitted_after ? -1 : 1;
	for (size_t i = 0; i < a->n_frames; i++) {
		const struct cp_frame *x = &a->frames[i], *y = &b->frames[i];
		if (x->ip != y->ip)
			return x->ip < y->ip ? -1 : 1;
		if (x->repeat_length != y->repeat_length)
			return x->repeat_length < y->repeat_length ? -1 : 1;
		if (x->repeat_count != y->repeat_count)
			return x->repeat_count < y->repeat_count ? -1 : 1;
	}
	return ka->index < kb->index ? -1 : ka->index > kb->index;
}

static void print_thread_title(FILE *out, const struct cp_thread *t)
{
	fprintf(out, "%d", t->tid);
	if (t->name) {
		fputs(" \"", out);
		put(out, t->name);
		fputc('"', out);
	}
	if (t->managed_name && (!t->name || strcmp(t->managed_name, t->name) != 0)) {
		fputs(" (managed name \"", out);
		put(out, t->managed_name);
		fputs("\")", out);
	}
}

void cp_show_report(FILE *out, const struct cp_report *r)
{
	const struct cp_process *p = &r->process;
	const char *sig = cp_signal_name(p->signal);
	const char *code = p->has_si_code ? cp_si_code_name(p->signal, p->si_code) : NULL;

	const struct cp_thread *crashed = NULL;
	for (size_t i = 0; i < r->n_threads && !crashed; i++)
		if (r->threads[i].crashed)
			crashed = &r->threads[i];

	/* For .NET the exception is what the engineer looks for first, in the form the
	 * runtime printed it on stderr. */
	if (crashed && crashed->exception) {
		fputs("Unhandled exception. ", out);
		print_exception(out, crashed->exception);
		fputc('\n', out);
		if (crashed->exception->has_hresult)
			fprintf(out, "  (HResult 0x%08x)\n", (unsigned)crashed->exception->hresult);
		fputc('\n', out);
	}
	fprintf(out, "Process %d (", p->pid);
	put(out, p->comm ? p->comm : "?");
	fputs(") died on ", out);
	if (sig)
		fputs(sig, out);
	else
		fprintf(out, "signal %d", p->signal);
	if (code)
		fprintf(out, " (%s)", code);
	if (p->has_fault_address)
		fprintf(out, " at address 0x%" PRIx64, p->fault_address);
	fputc('\n', out);

	if (crashed && crashed->n_frames > 0 && frame_name(&crashed->frames[0])) {
		const struct cp_frame *f = &crashed->frames[0];
		fputs("  in ", out);
		put(out, frame_name(f));
		if (f->file) {
			fputs(" at ", out);
			put(out, f->file);
			fprintf(out, ":%d", f->line);
		}
		fputc('\n', out);
	}
	if (p->exe) {
		fputs("  executable: ", out);
		put(out, p->exe);
		fputc('\n', out);
	}
	if (p->cmdline) {
		fputs("  command line: ", out);
		put(out, p->cmdline);
		fputc('\n', out);
	}
	if (p->has_ids)
		fprintf(out, "  user: uid %u gid %u\n", (unsigned)p->uid, (unsigned)p->gid);
	if (p->time >= 0) {
		char buf[64];
		format_time(p->time, buf, sizeof(buf));
		fprintf(out, "  time: %s UTC\n", buf);
	}
	if (p->hostname) {
		fputs("  host: ", out);
		put(out, p->hostname);
		fputc('\n', out);
	}
	if (p->core_writer) {
		fputs("  core written by: ", out);
		put(out, p->core_writer);
		fputc('\n', out);
	}
	if (r->runtime.present) {
		fputs("  runtime: .NET ", out);
		put(out, r->runtime.version ? r->runtime.version : "(version unknown)");
		if (r->runtime.kind) {
			const char *k = r->runtime.kind;
			fputs(" (", out);
			put(out, strcmp(k, "nativeaot") == 0 ? "NativeAOT" : strcmp(k, "coreclr") == 0 ? "CoreCLR" : k);
			fputc(')', out);
		}
		if (r->runtime.dac_error) {
			fputs(" (no managed frames: ", out);
			put(out, r->runtime.dac_error);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	if (r->partial)
		fprintf(out, "  (partial report: see the notes at the end)\n");

	if (crashed) {
		fprintf(out, "\nCrashed thread ");
		print_thread_title(out, crashed);
		fprintf(out, ":\n");
		print_frames(out, crashed);
	}

	size_t others = r->n_threads - (crashed ? 1 : 0);
	if (others > 0) {
		fprintf(out, "\nOther threads (%zu):\n", others);
		size_t n = r->n_threads;
		_cleanup_free_ bool *done = calloc(n, sizeof(*done));
		_cleanup_free_ struct stack_key *keys = malloc(n * sizeof(*keys));
		_cleanup_free_ size_t *pos = malloc(n * sizeof(*pos));
		bool fold = done && keys && pos;
		if (fold) {
			for (size_t i = 0; i < n; i++)
				keys[i] = (struct stack_key){ &r->threads[i], i };
			qsort(keys, n, sizeof(*keys), cmp_stack_key);
			for (size_t k = 0; k < n; k++)
				pos[keys[k].index] = k;
		}
		for (size_t i = 0; i < n; i++) {
			const struct cp_thread *t = &r->threads[i];
			if (t == crashed || (fold && done[i]))
				continue;
			/* The threads after it with its stack follow it in @keys. */
			size_t count = 1, end = fold ? pos[i] + 1 : 0;
			for (; fold && end < n && same_stack(t, keys[end].t); end++)
				if (keys[end].t != crashed && !done[keys[end].index]) {
					done[keys[end].index] = true;
					count++;
				}
			fputc('\n', out);
			if (count > 1) {
				fprintf(out, "%zu threads with the same stack: ", count);
				print_thread_title(out, t);
				for (size_t k = pos[i] + 1, shown = 1; k < end; k++)
					if (keys[k].t != crashed && shown++ < 8) {
						fputs(", ", out);
						print_thread_title(out, keys[k].t);
					}
				if (count > 8)
					fprintf(out, ", ...");
				fprintf(out, ":\n");
			} else {
				fprintf(out, "Thread ");
				print_thread_title(out, t);
				fprintf(out, ":\n");
			}
			print_frames(out, t);
		}
	}

	if (r->n_notes > 0) {
		fprintf(out, "\nNotes:\n");
		for (size_t i = 0; i < r->n_notes; i++) {
			fputs("  - ", out);
			put(out, r->notes[i]);
			fputc('\n', out);
		}
	}
}

int cp_cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, {}
	};
	const char *spool = CP_DEFAULT_SPOOL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 's') {
			spool = optarg;
		} else if (c == 'h') {
			printf("Usage: crashpipe show [--spool DIR] REPORT|PID|SIGNATURE\n"
			       "Print a report (.json or .json.zst) as text: what died and why, the crashed\n"
			       "thread's frames, then the other threads with identical stacks folded.\n"
			       "A PID or a crash SIGNATURE names the newest such report in the spool\n"
			       "(default %s).\n", CP_DEFAULT_SPOOL);
			return 0;
		} else {
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: crashpipe show [--spool DIR] REPORT|PID|SIGNATURE\n");
		return 2;
	}
	struct cp_report *r;
	_cleanup_free_ char *path = NULL;
	char sig[CP_SIGNATURE_LEN + 1];
	if (cp_spool_load_arg(spool, argv[optind], &r, &path, sig) < 0)
		return 1;
	cp_show_report(stdout, r);
	cp_report_destroy(r);
	return 0;
}

static bool is_report_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".json") == 0) ||
				  (n > 9 && strcmp(name + n - 9, ".json.zst") == 0));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cp_show_list_reports(const char *spool)
{
	_cleanup_free_ char *safe_spool = cp_termsafe(spool);
	if (!safe_spool)
		return cp_log_errno(LOG_ERR, -ENOMEM, "%m"), 1;
	DIR *d = opendir(spool);
	if (!d) {
		cp_log_errno(LOG_ERR, -errno, "%s: %m", safe_spool);
		return 1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_report_name(de->d_name))
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*names));
		if (!p)
			break;
		names = p;
		if ((names[n] = strdup(de->d_name)))
			n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	/* Each entry is opened in the directory that was listed (not by a path that could
	 * lead elsewhere by now), under cp_report_loadat()'s rules. */
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = cp_termsafe(names[i]);
		struct cp_report *r;
		const char *why;
		int ret = cp_report_loadat(dirfd(d), names[i], &r, &why);
		free(names[i]);
		if (ret < 0) {
			/* One line for a bad report, and on to the next: a report planted in the
			 * spool must not hide the others. */
			printf("%s/%s: unreadable (", safe_spool, name ? name : "?");
			if (why)
				fputs(why, stdout);
			else
				fputs(strerror(-ret), stdout);
			fputs(")\n", stdout);
			continue;
		}
		char when[32];
		format_time(r->process.time, when, sizeof(when));
		const char *sig = cp_signal_name(r->process.signal);
		const char *fn = NULL;
		for (size_t j = 0; j < r->n_threads && !fn; j++)
			if (r->threads[j].crashed && r->threads[j].n_frames)
				fn = r->threads[j].frames[0].function;
		_cleanup_free_ char *comm = cp_termsafe(r->process.comm ? r->process.comm : "?");
		_cleanup_free_ char *func = cp_termsafe(fn ? fn : "??");
		printf("%s %7d %-16s %-8s %-32s %s/%s\n", when, r->process.pid, comm ? comm : "?", sig ? sig : "?",
		       func ? func : "?", safe_spool, name ? name : "?");
		cp_report_destroy(r);
	}
	closedir(d);
	free(names);
	return 0;
}
