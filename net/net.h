/*
 * net.h — the NIC layer: network devices, their counters, and the receive
 * path that hands frames to their consumers by EtherType.
 *
 * Two audiences, one header (the split is small enough):
 *
 *   consumers   (the lwIP glue, the Linker)
 *     netdev_get / netdev_find / netdev_count     the devices (eth0, eth1…)
 *     netdev_xmit(dev, frame, len)                send one whole Ethernet
 *                                                 frame (copied; no CRC)
 *     netdev_set_ip_input(fn)                     IPv4 + ARP frames
 *     netdev_set_linker_input(fn)                 EtherType 0x88B5 frames
 *
 *   drivers     (net/e1000.c, net/virtio_net.c)
 *     netdev_register(dev)  after filling name-less struct netdev with MAC,
 *                           MTU and ops; the layer names it ethN in order
 *     netdev_rx(dev, frame, len)     from the device's receive thread only
 *     netdev_schedule(dev)           from the interrupt handler: wake the
 *                                    receive thread (runs ops->poll)
 *
 * Receive: the interrupt handler does only what must be done at once
 * (acknowledge, reclaim completions) and calls netdev_schedule; the
 * device's kernel thread "ethN-rx" calls ops->poll(dev, budget), which
 * passes at most `budget` frames to netdev_rx and returns how many it
 * found. A full budget means more may be waiting: the thread yields and
 * polls again; less means the ring is empty: ops->irq_on re-arms the
 * device's interrupt and the thread sleeps. Every second it wakes anyway
 * and calls ops->link (link state; also recovers a lost interrupt).
 *
 * netdev_rx validates the frame (length, destination, EtherType; see
 * net/net_impl.h) before any consumer sees it, counts what it drops by
 * reason, and calls the consumer with a frame that is only valid during
 * the call: a consumer copies what it keeps. Consumers run in the receive
 * thread (interrupts on) and may take sleeplocks, but should not block for
 * long: while they run the device's ring fills.
 *
 * Transmit: ops->xmit copies the frame into a transmit buffer. When the
 * ring is full it reclaims completions, then waits at most
 * NETDEV_TX_WAIT_NS (only where sleeping is allowed) and otherwise drops
 * the frame (tx_dropped, -ENOBUFS). It never blocks forever.
 *
 * Counters are updated with atomic adds (several senders, one receive
 * thread) and read without a lock: each is a single aligned 64-bit word.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/errno.h"
#include "kern/sync.h"
#include "net/net_impl.h"

#define NETDEV_MAX 4
#define NETDEV_NAME 8
#define NETDEV_RX_BUDGET 32 /* frames per poll before the thread yields */
#define NETDEV_TX_WAIT_NS (20ULL * 1000000ULL) /* ring full: wait this long */

struct netdev_stats {
	uint64_t rx_packets, rx_bytes; /* from the device (as Linux counts) */
	uint64_t rx_errors; /* the device reported a bad frame */
	uint64_t rx_dropped; /* all drops, any reason */
	uint64_t rx_fifo; /* no buffer was free (overrun), when known */
	uint64_t rx_multicast; /* broadcast + multicast delivered */
	uint64_t rx_drop[NET_DROP_COUNT]; /* drops by reason */
	uint64_t rx_ip, rx_arp, rx_linker; /* delivered, by consumer */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_errors; /* the device failed to send */
	uint64_t tx_dropped; /* ring full past the wait, link or device down */
	uint64_t tx_ring_waits; /* ring full: sender waited */
	uint64_t interrupts, polls;
	/* The test EtherType (0x88B6): valid and malformed frames; ARP
	 * replies addressed to us (answers to /proc/net/tx/.../arp). */
	uint64_t test_rx, test_bad, test_tx, arp_replies;
	uint32_t test_last_seq;
};

struct netdev;

struct netdev_ops {
	/* Send frame[0..len) (14 <= len <= MTU + 14, checked by
	 * netdev_xmit): 0, -ENOBUFS (ring full), -EIO (device failed). */
	int (*xmit)(struct netdev *dev, const void *frame, size_t len);
	/* Deliver at most budget received frames; return how many. */
	unsigned (*poll)(struct netdev *dev, unsigned budget);
	/* Re-arm the receive interrupt after a poll that emptied the ring. */
	void (*irq_on)(struct netdev *dev);
	/* Read the link state into dev->link_up (may be NULL). */
	void (*link)(struct netdev *dev);
	/* One line of driver details for /proc/net/nics (no newline). */
	int (*describe)(struct netdev *dev, char *buf, size_t size);
};

struct netdev {
	char name[NETDEV_NAME]; /* "eth0": set by netdev_register */
	const char *driver; /* "e1000", "virtio-net" */
	uint8_t mac[ETH_ALEN];
	unsigned mtu; /* payload bytes; frames are up to mtu + 14 */
	bool link_up;
	bool polled; /* no interrupt: the thread polls every tick */
	unsigned index;
	const struct netdev_ops *ops;
	void *priv;
	struct netdev_stats st;

	/* Private to net/netdev.c. */
	struct spinlock lock; /* rx_pending and the sleep on wq */
	struct waitq wq;
	bool rx_pending;
	struct thread *thread;
};

/* A consumer of received frames. Runs in the device's receive thread;
 * frame is valid only during the call. */
typedef void (*netdev_input_fn)(struct netdev *dev, const void *frame,
				size_t len);

/* Probe the drivers, register /proc/net/{dev,nics,tx}. Once, at boot,
 * after pci_init. */
void net_init(void);

/* Consumers. */
unsigned netdev_count(void);
struct netdev *netdev_get(unsigned index); /* NULL past the end */
struct netdev *netdev_find(const char *name); /* NULL if none */
int netdev_xmit(struct netdev *dev, const void *frame, size_t len);
/* Set (or with NULL clear) the consumer; returns the previous one. */
netdev_input_fn netdev_set_ip_input(netdev_input_fn fn);
netdev_input_fn netdev_set_linker_input(netdev_input_fn fn);

/* Drivers. */
int netdev_register(struct netdev *dev); /* 0, -ENOSPC, -ENOMEM */
void netdev_rx(struct netdev *dev, const void *frame, size_t len);
void netdev_schedule(struct netdev *dev); /* interrupt context allowed */
/* May the caller sleep (a thread with interrupts on)? */
bool netdev_may_sleep(void);
static inline void netdev_count_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* Driver probes (net/e1000.c, net/virtio_net.c): devices found. */
unsigned e1000_probe(void);
unsigned virtio_net_probe(void);

/* /proc/net/dev in Linux's format (also used by the self-tests). */
int netdev_format_dev(char *buf, size_t size);

/* The optional ":N" count of a /proc/net trigger name (s[0..len), "" for
 * 1): 0 with *count in 1..max, or -ENOENT. */
int netdev_parse_count(const char *s, size_t len, uint64_t max,
		       uint64_t *count);

#endif
