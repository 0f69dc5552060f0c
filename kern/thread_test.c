/*
 * thread_test.c — self-tests of kernel threads, the scheduler, wait queues
 * and sleeplocks.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "kern/sync.h"

#define MS 1000000ull

/* Yield until *flag reaches want or timeout_ms passes; true if reached. */
static bool wait_until(volatile int *flag, int want, unsigned timeout_ms)
{
	uint64_t end = time_ns() + timeout_ms * MS;
	while (*flag < want && time_ns() < end)
		thread_sleep_ns(MS);
	return *flag >= want;
}

static volatile int exited;

static void bump_and_exit(void *arg)
{
	exited++;
}

SELFTEST(thread_create_run_exit)
{
	exited = 0;
	for (int i = 0; i < 3; i++)
		ST_ASSERT(thread_create("t-exit", bump_and_exit, NULL));
	ST_ASSERT(wait_until(&exited, 3, 1000));
	/* Dead threads' stacks come back: many more than memory for stacks
	 * if they did not. */
	for (int round = 0; round < 20; round++) {
		exited = 0;
		for (int i = 0; i < 50; i++)
			ST_ASSERT(
				thread_create("t-churn", bump_and_exit, NULL));
		ST_ASSERT(wait_until(&exited, 50, 2000));
	}
	return 0;
}

SELFTEST(thread_sleep_duration)
{
	uint64_t t0 = time_ns();
	thread_sleep_ns(30 * MS);
	uint64_t dt = time_ns() - t0;
	printk("# slept %lu us for 30000 us\n", (unsigned long)(dt / 1000));
	ST_ASSERT(dt >= 30 * MS);
	ST_ASSERT(dt < 2000 * MS); /* loose: the host may run QEMU late */
	return 0;
}

static struct waitq wq;
static volatile int woke;

static void sleeper(void *arg)
{
	unsigned long f = irq_save();
	waitq_sleep(&wq, NULL);
	irq_restore(f);
	woke++;
}

SELFTEST(waitq_wakeup)
{
	waitq_init(&wq);
	woke = 0;
	ST_ASSERT(thread_create("t-wq1", sleeper, NULL));
	ST_ASSERT(thread_create("t-wq2", sleeper, NULL));
	thread_sleep_ns(20 * MS);
	ST_ASSERT(woke == 0); /* nobody woke them yet */
	waitq_wakeup_one(&wq);
	ST_ASSERT(wait_until(&woke, 1, 500));
	thread_sleep_ns(10 * MS);
	ST_ASSERT(woke == 1);
	waitq_wakeup_all(&wq);
	ST_ASSERT(wait_until(&woke, 2, 500));
	return 0;
}

static struct sleeplock lock;
static volatile int shared, done;

static void locker(void *arg)
{
	for (int i = 0; i < 50; i++) {
		sleeplock_acquire(&lock);
		int v = shared;
		thread_yield(); /* let the other thread try the lock */
		shared = v + 1;
		sleeplock_release(&lock);
	}
	done++;
}

SELFTEST(sleeplock_mutual_exclusion)
{
	sleeplock_init(&lock, "test");
	shared = done = 0;
	ST_ASSERT(thread_create("t-lock1", locker, NULL));
	ST_ASSERT(thread_create("t-lock2", locker, NULL));
	ST_ASSERT(thread_create("t-lock3", locker, NULL));
	ST_ASSERT(wait_until(&done, 3, 3000));
	ST_ASSERT(shared == 150);
	return 0;
}

static volatile int stop_spinning, spinner_saw_stop;

static void spinner(void *arg)
{
	uint64_t end = time_ns() + 2000 * MS;
	while (!stop_spinning && time_ns() < end)
		cpu_relax(); /* never yields: only preemption lets others run */
	spinner_saw_stop = stop_spinning;
	done++;
}

SELFTEST(preemption)
{
	stop_spinning = spinner_saw_stop = done = 0;
	ST_ASSERT(thread_create("t-spin", spinner, NULL));
	thread_yield(); /* the spinner runs now, and keeps the CPU */
	stop_spinning = 1; /* we got here: the spinner was preempted */
	ST_ASSERT(wait_until(&done, 1, 3000));
	ST_ASSERT(spinner_saw_stop);
	ST_ASSERT(sched_runnable() == 1);
	return 0;
}
