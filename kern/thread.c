/*
 * thread.c — kernel threads and the scheduler.
 *
 * One CPU. Threads are RUNNABLE (on the run queue), RUNNING (current),
 * SLEEPING (on a wait queue and/or the timer list) or DEAD. Two run
 * queues, each FIFO: kernel threads (and boosted ones, thread_boost) are
 * always taken before user processes' threads, and one woken while a user
 * thread runs preempts it at the next interrupt exit, so the network, the
 * Linker and a deputy answer at once on a node busy with CPU-bound
 * processes. Within a queue: round robin with a time slice of SLICE_TICKS
 * timer ticks, except that a user thread waking from a sleep of a tick or
 * more goes to the head of its queue for one tick of CPU time and preempts
 * a running user thread, which keeps its place and the rest of its slice
 * (make_runnable, schedule);
 * the tick hook counts the slice down and the interrupt-exit
 * hook switches when it runs out and someone else is runnable (preemption
 * of kernel code is safe because every shared structure is guarded by a
 * spinlock, which disables interrupts, or a sleeplock).
 *
 * The idle thread runs only when nothing else is runnable. It sleeps in
 * arch_idle with the tick stopped (tickless idle), asking for a wakeup at
 * the earliest timed sleeper's deadline, if any.
 *
 * Locking: all scheduler state (run queue, timer list, wait queues, thread
 * states) is changed with interrupts disabled; schedule() is entered with
 * interrupts disabled and returns with them disabled.
 *
 * A thread's CPU time (cpu_ns) and the run-queue length are kept for the
 * load balancer.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "vm/vm.h"

#define STACK_PAGES 4
#define SLICE_TICKS 5

enum thread_state { T_RUNNABLE, T_RUNNING, T_SLEEPING, T_DEAD };

struct thread {
	uintptr_t sp; /* saved stack pointer while not running */
	enum thread_state state;
	char name[16];
	unsigned id;
	uint64_t stack_pa; /* 0 for the boot thread */
	thread_fn fn;
	void *arg;
	struct thread *next; /* run queue or wait queue */
	struct waitq *waiting_on; /* wait queue it sleeps on, if any */
	struct thread *timer_next; /* timer list, sorted by wake_ns */
	uint64_t wake_ns; /* 0 = not on the timer list */
	uint64_t cpu_ns, ran_since;
	int slice;
	struct proc *proc; /* the process it runs in ring 3, or NULL */
	uint64_t run_ticks; /* ticks it was running or ready (proc only) */
	bool boost; /* thread_boost: queued with the kernel threads */
	bool plain; /* thread_plain: a kernel thread queued with the users' */
	bool interruptible; /* asleep in waitq_sleep_intr */
	bool woke_first; /* queued at the head on waking: a short slice */
	bool brief; /* running that short slice: one tick of CPU time */
	bool keep_slice; /* preempted with slice left: resumes it */
	uint64_t woke_cpu_ns; /* cpu_ns when its short slice began */
	uint64_t slept_tick; /* time_ticks() when it last went to sleep */
};

static struct thread boot_thread = {.name = "kmain", .state = T_RUNNING};
static struct thread *current = &boot_thread;
static struct thread *idle;
static struct waitq runq; /* user processes' threads */
static struct waitq kq; /* served first: kernel threads and deputies */
#define KSTREAK_MAX 16 /* kernel picks in a row while users wait */
static struct thread *timers;
/* Dead threads whose stacks are freed once we run on another stack: by
 * the next thread to come back from arch_switch or to start. A list, as
 * several may die before either happens (new threads dying at once). */
static struct thread *zombies;
static unsigned next_id = 1;
static bool need_resched;
static bool preempting; /* schedule() called from an interrupt exit */
static unsigned nr_runnable; /* excluding idle and the current thread */
static uint64_t nr_switches;
static thread_switch_fn switch_hook;
static bool (*intr_hook)(struct thread *t); /* a signal is pending for t */

/* ------------------------------------------------------------ queues */

static void q_push(struct waitq *q, struct thread *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static void q_push_front(struct waitq *q, struct thread *t)
{
	t->next = q->head;
	q->head = t;
	if (!q->tail)
		q->tail = t;
}

static struct thread *q_pop(struct waitq *q)
{
	struct thread *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		t->next = NULL;
	}
	return t;
}

static void q_remove(struct waitq *q, struct thread *t)
{
	struct thread *prev = NULL;
	for (struct thread *p = q->head; p; prev = p, p = p->next) {
		if (p != t)
			continue;
		if (prev)
			prev->next = p->next;
		else
			q->head = p->next;
		if (q->tail == p)
			q->tail = prev;
		p->next = NULL;
		return;
	}
}

static void timer_insert(struct thread *t, uint64_t deadline);

static void timer_remove(struct thread *t)
{
	for (struct thread **pp = &timers; *pp; pp = &(*pp)->timer_next) {
		if (*pp == t) {
			*pp = t->timer_next;
			break;
		}
	}
	t->timer_next = NULL;
	t->wake_ns = 0;
}

/* Kernel threads (no process) and threads marked with thread_boost (a
 * deputy serving its remote process) run before user processes. */
static bool boosted(const struct thread *t)
{
	return !t->plain && (!t->proc || t->boost);
}

static struct waitq *queue_of(const struct thread *t)
{
	return boosted(t) ? &kq : &runq;
}

void thread_boost(struct thread *t, bool on)
{
	unsigned long f = irq_save();
	bool queued = t->state == T_RUNNABLE && t != current && t != idle;
	if (queued)
		q_remove(queue_of(t), t);
	t->boost = on;
	if (queued) {
		/* It changes queues now, not at its next wake-up. */
		q_push(queue_of(t), t);
		if (boosted(t) && current != idle && !boosted(current))
			need_resched = true;
	}
	irq_restore(f);
}

void thread_plain(struct thread *t)
{
	unsigned long f = irq_save();
	t->plain = true;
	irq_restore(f);
}

/* Interrupts off. */
static void make_runnable(struct thread *t)
{
	if (t->state != T_SLEEPING)
		return;
	if (t->waiting_on) {
		q_remove(t->waiting_on, t);
		t->waiting_on = NULL;
	}
	if (t->wake_ns)
		timer_remove(t);
	t->state = T_RUNNABLE;
	if (t != idle) {
		/* A user thread that slept a tick or more (waiting for a
		 * pipe, a child, the terminal, a timer) or never ran goes
		 * ahead of the CPU-bound ones for one short slice: a shell
		 * or a spawner on a busy node is not kept waiting a round of
		 * everyone's slices at each step, and a thread cannot take
		 * more than one tick per tick it sleeps that way. */
		if (queue_of(t) == &runq && time_ticks() > t->slept_tick) {
			q_push_front(&runq, t);
			t->woke_first = true;
			/* ...and, unless it never ran (a new child: its
			 * parent goes on, as on Linux), takes the CPU from
			 * a process at the next interrupt exit, which
			 * keeps its place and the rest of its slice
			 * (schedule): ready time spent behind a CPU-bound
			 * process's slice would count as load of a process
			 * that barely runs. */
			if (t->cpu_ns && current != idle && !boosted(current))
				need_resched = true;
		} else {
			q_push(queue_of(t), t);
		}
		nr_runnable++;
		/* A kernel service woken while a user process runs gets the
		 * CPU at the next interrupt exit, not after every process's
		 * time slice. */
		if (boosted(t) && current != idle && !boosted(current))
			need_resched = true;
	}
	if (current == idle)
		need_resched = true;
}

static void wake_timers(void)
{
	uint64_t now = time_ns();
	while (timers && timers->wake_ns <= now)
		make_runnable(timers);
}

/* ------------------------------------------------------------ switching */

/* Interrupts off: free the stacks of dead threads (never the running
 * one's: it is not dead). */
static void reap_zombies(void)
{
	while (zombies) {
		struct thread *z = zombies;
		KASSERT(z != current);
		zombies = z->next;
		pmm_free_contig(z->stack_pa, STACK_PAGES);
		kfree(z);
	}
}

/* Interrupts off. current has already been given its new state. */
static void schedule(void)
{
	struct thread *prev = current;
	/* Kernel threads first, but after KSTREAK_MAX of them in a row a
	 * waiting user thread gets its turn: a node flooded with network
	 * work still runs its shell. */
	static unsigned kstreak;
	struct thread *next = NULL;
	if (kq.head && (!runq.head || kstreak < KSTREAK_MAX)) {
		next = q_pop(&kq);
		kstreak++;
	} else {
		next = q_pop(&runq);
		kstreak = 0;
	}
	if (next)
		nr_runnable--;
	else if (prev->state == T_RUNNING)
		next = prev; /* yielded with nobody else to run */
	else
		next = idle;
	if (prev->state == T_RUNNING && next != prev) {
		prev->state = T_RUNNABLE;
		if (prev != idle) {
			/* Preempted (by a kernel thread or a woken process)
			 * with some of its slice left: back at the head of
			 * its queue to finish that slice, not behind every
			 * process's full one. */
			if (preempting && prev->slice > 0 && !boosted(prev)) {
				q_push_front(&runq, prev);
				prev->keep_slice = true;
			} else {
				q_push(queue_of(prev), prev);
			}
			nr_runnable++;
		}
	}
	need_resched = false;
	preempting = false;
	if (prev->state == T_SLEEPING)
		prev->slept_tick = time_ticks();
	if (next->keep_slice) {
		next->keep_slice = false;
	} else {
		next->slice = next->woke_first ? 1 : SLICE_TICKS;
		next->brief = next->woke_first;
		next->woke_cpu_ns = next->cpu_ns;
	}
	next->woke_first = false;
	if (next == prev) {
		prev->state = T_RUNNING;
		return;
	}
	uint64_t now = time_ns();
	prev->cpu_ns += now - prev->ran_since;
	next->ran_since = now;
	next->state = T_RUNNING;
	current = next;
	nr_switches++;
	if (switch_hook)
		switch_hook(prev, next);
	arch_switch(&prev->sp, next->sp);
	/* Back in prev, now current again. */
	reap_zombies();
}

void thread_yield(void)
{
	unsigned long f = irq_save();
	schedule();
	irq_restore(f);
}

static void (*tick_sampler)(unsigned nproc, uint64_t ticks);

void thread_set_tick_sampler(void (*fn)(unsigned nproc, uint64_t ticks))
{
	tick_sampler = fn;
}

uint64_t thread_run_ticks(const struct thread *t)
{
	return t->run_ticks;
}

/* Threads of user processes that are running or ready (the load). */
static unsigned proc_runnable(void)
{
	unsigned n = 0;
	/* A boosted process thread (a deputy) serves another node's
	 * process: not load here. */
	if (current != idle && current->proc && !current->boost) {
		current->run_ticks++;
		n++;
	}
	for (struct waitq *q = &kq; q; q = q == &kq ? &runq : NULL) {
		for (struct thread *t = q->head; t; t = t->next) {
			if (t->proc && !t->boost) {
				t->run_ticks++;
				n++;
			}
		}
	}
	return n;
}

static void tick(void)
{
	if (tick_sampler)
		tick_sampler(proc_runnable(), time_ticks());
	wake_timers();
	if (current != idle && --current->slice <= 0 &&
	    (runq.head || kq.head)) {
		/* A short slice is one tick of CPU time, not what is left
		 * of the tick the thread woke in. */
		uint64_t used = current->cpu_ns +
				(time_ns() - current->ran_since) -
				current->woke_cpu_ns;
		if (current->brief && used < 1000000000ull / time_hz())
			current->slice = 1;
		else
			need_resched = true;
	}
}

static void irq_exit(void)
{
	/* Never switch away from idle inside arch_idle: it must first restart
	 * the tick it stopped; idle_loop schedules right after. */
	if (need_resched && current != idle) {
		preempting = true;
		schedule();
	}
}

void thread_exit(void)
{
	irq_disable();
	current->state = T_DEAD;
	current->next = zombies;
	zombies = current;
	schedule();
	panic("thread_exit: a dead thread was scheduled");
}

static void thread_start(void *arg)
{
	struct thread *t = arg;
	reap_zombies(); /* a new thread does not return through schedule */
	irq_enable();
	t->fn(t->arg);
	thread_exit();
}

struct thread *thread_create(const char *name, thread_fn fn, void *arg)
{
	struct thread *t = thread_create_suspended(name, fn, arg);
	if (t)
		thread_start_suspended(t);
	return t;
}

void thread_discard_suspended(struct thread *t)
{
	pmm_free_contig(t->stack_pa, STACK_PAGES);
	kfree(t);
}

void thread_start_suspended(struct thread *t)
{
	unsigned long f = irq_save();
	make_runnable(t);
	irq_restore(f);
}

struct thread *thread_create_suspended(const char *name, thread_fn fn,
				       void *arg)
{
	struct thread *t = kzalloc(sizeof *t);
	if (!t)
		return NULL;
	t->stack_pa = pmm_alloc_contig(STACK_PAGES);
	if (!t->stack_pa) {
		kfree(t);
		return NULL;
	}
	strlcpy(t->name, name, sizeof t->name);
	t->fn = fn;
	t->arg = arg;
	void *top = (char *)phys_to_virt(t->stack_pa) + STACK_PAGES * PAGE_SIZE;
	t->sp = arch_thread_stack_init(top, thread_start, t);
	unsigned long f = irq_save();
	t->id = next_id++;
	t->state = T_SLEEPING; /* so make_runnable queues it */
	irq_restore(f);
	return t;
}

struct thread *thread_current(void)
{
	return current;
}

uintptr_t thread_stack_top(const struct thread *t)
{
	KASSERT(t->stack_pa);
	return (uintptr_t)phys_to_virt(t->stack_pa) + STACK_PAGES * PAGE_SIZE;
}

bool thread_is_runnable(const struct thread *t)
{
	return t && (t->state == T_RUNNABLE || t->state == T_RUNNING);
}

void thread_set_proc(struct thread *t, struct proc *p)
{
	t->proc = p;
}

struct proc *thread_proc(const struct thread *t)
{
	return t->proc;
}

void thread_set_switch_hook(thread_switch_fn fn)
{
	switch_hook = fn;
}

const char *thread_name(const struct thread *t)
{
	return t->name;
}

/* Interrupts off: t sleeps until deadline (the timer list is sorted). */
static void timer_insert(struct thread *t, uint64_t deadline)
{
	t->wake_ns = deadline ? deadline : 1;
	struct thread **pp = &timers;
	while (*pp && (*pp)->wake_ns <= t->wake_ns)
		pp = &(*pp)->timer_next;
	t->timer_next = *pp;
	*pp = t;
}

void thread_wake_by(struct thread *t, uint64_t deadline)
{
	unsigned long f = irq_save();
	if (t->state == T_SLEEPING && t->wake_ns && deadline < t->wake_ns) {
		timer_remove(t);
		timer_insert(t, deadline);
	}
	irq_restore(f);
}

void thread_wake_at(struct thread *t, uint64_t deadline)
{
	unsigned long f = irq_save();
	if (t->state == T_SLEEPING && t->wake_ns && deadline != t->wake_ns) {
		timer_remove(t);
		timer_insert(t, deadline);
	}
	irq_restore(f);
}

void thread_sleep_ns(uint64_t ns)
{
	unsigned long f = irq_save();
	timer_insert(current, time_ns() + (ns ? ns : 1));
	current->state = T_SLEEPING;
	schedule();
	irq_restore(f);
}

/* The run-queue length the load balancer samples: runnable threads
 * including the current one, not counting idle. */
unsigned sched_runnable(void)
{
	return nr_runnable + (current != idle);
}

uint64_t sched_switches(void)
{
	return nr_switches;
}

/* t's CPU time, including the slice it is running now. */
uint64_t thread_cpu_ns(const struct thread *t)
{
	unsigned long f = irq_save();
	uint64_t ns = t->cpu_ns;
	if (t == current)
		ns += time_ns() - t->ran_since;
	irq_restore(f);
	return ns;
}

uint64_t sched_idle_ns(void)
{
	unsigned long f = irq_save();
	uint64_t ns = idle->cpu_ns;
	if (current == idle)
		ns += time_ns() - idle->ran_since;
	irq_restore(f);
	return ns;
}

__noreturn static void idle_loop(void *arg)
{
	for (;;) {
		irq_disable();
		wake_timers();
		if (!runq.head && !kq.head) {
			arch_set_idle_deadline(timers ? timers->wake_ns : 0);
			arch_idle();
			wake_timers();
		}
		schedule();
		irq_enable();
	}
}

void sched_init(void)
{
	boot_thread.id = 0;
	boot_thread.ran_since = time_ns();
	boot_thread.slice = SLICE_TICKS;
	idle = thread_create("idle", (thread_fn)idle_loop, NULL);
	if (!idle)
		panic("sched_init: no memory for the idle thread");
	/* thread_create queued it; idle is never on the run queue. */
	unsigned long f = irq_save();
	q_remove(&kq, idle);
	nr_runnable--;
	idle->state = T_RUNNABLE;
	irq_restore(f);
	arch_set_tick_hook(tick);
	arch_set_irq_exit_hook(irq_exit);
}

/* ------------------------------------------------------------ waiting */

void waitq_init(struct waitq *q)
{
	q->head = q->tail = NULL;
}

/* Interrupts off: put the current thread on q (if any) and on the timer
 * list (if deadline) and switch away, dropping l meanwhile. */
static void sleep_on(struct waitq *q, struct spinlock *l, uint64_t deadline,
		     bool intr)
{
	struct thread *t = current;
	KASSERT(t != idle);
	/* Drop l but keep interrupts off until we are asleep, so a wakeup
	 * between the caller's check and the sleep is never lost. */
	unsigned long lflags = 0;
	if (l) {
		KASSERT(l->locked);
		lflags = l->flags;
		l->locked = false;
	}
	if (q) {
		q_push(q, t);
		t->waiting_on = q;
	}
	if (deadline)
		timer_insert(t, deadline);
	t->interruptible = intr;
	t->state = T_SLEEPING;
	schedule();
	t->interruptible = false;
	if (l) {
		if (l->locked)
			panic("waitq_sleep: '%s' held across a switch",
			      l->name);
		l->locked = true;
		l->flags = lflags;
	}
}

void waitq_sleep(struct waitq *q, struct spinlock *l)
{
	unsigned long f = irq_save();
	sleep_on(q, l, 0, false);
	irq_restore(f);
}

int waitq_sleep_intr(struct waitq *q, struct spinlock *l, uint64_t deadline)
{
	unsigned long f = irq_save();
	int rc = 0;
	if (intr_hook && intr_hook(current))
		rc = -ERESTARTSYS;
	else if (deadline && deadline <= time_ns())
		rc = -ETIMEDOUT;
	else {
		sleep_on(q, l, deadline, true);
		if (intr_hook && intr_hook(current))
			rc = -ERESTARTSYS;
		else if (deadline && deadline <= time_ns())
			rc = -ETIMEDOUT;
	}
	irq_restore(f);
	return rc;
}

int waitq_sleep_timed(struct waitq *q, struct spinlock *l, uint64_t deadline)
{
	unsigned long f = irq_save();
	int rc = 0;
	if (deadline && deadline <= time_ns())
		rc = -ETIMEDOUT;
	else {
		sleep_on(q, l, deadline, false);
		if (deadline && deadline <= time_ns())
			rc = -ETIMEDOUT;
	}
	irq_restore(f);
	return rc;
}

void thread_interrupt(struct thread *t)
{
	unsigned long f = irq_save();
	if (t->state == T_SLEEPING && t->interruptible)
		make_runnable(t);
	irq_restore(f);
}

void thread_set_intr_hook(bool (*fn)(struct thread *t))
{
	intr_hook = fn;
}

void waitq_wakeup_all(struct waitq *q)
{
	unsigned long f = irq_save();
	while (q->head)
		make_runnable(q->head);
	irq_restore(f);
}

void waitq_wakeup_one(struct waitq *q)
{
	unsigned long f = irq_save();
	if (q->head)
		make_runnable(q->head);
	irq_restore(f);
}
