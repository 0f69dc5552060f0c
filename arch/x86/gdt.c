/*
 * gdt.c — the global descriptor table and the task-state segment.
 *
 * Layout (selectors in x86.h): null, kernel code, kernel data, user data,
 * user code (the order sysret needs), then the 16-byte TSS descriptor. The
 * TSS holds rsp0 (set when user processes exist) and three IST stacks so a
 * double fault, NMI or machine check always runs on a good stack, even when
 * the kernel stack overflowed.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;

#define IST_STACK_SIZE 8192
static uint8_t ist_stacks[3][IST_STACK_SIZE] __aligned(16);
static struct tss tss;
static uint64_t gdt[7];

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

void gdt_init(void)
{
	gdt[0] = 0;
	gdt[1] = 0x00AF9B000000FFFFull; /* kernel code: L, P, DPL0, accessed */
	gdt[2] = 0x00CF93000000FFFFull; /* kernel data */
	gdt[3] = 0x00CFF3000000FFFFull; /* user data, DPL3 */
	gdt[4] = 0x00AFFB000000FFFFull; /* user code, DPL3 */

	for (int i = 0; i < 3; i++)
		tss.ist[i] = (uint64_t)&ist_stacks[i][IST_STACK_SIZE];
	tss.iomap_base = sizeof tss; /* no I/O bitmap */
	uint64_t base = (uint64_t)&tss, limit = sizeof tss - 1;
	gdt[5] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
		 (0x89ull << 40) | /* present, 64-bit TSS available */
		 (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
	gdt[6] = base >> 32;

	struct gdt_ptr p = {sizeof gdt - 1, (uint64_t)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(p), "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(SEL_TSS)
			 : "rax", "memory");
}

void arch_set_kernel_stack(uint64_t rsp0)
{
	tss.rsp[0] = rsp0;
}
