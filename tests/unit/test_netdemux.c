// SOURCES: net/demux.c
/*
 * test_netdemux.c — the NIC layer's frame classifier and test-frame formats
 * (net/demux.c, the very file the kernel runs), by hand and by a seeded
 * random batch.
 *
 * The hand-written cases walk every drop reason and every consumer. The
 * fuzz batch feeds frames of every length from 0 to 2 KiB, each in a heap
 * buffer of exactly its length (so ASan catches any read past the end),
 * with random bytes biased towards the interesting values (our MAC,
 * broadcast, multicast, the known EtherTypes, 802.3 lengths), and compares
 * the verdict with an oracle written separately from the rules in
 * net/net_impl.h. It also mutates valid test frames and ARP replies one
 * byte at a time: a change inside what the checker reads must be refused.
 *
 * FUZZ_CASES (default 20000) and FUZZ_SEED (default 1) select the batch; a
 * failure prints the seed and case number.
 */
#include "net/net_impl.h"
#include "tests/unit/unit.h"

static const uint8_t our_mac[ETH_ALEN] = {0x52, 0x54, 0x00, 0x00, 0x01, 0x02};
static const uint8_t bcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t other[ETH_ALEN] = {0x52, 0x54, 0x00, 0x00, 0x01, 0x03};

static void frame_hdr(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, ETH_ALEN);
	memcpy(f + 6, other, ETH_ALEN);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
}

static enum net_class classify(const uint8_t *dst, uint16_t type, size_t len,
			       unsigned hooks, enum net_drop *why)
{
	uint8_t *f = calloc(1, len ? len : 1);
	if (len >= ETH_HLEN)
		frame_hdr(f, dst, type);
	struct net_demux_result r;
	enum net_class c = net_demux(f, len, 1500, our_mac, hooks, &r);
	free(f);
	*why = r.why;
	return c;
}

TEST(lengths)
{
	enum net_drop why;
	for (size_t len = 0; len < ETH_HLEN; len++) {
		CHECK_EQ(classify(bcast, ETHERTYPE_TEST, len, 0, &why),
			 NET_CLASS_DROP);
		CHECK_EQ(why, NET_DROP_RUNT);
	}
	CHECK_EQ(classify(bcast, ETHERTYPE_TEST, ETH_HLEN, 0, &why),
		 NET_CLASS_TEST);
	CHECK_EQ(classify(bcast, ETHERTYPE_TEST, 1514, 0, &why),
		 NET_CLASS_TEST);
	CHECK_EQ(classify(bcast, ETHERTYPE_TEST, 1515, 0, &why),
		 NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_GIANT);
	struct net_demux_result r;
	CHECK_EQ(net_demux(NULL, 60, 1500, our_mac, 0, &r), NET_CLASS_DROP);
	CHECK_EQ(r.why, NET_DROP_RUNT);
}

TEST(destinations)
{
	enum net_drop why;
	uint8_t mcast[ETH_ALEN] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	CHECK_EQ(classify(our_mac, ETHERTYPE_TEST, 60, 0, &why),
		 NET_CLASS_TEST);
	CHECK_EQ(classify(bcast, ETHERTYPE_TEST, 60, 0, &why), NET_CLASS_TEST);
	CHECK_EQ(classify(mcast, ETHERTYPE_TEST, 60, 0, &why), NET_CLASS_TEST);
	CHECK_EQ(classify(other, ETHERTYPE_TEST, 60, 0, &why), NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_OTHER_HOST);
}

TEST(ethertypes_and_hooks)
{
	enum net_drop why;
	const unsigned all = NET_HOOK_IP | NET_HOOK_LINKER;
	CHECK_EQ(classify(bcast, ETHERTYPE_IPV4, 60, all, &why), NET_CLASS_IP);
	CHECK_EQ(classify(bcast, ETHERTYPE_ARP, 60, NET_HOOK_IP, &why),
		 NET_CLASS_IP);
	CHECK_EQ(classify(bcast, ETHERTYPE_ARP, 60, NET_HOOK_LINKER, &why),
		 NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_NO_HOOK);
	CHECK_EQ(classify(bcast, ETHERTYPE_LINKER, 60, all, &why),
		 NET_CLASS_LINKER);
	CHECK_EQ(classify(bcast, ETHERTYPE_LINKER, 60, NET_HOOK_IP, &why),
		 NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_NO_HOOK);
	CHECK_EQ(classify(bcast, 0x86DD, 60, all, &why), NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_UNKNOWN_TYPE);
	CHECK_EQ(classify(bcast, 0x8100, 60, all, &why), NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_UNKNOWN_TYPE);
	CHECK_EQ(classify(bcast, 0x05DC, 60, all, &why), NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_LENGTH_FIELD);
	CHECK_EQ(classify(bcast, 0x0600, 60, all, &why), NET_CLASS_DROP);
	CHECK_EQ(why, NET_DROP_UNKNOWN_TYPE);
}

TEST(test_frames)
{
	uint8_t buf[200];
	CHECK_EQ(net_build_test(buf, NET_TEST_HDR + 9, bcast, our_mac, 7, 10),
		 0);
	size_t len = net_build_test(buf, sizeof buf, bcast, our_mac, 0x01020304,
				    100);
	CHECK_EQ(len, NET_TEST_HDR + 100);
	uint32_t seq = 0;
	CHECK(net_test_check(buf, len, &seq));
	CHECK_EQ(seq, 0x01020304);
	CHECK(!net_test_check(buf, len - 1, NULL)); /* truncated */
	uint8_t padded[256] = {0};
	memcpy(padded, buf, len);
	CHECK(net_test_check(padded, len + 20, &seq)); /* padding is fine */
	buf[NET_TEST_HDR + 50] ^= 1;
	CHECK(!net_test_check(buf, len, NULL));
	struct net_demux_result r;
	len = net_build_test(buf, sizeof buf, bcast, our_mac, 1, 0);
	CHECK_EQ(net_demux(buf, len, 1500, our_mac, 0, &r), NET_CLASS_TEST);
}

static size_t arp_reply(uint8_t *f, const uint8_t *tha)
{
	static const uint8_t spa[4] = {10, 0, 2, 2}, tpa[4] = {10, 0, 2, 15};
	size_t len = net_build_arp_request(f, 64, other, spa, tpa);
	memcpy(f, tha, ETH_ALEN);
	f[ETH_HLEN + 7] = 2; /* op: reply */
	memcpy(f + ETH_HLEN + 18, tha, ETH_ALEN);
	return len;
}

TEST(arp)
{
	uint8_t f[64];
	static const uint8_t spa[4] = {10, 0, 2, 15}, tpa[4] = {10, 0, 2, 2};
	CHECK_EQ(net_build_arp_request(f, 41, our_mac, spa, tpa), 0);
	size_t len = net_build_arp_request(f, sizeof f, our_mac, spa, tpa);
	CHECK_EQ(len, 42);
	CHECK(!net_arp_reply_for(f, len, our_mac)); /* a request */
	len = arp_reply(f, our_mac);
	CHECK(net_arp_reply_for(f, len, our_mac));
	CHECK(!net_arp_reply_for(f, len, other));
	CHECK(!net_arp_reply_for(f, len - 1, our_mac));
	CHECK(!net_arp_reply_for(NULL, len, our_mac));
}

/* ------------------------------------------------------------ fuzz */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned env_num(const char *name, unsigned dflt)
{
	const char *s = getenv(name);
	return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

/* The rules of net_impl.h, restated. */
static void oracle(const uint8_t *f, size_t len, unsigned mtu, unsigned hooks,
		   enum net_class *cls, enum net_drop *why)
{
	*cls = NET_CLASS_DROP;
	if (len < 14) {
		*why = NET_DROP_RUNT;
		return;
	}
	if (len > mtu + 14u) {
		*why = NET_DROP_GIANT;
		return;
	}
	bool group = f[0] & 1;
	if (!group && memcmp(f, our_mac, 6) != 0) {
		*why = NET_DROP_OTHER_HOST;
		return;
	}
	unsigned t = (unsigned)f[12] << 8 | f[13];
	*why = NET_DROP_NONE;
	if (t == 0x0800 || t == 0x0806) {
		if (hooks & NET_HOOK_IP)
			*cls = NET_CLASS_IP;
		else
			*why = NET_DROP_NO_HOOK;
	} else if (t == 0x88B5) {
		if (hooks & NET_HOOK_LINKER)
			*cls = NET_CLASS_LINKER;
		else
			*why = NET_DROP_NO_HOOK;
	} else if (t == 0x88B6) {
		*cls = NET_CLASS_TEST;
	} else {
		*why = t < 0x600 ? NET_DROP_LENGTH_FIELD
				 : NET_DROP_UNKNOWN_TYPE;
	}
}

static size_t rnd_len(void)
{
	switch (rnd() % 6) {
	case 0:
		return rnd() % 20; /* around a header */
	case 1:
		return 1500 + 10 + rnd() % 10; /* around the MTU */
	case 2:
		return 9000 + 10 + rnd() % 10;
	default:
		return rnd() % 2049;
	}
}

static void rnd_frame(uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)rnd();
	if (len >= 6) {
		switch (rnd() % 4) {
		case 0:
			memcpy(f, our_mac, 6);
			break;
		case 1:
			memcpy(f, bcast, 6);
			break;
		case 2:
			f[0] |= 1;
			break;
		default:
			break;
		}
	}
	if (len >= 14 && rnd() % 4) {
		static const uint16_t types[] = {0x0800, 0x0806, 0x88B5,
						 0x88B6, 0x86DD, 0x05DC,
						 0x0600, 0x05FF, 0x0000};
		uint16_t t = types[rnd() % (sizeof types / sizeof *types)];
		f[12] = (uint8_t)(t >> 8);
		f[13] = (uint8_t)t;
	}
}

TEST(fuzz)
{
	uint64_t seed = env_num("FUZZ_SEED", 1);
	unsigned cases = env_num("FUZZ_CASES", 20000);
	unsigned seen[NET_DROP_COUNT] = {0}, classes[4] = {0};
	for (unsigned c = 0; c < cases; c++) {
		rng = (seed * 0x9E3779B97F4A7C15ull) ^
		      (c + 1) * 0xD1B54A32D192ED03ull;
		rnd();
		size_t len = rnd_len();
		unsigned mtu = rnd() % 3 ? 1500 : ETH_MIN_MTU + rnd() % 9000;
		unsigned hooks = (unsigned)rnd() & 3;
		uint8_t *f = malloc(len ? len : 1);
		rnd_frame(f, len);
		enum net_class want;
		enum net_drop want_why;
		oracle(f, len, mtu, hooks, &want, &want_why);
		struct net_demux_result r;
		enum net_class got = net_demux(f, len, mtu, our_mac, hooks, &r);
		/* Every parser on every buffer: ASan watches the reads. */
		net_test_check(f, len, NULL);
		net_arp_reply_for(f, len, our_mac);
		free(f);
		if (got != want || r.cls != got || r.why != want_why ||
		    (got == NET_CLASS_DROP) != (r.why != NET_DROP_NONE)) {
			printf("# seed %" PRIu64
			       " case %u: len %zu mtu %u hooks %u: got %d/%d, want %d/%d\n",
			       seed, c, len, mtu, hooks, got, r.why, want,
			       want_why);
			CHECK(0);
		}
		seen[r.why]++;
		classes[got]++;
	}
	/* The batch reached every verdict (else it tests little). */
	for (unsigned i = 0; i < NET_DROP_COUNT && cases >= 5000; i++)
		CHECK(seen[i] > 0);
	for (unsigned i = 0; i < 4 && cases >= 5000; i++)
		CHECK(classes[i] > 0);
}

TEST(fuzz_mutations)
{
	uint64_t seed = env_num("FUZZ_SEED", 1);
	unsigned cases = env_num("FUZZ_CASES", 20000);
	for (unsigned c = 0; c < cases; c++) {
		rng = (seed * 0xA24BAED4963EE407ull) ^
		      (c + 1) * 0x9FB21C651E98DF25ull;
		rnd();
		uint8_t f[NET_TEST_HDR + 300];
		uint16_t n = (uint16_t)(rnd() % 300);
		uint32_t seq = (uint32_t)rnd();
		size_t len =
			net_build_test(f, sizeof f, bcast, our_mac, seq, n);
		size_t pos = ETH_HLEN + rnd() % (len - ETH_HLEN);
		uint8_t old = f[pos];
		f[pos] ^= (uint8_t)(1 + rnd() % 255);
		uint32_t got_seq = 0;
		bool ok = net_test_check(f, len, &got_seq);
		/* Magic and pattern bytes: refused. The pattern derives from
		 * the sequence number's low byte only, so a change in its
		 * three high bytes (or in any of them with no pattern) is a
		 * different but valid frame. The length field: accepted only
		 * when it shrank (the rest is then padding). */
		size_t lenfield = ETH_HLEN + 12, seqlow = ETH_HLEN + 11;
		bool seq_free = (pos >= ETH_HLEN + 8 && pos < seqlow) ||
				(pos == seqlow && n == 0);
		if (seq_free) {
			if (!ok) {
				printf("# seed %" PRIu64
				       " case %u: sequence byte %zu changed, refused\n",
				       seed, c, pos);
				CHECK(0);
			}
		} else if (pos == lenfield || pos == lenfield + 1) {
			unsigned nn = (unsigned)f[lenfield] << 8 |
				      f[lenfield + 1];
			if (ok && nn > n) {
				printf("# seed %" PRIu64
				       " case %u: grown length accepted\n",
				       seed, c);
				CHECK(0);
			}
		} else if (ok) {
			printf("# seed %" PRIu64
			       " case %u: byte %zu %#x->%#x accepted (n %u)\n",
			       seed, c, pos, old, f[pos], n);
			CHECK(0);
		}
		/* ARP replies: any change in the checked fields refuses. */
		uint8_t a[64];
		size_t alen = arp_reply(a, our_mac);
		size_t apos = 12 + rnd() % (alen - 12);
		a[apos] ^= (uint8_t)(1 + rnd() % 255);
		bool checked = apos < ETH_HLEN + 8 ||
			       (apos >= ETH_HLEN + 18 && apos < ETH_HLEN + 24);
		if (checked && net_arp_reply_for(a, alen, our_mac)) {
			printf("# seed %" PRIu64
			       " case %u: ARP byte %zu changed, accepted\n",
			       seed, c, apos);
			CHECK(0);
		}
		if (!checked && !net_arp_reply_for(a, alen, our_mac)) {
			printf("# seed %" PRIu64
			       " case %u: ARP byte %zu (unchecked) refused\n",
			       seed, c, apos);
			CHECK(0);
		}
	}
}

UNIT_MAIN()
