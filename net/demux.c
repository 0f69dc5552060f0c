/*
 * demux.c — Ethernet frame classification and test-frame formats: the pure
 * core of the NIC layer (interface: net/net_impl.h).
 *
 * Order of the checks in net_demux, each a reason of its own so the
 * counters say exactly what arrived: length (runt, giant) → destination
 * (ours, broadcast or multicast) → EtherType (an 802.3 length field, a
 * known type, a registered consumer). A frame is only ever read inside
 * [0, len); nothing here trusts a length found inside a frame.
 */
#include "net/net_impl.h"

const char *const net_drop_names[NET_DROP_COUNT] = {
	[NET_DROP_NONE] = "none",
	[NET_DROP_RUNT] = "runt",
	[NET_DROP_GIANT] = "giant",
	[NET_DROP_OTHER_HOST] = "other_host",
	[NET_DROP_LENGTH_FIELD] = "8023_length",
	[NET_DROP_UNKNOWN_TYPE] = "unknown_type",
	[NET_DROP_NO_HOOK] = "no_hook",
};

static const uint8_t test_magic[8] = {'S', 'H', 'O', 'A', 'L', 'N', 'I', 'C'};

static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static void copy(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static enum net_class drop(struct net_demux_result *res, enum net_drop why)
{
	res->cls = NET_CLASS_DROP;
	res->why = why;
	return NET_CLASS_DROP;
}

enum net_class net_demux(const uint8_t *frame, size_t len, unsigned mtu,
			 const uint8_t mac[ETH_ALEN], unsigned hooks,
			 struct net_demux_result *res)
{
	res->ethertype = 0;
	res->why = NET_DROP_NONE;
	if (!frame || len < ETH_HLEN)
		return drop(res, NET_DROP_RUNT);
	if (len > (size_t)mtu + ETH_HLEN)
		return drop(res, NET_DROP_GIANT);
	res->ethertype = be16(frame + 12);
	/* Broadcast and multicast have bit 0 of the first byte set. */
	if (!(frame[0] & 1) && !same(frame, mac, ETH_ALEN))
		return drop(res, NET_DROP_OTHER_HOST);
	switch (res->ethertype) {
	case ETHERTYPE_IPV4:
	case ETHERTYPE_ARP:
		if (!(hooks & NET_HOOK_IP))
			return drop(res, NET_DROP_NO_HOOK);
		res->cls = NET_CLASS_IP;
		return res->cls;
	case ETHERTYPE_LINKER:
		if (!(hooks & NET_HOOK_LINKER))
			return drop(res, NET_DROP_NO_HOOK);
		res->cls = NET_CLASS_LINKER;
		return res->cls;
	case ETHERTYPE_TEST:
		res->cls = NET_CLASS_TEST;
		return res->cls;
	default:
		return drop(res, res->ethertype < 0x0600
					 ? NET_DROP_LENGTH_FIELD
					 : NET_DROP_UNKNOWN_TYPE);
	}
}

/* ARP for Ethernet/IPv4 (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4,
 * op, sha, spa, tha, tpa. */
#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

bool net_arp_reply_for(const uint8_t *frame, size_t len,
		       const uint8_t mac[ETH_ALEN])
{
	if (!frame || len < ETH_HLEN + ARP_LEN ||
	    be16(frame + 12) != ETHERTYPE_ARP)
		return false;
	const uint8_t *a = frame + ETH_HLEN;
	return be16(a) == 1 && be16(a + 2) == ETHERTYPE_IPV4 && a[4] == 6 &&
	       a[5] == 4 && be16(a + 6) == ARP_OP_REPLY &&
	       same(a + 18, mac, ETH_ALEN);
}

size_t net_build_arp_request(uint8_t *buf, size_t size,
			     const uint8_t src[ETH_ALEN], const uint8_t spa[4],
			     const uint8_t tpa[4])
{
	static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff,
						0xff, 0xff, 0xff};
	if (!buf || size < ETH_HLEN + ARP_LEN)
		return 0;
	copy(buf, bcast, ETH_ALEN);
	copy(buf + 6, src, ETH_ALEN);
	put16(buf + 12, ETHERTYPE_ARP);
	uint8_t *a = buf + ETH_HLEN;
	put16(a, 1);
	put16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, ARP_OP_REQUEST);
	copy(a + 8, src, ETH_ALEN);
	copy(a + 14, spa, 4);
	for (unsigned i = 0; i < ETH_ALEN; i++)
		a[18 + i] = 0;
	copy(a + 24, tpa, 4);
	return ETH_HLEN + ARP_LEN;
}

size_t net_build_test(uint8_t *buf, size_t size, const uint8_t dst[ETH_ALEN],
		      const uint8_t src[ETH_ALEN], uint32_t seq,
		      uint16_t payload)
{
	size_t len = (size_t)NET_TEST_HDR + payload;
	if (!buf || size < len)
		return 0;
	copy(buf, dst, ETH_ALEN);
	copy(buf + 6, src, ETH_ALEN);
	put16(buf + 12, ETHERTYPE_TEST);
	uint8_t *p = buf + ETH_HLEN;
	copy(p, test_magic, sizeof test_magic);
	put16(p + 8, (uint16_t)(seq >> 16));
	put16(p + 10, (uint16_t)seq);
	put16(p + 12, payload);
	for (size_t i = 0; i < payload; i++)
		buf[NET_TEST_HDR + i] = (uint8_t)(seq + i);
	return len;
}

bool net_test_check(const uint8_t *frame, size_t len, uint32_t *seq)
{
	if (!frame || len < NET_TEST_HDR || be16(frame + 12) != ETHERTYPE_TEST)
		return false;
	const uint8_t *p = frame + ETH_HLEN;
	if (!same(p, test_magic, sizeof test_magic))
		return false;
	uint32_t s = (uint32_t)be16(p + 8) << 16 | be16(p + 10);
	size_t n = be16(p + 12);
	/* The sender may be padded to the 60-byte minimum: at least n. */
	if (n > len - NET_TEST_HDR)
		return false;
	for (size_t i = 0; i < n; i++)
		if (frame[NET_TEST_HDR + i] != (uint8_t)(s + i))
			return false;
	if (seq)
		*seq = s;
	return true;
}
