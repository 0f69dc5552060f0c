/*
 * t_time — clocks and sleeping: clock_gettime (REALTIME, MONOTONIC,
 * PROCESS_CPUTIME_ID), clock_getres, nanosleep, clock_nanosleep (relative
 * and TIMER_ABSTIME), gettimeofday, time. The raw system calls are used
 * where musl might answer from a vDSO instead.
 */
#include "tap.h"

#include <sys/time.h>

static long long ts_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static long long raw_clock(clockid_t id)
{
	struct timespec t = {0, 0};
	if (syscall(SYS_clock_gettime, id, &t) != 0)
		return -1;
	return ts_ns(&t);
}

static void test_gettime(void)
{
	struct timespec t;
	SYS(syscall(SYS_clock_gettime, CLOCK_REALTIME, &t),
	    "clock_gettime CLOCK_REALTIME");
	OK(t.tv_nsec >= 0 && t.tv_nsec < 1000000000, "tv_nsec in range");
	tap_diag("CLOCK_REALTIME = %lld s", (long long)t.tv_sec);
	SYS(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t),
	    "clock_gettime CLOCK_MONOTONIC");
	OK(t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000,
	   "monotonic time is sane");
	ERR(syscall(SYS_clock_gettime, 12345, &t), EINVAL,
	    "clock_gettime of a bad clock");

	int backwards = 0;
	long long prev = raw_clock(CLOCK_MONOTONIC);
	for (int i = 0; i < 2000; i++) {
		long long now = raw_clock(CLOCK_MONOTONIC);
		backwards += now < prev;
		prev = now;
	}
	IS(backwards, 0, "CLOCK_MONOTONIC never goes back in 2000 reads");
	long long a = raw_clock(CLOCK_MONOTONIC);
	msleep(2);
	OK(raw_clock(CLOCK_MONOTONIC) > a, "and moves forward across a sleep");

	long long c0 = raw_clock(CLOCK_PROCESS_CPUTIME_ID);
	OK(c0 >= 0, "clock_gettime CLOCK_PROCESS_CPUTIME_ID");
	volatile unsigned long spin = 0;
	long long end = now_ns() + 50000000;
	while (now_ns() < end)
		for (int i = 0; i < 10000; i++)
			spin++;
	long long c1 = raw_clock(CLOCK_PROCESS_CPUTIME_ID);
	OK(c1 > c0, "CPU time grows while spinning (%lld ms)",
	   (c1 - c0) / 1000000);
	OK(clock() > 0, "clock() counts CPU time");

	struct timespec res = {0, 0};
	SYS(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res), "clock_getres");
	OK(ts_ns(&res) > 0 && ts_ns(&res) <= 10000000,
	   "resolution between 1 ns and 10 ms (%lld ns)", ts_ns(&res));
	SYS(syscall(SYS_clock_getres, CLOCK_REALTIME, NULL),
	    "clock_getres with a NULL result");
}

static void test_wall(void)
{
	struct timeval tv;
	struct timespec ts;
	SYS(gettimeofday(&tv, NULL), "gettimeofday");
	OK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "tv_usec in range");
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	long long d = ts.tv_sec - tv.tv_sec;
	OK(d >= 0 && d <= 1, "gettimeofday agrees with CLOCK_REALTIME");
	struct timeval raw = {0, 0};
	SYS(syscall(SYS_gettimeofday, &raw, NULL),
	    "the gettimeofday system call (musl uses clock_gettime)");
	OK(raw.tv_sec >= tv.tv_sec && raw.tv_sec <= tv.tv_sec + 1 &&
		   raw.tv_usec >= 0 && raw.tv_usec < 1000000,
	   "it agrees");
	time_t t1 = 0;
	long t0 = syscall(SYS_time, &t1);
	OK(t0 == t1, "time stores what it returns");
	OK(t0 >= tv.tv_sec && t0 <= tv.tv_sec + 1,
	   "time agrees with gettimeofday");
	OK(time(NULL) >= t0, "time(NULL)");

	long long r0 = raw_clock(CLOCK_REALTIME),
		  m0 = raw_clock(CLOCK_MONOTONIC);
	msleep(50);
	long long r1 = raw_clock(CLOCK_REALTIME),
		  m1 = raw_clock(CLOCK_MONOTONIC);
	long long dr = (r1 - r0) / 1000000, dm = (m1 - m0) / 1000000;
	OK(dr >= 45 && dr <= dm + 100,
	   "CLOCK_REALTIME advances with CLOCK_MONOTONIC (%lld/%lld ms)", dr,
	   dm);
}

static void test_sleep(void)
{
	struct timespec req = {0, 20000000}, rem = {9, 9};
	long long t0 = now_ns();
	SYS(nanosleep(&req, &rem), "nanosleep 20 ms");
	long long ms = (now_ns() - t0) / 1000000;
	OK(ms >= 20 && ms < 2000, "slept at least 20 ms (%lld ms)", ms);
	req.tv_nsec = 0;
	t0 = now_ns();
	SYS(nanosleep(&req, NULL), "nanosleep 0");
	OK(now_ns() - t0 < 1000000000LL, "returns at once");
	req.tv_nsec = 1000000000;
	ERR(nanosleep(&req, NULL), EINVAL, "nanosleep with tv_nsec = 1e9");
	req.tv_sec = -1;
	req.tv_nsec = 0;
	ERR(nanosleep(&req, NULL), EINVAL, "nanosleep with a negative time");

	req.tv_sec = 0;
	req.tv_nsec = 20000000;
	t0 = now_ns();
	IS(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0,
	   "clock_nanosleep relative");
	ms = (now_ns() - t0) / 1000000;
	OK(ms >= 20 && ms < 2000, "slept at least 20 ms (%lld ms)", ms);

	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	long long target = ts_ns(&until) + 30000000;
	until.tv_sec = target / 1000000000;
	until.tv_nsec = target % 1000000000;
	IS(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL), 0,
	   "clock_nanosleep TIMER_ABSTIME");
	OK(now_ns() >= target, "woke at or after the deadline");
	t0 = now_ns();
	until.tv_sec -= 1;
	IS(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL), 0,
	   "an absolute time in the past");
	OK(now_ns() - t0 < 500000000, "returns at once");
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 10000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	IS(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL), 0,
	   "clock_nanosleep on CLOCK_REALTIME, absolute");
	IS(clock_nanosleep(12345, 0, &req, NULL), EINVAL,
	   "clock_nanosleep on a bad clock");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_time");
	test_gettime();
	test_wall();
	test_sleep();
	return tap_done();
}
