/*
 * arch/sys_arch.h — lwIP's operating-system types on Shoal's threads and
 * wait queues (kern/sync.h). One file per primitive implements them:
 *
 *   sys_sem.c    counting semaphores: a count under a spinlock + a waitq
 *   sys_mutex.c  mutexes (the core lock): sleeplocks; SYS_ARCH_PROTECT
 *   sys_mbox.c   mailboxes: a bounded ring of pointers under a spinlock,
 *                a waitq for readers and one for writers
 *   sys_thread.c sys_thread_new: thread_create
 *   sys_now.c    sys_now (ms from time_ns), sys_msleep, sys_init
 *
 * The types are embedded structs, not pointers to allocated ones, so
 * creating a semaphore or a mailbox never fails for lack of memory
 * (except a mailbox's ring). `valid` tells a live object from one never
 * made or already freed. Trying to post or signal may be done from an
 * interrupt handler (spinlocks disable interrupts); waiting may not.
 */
#ifndef SHOAL_LWIP_ARCH_SYS_ARCH_H
#define SHOAL_LWIP_ARCH_SYS_ARCH_H

#include "kern/sync.h"

struct sys_sem {
	struct spinlock lock; /* protects count */
	struct waitq wq; /* threads waiting for count > 0 */
	unsigned count;
	int valid;
};
typedef struct sys_sem sys_sem_t;

struct sys_mutex {
	struct sleeplock lock;
	int valid;
};
typedef struct sys_mutex sys_mutex_t;

struct sys_mbox {
	struct spinlock lock; /* protects everything below */
	struct waitq readers; /* waiting for a message */
	struct waitq writers; /* waiting for a free slot */
	void **ring;
	unsigned size, head, count;
	int valid;
};
typedef struct sys_mbox sys_mbox_t;

typedef struct thread *sys_thread_t;

#define sys_sem_valid(s) ((s)->valid)
#define sys_sem_set_invalid(s) ((s)->valid = 0)
#define sys_mutex_valid(m) ((m)->valid)
#define sys_mutex_set_invalid(m) ((m)->valid = 0)
#define sys_mbox_valid(m) ((m)->valid)
#define sys_mbox_set_invalid(m) ((m)->valid = 0)

/* SYS_ARCH_PROTECT: the interrupt flag, saved and restored (one CPU). */
typedef unsigned long sys_prot_t;

void sys_arch_msleep(unsigned ms);
#define sys_msleep(ms) sys_arch_msleep(ms)

/* Does the calling thread hold m (LWIP_ASSERT_CORE_LOCKED)? */
int sys_mutex_held(sys_mutex_t *m);

#endif
