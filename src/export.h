#ifndef CP_EXPORT_H
#define CP_EXPORT_H

/*
 * export - `crashpipe export`: reports turned into the formats existing tools read.
 *
 *   createdump  the shape of the .NET runtime's createdump `*.crashreport.json`
 *               (dotnet/runtime src/coreclr/debug/createdump/crashreportwriter.cpp: "payload"
 *               with "protocol_version", "configuration", "process_name", "threads" with
 *               "ctx" and "stack_frames", and "parameters"), values as createdump writes them
 *               (strings, hex numbers as "0x..."), but always valid JSON (escaped strings).
 *   otlp        one OpenTelemetry log record per crash, as OTLP/JSON (an
 *               ExportLogsServiceRequest: resourceLogs / scopeLogs / logRecords), with the
 *               semantic-convention attributes exception.type, exception.message and
 *               exception.stacktrace, and process / service / host resource attributes.
 */

struct cp_report;

enum cp_export_format { CP_EXPORT_CREATEDUMP, CP_EXPORT_OTLP, _CP_EXPORT_FORMAT_MAX };

/* The text of one report in @format (createdump), or of the log records of @n reports
 * (otlp; @paths name them in the record). NULL on ENOMEM. */
char *cp_export_createdump(const struct cp_report *r);
char *cp_export_otlp(struct cp_report *const *reports, const char *const *paths, size_t n);

int cp_cmd_export(int argc, char **argv);

#endif
