/*
 * drain.c - the baseline core_pattern handler: read the core from stdin in 1 MiB
 * chunks and throw it away. Nothing can release the dying process sooner than this
 * (short of not reading at all), so it is the floor for "pipe hold time".
 */
#include <errno.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void)
{
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0;
	}
}
