/*
 * test-target.c - the memory target: the core's bytes first, then the mapped file at its
 * NT_FILE offset, opened inside the given root; links, FIFOs, devices and replaced files
 * are refused, without hanging, and a FIFO or a device is never opened at all (only O_PATH):
 * a writer blocked in open() of the FIFO would be let through by any reader's open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "fsopen.h"
#include "synth.h"
#include "target.h"
#include "unit.h"
#include "zio.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

static char root[] = "/tmp/test-target-XXXXXX";

static void put_file(const char *rel, unsigned char fill, size_t len)
{
	char path[256];
	unsigned char buf[8192];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	memset(buf, fill, sizeof(buf));
	for (size_t i = 0; i < len; i += 4096)
		buf[i % sizeof(buf)] = (unsigned char)(i / 4096);	/* page number marks */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

/* NT_FILE with several mappings: name i maps [start, end) at page offset. */
static void add_files(struct synth *s, const char *const *names, const uint64_t (*e)[3], size_t n)
{
	unsigned char d[2048];
	uint64_t hdr[2] = { n, 4096 };
	size_t off = 16 + n * 24;
	memcpy(d, hdr, 16);
	memcpy(d + 16, e, n * 24);
	for (size_t i = 0; i < n; i++) {
		strcpy((char *)d + off, names[i]);
		off += strlen(names[i]) + 1;
	}
	synth_note(s, "CORE", NT_FILE, d, off);
}

/* Is the FIFO @rel of the root opened for reading while @walk ? cp_open_in_root_walk() :
 * cp_open_in_root() refuses it? A child blocks in open(O_WRONLY), which returns as soon as
 * any reader opens the FIFO, even for a moment; it must still be blocked afterwards. */
static bool fifo_opened_by(int rootfd, const char *rel, bool walk, bool follow, int *ret)
{
	char path[256], sc[64] = "";
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	pid_t pid = fork();
	if (pid == 0) {
		int w = open(path, O_WRONLY);
		_exit(w >= 0 ? 0 : 1);
	}
	/* until it waits in openat(2) (x86-64: 257) */
	for (int i = 0; i < 200; i++) {
		char f[64];
		snprintf(f, sizeof(f), "/proc/%d/syscall", (int)pid);
		FILE *fp = fopen(f, "r");
		if (fp) {
			if (!fgets(sc, sizeof(sc), fp))
				sc[0] = '\0';
			fclose(fp);
		}
		if (strncmp(sc, "257 ", 4) == 0)
			break;
		nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	CHECK(strncmp(sc, "257 ", 4) == 0);
	*ret = walk ? cp_open_in_root_walk(rootfd, rel, follow) : cp_open_in_root(rootfd, rel, follow);
	nanosleep(&(struct timespec) { .tv_nsec = 200 * 1000 * 1000 }, NULL);
	int status;
	bool opened = waitpid(pid, &status, WNOHANG) == pid;
	if (!opened) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return opened;
}

int main(void)
{
	static struct synth s;
	char path[256];

	CHECK(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/lib", root);
	mkdir(path, 0755);
	put_file("lib/good.so", 0x11, 8192);
	put_file("lib/real.so", 0x22, 4096);
	snprintf(path, sizeof(path), "%s/lib/link.so", root);
	CHECK(symlink("real.so", path) == 0);
	snprintf(path, sizeof(path), "%s/lib/fifo.so", root);
	CHECK(mkfifo(path, 0644) == 0);
	snprintf(path, sizeof(path), "%s/lib/escape.so", root);
	CHECK(symlink("/etc/passwd", path) == 0);

	synth_thread(&s, 7, 0x10000, 0x20000);
	static const char *const names[] = {
		"/lib/good.so", "/lib/good.so", "/lib/link.so", "/lib/fifo.so", "/lib/real.so (deleted)",
		"/lib/escape.so", "/lib/../../../../etc/passwd", "/dev/zero",
	};
	static const uint64_t e[][3] = {
		{ 0x100000, 0x101000, 0 }, { 0x101000, 0x102000, 1 }, { 0x200000, 0x201000, 0 },
		{ 0x300000, 0x301000, 0 }, { 0x400000, 0x401000, 0 }, { 0x500000, 0x501000, 0 },
		{ 0x600000, 0x601000, 0 }, { 0x700000, 0x701000, 0 },
	};
	add_files(&s, names, e, 8);
	synth_load(&s, 0x20000, 0x1000, 0x99);
	synth_load(&s, 0x100000, 0x100, 0x77);	/* the core holds the first bytes */
	synth_finish(&s);

	snprintf(path, sizeof(path), "%s/core", root);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, s.buf, s.len) == (ssize_t)s.len);
	struct cp_input *in;
	struct cp_core *core;
	struct cp_core_config cfg = CP_CORE_CONFIG_DEFAULT;
	const char *why;
	CHECK(cp_input_open(fd, &in) == 0);
	CHECK(cp_core_read(in, &cfg, &core, &why) == 0);

	int rootfd = cp_open_root(root);
	CHECK(rootfd >= 0);
	struct cp_target *t;
	CHECK(cp_target_create(core, rootfd, &t) == 0);

	unsigned char b[64];
	/* The core first... */
	CHECK(cp_target_read(t, 0x20010, b, 8) == 0 && b[0] == 0x99);
	CHECK(cp_target_read(t, 0x100000, b, 8) == 0 && b[0] == 0x77);
	/* ...the file where the core ends, across the boundary too... */
	CHECK(cp_target_read(t, 0x1000f8, b, 16) == 0 && b[0] == 0x77 && b[8] == 0x11);
	/* ...at the NT_FILE page offset: page 1 of the file is marked 1. */
	CHECK(cp_target_read(t, 0x101000, b, 4) == 0 && b[0] == 1 && b[1] == 0x11);
	CHECK(cp_target_read_core(t, 0x101000, b, 4) == -EFAULT);
	/* Nothing mapped, nothing read. */
	CHECK(cp_target_read(t, 0x900000, b, 4) == -EFAULT);
	CHECK(cp_target_read(t, UINT64_MAX - 2, b, 8) == -EFAULT);
	/* A link, a FIFO (without hanging), a deleted file, an escape, a device: refused. */
	CHECK(cp_target_read(t, 0x200000, b, 4) == -EFAULT);
	CHECK(cp_target_file_fd(t, "/lib/link.so") == -ELOOP);
	CHECK(cp_target_read(t, 0x300000, b, 4) == -EFAULT);
	CHECK(cp_target_file_fd(t, "/lib/fifo.so") == -EINVAL);
	CHECK(cp_target_read(t, 0x400000, b, 4) == -EFAULT);
	CHECK(cp_target_read(t, 0x500000, b, 4) == -EFAULT);
	CHECK(cp_target_read(t, 0x600000, b, 4) == -EFAULT);
	CHECK(cp_target_read(t, 0x700000, b, 4) == -EFAULT);
	/* A blocked file is no longer served, cached pages included. */
	cp_target_block_file(t, "/lib/good.so");
	CHECK(cp_target_read(t, 0x101000, b, 4) == -EFAULT);
	CHECK(cp_target_read(t, 0x100000, b, 4) == 0);

	/* The fallback without openat2 keeps the same rules. */
	for (int follow = 0; follow < 2; follow++) {
		int gfd = cp_open_in_root_walk(rootfd, "/lib/good.so", follow);
		CHECK(gfd >= 0);
		if (gfd >= 0)
			close(gfd);
		CHECK(cp_open_in_root_walk(rootfd, "/lib/fifo.so", follow) == -EINVAL);
		CHECK(cp_open_in_root_walk(rootfd, "/lib/../../../etc/passwd", follow) == -ENOENT);
		/* a link to /etc/passwd: refused, or followed inside the root where there is none */
		CHECK(cp_open_in_root_walk(rootfd, "/lib/escape.so", follow) == (follow ? -ENOENT : -ELOOP));
		CHECK(cp_open_in_root_walk(rootfd, "/nonexistent/x", follow) == -ENOENT);
	}
	CHECK(cp_open_in_root_walk(rootfd, "/lib/link.so", false) == -ELOOP);
	int lfd = cp_open_in_root_walk(rootfd, "/lib/link.so", true);	/* to real.so, inside the root */
	CHECK(lfd >= 0);
	if (lfd >= 0) {
		unsigned char c;
		CHECK(read(lfd, &c, 1) == 1 && c == 0);	/* real.so's page 0 mark */
		close(lfd);
	}
	CHECK(cp_open_in_root(rootfd, "/lib/link.so", true) >= 0);

	/* A FIFO and a device in the root: refused without being opened (O_PATH, then fstat). */
	snprintf(path, sizeof(path), "%s/lib/probe.fifo", root);
	CHECK(mkfifo(path, 0644) == 0);
	for (int walk = 0; walk < 2; walk++)
		for (int follow = 0; follow < 2; follow++) {
			int r = 0;
			CHECK(!fifo_opened_by(rootfd, "/lib/probe.fifo", walk, follow, &r));
			CHECK(r == -EINVAL);
		}
	snprintf(path, sizeof(path), "%s/lib/zero.so", root);
	if (mknod(path, S_IFCHR | 0644, makedev(1, 5)) == 0) {	/* /dev/zero's node */
		for (int follow = 0; follow < 2; follow++) {
			CHECK(cp_open_in_root(rootfd, "/lib/zero.so", follow) == -EINVAL);
			CHECK(cp_open_in_root_walk(rootfd, "/lib/zero.so", follow) == -EINVAL);
		}
	} else {
		printf("no device node check: mknod: %m\n");
	}
	/* A link to the FIFO, followed inside the root: the FIFO is still not opened. */
	snprintf(path, sizeof(path), "%s/lib/tofifo.so", root);
	CHECK(symlink("probe.fifo", path) == 0);
	int r = 0;
	CHECK(!fifo_opened_by(rootfd, "/lib/tofifo.so", false, true, &r) && r == -EINVAL);
	CHECK(!fifo_opened_by(rootfd, "/lib/tofifo.so", true, true, &r) && r == -EINVAL);
	CHECK(cp_open_in_root(rootfd, "/lib/tofifo.so", false) == -ELOOP);
	CHECK(cp_open_in_root_walk(rootfd, "/lib/tofifo.so", false) == -ELOOP);

	cp_target_destroy(t);
	cp_core_destroy(core);
	cp_input_destroy(in);
	close(fd);
	close(rootfd);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	(void) !system(cmd);
	return UNIT_DONE();
}
