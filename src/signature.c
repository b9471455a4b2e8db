/*
 * signature.c - the crash signature (signature.h): the canonical text of a crash, its hash,
 * and the signature of a report file in the spool (its extended attribute, or the report).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "report.h"
#include "signature.h"

/* Bump when the canonical text changes: every signature changes with it. */
#define SCHEME "crashpipe-signature/1"

/* FNV-1a, 64 bits: not a cryptographic hash (a crashed user who can choose a signature can
 * only misfile their own crashes), but stable, simple and spread well enough for grouping. */
struct hash {
	uint64_t h;
};

static void hash_bytes(struct hash *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h->h ^= p[i];
		h->h *= UINT64_C(0x100000001b3);
	}
}

/* One line of the canonical text: "key=value\n" (the value may be NULL: "-"). */
static void hash_field(struct hash *h, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void hash_field(struct hash *h, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hash_bytes(h, key, strlen(key));
	hash_bytes(h, "=", 1);
	/* A longer value (a hostile exception type) is hashed in full, not cut. */
	if (n >= (int)sizeof(buf)) {
		char *big = malloc((size_t)n + 1);
		if (big) {
			va_start(ap, fmt);
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			va_end(ap);
			hash_bytes(h, big, (size_t)n);
			free(big);
		}
	} else if (n > 0) {
		hash_bytes(h, buf, (size_t)n);
	}
	hash_bytes(h, "\n", 1);
}

static const char *base_name(const char *path)
{
	if (!path)
		return "-";
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Frames every abort shares, whoever called abort: the C library's raise/abort and its
 * fatal-error reporters, the C++ runtime's terminate and throw machinery. Compared up to
 * the demangled name's '(' so that "std::terminate()" matches "std::terminate". */
static bool is_abort_machinery(const char *function)
{
	static const char *const names[] = {
		"raise", "__GI_raise", "gsignal", "abort", "__GI_abort",
		"pthread_kill", "__pthread_kill", "__GI___pthread_kill", "__pthread_kill_internal",
		"__pthread_kill_implementation",
		"__assert_fail", "__assert_fail_base", "__GI___assert_fail", "__assert_perror_fail",
		"__libc_message", "__libc_fatal", "__fortify_fail", "__chk_fail", "__stack_chk_fail",
		"malloc_printerr",
		"std::terminate", "std::__terminate", "__cxxabiv1::__terminate", "__cxa_throw",
		"__cxa_rethrow", "__cxa_call_terminate", "__cxa_call_unexpected",
		"__gnu_cxx::__verbose_terminate_handler", "std::rethrow_exception",
	};

	if (!function)
		return false;
	size_t len = strcspn(function, "(");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && strncmp(function, names[i], len) == 0)
			return true;
	return false;
}

/* A frame by what does not change from run to run. */
static void hash_frame(struct hash *h, const char *key, const struct cp_frame *f)
{
	if (f->kind == CP_FRAME_MANAGED && f->has_token)
		hash_field(h, key, "managed %s 0x%08" PRIx32, base_name(f->assembly), f->token);
	else if (f->build_id && f->has_module_offset)
		hash_field(h, key, "native %s+0x%" PRIx64, f->build_id, f->module_offset);
	else if (f->module && f->has_module_offset)
		hash_field(h, key, "native %s+0x%" PRIx64, base_name(f->module), f->module_offset);
	else if (f->function)
		hash_field(h, key, "function %s", f->function);
	else if (f->display)
		hash_field(h, key, "function %s", f->display);
	else
		hash_field(h, key, "unknown");
}

/* The throw site: the first frame of the exception's own stack (the runtime's order puts
 * the frame that threw first), or none when the exception recorded no stack. */
static const struct cp_frame *throw_site(const struct cp_exception *e)
{
	if (!e->has_stack)
		return NULL;
	for (size_t i = 0; i < e->n_stack; i++)
		if (e->stack[i].kind != CP_FRAME_INLINE)
			return &e->stack[i];
	return NULL;
}

int cp_report_sign(struct cp_report *r)
{
	struct hash h = { UINT64_C(0xcbf29ce484222325) };
	const struct cp_thread *t = cp_report_crashed_thread(r);

	hash_field(&h, "scheme", SCHEME);
	hash_field(&h, "signal", "%d", r->process.signal);
	hash_field(&h, "exe", "%s", base_name(r->process.exe ? r->process.exe : r->process.comm));
	if (t && t->exception) {
		const struct cp_frame *site = throw_site(t->exception);
		hash_field(&h, "exception", "%s", t->exception->type ? t->exception->type : "-");
		if (site)
			hash_frame(&h, "throw", site);
		else
			hash_field(&h, "throw", "unknown");
	} else if (t) {
		size_t n = 0, i = 0;
		/* Skip the abort machinery on top, unless that is all there is. */
		while (i < t->n_frames && (t->frames[i].kind == CP_FRAME_INLINE || is_abort_machinery(t->frames[i].function)))
			i++;
		if (i == t->n_frames)
			i = 0;
		for (; i < t->n_frames && n < CP_SIGNATURE_FRAMES; i++) {
			if (t->frames[i].kind == CP_FRAME_INLINE)
				continue;
			hash_frame(&h, "frame", &t->frames[i]);
			n++;
		}
		if (n == 0)
			hash_field(&h, "frame", "none");
	}

	char *s;
	if (asprintf(&s, "%016" PRIx64, h.h) < 0)
		return -ENOMEM;
	free(r->signature);
	r->signature = s;
	return 0;
}

bool cp_signature_valid(const char *s)
{
	if (!s || strlen(s) != CP_SIGNATURE_LEN)
		return false;
	for (size_t i = 0; i < CP_SIGNATURE_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The xattr through an O_PATH descriptor of the entry (no link followed, nothing opened
 * for reading: a FIFO is not waited on), read by its /proc/self/fd name. */
static int signature_xattr(int dir_fd, const char *name, char out[CP_SIGNATURE_LEN + 1])
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char path[64], buf[CP_SIGNATURE_LEN + 1];

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISLNK(st.st_mode) ? -ELOOP : -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = getxattr(path, CP_SIGNATURE_XATTR, buf, CP_SIGNATURE_LEN);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (!cp_signature_valid(buf))
		return -EINVAL;
	memcpy(out, buf, CP_SIGNATURE_LEN + 1);
	return 0;
}

int cp_signature_of_file(int dir_fd, const char *name, char out[CP_SIGNATURE_LEN + 1])
{
	struct cp_report *r = NULL;
	const char *why = NULL;
	int ret = signature_xattr(dir_fd, name, out);

	if (ret == 0 || ret == -ELOOP || ret == -EBADF || ret == -ENOENT)
		return ret;
	ret = cp_report_loadat(dir_fd, name, &r, &why);
	if (ret < 0)
		return ret;
	if (!cp_signature_valid(r->signature))
		ret = cp_report_sign(r);
	if (ret == 0)
		memcpy(out, r->signature, CP_SIGNATURE_LEN + 1);
	cp_report_destroy(r);
	return ret;
}

bool cp_signature_abort_frame(const char *function)
{
	return is_abort_machinery(function);
}
