/*
 * netif_shoal.c — Shoal's NICs as lwIP interfaces: one netif per netdev
 * (net/net.h), their addresses, and /proc/net/{if,snmp}.
 *
 * Interface: netif_shoal_init (netif_shoal.h), once, from net_lwip_init.
 *
 *   transmit  lwIP's linkoutput gets a pbuf chain (an Ethernet frame) under
 *             the core lock; a single pbuf goes to netdev_xmit as it is, a
 *             chain is first gathered into the interface's frame buffer.
 *             A refused frame (-ENOBUFS, -EIO) is ERR_IF to lwIP and
 *             counted by the netdev; lwIP's protocols retransmit.
 *   receive   the netdev's IPv4/ARP hook (netdev_set_ip_input) runs in the
 *             device's receive thread: it copies the frame into a pool pbuf
 *             and posts it to the tcpip thread (tcpip_input, which never
 *             waits). No pbuf, or a full tcpip mailbox: the frame is
 *             dropped and counted (rx_nomem, rx_full) — never a wait.
 *   link      a 1 s lwIP timer copies each netdev's link_up into its
 *             netif (netif_set_link_up/down; DHCP restarts on link up).
 *   addresses eth0 (NIC0, the user network) by lwIP's DHCP client, and it
 *             is the default route; eth1 (NIC1, the interconnect) static
 *             10.10.N/16 for node=N (netif_shoal_node_addr). Other NICs
 *             stay without an address. Each prints one line when it has
 *             its address ("shoal: eth1 10.10.0.2/16 up", "shoal: eth0
 *             10.0.2.15/24 via dhcp"). Start-up waits for eth0's first
 *             lease, at most DHCP_BOOT_WAIT_MS (QEMU's e1000 takes 1 s to
 *             receive; docs/network.md says why the wait), then goes on.
 *
 * /proc/net/if    one line per interface, "name: key value ...": address
 *                 with prefix, netmask, gateway, MAC, MTU, link, how the
 *                 address came (static, dhcp + the client's state), the
 *                 default route, and the glue's own counters
 * /proc/net/snmp  lwIP's protocol counters (lwip_stats), two lines per
 *                 protocol as Linux's file has them: a header of names,
 *                 then the numbers; last "UdpSock: RcvbufErrors", the UDP
 *                 datagrams sockets had no room for (net/lwip/socket.c)
 *
 * Locking: a netif's fields, and `shown` below, belong to lwIP's core
 * lock (the tcpip thread holds it while it works; /proc readers take it).
 * The receive hook takes no lock: it reads `ready` (published with a
 * release store once the netif is added) and posts the frame. The glue's
 * counters are atomic adds.
 */
#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "net/lwip/netif_shoal.h"
#include "net/lwip/socket.h"
#include "net/net.h"
#include "netif/ethernet.h"

#define LINK_POLL_MS 1000
/* How long start-up waits for eth0's lease before the node goes on. */
#define DHCP_BOOT_WAIT_MS 2000

struct snif {
	struct netif nif;
	struct netdev *dev;
	bool ready; /* nif added; the hook may post to it */
	bool dhcp; /* addressed by DHCP (else static or none) */
	uint32_t shown; /* the address last printed (core lock) */
	char hostname[16];
	/* A chain is gathered here before netdev_xmit (core lock). */
	uint8_t frame[ETH_MAX_MTU + ETH_HLEN];
	uint64_t rx_in, rx_nomem, rx_full, tx_out, tx_err;
};

static struct snif snifs[NETDEV_MAX];
static sys_sem_t dhcp_done; /* signalled at eth0's first lease */
static bool dhcp_waiting;

/* ------------------------------------------------------------ transmit */

static err_t shoal_linkoutput(struct netif *nif, struct pbuf *p)
{
	struct snif *s = nif->state;
	const void *frame = p->payload;
	if (p->next) {
		if (p->tot_len > sizeof s->frame) {
			netdev_count_add(&s->tx_err, 1);
			return ERR_IF;
		}
		pbuf_copy_partial(p, s->frame, p->tot_len, 0);
		frame = s->frame;
	}
	int rc = netdev_xmit(s->dev, frame, p->tot_len);
	if (rc) {
		netdev_count_add(&s->tx_err, 1);
		LINK_STATS_INC(link.drop);
		return rc == -ENOBUFS ? ERR_MEM : ERR_IF;
	}
	netdev_count_add(&s->tx_out, 1);
	LINK_STATS_INC(link.xmit);
	return ERR_OK;
}

/* ------------------------------------------------------------ receive */

/* lwIP's link counters, from the receive thread without the core lock. */
static void rx_stat(STAT_COUNTER *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* The netdev's IPv4/ARP consumer: the device's receive thread. */
static void shoal_rx(struct netdev *dev, const void *frame, size_t len)
{
	if (dev->index >= NETDEV_MAX)
		return;
	struct snif *s = &snifs[dev->index];
	if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) || len > 0xffff)
		return;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p) {
		netdev_count_add(&s->rx_nomem, 1);
		rx_stat(&lwip_stats.link.memerr);
		rx_stat(&lwip_stats.link.drop);
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	if (s->nif.input(p, &s->nif) != ERR_OK) {
		pbuf_free(p);
		netdev_count_add(&s->rx_full, 1);
		rx_stat(&lwip_stats.link.drop);
		return;
	}
	netdev_count_add(&s->rx_in, 1);
	rx_stat(&lwip_stats.link.recv);
}

/* ------------------------------------------------------------ link, status */

static unsigned prefix_len(const ip4_addr_t *mask)
{
	unsigned n = 0;
	for (uint32_t m = ip4_addr_get_u32(mask); m; m &= m - 1)
		n++;
	return n;
}

/* Core lock held (lwIP calls it on address and up/down changes). */
static void shoal_status(struct netif *nif)
{
	struct snif *s = nif->state;
	uint32_t a = ip4_addr_get_u32(netif_ip4_addr(nif));
	if (!netif_is_up(nif) || a == 0 || a == s->shown)
		return;
	s->shown = a;
	char ip[16];
	ip4addr_ntoa_r(netif_ip4_addr(nif), ip, sizeof ip);
	printk("shoal: %s %s/%u %s\n", s->dev->name, ip,
	       prefix_len(netif_ip4_netmask(nif)), s->dhcp ? "via dhcp" : "up");
	if (s->dhcp && dhcp_waiting) {
		dhcp_waiting = false;
		sys_sem_signal(&dhcp_done);
	}
}

/* A timer in the tcpip thread (core lock held): follow the links. */
static void link_poll(void *arg)
{
	for (unsigned i = 0; i < NETDEV_MAX; i++) {
		struct snif *s = &snifs[i];
		if (!s->ready)
			continue;
		bool up = __atomic_load_n(&s->dev->link_up, __ATOMIC_RELAXED);
		if (up && !netif_is_link_up(&s->nif))
			netif_set_link_up(&s->nif);
		else if (!up && netif_is_link_up(&s->nif))
			netif_set_link_down(&s->nif);
	}
	sys_timeout(LINK_POLL_MS, link_poll, NULL);
}

/* netif_add's init callback (core lock held). */
static err_t shoal_netif_init(struct netif *nif)
{
	struct snif *s = nif->state;
	nif->name[0] = 'e';
	nif->name[1] = 't';
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, s->dev->mac, ETH_HWADDR_LEN);
	nif->mtu = (u16_t)s->dev->mtu;
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		     NETIF_FLAG_ETHERNET;
	nif->output = etharp_output;
	nif->linkoutput = shoal_linkoutput;
	snprintf(s->hostname, sizeof s->hostname, "node%d", kconfig.node);
	nif->hostname = s->hostname;
	return ERR_OK;
}

/* ------------------------------------------------------------ /proc/net */

static const char *dhcp_state_name(const struct netif *nif)
{
	const struct dhcp *d = netif_dhcp_data(nif);
	if (!d)
		return "off";
	switch (d->state) {
	case DHCP_STATE_OFF:
		return "off";
	case DHCP_STATE_INIT:
		return "init";
	case DHCP_STATE_SELECTING:
		return "selecting";
	case DHCP_STATE_REQUESTING:
		return "requesting";
	case DHCP_STATE_CHECKING:
		return "checking";
	case DHCP_STATE_BOUND:
		return "bound";
	case DHCP_STATE_RENEWING:
		return "renewing";
	case DHCP_STATE_REBINDING:
		return "rebinding";
	case DHCP_STATE_REBOOTING:
		return "rebooting";
	case DHCP_STATE_BACKING_OFF:
		return "backing_off";
	default:
		return "other";
	}
}

/* Core lock held. */
static int format_if(char *buf, size_t size, struct netif *nif)
{
	int n = 0;
	struct snif *s = NULL;
	for (unsigned i = 0; i < NETDEV_MAX; i++)
		if (snifs[i].ready && &snifs[i].nif == nif)
			s = &snifs[i];
	char ip[16], mask[16], gw[16];
	ip4addr_ntoa_r(netif_ip4_addr(nif), ip, sizeof ip);
	ip4addr_ntoa_r(netif_ip4_netmask(nif), mask, sizeof mask);
	ip4addr_ntoa_r(netif_ip4_gw(nif), gw, sizeof gw);
	if (s)
		EMIT("%s:", s->dev->name);
	else
		EMIT("%c%c%u:", nif->name[0], nif->name[1], nif->num);
	EMIT(" addr %s/%u netmask %s gateway %s", ip,
	     prefix_len(netif_ip4_netmask(nif)), mask, gw);
	if (s) {
		const uint8_t *m = nif->hwaddr;
		EMIT(" mac %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		     m[3], m[4], m[5]);
	}
	EMIT(" mtu %u state %s link %s", nif->mtu,
	     netif_is_up(nif) ? "up" : "down",
	     netif_is_link_up(nif) ? "up" : "down");
	if (!s) {
		EMIT(" config loopback");
	} else if (s->dhcp) {
		const struct dhcp *d = netif_dhcp_data(nif);
		EMIT(" config dhcp dhcp %s lease %lu", dhcp_state_name(nif),
		     d ? (unsigned long)d->offered_t0_lease : 0ul);
	} else {
		EMIT(" config %s", ip4_addr_isany_val(*netif_ip4_addr(nif))
					   ? "none"
					   : "static");
	}
	EMIT(" default %s", nif == netif_default ? "yes" : "no");
	if (s)
		EMIT(" rx %lu rx_nomem %lu rx_full %lu tx %lu tx_err %lu",
		     (unsigned long)s->rx_in, (unsigned long)s->rx_nomem,
		     (unsigned long)s->rx_full, (unsigned long)s->tx_out,
		     (unsigned long)s->tx_err);
	EMIT("\n");
	return n;
}

static int gen_if(char *buf, size_t size, void *arg, uint64_t key)
{
	int n = 0;
	LOCK_TCPIP_CORE();
	/* netif_list is newest first: print the devices in order, then the
	 * loopback. */
	for (unsigned i = 0; i < NETDEV_MAX; i++)
		if (snifs[i].ready)
			n += format_if(buf + MIN((size_t)n, size),
				       size - MIN((size_t)n, size),
				       &snifs[i].nif);
	struct netif *nif;
	NETIF_FOREACH(nif)
	{
		if (nif->state == NULL)
			n += format_if(buf + MIN((size_t)n, size),
				       size - MIN((size_t)n, size), nif);
	}
	UNLOCK_TCPIP_CORE();
	return n;
}

static int emit_proto(char *buf, size_t size, const char *name,
		      const struct stats_proto *p)
{
	int n = 0;
	EMIT("%s: xmit recv fw drop chkerr lenerr memerr rterr proterr opterr err cachehit\n",
	     name);
	EMIT("%s: %u %u %u %u %u %u %u %u %u %u %u %u\n", name, p->xmit,
	     p->recv, p->fw, p->drop, p->chkerr, p->lenerr, p->memerr, p->rterr,
	     p->proterr, p->opterr, p->err, p->cachehit);
	return n;
}

static int gen_snmp(char *buf, size_t size, void *arg, uint64_t key)
{
	int n = 0;
	static const struct {
		const char *name;
		const struct stats_proto *p;
	} protos[] = {
		{"Link", &lwip_stats.link}, {"Etharp", &lwip_stats.etharp},
		{"Ip", &lwip_stats.ip},	    {"Ipfrag", &lwip_stats.ip_frag},
		{"Icmp", &lwip_stats.icmp}, {"Udp", &lwip_stats.udp},
		{"Tcp", &lwip_stats.tcp},
	};
	for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++)
		n += emit_proto(buf + MIN((size_t)n, size),
				size - MIN((size_t)n, size), protos[i].name,
				protos[i].p);
	const struct stats_mem *h = &lwip_stats.mem;
	EMIT("Heap: avail used max err\n");
	EMIT("Heap: %lu %lu %lu %u\n", (unsigned long)h->avail,
	     (unsigned long)h->used, (unsigned long)h->max, h->err);
	const struct stats_mem *pp = lwip_stats.memp[MEMP_PBUF_POOL];
	EMIT("Pbuf: avail used max err\n");
	EMIT("Pbuf: %lu %lu %lu %u\n", (unsigned long)pp->avail,
	     (unsigned long)pp->used, (unsigned long)pp->max, pp->err);
	EMIT("UdpSock: RcvbufErrors\n");
	EMIT("UdpSock: %lu\n", (unsigned long)sock_udp_rcvbuf_errors());
	return n;
}

/* ------------------------------------------------------------ start-up */

/* Core lock held. */
static void add_netif(struct netdev *dev)
{
	struct snif *s = &snifs[dev->index];
	s->dev = dev;
	ip4_addr_t addr, mask, gw;
	ip4_addr_set_zero(&addr);
	ip4_addr_set_zero(&mask);
	ip4_addr_set_zero(&gw);
	if (dev->index == 1) {
		ip4_addr_set_u32(&addr, lwip_htonl(netif_shoal_node_addr(
						(unsigned)kconfig.node)));
		IP4_ADDR(&mask, 255, 255, 0, 0);
	}
	if (!netif_add(&s->nif, &addr, &mask, &gw, s, shoal_netif_init,
		       tcpip_input)) {
		printk(KERN_WARN "shoal: %s: lwIP refused the interface\n",
		       dev->name);
		return;
	}
	netif_set_status_callback(&s->nif, shoal_status);
	if (dev->link_up)
		netif_set_link_up(&s->nif);
	netif_set_up(&s->nif);
	__atomic_store_n(&s->ready, true, __ATOMIC_RELEASE);
	if (dev->index == 0) {
		s->dhcp = true;
		netif_set_default(&s->nif);
		err_t e = dhcp_start(&s->nif);
		if (e != ERR_OK)
			printk(KERN_WARN "shoal: %s: DHCP did not start (%d)\n",
			       dev->name, e);
	}
}

void netif_shoal_init(void)
{
	sys_sem_new(&dhcp_done, 0);
	/* The hook first: DHCP's offer follows the discover within
	 * microseconds, and frames for a netif not yet added are dropped. */
	netdev_set_ip_input(shoal_rx);
	LOCK_TCPIP_CORE();
	dhcp_waiting = true;
	for (unsigned i = 0; i < netdev_count() && i < NETDEV_MAX; i++)
		add_netif(netdev_get(i));
	sys_timeout(LINK_POLL_MS, link_poll, NULL);
	bool dhcp = snifs[0].dhcp;
	UNLOCK_TCPIP_CORE();
	procfs_register("net/if", gen_if, NULL);
	procfs_register("net/snmp", gen_snmp, NULL);
	/* Wait for the lease (boot line before the ready line and the
	 * shell's prompt, not inside a command's output). QEMU's e1000
	 * receives nothing for 1 s after the driver writes RCTL, so the
	 * offer arrives about 1 s after net_init. Without a DHCP server the
	 * node goes on; the client keeps trying. */
	if (dhcp && sys_arch_sem_wait(&dhcp_done, DHCP_BOOT_WAIT_MS) ==
			    SYS_ARCH_TIMEOUT)
		printk("shoal: %s: no DHCP lease yet, still asking\n",
		       snifs[0].dev->name);
}
