/*
 * machine.c — stopping and restarting the machine, and the register snapshot
 * panic prints.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

#define QEMU_DEBUG_EXIT 0xf4

void arch_qemu_exit(int code)
{
	/* isa-debug-exit: QEMU exits with (code << 1) | 1. Without the device
	 * the write goes nowhere and we return. */
	outl(QEMU_DEBUG_EXIT, (uint32_t)code);
}

void arch_fatal_stop(void)
{
	irq_disable();
	if (kconfig.selftest)
		arch_qemu_exit(1);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void arch_halt(void)
{
	printk("shoal: node %d halted\n", kconfig.node);
	irq_disable();
	if (kconfig.selftest)
		arch_qemu_exit(0);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* About 100 ms, by the TSC clock when it runs, else by counting. */
static void reset_wait(void)
{
	uint64_t end = time_ns() + 100000000ull;
	for (unsigned long i = 0; i < 200000000ul; i++) {
		if (tsc_hz() && time_ns() >= end)
			break;
		cpu_relax();
	}
}

void arch_reboot(void)
{
	printk("shoal: node %d rebooting\n", kconfig.node);
	irq_disable();
	/* Reset through the keyboard controller, then the PCI reset register,
	 * then a triple fault with an empty IDT. QEMU carries out the first
	 * two asynchronously: give each a moment before the next. */
	for (int i = 0; i < 100000 && (inb(0x64) & 2); i++)
		cpu_relax();
	outb(0x64, 0xFE);
	reset_wait();
	outb(0xCF9, 0x06);
	reset_wait();
	struct {
		uint16_t limit;
		uint64_t base;
	} __packed empty = {0, 0};
	__asm__ volatile("lidt %0; int3" : : "m"(empty));
	for (;;)
		__asm__ volatile("hlt");
}

__attribute__((noinline)) void arch_dump_current(void)
{
	struct trapframe tf = {0};
	__asm__ volatile("movq %%rbx, %0\n\t"
			 "movq %%r12, %1\n\t"
			 "movq %%r13, %2\n\t"
			 "movq %%r14, %3\n\t"
			 "movq %%r15, %4\n\t"
			 "movq %%rsp, %5\n\t"
			 "pushfq\n\t"
			 "popq %6"
			 : "=m"(tf.rbx), "=m"(tf.r12), "=m"(tf.r13),
			   "=m"(tf.r14), "=m"(tf.r15), "=m"(tf.rsp),
			   "=m"(tf.rflags));
	/* Report the caller (panic) as the faulting place. */
	uintptr_t *fp = __builtin_frame_address(0);
	tf.rbp = fp[0];
	tf.rip = fp[1] - 1;
	tf.cs = SEL_KCODE;
	tf.ss = SEL_KDATA;
	arch_dump_regs(&tf);
	backtrace_print(tf.rip, tf.rbp);
}
