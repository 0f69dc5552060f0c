/*
 * sys_time.c — clocks, sleeps and CPU-time accounting (LOCAL class, except
 * times/getrusage which the table lists as HOME because children's totals
 * live in the system context): clock_gettime, clock_getres, gettimeofday,
 * time, nanosleep, clock_nanosleep, times, getrusage.
 *
 * Clocks:
 *   CLOCK_MONOTONIC, _RAW, _COARSE, BOOTTIME   time_ns() (TSC, since boot;
 *                                              nothing suspends, so
 *                                              BOOTTIME is the same)
 *   CLOCK_REALTIME, _COARSE, TAI               the CMOS clock at boot
 *                                              carried by time_ns()
 *                                              (arch_wall_seconds); 1970
 *                                              plus uptime if unknown
 *   CLOCK_PROCESS/THREAD_CPUTIME_ID            the thread's CPU time, the
 *                                              running slice included (a
 *                                              process is one thread), also
 *                                              as Linux's negative CPU
 *                                              clock ids naming this pid
 * A migrated process reads its home node's time base (design §4): each
 * clock adds user_ctx.clock_off, which migration sets from the process's
 * own reading when its image arrives (one-way transfer time is lost,
 * never added, so no clock runs backwards across a move); 0 at home.
 *
 * CPU time is not split between user and kernel mode: all of it is
 * reported as user time (ru_utime, tms_utime), system time as 0.
 */
#include "fs/vfs.h" /* struct linux_timespec */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define NSEC 1000000000ull
#define USER_HZ 100 /* clock_t ticks of times(2) */

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11
#define TIMER_ABSTIME 1

#define RUSAGE_SELF 0
#define RUSAGE_THREAD 1
#define RUSAGE_CHILDREN (-1)

struct k_timezone {
	int32_t tz_minuteswest, tz_dsttime;
};
struct k_tms {
	int64_t tms_utime, tms_stime, tms_cutime, tms_cstime;
};

/* ------------------------------------------------------------ clocks */

/* Nanoseconds since 1970 at time_ns() == 0; 0 when the wall clock is
 * unknown. arch_wall_seconds() counts whole seconds of time_ns(), so the
 * offset is exact when both reads fall in one second of time_ns. */
static uint64_t wall_offset_ns(void)
{
	static uint64_t cached;
	static bool known;
	if (known)
		return cached;
	for (;;) {
		uint64_t t1 = time_ns();
		uint64_t w = arch_wall_seconds();
		uint64_t t2 = time_ns();
		if (t1 / NSEC != t2 / NSEC)
			continue;
		if (!w)
			return 0;
		cached = (w - t1 / NSEC) * NSEC;
		known = true;
		return cached;
	}
}

/* The caller's monotonic time: this node's, or for a migrated process
 * its home's time base (user_ctx.clock_off), so no clock it reads runs
 * backwards when it moves. */
static uint64_t now_ns(void)
{
	struct proc *p = proc_current();
	return time_ns() + (uint64_t)(p ? p->user.clock_off : 0);
}

static uint64_t realtime_ns(void)
{
	return wall_offset_ns() + now_ns();
}

static uint64_t cpu_ns(void)
{
	return thread_cpu_ns(thread_current());
}

/* Is clk one of Linux's negative CPU clock ids (~pid << 3 | type) naming
 * this process or thread? Other pids: -EINVAL (they are not visible). */
static int cpu_clock(int64_t clk)
{
	if ((clk & 7) == 7 || (clk & 3) == 3)
		return -EINVAL;
	int64_t pid = ~(clk >> 3);
	if (pid != 0 && pid != proc_current()->pid)
		return -EINVAL;
	return 0;
}

/* The clock's reading in ns, or a negative errno in *err. */
static uint64_t clock_read(int64_t clk, int *err)
{
	*err = 0;
	if (clk < 0) {
		*err = cpu_clock(clk);
		return *err ? 0 : cpu_ns();
	}
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_REALTIME_ALARM:
	case CLOCK_TAI:
		return realtime_ns();
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	case CLOCK_BOOTTIME_ALARM:
		return now_ns();
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		return cpu_ns();
	default:
		*err = -EINVAL;
		return 0;
	}
}

static struct linux_timespec to_ts(uint64_t ns)
{
	return (struct linux_timespec){(int64_t)(ns / NSEC),
				       (int64_t)(ns % NSEC)};
}

static struct linux_timeval to_tv(uint64_t ns)
{
	return (struct linux_timeval){(int64_t)(ns / NSEC),
				      (int64_t)(ns % NSEC / 1000)};
}

long sys_clock_gettime(const uint64_t a[6])
{
	int err;
	uint64_t ns = clock_read((int64_t)a[0], &err);
	if (err)
		return err;
	struct linux_timespec ts = to_ts(ns);
	return user_out(a[1], &ts, sizeof ts);
}

long sys_clock_getres(const uint64_t a[6])
{
	int64_t clk = (int64_t)a[0];
	int err;
	clock_read(clk, &err);
	if (err)
		return err;
	uint64_t res = 1;
	if (clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE)
		res = NSEC / time_hz();
	struct linux_timespec ts = to_ts(res);
	return a[1] ? user_out(a[1], &ts, sizeof ts) : 0;
}

long sys_gettimeofday(const uint64_t a[6])
{
	if (a[0]) {
		struct linux_timeval tv = to_tv(realtime_ns());
		if (user_out(a[0], &tv, sizeof tv))
			return -EFAULT;
	}
	if (a[1]) {
		struct k_timezone tz = {0, 0};
		if (user_out(a[1], &tz, sizeof tz))
			return -EFAULT;
	}
	return 0;
}

long sys_time(const uint64_t a[6])
{
	int64_t t = (int64_t)(realtime_ns() / NSEC);
	if (a[0] && user_out(a[0], &t, sizeof t))
		return -EFAULT;
	return t;
}

/* ------------------------------------------------------------ sleeping */

/* A timespec from user memory as ns: 0, -EFAULT or -EINVAL. Huge values
 * saturate (a sleep of centuries is a sleep forever). */
static int ts_in(uintptr_t uts, uint64_t *ns)
{
	struct linux_timespec ts;
	if (user_in(&ts, uts, sizeof ts))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (int64_t)NSEC)
		return -EINVAL;
	uint64_t max_sec = (UINT64_MAX / 4) / NSEC;
	*ns = (uint64_t)ts.tv_sec >= max_sec
		      ? max_sec * NSEC
		      : (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
	return 0;
}

/*
 * Sleep until time_ns() reaches deadline: 0, or -EINTR when a signal
 * arrives, with the time left written to urem (if given). The signal code
 * runs the handler on the way out; as in Linux, a handled signal ends the
 * sleep with EINTR rather than restarting it.
 */
static long sleep_until(uint64_t deadline, uintptr_t urem)
{
	for (;;) {
		int rc = waitq_sleep_intr(NULL, NULL, deadline);
		if (rc == -ETIMEDOUT || time_ns() >= deadline)
			return 0;
		if (rc == -ERESTARTSYS) {
			uint64_t now = time_ns();
			struct linux_timespec rem =
				to_ts(deadline > now ? deadline - now : 0);
			if (urem && user_out(urem, &rem, sizeof rem))
				return -EFAULT;
			return -EINTR;
		}
	}
}

long sys_nanosleep(const uint64_t a[6])
{
	uint64_t ns;
	int rc = ts_in(a[0], &ns);
	if (rc)
		return rc;
	if (!ns)
		return 0;
	return sleep_until(time_ns() + ns, a[1]);
}

long sys_clock_nanosleep(const uint64_t a[6])
{
	int64_t clk = (int64_t)a[0];
	bool abs = a[1] & TIMER_ABSTIME;
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
		break;
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
		return -EOPNOTSUPP;
	default:
		/* CPU clocks: sleeping on one's own CPU time never ends. */
		return -EINVAL;
	}
	uint64_t ns;
	int rc = ts_in(a[2], &ns);
	if (rc)
		return rc;
	uint64_t now = time_ns();
	uint64_t deadline;
	if (!abs) {
		deadline = now + ns;
	} else {
		bool real = clk == CLOCK_REALTIME || clk == CLOCK_TAI;
		/* From the caller's time base to this node's. */
		uint64_t base =
			(real ? wall_offset_ns() : 0) + (now_ns() - now);
		deadline = ns > base ? ns - base : 0;
	}
	if (deadline <= now)
		return 0;
	/* An absolute sleep reports no remaining time. */
	return sleep_until(deadline, abs ? 0 : a[3]);
}

/* ------------------------------------------------------------ accounting */

long sys_times(const uint64_t a[6])
{
	if (a[0]) {
		struct k_tms t = {
			.tms_utime = (int64_t)(cpu_ns() / (NSEC / USER_HZ)),
			.tms_cutime = (int64_t)(proc_children_cpu_ns() /
						(NSEC / USER_HZ)),
		};
		if (user_out(a[0], &t, sizeof t))
			return -EFAULT;
	}
	/* Ticks since boot; Linux starts 5 minutes before 0 to catch
	 * wrap bugs, Shoal simply at boot. */
	return (long)(now_ns() / (NSEC / USER_HZ));
}

long sys_getrusage(const uint64_t a[6])
{
	int who = (int)a[0];
	struct linux_rusage ru;
	memset(&ru, 0, sizeof ru);
	switch (who) {
	case RUSAGE_SELF:
	case RUSAGE_THREAD: {
		ru.ru_utime = to_tv(cpu_ns());
		struct vm_space *s = proc_current()->user.space;
		/* Resident now, in KiB: the peak is not tracked. */
		ru.ru_maxrss = s ? (int64_t)(s->pages * (PAGE_SIZE / 1024)) : 0;
		break;
	}
	case RUSAGE_CHILDREN:
		ru.ru_utime = to_tv(proc_children_cpu_ns());
		break;
	default:
		return -EINVAL;
	}
	return user_out(a[1], &ru, sizeof ru);
}
