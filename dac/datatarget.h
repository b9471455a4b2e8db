#ifndef CP_DATATARGET_H
#define CP_DATATARGET_H

/*
 * datatarget - the ICLRDataTarget (and ICLRRuntimeLocator) the DAC reads the crashed
 * process through: memory from the target (the core, else the mapped files: a default core
 * lacks libcoreclr.so's symbol tables and the assemblies' metadata, which the DAC must
 * read), registers from the core's NT_PRSTATUS notes.
 */

#include <stdint.h>

struct cp_core;
struct cp_target;

/* A new data target with one reference; NULL on ENOMEM. @runtime_base is the load address
 * of the module holding the runtime (libcoreclr.so, or a single-file app). */
void *cp_datatarget_create(struct cp_core *core, struct cp_target *t, uint64_t runtime_base);

#endif
