/*
 * ping.c — an in-kernel ICMP echo client on lwIP's raw API, the network
 * test before user sockets exist.
 *
 * /proc/net/ping/A.B.C.D[:N]/echo   opening it sends N (1…PING_MAX,
 *     default 1) echo requests to A.B.C.D, one at a time, each waiting at
 *     most PING_TIMEOUT_MS for its reply, and the file's text reports
 *     them: one line per request ("seq 0 reply 0.412 ms" or "seq 1
 *     timeout"), then "N sent, M received, L% loss, rtt min/avg/max
 *     a/b/c ms". As with /proc/net/tx, procfs has no write path, so the
 *     request is the name and the action happens at open (once per open).
 *     A signal ends the run early ("interrupted"); the opener waits at
 *     most N * PING_TIMEOUT_MS.
 *
 * Echo request: type 8, code 0, an identifier unique to this run, the
 * sequence number, PING_DATA bytes of pattern (byte i = seq + i). A reply
 * counts only if it comes from the target, is type 0 with our identifier
 * and the sequence number awaited, its ICMP checksum is right and its data
 * equals what was sent; other echo replies with our identifier are counted
 * as "bad"; replies that are not ours go on to lwIP's ICMP (which answers
 * echo requests itself). The RTT is taken in the tcpip thread when the
 * reply is handed to the raw PCB, so it includes the receive thread's
 * hand-off but not this thread's wake-up.
 *
 * Locking: the raw PCB and every lwIP call here need the core lock; the
 * run's `lock` (a spinlock, taken inside the core lock by the receive
 * callback) guards the awaited sequence number and the reply fields.
 */
#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "net/net.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"
#include "lwip/tcpip.h"
#include "net/lwip/netif_shoal.h"

#define PING_MAX 50 /* keeps the text within procfs's first 4 KiB */
#define PING_TIMEOUT_MS 1000
#define PING_DATA 56
#define ECHO_LEN (sizeof(struct icmp_echo_hdr) + PING_DATA)
#define MS_NS 1000000ULL

struct ping {
	struct raw_pcb *pcb;
	ip4_addr_t target;
	uint16_t id;
	struct spinlock lock; /* the fields below */
	struct waitq wq;
	int awaited; /* the sequence number awaited, -1 none */
	bool replied;
	uint64_t t_reply;
	unsigned bad;
};

static uint16_t next_id;

static void fill_echo(uint8_t *b, uint16_t id, uint16_t seq)
{
	struct icmp_echo_hdr *h = (struct icmp_echo_hdr *)b;
	h->type = ICMP_ECHO;
	h->code = 0;
	h->chksum = 0;
	h->id = lwip_htons(id);
	h->seqno = lwip_htons(seq);
	for (unsigned i = 0; i < PING_DATA; i++)
		b[sizeof *h + i] = (uint8_t)(seq + i);
	h->chksum = inet_chksum(b, ECHO_LEN);
}

/* The raw PCB's receive function: tcpip thread, core lock held. p's
 * payload is the IP header. Returns 1 when it takes (and frees) p. */
static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p,
		      const ip_addr_t *addr)
{
	struct ping *pg = arg;
	uint8_t vhl;
	if (pbuf_copy_partial(p, &vhl, 1, 0) != 1)
		return 0;
	uint16_t hlen = (uint16_t)((vhl & 0x0f) * 4);
	if (hlen < IP_HLEN || p->tot_len < hlen + sizeof(struct icmp_echo_hdr))
		return 0;
	uint8_t b[ECHO_LEN];
	struct icmp_echo_hdr h;
	pbuf_copy_partial(p, &h, sizeof h, hlen);
	if (h.type != ICMP_ER || h.code != 0 || lwip_ntohs(h.id) != pg->id)
		return 0;
	/* Ours from here on: take it, whatever it holds. */
	uint16_t seq = lwip_ntohs(h.seqno);
	fill_echo(b, pg->id, seq);
	b[0] = ICMP_ER;
	uint8_t got[ECHO_LEN];
	bool good = p->tot_len == hlen + ECHO_LEN &&
		    ip4_addr_cmp(ip_2_ip4(addr), &pg->target) &&
		    pbuf_copy_partial(p, got, ECHO_LEN, hlen) == ECHO_LEN &&
		    inet_chksum(got, ECHO_LEN) == 0 &&
		    !memcmp(got + sizeof h, b + sizeof h, PING_DATA);
	uint64_t now = time_ns();
	spin_lock(&pg->lock);
	if (!good)
		pg->bad++;
	else if (pg->awaited == seq && !pg->replied) {
		pg->replied = true;
		pg->t_reply = now;
		waitq_wakeup_all(&pg->wq);
	}
	spin_unlock(&pg->lock);
	pbuf_free(p);
	return 1;
}

/* Send echo `seq`; returns lwIP's error. */
static err_t send_echo(struct ping *pg, uint16_t seq)
{
	LOCK_TCPIP_CORE();
	struct pbuf *p = pbuf_alloc(PBUF_IP, ECHO_LEN, PBUF_RAM);
	err_t e = ERR_MEM;
	if (p) {
		fill_echo(p->payload, pg->id, seq);
		ip_addr_t dst;
		ip_addr_copy_from_ip4(dst, pg->target);
		e = raw_sendto(pg->pcb, p, &dst);
		pbuf_free(p);
	}
	UNLOCK_TCPIP_CORE();
	return e;
}

/* Wait for the reply to the awaited echo until deadline: its RTT start
 * t0 gives the result in ns, 0 for a timeout, or -EINTR. */
static int64_t wait_reply(struct ping *pg, uint64_t t0, uint64_t deadline)
{
	int64_t r = 0;
	spin_lock(&pg->lock);
	for (;;) {
		if (pg->replied) {
			r = (int64_t)MAX(pg->t_reply - t0, 1);
			break;
		}
		int rc = waitq_sleep_intr(&pg->wq, &pg->lock, deadline);
		if (rc == -ETIMEDOUT)
			break;
		if (rc && !pg->replied) {
			r = -EINTR;
			break;
		}
	}
	pg->awaited = -1;
	spin_unlock(&pg->lock);
	return r;
}

/* ns as milliseconds with 3 decimals. */
#define MS3(ns) \
	(unsigned long)((ns) / MS_NS), (unsigned long)((ns) % MS_NS / 1000)

static int ping_run(char *buf, size_t size, ip4_addr_t target, unsigned count)
{
	int n = 0;
	struct ping pg = {.target = target, .awaited = -1};
	spin_init(&pg.lock, "ping");
	waitq_init(&pg.wq);
	pg.id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED) ^
		(uint16_t)(kconfig.node << 8);
	char ip[16];
	ip4addr_ntoa_r(&target, ip, sizeof ip);
	LOCK_TCPIP_CORE();
	pg.pcb = raw_new(IP_PROTO_ICMP);
	if (pg.pcb)
		raw_recv(pg.pcb, ping_recv, &pg);
	UNLOCK_TCPIP_CORE();
	if (!pg.pcb)
		return -ENOMEM;
	EMIT("ping %s: %u echoes of %u data bytes, timeout %u ms\n", ip, count,
	     PING_DATA, PING_TIMEOUT_MS);
	unsigned sent = 0, received = 0;
	uint64_t min = UINT64_MAX, max = 0, sum = 0;
	bool intr = false;
	for (unsigned seq = 0; seq < count && !intr; seq++) {
		spin_lock(&pg.lock);
		pg.awaited = (int)seq;
		pg.replied = false;
		spin_unlock(&pg.lock);
		uint64_t t0 = time_ns();
		err_t e = send_echo(&pg, (uint16_t)seq);
		if (e != ERR_OK) {
			spin_lock(&pg.lock);
			pg.awaited = -1;
			spin_unlock(&pg.lock);
			EMIT("seq %u not sent: %s\n", seq, lwip_strerr(e));
			/* Pace failures as timeouts would be. */
			if (waitq_sleep_intr(NULL, NULL,
					     t0 + PING_TIMEOUT_MS * MS_NS) !=
			    -ETIMEDOUT)
				intr = true;
			continue;
		}
		sent++;
		int64_t r = wait_reply(&pg, t0, t0 + PING_TIMEOUT_MS * MS_NS);
		if (r < 0) {
			intr = true;
		} else if (r == 0) {
			EMIT("seq %u timeout\n", seq);
		} else {
			received++;
			uint64_t rtt = (uint64_t)r;
			min = MIN(min, rtt);
			max = MAX(max, rtt);
			sum += rtt;
			EMIT("seq %u reply %lu.%03lu ms\n", seq, MS3(rtt));
		}
	}
	LOCK_TCPIP_CORE();
	raw_remove(pg.pcb);
	UNLOCK_TCPIP_CORE();
	if (intr)
		EMIT("interrupted\n");
	unsigned loss = sent ? (sent - received) * 100 / sent : 100;
	EMIT("%u sent, %u received, %u%% loss", sent, received, loss);
	if (received) {
		uint64_t avg = sum / received;
		EMIT(", rtt min/avg/max %lu.%03lu/%lu.%03lu/%lu.%03lu ms",
		     MS3(min), MS3(avg), MS3(max));
	}
	if (pg.bad)
		EMIT(", %u bad replies", pg.bad);
	EMIT("\n");
	return n;
}

/* /proc/net/ping: key = the address (network order) | count << 32. */
static int ping_list(void *arg, uint64_t *keys, int max)
{
	return 0;
}

static int ping_lookup(void *arg, const char *name, size_t len, uint64_t *key)
{
	uint32_t a = 0;
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i == len || name[i] != '.')
				return -ENOENT;
			i++;
		}
		unsigned v = 0, digits = 0;
		while (i < len && name[i] >= '0' && name[i] <= '9' &&
		       digits < 3) {
			v = v * 10 + (unsigned)(name[i++] - '0');
			digits++;
		}
		if (digits == 0 || v > 255)
			return -ENOENT;
		a = a << 8 | v;
	}
	uint64_t count;
	if (netdev_parse_count(name + i, len - i, PING_MAX, &count))
		return -ENOENT;
	*key = lwip_htonl(a) | count << 32;
	return 0;
}

static void ping_name(void *arg, uint64_t key, char *buf, size_t size)
{
	ip4_addr_t a;
	ip4_addr_set_u32(&a, (uint32_t)key);
	char ip[16];
	ip4addr_ntoa_r(&a, ip, sizeof ip);
	unsigned count = (unsigned)(key >> 32);
	if (count == 1)
		snprintf(buf, size, "%s", ip);
	else
		snprintf(buf, size, "%s:%u", ip, count);
}

static int gen_echo(char *buf, size_t size, void *arg, uint64_t key)
{
	ip4_addr_t a;
	ip4_addr_set_u32(&a, (uint32_t)key);
	return ping_run(buf, size, a, (unsigned)(key >> 32));
}

static const struct procfs_dynfile ping_files[] = {
	{"echo", gen_echo, false, NULL},
};

static const struct procfs_dynset ping_set = {
	.list = ping_list,
	.lookup = ping_lookup,
	.name = ping_name,
	.files = ping_files,
	.nfiles = 1,
};

void ping_init(void)
{
	procfs_register_dynset("net/ping", &ping_set);
}
