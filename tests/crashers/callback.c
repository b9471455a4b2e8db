/* callback.c - crash corpus: crash in a callback called from inside libc.
 *
 * Exercises: unwinding out of our code, through libc's qsort (msort_with_tmp recursion, then
 * qsort_r; no frame pointers there) and back into ours.  The comparison function
 * compare_records() dereferences a record's pointer field, which is NULL for exactly one
 * record, so the crash happens deep inside the sort:
 *   compare_records <- msort_with_tmp (several) <- qsort_r <- sort_records <- main
 *
 * Build: cc -g -O2 -o callback callback.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define NRECORDS 64

struct record {
	int key;
	const int *weight;	/* NULL in one record */
};

static const int one = 1;
static struct record records[NRECORDS];

static NOINLINE int compare_records(const void *a, const void *b)
{
	const struct record *ra = a, *rb = b;

	return ra->key * *ra->weight - rb->key * *rb->weight; /* CRASH-LINE */
}

static NOINLINE void sort_records(struct record *r, size_t n)
{
	qsort(r, n, sizeof *r, compare_records); /* CALL-LINE */
	KEEP_FRAME();
}

int main(void)
{
	for (int i = 0; i < NRECORDS; i++) {
		records[i].key = (i * 37) % NRECORDS;
		records[i].weight = i == NRECORDS - 5 ? NULL : &one;
	}
	printf("crash tid %d\n", (int)getpid());
	fflush(stdout);
	sort_records(records, NRECORDS);
	printf("%d\n", records[0].key);
	return 0;
}
