/*
 * test-ratelimit.c - the crash-loop limit's rules on a state file in a fresh directory
 * (ratelimit.h): N/WINDOW parsing, the limit per signature over every key that found it,
 * a key's own slots before its signature is known, the window, a key that found two
 * signatures, the counts list reads, a damaged, linked or oversized state file, the bound
 * on keys; the .NET scheme (a fine key decided as a native one, the signature checked
 * after the analysis, the coarse key's bound on analyses without a report, counts kept by
 * signature when a key changes its); and list's --since forms (spoolcli.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ratelimit.h"
#include "spoolcli.h"
#include "unit.h"

static const char *SIG_A = "aaaaaaaaaaaaaaaa", *SIG_B = "bbbbbbbbbbbbbbbb";

static int check(int dir, const struct cp_ratelimit *rl, uint64_t key, int64_t now)
{
	struct cp_ratelimit_verdict v;
	int r = cp_ratelimit_check(dir, rl, key, now, &v);
	return r < 0 ? r : v.counted;
}

/* A .NET crash: the pre-analysis check, then (when analysed) the post-analysis one with
 * @sig. 0 reported, 1 counted before the analysis, 2 coarse-counted, 3 counted after it. */
static int check_dn(int dir, const struct cp_ratelimit *rl, uint64_t key, uint64_t coarse, const char *sig,
		    int64_t now)
{
	struct cp_ratelimit_verdict v, w;
	int r = cp_ratelimit_check_dotnet(dir, rl, key, coarse, now, &v);
	if (r < 0)
		return r;
	if (v.counted)
		return v.coarse ? 2 : 1;
	r = cp_ratelimit_check_signature(dir, rl, key, coarse, sig, v.slot, v.analysis, now, &w);
	if (r < 0)
		return r;
	if (w.counted)
		return 3;
	return cp_ratelimit_record(dir, key, sig);
}

static uint64_t counted_of(int dir, const char *sig)
{
	struct cp_ratelimit_count *c;
	size_t n;
	uint64_t total = 0;
	if (cp_ratelimit_counts(dir, &c, &n) < 0)
		return UINT64_MAX;
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].signature, sig) == 0)
			total += c[i].count;
	free(c);
	return total;
}

static void write_state(int dir, const char *text)
{
	unlinkat(dir, CP_RATELIMIT_STATE, 0);
	int fd = openat(dir, CP_RATELIMIT_STATE, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

int main(void)
{
	struct cp_ratelimit rl;

	CHECK(cp_ratelimit_parse("5/1h", &rl) == 0 && rl.max == 5 && rl.window == 3600);
	CHECK(cp_ratelimit_parse("10/30m", &rl) == 0 && rl.max == 10 && rl.window == 1800);
	CHECK(cp_ratelimit_parse("1/90", &rl) == 0 && rl.max == 1 && rl.window == 90);
	CHECK(cp_ratelimit_parse("3/2d", &rl) == 0 && rl.window == 2 * 86400);
	CHECK(cp_ratelimit_parse("off", &rl) == 0 && rl.max == 0);
	CHECK(cp_ratelimit_parse("0", &rl) == 0 && rl.max == 0);
	const char *bad[] = { "", "5", "5/", "/1h", "-1/1h", "5/-1h", "5/1x", "5/1hh", "65/1h", "5/0", "5/1h ", "x/1h",
			      "5/99999999999999999999", "5/400d" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(cp_ratelimit_parse(bad[i], &rl) == -EINVAL);

	int64_t t;
	CHECK(cp_parse_since("-1h", 10000, &t) == 0 && t == 10000 - 3600);
	CHECK(cp_parse_since("-1h30min", 10000, &t) == 0 && t == 10000 - 5400);
	CHECK(cp_parse_since("-2d", 200000, &t) == 0 && t == 200000 - 172800);
	CHECK(cp_parse_since("-90", 1000, &t) == 0 && t == 910);
	CHECK(cp_parse_since("@1700000000", 0, &t) == 0 && t == 1700000000);
	CHECK(cp_parse_since("2023-11-14", 0, &t) == 0 && t == 1699920000);
	CHECK(cp_parse_since("2023-11-14 22:13:20", 0, &t) == 0 && t == 1700000000);
	CHECK(cp_parse_since("2023-11-14T22:13", 0, &t) == 0 && t == 1699999980);
	CHECK(cp_parse_since("today", 1700000000, &t) == 0 && t == 1699920000);
	CHECK(cp_parse_since("yesterday", 1700000000, &t) == 0 && t == 1699920000 - 86400);
	const char *bad_since[] = { "", "-", "-1x", "-h", "2023-13-45", "2023-11-14 25", "@", "@x", "tomorrowish" };
	for (size_t i = 0; i < sizeof(bad_since) / sizeof(bad_since[0]); i++)
		CHECK(cp_parse_since(bad_since[i], 1000, &t) == -EINVAL);

	char tmpl[] = "/tmp/test-ratelimit.XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 99;
	}
	int dir = open(tmpl, O_PATH | O_DIRECTORY);
	rl = (struct cp_ratelimit){ 3, 100 };

	/* Key 1: its own three slots before its signature is known, then counted. */
	CHECK(check(dir, &rl, 1, 1000) == 0);
	CHECK(check(dir, &rl, 1, 1001) == 0);
	CHECK(check(dir, &rl, 1, 1002) == 0);
	CHECK(check(dir, &rl, 1, 1003) == 1);
	CHECK(cp_ratelimit_record(dir, 1, SIG_A) == 0);
	CHECK(check(dir, &rl, 1, 1004) == 1);
	CHECK(counted_of(dir, SIG_A) == 2);
	/* Key 2 found the same signature: the limit is the signature's, over both keys. */
	CHECK(cp_ratelimit_record(dir, 2, SIG_A) == 0);
	CHECK(check(dir, &rl, 2, 1005) == 1);
	CHECK(counted_of(dir, SIG_A) == 3);
	/* Another program (key 3, signature B) is not touched by A's loop. */
	CHECK(check(dir, &rl, 3, 1006) == 0);
	CHECK(cp_ratelimit_record(dir, 3, SIG_B) == 0);
	CHECK(check(dir, &rl, 3, 1007) == 0);
	/* Past the window, A reports again. */
	CHECK(check(dir, &rl, 1, 1103) == 0);
	/* A key that found two signatures is never limited. */
	CHECK(cp_ratelimit_record(dir, 3, SIG_A) == 0);
	for (int i = 0; i < 10; i++)
		CHECK(check(dir, &rl, 3, 1200 + i) == 0);
	/* No limit: nothing is counted or written. */
	struct cp_ratelimit off = { 0, 100 };
	CHECK(check(dir, &off, 1, 1300) == 0);

	/* .NET: fine keys 10.., coarse key 20; a fresh state file. */
	unlinkat(dir, CP_RATELIMIT_STATE, 0);
	CHECK(cp_ratelimit_dotnet_analyses(&rl) == 12);
	CHECK(cp_ratelimit_dotnet_analyses(&(struct cp_ratelimit){ 64, 100 }) == CP_RATELIMIT_MAX_TIMES);
	/* One exception, one stack: three reports, then counted before any analysis. */
	for (int i = 0; i < 3; i++)
		CHECK(check_dn(dir, &rl, 10, 20, SIG_A, 2000 + i) == 0);
	CHECK(check_dn(dir, &rl, 10, 20, SIG_A, 2003) == 1);
	CHECK(counted_of(dir, SIG_A) == 1);
	/* Another exception of the same program (its own fine key 30): its own reports. */
	CHECK(check_dn(dir, &rl, 30, 20, SIG_B, 2004) == 0);
	/* The same exception from another stack (a new fine key): analysed, counted after it. */
	CHECK(check_dn(dir, &rl, 11, 20, SIG_A, 2005) == 3);
	CHECK(counted_of(dir, SIG_A) == 2);
	CHECK(check_dn(dir, &rl, 11, 20, SIG_A, 2006) == 1);	/* now known: before */
	/* New stacks every time: 12 analyses without a report (one spent above), then counted
	 * without one, for the signature the coarse key found last. */
	for (int i = 0; i < 11; i++)
		CHECK(check_dn(dir, &rl, 100 + i, 20, SIG_A, 2010 + i) == 3);
	CHECK(check_dn(dir, &rl, 200, 20, SIG_A, 2030) == 2);
	CHECK(counted_of(dir, SIG_A) == 3 + 11 + 1);
	/* ... and a known key is still decided by its own signature. */
	CHECK(check_dn(dir, &rl, 30, 20, SIG_B, 2031) == 0);
	/* A fine key that found two signatures goes by the coarse key's bound. */
	CHECK(cp_ratelimit_record(dir, 30, SIG_A) == 0);
	CHECK(check_dn(dir, &rl, 30, 20, SIG_B, 2032) == 2);
	/* Past the window, a new stack is analysed again. */
	CHECK(check_dn(dir, &rl, 300, 20, SIG_B, 2200) == 0);
	/* A key's counts stay its signature's when it finds another one. */
	uint64_t a = counted_of(dir, SIG_A), b = counted_of(dir, SIG_B);
	CHECK(cp_ratelimit_record(dir, 10, SIG_B) == 0);
	CHECK(counted_of(dir, SIG_A) == a && counted_of(dir, SIG_B) == b);
	/* The .NET lines parse; an old crashpipe's file is read as before. */
	write_state(dir, "0000000000000014 aaaaaaaaaaaaaaaa c 2 1 2 3000 3001\n"
			 "0000000000000015 aaaaaaaaaaaaaaaa s 5 1 2\n"
			 "0000000000000016 aaaaaaaaaaaaaaaa s 5 1 2 3000\n"
			 "0000000000000017 - s 5 1 2\n"
			 "0000000000000018 bbbbbbbbbbbbbbbb a 4 1 2 3000\n");
	CHECK(counted_of(dir, SIG_A) == 7);
	CHECK(counted_of(dir, SIG_B) == 4);

	/* A damaged state file: the lines that parse are kept, the rest dropped. */
	write_state(dir, "garbage\n"
			 "0000000000000001 aaaaaaaaaaaaaaaa - 7 1 2 1000 1000 1000\n"
			 "0000000000000002 AAAAAAAAAAAAAAAA - 7 1 2\n"
			 "0000000000000003 aaaaaaaaaaaaaaaa x 7 1 2\n"
			 "0000000000000004 aaaaaaaaaaaaaaaa - 99999999999999999999 1 2\n"
			 "0000000000000005 bbbbbbbbbbbbbbbb - 5 1 2 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65\n"
			 "0000000000000006 bbbbbbbbbbbbbbbb - 4 1 2 -5\n"
			 "0000000000000007 bbbbbbbbbbbbbbbb - 3 1 2");
	CHECK(counted_of(dir, SIG_A) == 7);
	CHECK(counted_of(dir, SIG_B) == 0);
	CHECK(check(dir, &rl, 1, 1001) == 1);
	CHECK(counted_of(dir, SIG_A) == 8);

	/* Bounded: a thousand keys keep at most CP_RATELIMIT_KEYS lines. */
	for (uint64_t k = 100; k < 1100; k++)
		CHECK(check(dir, &rl, k, 5000 + (int64_t)k) == 0);
	struct stat st;
	CHECK(fstatat(dir, CP_RATELIMIT_STATE, &st, 0) == 0 && st.st_size < CP_RATELIMIT_KEYS * 64);

	/* Not a regular file of ours with one link: refused (then handle reports). */
	unlinkat(dir, CP_RATELIMIT_STATE, 0);
	CHECK(symlinkat("/etc/passwd", dir, CP_RATELIMIT_STATE) == 0);
	CHECK(check(dir, &rl, 1, 1000) == -ELOOP);
	unlinkat(dir, CP_RATELIMIT_STATE, 0);
	CHECK(mkfifoat(dir, CP_RATELIMIT_STATE, 0600) == 0);
	CHECK(check(dir, &rl, 1, 1000) == -EBADF);
	unlinkat(dir, CP_RATELIMIT_STATE, 0);
	write_state(dir, "");
	CHECK(linkat(dir, CP_RATELIMIT_STATE, dir, "second-link", 0) == 0);
	CHECK(check(dir, &rl, 1, 1000) == -EPERM);
	unlinkat(dir, "second-link", 0);
	CHECK(fchmodat(dir, CP_RATELIMIT_STATE, 0644, 0) == 0);
	CHECK(check(dir, &rl, 1, 1000) == -EPERM);
	unlinkat(dir, CP_RATELIMIT_STATE, 0);
	int fd = openat(dir, CP_RATELIMIT_STATE, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 2 << 20) == 0);
	close(fd);
	CHECK(check(dir, &rl, 1, 1000) == -EFBIG);
	unlinkat(dir, CP_RATELIMIT_STATE, 0);

	close(dir);
	rmdir(tmpl);
	return UNIT_DONE();
}
