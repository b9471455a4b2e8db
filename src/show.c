/*
 * show.c - `crashpipe show` and `crashpipe list`: reports as text a person can scan at
 * 3 a.m. What died and why comes first, then the crashed thread with file:line, then
 * the other threads, with identical stacks folded into one, as a count.
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

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Report strings come from the crashed process: never let them drive the terminal. */
static void defang(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void defang_exception(struct cp_exception *e)
{
	for (; e; e = e->inner) {
		defang(e->type);
		defang(e->message);
	}
}

static void defang_report(struct cp_report *r)
{
	struct cp_process *p = &r->process;
	char *strs[] = { p->exe, p->comm, p->cmdline, p->hostname, p->boot_id, p->cgroup,
			 r->runtime.version, r->runtime.directory, r->runtime.dac, r->runtime.dac_error };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		defang(strs[i]);
	for (size_t i = 0; i < r->n_threads; i++) {
		struct cp_thread *t = &r->threads[i];
		defang(t->name);
		defang(t->error);
		defang_exception(t->exception);
		for (size_t j = 0; j < t->n_frames; j++) {
			defang(t->frames[j].function);
			defang(t->frames[j].file);
			defang(t->frames[j].module);
			defang(t->frames[j].assembly);
		}
	}
	for (size_t i = 0; i < r->n_notes; i++)
		defang(r->notes[i]);
}

static void print_frame(FILE *out, size_t i, const struct cp_frame *f)
{
	fprintf(out, "  #%-3zu 0x%016" PRIx64 " ", i, f->ip);
	if (f->function) {
		fputs(f->function, out);
		if (f->has_offset)
			fprintf(out, "+0x%" PRIx64, f->offset);
	} else {
		fputs("??", out);
	}
	if (f->file)
		fprintf(out, " (%s:%d)", f->file, f->line);
	if (f->kind != CP_FRAME_NATIVE && f->has_il_offset)
		fprintf(out, " [IL_%04x]", f->il_offset);
	if (f->module) {
		fprintf(out, " in %s", base_name(f->module));
		if (!f->function && f->has_module_offset)
			fprintf(out, "+0x%" PRIx64, f->module_offset);
	}
	fputc('\n', out);
}

static void print_frames(FILE *out, const struct cp_thread *t)
{
	for (size_t i = 0; i < t->n_frames; i++)
		print_frame(out, i, &t->frames[i]);
	if (t->truncated)
		fprintf(out, "  ... more frames left out (stack overflow?)\n");
	if (t->error)
		fprintf(out, "  (%s)\n", t->error);
	if (t->n_frames == 0 && !t->error)
		fprintf(out, "  (no frames)\n");
}

/* Two threads of one process have the same stack when every frame returns to the same
 * code address; where their stacks lie does not matter. */
static bool same_stack(const struct cp_thread *a, const struct cp_thread *b)
{
	if (a->n_frames != b->n_frames || a->truncated != b->truncated)
		return false;
	for (size_t i = 0; i < a->n_frames; i++) {
		const struct cp_frame *x = &a->frames[i], *y = &b->frames[i];
		if (x->ip != y->ip)
			return false;
	}
	return true;
}

static void print_thread_title(FILE *out, const struct cp_thread *t)
{
	fprintf(out, "%d", t->tid);
	if (t->name)
		fprintf(out, " \"%s\"", t->name);
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

	/* For .NET the exception is what the engineer looks for first. */
	if (crashed && crashed->exception) {
		const struct cp_exception *e = crashed->exception;
		fprintf(out, "Unhandled exception: %s", e->type ? e->type : "?");
		if (e->message)
			fprintf(out, ": %s", e->message);
		if (e->has_hresult)
			fprintf(out, " (HResult 0x%08x)", (unsigned)e->hresult);
		fputc('\n', out);
		for (e = e->inner; e; e = e->inner)
			fprintf(out, "  ---> %s%s%s\n", e->type ? e->type : "?", e->message ? ": " : "",
				e->message ? e->message : "");
	}
	fprintf(out, "Process %d (%s) died on ", p->pid, p->comm ? p->comm : "?");
	if (sig)
		fputs(sig, out);
	else
		fprintf(out, "signal %d", p->signal);
	if (code)
		fprintf(out, " (%s)", code);
	if (p->has_fault_address)
		fprintf(out, " at address 0x%" PRIx64, p->fault_address);
	fputc('\n', out);

	if (crashed && crashed->n_frames > 0 && crashed->frames[0].function) {
		const struct cp_frame *f = &crashed->frames[0];
		fprintf(out, "  in %s", f->function);
		if (f->file)
			fprintf(out, " at %s:%d", f->file, f->line);
		fputc('\n', out);
	}
	if (p->exe)
		fprintf(out, "  executable: %s\n", p->exe);
	if (p->cmdline)
		fprintf(out, "  command line: %s\n", p->cmdline);
	if (p->has_ids)
		fprintf(out, "  user: uid %u gid %u\n", (unsigned)p->uid, (unsigned)p->gid);
	if (p->time >= 0) {
		char buf[64];
		time_t t = p->time;
		struct tm tm;
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		fprintf(out, "  time: %s\n", buf);
	}
	if (p->hostname)
		fprintf(out, "  host: %s\n", p->hostname);
	if (r->runtime.present) {
		fprintf(out, "  runtime: .NET %s", r->runtime.version ? r->runtime.version : "(version unknown)");
		if (r->runtime.dac_error)
			fprintf(out, " (no managed frames: %s)", r->runtime.dac_error);
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
		_cleanup_free_ bool *done = calloc(r->n_threads, sizeof(*done));
		for (size_t i = 0; i < r->n_threads; i++) {
			const struct cp_thread *t = &r->threads[i];
			if (t == crashed || (done && done[i]))
				continue;
			size_t count = 1;
			for (size_t j = i + 1; done && j < r->n_threads; j++)
				if (&r->threads[j] != crashed && !done[j] && same_stack(t, &r->threads[j])) {
					done[j] = true;
					count++;
				}
			fputc('\n', out);
			if (count > 1) {
				fprintf(out, "%zu threads with the same stack: ", count);
				print_thread_title(out, t);
				for (size_t j = i + 1, shown = 1; done && j < r->n_threads; j++)
					if (done[j] && same_stack(t, &r->threads[j])) {
						if (shown++ < 8) {
							fputs(", ", out);
							print_thread_title(out, &r->threads[j]);
						}
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
		for (size_t i = 0; i < r->n_notes; i++)
			fprintf(out, "  - %s\n", r->notes[i]);
	}
}

int cp_cmd_show(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: crashpipe show REPORT\n"
			       "Print a report (.json or .json.zst) as text: what died and why, the crashed\n"
			       "thread's frames, then the other threads with identical stacks folded.\n");
			return 0;
		}
		return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: crashpipe show REPORT\n");
		return 2;
	}
	const char *path = argv[optind], *why;
	struct cp_report *r;
	int ret = cp_report_load(path, &r, &why);
	if (ret < 0) {
		if (why)
			cp_log(LOG_ERR, "%s: %s", path, why);
		else
			cp_log_errno(LOG_ERR, ret, "%s: %m", path);
		return 1;
	}
	defang_report(r);
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

int cp_cmd_list(int argc, char **argv)
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
			printf("Usage: crashpipe list [--spool DIR]\n"
			       "One line per report in the spool (default %s), oldest first.\n", CP_DEFAULT_SPOOL);
			return 0;
		} else {
			return 2;
		}
	}
	DIR *d = opendir(spool);
	if (!d) {
		cp_log_errno(LOG_ERR, -errno, "%s: %m", spool);
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
		if (asprintf(&names[n], "%s/%s", spool, de->d_name) >= 0)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct cp_report *r;
		const char *why;
		if (cp_report_load(names[i], &r, &why) < 0) {
			printf("%s: unreadable (%s)\n", names[i], why ? why : "error");
			free(names[i]);
			continue;
		}
		defang_report(r);
		char when[32] = "?";
		if (r->process.time >= 0) {
			time_t t = r->process.time;
			struct tm tm;
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
		}
		const char *sig = cp_signal_name(r->process.signal);
		const char *fn = NULL;
		for (size_t j = 0; j < r->n_threads && !fn; j++)
			if (r->threads[j].crashed && r->threads[j].n_frames)
				fn = r->threads[j].frames[0].function;
		printf("%s %7d %-16s %-8s %-32s %s\n", when, r->process.pid,
		       r->process.comm ? r->process.comm : "?", sig ? sig : "?", fn ? fn : "??", names[i]);
		cp_report_destroy(r);
		free(names[i]);
	}
	free(names);
	return 0;
}
