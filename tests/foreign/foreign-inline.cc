// foreign-inline.cc - the C++ program of the foreign-core corpus: deep inlining at -O2.
//
// One physical frame, run_chain, holds a whole call chain inlined into it: the chain
// fubar <- foobar <- bar <- foo <- fu of always_inline functions, a member function
// template, a function template applied to a lambda, and the store through NULL at the
// bottom. Every call site is on a line of its own, so each inline frame has a distinct call
// line. A second thread parks in its own inlined chain (a lambda inside a template) before
// a blocking read. tests/foreign/build.sh builds it with the host's g++ and with another
// Debian release's g++; tests/run-foreign-corpus.sh compares its inline frames with gdb's.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>

#define INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))
#define LAMBDA_INLINE __attribute__((always_inline))

static int *volatile bad_ptr;	// NULL: the crash
static volatile int sink;
static int park_pipe[2];
static volatile int parked;

static INLINE void fubar(int v)
{
	*bad_ptr = v;	// SIGSEGV
}

static INLINE void foobar(int v)
{
	fubar(v * 7);
	sink += 1;
}

template <typename T>
struct Stage {
	T base;
	INLINE void run(T v)
	{
		foobar(static_cast<int>(v + base));
		sink += 2;
	}
};

template <typename F>
static INLINE void apply(F f, int v)
{
	f(v + 1);
	sink += 3;
}

static INLINE void bar(int v)
{
	Stage<long> s{5};
	apply([&s](int w) LAMBDA_INLINE {
		s.run(w);
		sink += 4;
	}, v);
	sink += 5;
}

static INLINE void foo(int v)
{
	bar(v + 2);
	sink += 6;
}

static INLINE void fu(int v)
{
	foo(v + 3);
	sink += 7;
}

NOINLINE void run_chain(int v)
{
	fu(v);
	sink += 8;
}

template <int N>
struct Parker {
	static INLINE void wait()
	{
		auto block = []() LAMBDA_INLINE {
			char c;
			__atomic_add_fetch(&parked, 1, __ATOMIC_SEQ_CST);
			if (read(park_pipe[0], &c, 1) < 0)	// blocks: nobody writes
				sink = N;
		};
		block();
		sink += N;
	}
};

NOINLINE static void *parker(void *)
{
	Parker<9>::wait();
	sink += 10;
	return nullptr;
}

int main(int argc, char **)
{
	pthread_t t;

	if (pipe(park_pipe) != 0 || pthread_create(&t, nullptr, parker, nullptr) != 0) {
		std::fprintf(stderr, "setup failed\n");
		return 2;
	}
	while (__atomic_load_n(&parked, __ATOMIC_SEQ_CST) < 1)
		usleep(1000);
	usleep(50000);
	std::printf("crash tid %d\n", static_cast<int>(getpid()));
	std::fflush(stdout);
	run_chain(argc);
	sink += 11;
	return 0;
}
