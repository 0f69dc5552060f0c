/*
 * netif_shoal.h — private to net/lwip: the lwIP interfaces over Shoal's
 * NICs (netif_shoal.c) and the in-kernel ping (ping.c).
 *
 * netif_shoal_init runs once from net_lwip_init, after tcpip_init: one
 * lwIP netif per netdev (eth0 by DHCP, eth1 static 10.10.x.y/16 from the
 * node number), the default route through eth0, the IPv4/ARP receive hook
 * and /proc/net/{if,snmp}. ping_init registers /proc/net/ping.
 */
#ifndef NET_LWIP_NETIF_SHOAL_H
#define NET_LWIP_NETIF_SHOAL_H

#include <stdint.h>

/* The interconnect address of node n, in host byte order: 10.10.n/16. */
static inline uint32_t netif_shoal_node_addr(unsigned n)
{
	return (10u << 24) | (10u << 16) | (n & 0xffffu);
}

void netif_shoal_init(void);
void ping_init(void);

#endif
