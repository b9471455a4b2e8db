#ifndef CP_SIGNAME_H
#define CP_SIGNAME_H

/* signame - "SIGSEGV" for 11, "SEGV_MAPERR" for (11, 1); NULL for a number without a name. */

const char *cp_signal_name(int sig);
const char *cp_si_code_name(int sig, int code);

#endif
