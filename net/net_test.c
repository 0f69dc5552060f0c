/*
 * net_test.c — self-tests of the NIC layer (run with `selftest=net`).
 *
 *   net_rx_demux     a fake device (registered as the next ethN): frames of
 *                    every kind through netdev_rx reach the right hook or
 *                    the right drop counter; hooks set and cleared
 *   net_xmit_checks  netdev_xmit refuses runts and giants before a driver
 *                    sees them
 *   net_tx_burst     on each real NIC: 500 test frames as fast as possible
 *                    (many times the ring): each is sent or dropped with
 *                    -ENOBUFS, none fails otherwise, and it ends in bounded
 *                    time; skipped without NICs
 *   net_e1000_arp    on the first e1000: an ARP request for QEMU's user
 *                    network gateway (10.0.2.2) gets its reply counted
 *                    within 5 s (skipped without an e1000)
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "net/net.h"
#include "vm/vm.h"

#define MS 1000000ULL

static struct {
	unsigned ip, linker, last_len;
	uint16_t last_type;
} seen;

static void fake_ip(struct netdev *dev, const void *frame, size_t len)
{
	const uint8_t *f = frame;
	seen.ip++;
	seen.last_len = (unsigned)len;
	seen.last_type = (uint16_t)(f[12] << 8 | f[13]);
}

static void fake_linker(struct netdev *dev, const void *frame, size_t len)
{
	seen.linker++;
	seen.last_len = (unsigned)len;
}

static unsigned fake_sent;

static int fake_xmit(struct netdev *dev, const void *frame, size_t len)
{
	fake_sent++;
	return 0;
}

static unsigned fake_poll(struct netdev *dev, unsigned budget)
{
	return 0;
}

static const struct netdev_ops fake_ops = {
	.xmit = fake_xmit,
	.poll = fake_poll,
};

static struct netdev *fake_dev(void)
{
	static struct netdev *fake;
	if (!fake) {
		struct netdev *d = kzalloc(sizeof *d);
		if (!d)
			return NULL;
		static const uint8_t mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x42};
		memcpy(d->mac, mac, ETH_ALEN);
		d->driver = "selftest";
		d->mtu = 1500;
		d->link_up = true;
		d->ops = &fake_ops;
		if (netdev_register(d)) {
			kfree(d);
			return NULL;
		}
		fake = d;
	}
	return fake;
}

static size_t make(uint8_t *f, const uint8_t *dst, uint16_t type, size_t len)
{
	static const uint8_t src[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x99};
	memset(f, 0xA5, len);
	if (len >= ETH_HLEN) {
		memcpy(f, dst, ETH_ALEN);
		memcpy(f + 6, src, ETH_ALEN);
		f[12] = (uint8_t)(type >> 8);
		f[13] = (uint8_t)type;
	}
	return len;
}

SELFTEST(net_rx_demux)
{
	struct netdev *d = fake_dev();
	ST_ASSERT(d);
	static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff,
						0xff, 0xff, 0xff};
	static const uint8_t stranger[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x43};
	uint8_t *f = kmalloc(2048);
	ST_ASSERT(f);
	struct netdev_stats before = d->st;
	netdev_input_fn old_ip = netdev_set_ip_input(NULL);
	netdev_input_fn old_lk = netdev_set_linker_input(NULL);
	memset(&seen, 0, sizeof seen);

	/* No hooks: IPv4, ARP and Linker frames are dropped as no_hook. */
	netdev_rx(d, f, make(f, bcast, ETHERTYPE_IPV4, 60));
	netdev_rx(d, f, make(f, d->mac, ETHERTYPE_ARP, 60));
	netdev_rx(d, f, make(f, d->mac, ETHERTYPE_LINKER, 60));
	/* Malformed or foreign. */
	netdev_rx(d, f, make(f, bcast, ETHERTYPE_IPV4, 13));
	netdev_rx(d, f, make(f, bcast, ETHERTYPE_IPV4, 0));
	netdev_rx(d, f, make(f, bcast, ETHERTYPE_IPV4, 1515));
	netdev_rx(d, f, make(f, stranger, ETHERTYPE_IPV4, 60));
	netdev_rx(d, f, make(f, bcast, 0x86DD, 60));
	netdev_rx(d, f, make(f, bcast, 0x0040, 60));
	/* Test frames are always taken; a bad one is counted as such. */
	netdev_rx(d, f, net_build_test(f, 2048, bcast, d->mac, 77, 46));
	netdev_rx(d, f, make(f, bcast, ETHERTYPE_TEST, 60));

	netdev_set_ip_input(fake_ip);
	netdev_set_linker_input(fake_linker);
	netdev_rx(d, f, make(f, bcast, ETHERTYPE_IPV4, 1514));
	netdev_rx(d, f, make(f, d->mac, ETHERTYPE_ARP, 42));
	netdev_rx(d, f, make(f, d->mac, ETHERTYPE_LINKER, 100));
	netdev_set_ip_input(old_ip);
	netdev_set_linker_input(old_lk);
	kfree(f);

	const struct netdev_stats *s = &d->st;
	ST_ASSERT(s->rx_packets - before.rx_packets == 14);
	ST_ASSERT(s->rx_drop[NET_DROP_NO_HOOK] -
			  before.rx_drop[NET_DROP_NO_HOOK] ==
		  3);
	ST_ASSERT(s->rx_drop[NET_DROP_RUNT] - before.rx_drop[NET_DROP_RUNT] ==
		  2);
	ST_ASSERT(s->rx_drop[NET_DROP_GIANT] - before.rx_drop[NET_DROP_GIANT] ==
		  1);
	ST_ASSERT(s->rx_drop[NET_DROP_OTHER_HOST] -
			  before.rx_drop[NET_DROP_OTHER_HOST] ==
		  1);
	ST_ASSERT(s->rx_drop[NET_DROP_UNKNOWN_TYPE] -
			  before.rx_drop[NET_DROP_UNKNOWN_TYPE] ==
		  1);
	ST_ASSERT(s->rx_drop[NET_DROP_LENGTH_FIELD] -
			  before.rx_drop[NET_DROP_LENGTH_FIELD] ==
		  1);
	ST_ASSERT(s->rx_dropped - before.rx_dropped == 9);
	ST_ASSERT(s->test_rx - before.test_rx == 1 && s->test_last_seq == 77);
	ST_ASSERT(s->test_bad - before.test_bad == 1);
	ST_ASSERT(seen.ip == 2 && seen.linker == 1 && seen.last_len == 100);
	ST_ASSERT(s->rx_ip - before.rx_ip == 1 &&
		  s->rx_arp - before.rx_arp == 1);
	ST_ASSERT(s->rx_linker - before.rx_linker == 1);
	return 0;
}

SELFTEST(net_xmit_checks)
{
	struct netdev *d = fake_dev();
	ST_ASSERT(d);
	uint8_t *f = kzalloc(2048);
	ST_ASSERT(f);
	unsigned sent = fake_sent;
	uint64_t errs = d->st.tx_errors;
	ST_ASSERT(netdev_xmit(d, f, 13) == -EINVAL);
	ST_ASSERT(netdev_xmit(d, f, 1515) == -EINVAL);
	ST_ASSERT(netdev_xmit(d, NULL, 60) == -EINVAL);
	ST_ASSERT(netdev_xmit(NULL, f, 60) == -EINVAL);
	ST_ASSERT(fake_sent == sent && d->st.tx_errors == errs + 3);
	ST_ASSERT(netdev_xmit(d, f, 1514) == 0 && fake_sent == sent + 1);
	kfree(f);
	ST_ASSERT(netdev_find(d->name) == d);
	ST_ASSERT(netdev_find("nope") == NULL);
	return 0;
}

SELFTEST(net_tx_burst)
{
	unsigned tried = 0;
	uint8_t *f = kmalloc(256);
	ST_ASSERT(f);
	static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff,
						0xff, 0xff, 0xff};
	for (unsigned i = 0; i < netdev_count(); i++) {
		struct netdev *d = netdev_get(i);
		if (d->ops == &fake_ops)
			continue;
		tried++;
		uint64_t pk = d->st.tx_packets, dr = d->st.tx_dropped;
		uint64_t start = time_ns();
		unsigned ok = 0, nobufs = 0;
		for (unsigned k = 0; k < 500; k++) {
			size_t len =
				net_build_test(f, 256, bcast, d->mac, k, 46);
			int rc = netdev_xmit(d, f, len);
			ST_ASSERT(rc == 0 || rc == -ENOBUFS);
			if (rc)
				nobufs++;
			else
				ok++;
		}
		uint64_t ms = (time_ns() - start) / MS;
		printk("# %s: 500 frames: %u sent, %u dropped (ring full) in %lu ms\n",
		       d->name, ok, nobufs, (unsigned long)ms);
		ST_ASSERT(d->st.tx_packets - pk == ok);
		ST_ASSERT(d->st.tx_dropped - dr == nobufs);
		ST_ASSERT(ok >= 64); /* at least a ring's worth went */
		ST_ASSERT(ms < 500 * NETDEV_TX_WAIT_NS / MS + 1000);
	}
	kfree(f);
	if (!tried)
		printk("# skipped: no NIC\n");
	return 0;
}

SELFTEST(net_e1000_arp)
{
	struct netdev *d = NULL;
	for (unsigned i = 0; i < netdev_count(); i++)
		if (!strcmp(netdev_get(i)->driver, "e1000"))
			d = netdev_get(i);
	if (!d) {
		printk("# skipped: no e1000\n");
		return 0;
	}
	uint64_t deadline = time_ns() + 5000 * MS;
	while (!d->link_up && time_ns() < deadline)
		thread_sleep_ns(10 * MS);
	ST_ASSERT(d->link_up);
	uint8_t f[60] = {0};
	static const uint8_t spa[4] = {10, 0, 2, 15}, tpa[4] = {10, 0, 2, 2};
	uint64_t before = d->st.arp_replies;
	ST_ASSERT(net_build_arp_request(f, sizeof f, d->mac, spa, tpa) == 42);
	ST_ASSERT(netdev_xmit(d, f, 60) == 0);
	while (d->st.arp_replies == before && time_ns() < deadline)
		thread_sleep_ns(10 * MS);
	ST_ASSERT(d->st.arp_replies > before);
	return 0;
}
