/*
 * cpu.c — per-CPU bring-up: descriptor tables and CPU features the kernel
 * relies on (NX for W^X, write protection in ring 0).
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

void arch_cpu_init(void)
{
	gdt_init();
	idt_init();
	if (!boot_has_nx)
		printk(KERN_WARN
		       "shoal: CPU has no NX bit; data pages stay executable\n");
}
