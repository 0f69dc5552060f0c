/*
 * port.h — private to net/lwip: the timed wait shared by sys_sem.c and
 * sys_mbox.c, the core-lock hooks between sys_mutex.c and lwip_port.c, and
 * /proc/net/lwip's start-up.
 *
 * lwIP's waits are not interruptible: a semaphore or mailbox wait ends
 * when it is satisfied or its timeout passes, never because a signal
 * arrived. An untimed wait is waitq_sleep; a timed one is
 * waitq_sleep_intr with a deadline, which returns early when the thread's
 * process has a signal pending: then the wait yields the CPU and goes on
 * (polling until the deadline). Socket system calls therefore should not
 * sleep inside lwIP for long: they use non-blocking netconn calls and
 * sleep on their own interruptible wait queues (docs/network.md).
 */
#ifndef NET_LWIP_PORT_H
#define NET_LWIP_PORT_H

#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "kern/sync.h"

/* The deadline of a wait of timeout_ms from start (0 = wait forever). */
static inline uint64_t sys_wait_deadline(uint64_t start, uint32_t timeout_ms)
{
	return timeout_ms ? start + (uint64_t)timeout_ms * 1000000 : 0;
}

/*
 * Sleep on q, dropping and re-taking l (held by the caller), until woken
 * or deadline (0 = none). Returns 0 (woken, or a spurious return: the
 * caller re-checks its condition) or -ETIMEDOUT.
 */
static inline int sys_wait(struct waitq *q, struct spinlock *l,
			   uint64_t deadline)
{
	if (!deadline) {
		waitq_sleep(q, l);
		return 0;
	}
	int rc = waitq_sleep_intr(q, l, deadline);
	if (rc == -ETIMEDOUT)
		return rc;
	if (rc) {
		/* A signal is pending: this sleep cannot be interrupted. */
		spin_unlock(l);
		thread_yield();
		spin_lock(l);
	}
	return 0;
}

/* Milliseconds since start, as lwIP wants: never SYS_ARCH_TIMEOUT. */
static inline uint32_t sys_waited_ms(uint64_t start)
{
	uint64_t ms = (time_ns() - start) / 1000000;
	return ms >= 0xfffffffeu ? 0xfffffffeu : (uint32_t)ms;
}

/*
 * The core lock and lwIP's timers. The tcpip thread sleeps until its
 * earliest timeout, computed before it released the core lock; a thread
 * that adds an earlier timeout while holding the lock (sys_timeout, or
 * tcp_timer_needed inside a netconn call) would not be seen until then. So
 * sys_mutex.c reports the core lock's lock and unlock by other threads,
 * lwip_port.c compares the earliest timeout before and after and, if it
 * moved earlier, wakes the tcpip thread with an empty callback so it
 * computes its sleep again.
 */
struct sys_mutex;
bool lwip_port_is_core_lock(struct sys_mutex *m);
void lwip_port_core_locked(void); /* just acquired */
bool lwip_port_core_unlocking(void); /* about to release: kick needed? */
void lwip_port_kick_tcpip(void); /* released: wake the tcpip thread */

/* Registers /proc/net/lwip (lwip_mem.c: pools, heap, mailboxes, pcbs,
 * sockets); once, from net_lwip_init. */
void lwip_mem_proc_init(void);

#endif
