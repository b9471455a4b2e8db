#ifndef CP_SHOW_H
#define CP_SHOW_H

#include <stdio.h>

struct cp_report;

#define CP_DEFAULT_SPOOL "/var/lib/crashpipe"

/* Print @report as text for a person. */
void cp_show_report(FILE *out, const struct cp_report *report);

int cp_cmd_show(int argc, char **argv);

/* `list --reports`: one line per report in @spool, oldest first. An exit status. */
int cp_show_list_reports(const char *spool);

#endif
