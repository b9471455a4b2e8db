/*
 * sandbox.c - see sandbox.h.
 *
 * Confinement
 *
 * `crashpipe handle` runs as root and reads data that the crashed user controls. Only the
 * root parent keeps its privileges, and it uses them only to open things (the core on
 * stdin, /proc/PID/mem, /proc/PID/root, the spool) and to write the report; everything that
 * parses runs in a child that is given those fds:
 *
 * The analysis child (libdw, libunwind on the core; forked by handle):
 *   1. the capability bounding set is dropped while still root;
 *   2. setgroups(0), setresgid(), setresuid() to the crashed process's ids; a crash of uid 0
 *      (root in a container without a user namespace, or the host's root) is analysed as
 *      nobody:nogroup (65534), and so is gid 0 with any uid: the analysis is never host root
 *      nor root's group. We chose nobody over a user namespace for the analysis: it needs to
 *      read host files (debuginfo, the debuginfo cache) with ordinary permissions, and a
 *      user namespace would add kernel surface for no gain;
 *   3. every capability set cleared, and a check that setuid(0) fails;
 *   4. PR_SET_PDEATHSIG(SIGKILL), after the uid change (which clears it), then getppid()
 *      against the parent's pid (the parent may be gone already);
 *   5. PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0;
 *   6. a seccomp filter (cp_sandbox_deny()) that fails with EPERM what the analysis never
 *      does: sockets, exec, ptrace and process_vm_*, mount and friends, kexec, bpf,
 *      perf_event_open, keyrings, modules, setns, io_uring, userfaultfd, file handles, and
 *      clone() with namespace flags. unshare() is allowed with exactly the DAC's flags and
 *      chroot() is allowed, so that the DAC's process (forked from the analysis child, and
 *      seccomp filters are inherited) can still enter its own sandbox; the analysis child
 *      itself gains nothing from either (no capability; a user namespace is what the
 *      crashed user could make anyway). kill() is not filtered: the uid is not root, so it
 *      reaches only the crashed user's own processes (or nobody's).
 *   A failure at any step ends the child (handle's named exit code), never an analysis
 *   with more privilege. The parent kills and reaps it at its deadline (child.c).
 *
 * The DAC's process (libmscordaccore.so, code from the crashed process's own filesystem;
 * forked by the analysis child in handle, by `crashpipe analyze` itself there):
 *   1-5 as above (as the analysis child's user; as nobody when analyze runs as root);
 *   6. every fd closed but its own pipe to the parent, the DAC's file and the files the
 *      target reads memory from (opened before, cp_target_open_files());
 *   7. the C and C++ runtime libraries loaded from the host (its DT_NEEDED);
 *   8. a new user, mount, network and IPC namespace (unshare; when the kernel allows no
 *      unprivileged user namespace the DAC is not loaded, with a note), the DAC's own
 *      directory as its root (chroot: at most the crashed process's own filesystem, reached
 *      through its /proc/PID/root), no capability in either namespace (bounding set, all
 *      sets), no_new_privs, the parent-death signal again;
 *   9. the deny filter above, without unshare() and chroot();
 *  10. dlopen (constructors run here, already confined), DllMain / PAL init,
 *      CLRDataCreateInstance;
 *  11. an allowlist filter (cp_sandbox_dac_allowlist()): no open, no socket, no exec, no
 *      process but threads, writes to its pipe only; anything else fails with EPERM.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "sandbox.h"

/* The namespaces of the DAC's process; the analysis filter lets unshare() have these only. */
#define DAC_NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)
#define ALL_NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID | \
			CLONE_NEWUTS | CLONE_NEWCGROUP | 0x00000080 /* CLONE_NEWTIME */)

uid_t cp_sandbox_uid(uid_t uid)
{
	return uid == 0 ? CP_SANDBOX_NOBODY : uid;
}

gid_t cp_sandbox_gid(uid_t uid, gid_t gid)
{
	return uid == 0 || gid == 0 ? CP_SANDBOX_NOBODY : gid;
}

static int drop_bounding_set(void)
{
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break;	/* past the last capability this kernel knows */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

static int clear_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	(void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

int cp_sandbox_drop_root(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int ret;

	if (geteuid() != 0)
		return 0;
	if (uid == 0)
		return -EPERM;
	if ((ret = drop_bounding_set()) < 0)
		return ret;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if ((ret = clear_caps()) < 0)
		return ret;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0)
		return -EPERM;
	/* Paranoia: root must be out of reach for good. */
	if (setuid(0) == 0 || setgid(0) == 0)
		return -EPERM;
	return 0;
}

int cp_sandbox_tie_to_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	if (getppid() != parent)
		return -ESRCH;
	return 0;
}

int cp_sandbox_lock(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(seccomp_releasep)))

/* What neither the analysis nor a DAC ever needs. */
static const int denied[] = {
	SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
	SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(execve), SCMP_SYS(execveat),
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(mount_setattr),
	SCMP_SYS(fsopen), SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick),
	SCMP_SYS(move_mount), SCMP_SYS(open_tree),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(setns), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register), SCMP_SYS(userfaultfd),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
	SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot), SCMP_SYS(acct), SCMP_SYS(quotactl),
};

static int load(scmp_filter_ctx ctx)
{
	int r = seccomp_load(ctx);
	return r < 0 ? r : 0;
}

/* On kernels with spec_store_bypass_disable=seccomp (the default where the CPU has SSBD), a
 * seccomp filter also turns on the Speculative Store Bypass mitigation, which costs every
 * memory-heavy load of libdw and the DAC. It protects code in a process from the rest of the
 * same process; here the confined code is the one that could attack, and nothing else of
 * value shares its address space. */
static int no_ssbd(scmp_filter_ctx ctx)
{
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	return r == -EOPNOTSUPP || r == -EINVAL ? 0 : r;
}

int cp_sandbox_deny(bool dac_may_follow)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
	static const unsigned long ns_flags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC,
						  CLONE_NEWPID, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME };
	int r;

	if (!ctx)
		return -ENOMEM;
	/* i386 and x32 system calls would go around the rules. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS))) < 0 ||
	    (r = no_ssbd(ctx)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++)
		if ((r = seccomp_rule_add(ctx, eperm, denied[i], 0)) < 0)
			return r;
	/* Threads and fork()s, but no new namespace; clone3()'s flags are out of a filter's
	 * reach, so it is refused as if unknown (glibc then falls back to clone()). */
	for (size_t i = 0; i < ARRAY_SIZE(ns_flags); i++)
		if ((r = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
					  SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
			return r;
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		return r;
	if (dac_may_follow) {
		r = seccomp_rule_add(ctx, eperm, SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_NE, DAC_NAMESPACES));
	} else {
		r = seccomp_rule_add(ctx, eperm, SCMP_SYS(unshare), 0);
		if (r >= 0)
			r = seccomp_rule_add(ctx, eperm, SCMP_SYS(chroot), 0);
	}
	if (r < 0)
		return r;
	return load(ctx);
}

int cp_sandbox_enter_dac(int dirfd, const char **step)
{
	int r;

	*step = "unshare";
	if (unshare(DAC_NAMESPACES) < 0)
		return -errno;
	/* All capabilities in the new user namespace, for these two steps and no more. */
	*step = "chroot";
	if (fchdir(dirfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return -errno;
	*step = "capabilities";
	if ((r = drop_bounding_set()) < 0 || (r = clear_caps()) < 0)
		return r;
	*step = "no_new_privs";
	if ((r = cp_sandbox_lock()) < 0)
		return r;
	return 0;
}

int cp_sandbox_preload_dac_deps(void)
{
	/* The DT_NEEDED of the .NET 8 and 10 DACs; a DAC that needs another fails to load. */
	static const char *const deps[] = { "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6",
					    "librt.so.1", "libpthread.so.0", "libdl.so.2" };
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(deps); i++)
		if (!dlopen(deps[i], RTLD_NOW | RTLD_LOCAL))
			ret = -ENOENT;	/* never dlclose()d: the DAC links against them */
	return ret;
}

int cp_sandbox_dac_allowlist(int out_fd)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	static const int allowed[] = {
		/* memory */
		SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
		SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mincore),
		/* fds already open: the target's files, the core, /proc/PID/mem */
		SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(preadv), SCMP_SYS(preadv2),
		SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(fcntl),
		/* threads, signals, time */
		SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
		SCMP_SYS(set_tid_address), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(gettid), SCMP_SYS(getpid),
		SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
		SCMP_SYS(getegid), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
		SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
		SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom),
		SCMP_SYS(membarrier), SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(getrlimit),
	};
	pid_t self = getpid();
	int r;

	if (!ctx)
		return -ENOMEM;
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS))) < 0 ||
	    (r = no_ssbd(ctx)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0)) < 0)
			return r;
	/* Writes to the pipe to the parent only; signals to itself only (raise(), abort()). */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, out_fd))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1, SCMP_A0(SCMP_CMP_EQ, out_fd))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, self))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, self))) < 0)
		return r;
	/* Threads, not processes; clone3() as unknown, so that glibc uses clone(). */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		return r;
	/* getrlimit() is prlimit64(0, resource, NULL, old). */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, SCMP_A0(SCMP_CMP_EQ, 0),
				  SCMP_A2(SCMP_CMP_EQ, 0))) < 0)
		return r;
	return load(ctx);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void close_from_to(int lo, int hi)
{
	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > (1 << 20))
		max = 1 << 20;
	for (long fd = lo; fd <= hi && fd < max; fd++)
		(void) close((int)fd);
}

int cp_sandbox_close_fds(const int *keep, size_t n)
{
	_cleanup_free_ int *k = malloc((n + 1) * sizeof(*k));
	bool kept[3] = { false, false, false };
	int next = 3;

	if (!k)
		return -ENOMEM;
	memcpy(k, keep, n * sizeof(*k));
	qsort(k, n, sizeof(*k), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (k[i] >= 0 && k[i] < 3)
			kept[k[i]] = true;
		if (k[i] < next)
			continue;
		close_from_to(next, k[i] - 1);
		next = k[i] + 1;
	}
	close_from_to(next, INT32_MAX);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		if (!kept[fd] && fd != null && dup2(null, fd) < 0)
			return -errno;
	if (null > 2)
		close(null);
	return 0;
}
