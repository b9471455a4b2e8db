#ifndef CP_TARGET_H
#define CP_TARGET_H

/*
 * target - one read(addr, len) over the crashed process's memory.
 *
 * Sources, in order: the live process's memory (/proc/PID/mem, while the kernel holds a
 * process that is being dumped; cp_target_set_live()), within the segments the core lists;
 * the core's own bytes; else the file an NT_FILE entry says was mapped
 * there, at its page offset (a default coredump_filter leaves file-backed text out of the
 * core). Files are opened through cp_open_in_root() in the root given at creation: the
 * host's /, a --sysroot, or /proc/PID/root of a crash in a container.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cp_core;
struct cp_target;

/* @core and @rootfd are borrowed and must outlive the target. */
int cp_target_create(struct cp_core *core, int rootfd, struct cp_target **ret);
void cp_target_destroy(struct cp_target *t);

/* Read the process's memory through @memfd (its /proc/PID/mem, borrowed; -1: none) before
 * the core: it has all of every mapping, file-backed text included. */
void cp_target_set_live(struct cp_target *t, int memfd);

/* The live process's memory fd, or -1. */
int cp_target_live_fd(const struct cp_target *t);

/* Copy @len bytes at @addr. Returns 0, or -EFAULT when any of them cannot be had. */
int cp_target_read(struct cp_target *t, uint64_t addr, void *buf, size_t len);

/* The core's bytes only (no files): for checking a file against what was mapped. */
int cp_target_read_core(struct cp_target *t, uint64_t addr, void *buf, size_t len);

/* The fd of the file mapped as @path, opened on first use (the target keeps it), or
 * -errno from opening it. */
int cp_target_file_fd(struct cp_target *t, const char *path);

/* Read the mappings of @path from @fd (taken: closed with the target) instead of the file
 * at @path in the root: a file found elsewhere (locate.h). Returns 0, or -ENOENT when no
 * mapping is of @path (@fd is closed then). */
int cp_target_use_file(struct cp_target *t, const char *path, int fd);

/* Never serve bytes of @path again: it is not the file the process had mapped. */
void cp_target_block_file(struct cp_target *t, const char *path);

/* Open now every file the target may read from, for a process that can open no more
 * later (the DAC's). The fds go to @fds, which has room for one per mapping of the core
 * (core->n_maps); returns how many. */
size_t cp_target_open_files(struct cp_target *t, int *fds);

/* The root directory fd files are opened in. */
int cp_target_rootfd(const struct cp_target *t);

/* Every fd reads through @t need: the root, the files opened so far, the core's input and
 * the live process's memory. A new array of *@n_ret fds (NULL on ENOMEM). */
int *cp_target_fds(const struct cp_target *t, size_t *n_ret);

#endif
