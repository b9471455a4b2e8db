#ifndef CP_HANDLE_H
#define CP_HANDLE_H

/* The most the analysis child may send the root parent: a report of a 100-thread .NET crash
 * is ~MEASURED; past this the child is killed and the fallback report written. Parsing at
 * most this with cp_report_parse() costs the parent a bounded amount of memory
 * (tests/unit/test-handle-bound.c measures it). */
#define CP_HANDLE_CHILD_JSON_MAX (16u << 20)

int cp_cmd_handle(int argc, char **argv);

#endif
