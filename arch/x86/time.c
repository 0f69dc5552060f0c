/*
 * time.c — the node's clocks: a monotonic nanosecond clock from the TSC, a
 * tick counter at hz driven by the LAPIC timer, and tickless idle.
 *
 * Calibration: the TSC and the LAPIC timer are measured together against a
 * reference of known rate: the 8254 PIT's channel 2 (gated through port
 * 0x61, never wired to an interrupt), else the HPET, else CPUID leaf
 * 0x15/0x16. Each sample brackets the reference read between two TSC reads
 * and keeps the narrowest of a few tries; of several runs the one with the
 * smallest bracketing uncertainty wins. A result outside 100 MHz-20 GHz is
 * rejected and the next reference tried, with a warning.
 *
 * time_ns = (tsc - tsc_origin) * ns_mult >> 32, a 64x64->128-bit product,
 * so it neither overflows nor loses precision for centuries of uptime. The
 * origin is the TSC read by boot/entry.asm at the kernel's first
 * instruction (boot_tsc), so "since boot" means since the kernel started,
 * whatever the firmware took and whether or not the TSC was reset with the
 * CPU (under KVM it is not); on one CPU the TSC never runs backwards, so
 * time_ns is monotonic.
 *
 * Ticks: tick k begins at time_ns = k * 1e9 / hz. The LAPIC timer runs in
 * one-shot mode and each interrupt re-arms it for just after the next tick
 * boundary on the TSC's time line; the tick counter is set from time_ns, so
 * it can never drift from time_ns and a late or missed interrupt is caught
 * up, not lost. The result is a periodic interrupt at hz whose phase the
 * TSC holds.
 *
 * Tickless idle (arch_idle): with nothing scheduled the timer is simply not
 * re-armed (or armed once for the caller's deadline), and `sti; hlt` waits
 * for a device; on wakeup the tick counter catches up and the tick restarts.
 *
 * State below is written only with interrupts disabled (the timer handler,
 * arch_idle, init); readers on this CPU see whole 64-bit words.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"
#include "vm/vm.h"

#define NSEC 1000000000ULL

/* 8254 PIT (datasheet: 1.193182 MHz input, ports 0x40-0x43). */
#define PIT_NUM 14318180ULL /* the PIT clock is 14.31818 MHz / 12 */
#define PIT_DEN 12ULL
#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61 /* bit 0 gate 2, bit 1 speaker, bit 5 OUT2 */
#define PORTB_GATE2 0x01
#define PORTB_SPEAKER 0x02
#define PORTB_OUT2 0x20

/* HPET registers (IA-PC HPET spec §2.3). */
#define HPET_CAP 0x000
#define HPET_CONF 0x010
#define HPET_COUNTER 0x0F0
#define HPET_ENABLE 1u

#define CAL_MS 10 /* one calibration run */
#define CAL_RUNS 3
#define TSC_MIN 100000000ULL
#define TSC_MAX 20000000000ULL
#define LAPIC_MIN 100000ULL
#define LAPIC_MAX 2000000000ULL

static uint64_t tsc_freq, lapic_freq; /* Hz; lapic after the /16 divider */
static uint64_t tsc_origin;
static uint64_t ns_mult; /* ns = tsc_delta * ns_mult >> 32 */
static uint64_t lapic_mult; /* lapic counts = ns * lapic_mult >> 32 */
static unsigned tick_hz;
static uint64_t tick_margin_ns; /* fire this long after a boundary */
static volatile uint64_t ticks;
static uint64_t idle_deadline;

/* ------------------------------------------------------------ references */

/* A free-running reference counter of known rate. */
struct refclock {
	const char *name;
	void (*start)(void);
	uint32_t (*read)(void); /* counts up, wrapping at mask */
	uint32_t mask;
	uint64_t (*to_ns)(uint64_t counts);
	bool (*overrun)(void); /* the run went past the counter's range */
	void (*stop)(void);
};

/* PIT channel 2 in mode 0 from 0xFFFF: 55 ms before OUT2 rises. */
static void pit_start(void)
{
	outb(PORT_B, (inb(PORT_B) & ~PORTB_SPEAKER) | PORTB_GATE2);
	outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, 0xFF);
	outb(PIT_CH2, 0xFF);
}

static uint32_t pit_read(void)
{
	outb(PIT_CMD, 0x80); /* latch channel 2 */
	uint32_t lo = inb(PIT_CH2);
	uint32_t hi = inb(PIT_CH2);
	return 0xFFFF - (lo | hi << 8);
}

static uint64_t pit_to_ns(uint64_t counts)
{
	return counts * PIT_DEN * NSEC / PIT_NUM;
}

static bool pit_overrun(void)
{
	return inb(PORT_B) & PORTB_OUT2;
}

static void pit_stop(void)
{
	outb(PORT_B, inb(PORT_B) & ~(PORTB_SPEAKER | PORTB_GATE2));
}

static const struct refclock pit_ref = {
	"PIT", pit_start, pit_read, 0xFFFF, pit_to_ns, pit_overrun, pit_stop};

static volatile uint32_t *hpet;
static uint32_t hpet_period_fs;
static uint32_t hpet_conf_saved;

static uint64_t hpet_reg64(unsigned off)
{
	uint32_t lo = hpet[off / 4], hi = hpet[off / 4 + 1];
	return lo | (uint64_t)hi << 32;
}

/* Map the HPET named by the ACPI table; false if there is none. */
static bool hpet_probe(void)
{
	if (hpet)
		return true;
	uint32_t len;
	const uint8_t *t = acpi_find_table("HPET", &len);
	if (!t || len < 56 || t[40] != 0) /* GAS in system memory */
		return false;
	uint64_t pa;
	memcpy(&pa, t + 44, 8);
	volatile uint32_t *h = vm_map_mmio(pa, PAGE_SIZE);
	if (!h)
		return false;
	hpet = h;
	uint64_t cap = hpet_reg64(HPET_CAP);
	hpet_period_fs = cap >> 32;
	if (!hpet_period_fs || hpet_period_fs > 100000000) { /* <= 100 ns */
		hpet = NULL;
		return false;
	}
	hpet_conf_saved = hpet[HPET_CONF / 4];
	return true;
}

static void hpet_start(void)
{
	hpet[HPET_CONF / 4] = hpet_conf_saved | HPET_ENABLE;
}

static uint32_t hpet_read(void)
{
	return hpet[HPET_COUNTER / 4];
}

static uint64_t hpet_to_ns(uint64_t counts)
{
	return counts * hpet_period_fs / 1000000;
}

static void hpet_stop(void)
{
	/* Leave it as we found it: a running HPET is one more host timer. */
	hpet[HPET_CONF / 4] = hpet_conf_saved;
}

static const struct refclock hpet_ref = {
	"HPET", hpet_start, hpet_read, 0xFFFFFFFF, hpet_to_ns, NULL, hpet_stop};

/* ------------------------------------------------------------ calibration */

static void ticks_catch_up(void);
static void tick_arm_next(void);

struct sample {
	uint64_t tsc; /* middle of the bracket */
	uint64_t window; /* bracket width, TSC cycles */
	uint32_t ref, lapic;
};

static void take_sample(const struct refclock *rc, struct sample *s)
{
	s->window = UINT64_MAX;
	for (int i = 0; i < 4; i++) {
		uint64_t t0 = rdtsc();
		uint32_t r = rc->read();
		uint32_t l = lapic_timer_current();
		uint64_t t1 = rdtsc();
		if (t1 - t0 < s->window) {
			s->window = t1 - t0;
			s->tsc = t0 + (t1 - t0) / 2;
			s->ref = r;
			s->lapic = l;
		}
	}
}

struct cal {
	uint64_t tsc_hz, lapic_hz;
	uint64_t err_ppm; /* bracketing uncertainty of the TSC figure */
};

/* One run of about CAL_MS; 0 or a negative errno. */
static int cal_run(const struct refclock *rc, struct cal *out)
{
	const uint64_t want_ns = CAL_MS * 1000000ULL;
	struct sample a, b;
	rc->start();
	lapic_timer_oneshot(0xFFFFFFFF, true);
	/* Wait until the reference visibly counts (the PIT loads its count
	 * on the next input clock); a dead one fails here. Time limits are
	 * in TSC cycles at the fastest plausible rate, so they are short
	 * on any real TSC. */
	uint32_t r0 = rc->read();
	uint64_t t0 = rdtsc();
	while (((rc->read() - r0) & rc->mask) == 0)
		if (rdtsc() - t0 > TSC_MAX / 1000) /* 1 ms at 20 GHz */
			return -ENODEV;
	take_sample(rc, &a);
	while (rc->to_ns((rc->read() - a.ref) & rc->mask) < want_ns)
		if (rdtsc() - a.tsc > TSC_MAX / 1000 * CAL_MS * 4)
			return -ETIMEDOUT;
	take_sample(rc, &b);
	lapic_timer_stop();
	if (rc->overrun && rc->overrun())
		return -EAGAIN;
	uint64_t ns = rc->to_ns((b.ref - a.ref) & rc->mask);
	uint64_t dtsc = b.tsc - a.tsc;
	if (ns < want_ns || ns > 4 * want_ns || !dtsc ||
	    dtsc > UINT64_MAX / NSEC)
		return -EAGAIN;
	out->tsc_hz = dtsc * NSEC / ns;
	out->lapic_hz = (uint64_t)(a.lapic - b.lapic) * NSEC / ns;
	out->err_ppm = (a.window + b.window) / 2 * 1000000 / dtsc;
	return 0;
}

/* The best of CAL_RUNS runs against rc; 0 or a negative errno. */
static int calibrate(const struct refclock *rc, struct cal *best)
{
	int rc_err = -ENODEV;
	bool have = false;
	for (int i = 0; i < CAL_RUNS; i++) {
		struct cal c;
		int e = cal_run(rc, &c);
		if (e == -ENODEV)
			break;
		if (e) {
			rc_err = e;
			continue;
		}
		if (!have || c.err_ppm < best->err_ppm)
			*best = c;
		have = true;
	}
	rc->stop();
	return have ? 0 : rc_err;
}

static bool tsc_sane(uint64_t f)
{
	return f >= TSC_MIN && f <= TSC_MAX;
}

static bool lapic_sane(uint64_t f)
{
	return f >= LAPIC_MIN && f <= LAPIC_MAX;
}

/* TSC rate from CPUID (leaf 0x15 crystal ratio, else 0x16 base MHz). */
static uint64_t cpuid_tsc_hz(void)
{
	uint32_t max, b, c, d;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		uint32_t den, num, crystal;
		cpuid(0x15, 0, &den, &num, &crystal, &d);
		if (den && num && crystal)
			return (uint64_t)crystal * num / den;
	}
	if (max >= 0x16) {
		uint32_t mhz;
		cpuid(0x16, 0, &mhz, &b, &c, &d);
		if (mhz)
			return (uint64_t)mhz * 1000000;
	}
	return 0;
}

/* The LAPIC timer against an already known TSC: about CAL_MS. */
static uint64_t lapic_vs_tsc(void)
{
	uint64_t want = tsc_freq / 1000 * CAL_MS;
	lapic_timer_oneshot(0xFFFFFFFF, true);
	uint64_t t0 = rdtsc();
	uint32_t l0 = lapic_timer_current();
	while (rdtsc() - t0 < want)
		cpu_relax();
	uint32_t l1 = lapic_timer_current();
	uint64_t t1 = rdtsc();
	lapic_timer_stop();
	return (uint64_t)(l0 - l1) * tsc_freq / (t1 - t0);
}

int hpet_measure_tsc(uint64_t *hz)
{
	struct cal c;
	if (!hpet_probe())
		return -ENODEV;
	/* Calibration borrows the LAPIC timer: no ticks meanwhile, and the
	 * tick restarts afterwards. */
	unsigned long f = irq_save();
	int e = calibrate(&hpet_ref, &c);
	ticks_catch_up();
	tick_arm_next();
	irq_restore(f);
	if (!e)
		*hz = c.tsc_hz;
	return e;
}

/* Returns a description of where the rates came from. */
static const char *calibrate_all(void)
{
	struct cal c;
	const struct refclock *refs[] = {&pit_ref, &hpet_ref};
	for (unsigned i = 0; i < ARRAY_SIZE(refs); i++) {
		if (refs[i] == &hpet_ref && !hpet_probe())
			continue;
		int e = calibrate(refs[i], &c);
		if (!e && tsc_sane(c.tsc_hz)) {
			printk(KERN_DEBUG
			       "shoal: timer: %s calibration +-%lu ppm\n",
			       refs[i]->name, (unsigned long)c.err_ppm);
			tsc_freq = c.tsc_hz;
			lapic_freq = c.lapic_hz;
			if (!lapic_sane(lapic_freq))
				lapic_freq = lapic_vs_tsc();
			return refs[i] == &pit_ref ? "PIT-calibrated"
						   : "HPET-calibrated";
		}
		if (e)
			printk(KERN_WARN
			       "shoal: timer: %s calibration failed (%d)\n",
			       refs[i]->name, e);
		else
			printk(KERN_WARN
			       "shoal: timer: %s calibration gave an absurd TSC of %lu Hz\n",
			       refs[i]->name, (unsigned long)c.tsc_hz);
	}
	tsc_freq = cpuid_tsc_hz();
	const char *how = "from CPUID";
	if (!tsc_sane(tsc_freq)) {
		tsc_freq = 1000000000;
		how = "GUESSED, time will be wrong";
	}
	printk(KERN_WARN "shoal: timer: no usable reference clock; TSC %s\n",
	       how);
	lapic_freq = lapic_vs_tsc();
	return how;
}

/* ------------------------------------------------------------------ ticks */

uint64_t time_ns(void)
{
	if (!ns_mult)
		return 0;
	uint64_t d = rdtsc() - tsc_origin;
	return (uint64_t)(((unsigned __int128)d * ns_mult) >> 32);
}

/* floor(ns * hz / 1e9) without overflow. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / NSEC * tick_hz + ns % NSEC * tick_hz / NSEC;
}

/* The first nanosecond of tick t: ceil(t * 1e9 / hz). */
static uint64_t tick_start_ns(uint64_t t)
{
	return t / tick_hz * NSEC +
	       (t % tick_hz * NSEC + tick_hz - 1) / tick_hz;
}

/* Arm the one-shot for time_ns == at (at once if already past). */
static void timer_arm_at(uint64_t at)
{
	uint64_t now = time_ns();
	uint64_t d = at > now ? at - now : 0;
	unsigned __int128 c = ((unsigned __int128)d * lapic_mult >> 32) + 1;
	lapic_timer_oneshot(c > 0xFFFFFFFF ? 0xFFFFFFFF : (uint32_t)c, false);
}

/* Bring the tick counter up to date with time_ns. Interrupts off. */
static void ticks_catch_up(void)
{
	uint64_t t = ns_to_ticks(time_ns());
	if (t > ticks)
		ticks = t;
}

static void tick_arm_next(void)
{
	timer_arm_at(tick_start_ns(ticks + 1) + tick_margin_ns);
}

static void (*tick_hook)(void);

void arch_set_tick_hook(void (*fn)(void))
{
	tick_hook = fn;
}

void time_timer_irq(void)
{
	ticks_catch_up();
	tick_arm_next();
	if (tick_hook)
		tick_hook();
}

uint64_t time_ticks(void)
{
	return ticks;
}

uint64_t tsc_hz(void)
{
	return tsc_freq;
}

unsigned time_hz(void)
{
	return tick_hz;
}

uint64_t lapic_timer_hz(void)
{
	return lapic_freq;
}

void arch_set_idle_deadline(uint64_t deadline_ns)
{
	idle_deadline = deadline_ns;
}

void arch_idle(void)
{
	if (idle_deadline) {
		if (idle_deadline <= time_ns())
			return;
		timer_arm_at(idle_deadline);
	} else {
		lapic_timer_stop();
	}
	/* sti takes effect after the next instruction, so an interrupt that
	 * is already pending wakes the hlt rather than slipping in before
	 * it and leaving us asleep. */
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	ticks_catch_up();
	tick_arm_next();
}

void arch_time_init(unsigned hz)
{
	if (hz < 10 || hz > 1000)
		hz = 100;
	/* The firmware may have left PIT channel 0 running at 18.2 Hz; its
	 * input is masked, but the (emulated) chip would still count. Mode 0
	 * with count 1 fires once and stops. */
	outb(PIT_CMD, 0x30);
	outb(PIT_CH0, 1);
	outb(PIT_CH0, 0);

	const char *how = calibrate_all();
	tick_hz = hz;
	tick_margin_ns = NSEC / hz / 128;
	ns_mult = ((NSEC << 32) + tsc_freq / 2) / tsc_freq;
	lapic_mult = (lapic_freq << 32) / NSEC;
	tsc_origin = boot_tsc;
	rtc_init();
	unsigned long f = irq_save();
	ticks_catch_up();
	tick_arm_next();
	irq_restore(f);
	printk("shoal: timer: LAPIC %u Hz (TSC-phased one-shot, %lu.%03lu MHz), TSC %lu.%01lu MHz (%s)\n",
	       hz, (unsigned long)(lapic_freq / 1000000),
	       (unsigned long)(lapic_freq / 1000 % 1000),
	       (unsigned long)(tsc_freq / 1000000),
	       (unsigned long)(tsc_freq / 100000 % 10), how);
}
