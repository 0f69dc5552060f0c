/*
 * sys_sem.c — lwIP's counting semaphores on a spinlock and a wait queue.
 *
 * Interface (lwip/sys.h): sys_sem_new, sys_sem_signal (any context, an
 * interrupt handler included), sys_arch_sem_wait (threads only: it may
 * sleep), sys_sem_free. `lock` protects `count`; a waiter re-checks the
 * count after every wakeup, so a signal is never lost and never counted
 * twice. Freeing a semaphore a thread still waits on is an lwIP bug and
 * panics.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "lwip/sys.h"
#include "net/lwip/port.h"

err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
	spin_init(&sem->lock, "lwip sem");
	waitq_init(&sem->wq);
	sem->count = count;
	sem->valid = 1;
	return ERR_OK;
}

void sys_sem_signal(sys_sem_t *sem)
{
	spin_lock(&sem->lock);
	sem->count++;
	waitq_wakeup_one(&sem->wq);
	spin_unlock(&sem->lock);
}

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout)
{
	uint64_t start = time_ns();
	uint64_t deadline = sys_wait_deadline(start, timeout);
	spin_lock(&sem->lock);
	while (sem->count == 0) {
		if (sys_wait(&sem->wq, &sem->lock, deadline) == -ETIMEDOUT) {
			spin_unlock(&sem->lock);
			return SYS_ARCH_TIMEOUT;
		}
	}
	sem->count--;
	spin_unlock(&sem->lock);
	return sys_waited_ms(start);
}

void sys_sem_free(sys_sem_t *sem)
{
	if (sem->wq.head)
		panic("sys_sem_free: a thread still waits on the semaphore");
	sem->valid = 0;
}
