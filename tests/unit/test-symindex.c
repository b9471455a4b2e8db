/*
 * test-symindex.c - the symbol index and the symcache give libdwfl's answers.
 *
 * For real libraries of this machine (libc with its debuginfo when libc6-dbg is there, the
 * C++ runtime, the .NET runtime when an SDK is installed, and any file named on the
 * command line), asks both the index and dwfl_module_addrinfo() about addresses at, in
 * and just past every symbol, and checks that every answer the index gives is libdwfl's
 * (name and start). Also checks that the index answers most of them: an index that
 * always declined would pass the first check and help nobody.
 *
 * For libraries with separate debuginfo (libc), builds their symcache in a scratch
 * directory, as `crashpipe handle` does, and checks its functions against
 * dwfl_module_addrinfo() and its source lines against dwfl_module_getsrc() the same way.
 */
#include "config.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildid.h"
#include "symcache.h"
#include "symindex.h"
#include "unit.h"

static char scratch[] = "/tmp/test-symindex.XXXXXX";
static size_t cache_files;

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static void check_file(const char *path, size_t *answered_ret, size_t *asked_ret)
{
	Dwfl *dwfl = dwfl_begin(&callbacks);
	Dwfl_Module *mod = dwfl ? dwfl_report_offline(dwfl, path, path, -1) : NULL;
	if (!mod) {
		printf("%s: not usable (%s); skipped\n", path, dwfl_errmsg(-1));
		if (dwfl)
			dwfl_end(dwfl);
		return;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	struct cp_symindex *idx = cp_symindex_build(mod);
	CHECK(idx != NULL);

	/* The symcache, when the file has separate debuginfo to make one from. */
	struct cp_symcache *sc = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *hex = fd >= 0 ? cp_elf_build_id_hex(fd) : NULL;
	if (fd >= 0)
		close(fd);
	GElf_Addr bias = 0;
	if (hex && dwfl_module_getelf(mod, &bias) && cp_symcache_build(scratch, hex, path) == 1) {
		sc = cp_symcache_open(scratch, hex, bias);
		CHECK(sc != NULL);
		cache_files++;
	}
	size_t sc_fn = 0, sc_fn_ok = 0, sc_line = 0, sc_line_ok = 0, sc_line_told = 0;
	int n = dwfl_module_getsymtab(mod);
	/* libdwfl's answer costs a pass over the symbols: about 2,000 functions a file. */
	int stride = n > 2000 ? n / 2000 : 1;
	size_t asked = 0, answered = 0, wrong = 0;
	for (int i = 1; i < n && idx; i += stride) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (!name || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF)
			continue;
		uint64_t probes[] = { addr, addr + 1, addr + sym.st_size / 2, addr + sym.st_size };
		for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
			GElf_Off off;
			GElf_Sym s;
			const char *want = dwfl_module_addrinfo(mod, probes[p], &off, &s, NULL, NULL, NULL);
			uint64_t start = 0;
			if (sc) {
				const char *f = cp_symcache_function(sc, probes[p], &start);
				sc_fn++;
				if (f && want && strcmp(f, want) == 0 && start == probes[p] - off)
					sc_fn_ok++;
				else if (f)
					fprintf(stderr, "%s: symcache at 0x%llx: %s, libdwfl %s\n", path,
						(unsigned long long)probes[p], f, want ? want : "(none)");
				else
					sc_fn_ok++;	/* declined: libdwfl answers */
				Dwfl_Line *dl = dwfl_module_getsrc(mod, probes[p]);
				int dline = 0;
				const char *dfile = dl ? dwfl_lineinfo(dl, NULL, &dline, NULL, NULL, NULL) : NULL;
				const char *cfile = NULL;
				int cline = 0, cr = cp_symcache_line(sc, probes[p], &cfile, &cline);
				sc_line++;
				sc_line_told += cr >= 0;
				if ((cr == 1 && dfile && strcmp(cfile, dfile) == 0 && cline == dline) ||
				    (cr == 0 && !dfile) || cr < 0)
					sc_line_ok++;
				else
					fprintf(stderr, "%s: symcache line at 0x%llx: %s:%d (%d), libdwfl %s:%d\n", path,
						(unsigned long long)probes[p], cfile ? cfile : "-", cline, cr,
						dfile ? dfile : "-", dline);
			}
			const char *got = cp_symindex_lookup(idx, probes[p], &start);
			asked += want != NULL;
			if (!got)
				continue;
			answered++;
			if (!want || strcmp(want, got) != 0 || start != probes[p] - off) {
				if (wrong++ < 10)
					fprintf(stderr, "%s: at 0x%llx libdwfl says %s+0x%llx, the index %s at 0x%llx\n", path,
						(unsigned long long)probes[p], want ? want : "(none)",
						(unsigned long long)off, got, (unsigned long long)start);
			}
		}
	}
	printf("%s: %zu symbols indexed; of %zu addresses in a symbol, %zu answered by the index, %zu wrongly\n", path,
	       cp_symindex_size(idx), asked, answered, wrong);
	CHECK(wrong == 0);
	if (sc) {
		printf("%s: symcache: functions %zu/%zu and lines %zu/%zu as libdwfl says (%zu told by the symcache)\n",
		       path, sc_fn_ok, sc_fn, sc_line_ok, sc_line, sc_line_told);
		CHECK(sc_fn_ok == sc_fn);
		CHECK(sc_line_ok == sc_line);
		CHECK(sc_line_told * 10 >= sc_line * 8);
	}
	cp_symcache_close(sc);
	free(hex);
	*answered_ret += answered;
	*asked_ret += asked;
	cp_symindex_free(idx);
	dwfl_end(dwfl);
}

int main(int argc, char **argv)
{
	static const char *const patterns[] = {
		"/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/usr/share/dotnet/shared/Microsoft.NETCore.App/*/libcoreclr.so",
		"/usr/share/dotnet/shared/Microsoft.NETCore.App/*/libclrjit.so",
	};
	size_t answered = 0, asked = 0, files = 0;

	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 99;
	}

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		glob_t g;
		if (glob(patterns[i], 0, NULL, &g) != 0)
			continue;
		for (size_t j = 0; j < g.gl_pathc; j++, files++)
			check_file(g.gl_pathv[j], &answered, &asked);
		globfree(&g);
	}
	for (int i = 1; i < argc; i++, files++)
		check_file(argv[i], &answered, &asked);
	CHECK(files > 0);
	/* Most addresses are plain; the index is there for them. */
	printf("the index answered %zu of %zu addresses (%.1f%%)\n", answered, asked, asked ? 100.0 * answered / asked : 0.0);
	CHECK(answered * 10 >= asked * 8);
	if (access("/usr/lib/debug/.build-id", F_OK) == 0 && geteuid() == 0)
		CHECK(cache_files > 0);
	else
		printf("no /usr/lib/debug or not root: no symcache to check\n");
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch);
	return UNIT_DONE();
}
