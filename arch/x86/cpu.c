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
	arch_user_init();
	if (!boot_has_nx)
		printk(KERN_WARN
		       "shoal: CPU has no NX bit; data pages stay executable\n");
}

bool arch_has_nx(void)
{
	return boot_has_nx;
}

unsigned arch_phys_addr_bits(void)
{
	uint32_t a, b, c, d;
	unsigned bits = 36; /* the architectural minimum */
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a >= 0x80000008) {
		cpuid(0x80000008, 0, &a, &b, &c, &d);
		bits = a & 0xFF;
	}
	return bits < 36 || bits > 52 ? 36 : bits;
}

uint64_t arch_pt_root(void)
{
	return read_cr3() & ~0xFFFull;
}

void arch_pt_switch(uint64_t pa)
{
	uint64_t cr4 = read_cr4();
	write_cr3(pa);
	write_cr4(cr4 & ~CR4_PGE); /* toggling PGE drops global entries too */
	write_cr4(cr4 | CR4_PGE);
}

void arch_pt_load(uint64_t pa)
{
	write_cr3(pa);
}

void arch_tlb_flush_page(uintptr_t va)
{
	invlpg(va);
}

void arch_thread_entry(void);

uintptr_t arch_thread_stack_init(void *stack_top, void (*entry)(void *),
				 void *arg)
{
	uint64_t *sp = (uint64_t *)((uintptr_t)stack_top & ~15ul);
	/* arch_switch's ret pops this, leaving rsp 16-byte aligned before
	 * arch_thread_entry's call, as the ABI wants. */
	*--sp = (uint64_t)arch_thread_entry;
	*--sp = 0; /* rbp */
	*--sp = 0; /* rbx */
	*--sp = (uint64_t)entry; /* r12 */
	*--sp = (uint64_t)arg; /* r13 */
	*--sp = 0; /* r14 */
	*--sp = 0; /* r15 */
	return (uintptr_t)sp;
}
