/*
 * lwip_mem.c — /proc/net/lwip: where lwIP's memory is, so tests and people
 * can tell a leak (memory that never comes back) from memory in use.
 *
 * lwIP's memory is static (lwipopts.h: the memp pools and the MEM heap),
 * so the node's MemFree never shows it; lwip_stats does (MEMP_STATS,
 * MEM_STATS). The file is one snapshot:
 *
 *   pool      size  avail   used    max    err   per memp pool, then "heap"
 *   TCP_PCB    ...                                (size 1: bytes); avail is
 *   ...                                           the pool's number of
 *   heap         1  MEM_SIZE used max err         elements, err the failed
 *                                                 allocations
 *   mbox used U max M err E                       the port's mailboxes
 *   tcp_pcbs listen L bound B active A time_wait T
 *   sockets open N
 *
 * TCP_PCB's used counts every TCP pcb: those in the bound, active and
 * TIME_WAIT lists (a TIME_WAIT pcb is lwIP's, not a leak: it goes after
 * 2 * TCP_MSL, or sooner when a new pcb needs its slot), plus those of
 * sockets not yet bound. "sockets open" is the kernel's count of socket
 * files (net/lwip/socket.c), each holding one netconn (pool NETCONN) and
 * its mailbox (a listener's is its accept queue).
 *
 * Consistency: the pcb lists, TCP_PCB and TCP_SEG change only under the
 * core lock, which is held throughout; the counters are copied with
 * interrupts off (SYS_ARCH_PROTECT: one CPU per node, so nothing else
 * runs meanwhile) because PBUF_POOL is taken by the NICs' receive threads
 * without the core lock. The text is formatted after both are released.
 */
#include "fs/vfs.h"
#include "kern/kern.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "net/lwip/port.h"
#include "net/lwip/socket.h"

/* The pools' names, in lwIP's own order (memp_t). */
static const char *const pool_names[MEMP_MAX] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

struct lwip_mem_snap {
	struct stats_mem pool[MEMP_MAX];
	u16_t pool_size[MEMP_MAX];
	struct stats_mem heap;
	struct stats_syselem mbox;
	unsigned listen, bound, active, time_wait;
	unsigned sockets;
};

static unsigned pcb_count(const struct tcp_pcb *p)
{
	unsigned n = 0;
	for (; p; p = p->next)
		n++;
	return n;
}

static void take_snapshot(struct lwip_mem_snap *s)
{
	LOCK_TCPIP_CORE();
	s->listen = 0;
	for (struct tcp_pcb_listen *lp = tcp_listen_pcbs.listen_pcbs; lp;
	     lp = lp->next)
		s->listen++;
	s->bound = pcb_count(tcp_bound_pcbs);
	s->active = pcb_count(tcp_active_pcbs);
	s->time_wait = pcb_count(tcp_tw_pcbs);
	SYS_ARCH_DECL_PROTECT(lev);
	SYS_ARCH_PROTECT(lev);
	for (unsigned i = 0; i < MEMP_MAX; i++) {
		s->pool[i] = *lwip_stats.memp[i];
		s->pool_size[i] = memp_pools[i]->size;
	}
	s->heap = lwip_stats.mem;
	s->mbox = lwip_stats.sys.mbox;
	SYS_ARCH_UNPROTECT(lev);
	UNLOCK_TCPIP_CORE();
	s->sockets = sock_count();
}

static int gen_lwip(char *buf, size_t size, void *arg, uint64_t key)
{
	struct lwip_mem_snap s; /* about 400 bytes */
	int n = 0;
	take_snapshot(&s);
	EMIT("%-16s %6s %8s %8s %8s %6s\n", "pool", "size", "avail", "used",
	     "max", "err");
	for (unsigned i = 0; i < MEMP_MAX; i++)
		EMIT("%-16s %6u %8lu %8lu %8lu %6lu\n", pool_names[i],
		     (unsigned)s.pool_size[i], (unsigned long)s.pool[i].avail,
		     (unsigned long)s.pool[i].used,
		     (unsigned long)s.pool[i].max,
		     (unsigned long)s.pool[i].err);
	EMIT("%-16s %6u %8lu %8lu %8lu %6lu\n", "heap", 1u,
	     (unsigned long)s.heap.avail, (unsigned long)s.heap.used,
	     (unsigned long)s.heap.max, (unsigned long)s.heap.err);
	EMIT("mbox used %lu max %lu err %lu\n", (unsigned long)s.mbox.used,
	     (unsigned long)s.mbox.max, (unsigned long)s.mbox.err);
	EMIT("tcp_pcbs listen %u bound %u active %u time_wait %u\n", s.listen,
	     s.bound, s.active, s.time_wait);
	EMIT("sockets open %u\n", s.sockets);
	return n;
}

void lwip_mem_proc_init(void)
{
	procfs_register("net/lwip", gen_lwip, NULL);
}
