/*
 * virtio.c — virtio 1.x over PCI (modern transport) and split virtqueues.
 *
 * Interface and rules: kern/virtio.h. References: the virtio 1.1
 * specification, §2.6 (split virtqueues), §3.1 (device initialization),
 * §4.1 (virtio over PCI).
 *
 * Ring memory: one physically contiguous, zeroed run of pages per queue
 * (pmm_alloc_contig): the descriptor table at offset 0, the available ring
 * right after it, the used ring at the next page boundary. The free list
 * and each chain's order live in driver-private arrays (next_free), never
 * in memory the device can write, so a device scribbling on the rings
 * cannot corrupt our bookkeeping.
 *
 * Ordering: x86 keeps stores in order and loads in order, so a compiler
 * barrier is enough between filling descriptors and publishing avail->idx,
 * and between reading used->idx and the used elements; the notify write is
 * uncached MMIO, which follows earlier stores. Each `volatile` access below
 * is one access of the named width.
 */
#include "kern/virtio.h"
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"

/* virtio_pci_cap (§4.1.4). */
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16
enum {
	CFG_COMMON = 1,
	CFG_NOTIFY = 2,
	CFG_ISR = 3,
	CFG_DEVICE = 4,
};

/* virtio_pci_common_cfg (§4.1.4.3). */
#define CC_DFSELECT 0
#define CC_DF 4
#define CC_GFSELECT 8
#define CC_GF 12
#define CC_MSIX_CONFIG 16
#define CC_NUM_QUEUES 18
#define CC_STATUS 20
#define CC_GENERATION 21
#define CC_Q_SELECT 22
#define CC_Q_SIZE 24
#define CC_Q_MSIX 26
#define CC_Q_ENABLE 28
#define CC_Q_NOTIFY_OFF 30
#define CC_Q_DESC 32
#define CC_Q_DRIVER 40
#define CC_Q_DEVICE 48
#define CC_LEN 56

/* Device status (§2.1). */
#define ST_ACKNOWLEDGE 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 64
#define ST_FAILED 128

#define NO_VECTOR 0xFFFF
#define ISR_QUEUE 1
#define ISR_CONFIG 2

#define barrier() __asm__ volatile("" : : : "memory")

/* ------------------------------------------------------------ MMIO */

static uint8_t rd8(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint8_t *)(b + off);
}
static uint16_t rd16(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint16_t *)(b + off);
}
static uint32_t rd32(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint32_t *)(b + off);
}
static void wr8(volatile uint8_t *b, unsigned off, uint8_t v)
{
	*(volatile uint8_t *)(b + off) = v;
}
static void wr16(volatile uint8_t *b, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(b + off) = v;
}
static void wr32(volatile uint8_t *b, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(b + off) = v;
}
/* 64-bit fields as two 32-bit writes, low first (§4.1.3.1). */
static void wr64(volatile uint8_t *b, unsigned off, uint64_t v)
{
	wr32(b, off, (uint32_t)v);
	wr32(b, off + 4, (uint32_t)(v >> 32));
}

uint64_t virtio_dma_addr(const void *buf, size_t len)
{
	uintptr_t va = (uintptr_t)buf;
	if (va + len < va)
		return 0;
	if (va >= (uintptr_t)_kernel_start &&
	    va + len <= (uintptr_t)_kernel_end)
		return virt_to_phys(buf);
	if (va >= DIRECT_MAP && va + len <= KERNEL_VMA &&
	    va - DIRECT_MAP < (1ULL << arch_phys_addr_bits()))
		return va - DIRECT_MAP;
	return 0;
}

/* ------------------------------------------------------------ status */

static void set_status(struct virtio_dev *vd, uint8_t bits)
{
	wr8(vd->common, CC_STATUS, rd8(vd->common, CC_STATUS) | bits);
}

/* Reset and wait until the device says it is done (§4.1.4.3.2). */
static bool reset_device(struct virtio_dev *vd)
{
	wr8(vd->common, CC_STATUS, 0);
	for (unsigned i = 0; i < 1000000; i++) {
		if (rd8(vd->common, CC_STATUS) == 0)
			return true;
		cpu_relax();
	}
	printk(KERN_ERR "shoal: %s: device does not finish its reset\n",
	       vd->name);
	return false;
}

/* ------------------------------------------------------------ discovery */

static volatile uint8_t *map_cap(struct virtio_dev *vd, unsigned cap,
				 uint32_t min_len, uint32_t *len_out)
{
	struct pci_dev *d = vd->pci;
	unsigned bar = pci_cfg_read8(d, cap + CAP_BAR);
	uint32_t off = pci_cfg_read32(d, cap + CAP_OFFSET);
	uint32_t len = pci_cfg_read32(d, cap + CAP_LENGTH);
	if (bar >= PCI_MAX_BARS || len < min_len) {
		printk(KERN_WARN
		       "shoal: %s: virtio capability at %#x: BAR %u, length %u; unusable\n",
		       vd->name, cap, bar, len);
		return NULL;
	}
	if (len_out)
		*len_out = len;
	return pci_map_bar(d, bar, off, len); /* checks it fits the BAR */
}

int virtio_init(struct virtio_dev *vd, struct pci_dev *pci, const char *name)
{
	memset(vd, 0, sizeof *vd);
	vd->pci = pci;
	snprintf(vd->name, sizeof vd->name, "%s", name);
	if (pci->vendor != VIRTIO_VENDOR)
		return -ENODEV;
	pci_enable(pci);
	/* The first capability of each type that we can use (§4.1.4). */
	for (unsigned cap = pci_find_cap(pci, PCI_CAP_VENDOR, 0); cap;
	     cap = pci_find_cap(pci, PCI_CAP_VENDOR, cap)) {
		uint8_t caplen = pci_cfg_read8(pci, cap + 2);
		if (caplen < 16)
			continue;
		switch (pci_cfg_read8(pci, cap + CAP_CFG_TYPE)) {
		case CFG_COMMON:
			if (!vd->common)
				vd->common = map_cap(vd, cap, CC_LEN, NULL);
			break;
		case CFG_NOTIFY:
			if (!vd->notify_base && caplen >= 20) {
				vd->notify_mult = pci_cfg_read32(
					pci, cap + CAP_NOTIFY_MULT);
				vd->notify_base =
					map_cap(vd, cap, 2, &vd->notify_len);
			}
			break;
		case CFG_ISR:
			if (!vd->isr)
				vd->isr = map_cap(vd, cap, 1, NULL);
			break;
		case CFG_DEVICE:
			if (!vd->devcfg)
				vd->devcfg =
					map_cap(vd, cap, 1, &vd->devcfg_len);
			break;
		default:
			break;
		}
	}
	if (!vd->common || !vd->notify_base || !vd->isr) {
		printk(KERN_WARN
		       "shoal: %s: no modern virtio-pci interface (common %s, notify %s, isr %s)\n",
		       vd->name, vd->common ? "ok" : "missing",
		       vd->notify_base ? "ok" : "missing",
		       vd->isr ? "ok" : "missing");
		return -ENODEV;
	}
	if (!reset_device(vd))
		return -ENODEV;
	set_status(vd, ST_ACKNOWLEDGE);
	set_status(vd, ST_DRIVER);
	return 0;
}

int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted)
{
	wr32(vd->common, CC_DFSELECT, 0);
	uint64_t have = rd32(vd->common, CC_DF);
	wr32(vd->common, CC_DFSELECT, 1);
	have |= (uint64_t)rd32(vd->common, CC_DF) << 32;
	if (!(have & VIRTIO_F_VERSION_1)) {
		printk(KERN_WARN
		       "shoal: %s: legacy-only device (no VIRTIO_F_VERSION_1); not supported\n",
		       vd->name);
		set_status(vd, ST_FAILED);
		return -ENODEV;
	}
	uint64_t use = have & (wanted | VIRTIO_F_VERSION_1);
	wr32(vd->common, CC_GFSELECT, 0);
	wr32(vd->common, CC_GF, (uint32_t)use);
	wr32(vd->common, CC_GFSELECT, 1);
	wr32(vd->common, CC_GF, (uint32_t)(use >> 32));
	set_status(vd, ST_FEATURES_OK);
	if (!(rd8(vd->common, CC_STATUS) & ST_FEATURES_OK)) {
		printk(KERN_WARN "shoal: %s: device refused features %#lx\n",
		       vd->name, (unsigned long)use);
		set_status(vd, ST_FAILED);
		return -ENODEV;
	}
	vd->features = use;
	return 0;
}

/* ------------------------------------------------------------ config space */

static bool cfg_ok(struct virtio_dev *vd, unsigned off, unsigned size)
{
	return vd->devcfg && off + size <= vd->devcfg_len &&
	       !(off & (size - 1));
}

uint8_t virtio_cfg_read8(struct virtio_dev *vd, unsigned off)
{
	return cfg_ok(vd, off, 1) ? rd8(vd->devcfg, off) : 0;
}

uint16_t virtio_cfg_read16(struct virtio_dev *vd, unsigned off)
{
	return cfg_ok(vd, off, 2) ? rd16(vd->devcfg, off) : 0;
}

uint32_t virtio_cfg_read32(struct virtio_dev *vd, unsigned off)
{
	return cfg_ok(vd, off, 4) ? rd32(vd->devcfg, off) : 0;
}

uint64_t virtio_cfg_read64(struct virtio_dev *vd, unsigned off)
{
	if (!cfg_ok(vd, off, 8))
		return 0;
	uint64_t v = 0;
	for (unsigned tries = 0; tries < 100; tries++) {
		uint8_t gen = rd8(vd->common, CC_GENERATION);
		v = rd32(vd->devcfg, off) | (uint64_t)rd32(vd->devcfg, off + 4)
						    << 32;
		if (rd8(vd->common, CC_GENERATION) == gen)
			break;
	}
	return v;
}

/* ------------------------------------------------------------ queues */

static bool log_now(uint64_t n)
{
	return (n & (n - 1)) == 0;
}

/* Return a reclaimed chain to the free list. Caller holds vq->lock. */
static void free_chain(struct virtq *vq, uint16_t head)
{
	uint16_t tail = head;
	for (unsigned i = 1; i < vq->chain_len[head]; i++)
		tail = vq->next_free[tail];
	vq->next_free[tail] = vq->free_head;
	vq->free_head = head;
	vq->nfree += vq->chain_len[head];
	vq->token[head] = NULL;
	vq->chain_len[head] = 0;
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned nout,
	      unsigned nin, void *token)
{
	unsigned n = nout + nin;
	if (vq->vd->broken)
		return -EIO;
	if (!token || n == 0 || n > vq->size)
		return -EINVAL;
	if (n > vq->nfree)
		return -ENOSPC;
	uint16_t head = vq->free_head, idx = head;
	uint32_t in = 0;
	for (unsigned i = 0; i < n; i++) {
		struct vring_desc *d = &vq->desc[idx];
		d->addr = bufs[i].pa;
		d->len = bufs[i].len;
		d->flags = (i >= nout ? VRING_DESC_F_WRITE : 0) |
			   (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		if (i >= nout)
			in += bufs[i].len;
		uint16_t next = vq->next_free[idx];
		d->next = i + 1 < n ? next : 0;
		idx = next;
	}
	vq->free_head = idx;
	vq->nfree -= n;
	vq->token[head] = token;
	vq->chain_len[head] = (uint16_t)n;
	vq->in_bytes[head] = in;
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	barrier(); /* the entry before the index that publishes it */
	vq->avail_idx++;
	*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
	return 0;
}

void virtq_kick(struct virtq *vq)
{
	barrier();
	*vq->notify = (uint16_t)vq->index;
}

unsigned virtq_reclaim(struct virtq *vq)
{
	struct virtio_dev *vd = vq->vd;
	unsigned n = 0;
	while (!vd->broken) {
		uint16_t used_idx = *(volatile uint16_t *)&vq->used->idx;
		if (used_idx == vq->last_used)
			break;
		if ((uint16_t)(used_idx - vq->last_used) > vq->size) {
			vd->stats.bad_used++;
			printk(KERN_ERR
			       "shoal: %s: queue %u: used index %u jumped from %u (size %u)\n",
			       vd->name, vq->index, used_idx, vq->last_used,
			       vq->size);
			virtio_fail(vd, vq, "bad used index");
			break;
		}
		barrier(); /* the index before the entries it covers */
		struct vring_used_elem e =
			*(volatile struct vring_used_elem *)&vq->used
				 ->ring[vq->last_used & (vq->size - 1)];
		if (e.id >= vq->size || !vq->token[e.id]) {
			vd->stats.bad_used++;
			printk(KERN_ERR
			       "shoal: %s: queue %u: used id %u is not a request in flight\n",
			       vd->name, vq->index, e.id);
			virtio_fail(vd, vq, "bad used id");
			break;
		}
		int err = 0;
		uint32_t len = e.len;
		if (len > vq->in_bytes[e.id]) {
			if (log_now(++vd->stats.bad_len))
				printk(KERN_ERR
				       "shoal: %s: queue %u: used length %u > %u writable (%lu times)\n",
				       vd->name, vq->index, len,
				       vq->in_bytes[e.id],
				       (unsigned long)vd->stats.bad_len);
			len = vq->in_bytes[e.id];
			err = -EIO;
		}
		void *token = vq->token[e.id];
		free_chain(vq, (uint16_t)e.id);
		vq->last_used++;
		vq->completions++;
		n++;
		vq->done(vq->ctx, token, len, err);
	}
	return n;
}

void virtio_fail(struct virtio_dev *vd, struct virtq *held, const char *why)
{
	if (vd->broken)
		return;
	vd->broken = true;
	vd->stats.resets++;
	printk(KERN_ERR
	       "shoal: %s: %s; device reset, requests in flight fail with -EIO\n",
	       vd->name, why);
	reset_device(vd); /* it no longer touches the rings or buffers */
	for (unsigned q = 0; q < vd->nvq; q++) {
		struct virtq *vq = vd->vq[q];
		if (!vq)
			continue;
		if (vq != held)
			spin_lock(&vq->lock);
		for (unsigned id = 0; id < vq->size; id++) {
			void *token = vq->token[id];
			if (!token)
				continue;
			free_chain(vq, (uint16_t)id);
			vq->done(vq->ctx, token, 0, -EIO);
		}
		if (vq != held)
			spin_unlock(&vq->lock);
	}
}

int virtq_create(struct virtio_dev *vd, unsigned index, unsigned max_size,
		 virtq_done_fn done, void *ctx, struct virtq **out)
{
	if (index >= VIRTIO_MAX_QUEUES || !done ||
	    index >= rd16(vd->common, CC_NUM_QUEUES))
		return -ENOENT;
	wr16(vd->common, CC_Q_SELECT, (uint16_t)index);
	unsigned size = rd16(vd->common, CC_Q_SIZE);
	if (size == 0 || rd16(vd->common, CC_Q_ENABLE))
		return -ENOENT;
	size = MIN(size, max_size);
	while (size & (size - 1)) /* a power of two (§2.6) */
		size &= size - 1;
	if (size == 0)
		return -EINVAL;

	uint16_t noff = rd16(vd->common, CC_Q_NOTIFY_OFF);
	uint64_t nbyte = (uint64_t)noff * vd->notify_mult;
	if (nbyte + 2 > vd->notify_len) {
		printk(KERN_WARN
		       "shoal: %s: queue %u notify offset %#lx outside the notify area (%u bytes)\n",
		       vd->name, index, (unsigned long)nbyte, vd->notify_len);
		return -EIO;
	}

	size_t desc_bytes = 16 * size, avail_bytes = 6 + 2 * size;
	size_t used_off = ALIGN_UP(desc_bytes + avail_bytes, PAGE_SIZE);
	size_t total = used_off + 6 + 8 * size;
	size_t pages = ALIGN_UP(total, PAGE_SIZE) / PAGE_SIZE;
	struct virtq *vq = kzalloc(sizeof *vq);
	void *arrays = kzalloc(size * (2 + 2 + 4 + sizeof(void *)));
	uint64_t pa = pmm_alloc_contig(pages);
	if (!vq || !arrays || !pa) {
		kfree(vq);
		kfree(arrays);
		if (pa)
			pmm_free_contig(pa, pages);
		return -ENOMEM;
	}
	uint8_t *ring = phys_to_virt(pa);
	memset(ring, 0, pages * PAGE_SIZE);
	spin_init(&vq->lock, "virtq");
	vq->vd = vd;
	vq->index = index;
	vq->size = size;
	vq->done = done;
	vq->ctx = ctx;
	vq->ring_pa = pa;
	vq->ring_pages = pages;
	vq->desc = (struct vring_desc *)ring;
	vq->avail = (struct vring_avail *)(ring + desc_bytes);
	vq->used = (struct vring_used *)(ring + used_off);
	vq->notify = (volatile uint16_t *)(vd->notify_base + nbyte);
	vq->token = arrays;
	vq->in_bytes = (uint32_t *)(vq->token + size);
	vq->next_free = (uint16_t *)(vq->in_bytes + size);
	vq->chain_len = vq->next_free + size;
	for (unsigned i = 0; i < size; i++)
		vq->next_free[i] = (uint16_t)((i + 1) & (size - 1));
	vq->free_head = 0;
	vq->nfree = (uint16_t)size;

	wr16(vd->common, CC_Q_SIZE, (uint16_t)size);
	wr64(vd->common, CC_Q_DESC, pa);
	wr64(vd->common, CC_Q_DRIVER, pa + desc_bytes);
	wr64(vd->common, CC_Q_DEVICE, pa + used_off);
	if (vd->irq_mode == VIRTIO_IRQ_PER_QUEUE ||
	    vd->irq_mode == VIRTIO_IRQ_SHARED) {
		uint16_t vec = vd->irq_mode == VIRTIO_IRQ_PER_QUEUE
				       ? (uint16_t)(1 + index)
				       : 0;
		wr16(vd->common, CC_Q_MSIX, vec);
		if (rd16(vd->common, CC_Q_MSIX) != vec) {
			printk(KERN_WARN
			       "shoal: %s: queue %u refused MSI-X vector %u; polling\n",
			       vd->name, index, vec);
			vd->irq_mode = VIRTIO_IRQ_POLL;
		}
	}
	vd->vq[index] = vq;
	vd->nvq = MAX(vd->nvq, index + 1);
	wr16(vd->common, CC_Q_ENABLE, 1);
	*out = vq;
	return 0;
}

void virtq_destroy(struct virtq *vq)
{
	struct virtio_dev *vd = vq->vd;
	if (vd->vq[vq->index] == vq)
		vd->vq[vq->index] = NULL;
	pmm_free_contig(vq->ring_pa, vq->ring_pages);
	kfree(vq->token);
	kfree(vq);
}

/* ------------------------------------------------------------ interrupts */

static void reclaim_locked(struct virtq *vq)
{
	spin_lock(&vq->lock);
	virtq_reclaim(vq);
	spin_unlock(&vq->lock);
}

static void config_changed(struct virtio_dev *vd)
{
	vd->stats.config_changes++;
	uint8_t st = rd8(vd->common, CC_STATUS);
	if (st & ST_NEEDS_RESET)
		virtio_fail(vd, NULL, "device needs a reset");
	else if (log_now(vd->stats.config_changes))
		printk(KERN_NOTICE "shoal: %s: configuration changed\n",
		       vd->name);
}

static void all_queues(struct virtio_dev *vd)
{
	for (unsigned q = 0; q < vd->nvq; q++)
		if (vd->vq[q])
			reclaim_locked(vd->vq[q]);
}

static void irq_queue(void *arg)
{
	struct virtq *vq = arg;
	vq->vd->stats.interrupts++;
	reclaim_locked(vq);
}

static void irq_config(void *arg)
{
	struct virtio_dev *vd = arg;
	vd->stats.interrupts++;
	config_changed(vd);
}

/* One vector for everything: no way to tell which, so look at all. */
static void irq_shared(void *arg)
{
	struct virtio_dev *vd = arg;
	vd->stats.interrupts++;
	if (rd8(vd->common, CC_STATUS) & ST_NEEDS_RESET)
		config_changed(vd);
	all_queues(vd);
}

/* INTx: reading the ISR says whether it was us, and clears it. */
static void irq_intx(void *arg)
{
	struct virtio_dev *vd = arg;
	uint8_t isr = rd8(vd->isr, 0);
	if (!isr)
		return; /* another device on the shared line */
	vd->stats.interrupts++;
	if (isr & ISR_CONFIG)
		config_changed(vd);
	if (isr & ISR_QUEUE)
		all_queues(vd);
}

/*
 * Queue handlers are attached once the queues exist: virtio_irq_init
 * allocates, virtq_create records the vector, virtio_ready attaches.
 */
void virtio_irq_init(struct virtio_dev *vd, unsigned nqueues)
{
	struct pci_dev *d = vd->pci;
	/* MSI-X is the only message mode virtio-pci defines (§4.1.5.1.2); a
	 * device without it interrupts through INTx and the ISR register. */
	int n = pci_irq_alloc(d, nqueues + 1,
			      PCI_IRQ_ALLOW_MSIX | PCI_IRQ_ALLOW_INTX,
			      vd->name);
	if (n <= 0) {
		printk(KERN_WARN "shoal: %s: no interrupt (%d); polling\n",
		       vd->name, n);
		vd->irq_mode = VIRTIO_IRQ_POLL;
		return;
	}
	if (d->irq_mode == PCI_IRQ_INTX) {
		vd->irq_mode = VIRTIO_IRQ_INTX;
		return;
	}
	vd->irq_mode = (unsigned)n >= nqueues + 1 ? VIRTIO_IRQ_PER_QUEUE
						  : VIRTIO_IRQ_SHARED;
	wr16(vd->common, CC_MSIX_CONFIG, 0);
	if (rd16(vd->common, CC_MSIX_CONFIG) != 0) {
		printk(KERN_WARN
		       "shoal: %s: device refused MSI-X vector 0 for config; polling\n",
		       vd->name);
		pci_irq_free(d);
		vd->irq_mode = VIRTIO_IRQ_POLL;
	}
}

static void attach_handlers(struct virtio_dev *vd)
{
	struct pci_dev *d = vd->pci;
	int rc = 0;
	switch (vd->irq_mode) {
	case VIRTIO_IRQ_PER_QUEUE:
		rc = pci_irq_set_handler(d, 0, irq_config, vd);
		for (unsigned q = 0; q < vd->nvq && !rc; q++)
			if (vd->vq[q])
				rc = pci_irq_set_handler(d, 1 + q, irq_queue,
							 vd->vq[q]);
		break;
	case VIRTIO_IRQ_SHARED:
		rc = pci_irq_set_handler(d, 0, irq_shared, vd);
		break;
	case VIRTIO_IRQ_INTX:
		rc = pci_irq_set_handler(d, 0, irq_intx, vd);
		break;
	case VIRTIO_IRQ_POLL:
		if (d->irq_mode != PCI_IRQ_NONE)
			pci_irq_free(d);
		break;
	}
	if (rc) {
		printk(KERN_WARN
		       "shoal: %s: interrupt handler refused (%d); polling\n",
		       vd->name, rc);
		pci_irq_free(d);
		vd->irq_mode = VIRTIO_IRQ_POLL;
	}
}

void virtio_ready(struct virtio_dev *vd)
{
	attach_handlers(vd);
	set_status(vd, ST_DRIVER_OK);
}
