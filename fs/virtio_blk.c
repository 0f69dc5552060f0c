/*
 * virtio_blk.c — virtio-blk disks (virtio 1.1 §5.2) as struct blockdev.
 *
 * Interface: fs/blkdrv.h (probe, lookup, counters); the disks themselves
 * are used through fs/fs.h's blockdev calls.
 *
 * A blockdev call becomes one or more virtio requests (one per `max_chunk`
 * bytes, the device's size_max if it has one), each a chain of three
 * descriptors: header (device-readable), data (readable for writes,
 * writable for reads), status byte (writable). Up to BATCH requests of one
 * call are put on the ring before waiting, and calls from several threads
 * share the ring, so many requests are in flight at once. The caller's
 * buffer is used for DMA directly: it must be in the direct map or the
 * kernel image (every kmalloc'd or static buffer is).
 *
 * Waiting: the caller sleeps on the disk's wait queue; the queue's
 * interrupt handler reclaims used descriptors and wakes everyone, and each
 * waiter checks its own requests. Without interrupts (no MSI-X/INTx, or
 * interrupts off: before the scheduler runs) the caller polls the used
 * ring instead, with a time limit after which the device is reset and the
 * request fails.
 *
 * Errors: a sector range outside the disk is refused before the device
 * sees it; a status other than OK, a used length short of what was asked,
 * or a device reset (kern/virtio.c) fail the call with -EIO. All counted.
 *
 * Locking: the virtqueue's spinlock covers the ring, the requests' `done`
 * flags and the counters; the wait queue sleeps with it released.
 */
#include "arch/x86/arch.h"
#include "arch/x86/pci.h"
#include "fs/fs.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "kern/virtio.h"
#include "vm/vm.h"

/* Feature bits and configuration layout (§5.2.3, §5.2.4). */
#define VIRTIO_BLK_F_SIZE_MAX (1ULL << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ULL << 2)
#define VIRTIO_BLK_F_RO (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_BLK_SIZE 20

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VBLK_MAX 4 /* disks */
#define QUEUE_MAX 128 /* descriptors: 42 requests on the ring */
#define BATCH 16 /* requests of one call in flight at once */
#define CHUNK_MAX (64u << 10) /* bounds one request's latency */
#define POLL_LIMIT_NS (30ULL * 1000000000ULL)
#define MODERN_BLK (VIRTIO_PCI_MODERN_BASE + VIRTIO_TYPE_BLOCK)
#define TRANSITIONAL_BLK 0x1001

struct vblk_req {
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector; /* in 512-byte units, always */
	} hdr;
	volatile uint8_t status;
	bool done; /* under vq->lock */
	int err;
	uint32_t len; /* bytes the device says it wrote */
	uint32_t data_len;
	uint64_t data_pa;
};

struct vblk {
	struct blockdev bd;
	struct virtio_dev vd;
	struct virtq *vq;
	struct waitq wq; /* callers waiting for completions or ring space */
	uint64_t capacity; /* 512-byte sectors */
	uint32_t max_chunk; /* data bytes per request */
	unsigned spb; /* 512-byte units per sector */
	bool polled;
	struct virtio_blk_stats st; /* under vq->lock */
};

static struct vblk *disks[VBLK_MAX];
static unsigned ndisks;

static void vblk_done(void *ctx, void *token, uint32_t len, int err)
{
	struct vblk *vb = ctx;
	struct vblk_req *r = token;
	r->len = len;
	r->err = err;
	r->done = true;
	vb->st.inflight--;
	vb->st.requests++;
	waitq_wakeup_all(&vb->wq);
}

/*
 * Wait for some completion. Caller holds vq->lock; returns with it held.
 * Polling gives up after POLL_LIMIT_NS: the device is reset, which fails
 * every request in flight.
 */
static void wait_progress(struct vblk *vb, bool poll, uint64_t start)
{
	struct virtq *vq = vb->vq;
	if (!poll) {
		waitq_sleep(&vb->wq, &vq->lock);
		return;
	}
	if (virtq_reclaim(vq))
		return;
	spin_unlock(&vq->lock);
	cpu_relax();
	spin_lock(&vq->lock);
	virtq_reclaim(vq);
	if (time_ns() - start > POLL_LIMIT_NS)
		virtio_fail(&vb->vd, vq, "request timed out (polled)");
}

/* Put requests r[0..n) on the ring and wait for all of them. */
static int submit_wait(struct vblk *vb, struct vblk_req *r, unsigned n)
{
	struct virtq *vq = vb->vq;
	bool poll = vb->polled || vb->vd.irq_mode == VIRTIO_IRQ_POLL ||
		    !irq_enabled();
	uint64_t start = time_ns();
	spin_lock(&vq->lock);
	for (unsigned i = 0; i < n; i++) {
		struct virtq_buf b[3];
		unsigned nb = 0, nout = 1;
		b[nb++] = (struct virtq_buf){virtio_dma_addr(&r[i].hdr,
							     sizeof r[i].hdr),
					     sizeof r[i].hdr};
		if (r[i].data_len) {
			b[nb++] =
				(struct virtq_buf){r[i].data_pa, r[i].data_len};
			if (r[i].hdr.type == VIRTIO_BLK_T_OUT)
				nout++;
		}
		b[nb++] = (struct virtq_buf){
			virtio_dma_addr((const void *)&r[i].status, 1), 1};
		int rc;
		while ((rc = virtq_add(vq, b, nout, nb - nout, &r[i])) ==
		       -ENOSPC) {
			virtq_kick(vq);
			vb->st.ring_full_waits++;
			wait_progress(vb, poll, start);
		}
		if (rc) {
			for (unsigned j = i; j < n; j++) {
				r[j].done = true;
				r[j].err = -EIO;
			}
			break;
		}
		vb->st.inflight++;
		vb->st.max_inflight = MAX(vb->st.max_inflight, vb->st.inflight);
	}
	virtq_kick(vq);
	for (unsigned i = 0; i < n; i++)
		while (!r[i].done)
			wait_progress(vb, poll, start);

	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t need =
			1 +
			(r[i].hdr.type == VIRTIO_BLK_T_IN ? r[i].data_len : 0);
		if (!r[i].err && r[i].len >= need &&
		    r[i].status == VIRTIO_BLK_S_OK)
			continue;
		if ((vb->st.io_errors++ & 63) == 0)
			printk(KERN_WARN
			       "shoal: %s: request type %u sector %lu: %s (status %u, %u of %u bytes)\n",
			       vb->bd.name, r[i].hdr.type,
			       (unsigned long)r[i].hdr.sector,
			       r[i].err ? "failed" : "error", r[i].status,
			       r[i].len, need);
		rc = -EIO;
	}
	spin_unlock(&vq->lock);
	return rc;
}

/* One blockdev call: `bytes` from 512-byte sector `sector`. */
static int vblk_io(struct vblk *vb, unsigned type, uint64_t sector,
		   uint64_t bytes, void *buf)
{
	if (vb->vd.broken)
		return -EIO;
	uint64_t pa = bytes ? virtio_dma_addr(buf, bytes) : 0;
	if (bytes && !pa) {
		printk(KERN_WARN
		       "shoal: %s: buffer %p cannot be used for DMA\n",
		       vb->bd.name, buf);
		return -EIO;
	}
	struct vblk_req *r = kmalloc(BATCH * sizeof *r);
	if (!r)
		return -EIO;
	int rc = 0;
	uint64_t off = 0;
	do {
		unsigned n = 0;
		while (n < BATCH && (off < bytes || (bytes == 0 && n == 0))) {
			uint32_t len =
				(uint32_t)MIN(bytes - off, vb->max_chunk);
			r[n] = (struct vblk_req){
				.hdr = {type, 0, sector + off / 512},
				.status = 0xFF,
				.data_len = len,
				.data_pa = len ? pa + off : 0,
			};
			n++;
			off += len;
		}
		rc = submit_wait(vb, r, n);
	} while (!rc && off < bytes);
	kfree(r);
	return rc;
}

static int range_ok(struct vblk *vb, uint64_t sector, uint32_t count)
{
	if (sector < vb->bd.nsectors && count <= vb->bd.nsectors - sector)
		return 0;
	unsigned long f = irq_save();
	uint64_t n = ++vb->st.range_errors;
	irq_restore(f);
	if ((n & (n - 1)) == 0)
		printk(KERN_WARN
		       "shoal: %s: sectors %lu+%u beyond the end (%lu); refused (%lu times)\n",
		       vb->bd.name, (unsigned long)sector, count,
		       (unsigned long)vb->bd.nsectors, (unsigned long)n);
	return -EIO;
}

static int vblk_read(struct blockdev *d, uint64_t sector, uint32_t count,
		     void *buf)
{
	struct vblk *vb = d->priv;
	if (count == 0)
		return 0;
	if (range_ok(vb, sector, count))
		return -EIO;
	return vblk_io(vb, VIRTIO_BLK_T_IN, sector * vb->spb,
		       (uint64_t)count * d->sector_size, buf);
}

static int vblk_write(struct blockdev *d, uint64_t sector, uint32_t count,
		      const void *buf)
{
	struct vblk *vb = d->priv;
	if (count == 0)
		return 0;
	if (range_ok(vb, sector, count) || d->readonly)
		return -EIO;
	return vblk_io(vb, VIRTIO_BLK_T_OUT, sector * vb->spb,
		       (uint64_t)count * d->sector_size, (void *)buf);
}

static int vblk_flush(struct blockdev *d)
{
	return vblk_io(d->priv, VIRTIO_BLK_T_FLUSH, 0, 0, NULL);
}

int virtio_blk_request(struct blockdev *d, unsigned type, uint64_t sector,
		       uint32_t count, void *buf)
{
	struct vblk *vb = d->priv;
	uint64_t bytes = type == VIRTIO_BLK_T_FLUSH
				 ? 0
				 : (uint64_t)count * d->sector_size;
	return vblk_io(vb, type, sector * vb->spb, bytes, buf);
}

/* ------------------------------------------------------------ setup */

static const char *mode_name(enum virtio_irq_mode m)
{
	switch (m) {
	case VIRTIO_IRQ_PER_QUEUE:
		return "MSI-X per queue";
	case VIRTIO_IRQ_SHARED:
		return "MSI-X shared";
	case VIRTIO_IRQ_INTX:
		return "INTx";
	default:
		return "polled";
	}
}

static int vblk_setup(struct vblk *vb, struct pci_dev *p, const char *name)
{
	struct virtio_dev *vd = &vb->vd;
	int rc = virtio_init(vd, p, name);
	if (!rc)
		rc = virtio_negotiate(
			vd, VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX |
				    VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE |
				    VIRTIO_BLK_F_FLUSH);
	if (rc)
		return rc;
	virtio_irq_init(vd, 1);
	rc = virtq_create(vd, 0, QUEUE_MAX, vblk_done, vb, &vb->vq);
	if (rc) {
		printk(KERN_WARN "shoal: %s: request queue: error %d\n", name,
		       rc);
		pci_irq_free(p);
		return rc;
	}

	uint32_t ss = 512;
	if (vd->features & VIRTIO_BLK_F_BLK_SIZE) {
		uint32_t bs = virtio_cfg_read32(vd, CFG_BLK_SIZE);
		if (bs >= 512 && bs <= 4096 && !(bs & (bs - 1)))
			ss = bs;
		else
			printk(KERN_WARN
			       "shoal: %s: block size %u unusable; using 512\n",
			       name, bs);
	}
	uint32_t chunk = CHUNK_MAX;
	if (vd->features & VIRTIO_BLK_F_SIZE_MAX) {
		uint32_t sm = virtio_cfg_read32(vd, CFG_SIZE_MAX);
		if (sm)
			chunk = MIN(chunk, sm);
	}
	chunk = MAX(ALIGN_DOWN(chunk, ss), ss);

	vb->capacity = virtio_cfg_read64(vd, CFG_CAPACITY);
	vb->spb = ss / 512;
	vb->max_chunk = chunk;
	waitq_init(&vb->wq);
	snprintf(vb->bd.name, sizeof vb->bd.name, "%s", name);
	vb->bd.sector_size = ss;
	vb->bd.nsectors = vb->capacity / vb->spb;
	vb->bd.readonly = vd->features & VIRTIO_BLK_F_RO;
	vb->bd.read = vblk_read;
	vb->bd.write = vblk_write;
	vb->bd.flush = vd->features & VIRTIO_BLK_F_FLUSH ? vblk_flush : NULL;
	vb->bd.priv = vb;
	virtio_ready(vd);
	vb->st.irq_mode = mode_name(vd->irq_mode);
	printk("shoal: disk %s: %lu KiB (virtio-blk%s, %s, %u-byte sectors)\n",
	       name, (unsigned long)(vb->capacity / 2),
	       vb->bd.readonly ? ", read-only" : "", vb->st.irq_mode, ss);
	return 0;
}

unsigned virtio_blk_probe(void)
{
	unsigned found = 0;
	for (struct pci_dev *p = pci_find(VIRTIO_VENDOR, PCI_ANY, NULL); p;
	     p = pci_find(VIRTIO_VENDOR, PCI_ANY, p)) {
		if (p->device != MODERN_BLK && p->device != TRANSITIONAL_BLK)
			continue;
		if (p->irq_mode != PCI_IRQ_NONE)
			continue; /* already ours (probed twice) */
		if (ndisks == VBLK_MAX) {
			printk(KERN_WARN
			       "shoal: virtio-blk: more than %u disks; the rest ignored\n",
			       VBLK_MAX);
			break;
		}
		struct vblk *vb = kzalloc(sizeof *vb);
		if (!vb)
			break;
		char name[8];
		snprintf(name, sizeof name, "vd%c", 'a' + ndisks);
		if (vblk_setup(vb, p, name)) {
			printk(KERN_WARN
			       "shoal: virtio-blk %02x:%02x.%u: not usable\n",
			       p->bus, p->slot, p->fn);
			kfree(vb);
			continue;
		}
		disks[ndisks++] = vb;
		found++;
	}
	return found;
}

unsigned virtio_blk_count(void)
{
	return ndisks;
}

struct blockdev *virtio_blk_get(unsigned index)
{
	return index < ndisks ? &disks[index]->bd : NULL;
}

int virtio_blk_get_stats(struct blockdev *d, struct virtio_blk_stats *st)
{
	for (unsigned i = 0; i < ndisks; i++)
		if (&disks[i]->bd == d) {
			spin_lock(&disks[i]->vq->lock);
			*st = disks[i]->st;
			spin_unlock(&disks[i]->vq->lock);
			return 0;
		}
	return -ENODEV;
}

void virtio_blk_set_polled(struct blockdev *d, bool polled)
{
	struct vblk *vb = d->priv;
	vb->polled = polled;
}
