/*
 * e1000.c — Intel 82540EM (PCI 8086:100E; QEMU's "e1000") as a struct
 * netdev. Written from the PCI/PCI-X Family of Gigabit Ethernet
 * Controllers Software Developer's Manual (8254x), chapters 3 (receive and
 * transmit descriptors), 13 (registers) and 14 (initialization).
 *
 * Interface: net/net.h (e1000_probe).
 *
 * Setup (§14): global reset (CTRL.RST), all interrupts masked, link up
 * (CTRL.SLU with auto-speed), the multicast table cleared, the MAC from
 * receive address 0 (loaded from the EEPROM at reset; read through EERD
 * when that register is empty), then the legacy descriptor rings:
 *
 *   receive   RX_DESC descriptors, each owning a 2048-byte buffer; the
 *             device fills from RDH, we give back by moving RDT. The
 *             ring is full with RDT one behind RDH (one slot stays empty,
 *             so RDH == RDT means "nothing for the device", never "all").
 *             RCTL: broadcast accepted, CRC stripped, 2048-byte buffers,
 *             no long packets: a frame longer than one buffer is an error.
 *   transmit  TX_DESC descriptors with their own buffers; a frame is copied
 *             in, one descriptor with EOP|IFCS|RS, then TDT moves. Done
 *             descriptors (DD) are reclaimed lazily by the sender.
 *
 * Interrupts (INTx, possibly shared; the 82540EM has no MSI): the handler
 * reads ICR (which acknowledges), returns at once if it is zero (another
 * device), masks everything (IMC) and wakes the receive thread; the
 * thread's poll does the work and irq_on unmasks (IMS). Causes that
 * arrive while masked stay in ICR and interrupt as soon as IMS is set, so
 * nothing is lost between the last poll and the unmask.
 *
 * Checks: a descriptor's length of 0 or above the buffer, a frame without
 * EOP (the device split it: too long) and the error byte are receive
 * errors, counted, and the buffer goes back. RX overruns (ICR.RXO) count
 * in rx_fifo.
 *
 * Locking: tx_lock guards the transmit ring and TDT; the receive ring is
 * touched only by the receive thread (after setup).
 */
#include "arch/x86/arch.h"
#include "arch/x86/pci.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "net/net.h"
#include "vm/vm.h"

#define E1000_VENDOR 0x8086
#define E1000_82540EM 0x100E

/* Registers (§13.4). */
#define REG_CTRL 0x0000
#define REG_STATUS 0x0008
#define REG_EERD 0x0014
#define REG_ICR 0x00C0
#define REG_IMS 0x00D0
#define REG_IMC 0x00D8
#define REG_RCTL 0x0100
#define REG_TCTL 0x0400
#define REG_TIPG 0x0410
#define REG_RDBAL 0x2800
#define REG_RDBAH 0x2804
#define REG_RDLEN 0x2808
#define REG_RDH 0x2810
#define REG_RDT 0x2818
#define REG_RDTR 0x2820
#define REG_TDBAL 0x3800
#define REG_TDBAH 0x3804
#define REG_TDLEN 0x3808
#define REG_TDH 0x3810
#define REG_TDT 0x3818
#define REG_MTA 0x5200
#define REG_RAL0 0x5400
#define REG_RAH0 0x5404
#define REG_MPC 0x4010 /* missed packets (clear on read) */

#define CTRL_ASDE (1u << 5)
#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define STATUS_FD (1u << 0)
#define STATUS_LU (1u << 1)
#define EERD_START (1u << 0)
#define EERD_DONE (1u << 4)
#define RAH_AV (1u << 31)

#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15)
#define RCTL_SECRC (1u << 26)
/* BSIZE 00 with BSEX 0: 2048-byte buffers; LPE 0; RDMTS 1/2. */

#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define TCTL_CT(x) ((uint32_t)(x) << 4)
#define TCTL_COLD(x) ((uint32_t)(x) << 12)

#define ICR_TXDW (1u << 0)
#define ICR_LSC (1u << 2)
#define ICR_RXDMT0 (1u << 4)
#define ICR_RXO (1u << 6)
#define ICR_RXT0 (1u << 7)
#define IMS_USED (ICR_TXDW | ICR_LSC | ICR_RXDMT0 | ICR_RXO | ICR_RXT0)

#define RXD_DD (1u << 0)
#define RXD_EOP (1u << 1)
#define TXD_EOP (1u << 0)
#define TXD_IFCS (1u << 1)
#define TXD_RS (1u << 3)
#define TXD_DD (1u << 0)

#define RX_DESC 128 /* multiples of 8: the ring is a multiple of 128 bytes */
#define TX_DESC 64
#define BUF_SIZE 2048
#define RESET_WAIT_NS (100ULL * 1000000ULL)

struct rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};

struct tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};

struct e1000 {
	struct netdev nd;
	struct pci_dev *pci;
	volatile uint8_t *regs;
	volatile struct rx_desc *rxd;
	volatile struct tx_desc *txd;
	uint64_t rxd_pa, txd_pa;
	uint8_t *rxbuf[RX_DESC], *txbuf[TX_DESC];
	uint64_t rxbuf_pa[RX_DESC], txbuf_pa[TX_DESC];
	unsigned rx_next; /* next descriptor the device completes */
	struct spinlock tx_lock; /* everything tx below, and TDT */
	unsigned tx_tail, tx_clean, tx_used; /* ring [clean, tail) in flight */
	struct waitq txwq;
	uint32_t icr_seen; /* causes seen by the handler (debug) */
	uint64_t link_changes;
};

static struct e1000 *e1000s[2];
static unsigned ne1000;

static uint32_t rd(struct e1000 *e, unsigned reg)
{
	return *(volatile uint32_t *)(e->regs + reg);
}

static void wr(struct e1000 *e, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(e->regs + reg) = v;
}

#define barrier() __asm__ volatile("" : : : "memory")

/* ------------------------------------------------------------ receive */

static void give_rx(struct e1000 *e, unsigned i)
{
	e->rxd[i].addr = e->rxbuf_pa[i];
	e->rxd[i].length = 0;
	e->rxd[i].status = 0;
	e->rxd[i].errors = 0;
}

static unsigned e1000_poll(struct netdev *nd, unsigned budget)
{
	struct e1000 *e = nd->priv;
	unsigned n = 0;
	while (n < budget) {
		unsigned i = e->rx_next;
		volatile struct rx_desc *d = &e->rxd[i];
		uint8_t status = d->status;
		if (!(status & RXD_DD))
			break;
		barrier(); /* the status before the rest of the descriptor */
		uint16_t len = d->length;
		uint8_t errors = d->errors;
		if (!(status & RXD_EOP) || errors || len == 0 || len > BUF_SIZE)
			netdev_count_add(&nd->st.rx_errors, 1);
		else
			netdev_rx(nd, e->rxbuf[i], len);
		give_rx(e, i);
		barrier();
		wr(e, REG_RDT,
		   i); /* the slot before i goes back to the device */
		e->rx_next = (i + 1) % RX_DESC;
		n++;
	}
	uint32_t missed = rd(e, REG_MPC);
	if (missed)
		netdev_count_add(&nd->st.rx_fifo, missed);
	return n;
}

static void e1000_irq_on(struct netdev *nd)
{
	struct e1000 *e = nd->priv;
	if (!nd->polled) /* no handler: the line must stay quiet */
		wr(e, REG_IMS, IMS_USED);
}

static void e1000_irq(void *arg)
{
	struct e1000 *e = arg;
	uint32_t icr = rd(e, REG_ICR);
	if (!icr)
		return; /* not ours: the line is shared */
	e->icr_seen |= icr;
	e->nd.st.interrupts++;
	wr(e, REG_IMC, ~0u);
	if (icr & ICR_TXDW)
		waitq_wakeup_all(&e->txwq);
	if (icr & ICR_LSC)
		e->link_changes++;
	netdev_schedule(&e->nd);
}

static void e1000_link(struct netdev *nd)
{
	struct e1000 *e = nd->priv;
	nd->link_up = rd(e, REG_STATUS) & STATUS_LU;
}

/* ------------------------------------------------------------ transmit */

/* Reclaim sent descriptors. Caller holds tx_lock. */
static void tx_clean(struct e1000 *e)
{
	while (e->tx_used && (e->txd[e->tx_clean].status & TXD_DD)) {
		e->tx_clean = (e->tx_clean + 1) % TX_DESC;
		e->tx_used--;
	}
}

static int e1000_xmit(struct netdev *nd, const void *frame, size_t len)
{
	struct e1000 *e = nd->priv;
	if (len > BUF_SIZE)
		return -EINVAL;
	bool may_sleep = netdev_may_sleep();
	spin_lock(&e->tx_lock);
	tx_clean(e);
	/* One slot stays empty: TDT == TDH means an empty ring. */
	if (e->tx_used >= TX_DESC - 1 && may_sleep) {
		netdev_count_add(&nd->st.tx_ring_waits, 1);
		uint64_t deadline = time_ns() + NETDEV_TX_WAIT_NS;
		while (e->tx_used >= TX_DESC - 1 && time_ns() < deadline) {
			waitq_sleep_intr(&e->txwq, &e->tx_lock, deadline);
			tx_clean(e);
		}
	}
	if (e->tx_used >= TX_DESC - 1) {
		spin_unlock(&e->tx_lock);
		return -ENOBUFS;
	}
	unsigned i = e->tx_tail;
	memcpy(e->txbuf[i], frame, len);
	volatile struct tx_desc *d = &e->txd[i];
	d->addr = e->txbuf_pa[i];
	d->length = (uint16_t)len;
	d->cso = 0;
	d->css = 0;
	d->special = 0;
	d->status = 0;
	d->cmd = TXD_EOP | TXD_IFCS | TXD_RS;
	e->tx_tail = (i + 1) % TX_DESC;
	e->tx_used++;
	barrier();
	wr(e, REG_TDT, e->tx_tail);
	spin_unlock(&e->tx_lock);
	return 0;
}

static int e1000_describe(struct netdev *nd, char *buf, size_t size)
{
	struct e1000 *e = nd->priv;
	uint32_t st = rd(e, REG_STATUS);
	static const unsigned speeds[4] = {10, 100, 1000, 1000};
	return snprintf(
		buf, size,
		"e1000: %02x:%02x.%u irq %s speed %u %s-duplex rx_desc %u tx_desc %u tx_in_flight %u link_changes %lu",
		e->pci->bus, e->pci->slot, e->pci->fn,
		pci_irq_mode_name(e->pci->irq_mode), speeds[(st >> 6) & 3],
		st & STATUS_FD ? "full" : "half", RX_DESC, TX_DESC, e->tx_used,
		(unsigned long)e->link_changes);
}

static const struct netdev_ops e1000_ops = {
	.xmit = e1000_xmit,
	.poll = e1000_poll,
	.irq_on = e1000_irq_on,
	.link = e1000_link,
	.describe = e1000_describe,
};

/* ------------------------------------------------------------ setup */

static bool eeprom_read(struct e1000 *e, unsigned word, uint16_t *out)
{
	wr(e, REG_EERD, EERD_START | (uint32_t)word << 8);
	for (unsigned i = 0; i < 100000; i++) {
		uint32_t v = rd(e, REG_EERD);
		if (v & EERD_DONE) {
			*out = (uint16_t)(v >> 16);
			return true;
		}
		cpu_relax();
	}
	return false;
}

static int read_mac(struct e1000 *e)
{
	uint32_t lo = rd(e, REG_RAL0), hi = rd(e, REG_RAH0);
	uint8_t *m = e->nd.mac;
	if (hi & RAH_AV) {
		for (unsigned i = 0; i < 4; i++)
			m[i] = (uint8_t)(lo >> (8 * i));
		m[4] = (uint8_t)hi;
		m[5] = (uint8_t)(hi >> 8);
		return 0;
	}
	for (unsigned w = 0; w < 3; w++) {
		uint16_t v;
		if (!eeprom_read(e, w, &v))
			return -EIO;
		m[2 * w] = (uint8_t)v;
		m[2 * w + 1] = (uint8_t)(v >> 8);
	}
	wr(e, REG_RAL0, m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24);
	wr(e, REG_RAH0, m[4] | m[5] << 8 | RAH_AV);
	return 0;
}

/* Buffers of BUF_SIZE bytes, two per page. */
static int alloc_bufs(uint8_t **va, uint64_t *pa, unsigned n)
{
	for (unsigned i = 0; i < n; i += 2) {
		uint64_t p = pmm_alloc();
		if (!p)
			return -ENOMEM;
		memset(phys_to_virt(p), 0, PAGE_SIZE);
		for (unsigned k = 0; k < 2 && i + k < n; k++) {
			pa[i + k] = p + k * BUF_SIZE;
			va[i + k] = phys_to_virt(p + k * BUF_SIZE);
		}
	}
	return 0;
}

static int e1000_setup(struct e1000 *e, struct pci_dev *p)
{
	e->pci = p;
	if (p->bar[0].size < 0x20000 || (p->bar[0].flags & PCI_BAR_IO)) {
		printk(KERN_WARN "shoal: e1000: BAR0 unusable\n");
		return -ENODEV;
	}
	pci_enable(p);
	e->regs = pci_map_bar(p, 0, 0, 0x20000);
	if (!e->regs)
		return -ENODEV;

	wr(e, REG_IMC, ~0u);
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
	uint64_t start = time_ns();
	while (rd(e, REG_CTRL) & CTRL_RST) {
		if (time_ns() - start > RESET_WAIT_NS) {
			printk(KERN_WARN
			       "shoal: e1000: reset does not finish\n");
			return -EIO;
		}
		cpu_relax();
	}
	wr(e, REG_IMC, ~0u);
	(void)rd(e, REG_ICR);
	wr(e, REG_CTRL, (rd(e, REG_CTRL) | CTRL_SLU | CTRL_ASDE) & ~CTRL_RST);
	for (unsigned i = 0; i < 128; i++)
		wr(e, REG_MTA + 4 * i, 0);
	if (read_mac(e)) {
		printk(KERN_WARN "shoal: e1000: cannot read the MAC address\n");
		return -EIO;
	}

	/* Rings: one page each (128 x 16 and 64 x 16 bytes). */
	e->rxd_pa = pmm_alloc();
	e->txd_pa = pmm_alloc();
	if (!e->rxd_pa || !e->txd_pa ||
	    alloc_bufs(e->rxbuf, e->rxbuf_pa, RX_DESC) ||
	    alloc_bufs(e->txbuf, e->txbuf_pa, TX_DESC))
		return -ENOMEM;
	e->rxd = phys_to_virt(e->rxd_pa);
	e->txd = phys_to_virt(e->txd_pa);
	memset((void *)e->rxd, 0, PAGE_SIZE);
	memset((void *)e->txd, 0, PAGE_SIZE);
	for (unsigned i = 0; i < RX_DESC; i++)
		give_rx(e, i);

	wr(e, REG_RDBAL, (uint32_t)e->rxd_pa);
	wr(e, REG_RDBAH, (uint32_t)(e->rxd_pa >> 32));
	wr(e, REG_RDLEN, RX_DESC * sizeof(struct rx_desc));
	wr(e, REG_RDH, 0);
	wr(e, REG_RDT, RX_DESC - 1);
	wr(e, REG_RDTR, 0);
	e->rx_next = 0;

	wr(e, REG_TDBAL, (uint32_t)e->txd_pa);
	wr(e, REG_TDBAH, (uint32_t)(e->txd_pa >> 32));
	wr(e, REG_TDLEN, TX_DESC * sizeof(struct tx_desc));
	wr(e, REG_TDH, 0);
	wr(e, REG_TDT, 0);
	/* IEEE 802.3 values for copper (§13.4.34): IPGT 10, IPGR1 8,
	 * IPGR2 6. */
	wr(e, REG_TIPG, 10 | 8u << 10 | 6u << 20);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT(0x0F) | TCTL_COLD(0x40));

	spin_init(&e->tx_lock, "e1000-tx");
	waitq_init(&e->txwq);
	struct netdev *nd = &e->nd;
	nd->driver = "e1000";
	nd->ops = &e1000_ops;
	nd->priv = e;
	nd->mtu = 1500;

	int rc = pci_irq_alloc(p, 1, PCI_IRQ_ALLOW_ALL, "e1000");
	if (rc > 0)
		rc = pci_irq_set_handler(p, 0, e1000_irq, e);
	if (rc < 0) {
		printk(KERN_WARN "shoal: e1000: no interrupt (%d); polling\n",
		       rc);
		if (p->irq_mode != PCI_IRQ_NONE)
			pci_irq_free(p);
		nd->polled = true;
	}
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);
	e1000_link(nd);
	rc = netdev_register(nd);
	if (rc)
		return rc;
	if (!nd->polled)
		wr(e, REG_IMS, IMS_USED);
	return 0;
}

unsigned e1000_probe(void)
{
	unsigned found = 0;
	for (struct pci_dev *p = pci_find(E1000_VENDOR, E1000_82540EM, NULL); p;
	     p = pci_find(E1000_VENDOR, E1000_82540EM, p)) {
		if (p->irq_mode != PCI_IRQ_NONE)
			continue;
		if (ne1000 == 2)
			break;
		struct e1000 *e = kzalloc(sizeof *e);
		if (!e)
			break;
		int rc = e1000_setup(e, p);
		if (rc) {
			printk(KERN_WARN
			       "shoal: e1000 %02x:%02x.%u: not usable (%d)\n",
			       p->bus, p->slot, p->fn, rc);
			continue;
		}
		e1000s[ne1000++] = e;
		found++;
	}
	return found;
}
