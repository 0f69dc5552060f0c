/*
 * virtio_test.c — self-tests of the split virtqueue against a simulated
 * device: the "device registers" are plain memory and the test plays the
 * device by writing the used ring. Checks descriptor chains and their
 * flags, reclaim and free-list reuse, and that a misbehaving device (used
 * length too large, used id not in flight, used index jumping) is counted,
 * reset and never trusted: the requests in flight fail with -EIO and the
 * queue refuses new work.
 */
#include "kern/kern.h"
#include "kern/virtio.h"
#include "vm/vm.h"

#define QSIZE 8

struct fake {
	struct virtio_dev vd;
	uint8_t regs[64]; /* common configuration, in RAM */
	uint16_t notify[8];
	struct virtq *vq;
	unsigned ncomp;
	void *last_token;
	uint32_t last_len;
	int last_err, nerr;
};

static void fake_done(void *ctx, void *token, uint32_t len, int err)
{
	struct fake *f = ctx;
	f->ncomp++;
	f->last_token = token;
	f->last_len = len;
	f->last_err = err;
	f->nerr += err != 0;
}

static struct fake *fake_new(void)
{
	struct fake *f = kzalloc(sizeof *f);
	if (!f)
		return NULL;
	snprintf(f->vd.name, sizeof f->vd.name, "fakevq");
	f->vd.common = f->regs;
	f->vd.notify_base = (volatile uint8_t *)f->notify;
	f->vd.notify_len = sizeof f->notify;
	f->vd.irq_mode = VIRTIO_IRQ_POLL;
	*(uint16_t *)&f->regs[18] = 1; /* num_queues */
	*(uint16_t *)&f->regs[24] = 64; /* queue_size: more than we take */
	if (virtq_create(&f->vd, 0, QSIZE, fake_done, f, &f->vq)) {
		kfree(f);
		return NULL;
	}
	return f;
}

static void fake_free(struct fake *f)
{
	virtq_destroy(f->vq);
	kfree(f);
}

/* The device finishes the chain at `head`, having written `len` bytes. */
static void device_use(struct virtq *vq, uint32_t head, uint32_t len)
{
	uint16_t idx = vq->used->idx;
	vq->used->ring[idx % vq->size] = (struct vring_used_elem){head, len};
	__asm__ volatile("" : : : "memory");
	vq->used->idx = idx + 1;
}

static uint16_t last_avail_head(struct virtq *vq)
{
	return vq->avail->ring[(vq->avail->idx - 1) % vq->size];
}

SELFTEST(virtq_chains_and_reclaim)
{
	struct fake *f = fake_new();
	ST_ASSERT(f);
	struct virtq *vq = f->vq;
	ST_ASSERT(vq->size == QSIZE && virtq_free_count(vq) == QSIZE);
	ST_ASSERT(*(uint16_t *)&f->regs[24] == QSIZE); /* size written */
	ST_ASSERT(*(uint16_t *)&f->regs[28] == 1); /* queue enabled */
	ST_ASSERT(*(uint32_t *)&f->regs[32] == (uint32_t)vq->ring_pa);

	struct virtq_buf b[3] = {{0x1000, 16}, {0x2000, 512}, {0x3000, 1}};
	int tok[4];
	spin_lock(&vq->lock);
	ST_ASSERT(virtq_add(vq, b, 1, 2, &tok[0]) == 0);
	uint16_t h0 = last_avail_head(vq);
	/* header readable, data and status writable, linked by NEXT */
	struct vring_desc *d = &vq->desc[h0];
	ST_ASSERT(d->addr == 0x1000 && d->len == 16 &&
		  d->flags == VRING_DESC_F_NEXT);
	d = &vq->desc[d->next];
	ST_ASSERT(d->len == 512 &&
		  d->flags == (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE));
	d = &vq->desc[d->next];
	ST_ASSERT(d->len == 1 && d->flags == VRING_DESC_F_WRITE);
	ST_ASSERT(virtq_add(vq, b, 2, 1, &tok[1]) == 0);
	uint16_t h1 = last_avail_head(vq);
	ST_ASSERT(virtq_free_count(vq) == QSIZE - 6);
	ST_ASSERT(virtq_add(vq, b, 3, 0, &tok[2]) == -ENOSPC);
	ST_ASSERT(virtq_add(vq, b, 0, 0, &tok[2]) == -EINVAL);
	ST_ASSERT(virtq_add(vq, b, 1, 0, NULL) == -EINVAL);
	virtq_kick(vq);
	ST_ASSERT(f->notify[0] == 0); /* queue 0's index written */

	/* Completed out of order; lengths within the writable bytes. */
	device_use(vq, h1, 1);
	device_use(vq, h0, 513);
	ST_ASSERT(virtq_reclaim(vq) == 2);
	ST_ASSERT(f->ncomp == 2 && f->nerr == 0);
	ST_ASSERT(f->last_token == &tok[0] && f->last_len == 513);
	ST_ASSERT(virtq_free_count(vq) == QSIZE);
	ST_ASSERT(virtq_reclaim(vq) == 0);
	/* The free list survives many rounds. */
	for (unsigned i = 0; i < 100; i++) {
		ST_ASSERT(virtq_add(vq, b, 1, 1, &tok[3]) == 0);
		device_use(vq, last_avail_head(vq), 0);
		ST_ASSERT(virtq_reclaim(vq) == 1);
	}
	ST_ASSERT(virtq_free_count(vq) == QSIZE && !f->vd.broken);
	spin_unlock(&vq->lock);
	fake_free(f);
	return 0;
}

SELFTEST(virtq_bad_device)
{
	struct fake *f = fake_new();
	ST_ASSERT(f);
	struct virtq *vq = f->vq;
	struct virtq_buf b[2] = {{0x1000, 16}, {0x2000, 100}};
	int tok[3];
	spin_lock(&vq->lock);
	/* A used length beyond the chain fails that request only. */
	ST_ASSERT(virtq_add(vq, b, 1, 1, &tok[0]) == 0);
	device_use(vq, last_avail_head(vq), 5000);
	ST_ASSERT(virtq_reclaim(vq) == 1);
	ST_ASSERT(f->last_err == -EIO && f->last_len == 100);
	ST_ASSERT(f->vd.stats.bad_len == 1 && !f->vd.broken);
	/* A used id that is not in flight: reset, everything fails. */
	ST_ASSERT(virtq_add(vq, b, 1, 1, &tok[1]) == 0);
	ST_ASSERT(virtq_add(vq, b, 1, 1, &tok[2]) == 0);
	f->regs[20] = 0x0F; /* status: as if running */
	device_use(vq, QSIZE + 3, 1);
	virtq_reclaim(vq);
	ST_ASSERT(f->vd.broken && f->vd.stats.bad_used == 1);
	ST_ASSERT(f->vd.stats.resets == 1 && f->regs[20] == 0); /* reset */
	ST_ASSERT(f->ncomp == 3 && f->nerr == 3);
	ST_ASSERT(virtq_free_count(vq) == QSIZE);
	ST_ASSERT(virtq_add(vq, b, 1, 1, &tok[0]) == -EIO);
	spin_unlock(&vq->lock);
	fake_free(f);

	/* A used index that runs ahead of anything we gave. */
	f = fake_new();
	ST_ASSERT(f);
	vq = f->vq;
	spin_lock(&vq->lock);
	ST_ASSERT(virtq_add(vq, b, 1, 1, &tok[0]) == 0);
	vq->used->idx = QSIZE + 1;
	virtq_reclaim(vq);
	ST_ASSERT(f->vd.broken && f->vd.stats.bad_used == 1);
	ST_ASSERT(f->ncomp == 1 && f->last_err == -EIO);
	spin_unlock(&vq->lock);
	fake_free(f);
	return 0;
}
