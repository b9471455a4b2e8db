/* sumrss.c - the total memory of a set of processes over time, for bench/burst: every
 * INTERVAL ms, the sum of the resident set sizes (/proc/PID/statm, resident pages) of every
 * process whose command line (arguments joined by spaces) starts with one of TEXT... (the
 * handler's path as the kernel or a socket activator runs it, not a process that merely
 * names it), and how many there are. Starts at once; stops once
 * it has seen one and then none for IDLE ms (or after LIMIT s), then prints
 *
 *   peak_rss_kb N peak_procs N first_ms N last_ms N samples N
 *
 * (first_ms / last_ms: when a process was first and last seen, from the start).
 *
 *   sumrss INTERVAL_MS IDLE_MS LIMIT_S TEXT...
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: sumrss INTERVAL_MS IDLE_MS LIMIT_S TEXT...\n");
		return 64;
	}
	long interval = atol(argv[1]), idle = atol(argv[2]), limit = atol(argv[3]) * 1000L;
	long page_kb = sysconf(_SC_PAGESIZE) / 1024, start = now_ms(), first = -1, last = -1;
	long peak_kb = 0, peak_procs = 0, samples = 0;
	long self = (long)getpid();

	for (;;) {
		long t = now_ms() - start, kb = 0, procs = 0;
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[300], buf[4096];
			if (!isdigit((unsigned char)e->d_name[0]) || atol(e->d_name) == self)
				continue;
			snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
			int n = read_file(path, buf, sizeof(buf));
			if (n <= 0)
				continue;
			for (int i = 0; i < n; i++)
				if (!buf[i])
					buf[i] = ' ';
			int match = 0;
			for (int i = 4; i < argc && !match; i++)
				match = strncmp(buf, argv[i], strlen(argv[i])) == 0;
			if (!match)
				continue;
			snprintf(path, sizeof(path), "/proc/%s/statm", e->d_name);
			long size, resident;
			if (read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%ld %ld", &size, &resident) != 2)
				continue;
			kb += resident * page_kb;
			procs++;
		}
		if (d)
			closedir(d);
		samples++;
		if (procs) {
			if (first < 0)
				first = t;
			last = t;
		}
		if (kb > peak_kb)
			peak_kb = kb;
		if (procs > peak_procs)
			peak_procs = procs;
		if ((first >= 0 && !procs && t - last >= idle) || t >= limit)
			break;
		usleep((useconds_t)interval * 1000);
	}
	printf("peak_rss_kb %ld peak_procs %ld first_ms %ld last_ms %ld samples %ld\n", peak_kb, peak_procs, first, last,
	       samples);
	return 0;
}
