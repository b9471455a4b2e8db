/*
 * test-pdb.c - the ECMA-335 and portable PDB readers (src/ecma335.c, src/pdb.c) on real
 * files the .NET SDK built: run by tests/run-pdb-files.sh, which builds them with
 * tests/dotnet/build.sh and passes
 *
 *   test-pdb CRASHER.DLL CRASHER.PDB PROGRAM.CS EMBEDDED.DLL CORELIB.DLL
 *
 * The oracles are the compiler's and the runtime's files themselves and the C# source:
 *   - the CodeView entry names a portable PDB "Crasher.pdb", whose #Pdb id is the entry's
 *     GUID and stamp; the embedded build's PDB inflates to exactly its stated size and has
 *     its own CodeView id;
 *   - every line a method of Crasher.Program maps to (any IL offset) lies in that method's
 *     text in Program.cs (from its declaration to the next one; async state machines and
 *     lambdas by the method their names carry), in document ".../Crasher/Program.cs";
 *   - System.Private.CoreLib: ExceptionDispatchInfo.Throw and TaskAwaiter.ThrowForNonSuccess
 *     carry [StackTraceHidden], Exception.ToString does not; nested types have an enclosing type;
 *   - every prefix and many one-byte corruptions of the DLL and the PDB parse or fail
 *     cleanly (under ASan in a sanitizer build), never reading outside the bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecma335.h"
#include "pdb.h"
#include "unit.h"

static uint8_t *slurp(const char *path, size_t *size)
{
	uint8_t *d = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || cp_ecma_read_fd(fd, CP_ECMA_MAX_FILE, &d, size) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(99);
	}
	close(fd);
	return d;
}

/* Program.cs, one string per line (1-based). */
static char *src_lines[4096];
static int n_src;

static void read_source(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	if (!f)
		exit(99);
	while (n_src < 4095 && fgets(buf, sizeof(buf), f))
		src_lines[++n_src] = strdup(buf);
	fclose(f);
}

static bool is_declaration(const char *l)
{
	while (*l == ' ')
		l++;
	return (!strncmp(l, "public ", 7) || !strncmp(l, "private ", 8) || !strncmp(l, "internal ", 9)) &&
	       strchr(l, '(') && !strchr(l, ';') && !strchr(l, '=');
}

/* The lines [*first, *end) of the declaration of method @name, or false. */
static bool method_range(const char *name, int *first, int *end)
{
	char pat[300];
	snprintf(pat, sizeof(pat), " %s(", name);
	char pat2[300];
	snprintf(pat2, sizeof(pat2), " %s<", name);
	for (int i = 1; i <= n_src; i++) {
		if (!is_declaration(src_lines[i]) || (!strstr(src_lines[i], pat) && !strstr(src_lines[i], pat2)))
			continue;
		int j = i + 1;
		while (j <= n_src && !is_declaration(src_lines[j]))
			j++;
		*first = i;
		*end = j;
		return true;
	}
	return false;
}

/* The source method a compiler-generated name stands for: "<AsyncLevel2>d__5" ->
 * "AsyncLevel2", "<Main>b__0_0" -> "Main"; other names as they are. */
static void source_name(const char *name, char *out, size_t cap)
{
	const char *gt;
	if (name[0] == '<' && (gt = strchr(name, '>')) && (size_t) (gt - name - 1) < cap) {
		memcpy(out, name + 1, (size_t) (gt - name - 1));
		out[gt - name - 1] = 0;
	} else {
		snprintf(out, cap, "%s", name);
	}
}

static void test_crasher(const char *dll, const char *pdb_path, const char *embedded)
{
	size_t size, pdb_size;
	uint8_t *d = slurp(dll, &size);
	struct cp_pe pe;
	struct cp_md md;
	struct cp_pe_debug dbg;
	struct cp_pe_codeview cv;
	const char *why = NULL;

	CHECK(cp_pe_parse(d, size, &pe, &why) == 0);
	CHECK(pe.has_cli);
	CHECK(cp_md_open(pe.metadata, pe.metadata_size, &md, &why) == 0);
	CHECK(!strncmp(md.version, "v4.0", 4));
	CHECK(cp_pe_debug_find(&pe, CP_PE_DEBUG_CODEVIEW, &dbg) == 0);
	CHECK(cp_pe_codeview(&dbg, &cv, &why) == 0);
	CHECK(cv.portable);
	CHECK(cv.path_len > 11 && !strcmp(cv.path + cv.path_len - 11, "Crasher.pdb"));
	CHECK(cp_pe_debug_find(&pe, CP_PE_DEBUG_EMBEDDED_PDB, &dbg) == -ENOENT);

	uint8_t *pd = slurp(pdb_path, &pdb_size);
	struct cp_pdb *pdb = NULL;
	CHECK(cp_pdb_open(pd, pdb_size, &pdb, &why) == 0);
	if (!pdb)
		return;
	uint8_t id[CP_PDB_ID_SIZE];
	memcpy(id, cv.guid, 16);
	for (int i = 0; i < 4; i++)
		id[16 + i] = (uint8_t) (cv.stamp >> (8 * i));
	CHECK(!memcmp(cp_pdb_id(pdb), id, CP_PDB_ID_SIZE));

	/* Every method of the app maps only into its own text. */
	int methods = 0, mapped = 0, lines_checked = 0, kickoffs = 0;
	uint32_t n = cp_md_rows(&md, CP_MD_METHODDEF);
	for (uint32_t m = 1; m <= n; m++) {
		uint32_t td, v, top, enc;
		const char *ns, *tname, *mname;
		if (cp_md_method_owner(&md, m, &td) < 0)
			continue;
		/* the outermost type */
		for (top = td; cp_md_enclosing_type(&md, top, &enc) == 0; top = enc)
			;
		CHECK(cp_md_type_name(&md, CP_MD_TYPEDEF, top, &ns, &tname) == 0);
		if (strcmp(ns, "Crasher") || strcmp(tname, "Program"))
			continue;
		CHECK(cp_md_cell(&md, CP_MD_METHODDEF, m, CP_MD_METHODDEF_NAME, &v) == 0);
		CHECK(cp_md_string(&md, v, &mname) == 0);
		/* a state machine's MoveNext or a closure's method: the name is its type's */
		char want[256];
		const char *tn = NULL, *tns;
		if (td != top && cp_md_type_name(&md, CP_MD_TYPEDEF, td, &tns, &tn) == 0 && tn[0] == '<' &&
		    mname[0] != '<') {
			if (strcmp(mname, "MoveNext"))
				continue;	/* SetStateMachine, .ctor: no source of their own */
			source_name(tn, want, sizeof(want));
		}
		else
			source_name(mname, want, sizeof(want));
		int first, end;
		if (!method_range(want, &first, &end))
			continue;	/* constructors, accessors */
		methods++;
		bool any = false;
		for (uint32_t il = 0; il < 1024; il++) {
			const char *doc;
			uint32_t line;
			int r = cp_pdb_lookup(pdb, cp_md_token(CP_MD_METHODDEF, m), il, &doc, &line, &why);
			if (r == -ENOENT)
				continue;
			CHECK(r == 0);
			if (r)
				break;
			any = true;
			lines_checked++;
			size_t dl = strlen(doc);
			CHECK(dl > 19 && !strcmp(doc + dl - 19, "/Crasher/Program.cs"));
			if ((int) line < first || (int) line >= end) {
				fprintf(stderr, "%s (%s) IL %u -> line %u, outside its text %d..%d\n", mname, want, il,
					line, first, end - 1);
				CHECK(false);
				break;
			}
		}
		/* An async or iterator method's own body is a stub that starts its state machine:
		 * its lines are the state machine's (the PDB's StateMachineMethod table). */
		uint32_t f, e2;
		if (!any && cp_md_find(cp_pdb_metadata(pdb), CP_MD_STATEMACHINEMETHOD,
				       CP_MD_STATEMACHINEMETHOD_KICKOFF, m, &f, &e2) == 0 && f < e2) {
			kickoffs++;
			continue;
		}
		if (!any)
			fprintf(stderr, "%s (%s): no lines\n", mname, want);
		mapped += any;
	}
	printf("crasher: %d methods of Program found in Program.cs, %d with lines (%d lookups, all in range), "
	       "%d async stubs\n", methods, mapped, lines_checked, kickoffs);
	CHECK(methods >= 20);
	CHECK(kickoffs >= 3);		/* AsyncEntry, AsyncLevel1, AsyncLevel2 */
	CHECK(mapped + kickoffs == methods);
	/* not a MethodDef token, a row beyond the table */
	const char *doc;
	uint32_t line;
	CHECK(cp_pdb_lookup(pdb, cp_md_token(CP_MD_TYPEDEF, 1), 0, &doc, &line, &why) == -EINVAL);
	CHECK(cp_pdb_lookup(pdb, cp_md_token(CP_MD_METHODDEF, 0xffffff), 0, &doc, &line, &why) == -ENOENT);
	cp_pdb_destroy(pdb);

	/* the embedded build */
	size_t esize;
	uint8_t *e = slurp(embedded, &esize);
	struct cp_pe epe;
	struct cp_pe_codeview ecv;
	CHECK(cp_pe_parse(e, esize, &epe, &why) == 0);
	CHECK(cp_pe_debug_find(&epe, CP_PE_DEBUG_CODEVIEW, &dbg) == 0 && cp_pe_codeview(&dbg, &ecv, &why) == 0);
	CHECK(cp_pe_debug_find(&epe, CP_PE_DEBUG_EMBEDDED_PDB, &dbg) == 0);
	CHECK(cp_pdb_open_embedded(&dbg, &pdb, &why) == 0);
	if (pdb) {
		for (int i = 0; i < 4; i++)
			id[16 + i] = (uint8_t) (ecv.stamp >> (8 * i));
		memcpy(id, ecv.guid, 16);
		CHECK(!memcmp(cp_pdb_id(pdb), id, CP_PDB_ID_SIZE));
		cp_pdb_destroy(pdb);
	}
	/* a deflate stream cut short, a size that lies */
	struct cp_pe_debug cut = dbg;
	cut.data_size = dbg.data_size / 2;
	CHECK(cp_pdb_open_embedded(&cut, &pdb, &why) == -EBADMSG);
	uint8_t *lie = malloc(dbg.data_size);
	memcpy(lie, dbg.data, dbg.data_size);
	lie[4] ^= 0x01;
	struct cp_pe_debug liar = dbg;
	liar.data = lie;
	CHECK(cp_pdb_open_embedded(&liar, &pdb, &why) == -EBADMSG);
	free(lie);

	/* hostile bytes: every prefix, and one-byte corruptions all over */
	for (size_t len = 0; len < size; len += len < 1024 ? 1 : 61) {
		struct cp_pe p2;
		struct cp_md m2;
		if (cp_pe_parse(d, len, &p2, &why) == 0 && p2.has_cli)
			(void) cp_md_open(p2.metadata, p2.metadata_size, &m2, &why);
	}
	uint8_t *pd2 = slurp(pdb_path, &pdb_size);
	for (size_t len = 0; len < pdb_size; len += 7) {
		uint8_t *c = malloc(len ? len : 1);
		memcpy(c, pd2, len);
		if (cp_pdb_open(c, len, &pdb, &why) == 0) {
			for (uint32_t m = 1; m < 64; m++)
				(void) cp_pdb_lookup(pdb, cp_md_token(CP_MD_METHODDEF, m), 40, &doc, &line, &why);
			cp_pdb_destroy(pdb);
		}
	}
	unsigned seed = 1;
	int refused = 0;
	for (int k = 0; k < 3000; k++) {
		uint8_t *c = malloc(pdb_size);
		memcpy(c, pd2, pdb_size);
		seed = seed * 1103515245 + 12345;
		c[(seed >> 8) % pdb_size] ^= (uint8_t) (1 + (seed >> 24) % 255);
		int r = cp_pdb_open(c, pdb_size, &pdb, &why);
		if (r == 0) {
			for (uint32_t m = 1; m < 64; m++)
				if (cp_pdb_lookup(pdb, cp_md_token(CP_MD_METHODDEF, m), 40, &doc, &line, &why) == -EBADMSG)
					refused++;
			cp_pdb_destroy(pdb);
		} else {
			CHECK(r == -EBADMSG || r == -ENOTSUP);
			CHECK(why && *why);
			refused++;
		}
	}
	printf("corruptions: %d refused with a reason\n", refused);
	free(pd2);
	free(d);
	free(e);
}

static void test_corelib(const char *path)
{
	size_t size;
	uint8_t *d = slurp(path, &size);
	struct cp_pe pe;
	struct cp_md md;
	const char *why = NULL;
	CHECK(cp_pe_parse(d, size, &pe, &why) == 0);
	CHECK(cp_md_open(pe.metadata, pe.metadata_size, &md, &why) == 0);
	int hidden_throw = 0, hidden_await = 0, tostring = -1, nested = 0;
	uint32_t n = cp_md_rows(&md, CP_MD_METHODDEF);
	for (uint32_t m = 1; m <= n; m++) {
		uint32_t v, td;
		const char *mname, *ns, *tname;
		if (cp_md_cell(&md, CP_MD_METHODDEF, m, CP_MD_METHODDEF_NAME, &v) < 0 || cp_md_string(&md, v, &mname) < 0 ||
		    cp_md_method_owner(&md, m, &td) < 0 || cp_md_type_name(&md, CP_MD_TYPEDEF, td, &ns, &tname) < 0)
			continue;
		int h = cp_md_has_attribute(&md, CP_MD_METHODDEF, m, "System.Diagnostics", "StackTraceHiddenAttribute", NULL);
		if (!strcmp(ns, "System.Runtime.ExceptionServices") && !strcmp(tname, "ExceptionDispatchInfo") &&
		    !strcmp(mname, "Throw"))
			hidden_throw += h == 1;
		if (!strcmp(ns, "System.Runtime.CompilerServices") && !strcmp(tname, "TaskAwaiter") &&
		    !strcmp(mname, "ThrowForNonSuccess"))
			hidden_await += h == 1;
		if (!strcmp(ns, "System") && !strcmp(tname, "Exception") && !strcmp(mname, "ToString"))
			tostring = h;
	}
	for (uint32_t t = 1; t <= cp_md_rows(&md, CP_MD_TYPEDEF); t++) {
		uint32_t enc;
		const char *ns, *name;
		if (cp_md_type_name(&md, CP_MD_TYPEDEF, t, &ns, &name) == 0 && !*ns && name[0] == '<' &&
		    cp_md_enclosing_type(&md, t, &enc) == 0)
			nested++;
	}
	printf("corelib: %u methods; [StackTraceHidden] on ExceptionDispatchInfo.Throw x%d, "
	       "TaskAwaiter.ThrowForNonSuccess x%d; %d nested compiler-generated types\n",
	       n, hidden_throw, hidden_await, nested);
	CHECK(hidden_throw >= 1);
	CHECK(hidden_await >= 1);
	CHECK(tostring == 0);
	CHECK(nested > 100);
	free(d);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		/* make check runs it bare: the real run is tests/run-pdb-files.sh's */
		printf("SKIP: needs the files tests/run-pdb-files.sh builds\n");
		return 77;
	}
	read_source(argv[3]);
	test_crasher(argv[1], argv[2], argv[4]);
	test_corelib(argv[5]);
	return UNIT_DONE();
}
