/* inline.c - crash corpus: C at -O2, inline frames in the program and in libc (issue 9).
 *
 * main -> run (physical) -> sort_all (inlined) -> qsort(), whose merge sort in glibc is
 * inlined into itself and into qsort_r (stdlib/msort.c: msort_with_tmp), found in libc's
 * separate debuginfo -> by_value (physical, the comparison) -> key_of (inlined) ->
 * load (inlined), where the NULL pointer is read. With a symcache of libc (symcache.h)
 * a warm report must find the same inline frames as a cold one.
 *
 * Build: cc -g -O2 -o inline-c inline.c
 */
#include <stdio.h>
#include <stdlib.h>

#define INLINE static inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline, noclone))

int *volatile null_ptr;
volatile int sink;

INLINE int load(const int *p)
{
	if (*p == 3)
		return *null_ptr;	/* CRASH-LINE */
	return *p;
}

INLINE int key_of(const void *a)
{
	sink = 1;
	return load(a) * 2;	/* CALL-LOAD */
}

NOINLINE int by_value(const void *a, const void *b)
{
	int x = key_of(a);	/* CALL-KEY */
	return x - *(const int *)b * 2;
}

INLINE void sort_all(int *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), by_value);	/* CALL-QSORT */
	sink = v[0];
}

NOINLINE void run(int n)
{
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = 64 - i;
	sort_all(v, 64);	/* CALL-SORT */
	sink = n;
}

int main(int argc, char **argv)
{
	(void)argv;
	run(argc);	/* CALL-RUN */
	return 0;
}
