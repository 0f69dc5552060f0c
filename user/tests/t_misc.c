/*
 * t_misc — the rest: uname, getuid/geteuid/getgid/getegid/getgroups,
 * setuid/setgid to the current ids, getrusage, times, sysinfo,
 * getrlimit/setrlimit/prlimit64 (RLIMIT_NOFILE enforced), getrandom,
 * sched_yield, sched_getaffinity, prctl (PR_SET_NAME), set_robust_list,
 * rseq, syslog, arch_prctl through thread-local storage.
 */
#include "tap.h"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

static __thread int tls_value = 1234;
static __thread char tls_buf[64];

/* Spin until this process has used ms of CPU time (at most 5 s of wall
 * time, in case the CPU clock does not move). */
static void burn_cpu(long ms)
{
	volatile unsigned long spin = 0;
	struct timespec t;
	long long wall_end = now_ns() + 5000000000LL, cpu_end = -1;
	for (;;) {
		long long cpu = -1;
		if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0)
			cpu = t.tv_sec * 1000000000LL + t.tv_nsec;
		if (cpu_end < 0)
			cpu_end = cpu + ms * 1000000LL;
		if (cpu >= cpu_end || now_ns() > wall_end)
			return;
		for (int i = 0; i < 10000; i++)
			spin++;
	}
}

static void test_ids(void)
{
	struct utsname u;
	SYS(uname(&u), "uname");
	OK(u.sysname[0] != 0 && u.release[0] != 0 && u.version[0] != 0,
	   "sysname, release and version are set");
	OK(!strcmp(u.machine, "x86_64"), "machine is x86_64 (%s)", u.machine);
	tap_diag("uname: %s %s %s %s", u.sysname, u.nodename, u.release,
		 u.machine);

	uid_t uid = getuid();
	gid_t gid = getgid();
	IS(geteuid(), uid, "geteuid is getuid");
	IS(getegid(), gid, "getegid is getgid");
	int n = SYS(getgroups(0, NULL), "getgroups(0) counts");
	OK(n >= 0 && n <= 65536, "a sane number of groups (%d)", n);
	gid_t groups[256];
	IS(getgroups(256, groups), n > 256 ? -1 : n, "getgroups fills a list");
	if (n >= 2)
		ERR(getgroups(n - 1, groups), EINVAL,
		    "getgroups with a list too short");
	else
		SKIP("fewer than two groups",
		     "getgroups with a list too short");
	SYS(syscall(SYS_setuid, uid), "setuid to the current uid");
	SYS(syscall(SYS_setgid, gid), "setgid to the current gid");
	IS(getuid(), uid, "uid unchanged");
}

static void test_usage(void)
{
	burn_cpu(120);
	struct rusage ru;
	SYS(getrusage(RUSAGE_SELF, &ru), "getrusage RUSAGE_SELF");
	long long us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec +
		       ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	OK(us > 0, "user + system time > 0 after spinning (%lld us)", us);
	OK(ru.ru_maxrss >= 0, "ru_maxrss");

	pid_t pid = fork();
	if (pid == 0) {
		burn_cpu(120);
		_exit(0);
	}
	wait_child(pid, 10000);
	SYS(getrusage(RUSAGE_CHILDREN, &ru), "getrusage RUSAGE_CHILDREN");
	us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec +
	     ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	OK(us > 0, "a reaped child's time is counted (%lld us)", us);
	ERR(getrusage(99, &ru), EINVAL, "getrusage of a bad who");

	struct tms t;
	clock_t c0 = times(&t);
	OK(c0 != (clock_t)-1, "times");
	OK(t.tms_utime + t.tms_stime > 0, "tms_utime + tms_stime > 0");
	OK(t.tms_cutime + t.tms_cstime > 0, "the child's ticks are counted");
	msleep(30);
	OK(times(&t) > c0, "times' return value advances");

	struct sysinfo si;
	SYS(sysinfo(&si), "sysinfo");
	OK(si.totalram > 0 && si.mem_unit >= 1, "totalram and mem_unit");
	OK(si.freeram <= si.totalram, "freeram <= totalram");
	OK(si.procs >= 1, "procs >= 1 (%d)", si.procs);
	OK(si.uptime < 10UL * 365 * 86400, "a sane uptime (%lu s)", si.uptime);
}

static void test_limits(void)
{
	struct rlimit rl, rl2;
	SYS(getrlimit(RLIMIT_NOFILE, &rl), "getrlimit RLIMIT_NOFILE");
	OK(rl.rlim_cur > 3 && rl.rlim_cur <= rl.rlim_max, "soft <= hard");
	tap_diag("RLIMIT_NOFILE %llu/%llu", (unsigned long long)rl.rlim_cur,
		 (unsigned long long)rl.rlim_max);
	SYS(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl2),
	    "prlimit64 reads");
	OK(rl2.rlim_cur == rl.rlim_cur && rl2.rlim_max == rl.rlim_max,
	   "prlimit64 agrees with getrlimit");
	SYS(getrlimit(RLIMIT_STACK, &rl2), "getrlimit RLIMIT_STACK");
	OK(rl2.rlim_cur >= 65536, "a stack limit of at least 64 KiB");
	struct rlimit raw = {0, 0};
	SYS(syscall(SYS_getrlimit, RLIMIT_NOFILE, &raw),
	    "getrlimit system call (musl uses prlimit64)");
	OK(raw.rlim_cur == rl.rlim_cur, "it agrees with prlimit64");
	ERR(syscall(SYS_getrlimit, 9999, &rl2), EINVAL,
	    "getrlimit of a bad resource");

	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit l = {16, rl.rlim_max};
		/* The setrlimit system call (musl's setrlimit uses prlimit64). */
		if (syscall(SYS_setrlimit, RLIMIT_NOFILE, &l) != 0)
			_exit(1);
		struct rlimit back;
		getrlimit(RLIMIT_NOFILE, &back);
		if (back.rlim_cur != 16)
			_exit(2);
		int last = -1;
		for (int i = 0; i < 64; i++) {
			int fd = dup(0);
			if (fd < 0) {
				if (errno != EMFILE)
					_exit(3);
				break;
			}
			last = fd;
		}
		if (last != 15)
			_exit(4);
		l.rlim_cur = l.rlim_max + 1;
		if (l.rlim_max != RLIM_INFINITY &&
		    (setrlimit(RLIMIT_NOFILE, &l) != -1 || errno != EINVAL))
			_exit(5);
		_exit(0);
	}
	IS_EXIT(wait_child(pid, 5000), 0,
		"setrlimit RLIMIT_NOFILE 16: dup fails with EMFILE at fd 16");
}

static void test_random(void)
{
	unsigned char a[64], b[64];
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	IS(getrandom(a, sizeof a, 0), 64, "getrandom 64 bytes");
	IS(getrandom(b, sizeof b, GRND_NONBLOCK), 64,
	   "getrandom GRND_NONBLOCK");
	OK(memcmp(a, b, sizeof a) != 0, "two draws differ");
	int zeros = 0;
	for (size_t i = 0; i < sizeof a; i++)
		zeros += a[i] == 0;
	OK(zeros < 16, "not mostly zeros");
	ERR(getrandom(a, sizeof a, 0x1000), EINVAL, "getrandom with bad flags");
}

static void test_sched(void)
{
	SYS(sched_yield(), "sched_yield");
	unsigned long mask[16];
	memset(mask, 0, sizeof mask);
	long n = SYS(syscall(SYS_sched_getaffinity, 0, sizeof mask, mask),
		     "sched_getaffinity");
	int cpus = 0;
	for (int i = 0; i < 16; i++)
		cpus += __builtin_popcountl(mask[i]);
	OK(n > 0 && cpus >= 1, "at least one CPU in the mask (%d)", cpus);

	char name[32] = {0};
	SYS(prctl(PR_SET_NAME, "t_misc-renamed"), "prctl PR_SET_NAME");
	SYS(prctl(PR_GET_NAME, name), "prctl PR_GET_NAME");
	OK(!strcmp(name, "t_misc-renamed"), "the name reads back (%s)", name);
	ERR(prctl(0x7fff0000, 0, 0, 0, 0), EINVAL, "prctl of a bad option");

	static uint64_t head[3];
	head[0] = (uint64_t)(uintptr_t)head;
	long r = syscall(SYS_set_robust_list, head, 24);
	if (r == -1 && errno == ENOSYS) {
		SKIP("set_robust_list is not implemented (musl copes)",
		     "set_robust_list");
		SKIP("set_robust_list is not implemented (musl copes)",
		     "set_robust_list with a bad length");
	} else {
		IS(r, 0, "set_robust_list");
		ERR(syscall(SYS_set_robust_list, head, 7), EINVAL,
		    "set_robust_list with a bad length");
	}
	ERR2(syscall(SYS_rseq, head, 7, 0, 0), EINVAL, ENOSYS,
	     "rseq with a bad length");
	r = syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0);
	OK(r > 0 || (r == -1 && errno == EPERM), "syslog SIZE_BUFFER (%ld)", r);
}

/* mount and umount2 with proc; reboot only with a bad magic number. */
static void test_mount(void)
{
	struct stat st;
	mkdir("p", 0755);
	long r = mount("proc", "p", "proc", 0, NULL);
	if (r == -1 && errno == EPERM) {
		SKIP("no privilege to mount", "mount proc");
		SKIP("no privilege to mount", "the mounted proc has self");
		SKIP("no privilege to mount", "umount2");
	} else {
		IS(r, 0, "mount proc on a scratch directory");
		SYS(lstat("p/self", &st), "the mounted proc has self");
		SYS(umount2("p", 0), "umount2");
	}
	ERR(stat("p/self", &st), ENOENT, "unmounted: the directory is empty");
	ERR(umount2("p", 0), EINVAL, "umount2 of a directory that is no mount");
	ERR(mount("none", "p", "no-such-fs", 0, NULL), ENODEV,
	    "mount of an unknown file system type");
	rmdir("p");
	ERR(syscall(SYS_reboot, 0x12345678, 0x28121969, 0x01234567, 0), EINVAL,
	    "reboot with a bad magic number");
}

static long raw_arch_prctl(long code, unsigned long addr)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(SYS_arch_prctl), "D"(code), "S"(addr)
			 : "rcx", "r11", "memory");
	return ret;
}

static void test_tls(void)
{
	IS(tls_value, 1234, "an initialised __thread variable");
	IS(tls_buf[10], 0, "a zeroed __thread array");
	tls_value = 99;
	strcpy(tls_buf, "tls");
	unsigned long fs = 0, self;
	IS(raw_arch_prctl(ARCH_GET_FS, (unsigned long)&fs), 0,
	   "arch_prctl ARCH_GET_FS");
	__asm__ volatile("movq %%fs:0, %0" : "=r"(self));
	OK(fs != 0 && fs == self, "FS base is the thread pointer");
	OK((unsigned long)&tls_value < fs + 4096 &&
		   (unsigned long)&tls_value + 4096 > fs,
	   "TLS sits next to the thread pointer");

	/* Switch FS to a block of our own and back (nothing else may run
	 * in between: libc reaches errno through FS). */
	static unsigned long block[8];
	block[0] = (unsigned long)block;
	block[1] = 0x5151;
	unsigned long seen0, seen1;
	long r1 = raw_arch_prctl(ARCH_SET_FS, (unsigned long)block);
	__asm__ volatile("movq %%fs:0, %0\n\tmovq %%fs:8, %1"
			 : "=r"(seen0), "=r"(seen1));
	long r2 = raw_arch_prctl(ARCH_SET_FS, fs);
	IS(r1, 0, "arch_prctl ARCH_SET_FS");
	OK(seen0 == (unsigned long)block && seen1 == 0x5151,
	   "%%fs reads the new block");
	IS(r2, 0, "and back");
	IS(tls_value, 99, "TLS intact afterwards");
	IS(raw_arch_prctl(ARCH_SET_FS, 0xffff800000000000UL), -EPERM,
	   "ARCH_SET_FS to a kernel address: EPERM");
	IS(raw_arch_prctl(0x9999, 0), -EINVAL, "arch_prctl of a bad code");

	pid_t pid = fork();
	if (pid == 0) {
		unsigned long cfs = 0;
		raw_arch_prctl(ARCH_GET_FS, (unsigned long)&cfs);
		int ok = tls_value == 99 && !strcmp(tls_buf, "tls") &&
			 cfs == fs;
		tls_value = 5;
		_exit(ok ? 0 : 1);
	}
	IS_EXIT(wait_child(pid, 5000), 0, "a forked child keeps FS and TLS");
	IS(tls_value, 99, "the child's TLS writes are its own");
	errno = 0;
	close(-1);
	IS(errno, EBADF, "a failing call sets errno through TLS");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_misc");
	test_ids();
	test_usage();
	test_limits();
	test_random();
	test_sched();
	test_tls();
	test_mount();
	return tap_done();
}
