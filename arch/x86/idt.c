/*
 * idt.c — the interrupt descriptor table. Every vector gets a stub from
 * trap_entry.asm; double fault, NMI and machine check run on IST stacks.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

struct idt_gate {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t zero;
} __packed;

static struct idt_gate idt[256] __aligned(16);

void idt_set_gate(unsigned vec, void *handler, unsigned ist, unsigned dpl)
{
	uint64_t a = (uint64_t)handler;
	idt[vec] = (struct idt_gate){
		.off0 = a & 0xFFFF,
		.sel = SEL_KCODE,
		.ist = ist & 7,
		.type = 0x8E | ((dpl & 3) << 5), /* present, interrupt gate */
		.off1 = (a >> 16) & 0xFFFF,
		.off2 = a >> 32,
	};
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		idt_set_gate(v, trap_stubs[v], 0, 0);
	idt_set_gate(2, trap_stubs[2], IST_NMI, 0);
	idt_set_gate(8, trap_stubs[8], IST_DOUBLE_FAULT, 0);
	idt_set_gate(18, trap_stubs[18], IST_MACHINE_CHECK, 0);
	struct {
		uint16_t limit;
		uint64_t base;
	} __packed p = {sizeof idt - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" : : "m"(p));
}
