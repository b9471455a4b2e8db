#ifndef CP_CONF_H
#define CP_CONF_H

/*
 * conf - /etc/crashpipe/crashpipe.conf (crashpipe.conf(5)): KEY=VALUE lines in [Sections],
 * as systemd's coredump.conf. (Not "config.h": that name is autoconf's header.)
 *
 * Every setting has a default that works without the file, and a command-line option of
 * the command that uses it wins over the file. The parser is strict but never fatal: an
 * unknown section or key, a line that is not KEY=VALUE, a value out of range is a one-line
 * warning "FILE:LINE: ..." and that line is ignored. handle reads the file as root, so a
 * file that is not a regular file of root's that only root can write is ignored whole, with
 * a warning (threats.md T11).
 *
 * A new setting is one field of struct cp_conf, its default in cp_conf_init() and one entry
 * of the table in conf.c (section, key, type, bounds, field).
 */

#include <stdbool.h>
#include <stdint.h>

#define CP_CONF_DEFAULT_PATH "/etc/crashpipe/crashpipe.conf"

struct cp_conf {
	/* [Handle] */
	char *spool;		/* Spool=: where reports go (handle --spool) */
	char *hint_dir;		/* HintDir=: (handle --hint-dir) */
	char *debug_cache;	/* DebugCache=: (handle --debug-cache) */
	char *symbol_path;	/* SymbolPath=: DIR[:DIR...] of portable PDBs, or NULL */
	uint64_t max_frames;	/* MaxFrames=: per thread (handle --max-frames) */
	bool live;		/* Live=: analyse a .NET process live (handle --no-live: no) */
	char *rate_limit;	/* RateLimit=: N/WINDOW or off (handle --rate-limit), NULL: default */
	char *keep_core;	/* KeepCore=: rules (handle --keep-core), NULL: none */
	uint64_t max_analyses;	/* MaxAnalyses=: at once on the machine (handle --max-analyses), 0: default */
	char *max_memory;	/* MaxMemory=: for them together (handle --max-memory), NULL: default */
	/* [Spool] */
	char *max_use;		/* MaxUse=: (handle --max-use), NULL: default */
	char *keep_free;	/* KeepFree=: (handle --keep-free), NULL: default */
	/* [DAC] */
	bool dac;		/* Enable=: managed frames through the runtime's DAC */
	uint64_t dac_timeout;	/* TimeoutSec=: seconds for the DAC's process */
	/* [Chain] */
	uint64_t chain_timeout;	/* TimeoutSec=: what the chained handler may cost (handle --chain-timeout) */
};

/* The defaults: what crashpipe does without the file. */
void cp_conf_init(struct cp_conf *conf);
void cp_conf_deinit(struct cp_conf *conf);

/* Read @path (CP_CONF_DEFAULT_PATH when NULL) over @conf. A missing file is no error
 * unless @must_exist. Returns 0 (warnings logged for the lines ignored), or -errno when
 * the file was not read at all (logged: missing with @must_exist, unsafe, unreadable). */
int cp_conf_load(struct cp_conf *conf, const char *path, bool must_exist);

#endif
