/*
 * fakeapp.c - a native program that passes for a .NET one, for tests/run-sandbox.sh: it
 * maps /dotnet/libcoreclr.so (fakeclr.c) and aborts, so `crashpipe handle` goes looking
 * for /dotnet/libmscordaccore.so beside it, inside the process's root.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	if (!dlopen("/dotnet/libcoreclr.so", RTLD_NOW)) {
		fprintf(stderr, "fakeapp: %s\n", dlerror());
		return 1;
	}
	abort();
}
