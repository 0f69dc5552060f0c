/*
 * pci.c — PCI enumeration, resource assignment and interrupts.
 *
 * Interface: arch/x86/pci.h. pci_init runs once at boot; afterwards the
 * table of functions is read-only, except each function's interrupt state,
 * which belongs to the one driver that called pci_irq_alloc on it.
 *
 * Configuration space is reached through mechanism #1 (ports 0xCF8/0xCFC,
 * PCI Local Bus 3.0 §3.2.2.3.2): the address and data accesses are one
 * critical section, so each access runs with interrupts off.
 *
 * Enumeration: every bus 0..255 is probed (so extra root buses are found
 * too); then bridges the firmware left unnumbered (secondary bus 0) get bus
 * numbers above all that are in use, depth first, and the buses behind
 * them are probed. The ancestors' subordinate numbers are raised to cover
 * the new buses.
 *
 * Resources: every BAR is sized (all-ones written with decoding off, the
 * old value restored). A BAR the firmware assigned (non-zero, and inside
 * the window of the bridge above, if any) is kept; the rest get addresses
 * here, because qboot (the direct-boot firmware) assigns none: memory from
 * PCI_MEM_BASE..PCI_MEM_END below 4 GiB, I/O from 0xC000..0xFFFF, largest
 * alignment first, first fit around what is already in use. A bridge the
 * firmware did not configure gets a window sized by a dry run of its
 * subtree's layout (1 MiB / 4 KiB granular); its prefetchable window stays
 * off, and prefetchable BARs behind it live in the ordinary window (legal:
 * prefetchable memory may be mapped non-prefetchable). The expansion ROM
 * BAR is left alone.
 *
 * Interrupts: MSI-X (one LAPIC vector per source, entry i = source i), else
 * MSI (one vector), else INTx through the IOAPIC with the interrupt line the
 * firmware wrote in configuration space (no ACPI _PRT parsing: QEMU's
 * firmware fills the line in). Messages go to this CPU's LAPIC in physical
 * destination mode, fixed delivery, edge (Intel SDM vol. 3, §11.11).
 */
#include "arch/x86/pci.h"
#include "arch/x86/x86.h"
#include "kern/kern.h"
#include "vm/vm.h"

#define PCI_CONFIG_ADDR 0xCF8
#define PCI_CONFIG_DATA 0xCFC

/* Configuration header (type 0 and 1). */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_REVISION 0x08
#define CFG_HEADER 0x0E
#define CFG_BAR0 0x10
#define CFG_SUBVENDOR 0x2C
#define CFG_SUBDEVICE 0x2E
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3C
#define CFG_INT_PIN 0x3D
/* Type 1 (PCI-to-PCI bridge). */
#define CFG_PRIMARY_BUS 0x18
#define CFG_SECONDARY_BUS 0x19
#define CFG_SUBORDINATE_BUS 0x1A
#define CFG_IO_BASE 0x1C
#define CFG_IO_LIMIT 0x1D
#define CFG_MEM_BASE 0x20
#define CFG_MEM_LIMIT 0x22
#define CFG_PREF_BASE 0x24
#define CFG_PREF_LIMIT 0x26
#define CFG_PREF_BASE_HI 0x28
#define CFG_PREF_LIMIT_HI 0x2C
#define CFG_IO_BASE_HI 0x30
#define CFG_IO_LIMIT_HI 0x32

#define CMD_IO (1u << 0)
#define CMD_MEMORY (1u << 1)
#define CMD_MASTER (1u << 2)
#define CMD_INTX_DISABLE (1u << 10)
#define STATUS_CAPS (1u << 4)

/* MSI capability (PCI 3.0 §6.8.1). */
#define MSI_CTRL 2
#define MSI_CTRL_ENABLE (1u << 0)
#define MSI_CTRL_MME_MASK (7u << 4)
#define MSI_CTRL_64BIT (1u << 7)
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA_32 8
#define MSI_DATA_64 12
/* MSI-X capability (PCI 3.0 §6.8.2). */
#define MSIX_CTRL 2
#define MSIX_CTRL_SIZE_MASK 0x7FFu
#define MSIX_CTRL_FMASK (1u << 14)
#define MSIX_CTRL_ENABLE (1u << 15)
#define MSIX_TABLE 4
#define MSIX_ENTRY_SIZE 16
#define MSIX_VCTRL_MASKED 1u
/* Message address and data for the LAPIC (SDM vol. 3, §11.11.1-2). */
#define MSI_ADDR_BASE 0xFEE00000u

#define PCI_MAX_DEVS 96
#define PCI_MEM_BASE 0xE0000000ULL /* PC chipsets' MMIO hole, below the */
#define PCI_MEM_END 0xFEC00000ULL /* IOAPIC/LAPIC/BIOS area at the top */
#define PCI_IO_BASE 0xC000ULL
#define PCI_IO_END 0x10000ULL
#define MEM_GRAN (1ULL << 20) /* bridge memory window granularity */
#define IO_GRAN (1ULL << 12)

static struct pci_dev devs[PCI_MAX_DEVS];
static unsigned ndevs;
static unsigned dropped; /* functions beyond PCI_MAX_DEVS */
static uint8_t bus_max; /* highest bus number in use */

/* ------------------------------------------------------------ config */

static uint32_t cfg_addr(unsigned bus, unsigned slot, unsigned fn, unsigned off)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (off & 0xFC);
}

static uint32_t cfg_read(unsigned bus, unsigned slot, unsigned fn, unsigned off,
			 unsigned size)
{
	unsigned long f = irq_save();
	outl(PCI_CONFIG_ADDR, cfg_addr(bus, slot, fn, off));
	uint32_t v;
	if (size == 1)
		v = inb(PCI_CONFIG_DATA + (off & 3));
	else if (size == 2)
		v = inw(PCI_CONFIG_DATA + (off & 2));
	else
		v = inl(PCI_CONFIG_DATA);
	irq_restore(f);
	return v;
}

static void cfg_write(unsigned bus, unsigned slot, unsigned fn, unsigned off,
		      unsigned size, uint32_t v)
{
	unsigned long f = irq_save();
	outl(PCI_CONFIG_ADDR, cfg_addr(bus, slot, fn, off));
	if (size == 1)
		outb(PCI_CONFIG_DATA + (off & 3), (uint8_t)v);
	else if (size == 2)
		outw(PCI_CONFIG_DATA + (off & 2), (uint16_t)v);
	else
		outl(PCI_CONFIG_DATA, v);
	irq_restore(f);
}

uint8_t pci_cfg_read8(const struct pci_dev *d, unsigned off)
{
	return (uint8_t)cfg_read(d->bus, d->slot, d->fn, off & 0xFF, 1);
}
uint16_t pci_cfg_read16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)cfg_read(d->bus, d->slot, d->fn, off & 0xFE, 2);
}
uint32_t pci_cfg_read32(const struct pci_dev *d, unsigned off)
{
	return cfg_read(d->bus, d->slot, d->fn, off & 0xFC, 4);
}
void pci_cfg_write8(const struct pci_dev *d, unsigned off, uint8_t v)
{
	cfg_write(d->bus, d->slot, d->fn, off & 0xFF, 1, v);
}
void pci_cfg_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	cfg_write(d->bus, d->slot, d->fn, off & 0xFE, 2, v);
}
void pci_cfg_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	cfg_write(d->bus, d->slot, d->fn, off & 0xFC, 4, v);
}

/* ------------------------------------------------------------ table */

unsigned pci_count(void)
{
	return ndevs;
}

struct pci_dev *pci_get(unsigned index)
{
	return index < ndevs ? &devs[index] : NULL;
}

static unsigned index_after(const struct pci_dev *from)
{
	if (!from)
		return 0;
	KASSERT(from >= devs && from < devs + ndevs);
	return (unsigned)(from - devs) + 1;
}

struct pci_dev *pci_find(uint16_t vendor, uint16_t device, struct pci_dev *from)
{
	for (unsigned i = index_after(from); i < ndevs; i++)
		if ((vendor == PCI_ANY || devs[i].vendor == vendor) &&
		    (device == PCI_ANY || devs[i].device == device))
			return &devs[i];
	return NULL;
}

struct pci_dev *pci_find_class(int class, int subclass, struct pci_dev *from)
{
	for (unsigned i = index_after(from); i < ndevs; i++)
		if ((class < 0 || devs[i].class == class) &&
		    (subclass < 0 || devs[i].subclass == subclass))
			return &devs[i];
	return NULL;
}

unsigned pci_find_cap(const struct pci_dev *d, unsigned id, unsigned after)
{
	bool past = after == 0;
	for (unsigned i = 0; i < d->ncaps; i++) {
		if (past && d->cap_id[i] == id)
			return d->cap_off[i];
		if (d->cap_off[i] == after)
			past = true;
	}
	return 0;
}

/* ------------------------------------------------------------ discovery */

/* The capability list, at most PCI_MAX_CAPS entries, loops cut short. */
static void read_caps(struct pci_dev *d)
{
	if (!(pci_cfg_read16(d, CFG_STATUS) & STATUS_CAPS) || d->header == 2)
		return;
	unsigned off = pci_cfg_read8(d, CFG_CAP_PTR) & 0xFC;
	unsigned steps = 0;
	while (off >= 0x40 && steps++ < 48) {
		uint8_t id = pci_cfg_read8(d, off);
		bool seen = false;
		for (unsigned i = 0; i < d->ncaps; i++)
			seen |= d->cap_off[i] == off;
		if (seen)
			break; /* a loop */
		if (d->ncaps == PCI_MAX_CAPS) {
			printk(KERN_WARN
			       "shoal: pci %02x:%02x.%u: more than %u capabilities; the rest ignored\n",
			       d->bus, d->slot, d->fn, PCI_MAX_CAPS);
			break;
		}
		d->cap_id[d->ncaps] = id;
		d->cap_off[d->ncaps++] = (uint8_t)off;
		off = pci_cfg_read8(d, off + 1) & 0xFC;
	}
}

/* Size BAR slot i (decoding is off); returns the slots it used (1 or 2). */
static unsigned size_bar(struct pci_dev *d, unsigned i, unsigned nbars)
{
	struct pci_bar *b = &d->bar[i];
	unsigned reg = CFG_BAR0 + 4 * i;
	uint32_t old = pci_cfg_read32(d, reg);
	pci_cfg_write32(d, reg, 0xFFFFFFFFu);
	uint32_t mask = pci_cfg_read32(d, reg);
	pci_cfg_write32(d, reg, old);
	if (mask == 0 || mask == 0xFFFFFFFFu)
		return 1; /* no BAR (or nothing answering) */

	if (old & 1) {
		uint32_t m = mask & ~3u;
		if (!(m & 0xFFFF0000u))
			m |= 0xFFFF0000u; /* a 16-bit I/O decoder */
		b->flags = PCI_BAR_IO;
		b->base = old & ~3u;
		b->size = (uint32_t)(~m + 1);
		return 1;
	}
	uint64_t m = mask & ~0xFu, base = old & ~0xFu;
	unsigned used = 1;
	if (old & 8)
		b->flags |= PCI_BAR_PREFETCH;
	if (((old >> 1) & 3) == 2) {
		if (i + 1 >= nbars) {
			printk(KERN_WARN
			       "shoal: pci %02x:%02x.%u: 64-bit BAR%u in the last slot; ignored\n",
			       d->bus, d->slot, d->fn, i);
			return 1;
		}
		uint32_t oldhi = pci_cfg_read32(d, reg + 4);
		pci_cfg_write32(d, reg + 4, 0xFFFFFFFFu);
		uint32_t maskhi = pci_cfg_read32(d, reg + 4);
		pci_cfg_write32(d, reg + 4, oldhi);
		m |= (uint64_t)maskhi << 32;
		base |= (uint64_t)oldhi << 32;
		b->flags |= PCI_BAR_MEM64;
		used = 2;
	} else {
		m |= 0xFFFFFFFF00000000ULL;
	}
	b->size = ~m + 1;
	b->base = base;
	if (b->size & (b->size - 1)) { /* not a power of two: broken */
		printk(KERN_WARN
		       "shoal: pci %02x:%02x.%u: BAR%u reports size %#lx; ignored\n",
		       d->bus, d->slot, d->fn, i, (unsigned long)b->size);
		*b = (struct pci_bar){0};
	}
	return used;
}

static void read_bars(struct pci_dev *d)
{
	unsigned nbars = d->header == 0 ? 6 : d->header == 1 ? 2 : 0;
	if (!nbars)
		return;
	uint16_t cmd = pci_cfg_read16(d, CFG_COMMAND);
	pci_cfg_write16(d, CFG_COMMAND, cmd & ~(CMD_IO | CMD_MEMORY));
	for (unsigned i = 0; i < nbars;)
		i += size_bar(d, i, nbars);
	pci_cfg_write16(d, CFG_COMMAND, cmd);
}

static struct pci_dev *add_function(unsigned bus, unsigned slot, unsigned fn)
{
	if (ndevs == PCI_MAX_DEVS) {
		dropped++;
		return NULL;
	}
	struct pci_dev *d = &devs[ndevs++];
	*d = (struct pci_dev){
		.bus = (uint8_t)bus, .slot = (uint8_t)slot, .fn = (uint8_t)fn};
	d->vendor = pci_cfg_read16(d, CFG_VENDOR);
	d->device = pci_cfg_read16(d, CFG_DEVICE);
	uint32_t cls = pci_cfg_read32(d, CFG_REVISION);
	d->revision = (uint8_t)cls;
	d->progif = (uint8_t)(cls >> 8);
	d->subclass = (uint8_t)(cls >> 16);
	d->class = (uint8_t)(cls >> 24);
	d->header = pci_cfg_read8(d, CFG_HEADER) & 0x7F;
	if (d->header == 0) {
		d->subvendor = pci_cfg_read16(d, CFG_SUBVENDOR);
		d->subdevice = pci_cfg_read16(d, CFG_SUBDEVICE);
	}
	if (d->header == 1) {
		d->sec_bus = pci_cfg_read8(d, CFG_SECONDARY_BUS);
		d->sub_bus = pci_cfg_read8(d, CFG_SUBORDINATE_BUS);
	}
	d->irq_pin = pci_cfg_read8(d, CFG_INT_PIN);
	if (d->irq_pin > 4)
		d->irq_pin = 0;
	d->irq_line = d->irq_pin ? pci_cfg_read8(d, CFG_INT_LINE) : 0xFF;
	read_caps(d);
	read_bars(d);
	for (unsigned i = 0; i < PCI_MAX_IRQS; i++)
		d->irq[i].vector = -1;
	return d;
}

static void probe_bus(unsigned bus)
{
	for (unsigned slot = 0; slot < 32; slot++) {
		if (cfg_read(bus, slot, 0, CFG_VENDOR, 2) == 0xFFFF)
			continue;
		bool multi = cfg_read(bus, slot, 0, CFG_HEADER, 1) & 0x80;
		for (unsigned fn = 0; fn < (multi ? 8u : 1u); fn++)
			if (cfg_read(bus, slot, fn, CFG_VENDOR, 2) != 0xFFFF)
				add_function(bus, slot, fn);
		if (bus > bus_max)
			bus_max = (uint8_t)bus;
	}
}

/* A bridge the firmware numbered: its buses lie above its own. */
static bool bridge_numbered(const struct pci_dev *d)
{
	return d->sec_bus > d->bus && d->sub_bus >= d->sec_bus;
}

/* Find each function's bridge: the numbered bridge whose range holds its
 * bus most narrowly. */
static void link_parents(void)
{
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *best = NULL;
		for (unsigned j = 0; j < ndevs; j++) {
			struct pci_dev *b = &devs[j];
			if (b->header != 1 || !bridge_numbered(b) ||
			    devs[i].bus < b->sec_bus ||
			    devs[i].bus > b->sub_bus)
				continue;
			if (!best || b->sec_bus > best->sec_bus)
				best = b;
		}
		devs[i].parent = best;
	}
}

/*
 * Number the unnumbered bridges on `bus` and below, depth first, and probe
 * the buses behind them. `parent` is the bridge above `bus` (NULL: root);
 * `fresh` when we numbered it, so every bridge below is renumbered.
 */
static bool bus_walked[256];

static void raise_subordinate(struct pci_dev *p, unsigned bus)
{
	for (; p; p = p->parent)
		if (p->sub_bus < bus) {
			p->sub_bus = (uint8_t)bus;
			pci_cfg_write8(p, CFG_SUBORDINATE_BUS, (uint8_t)bus);
		}
}

static void number_bridges(unsigned bus, struct pci_dev *parent, unsigned depth,
			   bool fresh)
{
	bus_walked[bus] = true;
	if (depth > 16)
		return;
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		if (d->bus != bus || d->header != 1)
			continue;
		/* Below a bridge we numbered, old numbers mean nothing. */
		if (!fresh && bridge_numbered(d)) {
			if (!bus_walked[d->sec_bus])
				number_bridges(d->sec_bus, d, depth + 1, false);
			continue;
		}
		if (bus_max == 255) {
			printk(KERN_WARN
			       "shoal: pci %02x:%02x.%u: no bus number left for this bridge\n",
			       d->bus, d->slot, d->fn);
			continue;
		}
		unsigned sec = ++bus_max;
		d->parent = parent;
		d->sec_bus = (uint8_t)sec;
		d->sub_bus = 0xFF; /* open while the subtree is probed */
		pci_cfg_write8(d, CFG_PRIMARY_BUS, (uint8_t)bus);
		pci_cfg_write8(d, CFG_SECONDARY_BUS, (uint8_t)sec);
		pci_cfg_write8(d, CFG_SUBORDINATE_BUS, 0xFF);
		raise_subordinate(parent, sec);
		probe_bus(sec);
		number_bridges(sec, d, depth + 1, true);
		d->sub_bus = bus_max;
		pci_cfg_write8(d, CFG_SUBORDINATE_BUS, bus_max);
		raise_subordinate(parent, bus_max);
	}
}

/* ------------------------------------------------------------ resources */

enum { RES_MEM, RES_IO };

struct range {
	uint64_t lo, hi; /* [lo, hi) */
};

/* A bridge's window of one kind, from its registers; false when off. */
static bool bridge_window(const struct pci_dev *b, int kind, struct range *w)
{
	if (kind == RES_MEM) {
		uint16_t base = pci_cfg_read16(b, CFG_MEM_BASE);
		uint16_t limit = pci_cfg_read16(b, CFG_MEM_LIMIT);
		w->lo = (uint64_t)(base & 0xFFF0) << 16;
		w->hi = ((uint64_t)(limit & 0xFFF0) << 16) + MEM_GRAN;
	} else {
		uint8_t base = pci_cfg_read8(b, CFG_IO_BASE);
		uint8_t limit = pci_cfg_read8(b, CFG_IO_LIMIT);
		w->lo = (uint64_t)(base & 0xF0) << 8;
		w->hi = ((uint64_t)(limit & 0xF0) << 8) + IO_GRAN;
		if ((base & 0xF) == 1)
			w->lo |= (uint64_t)pci_cfg_read16(b, CFG_IO_BASE_HI)
				 << 16;
		if ((limit & 0xF) == 1)
			w->hi += (uint64_t)pci_cfg_read16(b, CFG_IO_LIMIT_HI)
				 << 16;
	}
	return w->lo < w->hi && w->lo != 0;
}

static bool bridge_pref_window(const struct pci_dev *b, struct range *w)
{
	uint16_t base = pci_cfg_read16(b, CFG_PREF_BASE);
	uint16_t limit = pci_cfg_read16(b, CFG_PREF_LIMIT);
	w->lo = (uint64_t)(base & 0xFFF0) << 16;
	w->hi = ((uint64_t)(limit & 0xFFF0) << 16) + MEM_GRAN;
	if ((base & 0xF) == 1) {
		w->lo |= (uint64_t)pci_cfg_read32(b, CFG_PREF_BASE_HI) << 32;
		w->hi += (uint64_t)pci_cfg_read32(b, CFG_PREF_LIMIT_HI) << 32;
	}
	return w->lo < w->hi && w->lo != 0;
}

static bool inside(const struct range *w, uint64_t lo, uint64_t size)
{
	return lo >= w->lo && size <= w->hi - lo && lo < w->hi;
}

/*
 * Per-bridge state while assigning: whether its window of each kind is
 * usable (configured by firmware and inside its parent's, or given here).
 */
struct bridge_res {
	bool ok[2];
	struct range win[2], pref;
	bool pref_ok;
};
static struct bridge_res bres[PCI_MAX_DEVS];

static struct bridge_res *res_of(const struct pci_dev *b)
{
	return &bres[b - devs];
}

static bool bar_is(const struct pci_bar *b, int kind)
{
	return b->size && !!(b->flags & PCI_BAR_IO) == (kind == RES_IO);
}

/* Is a firmware-given BAR usable where it is? */
static bool bar_placed(const struct pci_dev *d, const struct pci_bar *b)
{
	int kind = b->flags & PCI_BAR_IO ? RES_IO : RES_MEM;
	if (b->base == 0)
		return false;
	if (!d->parent)
		return kind == RES_IO ? b->base + b->size <= PCI_IO_END : true;
	const struct bridge_res *r = res_of(d->parent);
	if (r->ok[kind] && inside(&r->win[kind], b->base, b->size))
		return true;
	return kind == RES_MEM && (b->flags & PCI_BAR_PREFETCH) && r->pref_ok &&
	       inside(&r->pref, b->base, b->size);
}

/* Windows of the bridges the firmware configured, checked top down. */
static void check_bridges(void)
{
	for (unsigned pass = 0; pass < 8; pass++) /* parents before children */
		for (unsigned i = 0; i < ndevs; i++) {
			struct pci_dev *b = &devs[i];
			if (b->header != 1)
				continue;
			struct bridge_res *r = res_of(b);
			const struct bridge_res *pr =
				b->parent ? res_of(b->parent) : NULL;
			for (int k = RES_MEM; k <= RES_IO; k++) {
				struct range w;
				r->ok[k] = bridge_window(b, k, &w) &&
					   (!pr || (pr->ok[k] &&
						    inside(&pr->win[k], w.lo,
							   w.hi - w.lo)));
				r->win[k] = w;
			}
			r->pref_ok = bridge_pref_window(b, &r->pref) &&
				     (!pr || (pr->pref_ok &&
					      inside(&pr->pref, r->pref.lo,
						     r->pref.hi - r->pref.lo)));
		}
}

/* One thing to place on a bus: a BAR, or an unconfigured bridge's window. */
struct item {
	struct pci_dev *dev;
	int bar; /* -1: the bridge window */
	uint64_t size, align;
};

#define MAX_ITEMS 256 /* per bus */
#define MAX_USED 256
#define MAX_DEPTH 8 /* bridges below a root bus */

struct space {
	struct range win;
	struct range used[MAX_USED];
	unsigned nused;
	bool full;
};

/* A full table makes every later fit fail: unassigned, never overlapping. */
static void space_use(struct space *s, uint64_t lo, uint64_t size)
{
	if (s->nused < MAX_USED)
		s->used[s->nused++] = (struct range){lo, lo + size};
	else
		s->full = true;
}

/* First fit of an aligned block in s->win avoiding s->used; 0 if none. */
static uint64_t space_fit(const struct space *s, uint64_t size, uint64_t align)
{
	uint64_t a = ALIGN_UP(s->win.lo, align);
	while (!s->full && a >= s->win.lo && a < s->win.hi &&
	       size <= s->win.hi - a) {
		bool clash = false;
		for (unsigned i = 0; i < s->nused; i++)
			if (a < s->used[i].hi && s->used[i].lo < a + size) {
				a = ALIGN_UP(s->used[i].hi, align);
				clash = true;
				break;
			}
		if (!clash)
			return a;
	}
	return 0;
}

static void bridge_need(struct pci_dev *b, int kind, uint64_t *size,
			uint64_t *align, unsigned depth);

/* The items of one kind on `bus` that need an address, largest first. */
static unsigned collect(unsigned bus, int kind, struct item *it, unsigned depth)
{
	unsigned n = 0;
	for (unsigned i = 0; i < ndevs && n < MAX_ITEMS; i++) {
		struct pci_dev *d = &devs[i];
		if (d->bus != bus)
			continue;
		for (unsigned j = 0; j < PCI_MAX_BARS && n < MAX_ITEMS; j++) {
			struct pci_bar *b = &d->bar[j];
			if (!bar_is(b, kind) || bar_placed(d, b))
				continue;
			it[n++] = (struct item){d, (int)j, b->size, b->size};
		}
		if (d->header == 1 && bridge_numbered(d) &&
		    !res_of(d)->ok[kind] && n < MAX_ITEMS) {
			uint64_t size, align;
			bridge_need(d, kind, &size, &align, depth);
			if (size)
				it[n++] = (struct item){d, -1, size, align};
		}
	}
	for (unsigned i = 1; i < n; i++) /* insertion sort: few items */
		for (unsigned j = i;
		     j > 0 && (it[j].align > it[j - 1].align ||
			       (it[j].align == it[j - 1].align &&
				it[j].size > it[j - 1].size));
		     j--) {
			struct item t = it[j];
			it[j] = it[j - 1];
			it[j - 1] = t;
		}
	return n;
}

/* What an unconfigured bridge's window must hold: a dry run of the layout
 * of its bus from offset 0. */
static void bridge_need(struct pci_dev *b, int kind, uint64_t *size,
			uint64_t *align, unsigned depth)
{
	uint64_t gran = kind == RES_MEM ? MEM_GRAN : IO_GRAN;
	*size = 0;
	*align = gran;
	struct item *it = depth < MAX_DEPTH ? kmalloc(MAX_ITEMS * sizeof *it)
					    : NULL;
	if (!it) {
		printk(KERN_WARN
		       "shoal: pci %02x:%02x.%u: bridges nested too deep; nothing assigned behind\n",
		       b->bus, b->slot, b->fn);
		return;
	}
	unsigned n = collect(b->sec_bus, kind, it, depth + 1);
	uint64_t end = 0;
	for (unsigned i = 0; i < n; i++) {
		end = ALIGN_UP(end, it[i].align) + it[i].size;
		if (it[i].align > *align)
			*align = it[i].align;
	}
	kfree(it);
	*size = ALIGN_UP(end, gran);
}

static void program_bridge(struct pci_dev *b, int kind, uint64_t lo,
			   uint64_t size)
{
	uint64_t last = lo + size - 1;
	if (kind == RES_MEM) {
		pci_cfg_write16(b, CFG_MEM_BASE,
				(uint16_t)((lo >> 16) & 0xFFF0));
		pci_cfg_write16(b, CFG_MEM_LIMIT,
				(uint16_t)((last >> 16) & 0xFFF0));
		/* Prefetchable window off (base above limit) unless the
		 * firmware's is in use. */
		if (!res_of(b)->pref_ok) {
			pci_cfg_write16(b, CFG_PREF_BASE, 0xFFF0);
			pci_cfg_write16(b, CFG_PREF_LIMIT, 0x0000);
			pci_cfg_write32(b, CFG_PREF_BASE_HI, 0);
			pci_cfg_write32(b, CFG_PREF_LIMIT_HI, 0);
		}
	} else {
		pci_cfg_write8(b, CFG_IO_BASE, (uint8_t)((lo >> 8) & 0xF0));
		pci_cfg_write8(b, CFG_IO_LIMIT, (uint8_t)((last >> 8) & 0xF0));
		pci_cfg_write16(b, CFG_IO_BASE_HI, 0);
		pci_cfg_write16(b, CFG_IO_LIMIT_HI, 0);
	}
	struct bridge_res *r = res_of(b);
	r->ok[kind] = true;
	r->win[kind] = (struct range){lo, lo + size};
}

static void program_bar(struct pci_dev *d, unsigned i, uint64_t addr)
{
	struct pci_bar *b = &d->bar[i];
	uint16_t cmd = pci_cfg_read16(d, CFG_COMMAND);
	pci_cfg_write16(d, CFG_COMMAND, cmd & ~(CMD_IO | CMD_MEMORY));
	uint32_t low = pci_cfg_read32(d, CFG_BAR0 + 4 * i);
	pci_cfg_write32(d, CFG_BAR0 + 4 * i,
			(uint32_t)addr |
				(low & (b->flags & PCI_BAR_IO ? 3 : 0xF)));
	if (b->flags & PCI_BAR_MEM64)
		pci_cfg_write32(d, CFG_BAR0 + 4 * i + 4,
				(uint32_t)(addr >> 32));
	pci_cfg_write16(d, CFG_COMMAND, cmd);
	b->base = addr;
	b->flags &= ~PCI_BAR_UNASSIGNED;
	d->assigned = true;
}

/* Give addresses on `bus` (window w), then recurse into its bridges. */
static void assign_bus(unsigned bus, int kind, const struct range *w,
		       unsigned depth)
{
	struct space *s = depth < MAX_DEPTH ? kmalloc(sizeof *s) : NULL;
	struct item *it = s ? kmalloc(MAX_ITEMS * sizeof *it) : NULL;
	if (!it) {
		kfree(s);
		return; /* what is left unplaced is marked by the caller */
	}
	s->win = *w;
	s->nused = 0;
	s->full = false;
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		if (d->bus != bus)
			continue;
		for (unsigned j = 0; j < PCI_MAX_BARS; j++) {
			struct pci_bar *b = &d->bar[j];
			if (bar_is(b, kind) && bar_placed(d, b))
				space_use(s, b->base, b->size);
		}
		if (d->header == 1 && res_of(d)->ok[kind])
			space_use(s, res_of(d)->win[kind].lo,
				  res_of(d)->win[kind].hi -
					  res_of(d)->win[kind].lo);
		if (d->header == 1 && kind == RES_MEM && res_of(d)->pref_ok)
			space_use(s, res_of(d)->pref.lo,
				  res_of(d)->pref.hi - res_of(d)->pref.lo);
	}
	unsigned n = collect(bus, kind, it, depth);
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = space_fit(s, it[i].size, it[i].align);
		struct pci_dev *d = it[i].dev;
		if (!a) {
			printk(KERN_WARN
			       "shoal: pci %02x:%02x.%u: no room for %s %#lx bytes; left unassigned\n",
			       d->bus, d->slot, d->fn,
			       it[i].bar < 0 ? "a bridge window of"
					     : "a BAR of",
			       (unsigned long)it[i].size);
			if (it[i].bar >= 0)
				d->bar[it[i].bar].flags |= PCI_BAR_UNASSIGNED;
			continue;
		}
		space_use(s, a, it[i].size);
		if (it[i].bar < 0)
			program_bridge(d, kind, a, it[i].size);
		else
			program_bar(d, (unsigned)it[i].bar, a);
	}
	kfree(it);
	kfree(s);
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		if (d->bus == bus && d->header == 1 && bridge_numbered(d) &&
		    res_of(d)->ok[kind])
			assign_bus(d->sec_bus, kind, &res_of(d)->win[kind],
				   depth + 1);
	}
	/* BARs still unplaced (their bridge got no window) are unusable. */
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		if (d->bus != bus)
			continue;
		for (unsigned j = 0; j < PCI_MAX_BARS; j++) {
			struct pci_bar *b = &d->bar[j];
			if (bar_is(b, kind) && !bar_placed(d, b))
				b->flags |= PCI_BAR_UNASSIGNED;
		}
	}
}

static void assign_resources(void)
{
	check_bridges();
	static const struct range root[2] = {
		[RES_MEM] = {PCI_MEM_BASE, PCI_MEM_END},
		[RES_IO] = {PCI_IO_BASE, PCI_IO_END},
	};
	for (unsigned bus = 0; bus < 256; bus++) {
		/* A root bus: probed, and not behind any bridge. */
		bool rootbus = false, behind = false;
		for (unsigned i = 0; i < ndevs; i++) {
			rootbus |= devs[i].bus == bus && !devs[i].parent;
			behind |= devs[i].bus == bus && devs[i].parent;
		}
		if (!rootbus || behind)
			continue;
		for (int k = RES_MEM; k <= RES_IO; k++)
			assign_bus(bus, k, &root[k], 0);
	}
}

/* ------------------------------------------------------------ enabling */

void pci_enable(struct pci_dev *d)
{
	for (struct pci_dev *p = d->parent; p; p = p->parent) {
		uint16_t cmd = pci_cfg_read16(p, CFG_COMMAND);
		uint16_t want = cmd | CMD_MEMORY | CMD_IO | CMD_MASTER;
		if (want != cmd)
			pci_cfg_write16(p, CFG_COMMAND, want);
	}
	uint16_t cmd = pci_cfg_read16(d, CFG_COMMAND) | CMD_MASTER;
	for (unsigned i = 0; i < PCI_MAX_BARS; i++) {
		const struct pci_bar *b = &d->bar[i];
		if (!b->size || (b->flags & PCI_BAR_UNASSIGNED))
			continue;
		cmd |= b->flags & PCI_BAR_IO ? CMD_IO : CMD_MEMORY;
	}
	pci_cfg_write16(d, CFG_COMMAND, cmd);
}

void *pci_map_bar(struct pci_dev *d, unsigned bar, uint64_t off, uint64_t len)
{
	const struct pci_bar *b = bar < PCI_MAX_BARS ? &d->bar[bar] : NULL;
	if (!b || !b->size || (b->flags & (PCI_BAR_IO | PCI_BAR_UNASSIGNED)) ||
	    len == 0 || off > b->size || len > b->size - off) {
		printk(KERN_WARN
		       "shoal: pci %02x:%02x.%u: cannot map BAR%u [%#lx+%#lx]\n",
		       d->bus, d->slot, d->fn, bar, (unsigned long)off,
		       (unsigned long)len);
		return NULL;
	}
	return vm_map_mmio(b->base + off, len);
}

/* ------------------------------------------------------------ interrupts */

const char *pci_irq_mode_name(enum pci_irq_mode m)
{
	switch (m) {
	case PCI_IRQ_INTX:
		return "INTx";
	case PCI_IRQ_MSI:
		return "MSI";
	case PCI_IRQ_MSIX:
		return "MSI-X";
	default:
		return "none";
	}
}

/* Every message-signalled vector enters here, then the driver's handler. */
static void msi_entry(void *arg)
{
	struct pci_irq_src *s = arg;
	if (s->fn)
		s->fn(s->arg);
}

static void msi_message(unsigned vector, uint32_t *addr, uint32_t *data)
{
	*addr = MSI_ADDR_BASE | (lapic_id() & 0xFF) << 12; /* physical mode */
	*data = vector & 0xFF; /* fixed delivery, edge */
}

static int alloc_vectors(struct pci_dev *d, unsigned n)
{
	unsigned got = 0;
	for (; got < n; got++) {
		int v = irq_alloc_msi_vector(msi_entry, &d->irq[got], d->owner);
		if (v < 0)
			break;
		d->irq[got].vector = v;
	}
	return (int)got;
}

static void free_vectors(struct pci_dev *d)
{
	for (unsigned i = 0; i < PCI_MAX_IRQS; i++) {
		if (d->irq[i].vector >= 0)
			irq_free_msi_vector((unsigned)d->irq[i].vector);
		d->irq[i] = (struct pci_irq_src){.vector = -1};
	}
}

static volatile uint32_t *msix_entry(struct pci_dev *d, unsigned i)
{
	return d->msix_table + i * (MSIX_ENTRY_SIZE / 4);
}

static int setup_msix(struct pci_dev *d, unsigned want)
{
	unsigned cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
	if (!cap)
		return -ENODEV;
	uint16_t ctrl = pci_cfg_read16(d, cap + MSIX_CTRL);
	unsigned tsize = (ctrl & MSIX_CTRL_SIZE_MASK) + 1;
	uint32_t tab = pci_cfg_read32(d, cap + MSIX_TABLE);
	unsigned bir = tab & 7;
	if (bir >= PCI_MAX_BARS)
		return -ENODEV;
	pci_enable(d); /* the table is in a BAR; messages are DMA writes */
	volatile uint32_t *t = pci_map_bar(d, bir, tab & ~7u,
					   (uint64_t)tsize * MSIX_ENTRY_SIZE);
	if (!t)
		return -ENODEV;
	d->msix_table = t;
	unsigned n = MIN(MIN(want, tsize), (unsigned)PCI_MAX_IRQS);
	int got = alloc_vectors(d, n);
	if (got <= 0)
		return got < 0 ? got : -EBUSY;
	/* Enabled with the function masked while the table is written. */
	pci_cfg_write16(d, cap + MSIX_CTRL,
			(ctrl & ~MSIX_CTRL_SIZE_MASK) | MSIX_CTRL_ENABLE |
				MSIX_CTRL_FMASK);
	for (unsigned i = 0; i < tsize; i++) {
		volatile uint32_t *e = msix_entry(d, i);
		e[3] |= MSIX_VCTRL_MASKED;
		if (i >= (unsigned)got)
			continue;
		uint32_t addr, data;
		msi_message((unsigned)d->irq[i].vector, &addr, &data);
		e[0] = addr;
		e[1] = 0;
		e[2] = data;
	}
	pci_cfg_write16(d, CFG_COMMAND,
			pci_cfg_read16(d, CFG_COMMAND) | CMD_INTX_DISABLE);
	pci_cfg_write16(d, cap + MSIX_CTRL,
			(ctrl & ~(MSIX_CTRL_SIZE_MASK | MSIX_CTRL_FMASK)) |
				MSIX_CTRL_ENABLE);
	d->irq_mode = PCI_IRQ_MSIX;
	return got;
}

static int setup_msi(struct pci_dev *d)
{
	unsigned cap = pci_find_cap(d, PCI_CAP_MSI, 0);
	if (!cap)
		return -ENODEV;
	int got = alloc_vectors(d, 1);
	if (got <= 0)
		return -EBUSY;
	pci_enable(d); /* messages are DMA writes: bus mastering */
	uint16_t ctrl = pci_cfg_read16(d, cap + MSI_CTRL);
	uint32_t addr, data;
	msi_message((unsigned)d->irq[0].vector, &addr, &data);
	pci_cfg_write32(d, cap + MSI_ADDR_LO, addr);
	if (ctrl & MSI_CTRL_64BIT) {
		pci_cfg_write32(d, cap + MSI_ADDR_HI, 0);
		pci_cfg_write16(d, cap + MSI_DATA_64, (uint16_t)data);
	} else {
		pci_cfg_write16(d, cap + MSI_DATA_32, (uint16_t)data);
	}
	pci_cfg_write16(d, CFG_COMMAND,
			pci_cfg_read16(d, CFG_COMMAND) | CMD_INTX_DISABLE);
	pci_cfg_write16(d, cap + MSI_CTRL,
			(ctrl & ~MSI_CTRL_MME_MASK) | MSI_CTRL_ENABLE);
	d->irq_mode = PCI_IRQ_MSI;
	return 1;
}

static int setup_intx(struct pci_dev *d)
{
	/* Line 0 is the timer and 0xFF "unknown": neither is a routing. */
	if (!d->irq_pin || d->irq_line == 0 || d->irq_line == 0xFF)
		return -ENODEV;
	pci_cfg_write16(d, CFG_COMMAND,
			pci_cfg_read16(d, CFG_COMMAND) & ~CMD_INTX_DISABLE);
	d->irq_mode = PCI_IRQ_INTX;
	return 1;
}

int pci_irq_alloc(struct pci_dev *d, unsigned want, unsigned allowed,
		  const char *owner)
{
	if (d->irq_mode != PCI_IRQ_NONE)
		return -EBUSY;
	if (want == 0)
		return -EINVAL;
	snprintf(d->owner, sizeof d->owner, "%s", owner ? owner : "?");
	int rc = -ENODEV;
	if (allowed & PCI_IRQ_ALLOW_MSIX) {
		rc = setup_msix(d, want);
		if (rc < 0)
			free_vectors(d);
	}
	if (rc < 0 && (allowed & PCI_IRQ_ALLOW_MSI)) {
		rc = setup_msi(d);
		if (rc < 0)
			free_vectors(d);
	}
	if (rc < 0 && (allowed & PCI_IRQ_ALLOW_INTX))
		rc = setup_intx(d);
	if (rc > 0)
		d->nirq = (unsigned)rc;
	return rc;
}

int pci_irq_set_handler(struct pci_dev *d, unsigned src, irq_handler_t fn,
			void *arg)
{
	if (src >= d->nirq || !fn || d->irq[src].fn)
		return -EINVAL;
	if (d->irq_mode == PCI_IRQ_INTX) {
		int rc = irq_register(d->irq_line, fn, arg);
		if (rc < 0)
			return rc;
		d->irq[src].fn = fn;
		d->irq[src].arg = arg;
		return 0;
	}
	unsigned long f = irq_save();
	d->irq[src].arg = arg;
	d->irq[src].fn = fn;
	irq_restore(f);
	if (d->irq_mode == PCI_IRQ_MSIX)
		msix_entry(d, src)[3] &= ~MSIX_VCTRL_MASKED;
	return 0;
}

void pci_irq_free(struct pci_dev *d)
{
	unsigned cap;
	switch (d->irq_mode) {
	case PCI_IRQ_MSIX:
		cap = pci_find_cap(d, PCI_CAP_MSIX, 0);
		for (unsigned i = 0; i < d->nirq; i++)
			msix_entry(d, i)[3] |= MSIX_VCTRL_MASKED;
		pci_cfg_write16(d, cap + MSIX_CTRL,
				pci_cfg_read16(d, cap + MSIX_CTRL) &
					~MSIX_CTRL_ENABLE);
		break;
	case PCI_IRQ_MSI:
		cap = pci_find_cap(d, PCI_CAP_MSI, 0);
		pci_cfg_write16(d, cap + MSI_CTRL,
				pci_cfg_read16(d, cap + MSI_CTRL) &
					~MSI_CTRL_ENABLE);
		break;
	case PCI_IRQ_INTX:
		if (d->irq[0].fn)
			irq_unregister(d->irq_line, d->irq[0].fn,
				       d->irq[0].arg);
		d->irq[0] = (struct pci_irq_src){.vector = -1};
		break;
	default:
		break;
	}
	free_vectors(d);
	d->irq_mode = PCI_IRQ_NONE;
	d->nirq = 0;
	d->msix_table = NULL;
}

/* ------------------------------------------------------------ listing */

static const char *class_name(const struct pci_dev *d)
{
	static const struct {
		uint8_t class, subclass;
		const char *name;
	} names[] = {
		{0x01, 0x00, "SCSI storage"}, {0x01, 0x01, "IDE"},
		{0x01, 0x06, "SATA"},	      {0x01, 0x08, "NVMe"},
		{0x02, 0x00, "Ethernet"},     {0x03, 0x00, "VGA"},
		{0x06, 0x00, "host bridge"},  {0x06, 0x01, "ISA bridge"},
		{0x06, 0x04, "PCI bridge"},   {0x06, 0x80, "bridge"},
		{0x0C, 0x03, "USB"},	      {0x00, 0xFF, NULL},
	};
	for (unsigned i = 0; names[i].name; i++)
		if (names[i].class == d->class &&
		    names[i].subclass == d->subclass)
			return names[i].name;
	static const char *const classes[] = {
		"unclassified", "storage",  "network", "display",
		"multimedia",	"memory",   "bridge",  "communication",
		"system",	"input",    "docking", "processor",
		"serial bus",	"wireless",
	};
	return d->class < ARRAY_SIZE(classes) ? classes[d->class] : "other";
}

static const char *size_str(uint64_t size, char *buf, size_t len)
{
	if (size >= (1ULL << 30) && !(size & ((1ULL << 30) - 1)))
		snprintf(buf, len, "%luG", (unsigned long)(size >> 30));
	else if (size >= (1ULL << 20) && !(size & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%luM", (unsigned long)(size >> 20));
	else if (size >= (1ULL << 10) && !(size & ((1ULL << 10) - 1)))
		snprintf(buf, len, "%luK", (unsigned long)(size >> 10));
	else
		snprintf(buf, len, "%lu", (unsigned long)size);
	return buf;
}

int pci_format_dev(const struct pci_dev *d, char *buf, size_t size)
{
	size_t n = 0;
	char sz[16];
	EMIT("%02x:%02x.%u %04x:%04x %02x%02x%02x %s", d->bus, d->slot, d->fn,
	     d->vendor, d->device, d->class, d->subclass, d->progif,
	     class_name(d));
	if (d->header == 1)
		EMIT(" [bus %02x-%02x]", d->sec_bus, d->sub_bus);
	for (unsigned i = 0; i < PCI_MAX_BARS; i++) {
		const struct pci_bar *b = &d->bar[i];
		if (!b->size)
			continue;
		EMIT(" bar%u %s%s%s", i,
		     b->flags & PCI_BAR_IO	? "io"
		     : b->flags & PCI_BAR_MEM64 ? "mem64"
						: "mem",
		     b->flags & PCI_BAR_PREFETCH ? "-pf" : "",
		     b->flags & PCI_BAR_UNASSIGNED ? "-unassigned" : "");
		if (!(b->flags & PCI_BAR_UNASSIGNED))
			EMIT(" %#lx", (unsigned long)b->base);
		EMIT("/%s", size_str(b->size, sz, sizeof sz));
	}
	if (d->irq_pin)
		EMIT(" INT%c", 'A' + d->irq_pin - 1);
	if (d->irq_pin && d->irq_line != 0xFF)
		EMIT("->%u", d->irq_line);
	if (pci_find_cap(d, PCI_CAP_MSIX, 0))
		EMIT(" msix");
	else if (pci_find_cap(d, PCI_CAP_MSI, 0))
		EMIT(" msi");
	if (d->irq_mode != PCI_IRQ_NONE) {
		EMIT(" [%s %s", d->owner, pci_irq_mode_name(d->irq_mode));
		if (d->irq_mode == PCI_IRQ_INTX)
			EMIT(" irq %u]", d->irq_line);
		else
			EMIT(" vec %d-%d]", d->irq[0].vector,
			     d->irq[d->nirq - 1].vector);
	}
	return (int)n;
}

int pci_format(char *buf, size_t size)
{
	size_t n = 0;
	char line[256];
	for (unsigned i = 0; i < ndevs; i++) {
		pci_format_dev(&devs[i], line, sizeof line);
		EMIT("%s\n", line);
	}
	return (int)n;
}

/* ------------------------------------------------------------ init */

void pci_init(void)
{
	/* Mechanism #1 is there if the address register keeps what we write. */
	unsigned long f = irq_save();
	outl(PCI_CONFIG_ADDR, 0x80000000u);
	bool present = inl(PCI_CONFIG_ADDR) == 0x80000000u;
	irq_restore(f);
	if (!present) {
		printk(KERN_WARN "shoal: pci: no configuration mechanism #1\n");
		return;
	}
	uint64_t t0 = time_ns();
	for (unsigned bus = 0; bus < 256; bus++)
		probe_bus(bus);
	link_parents();
	for (unsigned i = 0; i < ndevs; i++)
		if (devs[i].header == 1 && bridge_numbered(&devs[i]))
			bus_max = MAX(bus_max, devs[i].sub_bus);
	/* Root buses (nothing above them) first; bridges below, recursively. */
	unsigned nroot = ndevs;
	for (unsigned i = 0; i < nroot; i++) {
		unsigned bus = devs[i].bus;
		if (!devs[i].parent && !bus_walked[bus])
			number_bridges(bus, NULL, 0, false);
	}
	link_parents();
	assign_resources();

	char line[256];
	unsigned nassigned = 0;
	for (unsigned i = 0; i < ndevs; i++) {
		pci_format_dev(&devs[i], line, sizeof line);
		printk(KERN_INFO "shoal: pci %s\n", line);
		nassigned += devs[i].assigned;
	}
	printk("shoal: pci: %u functions, buses 0-%u, %u given addresses here, %lu us\n",
	       ndevs, bus_max, nassigned,
	       (unsigned long)((time_ns() - t0) / 1000));
	if (dropped)
		printk(KERN_WARN "shoal: pci: %u functions beyond %u ignored\n",
		       dropped, PCI_MAX_DEVS);
}
