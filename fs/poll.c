/*
 * poll.c — the node's one poll wait queue (fs/vfs.h, "poll(2)/select(2)
 * readiness").
 *
 * Interface: poll_seq, poll_notify, poll_wait.
 *
 * Why one queue: a poller waits on many files at once, and a queue per
 * file would need a registration per file and per wait. With one CPU and
 * few pollers, waking every poller on any change and letting each re-ask
 * its own files is simpler and cheap. `seq` counts notifications; a
 * poller that saw seq before asking its files sleeps only if it is still
 * the same, which closes the window between the check and the sleep.
 *
 * Locking: poll_lock guards seq and the queue's sleep/wake handshake.
 * poll_notify may be called with other spinlocks held (it only takes
 * poll_lock, innermost) but not from interrupt context.
 */
#include "fs/vfs_impl.h"

static struct spinlock poll_lock = {.name = "poll"};
static struct waitq poll_wq;
static uint64_t seq; /* poll_lock */

uint64_t poll_seq(void)
{
	spin_lock(&poll_lock);
	uint64_t s = seq;
	spin_unlock(&poll_lock);
	return s;
}

void poll_notify(void)
{
	spin_lock(&poll_lock);
	seq++;
	spin_unlock(&poll_lock);
	waitq_wakeup_all(&poll_wq);
}

int poll_wait(uint64_t s, uint64_t deadline_ns)
{
	spin_lock(&poll_lock);
	int rc = 0;
	if (seq == s)
		rc = waitq_sleep_intr(&poll_wq, &poll_lock, deadline_ns);
	spin_unlock(&poll_lock);
	return rc;
}
