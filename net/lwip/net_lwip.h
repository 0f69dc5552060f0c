/*
 * net_lwip.h — Shoal's lwIP port: start-up (interface for kern/main.c and
 * the network layers built on lwIP).
 *
 * net_lwip_init starts lwIP once, at boot, after the file systems: the
 * tcpip thread ("tcpip") and the loopback interface (lo0, 127.0.0.1/8).
 * Afterwards, code in any thread uses lwIP's netconn API (lwip/api.h) or,
 * holding the core lock (LOCK_TCPIP_CORE, lwip/tcpip.h), its raw API; NIC
 * drivers hand frames to a netif's input function, which posts them to
 * the tcpip thread (tcpip_input), from a thread or an interrupt handler.
 */
#ifndef NET_LWIP_NET_LWIP_H
#define NET_LWIP_NET_LWIP_H

#include <stdbool.h>

void net_lwip_init(void);
/* Has net_lwip_init run? */
bool net_lwip_ready(void);

#endif
