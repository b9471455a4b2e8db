/*
 * fakedac.c - a DAC that fails, for tests/run-dac-failure.sh: it stands in for
 * libmscordaccore.so in a copy of a self-contained .NET app. Its CLRDataCreateInstance
 * waits FAKEDAC_DELAY seconds (a compile-time constant: the DAC's process has no
 * environment of the test's) and then dies of SIGSEGV, as a DAC that trips over
 * damaged memory would.
 */
#include <signal.h>
#include <unistd.h>

#ifndef FAKEDAC_DELAY
#define FAKEDAC_DELAY 0
#endif

__attribute__((visibility("default"))) int CLRDataCreateInstance(const void *iid, void *target, void **iface)
{
	if (FAKEDAC_DELAY > 0)
		sleep(FAKEDAC_DELAY);
	raise(SIGSEGV);
	return -1;
}
