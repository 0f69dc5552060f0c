/*
 * virtio.h — the virtio 1.x transport shared by virtio-blk (fs/) and
 * virtio-net (net/): the modern virtio-pci interface (capabilities, common
 * configuration, notification, interrupts) and split virtqueues.
 *
 * A driver's life: virtio_init (capabilities mapped, device reset,
 * ACKNOWLEDGE|DRIVER) → virtio_negotiate (VIRTIO_F_VERSION_1 required,
 * FEATURES_OK) → virtio_irq_init (MSI-X: source 0 for configuration changes,
 * source 1+i for queue i when the device gives enough vectors; else one
 * shared vector, else INTx with the ISR register, else polling) →
 * virtq_create for each queue → virtio_ready (DRIVER_OK).
 *
 * Requests: under vq->lock, virtq_add puts a descriptor chain (device-
 * readable buffers first, then device-writable ones) with a non-NULL token
 * in the available ring, virtq_kick notifies the device. Completions are
 * reclaimed by the interrupt handler (or by virtq_reclaim when polling),
 * which calls the queue's `done(ctx, token, len, err)` with vq->lock held and
 * interrupts off: `done` may wake threads but must not add to the queue.
 *
 * Nothing the device writes is trusted: a used-ring index that jumps by
 * more than the queue size or names a descriptor that is not the head of
 * a chain in flight makes the device "broken": it is reset (so it stops
 * using our memory), every request in flight completes with -EIO, and
 * later virtq_add calls fail with -EIO. A used length larger than the
 * chain's writable bytes completes that request with -EIO. Each event is
 * counted (struct virtio_stats) and logged.
 *
 * Locking: vq->lock protects the queue (taken by the interrupt handlers,
 * so it disables interrupts). Several queues' locks are never held at once
 * except by virtio_fail, which takes them in index order.
 */
#ifndef KERN_VIRTIO_H
#define KERN_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/pci.h"
#include "kern/sync.h"

#define VIRTIO_VENDOR 0x1AF4
/* PCI device IDs: modern 0x1040 + type; transitional 0x1000-0x103F. */
#define VIRTIO_PCI_MODERN_BASE 0x1040
#define VIRTIO_TYPE_NET 1
#define VIRTIO_TYPE_BLOCK 2

/* Feature bits common to all devices (virtio 1.1 §6). */
#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define VIRTIO_MAX_QUEUES 4

/* Split virtqueue layout in memory (§2.6), little-endian like x86. */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

/* One buffer of a descriptor chain: physical address and length. */
struct virtq_buf {
	uint64_t pa;
	uint32_t len;
};

typedef void (*virtq_done_fn)(void *ctx, void *token, uint32_t len, int err);

struct virtio_dev;

struct virtq {
	struct spinlock lock; /* everything below */
	struct virtio_dev *vd;
	unsigned index; /* queue number on the device */
	unsigned size; /* descriptors, a power of two */
	virtq_done_fn done;
	void *ctx;
	uint64_t completions;

	/* Private to kern/virtio.c. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t ring_pa;
	size_t ring_pages;
	volatile uint16_t *notify;
	uint16_t free_head, nfree, last_used, avail_idx;
	uint16_t *next_free; /* the free list and chain order: ours alone */
	uint16_t *chain_len; /* per head: descriptors in the chain */
	uint32_t *in_bytes; /* per head: device-writable bytes */
	void **token; /* per head: non-NULL while in flight */
};

struct virtio_stats {
	uint64_t interrupts; /* handler calls that found work or not */
	uint64_t config_changes;
	uint64_t bad_used; /* used-ring index or id out of range: fatal */
	uint64_t bad_len; /* used length beyond the chain: request failed */
	uint64_t resets; /* devices reset after a failure */
};

enum virtio_irq_mode {
	VIRTIO_IRQ_POLL, /* no interrupts: drivers poll */
	VIRTIO_IRQ_INTX, /* one shared line, ISR register read */
	VIRTIO_IRQ_SHARED, /* one MSI/MSI-X vector for everything */
	VIRTIO_IRQ_PER_QUEUE, /* MSI-X: config on 0, queue i on 1+i */
};

struct virtio_dev {
	struct pci_dev *pci;
	char name[16];
	uint64_t features; /* negotiated */
	enum virtio_irq_mode irq_mode;
	bool broken; /* failed and reset: every request returns -EIO */
	struct virtq *vq[VIRTIO_MAX_QUEUES];
	unsigned nvq;
	struct virtio_stats stats;

	/* Private to kern/virtio.c. */
	volatile uint8_t *common, *isr, *devcfg, *notify_base;
	uint32_t devcfg_len, notify_len, notify_mult;
};

/* Find and map the capabilities, reset the device, ACKNOWLEDGE|DRIVER.
 * Returns 0, or -ENODEV (not a modern virtio-pci device, or broken caps). */
int virtio_init(struct virtio_dev *vd, struct pci_dev *pci, const char *name);
/* Offer `wanted` | VERSION_1 (those the device has); 0 or -ENODEV. */
int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted);
/* Interrupts for nqueues queues (mode in vd->irq_mode); never fails: the
 * last resort is polling. */
void virtio_irq_init(struct virtio_dev *vd, unsigned nqueues);
/* Set up queue `index` with at most max_size descriptors; 0, -ENOENT (no
 * such queue), -ENOMEM or -EIO. */
int virtq_create(struct virtio_dev *vd, unsigned index, unsigned max_size,
		 virtq_done_fn done, void *ctx, struct virtq **out);
/* Free a queue's memory; only once the device cannot use it (after a
 * reset, or before virtio_ready). */
void virtq_destroy(struct virtq *vq);
/* DRIVER_OK: the device may now use the queues. */
void virtio_ready(struct virtio_dev *vd);
/* Stop the device (reset) and fail what is in flight; logs `why`. The
 * caller holds no queue lock, or exactly the lock of `held`. */
void virtio_fail(struct virtio_dev *vd, struct virtq *held, const char *why);

/* Device-specific configuration (bounds-checked: out of range reads 0).
 * 64-bit reads retry until config_generation is stable. */
uint8_t virtio_cfg_read8(struct virtio_dev *vd, unsigned off);
uint16_t virtio_cfg_read16(struct virtio_dev *vd, unsigned off);
uint32_t virtio_cfg_read32(struct virtio_dev *vd, unsigned off);
uint64_t virtio_cfg_read64(struct virtio_dev *vd, unsigned off);

/*
 * Caller holds vq->lock. virtq_add: nout device-readable then nin device-
 * writable buffers; 0, -ENOSPC (not enough free descriptors: reclaim or
 * wait), -EINVAL, -EIO (device broken). virtq_reclaim: completes what the
 * device has finished; returns how many.
 */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned nout,
	      unsigned nin, void *token);
void virtq_kick(struct virtq *vq);
unsigned virtq_reclaim(struct virtq *vq);
/* Descriptors free now (caller holds vq->lock). */
static inline unsigned virtq_free_count(const struct virtq *vq)
{
	return vq->nfree;
}

/* The physical address of a kernel buffer for DMA, or 0 when it is not in
 * the direct map or the kernel image (so not physically contiguous). */
uint64_t virtio_dma_addr(const void *buf, size_t len);

#endif
