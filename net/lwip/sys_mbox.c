/*
 * sys_mbox.c — lwIP's mailboxes: a bounded ring of message pointers.
 *
 * Interface (lwip/sys.h): sys_mbox_new(size; 0 = MBOX_DEFAULT), post
 * (waits for a free slot), trypost and trypost_fromisr (never wait: ERR_MEM
 * when full; safe in an interrupt handler), sys_arch_mbox_fetch (waits,
 * with a timeout in ms, 0 = forever), sys_arch_mbox_tryfetch, free.
 *
 * `lock` protects the ring, head and count. Readers sleep on `readers`
 * while the ring is empty, writers on `writers` while it is full; each
 * put wakes one reader, each take wakes one writer, and every sleeper
 * re-checks after waking. Messages come out in the order they went in.
 * The ring is the only allocation (kmalloc), made once at sys_mbox_new.
 * lwIP's SYS_STATS count the mailboxes alive (lwip_stats.sys.mbox, updated
 * under SYS_ARCH_PROTECT; /proc/net/lwip shows them), so a leaked one is
 * seen.
 */
#include "kern/kern.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "net/lwip/port.h"
#include "vm/vm.h"

#define MBOX_DEFAULT 64

err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
	if (size <= 0)
		size = MBOX_DEFAULT;
	SYS_ARCH_DECL_PROTECT(lev);
	mbox->ring = kmalloc((size_t)size * sizeof(void *));
	if (!mbox->ring) {
		mbox->valid = 0;
		SYS_ARCH_PROTECT(lev);
		SYS_STATS_INC(mbox.err);
		SYS_ARCH_UNPROTECT(lev);
		return ERR_MEM;
	}
	SYS_ARCH_PROTECT(lev);
	SYS_STATS_INC_USED(mbox);
	SYS_ARCH_UNPROTECT(lev);
	spin_init(&mbox->lock, "lwip mbox");
	waitq_init(&mbox->readers);
	waitq_init(&mbox->writers);
	mbox->size = (unsigned)size;
	mbox->head = mbox->count = 0;
	mbox->valid = 1;
	return ERR_OK;
}

/* Caller holds mbox->lock and has checked there is room. */
static void put(sys_mbox_t *mbox, void *msg)
{
	mbox->ring[(mbox->head + mbox->count) % mbox->size] = msg;
	mbox->count++;
	waitq_wakeup_one(&mbox->readers);
}

/* Caller holds mbox->lock and has checked the ring is not empty. */
static void *take(sys_mbox_t *mbox)
{
	void *msg = mbox->ring[mbox->head];
	mbox->head = (mbox->head + 1) % mbox->size;
	mbox->count--;
	waitq_wakeup_one(&mbox->writers);
	return msg;
}

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
	spin_lock(&mbox->lock);
	while (mbox->count == mbox->size)
		sys_wait(&mbox->writers, &mbox->lock, 0);
	put(mbox, msg);
	spin_unlock(&mbox->lock);
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
	err_t err = ERR_MEM;
	spin_lock(&mbox->lock);
	if (mbox->count < mbox->size) {
		put(mbox, msg);
		err = ERR_OK;
	}
	spin_unlock(&mbox->lock);
	return err;
}

err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
	return sys_mbox_trypost(mbox, msg);
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout)
{
	uint64_t start = time_ns();
	uint64_t deadline = sys_wait_deadline(start, timeout);
	spin_lock(&mbox->lock);
	while (mbox->count == 0) {
		if (sys_wait(&mbox->readers, &mbox->lock, deadline) ==
		    -ETIMEDOUT) {
			spin_unlock(&mbox->lock);
			return SYS_ARCH_TIMEOUT;
		}
	}
	void *m = take(mbox);
	spin_unlock(&mbox->lock);
	if (msg)
		*msg = m;
	return sys_waited_ms(start);
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
	spin_lock(&mbox->lock);
	if (mbox->count == 0) {
		spin_unlock(&mbox->lock);
		return SYS_MBOX_EMPTY;
	}
	void *m = take(mbox);
	spin_unlock(&mbox->lock);
	if (msg)
		*msg = m;
	return 0;
}

void sys_mbox_free(sys_mbox_t *mbox)
{
	if (mbox->readers.head || mbox->writers.head)
		panic("sys_mbox_free: a thread still waits on the mailbox");
	/* lwIP drains a mailbox before freeing it; what is left leaks. */
	if (mbox->count)
		printk(KERN_WARN "lwip: mailbox freed with %u messages\n",
		       mbox->count);
	kfree(mbox->ring);
	mbox->ring = NULL;
	mbox->valid = 0;
	SYS_ARCH_DECL_PROTECT(lev);
	SYS_ARCH_PROTECT(lev);
	SYS_STATS_DEC(mbox.used);
	SYS_ARCH_UNPROTECT(lev);
}
