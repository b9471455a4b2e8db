#ifndef CP_HANDLE_H
#define CP_HANDLE_H

/*
 * The most the analysis child may send the root parent: 8 MiB, eight times the report of a
 * 100-thread .NET crash (1,077,317 bytes: tests/dotnet's Crasher, scenario threads100, on
 * .NET 10, every managed and native frame); a child that sends more is killed and the
 * fallback report written. Parsing at most that much with
 * cp_report_parse() costs the parent at most CP_HANDLE_PARSE_BOUND: the reader admits at
 * most CP_REPORT_MAX_VALUES values (~95 bytes each in the tree), and at 8 MiB the worst
 * shapes measured (tests/unit/test-handle-bound.c) grow the peak RSS by ~190 MB for 2M
 * values as objects and ~115 MB for frames, against 885 MB for 30 MiB before (issue 7,
 * finding 3). A lower bound needs a lower value count than the reader's.
 */
#define CP_HANDLE_CHILD_JSON_MAX (8u << 20)
#define CP_HANDLE_PARSE_BOUND (256ull << 20)

int cp_cmd_handle(int argc, char **argv);

#endif
