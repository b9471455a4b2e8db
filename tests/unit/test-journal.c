/*
 * test-journal.c - threats.md T22 on the fields crashpipe sends to the journal
 * (cp_journal_fields()): a report whose process facts and .NET exception came from a
 * hostile process (newlines and "FIELD=value" lines in comm, cmdline and the exception
 * message, a 1 MiB message, a 2 MiB frame name) gives fields whose names are only ours, each
 * once, with no control character in any value but MESSAGE's own line breaks, every value
 * within its cap and cut ones ending in the marker.
 *
 * With --send PID it sends that report's entry (COREDUMP_PID=PID) with cp_journal_send() and
 * prints what cp_journal_send() returned, for tests/run-threat-journal.sh to read back.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "report.h"
#include "unit.h"

static char *repeat(const char *piece, size_t size)
{
	size_t k = strlen(piece);
	char *s = malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		s[i] = piece[i % k];
	s[size] = '\0';
	return s;
}

static struct cp_report *hostile_report(pid_t pid)
{
	struct cp_report *r = cp_report_create();
	struct cp_process *p = &r->process;
	p->pid = pid;
	p->has_ids = true;
	p->signal = 6;
	p->time = 1700000000;
	p->comm = strdup("x\nCOREDUMP_UID=0");
	p->exe = strdup("/tmp/evil\nCOREDUMP_EXE=/usr/bin/sshd");
	p->cmdline = repeat("A\nCOREDUMP_SIGNAL=9\n\x1b[2J", 1 << 20);
	p->cgroup = strdup("0::/system.slice/evil\nx.service");
	r->runtime.present = true;
	r->runtime.kind = strdup("coreclr");
	struct cp_thread *t = cp_report_add_thread(r, pid);
	t->crashed = true;
	struct cp_frame *f = cp_thread_add_frame(t, 0x1000, 0x2000);
	f->function = repeat("F\nMESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1\n", 2 << 20);
	f->module = strdup("/lib/evil\n.so");
	t->exception = calloc(1, sizeof(*t->exception));
	t->exception->type = strdup("System.Exception\nCRASHPIPE_SIGNATURE=0000000000000000");
	t->exception->message = repeat("boom\nPRIORITY=7\r\n", 1 << 20);
	return r;
}

static bool ours(const char *name, size_t n)
{
	if (n == 0 || n > 64 || name[0] == '_')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
			return false;
	return true;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--send") == 0) {
		struct cp_report *r = hostile_report(atoi(argv[2]));
		int e = cp_journal_send(r, "/var/lib/crashpipe/x\nCOREDUMP_PID=1.json.zst", "0123456789abcdef", NULL);
		printf("%d\n", e);
		cp_report_destroy(r);
		return e < 0;
	}

	struct cp_report *r = hostile_report(4242);
	struct cp_journal_fields f = { .n = 0 };
	CHECK(cp_journal_fields(r, "/var/lib/crashpipe/r.json.zst", NULL, NULL, &f) == 0);
	CHECK(f.n > 10);
	const char *names[CP_JOURNAL_MAX_FIELDS];
	size_t lens[CP_JOURNAL_MAX_FIELDS];
	bool cut_cmdline = false, cut_exc = false;
	for (size_t i = 0; i < f.n; i++) {
		const char *s = f.iov[i].iov_base;
		size_t len = f.iov[i].iov_len;
		const char *eq = memchr(s, '=', len);
		CHECK(eq != NULL);
		if (!eq)
			continue;
		size_t n = eq - s, vlen = len - n - 1;
		const char *v = eq + 1;
		names[i] = s;
		lens[i] = n;
		CHECK(ours(s, n));
		for (size_t j = 0; j < i; j++)
			CHECK(lens[j] != n || memcmp(names[j], s, n) != 0);	/* each field once */
		bool message = n == 7 && memcmp(s, "MESSAGE", 7) == 0;
		CHECK(strlen(v) == vlen);	/* no NUL inside */
		for (size_t k = 0; k < vlen; k++)
			CHECK(((unsigned char)v[k] >= 0x20 && v[k] != 0x7f) || (message && v[k] == '\n'));
		CHECK(vlen <= (message ? CP_JOURNAL_MESSAGE_MAX : CP_JOURNAL_EXCEPTION_MAX) + strlen(CP_JOURNAL_TRUNCATED));
		bool marked = vlen >= strlen(CP_JOURNAL_TRUNCATED) &&
			      strcmp(v + vlen - strlen(CP_JOURNAL_TRUNCATED), CP_JOURNAL_TRUNCATED) == 0;
		if (n == 16 && memcmp(s, "COREDUMP_CMDLINE", n) == 0)
			cut_cmdline = marked && vlen <= CP_JOURNAL_FIELD_MAX + strlen(CP_JOURNAL_TRUNCATED);
		if (n == 27 && memcmp(s, "CRASHPIPE_EXCEPTION_MESSAGE", n) == 0)
			cut_exc = marked;
		if (message) {
			/* Lines of MESSAGE: none is a field of its own ("NAME=" at a line's start
			 * is harmless in a value, but none may come from the process either). */
			CHECK(strstr(v, "\nCOREDUMP_") == NULL && strstr(v, "\nPRIORITY=") == NULL &&
			      strstr(v, "\nMESSAGE_ID=") == NULL);
			CHECK(strstr(v, "Stack trace of thread 4242:") != NULL);
			CHECK(strstr(v, "System.Exception\\nCRASHPIPE_SIGNATURE") != NULL);
		}
		if (n == 13 && memcmp(s, "COREDUMP_COMM", n) == 0)
			CHECK(strcmp(v, "x\\nCOREDUMP_UID=0") == 0);
		if (n == 13 && memcmp(s, "COREDUMP_UNIT", n) == 0)
			CHECK(false);	/* "evil\nx.service" is not a unit name: no unit */
	}
	CHECK(cut_cmdline);
	CHECK(cut_exc);
	cp_journal_fields_done(&f);
	cp_report_destroy(r);
	return UNIT_DONE();
}
