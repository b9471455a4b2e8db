// cxxthrow.cc - crash corpus: uncaught C++ exception on a worker std::thread.
//
// Exercises: a SIGABRT on a thread that is not main, C++ name demangling, and unwinding
// through libstdc++ and libc's abort path.  worker_body -> parse_config -> check_value throws
// std::runtime_error; nothing catches it, so the runtime calls std::terminate(), whose default
// handler (__gnu_cxx::__verbose_terminate_handler) calls abort() on the worker thread:
//   __pthread_kill_implementation <- raise <- abort <- __gnu_cxx::__verbose_terminate_handler
//   <- __cxxabiv1::__terminate <- std::terminate <- ... <- __cxa_throw <- cxxthrow::check_value
//   <- cxxthrow::parse_config <- cxxthrow::worker_body <- std::thread glue <- start_thread
// Main waits in join(): the worker throws only once main sleeps there (state S in
// /proc/self/task/PID/stat), not while it is still on its way out of pthread_create, where
// it can be right after clone3's syscall, code no CFI describes.  The worker prints
// "crash tid TID" before throwing.
//
// Build: c++ -g -O2 -o cxxthrow cxxthrow.cc -lpthread
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <sys/syscall.h>

#define NOINLINE __attribute__((noinline, noclone))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

volatile int sink;

namespace cxxthrow {

NOINLINE void check_value(const std::string &key, int value)
{
	if (value + sink < 100)
		throw std::runtime_error("bad value for " + key); // CRASH-LINE
	KEEP_FRAME();
}

NOINLINE void parse_config(int depth)
{
	check_value("depth", depth); // CALL-LINE
	KEEP_FRAME();
}

// Wait until the main thread sleeps (in join), so its stack no longer moves.
static void wait_main_asleep()
{
	char path[64], buf[512];
	std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
	for (int tries = 0; tries < 2000; tries++) {
		if (FILE *f = std::fopen(path, "r")) {
			size_t len = std::fread(buf, 1, sizeof buf - 1, f);
			std::fclose(f);
			buf[len] = '\0';
			const char *p = std::strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S')
				return;
		}
		usleep(1000);
	}
	std::fprintf(stderr, "the main thread never went to sleep\n");
	std::exit(2);
}

NOINLINE void worker_body()
{
	wait_main_asleep();
	std::printf("crash tid %ld\n", (long)syscall(SYS_gettid));
	std::fflush(stdout);
	parse_config(7);
	KEEP_FRAME();
}

} // namespace cxxthrow

int main()
{
	std::thread worker(cxxthrow::worker_body);
	worker.join();
	return 0;
}
