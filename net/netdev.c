/*
 * netdev.c — the NIC layer: device registry, the receive threads, the
 * EtherType consumers, transmit, and the /proc/net files.
 *
 * Interface and rules: net/net.h. Classification is net/demux.c (pure,
 * host-tested); this file adds the counting and the calls.
 *
 * /proc/net/dev   Linux's format (two header lines, one line per device)
 * /proc/net/nics  one block per device: driver, MAC, MTU, link, interrupt
 *                 mode, drops by reason, deliveries by consumer, test
 *                 counters
 * /proc/net/tx/IF[:N[:SIZE]]/test   opening it sends N (default 1, at
 *                 most 1000000) broadcast test frames (EtherType 0x88B6)
 *                 of SIZE bytes after the Ethernet header (46..MTU, default
 *                 60: 74-byte frames) on IF, and says how many went, how
 *                 long it took and the rate; the receivers count them in
 *                 test_rx. The frame blaster of the raw throughput figures
 *                 (tools/bench/net.py).
 * /proc/net/tx/IF[:N]/arp    the same with ARP requests for 10.0.2.2 from
 *                 10.0.2.15 (QEMU's user network answers: arp_replies)
 *
 * The tx files are the NIC tests' way in before a socket layer exists: the
 * kernel's procfs has no write path, so the request is the file's name and
 * the action happens when it is opened (once per open).
 *
 * Locking: `devs` only grows, each slot written before ndevs is published
 * (release store), so lookups take no lock. dev->lock guards rx_pending
 * and the receive thread's sleep; drivers may take it inside their own
 * spinlocks (it is always innermost). Consumer hooks are single pointers
 * read and written atomically.
 */
#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/errno.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "net/net.h"
#include "vm/vm.h"

#define TX_FRAMES_MAX 1000000
#define TX_SIZE_MIN 46 /* Ethernet's minimum payload: a 60-byte frame */
#define TX_SIZE_DEFAULT (NET_TEST_HDR - ETH_HLEN + 46) /* a 74-byte frame */
#define SEC_NS 1000000000ULL

static struct netdev *devs[NETDEV_MAX];
static unsigned ndevs;
static netdev_input_fn ip_input, linker_input;

/* ------------------------------------------------------------ registry */

unsigned netdev_count(void)
{
	return __atomic_load_n(&ndevs, __ATOMIC_ACQUIRE);
}

struct netdev *netdev_get(unsigned index)
{
	return index < netdev_count() ? devs[index] : NULL;
}

struct netdev *netdev_find(const char *name)
{
	for (unsigned i = 0; i < netdev_count(); i++)
		if (!strcmp(devs[i]->name, name))
			return devs[i];
	return NULL;
}

netdev_input_fn netdev_set_ip_input(netdev_input_fn fn)
{
	return __atomic_exchange_n(&ip_input, fn, __ATOMIC_ACQ_REL);
}

netdev_input_fn netdev_set_linker_input(netdev_input_fn fn)
{
	return __atomic_exchange_n(&linker_input, fn, __ATOMIC_ACQ_REL);
}

bool netdev_may_sleep(void)
{
	return irq_enabled();
}

/* ------------------------------------------------------------ receive */

void netdev_schedule(struct netdev *dev)
{
	spin_lock(&dev->lock);
	dev->rx_pending = true;
	waitq_wakeup_all(&dev->wq);
	spin_unlock(&dev->lock);
}

static void rx_test(struct netdev *dev, const uint8_t *frame, size_t len)
{
	uint32_t seq;
	if (net_test_check(frame, len, &seq)) {
		netdev_count_add(&dev->st.test_rx, 1);
		__atomic_store_n(&dev->st.test_last_seq, seq, __ATOMIC_RELAXED);
	} else {
		netdev_count_add(&dev->st.test_bad, 1);
	}
}

void netdev_rx(struct netdev *dev, const void *frame, size_t len)
{
	struct netdev_stats *st = &dev->st;
	const uint8_t *f = frame;
	netdev_count_add(&st->rx_packets, 1);
	netdev_count_add(&st->rx_bytes, len);
	netdev_input_fn ip = __atomic_load_n(&ip_input, __ATOMIC_ACQUIRE);
	netdev_input_fn lk = __atomic_load_n(&linker_input, __ATOMIC_ACQUIRE);
	unsigned hooks = (ip ? NET_HOOK_IP : 0) | (lk ? NET_HOOK_LINKER : 0);
	struct net_demux_result r;
	net_demux(f, len, dev->mtu, dev->mac, hooks, &r);
	if (r.ethertype == ETHERTYPE_ARP &&
	    (r.cls == NET_CLASS_IP || r.why == NET_DROP_NO_HOOK) &&
	    net_arp_reply_for(f, len, dev->mac))
		netdev_count_add(&st->arp_replies, 1);
	if (r.cls == NET_CLASS_DROP) {
		netdev_count_add(&st->rx_dropped, 1);
		netdev_count_add(&st->rx_drop[r.why], 1);
		return;
	}
	if (f[0] & 1)
		netdev_count_add(&st->rx_multicast, 1);
	switch (r.cls) {
	case NET_CLASS_IP:
		netdev_count_add(r.ethertype == ETHERTYPE_ARP ? &st->rx_arp
							      : &st->rx_ip,
				 1);
		ip(dev, frame, len);
		break;
	case NET_CLASS_LINKER:
		netdev_count_add(&st->rx_linker, 1);
		lk(dev, frame, len);
		break;
	case NET_CLASS_TEST:
		rx_test(dev, f, len);
		break;
	case NET_CLASS_DROP:
		break;
	}
}

/*
 * The receive thread: sleep until scheduled (or a second passes, or a
 * tick when the device has no interrupt), poll with a budget, re-arm.
 */
static void rx_thread(void *arg)
{
	struct netdev *dev = arg;
	uint64_t next_link = 0;
	for (;;) {
		spin_lock(&dev->lock);
		uint64_t wait = dev->polled ? SEC_NS / time_hz() : SEC_NS;
		uint64_t deadline = time_ns() + wait;
		while (!dev->rx_pending && time_ns() < deadline)
			waitq_sleep_intr(&dev->wq, &dev->lock, deadline);
		dev->rx_pending = false;
		spin_unlock(&dev->lock);

		uint64_t now = time_ns();
		if (dev->ops->link && now >= next_link) {
			dev->ops->link(dev);
			next_link = now + SEC_NS;
		}
		netdev_count_add(&dev->st.polls, 1);
		unsigned n = dev->ops->poll(dev, NETDEV_RX_BUDGET);
		if (n >= NETDEV_RX_BUDGET) {
			dev->rx_pending =
				true; /* more waiting: let others run */
			thread_yield();
			continue;
		}
		if (dev->ops->irq_on)
			dev->ops->irq_on(dev);
	}
}

int netdev_register(struct netdev *dev)
{
	unsigned n = netdev_count();
	if (n == NETDEV_MAX) {
		printk(KERN_WARN
		       "shoal: net: more than %u devices; %s ignored\n",
		       NETDEV_MAX, dev->driver);
		return -ENOSPC;
	}
	snprintf(dev->name, sizeof dev->name, "eth%u", n);
	dev->index = n;
	spin_init(&dev->lock, "netdev");
	waitq_init(&dev->wq);
	if (dev->mtu < ETH_MIN_MTU || dev->mtu > ETH_MAX_MTU)
		dev->mtu = 1500;
	char tname[16];
	snprintf(tname, sizeof tname, "%s-rx", dev->name);
	dev->thread = thread_create(tname, rx_thread, dev);
	if (!dev->thread)
		return -ENOMEM;
	devs[n] = dev;
	__atomic_store_n(&ndevs, n + 1, __ATOMIC_RELEASE);
	const uint8_t *m = dev->mac;
	printk("shoal: %s: %s %02x:%02x:%02x:%02x:%02x:%02x, MTU %u, link %s%s\n",
	       dev->name, dev->driver, m[0], m[1], m[2], m[3], m[4], m[5],
	       dev->mtu, dev->link_up ? "up" : "down",
	       dev->polled ? ", polled" : "");
	return 0;
}

/* ------------------------------------------------------------ transmit */

int netdev_xmit(struct netdev *dev, const void *frame, size_t len)
{
	if (!dev || !frame || len < ETH_HLEN ||
	    len > (size_t)dev->mtu + ETH_HLEN) {
		if (dev)
			netdev_count_add(&dev->st.tx_errors, 1);
		return -EINVAL;
	}
	int rc = dev->ops->xmit(dev, frame, len);
	if (rc == 0) {
		netdev_count_add(&dev->st.tx_packets, 1);
		netdev_count_add(&dev->st.tx_bytes, len);
	} else if (rc == -ENOBUFS) {
		netdev_count_add(&dev->st.tx_dropped, 1);
	} else {
		netdev_count_add(&dev->st.tx_errors, 1);
	}
	return rc;
}

/* ------------------------------------------------------------ /proc/net */

int netdev_format_dev(char *buf, size_t size)
{
	int n = 0;
	EMIT("Inter-|   Receive                                                |  Transmit\n");
	EMIT(" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n");
	for (unsigned i = 0; i < netdev_count(); i++) {
		const struct netdev *d = devs[i];
		const struct netdev_stats *s = &d->st;
		EMIT("%6s:%8lu %7lu %4lu %4lu %4lu %5lu %10lu %9lu %8lu %7lu %4lu %4lu %4lu %5lu %7lu %10lu\n",
		     d->name, (unsigned long)s->rx_bytes,
		     (unsigned long)s->rx_packets, (unsigned long)s->rx_errors,
		     (unsigned long)s->rx_dropped, (unsigned long)s->rx_fifo,
		     0ul, 0ul, (unsigned long)s->rx_multicast,
		     (unsigned long)s->tx_bytes, (unsigned long)s->tx_packets,
		     (unsigned long)s->tx_errors, (unsigned long)s->tx_dropped,
		     0ul, 0ul, 0ul, 0ul);
	}
	return n;
}

static int gen_dev(char *buf, size_t size, void *arg, uint64_t key)
{
	return netdev_format_dev(buf, size);
}

static int gen_nics(char *buf, size_t size, void *arg, uint64_t key)
{
	int n = 0;
	for (unsigned i = 0; i < netdev_count(); i++) {
		struct netdev *d = devs[i];
		const struct netdev_stats *s = &d->st;
		const uint8_t *m = d->mac;
		EMIT("%s: driver %s mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u link %s\n",
		     d->name, d->driver, m[0], m[1], m[2], m[3], m[4], m[5],
		     d->mtu, d->link_up ? "up" : "down");
		if (d->ops->describe) {
			EMIT("  ");
			n += MAX(0,
				 d->ops->describe(d, buf + MIN((size_t)n, size),
						  size - MIN((size_t)n, size)));
			EMIT("\n");
		}
		EMIT("  interrupts %lu polls %lu tx_ring_waits %lu\n",
		     (unsigned long)s->interrupts, (unsigned long)s->polls,
		     (unsigned long)s->tx_ring_waits);
		EMIT("  delivered ip %lu arp %lu linker %lu\n",
		     (unsigned long)s->rx_ip, (unsigned long)s->rx_arp,
		     (unsigned long)s->rx_linker);
		EMIT("  dropped");
		for (unsigned r = 1; r < NET_DROP_COUNT; r++)
			EMIT(" %s %lu", net_drop_names[r],
			     (unsigned long)s->rx_drop[r]);
		EMIT("\n");
		EMIT("  test_rx %lu test_bad %lu test_tx %lu test_last_seq %u arp_replies %lu\n",
		     (unsigned long)s->test_rx, (unsigned long)s->test_bad,
		     (unsigned long)s->test_tx, s->test_last_seq,
		     (unsigned long)s->arp_replies);
	}
	return n;
}

int netdev_parse_count(const char *s, size_t len, uint64_t max, uint64_t *count)
{
	*count = 1;
	if (len == 0)
		return 0;
	if (s[0] != ':' || len == 1)
		return -ENOENT;
	uint64_t n = 0;
	for (size_t i = 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -ENOENT;
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > max)
			return -ENOENT;
	}
	if (n == 0)
		return -ENOENT;
	*count = n;
	return 0;
}

/*
 * /proc/net/tx: key = device index | count << 8 | size << 32, where size
 * (bytes after the Ethernet header) is 0 when the name gave none.
 */
#define TX_KEY(dev, count, size) \
	((uint64_t)(dev) | (uint64_t)(count) << 8 | (uint64_t)(size) << 32)
#define TX_KEY_DEV(key) ((unsigned)((key)&0xff))
#define TX_KEY_COUNT(key) ((unsigned)(((key) >> 8) & 0xffffff))
#define TX_KEY_SIZE(key) ((unsigned)((key) >> 32))

static int tx_list(void *arg, uint64_t *keys, int max)
{
	int n = 0;
	for (unsigned i = 0; i < netdev_count() && n < max; i++)
		keys[n++] = TX_KEY(i, 1, 0);
	return n;
}

/* IF, IF:N or IF:N:SIZE; anything else is -ENOENT. */
static int tx_lookup(void *arg, const char *name, size_t len, uint64_t *key)
{
	size_t iflen = 0;
	while (iflen < len && name[iflen] != ':')
		iflen++;
	struct netdev *dev = NULL;
	for (unsigned i = 0; i < netdev_count(); i++)
		if (strnlen(devs[i]->name, NETDEV_NAME) == iflen &&
		    !strncmp(devs[i]->name, name, iflen))
			dev = devs[i];
	if (!dev)
		return -ENOENT;
	/* The count runs to a second colon, which starts the size. */
	size_t cend = iflen + 1;
	while (cend < len && name[cend] != ':')
		cend++;
	if (cend > len)
		cend = len;
	uint64_t count, size = 0;
	if (netdev_parse_count(name + iflen, cend - iflen, TX_FRAMES_MAX,
			       &count))
		return -ENOENT;
	if (cend < len &&
	    (netdev_parse_count(name + cend, len - cend, dev->mtu, &size) ||
	     size < TX_SIZE_MIN))
		return -ENOENT;
	*key = TX_KEY(dev->index, count, size);
	return 0;
}

static void tx_name(void *arg, uint64_t key, char *buf, size_t size)
{
	struct netdev *dev = netdev_get(TX_KEY_DEV(key));
	const char *name = dev ? dev->name : "?";
	unsigned count = TX_KEY_COUNT(key), bytes = TX_KEY_SIZE(key);
	if (bytes)
		snprintf(buf, size, "%s:%u:%u", name, count, bytes);
	else if (count != 1)
		snprintf(buf, size, "%s:%u", name, count);
	else
		snprintf(buf, size, "%s", name);
}

/* What one tx_send run did, for its report: frames sent, the last error
 * (or 0), the first test sequence number, the bytes per frame without the
 * CRC (on entry: the test frames' length), the time of the whole loop and
 * the part of it spent in netdev_xmit. */
struct tx_result {
	unsigned sent;
	int err;
	uint32_t first;
	size_t len;
	uint64_t ns, xmit_ns;
};

/* Send count frames built by kind (0 test, 1 ARP) of len bytes (test
 * frames only) on dev, as fast as the driver takes them. */
static void tx_run(struct netdev *dev, unsigned count, int kind, uint8_t *frame,
		   size_t cap, struct tx_result *r)
{
	static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff,
						0xff, 0xff, 0xff};
	static const uint8_t spa[4] = {10, 0, 2, 15}, tpa[4] = {10, 0, 2, 2};
	uint64_t start = time_ns();
	for (unsigned i = 0; i < count; i++) {
		size_t len;
		if (kind == 0) {
			uint32_t seq = __atomic_fetch_add(&dev->st.test_tx, 1,
							  __ATOMIC_RELAXED);
			if (i == 0)
				r->first = seq;
			len = net_build_test(frame, cap, bcast, dev->mac, seq,
					     (uint16_t)(r->len - NET_TEST_HDR));
		} else {
			len = net_build_arp_request(frame, cap, dev->mac, spa,
						    tpa);
		}
		/* Pad to the 60-byte minimum (the device adds the CRC). */
		if (len < 60) {
			memset(frame + len, 0, 60 - len);
			len = 60;
		}
		r->len = len;
		uint64_t t0 = time_ns();
		int rc = netdev_xmit(dev, frame, len);
		r->xmit_ns += time_ns() - t0;
		if (rc)
			r->err = rc;
		else
			r->sent++;
	}
	r->ns = time_ns() - start;
}

/* Open of a tx file: send, then report. The test report begins with
 * "IF: sent S of N test frames (seq A..B)" (tests/qemu/test_nic.py) and
 * adds the time and the rate over the whole loop; MiB are 2^20 bytes of
 * frames without their CRC, as /proc/net/dev counts them. */
static int tx_send(char *buf, size_t size, uint64_t key, int kind)
{
	struct netdev *dev = netdev_get(TX_KEY_DEV(key));
	unsigned count = TX_KEY_COUNT(key), bytes = TX_KEY_SIZE(key);
	if (!dev)
		return -ENODEV;
	if (kind == 1 && bytes)
		return -EINVAL; /* ARP requests have their own size */
	struct tx_result r = {.len = ETH_HLEN +
				     (bytes ? bytes : TX_SIZE_DEFAULT)};
	size_t cap = MAX(r.len, (size_t)128);
	uint8_t *frame = kmalloc(cap);
	if (!frame)
		return -ENOMEM;
	tx_run(dev, count, kind, frame, cap, &r);
	kfree(frame);
	const char *sep = r.err ? ": " : "",
		   *why = r.err ? errno_text(r.err) : "";
	if (kind == 1)
		return snprintf(buf, size,
				"%s: sent %u of %u ARP requests%s%s\n",
				dev->name, r.sent, count, sep, why);
	uint64_t us = r.ns / 1000 ? r.ns / 1000 : 1;
	uint64_t fps = (uint64_t)r.sent * 1000000 / us;
	/* MiB/s with two decimals, in integers. */
	uint64_t centi = (uint64_t)r.sent * r.len * 100 * 1000000 / us >> 20;
	return snprintf(buf, size,
			"%s: sent %u of %u test frames (seq %u..%u) in %lu us "
			"(xmit %lu us), %lu frames/s, %lu.%02lu MiB/s of "
			"%lu-byte frames%s%s\n",
			dev->name, r.sent, count, r.first, r.first + count - 1,
			(unsigned long)us, (unsigned long)(r.xmit_ns / 1000),
			(unsigned long)fps, (unsigned long)(centi / 100),
			(unsigned long)(centi % 100), (unsigned long)r.len, sep,
			why);
}

static int gen_tx_test(char *buf, size_t size, void *arg, uint64_t key)
{
	return tx_send(buf, size, key, 0);
}

static int gen_tx_arp(char *buf, size_t size, void *arg, uint64_t key)
{
	return tx_send(buf, size, key, 1);
}

static const struct procfs_dynfile tx_files[] = {
	{"test", gen_tx_test, false, NULL},
	{"arp", gen_tx_arp, false, NULL},
};

static const struct procfs_dynset tx_set = {
	.list = tx_list,
	.lookup = tx_lookup,
	.name = tx_name,
	.files = tx_files,
	.nfiles = 2,
};

void net_init(void)
{
	e1000_probe();
	virtio_net_probe();
	procfs_register("net/dev", gen_dev, NULL);
	procfs_register("net/nics", gen_nics, NULL);
	procfs_register_dynset("net/tx", &tx_set);
}
