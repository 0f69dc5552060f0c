/*
 * lwipopts.h — lwIP 2.1.3's configuration for Shoal (read by lwip/opt.h;
 * anything not set here keeps lwIP's default).
 *
 * The stack runs with NO_SYS=0: a tcpip thread (a Shoal kernel thread) owns
 * the core; other threads reach it through the netconn API, which takes the
 * core lock (LWIP_TCPIP_CORE_LOCKING) rather than posting a message and
 * waiting. IPv4 only: ARP, ICMP, UDP, TCP, raw PCBs (ping), DHCP, loopback.
 * lwIP's own BSD socket layer is off: Shoal's socket system calls are
 * written on netconn (docs/network.md, "## lwIP", says why).
 *
 * Memory is static and bounded (no lwIP allocation reaches kmalloc): the
 * heap MEM_SIZE and the memp pools below, about 4 MiB of .bss in all, sized
 * for a 256 MiB node running tens of connections at full window.
 */
#ifndef SHOAL_LWIPOPTS_H
#define SHOAL_LWIPOPTS_H

/* ---- system ---- */
#define NO_SYS 0
#define SYS_LIGHTWEIGHT_PROT 1 /* SYS_ARCH_PROTECT: interrupt flag */
#define LWIP_TCPIP_CORE_LOCKING 1
#define LWIP_TCPIP_CORE_LOCKING_INPUT 0 /* drivers post to the tcpip mbox */
#define LWIP_COMPAT_MUTEX 0
#define LWIP_NETCONN_SEM_PER_THREAD 0
#define LWIP_TCPIP_TIMEOUT 1
#define LWIP_TIMERS 1
#define TCPIP_THREAD_NAME "tcpip"
#define TCPIP_THREAD_STACKSIZE 0 /* Shoal threads have fixed 16 KiB stacks */
#define TCPIP_THREAD_PRIO 0
#define TCPIP_MBOX_SIZE 512
#define DEFAULT_THREAD_STACKSIZE 0
#define DEFAULT_THREAD_PRIO 0
#define DEFAULT_RAW_RECVMBOX_SIZE 64
#define DEFAULT_UDP_RECVMBOX_SIZE 128
#define DEFAULT_TCP_RECVMBOX_SIZE 128
#define DEFAULT_ACCEPTMBOX_SIZE 64

/* Any thread touching the core must hold the core lock (or be the tcpip
 * thread, which holds it while it works): checked, since the socket layer
 * and the NIC drivers are written against these rules. */
void lwip_port_assert_core_locked(void);
#define LWIP_ASSERT_CORE_LOCKED() lwip_port_assert_core_locked()
void lwip_port_mark_tcpip_thread(void);
#define LWIP_MARK_TCPIP_THREAD() lwip_port_mark_tcpip_thread()

/* ---- memory: everything static, nothing from kmalloc ---- */
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE (1536 * 1024) /* PBUF_RAM: TX copies, loopback */
#define MEMP_NUM_PBUF 512 /* PBUF_ROM/REF (zero-copy TX) */
#define PBUF_POOL_SIZE 1024 /* RX buffers, one frame each */
#define PBUF_POOL_BUFSIZE 1536
#define MEMP_NUM_RAW_PCB 16
#define MEMP_NUM_UDP_PCB 64
#define MEMP_NUM_TCP_PCB 128
#define MEMP_NUM_TCP_PCB_LISTEN 32
#define MEMP_NUM_TCP_SEG 2048
#define MEMP_NUM_REASSDATA 8
#define IP_REASS_MAX_PBUFS 64 /* a 64 KiB UDP datagram is 45 fragments */
#define MEMP_NUM_FRAG_PBUF 64
#define MEMP_NUM_ARP_QUEUE 64
#define MEMP_NUM_NETBUF 256
#define MEMP_NUM_NETCONN 224 /* TCP + listening + UDP + raw */
#define MEMP_NUM_TCPIP_MSG_API 128
#define MEMP_NUM_TCPIP_MSG_INPKT 512
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 16)
#define MEMP_OVERFLOW_CHECK 0
#define MEM_OVERFLOW_CHECK 0
#define MEMP_SANITY_CHECK 0

/* ---- interfaces and link layer ---- */
#define LWIP_ARP 1
#define ARP_TABLE_SIZE 64
#define ARP_QUEUEING 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 1
#define LWIP_ETHERNET 1
#define ETH_PAD_SIZE 0
#define LWIP_NETIF_HOSTNAME 1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_API 0
#define LWIP_SINGLE_NETIF 0
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1 /* "lo0", 127.0.0.1/8 */
#define LWIP_LOOPBACK_MAX_PBUFS 512

/* ---- protocols ---- */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define IP_FORWARD 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0 /* names come from /etc/hosts, in user space */
#define LWIP_UDP 1
#define LWIP_UDPLITE 0
#define LWIP_TCP 1
#define TCP_MSS 1460
#define TCP_WND (44 * TCP_MSS) /* 64,240 bytes: no window scaling */
#define TCP_SND_BUF (44 * TCP_MSS)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_SNDLOWAT (TCP_SND_BUF / 2)
#define TCP_QUEUE_OOSEQ 1
#define TCP_LISTEN_BACKLOG 1
#define LWIP_TCP_KEEPALIVE 1
#define LWIP_TCP_TIMESTAMPS 0
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1
#define SO_REUSE 1
#define LWIP_SO_RCVTIMEO 1
#define LWIP_SO_SNDTIMEO 1
#define LWIP_SO_RCVBUF 1
#define LWIP_SO_LINGER 0
#define RECV_BUFSIZE_DEFAULT (256 * 1024)

/* ---- APIs ---- */
#define LWIP_NETCONN 1
#define LWIP_SOCKET 0
#define LWIP_COMPAT_SOCKETS 0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_NETCONN_FULLDUPLEX 0
/* err_to_errno() gives Linux numbers: lwIP's own errno list is Linux's. */
#define LWIP_PROVIDE_ERRNO 1

/* ---- checksums: in software until a NIC offers offload ---- */
#define LWIP_CHECKSUM_ON_COPY 1

/* ---- statistics (read by the tests and, later, /proc/net) ---- */
#define LWIP_STATS 1
#define LWIP_STATS_LARGE 1 /* 32-bit counters: 16 bits wrap within a test */
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS 1
#define ETHARP_STATS 1
#define IP_STATS 1
#define ICMP_STATS 1
#define UDP_STATS 1
#define TCP_STATS 1
#define MEM_STATS 1
#define MEMP_STATS 1
#define SYS_STATS 1

/* ---- debugging: building with -DLWIP_DEBUG sends the LWIP_DEBUGF lines
 * of the modules switched on here (e.g. TCP_DEBUG LWIP_DBG_ON) to printk.
 * Assertions stay on (LWIP_NOASSERT is not defined). ---- */
#define LWIP_DBG_MIN_LEVEL LWIP_DBG_LEVEL_ALL

#endif
