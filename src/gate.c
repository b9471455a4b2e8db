/*
 * gate.c - the analysis slots shared by every handler on the machine (see gate.h).
 *
 * Waiting is in the kernel, not a poll loop: a waiter blocks in flock() on one slot and is
 * woken when its holder lets go; a short timer (SIGALRM, no SA_RESTART) interrupts it now
 * and then to try every slot again, so that a waiter parked on a slot that stays busy still
 * takes another that came free. Hundreds of waiting handlers cost a few system calls each
 * per second.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "gate.h"
#include "retention.h"
#include "log.h"
#include "procfs.h"
#include "spool.h"

/* How often a waiter looks at every slot again (ms). */
#define GATE_RETRY_MS 150

unsigned cp_gate_default_analyses(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CP_GATE_MAX_SLOTS ? CP_GATE_MAX_SLOTS : (unsigned)n;
}

uint64_t cp_gate_default_memory(unsigned n_slots)
{
	_cleanup_free_ char *s = cp_read_small_file(AT_FDCWD, "/proc/meminfo");
	unsigned long long kb = 0;
	const char *p = s ? strstr(s, "MemTotal:") : NULL;
	uint64_t floor = (uint64_t)(n_slots ? n_slots : 1) * CP_GATE_ANALYSIS_BASE;

	if (!p || sscanf(p, "MemTotal: %llu kB", &kb) != 1)
		return floor;
	uint64_t quarter = (uint64_t)kb * 1024 / 4;
	return quarter > floor ? quarter : floor;
}

int cp_gate_parse_size(const char *s, bool suffixes, uint64_t *ret)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	if (suffixes) {
		/* The spool caps' size syntax (retention.h), without their "auto". */
		uint64_t u;
		if (cp_parse_size(s, &u) < 0 || u == CP_RETENTION_AUTO)
			return -EINVAL;
		*ret = u;
		return 0;
	}
	errno = 0;
	unsigned long long u = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = u;
	return 0;
}

int cp_gate_open(struct cp_gate *g, const char *dir, unsigned n_slots, uint64_t max_memory)
{
	*g = (struct cp_gate) CP_GATE_NULL;
	if (n_slots < 1)
		n_slots = 1;
	if (n_slots > CP_GATE_MAX_SLOTS)
		n_slots = CP_GATE_MAX_SLOTS;
	/* The parent of the gate is /run/crashpipe, made by install and tmpfiles.d, 0755 as
	 * there; cp_spool_open() checks every directory on the way, follows nothing and makes
	 * the gate itself 0700. */
	_cleanup_free_ char *parent = strdup(dir);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (!parent)
		return -ENOMEM;
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	int fd = cp_spool_open(dir);
	if (fd < 0)
		return fd;
	g->dir_fd = fd;
	g->n_slots = n_slots;
	g->slot_bytes = max_memory / n_slots;
	if (g->slot_bytes < CP_GATE_ANALYSIS_BASE)
		g->slot_bytes = CP_GATE_ANALYSIS_BASE;
	return 0;
}

unsigned cp_gate_slots_for(const struct cp_gate *g, uint64_t bytes)
{
	uint64_t n = g->slot_bytes ? (bytes + g->slot_bytes - 1) / g->slot_bytes : 1;
	return n < 1 ? 1 : n > g->n_slots ? g->n_slots : (unsigned)n;
}

/* The file of slot @k, opened without following a link, a regular file of ours. */
static int open_slot(const struct cp_gate *g, unsigned k)
{
	char name[32];
	struct stat st;

	snprintf(name, sizeof(name), "slot.%u", k);
	int fd = openat(g->dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Lock slot @k (blocking or not) and hold it. 0, -EAGAIN (busy), -EINTR (the timer) or
 * -errno. */
static int take_slot(struct cp_gate *g, unsigned k, bool block)
{
	int fd = open_slot(g, k);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | (block ? 0 : LOCK_NB)) < 0) {
		int r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		close(fd);
		return r;
	}
	g->held[g->n_held++] = fd;
	return 0;
}

void cp_gate_release(struct cp_gate *g)
{
	for (unsigned i = 0; i < g->n_held; i++)
		close(g->held[i]);	/* the last close drops the flock */
	g->n_held = 0;
}

void cp_gate_close(struct cp_gate *g)
{
	cp_gate_release(g);
	if (g->dir_fd >= 0)
		close(g->dir_fd);
	g->dir_fd = -1;
}

int cp_gate_try(struct cp_gate *g, uint64_t bytes)
{
	if (g->dir_fd < 0)
		return -EBADF;
	if (g->n_held)
		return 0;
	unsigned need = cp_gate_slots_for(g, bytes);
	/* One slot: any free one, starting at a place of our own so that handlers spread. */
	if (need == 1) {
		unsigned start = (unsigned)getpid() % g->n_slots;
		for (unsigned i = 0; i < g->n_slots; i++) {
			int r = take_slot(g, (start + i) % g->n_slots, false);
			if (r != -EAGAIN)
				return r;
		}
		return -EAGAIN;
	}
	/* More: the lowest ones, in order, all or none. */
	for (unsigned k = 0; k < need; k++) {
		int r = take_slot(g, k, false);
		if (r < 0) {
			cp_gate_release(g);
			return r;
		}
	}
	return 0;
}

static void on_alarm(int sig)
{
	(void) sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cp_gate_wait(struct cp_gate *g, uint64_t bytes, unsigned timeout)
{
	int r = cp_gate_try(g, bytes);
	if (r != -EAGAIN)
		return r;

	/* SIGALRM interrupts the blocking flock() (no SA_RESTART); the old handler and timer
	 * come back after. */
	struct sigaction sa = { .sa_handler = on_alarm }, old_sa;
	struct itimerval tick = { .it_interval = { 0, GATE_RETRY_MS * 1000 }, .it_value = { 0, GATE_RETRY_MS * 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } }, old_timer;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, &old_sa) < 0)
		return -errno;
	(void) setitimer(ITIMER_REAL, &tick, &old_timer);

	unsigned need = cp_gate_slots_for(g, bytes);
	int64_t deadline = now_ms() + (int64_t)timeout * 1000;
	r = -ETIMEDOUT;
	while (now_ms() < deadline) {
		int t;
		if (need == 1) {
			/* Park on one slot until it frees or the timer rings, then look at all. */
			t = take_slot(g, (unsigned)getpid() % g->n_slots, true);
			if (t == -EINTR)
				t = cp_gate_try(g, bytes);
		} else {
			/* In order, holding what we have: the lowest slots first for everyone
			 * who needs more than one, so no two wait on each other. */
			t = 0;
			while (g->n_held < need && t == 0)
				t = take_slot(g, g->n_held, true);
			if (t == -EINTR)
				continue;
		}
		if (t == 0) {
			r = 0;
			break;
		}
		if (t != -EAGAIN && t != -EINTR) {
			r = t;
			break;
		}
	}
	if (r < 0)
		cp_gate_release(g);
	(void) setitimer(ITIMER_REAL, &off, NULL);
	(void) sigaction(SIGALRM, &old_sa, NULL);
	(void) setitimer(ITIMER_REAL, &old_timer, NULL);
	return r;
}
