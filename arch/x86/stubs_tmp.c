/* TEMPORARY: placeholders until interrupts and time land. Delete me. */
#include "arch/x86/x86.h"
#include "kern/kern.h"

void arch_irq_init(void)
{
}
void arch_time_init(unsigned hz)
{
}
int irq_register(unsigned irq, irq_handler_t h, void *arg)
{
	return -ENOSYS;
}
void irq_dispatch(struct trapframe *tf)
{
	panic("unexpected interrupt %lu", tf->vector);
}
uint64_t time_ns(void)
{
	return 0;
}
uint64_t time_ticks(void)
{
	return 0;
}
uint64_t tsc_hz(void)
{
	return 0;
}
unsigned time_hz(void)
{
	return 0;
}
void arch_idle(void)
{
}
void arch_set_idle_deadline(uint64_t d)
{
}
