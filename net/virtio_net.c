/*
 * virtio_net.c — virtio-net (virtio 1.1 §5.1) as a struct netdev.
 *
 * Interface: net/net.h (virtio_net_probe; the device itself is used
 * through the netdev layer). Transport: kern/virtio.h.
 *
 * Features asked: MAC (the address in the configuration space), STATUS
 * (link state), MTU. Nothing else: no offloads, no mergeable buffers, so
 * every frame fits one buffer and arrives whole. With VERSION_1 each
 * buffer starts with the 12-byte struct virtio_net_hdr (num_buffers
 * included) and the frame follows in the same descriptor.
 *
 * Queues: 0 receive, 1 transmit. Buffers are BUF_SIZE bytes, two per page,
 * in the direct map; a buffer's address is its token.
 *
 *   receive   every buffer is posted at start. The transport's interrupt
 *             handler reclaims used buffers and calls rx_done, which only
 *             appends (buffer, length) to the `ready` list and wakes the
 *             receive thread. poll() takes at most `budget` entries,
 *             hands the frames to netdev_rx with no lock held, then
 *             re-posts the buffers and notifies the device once.
 *   transmit  a stack of free buffers; xmit copies the frame behind a
 *             zeroed header. A full ring is reclaimed, then waited on for
 *             at most NETDEV_TX_WAIT_NS (never from interrupt context),
 *             then the frame is dropped with -ENOBUFS.
 *
 * What the device says is checked: a used length below the header or
 * beyond the buffer is a receive error (counted, buffer re-posted); a
 * device the transport reset (bad ring indices) stops: transmit fails with
 * -EIO and nothing is re-posted.
 *
 * Locking: rxq->lock guards `ready` and the posting of receive buffers;
 * txq->lock guards the free stack. Both are taken in interrupt context
 * (they disable interrupts); the netdev's lock nests inside them.
 */
#include "arch/x86/arch.h"
#include "arch/x86/pci.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "kern/virtio.h"
#include "net/net.h"
#include "vm/vm.h"

#define VIRTIO_NET_F_MTU (1ULL << 3)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define VIRTIO_NET_F_STATUS (1ULL << 16)
#define CFG_MAC 0
#define CFG_STATUS 6
#define CFG_MTU 10
#define VIRTIO_NET_S_LINK_UP 1

#define MODERN_NET (VIRTIO_PCI_MODERN_BASE + VIRTIO_TYPE_NET)
#define TRANSITIONAL_NET 0x1000
#define VNET_MAX 2
#define QUEUE_MAX 256
#define NBUF 64 /* receive buffers, and transmit buffers */
#define BUF_SIZE 2048
#define HDR_LEN 12 /* struct virtio_net_hdr with num_buffers */

struct vnet_buf {
	uint8_t *va;
	uint64_t pa;
	uint16_t idx;
};

struct vnet {
	struct netdev nd;
	struct virtio_dev vd;
	struct virtq *rxq, *txq;
	unsigned nrx, ntx;
	struct vnet_buf rx[NBUF], tx[NBUF];

	/* Under rxq->lock: completed receive buffers, oldest first. */
	uint16_t ready[NBUF];
	uint32_t ready_len[NBUF];
	int ready_err[NBUF];
	unsigned ready_head, nready;
	unsigned posted;

	/* Under txq->lock. */
	uint16_t tx_free[NBUF];
	unsigned ntx_free;
	struct waitq txwq;
};

static struct vnet *vnets[VNET_MAX];
static unsigned nvnets;

static void rx_done(void *ctx, void *token, uint32_t len, int err)
{
	struct vnet *vn = ctx;
	struct vnet_buf *b = token;
	unsigned slot = (vn->ready_head + vn->nready) % NBUF;
	vn->ready[slot] = b->idx;
	vn->ready_len[slot] = len;
	vn->ready_err[slot] = err;
	vn->nready++;
	vn->posted--;
	netdev_schedule(&vn->nd);
}

static void tx_done(void *ctx, void *token, uint32_t len, int err)
{
	struct vnet *vn = ctx;
	struct vnet_buf *b = token;
	vn->tx_free[vn->ntx_free++] = b->idx;
	if (err)
		netdev_count_add(&vn->nd.st.tx_errors, 1);
	waitq_wakeup_all(&vn->txwq);
}

/* Post receive buffer i. Caller holds rxq->lock. */
static int post_rx(struct vnet *vn, unsigned i)
{
	struct virtq_buf b = {vn->rx[i].pa, BUF_SIZE};
	int rc = virtq_add(vn->rxq, &b, 0, 1, &vn->rx[i]);
	if (!rc)
		vn->posted++;
	return rc;
}

static unsigned vnet_poll(struct netdev *nd, unsigned budget)
{
	struct vnet *vn = nd->priv;
	uint16_t idx[NETDEV_RX_BUDGET];
	uint32_t len[NETDEV_RX_BUDGET];
	int err[NETDEV_RX_BUDGET];
	unsigned n = 0;
	budget = MIN(budget, NETDEV_RX_BUDGET);

	spin_lock(&vn->txq->lock); /* transmit completions, when polled */
	virtq_reclaim(vn->txq);
	spin_unlock(&vn->txq->lock);

	spin_lock(&vn->rxq->lock);
	virtq_reclaim(vn->rxq);
	while (n < budget && vn->nready) {
		idx[n] = vn->ready[vn->ready_head];
		len[n] = vn->ready_len[vn->ready_head];
		err[n] = vn->ready_err[vn->ready_head];
		vn->ready_head = (vn->ready_head + 1) % NBUF;
		vn->nready--;
		n++;
	}
	spin_unlock(&vn->rxq->lock);
	nd->st.interrupts = vn->vd.stats.interrupts;

	for (unsigned i = 0; i < n; i++) {
		if (err[i] || len[i] <= HDR_LEN || len[i] > BUF_SIZE) {
			netdev_count_add(&nd->st.rx_errors, 1);
			continue;
		}
		netdev_rx(nd, vn->rx[idx[i]].va + HDR_LEN, len[i] - HDR_LEN);
	}

	if (n && !vn->vd.broken) {
		spin_lock(&vn->rxq->lock);
		for (unsigned i = 0; i < n; i++)
			if (post_rx(vn, idx[i]))
				netdev_count_add(&nd->st.rx_errors, 1);
		virtq_kick(vn->rxq);
		spin_unlock(&vn->rxq->lock);
	}
	return n;
}

static int vnet_xmit(struct netdev *nd, const void *frame, size_t len)
{
	struct vnet *vn = nd->priv;
	if (vn->vd.broken)
		return -EIO;
	if (len + HDR_LEN > BUF_SIZE)
		return -EINVAL;
	bool may_sleep = netdev_may_sleep();
	spin_lock(&vn->txq->lock);
	if (!vn->ntx_free)
		virtq_reclaim(vn->txq);
	if (!vn->ntx_free && may_sleep) {
		netdev_count_add(&nd->st.tx_ring_waits, 1);
		uint64_t deadline = time_ns() + NETDEV_TX_WAIT_NS;
		while (!vn->ntx_free && !vn->vd.broken &&
		       time_ns() < deadline) {
			waitq_sleep_intr(&vn->txwq, &vn->txq->lock, deadline);
			virtq_reclaim(vn->txq);
		}
	}
	if (!vn->ntx_free || vn->vd.broken) {
		spin_unlock(&vn->txq->lock);
		return vn->vd.broken ? -EIO : -ENOBUFS;
	}
	struct vnet_buf *b = &vn->tx[vn->tx_free[--vn->ntx_free]];
	memset(b->va, 0, HDR_LEN);
	memcpy(b->va + HDR_LEN, frame, len);
	struct virtq_buf vb = {b->pa, (uint32_t)(HDR_LEN + len)};
	int rc = virtq_add(vn->txq, &vb, 1, 0, b);
	if (rc) {
		vn->tx_free[vn->ntx_free++] = b->idx;
		spin_unlock(&vn->txq->lock);
		return rc == -ENOSPC ? -ENOBUFS : -EIO;
	}
	virtq_kick(vn->txq);
	spin_unlock(&vn->txq->lock);
	return 0;
}

static void vnet_link(struct netdev *nd)
{
	struct vnet *vn = nd->priv;
	if (vn->vd.broken)
		nd->link_up = false;
	else if (vn->vd.features & VIRTIO_NET_F_STATUS)
		nd->link_up = virtio_cfg_read16(&vn->vd, CFG_STATUS) &
			      VIRTIO_NET_S_LINK_UP;
	else
		nd->link_up = true;
}

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

static int vnet_describe(struct netdev *nd, char *buf, size_t size)
{
	struct vnet *vn = nd->priv;
	const struct virtio_stats *s = &vn->vd.stats;
	return snprintf(
		buf, size,
		"virtio: %02x:%02x.%u irq %s features %#lx rx_posted %u tx_free %u bad_used %lu bad_len %lu resets %lu%s",
		vn->vd.pci->bus, vn->vd.pci->slot, vn->vd.pci->fn,
		mode_name(vn->vd.irq_mode), (unsigned long)vn->vd.features,
		vn->posted, vn->ntx_free, (unsigned long)s->bad_used,
		(unsigned long)s->bad_len, (unsigned long)s->resets,
		vn->vd.broken ? " BROKEN" : "");
}

static const struct netdev_ops vnet_ops = {
	.xmit = vnet_xmit,
	.poll = vnet_poll,
	.link = vnet_link,
	.describe = vnet_describe,
};

/* Buffers of BUF_SIZE bytes, two per page. */
static int alloc_bufs(struct vnet_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i += PAGE_SIZE / BUF_SIZE) {
		uint64_t pa = pmm_alloc();
		if (!pa)
			return -ENOMEM;
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
		for (unsigned k = 0; k < PAGE_SIZE / BUF_SIZE && i + k < n;
		     k++) {
			b[i + k].pa = pa + k * BUF_SIZE;
			b[i + k].va = phys_to_virt(pa + k * BUF_SIZE);
			b[i + k].idx = (uint16_t)(i + k);
		}
	}
	return 0;
}

static int vnet_setup(struct vnet *vn, struct pci_dev *p)
{
	struct virtio_dev *vd = &vn->vd;
	int rc = virtio_init(vd, p, "virtio-net");
	if (!rc)
		rc = virtio_negotiate(vd, VIRTIO_NET_F_MAC |
						  VIRTIO_NET_F_STATUS |
						  VIRTIO_NET_F_MTU);
	if (rc)
		return rc;
	virtio_irq_init(vd, 2);
	rc = virtq_create(vd, 0, QUEUE_MAX, rx_done, vn, &vn->rxq);
	if (!rc)
		rc = virtq_create(vd, 1, QUEUE_MAX, tx_done, vn, &vn->txq);
	if (rc) {
		printk(KERN_WARN "shoal: virtio-net: queues: error %d\n", rc);
		return rc;
	}
	vn->nrx = MIN(NBUF, vn->rxq->size);
	vn->ntx = MIN(NBUF, vn->txq->size);
	if (alloc_bufs(vn->rx, vn->nrx) || alloc_bufs(vn->tx, vn->ntx))
		return -ENOMEM;
	for (unsigned i = 0; i < vn->ntx; i++)
		vn->tx_free[i] = (uint16_t)i;
	vn->ntx_free = vn->ntx;
	waitq_init(&vn->txwq);

	struct netdev *nd = &vn->nd;
	nd->driver = "virtio-net";
	nd->ops = &vnet_ops;
	nd->priv = vn;
	nd->mtu = 1500;
	if (vd->features & VIRTIO_NET_F_MTU) {
		unsigned mtu = virtio_cfg_read16(vd, CFG_MTU);
		if (mtu >= ETH_MIN_MTU && mtu <= BUF_SIZE - HDR_LEN - ETH_HLEN)
			nd->mtu = mtu;
	}
	if (vd->features & VIRTIO_NET_F_MAC) {
		for (unsigned i = 0; i < ETH_ALEN; i++)
			nd->mac[i] = virtio_cfg_read8(vd, CFG_MAC + i);
	} else {
		/* Locally administered, unicast, from the PCI address. */
		uint8_t m[ETH_ALEN] = {0x02,   0x53,	0x48,
				       p->bus, p->slot, p->fn};
		memcpy(nd->mac, m, ETH_ALEN);
	}
	spin_lock(&vn->rxq->lock);
	for (unsigned i = 0; i < vn->nrx; i++)
		post_rx(vn, i);
	spin_unlock(&vn->rxq->lock);
	virtio_ready(vd);
	nd->polled = vd->irq_mode == VIRTIO_IRQ_POLL;
	spin_lock(&vn->rxq->lock);
	virtq_kick(vn->rxq);
	spin_unlock(&vn->rxq->lock);
	vnet_link(nd);
	return netdev_register(nd);
}

unsigned virtio_net_probe(void)
{
	unsigned found = 0;
	for (struct pci_dev *p = pci_find(VIRTIO_VENDOR, PCI_ANY, NULL); p;
	     p = pci_find(VIRTIO_VENDOR, PCI_ANY, p)) {
		if (p->device != MODERN_NET && p->device != TRANSITIONAL_NET)
			continue;
		if (p->irq_mode != PCI_IRQ_NONE)
			continue; /* already ours */
		if (nvnets == VNET_MAX)
			break;
		struct vnet *vn = kzalloc(sizeof *vn);
		if (!vn)
			break;
		int rc = vnet_setup(vn, p);
		if (rc) {
			/* The device may hold our rings: leave it reset and
			 * keep the memory rather than free what it saw. */
			printk(KERN_WARN
			       "shoal: virtio-net %02x:%02x.%u: not usable (%d)\n",
			       p->bus, p->slot, p->fn, rc);
			continue;
		}
		vnets[nvnets++] = vn;
		found++;
	}
	return found;
}
