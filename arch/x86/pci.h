/*
 * pci.h — PCI for device drivers (arch/x86/pci.c). Drivers in kern/, fs/ and
 * net/ include this beside arch.h: it is arch/x86's door for the audience
 * that drives PCI functions, the way arch.h is the door for everyone else.
 *
 *   pci_init        enumerate once at boot (after vm_init, interrupts on or
 *                   off): every bus, function and bridge; BARs sized, and
 *                   assigned where the firmware left them empty (qboot)
 *   pci_get/find_*  the table of functions found, read-only after pci_init
 *   pci_cfg_*       configuration space of one function
 *   pci_enable      memory/I-O decoding and bus mastering (and the bridges'
 *                   above it)
 *   pci_map_bar     map part of a memory BAR uncached
 *   pci_irq_*       interrupt sources: MSI-X (one vector per source), MSI
 *                   (one) or legacy INTx through the IOAPIC (one, shared)
 *   pci_format      the /proc/pci listing
 *
 * Everything read from a device is checked before use: a BAR too large for
 * its window, a capability list that loops, a missing MSI-X table are logged
 * and the feature is treated as absent.
 */
#ifndef ARCH_X86_PCI_H
#define ARCH_X86_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/arch.h"

#define PCI_ANY 0xFFFF /* wildcard for pci_find */
#define PCI_MAX_BARS 6
#define PCI_MAX_CAPS 16
#define PCI_MAX_IRQS 8 /* interrupt sources per function */

/* Capability IDs (PCI Local Bus 3.0, appendix H). */
#define PCI_CAP_MSI 0x05
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_PCIE 0x10
#define PCI_CAP_MSIX 0x11

/* Class codes used by drivers and the listing. */
#define PCI_CLASS_STORAGE 0x01
#define PCI_CLASS_NETWORK 0x02
#define PCI_CLASS_BRIDGE 0x06
#define PCI_SUBCLASS_HOST_BRIDGE 0x00
#define PCI_SUBCLASS_PCI_BRIDGE 0x04

enum {
	PCI_BAR_IO = 1 << 0, /* I/O ports (else memory) */
	PCI_BAR_MEM64 = 1 << 1, /* 64-bit memory BAR: uses the next slot too */
	PCI_BAR_PREFETCH = 1 << 2,
	PCI_BAR_UNASSIGNED = 1 << 3, /* no address could be given: unusable */
};

struct pci_bar {
	uint64_t base; /* bus address (= physical on a PC) */
	uint64_t size; /* 0: no BAR in this slot */
	unsigned flags; /* PCI_BAR_* */
};

enum pci_irq_mode { PCI_IRQ_NONE, PCI_IRQ_INTX, PCI_IRQ_MSI, PCI_IRQ_MSIX };
/* Modes a driver accepts, for pci_irq_alloc. */
#define PCI_IRQ_ALLOW_INTX (1u << PCI_IRQ_INTX)
#define PCI_IRQ_ALLOW_MSI (1u << PCI_IRQ_MSI)
#define PCI_IRQ_ALLOW_MSIX (1u << PCI_IRQ_MSIX)
#define PCI_IRQ_ALLOW_ALL \
	(PCI_IRQ_ALLOW_INTX | PCI_IRQ_ALLOW_MSI | PCI_IRQ_ALLOW_MSIX)

struct pci_irq_src {
	irq_handler_t fn; /* NULL until pci_irq_set_handler */
	void *arg;
	int vector; /* MSI/MSI-X; -1 otherwise */
};

/*
 * One PCI function. The fields up to `bar` are read-only after pci_init;
 * the rest is private to pci.c (drivers use the functions below).
 */
struct pci_dev {
	uint8_t bus, slot, fn;
	uint8_t header; /* 0 device, 1 PCI-PCI bridge, 2 CardBus */
	uint16_t vendor, device, subvendor, subdevice;
	uint8_t class, subclass, progif, revision;
	uint8_t irq_pin; /* 1..4 = INTA#..INTD#, 0 none */
	uint8_t irq_line; /* firmware's routing (ISA IRQ / GSI), 0xFF none */
	uint8_t sec_bus, sub_bus; /* bridges: the buses behind */
	struct pci_bar bar[PCI_MAX_BARS];

	struct pci_dev *parent; /* bridge above, NULL on a root bus */
	uint8_t ncaps;
	uint8_t cap_id[PCI_MAX_CAPS], cap_off[PCI_MAX_CAPS];
	bool assigned; /* some BAR was given an address by us */
	enum pci_irq_mode irq_mode;
	unsigned nirq;
	struct pci_irq_src irq[PCI_MAX_IRQS];
	volatile uint32_t *msix_table; /* mapped, nirq entries used */
	char owner[16]; /* driver name, for the listing and irq stats */
};

/* Enumerate and assign resources; prints one line per function. */
void pci_init(void);

unsigned pci_count(void);
struct pci_dev *pci_get(unsigned index); /* NULL past the end */
/* The next function after `from` (NULL: the first) matching the IDs;
 * PCI_ANY matches anything. */
struct pci_dev *pci_find(uint16_t vendor, uint16_t device,
			 struct pci_dev *from);
/* Class and subclass; -1 matches anything. */
struct pci_dev *pci_find_class(int class, int subclass, struct pci_dev *from);

/* Configuration space; off must be aligned to the access size, < 256. */
uint8_t pci_cfg_read8(const struct pci_dev *d, unsigned off);
uint16_t pci_cfg_read16(const struct pci_dev *d, unsigned off);
uint32_t pci_cfg_read32(const struct pci_dev *d, unsigned off);
void pci_cfg_write8(const struct pci_dev *d, unsigned off, uint8_t v);
void pci_cfg_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_cfg_write32(const struct pci_dev *d, unsigned off, uint32_t v);

/*
 * Offset of the first capability with this ID after offset `after` (0: from
 * the start), or 0 if there is none. Several vendor capabilities (virtio)
 * are walked by passing the previous result.
 */
unsigned pci_find_cap(const struct pci_dev *d, unsigned id, unsigned after);

/* Turn on decoding of the assigned BARs and bus mastering (DMA), here and
 * on every bridge above. */
void pci_enable(struct pci_dev *d);
/*
 * Map [off, off + len) of memory BAR `bar` uncached; NULL (logged) when the
 * BAR is absent, I/O, unassigned or too small.
 */
void *pci_map_bar(struct pci_dev *d, unsigned bar, uint64_t off, uint64_t len);

/*
 * Interrupts. pci_irq_alloc picks the best allowed mode (MSI-X, then MSI,
 * then INTx) and returns the number of sources given (1..want) or -ENODEV
 * / -ENOSPC / -EBUSY; `owner` names the driver in the listing and the
 * interrupt statistics. MSI-X gives one vector per source (entry i of the
 * device's table is source i); MSI and INTx give one source. Sources stay
 * masked until a handler is set; handlers run in interrupt context. An INTx
 * line may be shared: its handler must check that its device interrupted.
 */
int pci_irq_alloc(struct pci_dev *d, unsigned want, unsigned allowed,
		  const char *owner);
int pci_irq_set_handler(struct pci_dev *d, unsigned src, irq_handler_t fn,
			void *arg);
void pci_irq_free(struct pci_dev *d);
const char *pci_irq_mode_name(enum pci_irq_mode m);

/* /proc/pci: one line per function; returns the length snprintf wanted. */
int pci_format(char *buf, size_t size);
/* One function's line (no newline), as printed at boot. */
int pci_format_dev(const struct pci_dev *d, char *buf, size_t size);

#endif
