/*
 * x86.h — private to arch/x86: CPU registers, MSRs, descriptor tables and
 * the trap frame. Portable code uses arch/x86/arch.h instead.
 */
#ifndef ARCH_X86_X86_H
#define ARCH_X86_X86_H

#include <stdint.h>

#include "arch/x86/arch.h"

/* GDT selectors (arch/x86/gdt.c). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA \
	0x1b /* user data, RPL 3 (sysret layout: udata before ucode) */
#define SEL_UCODE 0x23
#define SEL_TSS 0x28

/* IST slots in the TSS (1-based, as the IDT encodes them). */
#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3

/* Interrupt vectors. */
#define VEC_IRQ_BASE 32 /* IOAPIC inputs start here */
#define VEC_LAPIC_TIMER 0xF0
#define VEC_LAPIC_ERROR 0xFE
#define VEC_SPURIOUS 0xFF

/*
 * The registers saved by arch/x86/trap_entry.asm, lowest address first. The
 * stub pushes the vector and an error code (0 when the CPU gives none), so
 * every vector has the same frame.
 */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Called by the assembly stub for every vector. */
void trap_dispatch(struct trapframe *tf);
/* Device and LAPIC vectors (>= 32); arch/x86/irq.c. */
void irq_dispatch(struct trapframe *tf);
/* Install a gate; ist 0 = no stack switch. dpl 3 lets user code `int` it. */
void idt_set_gate(unsigned vec, void *handler, unsigned ist, unsigned dpl);
extern void *trap_stubs[256];
void idt_init(void);
void gdt_init(void);

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v),
			   "d"((uint32_t)(v >> 32)));
}
static inline uint64_t read_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
			 uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid"
			 : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void invlpg(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

#define MSR_EFER 0xC0000080
#define MSR_APIC_BASE 0x1B
#define EFER_NXE (1u << 11)

/* Set by boot/entry.asm when CPUID reports NX. */
extern uint8_t boot_has_nx;

#endif
