/*
 * sys_now.c — lwIP's clock and the start-up hook.
 *
 * sys_now is milliseconds of time_ns (monotonic since boot), truncated to
 * 32 bits as lwIP expects: it wraps after 49 days and lwIP's timer code
 * compares with wrap-around arithmetic. sys_msleep sleeps the thread.
 * sys_init has nothing to do: every object is set up by its _new call.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "lwip/sys.h"

u32_t sys_now(void)
{
	return (u32_t)(time_ns() / 1000000);
}

void sys_arch_msleep(unsigned ms)
{
	thread_sleep_ns((uint64_t)ms * 1000000);
}

void sys_init(void)
{
}
