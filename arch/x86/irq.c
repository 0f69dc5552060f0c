/*
 * irq.c — interrupt vectors 32-255: device lines through the IOAPIC, the
 * LAPIC timer, error and spurious vectors, and counters for each.
 *
 * Interface (arch.h): irq_register / irq_unregister take an ISA IRQ (0-15,
 * MADT overrides applied, so IRQ0 lands on GSI2 under QEMU) or a GSI >= 16
 * (PCI: level-triggered, active-low). Each GSI gets one vector, allocated
 * upwards from VEC_IRQ_BASE and kept for the GSI's lifetime, so counters
 * survive unregistering. Level-triggered lines may be shared by several
 * handlers; edge lines may not (a shared edge loses interrupts).
 *
 * irq_dispatch runs with interrupts off (interrupt gates). An interrupt on a
 * vector nobody owns is counted and logged at a falling rate, never fatal.
 * EOI is sent only when the vector is really in service at the LAPIC, so a
 * software `int n` cannot acknowledge some other, real interrupt.
 *
 * Message-signalled interrupts (PCI MSI/MSI-X) need no IOAPIC input:
 * irq_alloc_msi_vector hands out a vector from the same range, owned by one
 * handler (an edge never shared); irq_free_msi_vector gives it back for the
 * next MSI allocation. A message arriving after the free is "unexpected".
 *
 * Locking: the vector table and the handler pool are changed only with
 * interrupts disabled (irq_save). That suffices on one CPU; SMP will need a
 * spinlock taken inside irq_save, and an RCU-like retire for unregistering.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

#define NACTIONS 48
#define VEC_IRQ_LAST 0xEF /* VEC_LAPIC_TIMER and up belong to the LAPIC */

struct irq_action {
	irq_handler_t fn;
	void *arg;
	struct irq_action *next; /* NULL-terminated; NULL fn = free slot */
};

struct irq_line {
	struct irq_action *actions;
	bool used; /* vector assigned to a GSI or to MSI */
	bool msi; /* message-signalled: no GSI, one handler */
	int irq; /* number given to irq_register; -1 for MSI */
	unsigned gsi, flags;
	const char *owner; /* MSI: who asked for the vector */
};

static struct irq_action action_pool[NACTIONS];
static struct irq_line lines[256];
static uint64_t vec_count[256];
static uint64_t unexpected_total, error_total;
static unsigned next_vector = VEC_IRQ_BASE;

/* True for 1, 2, 4, 8, ...: log rarely as a problem repeats. */
static bool log_now(uint64_t n)
{
	return (n & (n - 1)) == 0;
}

void arch_irq_init(void)
{
	pic_disable();
	lapic_init();
	ioapic_init();
	uint64_t pa;
	unsigned inputs;
	bool acpi;
	ioapic_describe(&pa, &inputs, &acpi);
	printk("shoal: irq: IOAPIC at %#lx, %u inputs (%s); LAPIC %u; 8259 masked\n",
	       (unsigned long)pa, inputs,
	       acpi ? "ACPI MADT" : "no ACPI, QEMU defaults", lapic_id());
}

/* Returns the line's vector, allocating one; -1 when none is left. */
static int vector_for_gsi(unsigned gsi)
{
	for (unsigned v = VEC_IRQ_BASE; v < next_vector; v++)
		if (lines[v].used && !lines[v].msi && lines[v].gsi == gsi)
			return (int)v;
	if (next_vector > VEC_IRQ_LAST)
		return -1;
	return (int)next_vector++;
}

static struct irq_action *action_alloc(void)
{
	for (unsigned i = 0; i < NACTIONS; i++)
		if (!action_pool[i].fn)
			return &action_pool[i];
	return NULL;
}

int irq_register(unsigned irq, irq_handler_t handler, void *arg)
{
	unsigned gsi, flags;
	if (!handler)
		return -EINVAL;
	if (irq < 16) {
		isa_irq_resolve(irq, &gsi, &flags);
	} else {
		gsi = irq;
		flags = IRQF_LEVEL | IRQF_ACTIVE_LOW;
	}
	if (!ioapic_has_gsi(gsi))
		return -EINVAL;

	unsigned long f = irq_save();
	int rc = 0, v = -1;
	struct irq_action *a = action_alloc();
	if (!a) {
		rc = -ENOMEM;
		goto out;
	}
	v = vector_for_gsi(gsi);
	if (v < 0) {
		rc = -EBUSY;
		goto out;
	}
	struct irq_line *l = &lines[v];
	if (l->actions && (!(flags & IRQF_LEVEL) || l->flags != flags)) {
		rc = -EBUSY;
		goto out;
	}
	l->used = true;
	l->irq = (int)irq;
	l->gsi = gsi;
	l->flags = flags;
	a->fn = handler;
	a->arg = arg;
	a->next = NULL;
	struct irq_action **pp = &l->actions;
	while (*pp)
		pp = &(*pp)->next;
	*pp = a;
	if (l->actions == a)
		ioapic_route(gsi, (unsigned)v, flags);
out:
	irq_restore(f);
	return rc;
}

void irq_unregister(unsigned irq, irq_handler_t handler, void *arg)
{
	unsigned long f = irq_save();
	for (unsigned v = VEC_IRQ_BASE; v < next_vector; v++) {
		struct irq_line *l = &lines[v];
		if (!l->used || l->msi || l->irq != (int)irq)
			continue;
		for (struct irq_action **pp = &l->actions; *pp;
		     pp = &(*pp)->next) {
			struct irq_action *a = *pp;
			if (a->fn == handler && a->arg == arg) {
				*pp = a->next;
				a->fn = NULL;
				break;
			}
		}
		if (!l->actions)
			ioapic_mask(l->gsi);
	}
	irq_restore(f);
}

int irq_alloc_msi_vector(irq_handler_t handler, void *arg, const char *owner)
{
	if (!handler)
		return -EINVAL;
	unsigned long f = irq_save();
	int rc;
	struct irq_action *a = action_alloc();
	if (!a) {
		rc = -ENOMEM;
		goto out;
	}
	unsigned v;
	for (v = VEC_IRQ_BASE; v < next_vector; v++)
		if (lines[v].msi && !lines[v].actions)
			break;
	if (v == next_vector) {
		if (next_vector > VEC_IRQ_LAST) {
			rc = -EBUSY;
			goto out;
		}
		next_vector++;
	}
	struct irq_line *l = &lines[v];
	*l = (struct irq_line){.used = true,
			       .msi = true,
			       .irq = -1,
			       .owner = owner ? owner : "?"};
	vec_count[v] = 0; /* a new owner starts from zero */
	a->fn = handler;
	a->arg = arg;
	a->next = NULL;
	l->actions = a;
	rc = (int)v;
out:
	irq_restore(f);
	return rc;
}

void irq_free_msi_vector(unsigned vector)
{
	unsigned long f = irq_save();
	struct irq_line *l = &lines[vector & 0xFF];
	if (l->msi && l->actions) {
		l->actions->fn = NULL;
		l->actions = NULL;
	}
	irq_restore(f);
}

void irq_dispatch(struct trapframe *tf)
{
	unsigned v = tf->vector & 0xFF;
	uint64_t n = ++vec_count[v];

	if (v == VEC_SPURIOUS)
		return; /* not in service: no EOI (SDM 11.9) */
	if (v == VEC_LAPIC_TIMER) {
		time_timer_irq();
	} else if (v == VEC_LAPIC_ERROR) {
		uint32_t esr = lapic_error_status();
		if (log_now(++error_total))
			printk(KERN_WARN
			       "shoal: irq: LAPIC error, ESR %#x (%lu so far)\n",
			       esr, (unsigned long)error_total);
	} else if (lines[v].actions) {
		for (struct irq_action *a = lines[v].actions; a; a = a->next)
			a->fn(a->arg);
	} else {
		unexpected_total++;
		if (log_now(n))
			printk(KERN_WARN
			       "shoal: irq: unexpected interrupt on vector %u (%lu times)\n",
			       v, (unsigned long)n);
	}
	if (lapic_in_service(v))
		lapic_eoi();
}

uint64_t irq_vector_count(unsigned vec)
{
	return vec_count[vec & 0xFF];
}

unsigned irq_stats(struct irq_stat *st, unsigned max)
{
	unsigned n = 0;
#define ADD(vec_, irq_, gsi_, name_, count_, owner_)                      \
	do {                                                              \
		if (n < max)                                              \
			st[n] = (struct irq_stat){vec_,	 irq_,	 gsi_,    \
						  name_, count_, owner_}; \
		n++;                                                      \
	} while (0)
	unsigned long f = irq_save();
	for (unsigned v = VEC_IRQ_BASE; v < next_vector; v++) {
		const struct irq_line *l = &lines[v];
		if (l->msi)
			ADD(v, -1, 0, "PCI-MSI", vec_count[v],
			    l->actions ? l->owner : "(free)");
		else if (l->used)
			ADD(v, l->irq, l->gsi,
			    l->flags & IRQF_LEVEL ? "IO-APIC-level"
						  : "IO-APIC-edge",
			    vec_count[v], NULL);
	}
	ADD(VEC_LAPIC_TIMER, -1, 0, "LAPIC-timer", vec_count[VEC_LAPIC_TIMER],
	    NULL);
	ADD(VEC_LAPIC_ERROR, -1, 0, "LAPIC-error", vec_count[VEC_LAPIC_ERROR],
	    NULL);
	ADD(VEC_SPURIOUS, -1, 0, "spurious", vec_count[VEC_SPURIOUS], NULL);
	ADD(0, -1, 0, "unexpected", unexpected_total, NULL);
	irq_restore(f);
#undef ADD
	return n;
}
