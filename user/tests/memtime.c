/*
 * memtime — memory, time and miscellaneous system calls (kern/sys_mem.c,
 * kern/sys_time.c, kern/sys_misc.c): mmap (anonymous, shared-anonymous,
 * MAP_FIXED, MAP_FIXED_NOREPLACE, private file mappings), mprotect (and
 * PROT_NONE/read-only faults in a child), mremap, madvise, munmap; the
 * clocks, sleeps (relative, absolute, interrupted) and CPU time; uname,
 * sysinfo, ids, rlimits, getrandom, affinity, prctl, syslog, reboot's
 * argument check. Argument errors go through syscall(2) so that libc's
 * own checks and rounding do not hide the kernel's answer.
 */
#include "tap.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>

#define PG 4096L
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static long raw_mmap(long addr, long len, long prot, long flags, long fd,
		     long off)
{
	return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

/* ------------------------------------------------------------ mmap */

static void test_mmap(void)
{
	char *p = map_anon(4 * PG);
	OK(p != NULL, "mmap anonymous 4 pages");
	if (!p)
		return;
	OK(((long)p & (PG - 1)) == 0, "mmap result is page-aligned");
	OK(p[0] == 0 && p[4 * PG - 1] == 0, "anonymous pages read as zero");
	memset(p, 'a', 4 * PG);

	/* MAP_FIXED over the second page replaces it with zeroes. */
	char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	IS((long)q, (long)(p + PG), "MAP_FIXED maps at the address given");
	OK(p[PG] == 0 && p[0] == 'a' && p[2 * PG] == 'a',
	   "MAP_FIXED replaced only its range");
	ERR(raw_mmap((long)p, PG, PROT_READ,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
	    EEXIST, "MAP_FIXED_NOREPLACE over a mapping");
	SYS(munmap(p + 3 * PG, PG), "munmap the last page");
	q = mmap(p + 3 * PG, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	IS((long)q, (long)(p + 3 * PG), "MAP_FIXED_NOREPLACE on a free range");

	/* A hint that is free is taken. */
	SYS(munmap(p, 4 * PG), "munmap 4 pages");
	q = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	IS((long)q, (long)p, "a free hint address is used");
	munmap(q, PG);

	/* Flags that are accepted. */
	q = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	OK(q != MAP_FAILED, "MAP_SHARED|MAP_ANONYMOUS is accepted");
	if (q != MAP_FAILED) {
		q[PG] = 7;
		OK(q[PG] == 7 && q[0] == 0, "shared anonymous memory works");
		munmap(q, 2 * PG);
	}
	q = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_NORESERVE, -1,
		 0);
	OK(q != MAP_FAILED && q[7 * PG] == 0,
	   "MAP_POPULATE|MAP_NORESERVE accepted");
	if (q != MAP_FAILED)
		munmap(q, 8 * PG);

	/* Argument errors. */
	long anon = MAP_PRIVATE | MAP_ANONYMOUS;
	ERR(raw_mmap(0, 0, PROT_READ, anon, -1, 0), EINVAL, "mmap length 0");
	ERR(raw_mmap(0, PG, PROT_READ, anon, -1, 100), EINVAL,
	    "mmap unaligned offset");
	ERR(raw_mmap(0, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL,
	    "mmap without MAP_PRIVATE or MAP_SHARED");
	ERR(raw_mmap(0x10000123, PG, PROT_READ, anon | MAP_FIXED, -1, 0),
	    EINVAL, "MAP_FIXED at an unaligned address");
	ERR(raw_mmap(0x7ffffffff000L, 2 * PG, PROT_READ, anon | MAP_FIXED, -1,
		     0),
	    ENOMEM, "MAP_FIXED past the user half");
	ERR(raw_mmap(0, 1L << 48, PROT_READ, anon, -1, 0), ENOMEM,
	    "mmap larger than the user half");
	ERR(raw_mmap(0, PG, PROT_READ, MAP_PRIVATE, 999, 0), EBADF,
	    "file mmap of a bad fd");
	ERR(syscall(SYS_munmap, 0x10000123L, PG), EINVAL, "munmap unaligned");
	ERR(syscall(SYS_munmap, 0x10000000L, 0L), EINVAL, "munmap length 0");
}

/* musl's sbrk refuses to move the break: brk(2) directly. */
static void test_brk(void)
{
	long a = syscall(SYS_brk, 0L);
	long b = syscall(SYS_brk, a + 3 * PG + 5);
	IS(b, a + 3 * PG + 5, "brk grows the heap");
	if (b != a + 3 * PG + 5)
		return;
	memset((char *)a, 'z', 3 * PG + 5);
	OK(((char *)a)[3 * PG + 4] == 'z', "the new heap is writable");
	IS(syscall(SYS_brk, a), a, "brk shrinks it back");
	IS(syscall(SYS_brk, 1L), a, "a bad break leaves it unchanged");
}

/* ------------------------------------------------------------ protection */

static volatile char *fault_at;
static int write_there(void *arg __attribute__((unused)))
{
	*fault_at = 1;
	return 0;
}
static int read_there(void *arg __attribute__((unused)))
{
	return *fault_at == 42 ? 3 : 4;
}

static void test_mprotect(void)
{
	char *p = map_anon(4 * PG);
	if (!p) {
		OK(0, "mmap for mprotect");
		return;
	}
	memset(p, 'x', 4 * PG);
	SYS(mprotect(p + PG, 2 * PG, PROT_READ),
	    "mprotect the middle read-only");
	OK(p[PG] == 'x' && p[2 * PG] == 'x', "read-only pages keep their data");
	p[0] = 'y';
	p[3 * PG] = 'y';
	OK(p[0] == 'y' && p[3 * PG] == 'y', "the pages around stay writable");

	fault_at = p + PG;
	int st = in_child(write_there, NULL, 5000);
	if (st == -3)
		SKIP("fork failed", "a write to a read-only page is SIGSEGV");
	else
		IS_SIGNALED(st, SIGSEGV,
			    "a write to a read-only page is SIGSEGV");
	SYS(mprotect(p + 2 * PG, PG, PROT_NONE), "mprotect PROT_NONE");
	fault_at = p + 2 * PG;
	st = in_child(read_there, NULL, 5000);
	if (st == -3)
		SKIP("fork failed", "a read of a PROT_NONE page is SIGSEGV");
	else
		IS_SIGNALED(st, SIGSEGV,
			    "a read of a PROT_NONE page is SIGSEGV");

	SYS(mprotect(p, 4 * PG, PROT_READ | PROT_WRITE), "mprotect all back");
	p[PG] = 'w';
	p[2 * PG + 1] = 'w';
	OK(p[PG] == 'w' && p[2 * PG] == 'x', "writable again, data kept");
	SYS(mprotect(p, 0, PROT_READ), "mprotect length 0 is fine");
	ERR(syscall(SYS_mprotect, (long)p + 1, PG, PROT_READ), EINVAL,
	    "mprotect unaligned");
	ERR(syscall(SYS_mprotect, (long)p, PG, 0x10L), EINVAL,
	    "mprotect unknown prot bit");
	SYS(munmap(p + 3 * PG, PG), "munmap the last page");
	ERR(syscall(SYS_mprotect, (long)p, 4 * PG, PROT_READ), ENOMEM,
	    "mprotect over a hole");
	p[0] = 'q';
	OK(p[0] == 'q', "a failed mprotect changed nothing");
	munmap(p, 3 * PG);
}

/* ------------------------------------------------------------ mremap */

static void test_mremap(void)
{
	char *p = map_anon(4 * PG);
	if (!p) {
		OK(0, "mmap for mremap");
		return;
	}
	munmap(p + 2 * PG, 2 * PG); /* room to grow */
	memset(p, 'm', 2 * PG);
	char *q = mremap(p, 2 * PG, 4 * PG, 0);
	IS((long)q, (long)p, "mremap grows in place");
	OK(q != MAP_FAILED && q[3 * PG] == 0 && q[PG] == 'm',
	   "the grown part is zero, the old data kept");
	q[3 * PG] = 'n';
	char *blk = mmap(p + 4 * PG, PG, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	OK(blk == p + 4 * PG, "a mapping right after it");
	ERR(syscall(SYS_mremap, (long)p, 4 * PG, 8 * PG, 0L), ENOMEM,
	    "mremap blocked without MREMAP_MAYMOVE");
	q = mremap(p, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
	OK(q != MAP_FAILED && q != p, "MREMAP_MAYMOVE moves it");
	if (q != MAP_FAILED) {
		OK(q[0] == 'm' && q[PG + 5] == 'm' && q[3 * PG] == 'n' &&
			   q[7 * PG] == 0,
		   "the data moved along");
		char *r = mremap(q, 8 * PG, PG, 0);
		IS((long)r, (long)q, "mremap shrinks in place");
		ERR(syscall(SYS_mremap, (long)q + PG, PG, PG, 0L), EFAULT,
		    "mremap of an unmapped range");
		char *to = p + 16 * PG;
		r = mremap(q, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		IS((long)r, (long)to,
		   "MREMAP_FIXED moves to the address given");
		OK(r != MAP_FAILED && r[0] == 'm', "and keeps the data");
		if (r != MAP_FAILED)
			munmap(r, 2 * PG);
	}
	munmap(blk, PG);
	ERR(syscall(SYS_mremap, (long)p, PG, 2 * PG, 8L), EINVAL,
	    "mremap unknown flag");
	ERR(syscall(SYS_mremap, (long)p, PG, 2 * PG, (long)MREMAP_FIXED, 0L),
	    EINVAL, "MREMAP_FIXED without MREMAP_MAYMOVE");
	ERR(syscall(SYS_mremap, (long)p + 1, PG, 2 * PG, 0L), EINVAL,
	    "mremap unaligned");
	ERR(syscall(SYS_mremap, (long)p, PG, 0L, 0L), EINVAL,
	    "mremap to length 0");
}

/* ------------------------------------------------------------ madvise */

static void test_madvise(void)
{
	char *p = map_anon(2 * PG);
	if (!p) {
		OK(0, "mmap for madvise");
		return;
	}
	memset(p, 'd', 2 * PG);
	SYS(madvise(p, 2 * PG, MADV_WILLNEED), "MADV_WILLNEED");
	OK(p[0] == 'd', "advice alone keeps the data");
	SYS(madvise(p, PG, MADV_DONTNEED), "MADV_DONTNEED");
	OK(p[0] == 0 && p[PG - 1] == 0 && p[PG] == 'd',
	   "MADV_DONTNEED zeroes only its range");
	ERR(syscall(SYS_madvise, (long)p, PG, 77L), EINVAL, "unknown advice");
	ERR(syscall(SYS_madvise, (long)p + 5, PG, 0L), EINVAL,
	    "madvise unaligned");
	munmap(p + PG, PG);
	ERR(syscall(SYS_madvise, (long)p, 2 * PG, (long)MADV_DONTNEED), ENOMEM,
	    "madvise over a hole");
	SYS(madvise(p, 0, MADV_DONTNEED), "madvise length 0");
	munmap(p, PG);
}

/* ------------------------------------------------------------ file mmap */

static void test_file_mmap(void)
{
	enum { SIZE = 3 * 4096 + 100 };
	static char data[SIZE];
	for (int i = 0; i < SIZE; i++)
		data[i] = (char)(i * 13 + i / 4096);
	if (write_file("m", data, SIZE)) {
		OK(0, "write the file to map");
		return;
	}
	int fd = open("m", O_RDONLY);
	char *p =
		mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
	OK(p != MAP_FAILED, "mmap a file MAP_PRIVATE at offset 4096");
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	close(fd);
	OK(memcmp(p, data + PG, 2 * PG + 100) == 0,
	   "the mapping holds the file's bytes (fd already closed)");
	OK(p[2 * PG + 100] == 0 && p[3 * PG - 1] == 0,
	   "past the end of the file: zeroes");
	p[10] = ~data[PG + 10];
	OK(p[10] == (char)~data[PG + 10], "a private mapping is writable");
	char back[16];
	fd = open("m", O_RDONLY);
	OK(pread(fd, back, 16, PG) == 16 && back[10] == data[PG + 10],
	   "writes to a private mapping do not reach the file");
	char *r = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	OK(r != MAP_FAILED && r[1] == data[1],
	   "MAP_SHARED read-only of a file is accepted");
	if (r != MAP_FAILED)
		munmap(r, PG);
	close(fd);
	SYS(madvise(p, PG, MADV_DONTNEED), "MADV_DONTNEED on a file page");
	OK(p[10] == data[PG + 10], "then it reads the file again");
	munmap(p, 3 * PG);

	fd = open("m", O_WRONLY);
	ERR(raw_mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 0), EACCES,
	    "mmap of a write-only fd");
	close(fd);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	ERR(raw_mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 0), ENODEV,
	    "mmap of a directory");
	close(fd);
	unlink("m");
}

/* ------------------------------------------------------------ time */

static long long ts_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static volatile int got_alarm;
static void on_alarm(int sig __attribute__((unused)))
{
	got_alarm = 1;
}

static void burn_cpu(long long ns)
{
	long long end = now_ns() + ns;
	volatile unsigned x = 0;
	while (now_ns() < end)
		for (int i = 0; i < 1000; i++)
			x += i;
}

static void test_clocks(void)
{
	struct timespec a, b, res;
	SYS(clock_gettime(CLOCK_MONOTONIC, &a), "CLOCK_MONOTONIC");
	SYS(clock_gettime(CLOCK_MONOTONIC, &b), "CLOCK_MONOTONIC again");
	OK(ts_ns(&b) >= ts_ns(&a), "monotonic does not go back");
	OK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000, "tv_nsec in range");
	SYS(clock_gettime(CLOCK_REALTIME, &a), "CLOCK_REALTIME");
	OK(a.tv_sec > 1577836800, "the wall clock is after 2020");
	struct timeval tv;
	SYS(gettimeofday(&tv, NULL), "gettimeofday");
	OK(tv.tv_sec - a.tv_sec <= 1 && tv.tv_sec >= a.tv_sec,
	   "gettimeofday agrees with CLOCK_REALTIME");
	time_t t = time(NULL);
	OK(t >= a.tv_sec && t - a.tv_sec <= 1, "time agrees too");
	SYS(clock_gettime(CLOCK_BOOTTIME, &a), "CLOCK_BOOTTIME");
	SYS(clock_gettime(CLOCK_MONOTONIC_RAW, &a), "CLOCK_MONOTONIC_RAW");
	SYS(clock_getres(CLOCK_MONOTONIC, &res), "clock_getres");
	OK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000,
	   "resolution at most 1 ms");
	ERR(clock_gettime(99, &a), EINVAL, "clock_gettime of an unknown clock");
	ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, 0x10L), EFAULT,
	    "clock_gettime to a bad pointer");

	struct timespec c0, c1, t0;
	SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0), "process CPU clock");
	burn_cpu(60000000);
	SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1), "... after work");
	OK(ts_ns(&c1) - ts_ns(&c0) >= 30000000,
	   "60 ms of work shows as CPU time (%lld ns)",
	   ts_ns(&c1) - ts_ns(&c0));
	SYS(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0), "thread CPU clock");
	OK(ts_ns(&t0) >= ts_ns(&c1), "thread CPU time includes it");
	struct tms tm;
	clock_t ticks = times(&tm);
	OK(ticks != (clock_t)-1 && tm.tms_utime + tm.tms_stime >= 3,
	   "times: user+system ticks after the work");
	struct rusage ru;
	SYS(getrusage(RUSAGE_SELF, &ru), "getrusage(RUSAGE_SELF)");
	OK(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
			   ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec >=
		   30000,
	   "getrusage shows the CPU time");
	SYS(getrusage(RUSAGE_CHILDREN, &ru), "getrusage(RUSAGE_CHILDREN)");
	ERR(getrusage(5, &ru), EINVAL, "getrusage of an unknown who");
}

static void test_sleep(void)
{
	long long t0 = now_ns();
	struct timespec d = {0, 50000000}, rem;
	SYS(nanosleep(&d, NULL), "nanosleep 50 ms");
	long long el = now_ns() - t0;
	OK(el >= 50000000 && el < 2000000000LL, "slept 50 ms (%lld ns)", el);
	d.tv_nsec = 1000000000;
	ERR(nanosleep(&d, NULL), EINVAL, "nanosleep tv_nsec = 1e9");
	d.tv_sec = -1;
	d.tv_nsec = 0;
	ERR(nanosleep(&d, NULL), EINVAL, "nanosleep negative");
	ERR(syscall(SYS_nanosleep, 0x10L, 0L), EFAULT, "nanosleep bad pointer");

	struct timespec now, until;
	clock_gettime(CLOCK_MONOTONIC, &now);
	until = now;
	until.tv_nsec += 30000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	IS(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL), 0,
	   "clock_nanosleep TIMER_ABSTIME");
	clock_gettime(CLOCK_MONOTONIC, &now);
	OK(ts_ns(&now) >= ts_ns(&until), "woke at or after the deadline");
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec -= 5;
	IS(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL), 0,
	   "an absolute deadline in the past returns at once");
	d = (struct timespec){0, 20000000};
	t0 = now_ns();
	IS(clock_nanosleep(CLOCK_REALTIME, 0, &d, NULL), 0,
	   "clock_nanosleep relative on CLOCK_REALTIME");
	OK(now_ns() - t0 >= 20000000, "it slept 20 ms");
	IS(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL), EINVAL,
	   "clock_nanosleep on a CPU clock");
	IS(clock_nanosleep(99, 0, &d, NULL), EINVAL,
	   "clock_nanosleep on an unknown clock");

	/* A signal ends the sleep with EINTR and the time left: a child
	 * sends it a little into the sleep. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec w = {0, 300000000};
		nanosleep(&w, NULL);
		kill(parent, SIGALRM);
		_exit(0);
	}
	if (pid < 0) {
		SKIP("fork failed", "a signal interrupts nanosleep");
		return;
	}
	d = (struct timespec){5, 0};
	rem = (struct timespec){-1, -1};
	t0 = now_ns();
	errno = 0;
	int rc = nanosleep(&d, &rem);
	int e = errno;
	el = now_ns() - t0;
	OK(rc == -1 && e == EINTR && got_alarm,
	   "a signal interrupts nanosleep with EINTR");
	OK(el < 4000000000LL && rem.tv_sec >= 3 && rem.tv_sec <= 4 &&
		   rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000,
	   "rem holds the time left (%ld.%09ld s after %lld ms)",
	   (long)rem.tv_sec, (long)rem.tv_nsec, el / 1000000);
	IS_EXIT(wait_child(pid, 5000), 0, "the signalling child exits");
	signal(SIGALRM, SIG_DFL);
}

/* ------------------------------------------------------------ misc */

static void test_misc(void)
{
	struct utsname u;
	SYS(uname(&u), "uname");
	IS(strcmp(u.sysname, "Shoal"), 0, "sysname Shoal (%s)", u.sysname);
	IS(strcmp(u.machine, "x86_64"), 0, "machine x86_64");
	IS(strcmp(u.release, "0.4.0"), 0, "release 0.4.0");
	OK(!strncmp(u.nodename, "node", 4), "nodename node<N> (%s)",
	   u.nodename);

	struct sysinfo si;
	SYS(sysinfo(&si), "sysinfo");
	OK(si.totalram > 0 && si.freeram <= si.totalram && si.mem_unit == 1,
	   "sysinfo memory (total %lu, free %lu)", si.totalram, si.freeram);
	OK(si.uptime > 0 && si.procs >= 1, "sysinfo uptime and procs");

	IS(getuid(), 0, "getuid");
	IS(geteuid(), 0, "geteuid");
	IS(getgid(), 0, "getgid");
	IS(getegid(), 0, "getegid");
	SYS(setuid(0), "setuid(0)");
	ERR(setuid(1000), EPERM, "setuid(1000)");
	SYS(setgid(0), "setgid(0)");
	IS(getgroups(0, NULL), 0, "no supplementary groups");
	ERR(syscall(SYS_getgroups, -1L, 0L), EINVAL, "getgroups(-1)");

	struct rlimit rl;
	SYS(getrlimit(RLIMIT_NOFILE, &rl), "getrlimit(RLIMIT_NOFILE)");
	OK(rl.rlim_cur == 256 && rl.rlim_max == 256, "256 descriptors");
	SYS(getrlimit(RLIMIT_STACK, &rl), "getrlimit(RLIMIT_STACK)");
	IS(rl.rlim_cur, 8 << 20, "an 8 MiB stack");
	SYS(getrlimit(RLIMIT_AS, &rl), "getrlimit(RLIMIT_AS)");
	OK(rl.rlim_cur == RLIM_INFINITY, "no address-space limit");
	ERR(syscall(SYS_getrlimit, 99L, &rl), EINVAL, "getrlimit(99)");
	rl.rlim_cur = 10;
	rl.rlim_max = 5;
	ERR(setrlimit(RLIMIT_CPU, &rl), EINVAL, "setrlimit soft above hard");
	rl.rlim_cur = rl.rlim_max = 4096;
	ERR(setrlimit(RLIMIT_NOFILE, &rl), EPERM, "setrlimit NOFILE above 256");
	rl.rlim_cur = rl.rlim_max = 128;
	SYS(setrlimit(RLIMIT_NOFILE, &rl), "setrlimit NOFILE lower (ignored)");
	SYS(prlimit(0, RLIMIT_NOFILE, NULL, &rl), "prlimit64 reads");
	ERR(prlimit(99999, RLIMIT_NOFILE, NULL, &rl), ESRCH,
	    "prlimit64 of another pid");

	unsigned char r1[64], r2[64], zero[64] = {0};
	IS(syscall(SYS_getrandom, r1, 64L, 0L), 64, "getrandom 64 bytes");
	IS(syscall(SYS_getrandom, r2, 64L, 1L), 64, "getrandom GRND_NONBLOCK");
	OK(memcmp(r1, zero, 64) && memcmp(r1, r2, 64),
	   "random bytes are not zero and differ");
	int ones = 0;
	for (int i = 0; i < 64; i++)
		ones += __builtin_popcount(r1[i]) + __builtin_popcount(r2[i]);
	OK(ones > 400 && ones < 624, "about half the bits set (%d/1024)", ones);
	ERR(syscall(SYS_getrandom, r1, 8L, 0x40L), EINVAL,
	    "getrandom bad flag");
	ERR(syscall(SYS_getrandom, 0x10L, 8L, 0L), EFAULT,
	    "getrandom bad pointer");

	SYS(sched_yield(), "sched_yield");
	cpu_set_t set;
	CPU_ZERO(&set);
	SYS(sched_getaffinity(0, sizeof set, &set), "sched_getaffinity");
	OK(CPU_ISSET(0, &set) && CPU_COUNT(&set) == 1, "one CPU: CPU 0");

	char name[16] = "";
	SYS(prctl(PR_SET_NAME, "memtime-renamed-long"), "PR_SET_NAME");
	SYS(prctl(PR_GET_NAME, name), "PR_GET_NAME");
	IS(strcmp(name, "memtime-renamed"), 0, "the name is cut to 15 (%s)",
	   name);
	prctl(PR_SET_NAME, "memtime");
	ERR(prctl(9999, 0, 0, 0, 0), EINVAL, "an unknown prctl");

	int size = (int)syscall(SYS_syslog, 10L, 0L, 0L);
	OK(size > 0, "syslog size of the buffer (%d)", size);
	if (size > 0) {
		char *buf = malloc((size_t)size + 1);
		long n = syscall(SYS_syslog, 3L, buf, (long)size);
		OK(n > 0 && n <= size, "syslog READ_ALL (%ld bytes)", n);
		if (n > 0) {
			buf[n] = 0;
			OK(strstr(buf, "shoal") != NULL,
			   "the kernel log mentions shoal");
		}
		free(buf);
	}
	ERR(syscall(SYS_syslog, 77L, 0L, 0L), EINVAL, "syslog unknown action");
	ERR(syscall(SYS_syslog, 3L, 0L, 10L), EINVAL, "syslog NULL buffer");
	ERR(syscall(SYS_reboot, 1L, 2L, 0x01234567L, 0L), EINVAL,
	    "reboot with bad magic");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "memtime");
	test_mmap();
	test_brk();
	test_mprotect();
	test_mremap();
	test_madvise();
	test_file_mmap();
	test_clocks();
	test_sleep();
	test_misc();
	return tap_done();
}
