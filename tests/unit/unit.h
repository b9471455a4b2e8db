#ifndef CP_UNIT_H
#define CP_UNIT_H

/*
 * unit.h - the smallest test harness that does the job: CHECK() reports the failing
 * expression with its line and counts; main() returns non-zero when any check failed.
 */

#include <stdio.h>

static int unit_failures;
static int unit_checks;

#define CHECK(expr) do { \
	unit_checks++; \
	if (!(expr)) { \
		unit_failures++; \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr); \
	} \
} while (0)

#define UNIT_DONE() ({ \
	printf("%d checks, %d failed\n", unit_checks, unit_failures); \
	unit_failures ? 1 : 0; })

#endif
