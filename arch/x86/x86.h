/*
 * x86.h — private to arch/x86: CPU registers, MSRs, descriptor tables and
 * the trap frame. Portable code uses arch/x86/arch.h instead.
 */
#ifndef ARCH_X86_X86_H
#define ARCH_X86_X86_H

#include <stdbool.h>
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

/* Called by the assembly stub for every vector. */
void trap_dispatch(struct trapframe *tf);
/* Device and LAPIC vectors (>= 32); arch/x86/irq.c. */
void irq_dispatch(struct trapframe *tf);
/* Interrupt controllers (apic.c). IRQF_* describe an input's signal. */
#define IRQF_LEVEL 1u /* level-triggered (else edge) */
#define IRQF_ACTIVE_LOW 2u /* active low (else high) */
void pic_disable(void); /* remap the 8259s to 0x20-0x2F, mask all */
void lapic_init(void);
unsigned lapic_id(void);
void lapic_eoi(void);
bool lapic_in_service(unsigned vec);
uint32_t lapic_error_status(void); /* read and clear the ESR */
void lapic_self_ipi(unsigned vec);
/* LAPIC timer, counting at bus clock / 16; count 0 stops it. */
void lapic_timer_oneshot(uint32_t count, bool masked);
void lapic_timer_stop(void);
uint32_t lapic_timer_current(void);
void ioapic_init(void); /* every input masked */
void ioapic_describe(uint64_t *pa, unsigned *inputs, bool *from_acpi);
bool ioapic_has_gsi(unsigned gsi);
void ioapic_route(unsigned gsi, unsigned vector, unsigned flags);
void ioapic_mask(unsigned gsi);
/* ISA IRQ 0-15 -> GSI and IRQF_* flags (MADT overrides applied). */
int isa_irq_resolve(unsigned irq, unsigned *gsi, unsigned *flags);

/* ACPI (acpi.c): a checksummed, mapped table, or NULL; *len its length. */
const void *acpi_find_table(const char *sig, uint32_t *len);

/* Interrupt and time internals (irq.c, time.c). */
uint64_t irq_vector_count(unsigned vec);
void time_timer_irq(void); /* the LAPIC timer vector's handler */
uint64_t lapic_timer_hz(void); /* calibrated, after the /16 divider */
/* Measure the TSC against the HPET; -ENODEV without one (self-tests). */
int hpet_measure_tsc(uint64_t *tsc_hz);

/* Install a gate; ist 0 = no stack switch. dpl 3 lets user code `int` it. */
void idt_set_gate(unsigned vec, void *handler, unsigned ist, unsigned dpl);
extern void *trap_stubs[256];
void idt_init(void);
void gdt_init(void);
void arch_set_kernel_stack(uint64_t rsp0); /* TSS rsp0 */
void rtc_init(void); /* arch/x86/rtc.c, from arch_time_init */

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
#define CR4_PGE (1ull << 7)

/* Set by boot/entry.asm when CPUID reports NX. */
extern uint8_t boot_has_nx;
/* The TSC at the kernel's first instruction (boot/entry.asm). */
extern uint64_t boot_tsc;

#endif
