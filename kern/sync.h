/*
 * sync.h — kernel threads, wait queues and locks (kern/thread.c, sync.c).
 *
 *   spinlock    short critical sections; disables interrupts while held
 *               (one CPU per node today, so it is just irq_save/restore plus
 *               an owner check in debug builds)
 *   waitq       a queue of sleeping threads; wakeup makes them runnable
 *   sleeplock   a lock a thread may hold across a sleep (buffer locks,
 *               inode locks); waiters sleep on its waitq
 *
 * Host unit tests of code that uses these (fs/, ...) link a single-threaded
 * stand-in (tests/unit/sync_host.c) instead of kern/thread.c.
 */
#ifndef KERN_SYNC_H
#define KERN_SYNC_H

#include <stdbool.h>
#include <stdint.h>

struct thread;

struct spinlock {
	unsigned long flags; /* interrupt flag saved by the holder */
	bool locked;
	const char *name;
};

struct waitq {
	struct thread *head, *tail;
};

struct sleeplock {
	bool locked;
	struct thread *owner;
	struct waitq wq;
	const char *name;
};

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);

void waitq_init(struct waitq *q);
/*
 * Sleep on q until woken. The caller holds `l` (may be NULL); it is released
 * while asleep and re-taken before returning, so a wakeup between the
 * caller's check and the sleep is never lost.
 */
void waitq_sleep(struct waitq *q, struct spinlock *l);
/*
 * Sleep as waitq_sleep does, but also wake at deadline_ns (time_ns; 0 =
 * none) or when the thread is interrupted (a signal for its process,
 * thread_interrupt). q may be NULL: a timed or signal-only sleep. Returns 0
 * when woken by q, -ETIMEDOUT once the deadline has passed, -ERESTARTSYS
 * (kern/syscall.h) when a signal is pending, checked before sleeping too.
 * Callers re-check their condition in a loop, as with waitq_sleep.
 */
int waitq_sleep_intr(struct waitq *q, struct spinlock *l, uint64_t deadline_ns);
/* As waitq_sleep_intr, but a signal does not end the sleep: 0 when woken
 * by q, -ETIMEDOUT once the deadline (0 = none) has passed. For kernel
 * waits that must outlast a signal (the Linker's trackers). */
int waitq_sleep_timed(struct waitq *q, struct spinlock *l,
		      uint64_t deadline_ns);
/* Wake t if it sleeps in waitq_sleep_intr (a signal was sent to it). */
void thread_interrupt(struct thread *t);
/* The process layer's test "does t have a signal that interrupts sleeps". */
void thread_set_intr_hook(bool (*fn)(struct thread *t));
void waitq_wakeup_all(struct waitq *q);
void waitq_wakeup_one(struct waitq *q);

void sleeplock_init(struct sleeplock *l, const char *name);
void sleeplock_acquire(struct sleeplock *l);
void sleeplock_release(struct sleeplock *l);
bool sleeplock_held(const struct sleeplock *l); /* by the calling thread */

/* Kernel threads. */
typedef void (*thread_fn)(void *arg);
struct thread *thread_create(const char *name, thread_fn fn, void *arg);
/* The same, not yet runnable: the creator prepares its stack (e.g. a fork
 * child's registers at thread_stack_top) and then starts it. */
struct thread *thread_create_suspended(const char *name, thread_fn fn,
				       void *arg);
void thread_start_suspended(struct thread *t);
void thread_discard_suspended(struct thread *t); /* never started */
void thread_yield(void);
/* Sleep for at least ns nanoseconds. */
void thread_sleep_ns(uint64_t ns);
/* If t sleeps with a deadline later than deadline, move it earlier (t
 * then wakes by deadline, as from its own timer); otherwise nothing. No
 * switch: cheaper than a wakeup for a timer thread whose next deadline
 * moved (the Linker's linkd). */
void thread_wake_by(struct thread *t, uint64_t deadline);
/* If t sleeps with a deadline, it wakes at deadline instead, earlier or
 * later (its sleep's caller must check why it woke): a timer thread whose
 * next deadline moved back is not woken for nothing. */
void thread_wake_at(struct thread *t, uint64_t deadline);
struct thread *thread_current(void);
/* End the calling thread (its stack is freed after the next switch). */
__attribute__((noreturn)) void thread_exit(void);
/* The first address above t's kernel stack (TSS rsp0 for user threads). */
uintptr_t thread_stack_top(const struct thread *t);
/* The process a thread runs in ring 3 (kern/proc.c), NULL for kernel-only
 * threads. */
struct proc;
/* Running or waiting for the CPU (not asleep); false for NULL. */
bool thread_is_runnable(const struct thread *t);
void thread_set_proc(struct thread *t, struct proc *p);
/* Called at every timer tick (interrupts off) with the number of user
 * processes' threads running or ready and time_ticks(): the load
 * balancer's sample (mosix/balance.c). */
void thread_set_tick_sampler(void (*fn)(unsigned nproc, uint64_t ticks));
/* Ticks at which t (a process's thread) was running or ready: its load,
 * whatever share of the CPU it got. */
uint64_t thread_run_ticks(const struct thread *t);
/* Scheduling: kernel threads run before user processes' threads (each
 * class round robin); a process's thread that serves others (a deputy,
 * mosix/mig.c) joins the first class with thread_boost(t, true), and so
 * does a process asked to migrate until its move is over (its freeze and
 * sending run ahead of the CPU-bound processes it leaves). A thread that
 * waits for the CPU changes queues at once. */
void thread_boost(struct thread *t, bool on);
/* A kernel thread scheduled like user processes (the console's input
 * thread: typed-ahead characters must meet the shell in the terminal mode
 * it set, not preempt it halfway through setting it). Before it runs. */
void thread_plain(struct thread *t);
struct proc *thread_proc(const struct thread *t);
/* Called in every switch, interrupts off, before `next` runs: the process
 * layer saves prev's and loads next's FPU, FS base, space, kernel stack. */
typedef void (*thread_switch_fn)(struct thread *prev, struct thread *next);
void thread_set_switch_hook(thread_switch_fn fn);
const char *thread_name(const struct thread *t);
/* Make the boot context the first thread and start the idle thread. */
void sched_init(void);
/* Runnable threads including the running one, idle excluded. */
unsigned sched_runnable(void);
uint64_t sched_switches(void);
/* CPU time t has used, the running slice included (clocks, getrusage). */
uint64_t thread_cpu_ns(const struct thread *t);
/* Time the idle thread has run (for /proc/uptime). */
uint64_t sched_idle_ns(void);

#endif
