// inline.cc - crash corpus: C++ at -O2 with deep inlining (issue 9, inline frames).
//
// The crash is five calls deep, four of them inlined into one physical frame:
//   deep::fubar<long> <- deep::foobar<long> <- bar's lambda <- deep::bar <- deep::foo
//   <- fu (the only physical frame of the chain) <- main
// with templates and a lambda among them. A worker thread waits in pause() called from
// two inlined functions (park::inner <- park::outer <- worker), so a return address lies
// in an inline chain too: its frames need the caller's lookup address (ip - 1) and the
// call sites' lines. Main crashes only once the worker sleeps in pause() (state S in
// /proc/self/task/TID/stat). The worker prints "crash tid TID" for the main thread.
//
// Build: c++ -g -O2 -o inline inline.cc -lpthread
#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>

#define INLINE __attribute__((always_inline)) inline
#define NOINLINE __attribute__((noinline, noclone))

int *volatile null_ptr;
volatile long sink;

namespace deep {

template <typename T> INLINE void fubar(T v)
{
	*null_ptr = (int)v;	// CRASH-LINE
	sink = v;
}

template <typename T> INLINE void foobar(T v)
{
	sink = v;
	fubar<T>(v + 1);	// CALL-FUBAR
	sink = v + 2;
}

INLINE void bar(int v)
{
	auto step = [v](int x) __attribute__((always_inline)) {
		foobar<long>((long)x * v);	// CALL-FOOBAR
		sink = x;
	};
	step(v + 1);	// CALL-LAMBDA
	sink = v + 3;
}

INLINE void foo(int v)
{
	bar(v + 3);	// CALL-BAR
	sink = v + 4;
}

}  // namespace deep

NOINLINE void fu(int v)
{
	deep::foo(v);	// FU-CALLS-FOO
	sink = v + 5;
}

namespace park {

INLINE void inner(int n)
{
	for (int i = 0; i < n; i++)
		pause();	// CALL-PAUSE
}

INLINE void outer(int n)
{
	inner(n + 1);	// CALL-INNER
	sink = n;
}

}  // namespace park

static void *worker(void *arg)
{
	park::outer((int)(long)arg);	// CALL-OUTER
	sink = 9;
	return nullptr;
}

static bool sleeping(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static pid_t worker_tid;

static void *worker_main(void *arg)
{
	worker_tid = (pid_t)syscall(SYS_gettid);
	return worker(arg);
}

int main(int argc, char **argv)
{
	pthread_t t;
	(void)argv;
	if (pthread_create(&t, nullptr, worker_main, (void *)(long)argc) != 0)
		return 2;
	while (!__atomic_load_n(&worker_tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	for (int i = 0; i < 5000 && !sleeping(worker_tid); i++)
		usleep(1000);
	usleep(20000);
	printf("crash tid %d\n", (int)syscall(SYS_gettid));
	fflush(stdout);
	fu(argc);	// MAIN-CALLS-FU
	return 0;
}
