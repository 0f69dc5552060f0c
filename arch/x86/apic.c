/*
 * apic.c — the interrupt controllers: the legacy 8259 pair (remapped and
 * masked for good), this CPU's local APIC (xAPIC, memory-mapped) and the
 * IOAPIC (82093AA-compatible) that routes device lines to vectors.
 *
 * Nothing here trusts firmware state: with PVH + qboot nobody programs these
 * chips before us, and with GRUB the BIOS leaves them as it liked. The MADT
 * gives the IOAPIC's address and the ISA interrupt source overrides; without
 * ACPI we use what QEMU's `pc` machine builds (IOAPIC at 0xFEC00000 with GSI
 * base 0, IRQ0 on GSI2, IRQ 5/9/10/11 level-triggered active-high).
 *
 * Interface (x86.h): pic_disable, lapic_*, ioapic_*, isa_irq_resolve. One
 * IOAPIC is supported (all a uniprocessor PC or QEMU has); further ones are
 * reported and ignored. Redirection entries are only written with interrupts
 * disabled (irq.c holds irq_save around them); the register-select/window
 * pair is not reentrant.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"
#include "vm/vm.h"

/* 8259A ports. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

/* Local APIC registers (SDM vol. 3, table 11-1), byte offsets. */
#define LAPIC_ID 0x020
#define LAPIC_VER 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ISR 0x100
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0

#define LVT_MASKED (1u << 16)
#define LVT_DELIVERY_NMI (4u << 8)
#define LVT_TIMER_ONESHOT (0u << 17)
#define SVR_ENABLE (1u << 8)
#define ICR_SELF (1u << 18) /* destination shorthand: self */
#define ICR_PENDING (1u << 12)
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_X2APIC (1u << 10)
#define TIMER_DIV_16 0x3

/* IOAPIC: an index register and a data window (82093AA §3.0). */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_REDTBL 0x10
#define RTE_MASKED (1u << 16)
#define RTE_LEVEL (1u << 15)
#define RTE_ACTIVE_LOW (1u << 13)

#define QEMU_IOAPIC_BASE 0xFEC00000UL

static volatile uint32_t *lapic;
static uint32_t lapic_id_cache;
static uint32_t lapic_timer_lvt; /* last value written to the timer LVT */

static volatile uint32_t *ioapic;
static uint64_t ioapic_pa;
static unsigned ioapic_gsi_base, ioapic_inputs;

/* ISA IRQ -> GSI and flags, from the MADT's interrupt source overrides. */
static struct {
	uint32_t gsi;
	unsigned flags; /* IRQF_LEVEL | IRQF_ACTIVE_LOW */
} isa_map[16];
static bool from_acpi;

static inline void io_delay(void)
{
	outb(0x80, 0); /* the POST port: a short bus delay for old 8259s */
}

void pic_disable(void)
{
	/* ICW1-4: cascade, edge, 8086 mode, master vectors 0x20-0x27 and
	 * slave 0x28-0x2F, so a spurious 8259 interrupt can never look like
	 * an exception. Then OCW1: mask every input. */
	outb(PIC1_CMD, 0x11);
	io_delay();
	outb(PIC2_CMD, 0x11);
	io_delay();
	outb(PIC1_DATA, 0x20);
	io_delay();
	outb(PIC2_DATA, 0x28);
	io_delay();
	outb(PIC1_DATA, 0x04); /* slave on IR2 */
	io_delay();
	outb(PIC2_DATA, 0x02); /* slave identity 2 */
	io_delay();
	outb(PIC1_DATA, 0x01);
	io_delay();
	outb(PIC2_DATA, 0x01);
	io_delay();
	outb(PIC1_DATA, 0xFF);
	outb(PIC2_DATA, 0xFF);
}

/* ---------------------------------------------------------------- LAPIC */

static uint32_t lapic_read(unsigned reg)
{
	return lapic[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	lapic[reg / 4] = v;
}

void lapic_init(void)
{
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & (1u << 9)))
		panic("lapic_init: this CPU has no local APIC");

	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (base & APIC_BASE_X2APIC) {
		/* x2APIC -> xAPIC must pass through "disabled" (SDM 11.12.5). */
		wrmsr(MSR_APIC_BASE,
		      base & ~(uint64_t)(APIC_BASE_X2APIC | APIC_BASE_ENABLE));
		base &= ~(uint64_t)APIC_BASE_X2APIC;
	}
	base |= APIC_BASE_ENABLE;
	wrmsr(MSR_APIC_BASE, base);
	uint64_t pa = base & 0x000FFFFFFFFFF000UL;
	lapic = vm_map_mmio(pa, PAGE_SIZE);
	if (!lapic)
		panic("lapic_init: cannot map the local APIC at %#lx",
		      (unsigned long)pa);

	/* Everything masked until its owner sets it up; no priority floor. */
	lapic_timer_lvt = LVT_MASKED | VEC_LAPIC_TIMER;
	lapic_write(LAPIC_LVT_TIMER, lapic_timer_lvt);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	unsigned maxlvt = (lapic_read(LAPIC_VER) >> 16) & 0xFF;
	if (maxlvt >= 4)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (maxlvt >= 5)
		lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	/* LINT0 is where the 8259 would come in (ExtINT): off. LINT1 is the
	 * NMI line on PCs. */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_DELIVERY_NMI);
	lapic_write(LAPIC_LVT_ERROR, VEC_LAPIC_ERROR);
	lapic_write(LAPIC_ESR, 0); /* back-to-back writes clear it */
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	/* Acknowledge anything a previous owner left in service. */
	for (int i = 0; i < 8; i++)
		lapic_write(LAPIC_EOI, 0);
	lapic_id_cache = lapic_read(LAPIC_ID) >> 24;
}

unsigned lapic_id(void)
{
	return lapic_id_cache;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_in_service(unsigned vec)
{
	return lapic_read(LAPIC_ISR + (vec / 32) * 0x10) & (1u << (vec % 32));
}

/* Reads and clears the error status (write first: SDM 11.5.3). */
uint32_t lapic_error_status(void)
{
	lapic_write(LAPIC_ESR, 0);
	return lapic_read(LAPIC_ESR);
}

void lapic_self_ipi(unsigned vec)
{
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, ICR_SELF | (vec & 0xFF));
	for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & ICR_PENDING);
	     i++)
		cpu_relax();
}

/* The timer counts down at the bus clock / 16 (set in lapic_init). The LVT
 * is rewritten only when it changes: each write is a VM exit under KVM. */
void lapic_timer_oneshot(uint32_t count, bool masked)
{
	uint32_t lvt = LVT_TIMER_ONESHOT | VEC_LAPIC_TIMER |
		       (masked ? LVT_MASKED : 0);
	if (lvt != lapic_timer_lvt) {
		lapic_write(LAPIC_LVT_TIMER, lvt);
		lapic_timer_lvt = lvt;
	}
	lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_TIMER_INIT, 0);
}

uint32_t lapic_timer_current(void)
{
	return lapic_read(LAPIC_TIMER_CUR);
}

/* --------------------------------------------------------------- IOAPIC */

static uint32_t ioapic_read(unsigned reg)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = v;
}

/* MADT layout (ACPI 6.x §5.2.12). */
struct madt {
	char sig[4];
	uint32_t length;
	uint8_t hdr_rest[28];
	uint32_t lapic_addr;
	uint32_t flags;
	uint8_t entries[];
} __packed;

enum {
	MADT_IOAPIC = 1,
	MADT_ISO = 2, /* interrupt source override */
};

struct madt_ioapic {
	uint8_t type, len, id, reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __packed;

struct madt_iso {
	uint8_t type, len, bus, source;
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags */
} __packed;

/* MPS INTI flags -> ours. "Conforms to the bus" means ISA: edge, high. */
static unsigned inti_flags(uint16_t f)
{
	unsigned r = 0;
	if ((f & 3) == 3)
		r |= IRQF_ACTIVE_LOW;
	if (((f >> 2) & 3) == 3)
		r |= IRQF_LEVEL;
	return r;
}

static void isa_defaults(void)
{
	for (unsigned i = 0; i < 16; i++) {
		isa_map[i].gsi = i;
		isa_map[i].flags = 0;
	}
}

/* Fill in the IOAPIC and the overrides from the MADT; false if none. */
static bool madt_parse(void)
{
	uint32_t len;
	const struct madt *m = acpi_find_table("APIC", &len);
	if (!m || len < sizeof *m)
		return false;
	bool have_ioapic = false;
	const uint8_t *p = m->entries, *end = (const uint8_t *)m + len;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (p[0] == MADT_IOAPIC && p[1] >= sizeof(struct madt_ioapic)) {
			const struct madt_ioapic *e = (const void *)p;
			if (!have_ioapic) {
				ioapic_pa = e->addr;
				ioapic_gsi_base = e->gsi_base;
				have_ioapic = true;
			} else {
				printk(KERN_NOTICE
				       "shoal: irq: ignoring extra IOAPIC at %#x (GSI %u)\n",
				       e->addr, e->gsi_base);
			}
		} else if (p[0] == MADT_ISO &&
			   p[1] >= sizeof(struct madt_iso)) {
			const struct madt_iso *e = (const void *)p;
			if (e->bus == 0 && e->source < 16) {
				isa_map[e->source].gsi = e->gsi;
				isa_map[e->source].flags = inti_flags(e->flags);
			}
		}
		p += p[1];
	}
	return have_ioapic;
}

int isa_irq_resolve(unsigned irq, unsigned *gsi, unsigned *flags)
{
	if (irq >= 16)
		return -EINVAL;
	*gsi = isa_map[irq].gsi;
	*flags = isa_map[irq].flags;
	return 0;
}

void ioapic_init(void)
{
	isa_defaults();
	from_acpi = madt_parse();
	if (!from_acpi) {
		isa_defaults();
		ioapic_pa = QEMU_IOAPIC_BASE;
		ioapic_gsi_base = 0;
		isa_map[0].gsi = 2;
		isa_map[5].flags = IRQF_LEVEL;
		isa_map[9].flags = IRQF_LEVEL;
		isa_map[10].flags = IRQF_LEVEL;
		isa_map[11].flags = IRQF_LEVEL;
	}
	ioapic = vm_map_mmio(ioapic_pa, PAGE_SIZE);
	if (!ioapic)
		panic("ioapic_init: cannot map the IOAPIC at %#lx",
		      (unsigned long)ioapic_pa);
	uint32_t ver = ioapic_read(IOAPIC_REG_VER);
	if (ver == 0xFFFFFFFF)
		panic("ioapic_init: no IOAPIC answers at %#lx",
		      (unsigned long)ioapic_pa);
	ioapic_inputs = ((ver >> 16) & 0xFF) + 1;
	for (unsigned i = 0; i < ioapic_inputs; i++)
		ioapic_mask(ioapic_gsi_base + i);
}

void ioapic_describe(uint64_t *pa, unsigned *inputs, bool *acpi)
{
	*pa = ioapic_pa;
	*inputs = ioapic_inputs;
	*acpi = from_acpi;
}

bool ioapic_has_gsi(unsigned gsi)
{
	return gsi >= ioapic_gsi_base && gsi - ioapic_gsi_base < ioapic_inputs;
}

void ioapic_route(unsigned gsi, unsigned vector, unsigned flags)
{
	unsigned reg = IOAPIC_REG_REDTBL + 2 * (gsi - ioapic_gsi_base);
	uint32_t lo = vector & 0xFF; /* fixed delivery, physical dest */
	if (flags & IRQF_LEVEL)
		lo |= RTE_LEVEL;
	if (flags & IRQF_ACTIVE_LOW)
		lo |= RTE_ACTIVE_LOW;
	/* Masked while the destination changes, then open. */
	ioapic_write(reg, lo | RTE_MASKED);
	ioapic_write(reg + 1, lapic_id() << 24);
	ioapic_write(reg, lo);
}

void ioapic_mask(unsigned gsi)
{
	unsigned reg = IOAPIC_REG_REDTBL + 2 * (gsi - ioapic_gsi_base);
	ioapic_write(reg, RTE_MASKED);
	ioapic_write(reg + 1, 0);
}
