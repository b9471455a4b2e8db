/*
 * keepcore.c - keeping the kernel's core beside its report (keepcore.h).
 *
 * The dying process is held until the handler has read the last byte of its core, so the
 * core is compressed as it passes, as near the rate the kernel writes it as zstd gets: its
 * fast level -10 on CP_KEEPCORE_WORKERS threads of its own, the reader only handing them its
 * buffers, and a 16 MiB pipe so the kernel goes on writing while the workers catch up.
 * Measured through the kernel pipe on 2 vCPUs (bench/keepcore, a 1 GiB core of fillmem's
 * mixed memory, hold time / drain-only's, compression): level 1 on 2 workers 2.41 (2.5:1);
 * level -5 on 2 workers 1.83, with the 16 MiB pipe 1.67 (1.9:1); level -10 on 1 worker 1.98,
 * on 2 workers with the 16 MiB pipe 1.51 (1.9:1); the zstd CLI at -1 -T2 2.57. On two CPUs
 * the kernel's writer takes one, and no level reaches drain-only's rate.
 * Memory stays bounded: the zstd window and jobs, one output buffer; never the core.
 *
 * The file is made unnamed (cp_newfile_create(): O_TMPFILE, else a random hidden name) and
 * named only after the report, so a crash whose report cannot be written never leaves a
 * core alone, and a failed write leaves nothing: the space goes back to the report.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "keepcore.h"
#include "signature.h"
#include "spool.h"
#include "zio.h"

/* How often (raw bytes) a streaming core checks the free space against KeepFree. */
#define FREE_CHECK_EVERY (32ull << 20)

/* The pipe's size while a core is kept (handle.c sets 1 MiB otherwise). */
#define KEEP_PIPE_SIZE (16 << 20)

struct cp_keepcore {
	struct cp_newfile file;
	bool open;			/* file.fd is ours, uncommitted */
	bool tentative;			/* only a sig: rule can keep it */
	const struct cp_keepcore_rules *rules;
	struct cp_zwriter *zw;
	struct cp_input *in;
	uint64_t keep_free, max_size;
	uint64_t raw, next_check;
	uint64_t size;			/* compressed, once finished */
	int error;
	char *name;
};

int cp_keepcore_add_rules(struct cp_keepcore_rules *rules, char *arg)
{
	char *save = NULL;

	if (!arg)
		arg = (char *)"all";
	if (!*arg)
		return -EINVAL;
	for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "sig:", 4) == 0 ? !cp_signature_valid(tok + 4) :
		    *tok != '/' && (strchr(tok, '/') || !*tok))
			return -EINVAL;
		if (rules->n == CP_KEEPCORE_MAX_RULES)
			return -E2BIG;
		rules->rules[rules->n++] = tok;
	}
	return 0;
}

/* Does a rule keep the core of @exe without waiting for the signature? */
static bool exe_matches(const struct cp_keepcore_rules *rules, const char *exe)
{
	const char *base = exe ? strrchr(exe, '/') : NULL;

	base = base ? base + 1 : exe;
	for (unsigned i = 0; i < rules->n; i++) {
		const char *r = rules->rules[i];
		if (strcmp(r, "all") == 0 || strcmp(r, "*") == 0)
			return true;
		if (!exe || strncmp(r, "sig:", 4) == 0)
			continue;
		if (*r == '/' ? strcmp(r, exe) == 0 : strcmp(r, base) == 0)
			return true;
	}
	return false;
}

static bool sig_matches(const struct cp_keepcore_rules *rules, const char *sig)
{
	for (unsigned i = 0; sig && i < rules->n; i++)
		if (strncmp(rules->rules[i], "sig:", 4) == 0 && strcmp(rules->rules[i] + 4, sig) == 0)
			return true;
	return false;
}

static bool any_sig_rule(const struct cp_keepcore_rules *rules)
{
	for (unsigned i = 0; i < rules->n; i++)
		if (strncmp(rules->rules[i], "sig:", 4) == 0)
			return true;
	return false;
}

static void drop(struct cp_keepcore *k, int error)
{
	if (!k->open)
		return;
	cp_newfile_abort(&k->file);
	k->open = false;
	if (!k->error)
		k->error = error;
}

/* The sink: every raw byte of the core, as the handler reads it. */
static int sink(void *userdata, const void *buf, size_t len)
{
	struct cp_keepcore *k = userdata;
	int r;

	if (!k->open)
		return k->error ? k->error : -EBADF;
	k->raw += len;
	r = cp_zwriter_write(k->zw, buf, len);
	if (r == 0 && k->max_size && cp_zwriter_written(k->zw) > k->max_size)
		r = -EFBIG;
	if (r == 0 && k->keep_free && k->raw >= k->next_check) {
		struct statvfs sv;
		k->next_check = k->raw + FREE_CHECK_EVERY;
		if (fstatvfs(k->file.fd, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < k->keep_free)
			r = -ENOSPC;
	}
	if (r < 0)
		drop(k, r);	/* at once: its blocks are free for the report */
	return r;
}

int cp_keepcore_start(const struct cp_keepcore_rules *rules, const char *exe, struct cp_input *in,
		      int spool_fd, uint64_t keep_free, uint64_t max_size, struct cp_keepcore **ret)
{
	_cleanup_free_ struct cp_keepcore *k = NULL;
	int r;

	*ret = NULL;
	if (!cp_keepcore_enabled(rules))
		return 0;
	bool sure = exe_matches(rules, exe);
	if (!sure && !any_sig_rule(rules))
		return 0;
	if (!(k = calloc(1, sizeof(*k))))
		return -ENOMEM;
	k->rules = rules;
	k->tentative = !sure;
	k->in = in;
	k->keep_free = keep_free;
	k->max_size = max_size;
	k->next_check = FREE_CHECK_EVERY;
	/* While the compressor is busy the kernel goes on writing into the pipe, up to its
	 * size: a larger pipe (kernel memory, not ours) keeps both working. Best effort. */
	(void) fcntl(cp_input_fd(in), F_SETPIPE_SZ, KEEP_PIPE_SIZE);
	r = cp_newfile_create(spool_fd, O_WRONLY, &k->file);
	if (r < 0)
		return r;
	k->open = true;
	r = cp_zwriter_new(k->file.fd, CP_KEEPCORE_LEVEL, CP_KEEPCORE_WORKERS, &k->zw);
	if (r == 0)
		r = cp_input_add_sink(in, sink, k);
	if (r < 0) {
		cp_zwriter_free(k->zw);
		cp_newfile_abort(&k->file);
		return r;
	}
	*ret = TAKE_PTR(k);
	return 0;
}

int cp_keepcore_finish(struct cp_keepcore *k)
{
	int r = cp_input_sink_error(k->in, k);

	if (r == 0 && k->open)
		r = cp_zwriter_finish(k->zw);
	if (r == 0 && k->open && fsync(k->file.fd) < 0)
		r = -errno;
	if (r == 0 && !k->open)
		r = k->error ? k->error : -EBADF;
	if (r < 0)
		drop(k, r);
	/* Its threads end here, before the handler forks its analysis. */
	if (k->zw)
		k->size = cp_zwriter_written(k->zw);
	cp_zwriter_free(k->zw);
	k->zw = NULL;
	return r;
}

void cp_keepcore_abort(struct cp_keepcore *k)
{
	if (k)
		drop(k, -ENOSPC);
}

bool cp_keepcore_pending(const struct cp_keepcore *k)
{
	return k && k->open;
}

int cp_keepcore_error(const struct cp_keepcore *k)
{
	return k ? k->error : 0;
}

/* TIME-PID-NAME.core.zst for TIME-PID-NAME.json.zst. */
static char *core_name(const char *report_name)
{
	static const char suffix[] = ".json.zst";
	size_t n = strlen(report_name), s = strlen(suffix);
	char *name;

	if (n <= s || strcmp(report_name + n - s, suffix) != 0)
		return NULL;
	if (asprintf(&name, "%.*s.core.zst", (int)(n - s), report_name) < 0)
		return NULL;
	return name;
}

int cp_keepcore_commit(struct cp_keepcore *k, const char *report_name, const char *signature,
		       const char **name_ret)
{
	int r;

	if (!k->open)
		return k->error ? k->error : -EBADF;
	if (k->tentative && !sig_matches(k->rules, signature)) {
		drop(k, 0);
		return 0;
	}
	free(k->name);
	if (!(k->name = core_name(report_name))) {
		drop(k, -EINVAL);
		return -EINVAL;
	}
	r = cp_newfile_commit(&k->file, k->name, 0600);
	k->open = false;	/* commit closed it, or removed what was left */
	if (r < 0) {
		k->error = r;
		return r;
	}
	*name_ret = k->name;
	return 1;
}

uint64_t cp_keepcore_size(const struct cp_keepcore *k)
{
	return !k ? 0 : k->zw ? cp_zwriter_written(k->zw) : k->size;
}

uint64_t cp_keepcore_raw_size(const struct cp_keepcore *k)
{
	return k ? k->raw : 0;
}

void cp_keepcore_free(struct cp_keepcore *k)
{
	if (!k)
		return;
	drop(k, 0);
	cp_zwriter_free(k->zw);
	free(k->name);
	free(k);
}
