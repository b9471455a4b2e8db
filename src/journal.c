/*
 * journal.c - the journal entry of a crash (sd_journal_sendv, syslog when no journal runs)
 * and the reader of systemd-coredump's entries for `crashpipe follow`. The only user of
 * libsystemd. The contract is in journal.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <poll.h>
#include <time.h>
#include <sys/uio.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "cleanup.h"
#include "journal.h"
#include "report.h"
#include "signame.h"
#include "termsafe.h"

#define MAX_FIELDS CP_JOURNAL_MAX_FIELDS

struct fields {
	struct cp_journal_fields *out;
	bool oom;
};

void cp_journal_fields_done(struct cp_journal_fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->iov[i].iov_base);
	f->n = 0;
}

/* Cut @s (made safe already) to at most @max bytes at a UTF-8 character boundary, with the
 * marker after it. A new string. */
static char *cap(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return strdup(s);
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	char *t = malloc(max + sizeof(CP_JOURNAL_TRUNCATED));
	if (t) {
		memcpy(t, s, max);
		memcpy(t + max, CP_JOURNAL_TRUNCATED, sizeof(CP_JOURNAL_TRUNCATED));
	}
	return t;
}

/* NAME=value, @value (already safe and capped, or ours) taken over. */
static void add_owned(struct fields *f, const char *name, char *value)
{
	struct cp_journal_fields *o = f->out;
	char *s = NULL;
	if (!value || o->n >= MAX_FIELDS || asprintf(&s, "%s=%s", name, value) < 0) {
		f->oom = f->oom || !value || o->n < MAX_FIELDS;
		free(value);
		return;
	}
	free(value);
	o->iov[o->n].iov_base = s;
	o->iov[o->n].iov_len = strlen(s);
	o->n++;
}

/* NAME=value for a value from the crashed process: escaped (no control characters) and
 * capped at CP_JOURNAL_FIELD_MAX. NULL: no field. */
static void add_untrusted(struct fields *f, const char *name, const char *value)
{
	if (!value)
		return;
	_cleanup_free_ char *safe = cp_termsafe(value);
	if (!safe) {
		f->oom = true;
		return;
	}
	add_owned(f, name, cap(safe, CP_JOURNAL_FIELD_MAX));
}

static void add_fmt(struct fields *f, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_fmt(struct fields *f, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v;
	va_start(ap, fmt);
	int r = vasprintf(&v, fmt, ap);
	va_end(ap);
	add_owned(f, name, r < 0 ? NULL : v);
}

/* Print @s made safe into @out, at most @max bytes of it (then the marker). */
static void put(FILE *out, const char *s, size_t max)
{
	_cleanup_free_ char *safe = cp_termsafe(s ? s : "?");
	_cleanup_free_ char *c = safe ? cap(safe, max) : NULL;
	fputs(c ? c : "?", out);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

/*
 * The unit of a cgroup path ("0::/system.slice/foo.service/x"): the first component
 * below the slices with a unit's suffix, as systemd's cg_path_get_unit() finds it. NULL
 * when there is none. A new string.
 */
static char *cgroup_unit(const char *cgroup)
{
	static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap", ".timer" };
	const char *p = cgroup ? strstr(cgroup, "::") : NULL;
	p = p ? p + 2 : cgroup;
	while (p && *p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/\n");
		if (n > 6 && strncmp(p + n - 6, ".slice", 6) == 0) {
			p += n;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
			size_t k = strlen(suffixes[i]);
			if (n > k && strncmp(p + n - k, suffixes[i], k) == 0)
				return strndup(p, n);
		}
		return NULL;
	}
	return NULL;
}

/* MESSAGE: what died and why; for .NET the exception type and message, then the throw
 * site; then the crashed thread's stack in the form coredumpctl info shows
 * systemd-coredump's ("Stack trace of thread N:" and "#N  0x... function (module + 0x...)"). */
static char *make_message(const struct cp_report *r, const char *report_path)
{
	const struct cp_process *p = &r->process;
	const struct cp_thread *t = cp_report_crashed_thread(r);
	const char *sig = cp_signal_name(p->signal);
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	if (!out)
		return NULL;

	fprintf(out, "Process %d (", (int)p->pid);
	put(out, p->comm, 64);
	if (p->has_ids)
		fprintf(out, ") of user %u died on ", (unsigned)p->uid);
	else
		fputs(") died on ", out);
	if (sig)
		fputs(sig, out);
	else
		fprintf(out, "signal %d", p->signal);
	if (p->has_si_code && cp_si_code_name(p->signal, p->si_code))
		fprintf(out, " (%s)", cp_si_code_name(p->signal, p->si_code));
	if (p->has_fault_address)
		fprintf(out, " at address 0x%" PRIx64, p->fault_address);
	if (t && t->exception) {
		const struct cp_exception *e = t->exception;
		fputs(": unhandled exception ", out);
		put(out, e->type, CP_JOURNAL_FIELD_MAX);
		if (e->message) {
			fputs(": ", out);
			put(out, e->message, CP_JOURNAL_EXCEPTION_MAX);
		}
		if (e->has_stack && e->n_stack > 0) {
			const struct cp_frame *f = &e->stack[0];
			fputs("\n   at ", out);
			put(out, f->display ? f->display : f->function, CP_JOURNAL_FIELD_MAX);
			if (f->file && f->line > 0) {
				fputs(" in ", out);
				put(out, f->file, CP_JOURNAL_FIELD_MAX);
				fprintf(out, ":line %d", f->line);
			}
		}
	}
	fputs(".\n", out);
	if (report_path) {
		fputs("Report: ", out);
		put(out, report_path, CP_JOURNAL_FIELD_MAX);
		fputc('\n', out);
	}
	if (t) {
		fprintf(out, "\nStack trace of thread %d:\n", (int)t->tid);
		size_t n = t->n_frames < CP_JOURNAL_MESSAGE_FRAMES ? t->n_frames : CP_JOURNAL_MESSAGE_FRAMES;
		for (size_t i = 0; i < n; i++) {
			const struct cp_frame *f = &t->frames[i];
			const char *name = f->display ? f->display : f->function;
			fprintf(out, "#%-2zu 0x%016" PRIx64 " ", i, f->ip);
			put(out, name ? name : "n/a", 512);
			if (f->module) {
				fputs(" (", out);
				put(out, base_name(f->module), 256);
				if (f->has_module_offset)
					fprintf(out, " + 0x%" PRIx64, f->module_offset);
				fputc(')', out);
			}
			if (f->file && f->line > 0) {
				fputs(" [", out);
				put(out, f->file, 512);
				fprintf(out, ":%d]", f->line);
			}
			fputc('\n', out);
		}
		if (t->n_frames > n)
			fprintf(out, "... %zu more frames in the report\n", t->n_frames - n);
	}
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	/* Made of capped and escaped pieces; the whole is capped too. */
	char *m = cap(buf, CP_JOURNAL_MESSAGE_MAX);
	free(buf);
	return m;
}

int cp_journal_fields(const struct cp_report *r, const char *report_path, const char *signature,
		      const char *core_filename, struct cp_journal_fields *out)
{
	struct fields fs = { .out = out }, *f = &fs;
	const struct cp_process *p = &r->process;
	const struct cp_thread *t = cp_report_crashed_thread(r);
	const char *sig = cp_signal_name(p->signal);

	add_owned(f, "MESSAGE", make_message(r, report_path));
	/* coredumpctl 252 asserts on a backtrace entry without COREDUMP_UID (parse_uid), which
	 * would stop `coredumpctl list` for every crash of the machine: without the ids the
	 * entry stays in the journal, untagged for it. */
	if (p->has_ids)
		add_owned(f, "MESSAGE_ID", strdup(CP_JOURNAL_BACKTRACE_ID));
	add_owned(f, "PRIORITY", strdup("2"));	/* LOG_CRIT, as systemd-coredump */
	add_owned(f, "SYSLOG_IDENTIFIER", strdup("crashpipe"));
	add_fmt(f, "COREDUMP_PID", "%d", (int)p->pid);
	if (p->has_ids) {
		add_fmt(f, "COREDUMP_UID", "%u", (unsigned)p->uid);
		add_fmt(f, "COREDUMP_GID", "%u", (unsigned)p->gid);
	}
	add_fmt(f, "COREDUMP_SIGNAL", "%d", p->signal);
	if (sig)
		add_owned(f, "COREDUMP_SIGNAL_NAME", strdup(sig));
	if (p->time >= 0)
		add_fmt(f, "COREDUMP_TIMESTAMP", "%" PRId64 "000000", p->time);
	if (p->rlimit_core >= 0)
		add_fmt(f, "COREDUMP_RLIMIT", "%" PRIu64, p->rlimit_core == INT64_MAX ? UINT64_MAX : (uint64_t)p->rlimit_core);
	add_untrusted(f, "COREDUMP_EXE", p->exe);
	add_untrusted(f, "COREDUMP_COMM", p->comm);
	add_untrusted(f, "COREDUMP_CMDLINE", p->cmdline);
	add_untrusted(f, "COREDUMP_HOSTNAME", p->hostname);
	add_untrusted(f, "COREDUMP_CGROUP", p->cgroup);
	_cleanup_free_ char *unit = cgroup_unit(p->cgroup);
	add_untrusted(f, "COREDUMP_UNIT", unit);
	if (p->boot_id)
		add_untrusted(f, "CRASHPIPE_BOOT_ID", p->boot_id);
	add_untrusted(f, "COREDUMP_FILENAME", core_filename);
	add_untrusted(f, "CRASHPIPE_REPORT", report_path);
	add_untrusted(f, "CRASHPIPE_SIGNATURE", signature);
	add_owned(f, "CRASHPIPE_RUNTIME", strdup(!r->runtime.present ? "native" : r->runtime.kind ? r->runtime.kind : "dotnet"));
	if (r->runtime.present)
		add_untrusted(f, "CRASHPIPE_RUNTIME_VERSION", r->runtime.version);
	if (t && t->exception) {
		add_untrusted(f, "CRASHPIPE_EXCEPTION_TYPE", t->exception->type);
		if (t->exception->message) {
			_cleanup_free_ char *safe = cp_termsafe(t->exception->message);
			add_owned(f, "CRASHPIPE_EXCEPTION_MESSAGE", safe ? cap(safe, CP_JOURNAL_EXCEPTION_MAX) : NULL);
		}
	}
	if (t)
		add_fmt(f, "CRASHPIPE_TID", "%d", (int)t->tid);
	if (p->core_writer)
		add_untrusted(f, "CRASHPIPE_CORE_WRITER", p->core_writer);
	return f->oom ? -ENOMEM : 0;
}

/* Where journald listens (sd-journal's own path for it). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static void send_syslog(const struct cp_report *r, const char *report_path, const char *signature)
{
	const struct cp_process *p = &r->process;
	const char *sig = cp_signal_name(p->signal);
	_cleanup_free_ char *comm = cp_termsafe(p->comm ? p->comm : "?");
	_cleanup_free_ char *path = cp_termsafe(report_path ? report_path : "none");
	_cleanup_free_ char *c = comm ? cap(comm, 64) : NULL;
	_cleanup_free_ char *pa = path ? cap(path, CP_JOURNAL_FIELD_MAX) : NULL;

	openlog("crashpipe", LOG_PID, LOG_DAEMON);
	syslog(LOG_CRIT, "Process %d (%s) died on %s; report %s; signature %s", (int)p->pid, c ? c : "?",
	       sig ? sig : "a signal", pa ? pa : "?", signature ? signature : "none");
}

int cp_journal_send(const struct cp_report *r, const char *report_path, const char *signature,
		    const char *core_filename)
{
	_cleanup_(cp_journal_fields_done) struct cp_journal_fields f = { .n = 0 };

	if (cp_journal_fields(r, report_path, signature, core_filename, &f) < 0)
		return -ENOMEM;
	/* sd_journal_sendv() says nothing when no journal runs (a missing socket is success
	 * to it): syslog then. */
	if (access(JOURNAL_SOCKET, F_OK) < 0) {
		send_syslog(r, report_path, signature);
		return 1;
	}
	for (;;) {
		int e = sd_journal_sendv(f.iov, f.n);
		if (e >= 0)
			return 0;
		/* Too big for the socket and no memfd: halve MESSAGE (the first field), as
		 * systemd-coredump halves its core. */
		if (e == -EMSGSIZE && f.iov[0].iov_len > 4096) {
			size_t keep = f.iov[0].iov_len / 2;
			char *s = f.iov[0].iov_base;
			while (keep > 8 && ((unsigned char)s[keep] & 0xc0) == 0x80)
				keep--;
			s[keep] = '\0';
			char *t = NULL;
			if (asprintf(&t, "%s%s", s, CP_JOURNAL_TRUNCATED) < 0)
				return -ENOMEM;
			free(s);
			f.iov[0].iov_base = t;
			f.iov[0].iov_len = strlen(t);
			continue;
		}
		send_syslog(r, report_path, signature);
		return 1;
	}
}

/* ---- the reader ---- */

struct cp_journal_reader {
	sd_journal *j;
	bool at_next;		/* positioned on the next entry already (not read yet) */
};

void cp_coredump_entry_deinit(struct cp_coredump_entry *e)
{
	free(e->cursor);
	free(e->exe);
	free(e->comm);
	free(e->cmdline);
	free(e->hostname);
	free(e->cgroup);
	free(e->filename);
	free(e->boot_id);
	memset(e, 0, sizeof(*e));
}

int cp_journal_reader_open(const char *cursor, struct cp_journal_reader **ret)
{
	struct cp_journal_reader *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	int r = sd_journal_open(&j->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	if (r >= 0)
		r = sd_journal_set_data_threshold(j->j, 64 * 1024);	/* never the core itself */
	if (r >= 0)
		r = sd_journal_add_match(j->j, "MESSAGE_ID=" CP_JOURNAL_COREDUMP_ID, 0);
	if (r >= 0 && cursor) {
		/* The cursor's own entry was processed: start after it. When it is gone
		 * (rotated, vacuumed), seeking lands on the first entry after where it was,
		 * which is the next one to read. */
		r = sd_journal_seek_cursor(j->j, cursor);
		if (r >= 0 && (r = sd_journal_next(j->j)) > 0)
			j->at_next = sd_journal_test_cursor(j->j, cursor) <= 0;
	} else if (r >= 0) {
		r = sd_journal_seek_head(j->j);
	}
	if (r < 0) {
		cp_journal_reader_close(j);
		return r;
	}
	*ret = j;
	return 0;
}

void cp_journal_reader_close(struct cp_journal_reader *j)
{
	if (!j)
		return;
	sd_journal_close(j->j);
	free(j);
}

/* The value of @name in the current entry (a new NUL-terminated string; a NUL inside it
 * ends it), or NULL. */
static char *get(sd_journal *j, const char *name)
{
	const void *data;
	size_t len, k = strlen(name);
	if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= k || ((const char *)data)[k] != '=')
		return NULL;
	return strndup((const char *)data + k + 1, len - k - 1);
}

static int64_t get_num(sd_journal *j, const char *name)
{
	_cleanup_free_ char *s = get(j, name);
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	return errno || *end || v < 0 ? -1 : v;
}

int cp_journal_reader_next(struct cp_journal_reader *j, struct cp_coredump_entry *e)
{
	int r = j->at_next ? 1 : sd_journal_next(j->j);
	j->at_next = false;
	if (r <= 0)
		return r;
	memset(e, 0, sizeof(*e));
	r = sd_journal_get_cursor(j->j, &e->cursor);
	if (r < 0)
		return r;
	e->pid = get_num(j->j, "COREDUMP_PID");
	e->uid = get_num(j->j, "COREDUMP_UID");
	e->gid = get_num(j->j, "COREDUMP_GID");
	e->signal = get_num(j->j, "COREDUMP_SIGNAL");
	e->rlimit = get_num(j->j, "COREDUMP_RLIMIT");
	e->timestamp_usec = get_num(j->j, "COREDUMP_TIMESTAMP");
	e->exe = get(j->j, "COREDUMP_EXE");
	e->comm = get(j->j, "COREDUMP_COMM");
	e->cmdline = get(j->j, "COREDUMP_CMDLINE");
	e->hostname = get(j->j, "COREDUMP_HOSTNAME");
	e->cgroup = get(j->j, "COREDUMP_CGROUP");
	e->filename = get(j->j, "COREDUMP_FILENAME");
	e->boot_id = get(j->j, "_BOOT_ID");
	_cleanup_free_ char *tr = get(j->j, "COREDUMP_TRUNCATED");
	e->truncated = tr && strcmp(tr, "1") == 0;
	return 1;
}

int cp_journal_reader_wait(struct cp_journal_reader *j, int extra_fd, uint64_t usec)
{
	int fd = sd_journal_get_fd(j->j);
	if (fd < 0)
		return fd;
	int events = sd_journal_get_events(j->j);
	if (events < 0)
		return events;
	uint64_t until = UINT64_MAX;
	(void)sd_journal_get_timeout(j->j, &until);	/* CLOCK_MONOTONIC, or UINT64_MAX */
	if (until != UINT64_MAX) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now = (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		uint64_t left = until > now ? until - now : 0;
		usec = left < usec ? left : usec;
	}
	struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = extra_fd, .events = POLLIN } };
	int ms = usec == UINT64_MAX ? -1 : (int)((usec + 999) / 1000 > INT32_MAX ? INT32_MAX : (usec + 999) / 1000);
	int n = poll(p, extra_fd >= 0 ? 2 : 1, ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	int r = sd_journal_process(j->j);
	if (r < 0)
		return r;
	return n > 0 && extra_fd >= 0 && (p[1].revents & POLLIN) ? 1 : 0;
}
