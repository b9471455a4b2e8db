/*
 * fakeclr.c - a libcoreclr.so that is not one, for tests/run-sandbox.sh: a process that maps
 * a file of that name "is .NET" to crashpipe, whatever it runs.
 */
__attribute__((visibility("default"))) int coreclr_initialize(void)
{
	return 0;
}
