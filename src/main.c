/*
 * main.c - the `crashpipe` command: a table of subcommands.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "cleanup.h"
#include "follow.h"
#include "export.h"
#include "handle.h"
#include "install.h"
#include "log.h"
#include "retention.h"
#include "show.h"
#include "spoolcli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "analyze", cp_cmd_analyze, "write a report of a saved core (plain or .zst)" },
	{ "show", cp_cmd_show, "print a report as text" },
	{ "list", cp_cmd_list, "list the crashes in the spool, grouped by signature" },
	{ "info", cp_cmd_info, "show a report found by pid, path or signature" },
	{ "export", cp_cmd_export, "write reports as createdump crash reports or OTLP log records" },
	{ "handle", cp_cmd_handle, "run by the kernel through core_pattern (core on stdin)" },
	{ "follow", cp_cmd_follow, "report the cores systemd-coredump stores (its journal entries)" },
	{ "install", cp_cmd_install, "point kernel.core_pattern at crashpipe" },
	{ "uninstall", cp_cmd_uninstall, "restore the core_pattern crashpipe replaced" },
	{ "vacuum", cp_cmd_vacuum, "trim the spool to its size caps" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: crashpipe COMMAND [OPTIONS] [ARGS]\n"
		   "Native crash reports from Linux core dumps.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`crashpipe COMMAND --help` describes each one.\n");
}

int main(int argc, char **argv)
{
	cp_log_open(false, LOG_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	cp_log(LOG_ERR, "unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
