/*
 * sync_host.c — kern/sync.h for single-threaded host tests. Locks are
 * flags that catch misuse: taking a held lock (which would deadlock the
 * kernel), releasing a free one, or sleeping on a wait queue (nobody could
 * ever wake us) aborts with the lock's name.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kern/sync.h"

static struct thread *const self = (struct thread *)1;

static void die(const char *what, const char *name)
{
	fprintf(stderr, "sync_host: %s '%s'\n", what, name ? name : "?");
	abort();
}

void spin_init(struct spinlock *l, const char *name)
{
	l->locked = false;
	l->flags = 0;
	l->name = name;
}

void spin_lock(struct spinlock *l)
{
	if (l->locked)
		die("spinlock taken twice:", l->name);
	l->locked = true;
}

void spin_unlock(struct spinlock *l)
{
	if (!l->locked)
		die("spinlock released while free:", l->name);
	l->locked = false;
}

void waitq_init(struct waitq *q)
{
	q->head = q->tail = NULL;
}

void waitq_sleep(struct waitq *q, struct spinlock *l)
{
	die("would sleep forever (single thread) holding", l ? l->name : "");
}

void waitq_wakeup_all(struct waitq *q)
{
}

void waitq_wakeup_one(struct waitq *q)
{
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
	if (l->locked)
		die("deadlock: sleeplock taken twice:", l->name);
	l->locked = true;
	l->owner = self;
}

void sleeplock_release(struct sleeplock *l)
{
	if (!l->locked)
		die("sleeplock released while free:", l->name);
	l->locked = false;
	l->owner = NULL;
}

bool sleeplock_held(const struct sleeplock *l)
{
	return l->locked && l->owner == self;
}

struct thread *thread_current(void)
{
	return self;
}

void thread_yield(void)
{
}
