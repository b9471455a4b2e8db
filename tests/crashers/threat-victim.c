/* threat-victim.c - the crashing process of the threat tests (tests/run-threat-*.sh).
 *
 * Does what an attacker's process would before it crashes, as told by its options, then
 * dies of SIGSEGV (or waits first):
 *   --comm NAME        prctl(PR_SET_NAME, NAME): any bytes, newlines and ')' included
 *                      (\n, \t, \xHH in NAME are decoded)
 *   --thread-name NAME a second thread named NAME (decoded the same way)
 *   --resuid UID       setresuid(UID, UID, UID) after setresgid: a root program that
 *                      dropped its privileges (not dumpable with fs.suid_dumpable 0)
 *   --touch MIB        touch MIB MiB of memory, so the core is large and takes a while
 *   --sparse MIB       map MIB MiB and write its first page only (the kernel pipes MIB MiB,
 *                      nearly all zeros)
 *   --hold FILE        before crashing, print "held" and wait until FILE exists
 *   --log-line TEXT    write TEXT to stderr first (a forged log line; decoded)
 *   --map-file PATH    mmap PATH (decoded: names with newlines) and unlink it: its
 *                      /proc/PID/maps line and NT_FILE name end in " (deleted)"
 *   --huge-cmdline MIB point the kernel's argument and environment areas at MIB MiB of
 *                      "A"s and NULs (PR_SET_MM_MAP, allowed to any user): /proc/PID/cmdline
 *                      and environ are that long
 * Prints "pid N" first. Any further arguments are ignored (a large argv is the caller's).
 *
 * Build: cc -O1 -o threat-victim threat-victim.c -lpthread
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		exit(2);
	while (*s) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 't') {
			*o++ = '\t';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = { s[2], s[3], 0 };
			*o++ = (char)strtoul(hex, NULL, 16);
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* PR_SET_MM_MAP needs no privilege (only changing the exe link does): fill in the
 * process's own values from /proc/self/stat, with the argument and environment areas moved
 * to @a. */
static int set_args(char *a, size_t n)
{
	char buf[4096], *p;
	unsigned long long v[52] = { 0 };
	FILE *f = fopen("/proc/self/stat", "r");
	size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2;
	for (int field = 3; field <= 51 && *p; field++) {
		char *end;
		if (field == 3) {
			p += 2;
			continue;
		}
		v[field] = strtoull(p, &end, 10);
		p = end + (*end == ' ');
	}
	struct prctl_mm_map map = {
		.start_code = v[26], .end_code = v[27], .start_data = v[45], .end_data = v[46],
		.start_brk = v[47], .brk = (unsigned long)sbrk(0), .start_stack = v[28],
		.arg_start = (unsigned long)a, .arg_end = (unsigned long)(a + n),
		.env_start = (unsigned long)a, .env_end = (unsigned long)(a + n),
		.exe_fd = (__u32)-1,
	};
	return prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0);
}

static pthread_barrier_t named;

static void *worker(void *arg)
{
	prctl(PR_SET_NAME, arg);
	pthread_barrier_wait(&named);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *hold = NULL;
	volatile char *mem;

	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];
		if (strcmp(opt, "--comm") == 0) {
			prctl(PR_SET_NAME, decode(val));
		} else if (strcmp(opt, "--thread-name") == 0) {
			pthread_t t;
			pthread_barrier_init(&named, NULL, 2);
			if (pthread_create(&t, NULL, worker, decode(val)) != 0)
				return 2;
			pthread_barrier_wait(&named);
		} else if (strcmp(opt, "--resuid") == 0) {
			unsigned id = strtoul(val, NULL, 10);
			if (setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0) {
				perror("setresuid");
				return 2;
			}
		} else if (strcmp(opt, "--touch") == 0) {
			size_t n = strtoul(val, NULL, 10) << 20;
			mem = malloc(n);
			if (!mem)
				return 2;
			for (size_t j = 0; j < n; j += 4096)
				mem[j] = (char)j | 1;
		} else if (strcmp(opt, "--sparse") == 0) {
			size_t n = strtoul(val, NULL, 10) << 20;
			volatile char *z = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (z == MAP_FAILED)
				return 2;
			/* The kernel leaves out an anonymous mapping never written to; one page
			 * written puts the whole mapping in the core, the rest piped as zeros. */
			z[0] = 1;
		} else if (strcmp(opt, "--hold") == 0) {
			hold = val;
		} else if (strcmp(opt, "--map-file") == 0) {
			char *path = decode(val);
			int fd = open(path, O_RDONLY);
			if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
				perror(path);
				return 2;
			}
			unlink(path);
		} else if (strcmp(opt, "--huge-cmdline") == 0) {
			size_t n = strtoul(val, NULL, 10) << 20;
			char *a = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (a == MAP_FAILED)
				return 2;
			memset(a, 'A', n);
			for (size_t j = 4095; j < n; j += 4096)
				a[j] = '\0';
			if (set_args(a, n) < 0) {
				perror("PR_SET_MM_MAP");
				return 2;
			}
		} else if (strcmp(opt, "--log-line") == 0) {
			fputs(decode(val), stderr);
		} else {
			break;
		}
	}
	if (hold) {
		struct stat st;
		printf("held\n");
		fflush(stdout);
		while (stat(hold, &st) < 0)
			usleep(10000);
	}
	*(volatile int *)8 = 1;	/* CRASH-LINE */
	return 0;
}
