/*
 * fuzz-report.c - libFuzzer target for the report reader: cp_report_parse() on any bytes,
 * and on success the show printer (into /dev/null), which must cope with whatever the
 * reader accepted. Seeds: tests/fuzz/corpus/report/ (reports crashpipe analyze wrote for
 * real cores, and hostile ones).
 *
 * Dictionary: tests/fuzz/report.dict (-dict=).
 * Build: `./configure CC=clang --enable-fuzz && make fuzz-report` (against libcrashpipe.a:
 * src/report*.c, src/json-*.c, src/show.c and what they use).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "report.h"
#include "show.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct cp_report *r = NULL;
	const char *why = NULL;

	if (!null) {
		null = fopen("/dev/null", "we");
		cp_log_open(false, LOG_WARNING);
	}
	int ret = cp_report_parse((const char *)data, size, &r, &why);
	if (ret == 0) {
		if (!r)
			__builtin_trap();
		cp_show_report(null, r);
		/* Written back, it must read again. */
		char *json = cp_report_to_json(r);
		if (json) {
			struct cp_report *again = NULL;
			const char *why2;
			if (cp_report_parse(json, __builtin_strlen(json), &again, &why2) < 0) {
				fprintf(stderr, "a report written by cp_report_to_json does not parse: %s\n", why2);
				__builtin_trap();
			}
			cp_report_destroy(again);
			free(json);
		}
		cp_report_destroy(r);
	} else if (ret == -EINVAL && !why) {
		__builtin_trap();	/* -EINVAL always says why */
	}
	return 0;
}
