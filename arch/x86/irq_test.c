/*
 * irq_test.c — self-tests for interrupt routing (irq.c, apic.c): a real
 * device interrupt (PIT channel 0 through IOAPIC input 2) reaches its
 * handler once; interrupts nobody owns are counted, acknowledged and
 * survived; bad registrations are refused; counters are listed.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"
#include "kern/sync.h"

#define MS 1000000ULL
#define VEC_TEST_IPI 0xE0 /* far above anything irq_register hands out */
#define VEC_TEST_INT 0xE1

static void count_handler(void *arg)
{
	(*(volatile unsigned *)arg)++;
}

static bool find_stat(int irq, const char *name, struct irq_stat *out)
{
	struct irq_stat st[32];
	unsigned n = irq_stats(st, ARRAY_SIZE(st));
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(st); i++)
		if (st[i].irq == irq && (!name || !strcmp(st[i].name, name))) {
			*out = st[i];
			return true;
		}
	return false;
}

/* Wait up to ms with interrupts on until *v reaches want. */
static void wait_for(volatile unsigned *v, unsigned want, uint64_t ms)
{
	uint64_t t0 = time_ns();
	while (*v < want && time_ns() - t0 < ms * MS)
		cpu_relax();
}

SELFTEST(irq_pit_through_ioapic)
{
	static volatile unsigned hits;
	hits = 0;
	ST_ASSERT(irq_register(0, count_handler, (void *)&hits) == 0);
	struct irq_stat st;
	ST_ASSERT(find_stat(0, NULL, &st));
	ST_ASSERT(st.gsi == 2); /* the ISA override every PC chipset has */
	uint64_t c0 = st.count;
	/* PIT channel 0, mode 0, 1 ms: OUT0 rises once at terminal count. */
	outb(0x43, 0x30);
	outb(0x40, 1193 & 0xFF);
	outb(0x40, 1193 >> 8);
	wait_for(&hits, 1, 200);
	wait_for(&hits, 2, 20); /* a second edge would be a bug */
	irq_unregister(0, count_handler, (void *)&hits);
	ST_ASSERT(hits == 1);
	ST_ASSERT(find_stat(0, NULL, &st) && st.count == c0 + 1);
	return 0;
}

SELFTEST(irq_unexpected_counted)
{
	struct irq_stat st;
	ST_ASSERT(find_stat(-1, "unexpected", &st));
	uint64_t u0 = st.count;
	uint64_t c0 = irq_vector_count(VEC_TEST_IPI);
	/* Through the LAPIC: must be counted and acknowledged (EOI). */
	lapic_self_ipi(VEC_TEST_IPI);
	uint64_t t0 = time_ns();
	while (irq_vector_count(VEC_TEST_IPI) == c0 && time_ns() - t0 < 50 * MS)
		cpu_relax();
	ST_ASSERT(irq_vector_count(VEC_TEST_IPI) == c0 + 1);
	ST_ASSERT(!lapic_in_service(VEC_TEST_IPI));
	/* A software interrupt: counted, and no EOI is taken from anyone. */
	uint64_t s0 = irq_vector_count(VEC_TEST_INT);
	__asm__ volatile("int %0" : : "i"(VEC_TEST_INT) : "memory");
	ST_ASSERT(irq_vector_count(VEC_TEST_INT) == s0 + 1);
	ST_ASSERT(find_stat(-1, "unexpected", &st) && st.count == u0 + 2);
	/* And the timer still runs afterwards. */
	uint64_t k0 = time_ticks();
	t0 = time_ns();
	while (time_ticks() < k0 + 2 && time_ns() - t0 < 500 * MS)
		cpu_relax();
	ST_ASSERT(time_ticks() >= k0 + 2);
	return 0;
}

SELFTEST(irq_register_checks)
{
	static volatile unsigned hits;
	ST_ASSERT(irq_register(3, NULL, NULL) == -EINVAL);
	ST_ASSERT(irq_register(1000, count_handler, (void *)&hits) == -EINVAL);
	/* COM1's edge-triggered IRQ 4 is taken by the UART: no sharing. */
	struct irq_stat st;
	if (find_stat(4, NULL, &st))
		ST_ASSERT(irq_register(4, count_handler, (void *)&hits) ==
			  -EBUSY);
	return 0;
}

SELFTEST(irq_stats_list)
{
	struct irq_stat st;
	uint64_t t0 = time_ns();
	while (!irq_vector_count(VEC_LAPIC_TIMER) && time_ns() - t0 < 100 * MS)
		cpu_relax();
	ST_ASSERT(find_stat(-1, "LAPIC-timer", &st) && st.count > 0);
	ST_ASSERT(st.vector == VEC_LAPIC_TIMER);
	ST_ASSERT(find_stat(-1, "spurious", &st));
	ST_ASSERT(find_stat(4, "IO-APIC-edge", &st) && st.gsi == 4);
	return 0;
}

static struct waitq pit_wq;
static volatile unsigned woken_ticks, woken_done;

static void pit_wake(void *arg)
{
	waitq_wakeup_all(&pit_wq);
}

static void spin_after_device_wakeup(void *arg)
{
	unsigned long f = irq_save();
	waitq_sleep(&pit_wq, NULL);
	irq_restore(f);
	uint64_t k0 = time_ticks(), end = time_ns() + 100 * MS;
	while (time_ns() < end)
		cpu_relax();
	woken_ticks = (unsigned)(time_ticks() - k0);
	woken_done = 1;
}

/*
 * A thread woken out of idle by a device interrupt runs with the tick
 * restarted: the scheduler must not switch away from the idle thread in
 * the middle of arch_idle, before it re-arms the timer it stopped.
 */
SELFTEST(tick_runs_after_device_wakeup)
{
	waitq_init(&pit_wq);
	woken_ticks = woken_done = 0;
	ST_ASSERT(irq_register(0, pit_wake, NULL) == 0);
	ST_ASSERT(thread_create("t-pitwait", spin_after_device_wakeup, NULL));
	thread_yield(); /* it waits on pit_wq now */
	/* PIT channel 0, mode 0, 20 ms: one edge while the node is idle. */
	outb(0x43, 0x30);
	outb(0x40, 23864 & 0xFF);
	outb(0x40, 23864 >> 8);
	uint64_t t0 = time_ns();
	while (!woken_done && time_ns() - t0 < 2000 * MS)
		thread_sleep_ns(300 * MS); /* idle until the PIT fires */
	irq_unregister(0, pit_wake, NULL);
	printk("# %u ticks in 100 ms of spinning after the wakeup\n",
	       woken_ticks);
	ST_ASSERT(woken_done);
	ST_ASSERT(woken_ticks >= 2);
	return 0;
}
