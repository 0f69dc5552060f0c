/*
 * sync.c — spinlocks and sleeplocks (kern/sync.h).
 *
 * With one CPU a spinlock is "interrupts off while held": it never spins,
 * and taking one that is already held (by this CPU, so by an interrupted
 * holder) is a deadlock, which panics naming the lock. A sleeplock's
 * state is guarded by interrupts being off; waiters sleep on its waitq.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "kern/sync.h"

void spin_init(struct spinlock *l, const char *name)
{
	l->locked = false;
	l->flags = 0;
	l->name = name;
}

void spin_lock(struct spinlock *l)
{
	unsigned long f = irq_save();
	if (l->locked)
		panic("spin_lock: '%s' is already held (deadlock)", l->name);
	l->locked = true;
	l->flags = f;
}

void spin_unlock(struct spinlock *l)
{
	KASSERT(l->locked);
	unsigned long f = l->flags;
	l->locked = false;
	irq_restore(f);
}

void sleeplock_init(struct sleeplock *l, const char *name)
{
	l->locked = false;
	l->owner = NULL;
	waitq_init(&l->wq);
	l->name = name;
}

void sleeplock_acquire(struct sleeplock *l)
{
	unsigned long f = irq_save();
	if (l->locked && l->owner == thread_current())
		panic("sleeplock_acquire: '%s' taken twice by '%s'", l->name,
		      thread_name(thread_current()));
	while (l->locked)
		waitq_sleep(&l->wq, NULL);
	l->locked = true;
	l->owner = thread_current();
	irq_restore(f);
}

void sleeplock_release(struct sleeplock *l)
{
	unsigned long f = irq_save();
	if (!l->locked || l->owner != thread_current())
		panic("sleeplock_release: '%s' not held by '%s'", l->name,
		      thread_name(thread_current()));
	l->locked = false;
	l->owner = NULL;
	waitq_wakeup_one(&l->wq);
	irq_restore(f);
}

bool sleeplock_held(const struct sleeplock *l)
{
	return l->locked && l->owner == thread_current();
}
