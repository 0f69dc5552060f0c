/*
 * sys_mutex.c — lwIP's mutexes on sleeplocks, and SYS_ARCH_PROTECT.
 *
 * The one mutex that matters is lwIP's core lock (lock_tcpip_core,
 * LWIP_TCPIP_CORE_LOCKING): the tcpip thread holds it while it works and
 * any thread calling into the core takes it. A holder may sleep (it waits
 * for a mailbox slot, for example), hence a sleeplock and not a spinlock;
 * so a mutex is taken by threads only, never in an interrupt handler.
 * The core lock also tells lwip_port.c when another thread may have moved
 * lwIP's earliest timeout (port.h).
 *
 * SYS_ARCH_PROTECT (memp pools, pbuf reference counts, statistics) saves
 * and clears the interrupt flag and restores it after: one CPU per node,
 * so that excludes everything, interrupt handlers included. It nests.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "lwip/sys.h"
#include "net/lwip/port.h"

err_t sys_mutex_new(sys_mutex_t *mutex)
{
	sleeplock_init(&mutex->lock, "lwip mutex");
	mutex->valid = 1;
	return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
	sleeplock_acquire(&mutex->lock);
	if (lwip_port_is_core_lock(mutex))
		lwip_port_core_locked();
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
	bool kick = lwip_port_is_core_lock(mutex) && lwip_port_core_unlocking();
	sleeplock_release(&mutex->lock);
	if (kick)
		lwip_port_kick_tcpip();
}

void sys_mutex_free(sys_mutex_t *mutex)
{
	if (mutex->lock.locked)
		panic("sys_mutex_free: the mutex is held");
	mutex->valid = 0;
}

int sys_mutex_held(sys_mutex_t *mutex)
{
	return mutex->valid && sleeplock_held(&mutex->lock);
}

sys_prot_t sys_arch_protect(void)
{
	return irq_save();
}

void sys_arch_unprotect(sys_prot_t pval)
{
	irq_restore(pval);
}
