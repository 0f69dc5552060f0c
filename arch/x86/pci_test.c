/*
 * pci_test.c — self-tests of PCI enumeration and MSI vectors (pci.c, irq.c):
 * the host bridge is found at 00:00.0, every BAR with an address is
 * aligned and overlaps no other, lookups and configuration reads agree, the
 * listing has a line per function, and a message-signalled vector reaches
 * its handler, is counted under its owner's name and is reused once freed.
 */
#include "arch/x86/pci.h"
#include "arch/x86/x86.h"
#include "kern/kern.h"

#define MS 1000000ULL

SELFTEST(pci_host_bridge)
{
	ST_ASSERT(pci_count() > 0);
	struct pci_dev *hb = pci_find_class(PCI_CLASS_BRIDGE,
					    PCI_SUBCLASS_HOST_BRIDGE, NULL);
	ST_ASSERT(hb);
	ST_ASSERT(hb->bus == 0 && hb->slot == 0 && hb->fn == 0);
	ST_ASSERT(hb->vendor != 0xFFFF && hb->vendor != 0);
	ST_ASSERT(pci_cfg_read16(hb, 0) == hb->vendor);
	ST_ASSERT(pci_cfg_read16(hb, 2) == hb->device);
	ST_ASSERT(pci_find(hb->vendor, hb->device, NULL) == hb ||
		  pci_find(hb->vendor, hb->device, NULL)->bus == 0);
	ST_ASSERT(pci_get(pci_count()) == NULL);
	ST_ASSERT(pci_find(0xFFFF - 1, 0x1234, NULL) == NULL);
	return 0;
}

static bool overlap(const struct pci_bar *a, const struct pci_bar *b)
{
	return a->base < b->base + b->size && b->base < a->base + a->size;
}

SELFTEST(pci_bars_sane)
{
	unsigned n = pci_count(), checked = 0;
	for (unsigned i = 0; i < n; i++) {
		struct pci_dev *d = pci_get(i);
		for (unsigned j = 0; j < PCI_MAX_BARS; j++) {
			const struct pci_bar *a = &d->bar[j];
			if (!a->size || (a->flags & PCI_BAR_UNASSIGNED))
				continue;
			checked++;
			ST_ASSERT(a->base != 0);
			ST_ASSERT((a->base & (a->size - 1)) == 0);
			/* What the function decodes is what we recorded. */
			uint32_t lo = pci_cfg_read32(d, 0x10 + 4 * j);
			ST_ASSERT(
				(lo & (a->flags & PCI_BAR_IO ? ~3u : ~0xFu)) ==
				(uint32_t)a->base);
			for (unsigned k = i; k < n; k++) {
				struct pci_dev *e = pci_get(k);
				for (unsigned m = k == i ? j + 1 : 0;
				     m < PCI_MAX_BARS; m++) {
					const struct pci_bar *b = &e->bar[m];
					if (!b->size ||
					    (b->flags & PCI_BAR_UNASSIGNED) ||
					    (a->flags & PCI_BAR_IO) !=
						    (b->flags & PCI_BAR_IO))
						continue;
					ST_ASSERT(!overlap(a, b));
				}
			}
		}
	}
	printk("# %u BARs with addresses, no overlaps\n", checked);
	return 0;
}

SELFTEST(pci_listing)
{
	static char buf[4096];
	int len = pci_format(buf, sizeof buf);
	ST_ASSERT(len > 0 && (size_t)len < sizeof buf);
	unsigned lines = 0;
	for (int i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ST_ASSERT(lines == pci_count());
	ST_ASSERT(!strncmp(buf, "00:00.0 ", 8));
	/* Truncation: the length wanted, a terminated prefix. */
	char small[16];
	ST_ASSERT(pci_format(small, sizeof small) == len);
	ST_ASSERT(strlen(small) == sizeof small - 1);
	return 0;
}

SELFTEST(pci_caps_walk)
{
	/* Every capability found is where the function's list says. */
	for (unsigned i = 0; i < pci_count(); i++) {
		struct pci_dev *d = pci_get(i);
		for (unsigned c = 0; c < d->ncaps; c++) {
			ST_ASSERT(d->cap_off[c] >= 0x40);
			ST_ASSERT(pci_cfg_read8(d, d->cap_off[c]) ==
				  d->cap_id[c]);
			ST_ASSERT(pci_find_cap(d, d->cap_id[c], 0) != 0);
		}
		ST_ASSERT(pci_find_cap(d, 0xEE, 0) == 0);
	}
	return 0;
}

static void count_handler(void *arg)
{
	(*(volatile unsigned *)arg)++;
}

static bool find_msi_stat(unsigned vec, struct irq_stat *out)
{
	static struct irq_stat st[64];
	unsigned n = irq_stats(st, ARRAY_SIZE(st));
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(st); i++)
		if (st[i].vector == vec && !strcmp(st[i].name, "PCI-MSI")) {
			*out = st[i];
			return true;
		}
	return false;
}

SELFTEST(pci_msi_vector)
{
	static volatile unsigned hits;
	hits = 0;
	ST_ASSERT(irq_alloc_msi_vector(NULL, NULL, "x") == -EINVAL);
	int v = irq_alloc_msi_vector(count_handler, (void *)&hits, "msitest");
	ST_ASSERT(v >= VEC_IRQ_BASE && v < VEC_LAPIC_TIMER);
	/* What a device's message does: a fixed, edge interrupt at v. */
	lapic_self_ipi((unsigned)v);
	uint64_t t0 = time_ns();
	while (!hits && time_ns() - t0 < 50 * MS)
		cpu_relax();
	ST_ASSERT(hits == 1);
	ST_ASSERT(!lapic_in_service((unsigned)v)); /* EOI sent */
	struct irq_stat st;
	ST_ASSERT(find_msi_stat((unsigned)v, &st));
	ST_ASSERT(st.count == 1 && !strcmp(st.owner, "msitest"));
	irq_free_msi_vector((unsigned)v);
	ST_ASSERT(find_msi_stat((unsigned)v, &st));
	ST_ASSERT(!strcmp(st.owner, "(free)"));
	int v2 = irq_alloc_msi_vector(count_handler, (void *)&hits, "again");
	ST_ASSERT(v2 == v); /* freed vectors are reused first */
	irq_free_msi_vector((unsigned)v2);
	return 0;
}
