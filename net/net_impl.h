/*
 * net_impl.h — the pure core of the NIC layer (net/demux.c): Ethernet frame
 * classification, with no kernel includes, so the kernel (net/netdev.c) and
 * the host tests (tests/unit/test_netdemux.c) compile the very same file.
 *
 *   net_demux          classify one received frame: which consumer gets it,
 *                      or why it is dropped. Reads at most the Ethernet
 *                      header and never past `len`.
 *   net_arp_reply_for  is this frame an ARP reply addressed to `mac`
 *                      (the NIC self-test counts the answers it provoked)
 *   net_build_*        fill a buffer with a test frame or an ARP request
 *   net_test_check     validate a received test frame (EtherType 0x88B6)
 *
 * Nothing here keeps state; every input is untrusted.
 */
#ifndef NET_NET_IMPL_H
#define NET_NET_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_MIN_MTU 68
#define ETH_MAX_MTU 9000

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_LINKER 0x88B5 /* the kernel-to-kernel Linker (mosix/) */
#define ETHERTYPE_TEST 0x88B6 /* NIC tests (/proc/net/tx, net_test.c) */

/* Where a frame goes. */
enum net_class {
	NET_CLASS_DROP,
	NET_CLASS_IP, /* IPv4 and ARP: the TCP/IP stack's hook */
	NET_CLASS_LINKER,
	NET_CLASS_TEST,
};

/* Why a frame was dropped (NET_DROP_NONE when it was not). */
enum net_drop {
	NET_DROP_NONE,
	NET_DROP_RUNT, /* shorter than an Ethernet header */
	NET_DROP_GIANT, /* longer than MTU + header */
	NET_DROP_OTHER_HOST, /* unicast to another MAC (promiscuous device) */
	NET_DROP_LENGTH_FIELD, /* 802.3 length (< 0x600): no EtherType */
	NET_DROP_UNKNOWN_TYPE, /* an EtherType nobody handles */
	NET_DROP_NO_HOOK, /* handled type, but no consumer registered yet */
	NET_DROP_COUNT,
};

/* Consumers currently registered, for net_demux. */
#define NET_HOOK_IP (1u << 0)
#define NET_HOOK_LINKER (1u << 1)

struct net_demux_result {
	enum net_class cls;
	enum net_drop why;
	uint16_t ethertype; /* 0 when the frame is too short to have one */
};

/* Names of the drop reasons, for /proc/net/nics. */
extern const char *const net_drop_names[NET_DROP_COUNT];

/*
 * Classify frame[0..len) received on a device with this MTU and MAC.
 * `hooks` is the set of registered consumers (NET_HOOK_*). The test
 * EtherType is always accepted (its consumer is built in). Returns
 * res->cls; res->why says why when it is NET_CLASS_DROP.
 */
enum net_class net_demux(const uint8_t *frame, size_t len, unsigned mtu,
			 const uint8_t mac[ETH_ALEN], unsigned hooks,
			 struct net_demux_result *res);

/* An ARP reply (Ethernet/IPv4, 28 bytes) whose target hardware address
 * is mac. */
bool net_arp_reply_for(const uint8_t *frame, size_t len,
		       const uint8_t mac[ETH_ALEN]);

/*
 * Test frames: destination, source, ETHERTYPE_TEST, then the magic
 * "SHOALNIC", a 32-bit big-endian sequence number, a 16-bit big-endian
 * payload length n and n bytes of pattern (byte i = seq + i). Returns the
 * frame's length, or 0 when buf is too small.
 */
#define NET_TEST_HDR (ETH_HLEN + 8 + 4 + 2)
size_t net_build_test(uint8_t *buf, size_t size, const uint8_t dst[ETH_ALEN],
		      const uint8_t src[ETH_ALEN], uint32_t seq,
		      uint16_t payload);
/* A valid test frame: magic, length and pattern all right. */
bool net_test_check(const uint8_t *frame, size_t len, uint32_t *seq);

/* A broadcast ARP request "who has tpa? tell spa" (addresses in network
 * order as 4 bytes). Returns the length (42), or 0 when buf is too small. */
size_t net_build_arp_request(uint8_t *buf, size_t size,
			     const uint8_t src[ETH_ALEN], const uint8_t spa[4],
			     const uint8_t tpa[4]);

#endif
