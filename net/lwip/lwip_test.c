/*
 * lwip_test.c — self-tests of the lwIP port (`selftest=lwip`): the
 * sys_arch primitives on Shoal's threads, lwIP's timers in the tcpip
 * thread, and TCP and UDP through the tcpip thread and the loopback
 * interface with the netconn API, checked byte for byte.
 *
 * Each test leaves lwIP as it found it: every netconn deleted, every
 * thread it started ended (checked with lwIP's pool statistics: netconns,
 * netbufs, API messages, UDP PCBs, pool pbufs).
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "lwip/api.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "net/lwip/net_lwip.h"
#include "vm/vm.h"

#define MS 1000000ull

/* ------------------------------------------------------------ sys_arch */

struct sem_pair {
	sys_sem_t go, done;
	sys_mbox_t mbox;
	sys_mutex_t mutex;
	volatile int shared; /* changed only under mutex */
	int seen;
};

static void sem_helper(void *arg)
{
	struct sem_pair *p = arg;
	sys_arch_sem_wait(&p->go, 0);
	sys_sem_signal(&p->done);
}

static void mbox_writer(void *arg)
{
	struct sem_pair *p = arg;
	/* More than the ring holds: post must wait for the reader. */
	for (uintptr_t i = 1; i <= 40; i++)
		sys_mbox_post(&p->mbox, (void *)i);
	sys_sem_signal(&p->done);
}

static void mutex_helper(void *arg)
{
	struct sem_pair *p = arg;
	for (int i = 0; i < 1000; i++) {
		sys_mutex_lock(&p->mutex);
		int v = p->shared;
		if (i % 100 == 0)
			thread_yield(); /* hold it across a switch */
		p->shared = v + 1;
		sys_mutex_unlock(&p->mutex);
	}
	sys_sem_signal(&p->done);
}

SELFTEST(lwip_sys_arch)
{
	struct sem_pair p = {0};
	ST_ASSERT(sys_sem_new(&p.go, 0) == ERR_OK && sys_sem_valid(&p.go));
	ST_ASSERT(sys_sem_new(&p.done, 0) == ERR_OK);

	/* A timed wait times out, no earlier than asked. */
	uint64_t t0 = time_ns();
	ST_ASSERT(sys_arch_sem_wait(&p.go, 30) == SYS_ARCH_TIMEOUT);
	ST_ASSERT(time_ns() - t0 >= 30 * MS);

	/* A signal from another thread ends an untimed wait. */
	ST_ASSERT(sys_thread_new("lwip-t-sem", sem_helper, &p, 0, 0));
	sys_sem_signal(&p.go);
	ST_ASSERT(sys_arch_sem_wait(&p.done, 2000) != SYS_ARCH_TIMEOUT);

	/* Counting: two signals, two waits that do not block. */
	sys_sem_signal(&p.go);
	sys_sem_signal(&p.go);
	ST_ASSERT(sys_arch_sem_wait(&p.go, 1) != SYS_ARCH_TIMEOUT);
	ST_ASSERT(sys_arch_sem_wait(&p.go, 1) != SYS_ARCH_TIMEOUT);
	ST_ASSERT(sys_arch_sem_wait(&p.go, 1) == SYS_ARCH_TIMEOUT);

	/* Mailbox: FIFO, trypost refuses when full, fetch times out. */
	void *m;
	ST_ASSERT(sys_mbox_new(&p.mbox, 4) == ERR_OK &&
		  sys_mbox_valid(&p.mbox));
	ST_ASSERT(sys_arch_mbox_tryfetch(&p.mbox, &m) == SYS_MBOX_EMPTY);
	for (uintptr_t i = 1; i <= 4; i++)
		ST_ASSERT(sys_mbox_trypost(&p.mbox, (void *)i) == ERR_OK);
	ST_ASSERT(sys_mbox_trypost(&p.mbox, (void *)5) == ERR_MEM);
	for (uintptr_t i = 1; i <= 4; i++)
		ST_ASSERT(sys_arch_mbox_tryfetch(&p.mbox, &m) == 0 &&
			  m == (void *)i);
	t0 = time_ns();
	ST_ASSERT(sys_arch_mbox_fetch(&p.mbox, &m, 20) == SYS_ARCH_TIMEOUT);
	ST_ASSERT(time_ns() - t0 >= 20 * MS);
	/* A writer posting 40 through a ring of 4, the reader 10 ms late. */
	ST_ASSERT(sys_thread_new("lwip-t-mbox", mbox_writer, &p, 0, 0));
	sys_msleep(10);
	for (uintptr_t i = 1; i <= 40; i++) {
		ST_ASSERT(sys_arch_mbox_fetch(&p.mbox, &m, 2000) !=
			  SYS_ARCH_TIMEOUT);
		ST_ASSERT(m == (void *)i);
	}
	ST_ASSERT(sys_arch_sem_wait(&p.done, 2000) != SYS_ARCH_TIMEOUT);
	sys_mbox_free(&p.mbox);
	ST_ASSERT(!sys_mbox_valid(&p.mbox));

	/* Mutex: two threads incrementing, switching while holding it. */
	ST_ASSERT(sys_mutex_new(&p.mutex) == ERR_OK);
	ST_ASSERT(sys_thread_new("lwip-t-mutex", mutex_helper, &p, 0, 0));
	for (int i = 0; i < 1000; i++) {
		sys_mutex_lock(&p.mutex);
		int v = p.shared;
		if (i % 100 == 50)
			thread_yield();
		p.shared = v + 1;
		sys_mutex_unlock(&p.mutex);
	}
	ST_ASSERT(sys_arch_sem_wait(&p.done, 5000) != SYS_ARCH_TIMEOUT);
	ST_ASSERT(p.shared == 2000);
	sys_mutex_free(&p.mutex);

	/* sys_now follows time_ns in milliseconds. */
	u32_t n0 = sys_now();
	sys_msleep(25);
	u32_t dn = sys_now() - n0;
	ST_ASSERT(dn >= 24 && dn < 1000);

	sys_sem_free(&p.go);
	sys_sem_free(&p.done);
	return 0;
}

/* ------------------------------------------------------------ timers */

struct timer_rec {
	sys_sem_t fired;
	int order[4], n;
	uint64_t at[4];
	struct thread *thread[4];
};

static struct timer_rec *timer_rec;

static void timer_cb(void *arg)
{
	struct timer_rec *r = timer_rec;
	int id = (int)(uintptr_t)arg;
	if (r->n < 4) {
		r->at[r->n] = time_ns();
		r->thread[r->n] = thread_current();
		r->order[r->n++] = id;
	}
	sys_sem_signal(&r->fired);
}

SELFTEST(lwip_timers)
{
	ST_ASSERT(net_lwip_ready());
	struct timer_rec r = {0};
	timer_rec = &r;
	sys_sem_new(&r.fired, 0);
	uint64_t t0 = time_ns();
	/* sys_timeout belongs to the core: take the core lock (a thread
	 * other than tcpip's may, since lwIP 2.1). */
	LOCK_TCPIP_CORE();
	sys_timeout(60, timer_cb, (void *)2);
	sys_timeout(20, timer_cb, (void *)1);
	sys_timeout(40, timer_cb, (void *)9); /* cancelled below */
	sys_untimeout(timer_cb, (void *)9);
	UNLOCK_TCPIP_CORE();
	ST_ASSERT(sys_arch_sem_wait(&r.fired, 2000) != SYS_ARCH_TIMEOUT);
	ST_ASSERT(sys_arch_sem_wait(&r.fired, 2000) != SYS_ARCH_TIMEOUT);
	/* Nothing else fires (the cancelled one would have, by now). */
	ST_ASSERT(sys_arch_sem_wait(&r.fired, 60) == SYS_ARCH_TIMEOUT);
	ST_ASSERT(r.n == 2 && r.order[0] == 1 && r.order[1] == 2);
	ST_ASSERT(r.at[0] - t0 >= 19 * MS && r.at[1] - t0 >= 59 * MS);
	/* On time, not at the tcpip thread's next periodic wakeup (up to
	 * 500 ms later): adding them woke it (lwip_port_kick_tcpip). */
	ST_ASSERT(r.at[0] - t0 < 120 * MS && r.at[1] - t0 < 160 * MS);
	/* They ran in the tcpip thread, not here. */
	ST_ASSERT(r.thread[0] == r.thread[1] &&
		  r.thread[0] != thread_current());
	ST_ASSERT(!strcmp(thread_name(r.thread[0]), TCPIP_THREAD_NAME));
	printk("# lwip timers: 20 ms fired at %lu ms, 60 ms at %lu ms\n",
	       (unsigned long)((r.at[0] - t0) / MS),
	       (unsigned long)((r.at[1] - t0) / MS));
	sys_sem_free(&r.fired);
	timer_rec = NULL;
	return 0;
}

/* ------------------------------------------------------------ TCP */

#define TCP_PORT 5001
#define TCP_UP_BYTES (512 * 1024) /* client -> server */
#define TCP_DOWN_BYTES (128 * 1024) /* server -> client */

/* A repeatable byte stream: xorshift32 from a seed. */
struct stream {
	uint32_t x;
};

static void stream_fill(struct stream *s, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		s->x ^= s->x << 13;
		s->x ^= s->x >> 17;
		s->x ^= s->x << 5;
		buf[i] = (uint8_t)s->x;
	}
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

struct tcp_test {
	sys_sem_t listening, done;
	int err; /* the server's first failure, 0 if none */
	size_t got;
	uint64_t sum;
};

/* Accept one connection, read until the client shuts down its side
 * (checksumming), then send TCP_DOWN_BYTES of stream 2 and close. */
static void tcp_server(void *arg)
{
	struct tcp_test *t = arg;
	struct netconn *l = netconn_new(NETCONN_TCP), *c = NULL;
	uint8_t *buf = NULL;
	ip_addr_t lo;
	IP_ADDR4(&lo, 127, 0, 0, 1);
	if (!l || netconn_bind(l, &lo, TCP_PORT) != ERR_OK ||
	    netconn_listen(l) != ERR_OK) {
		t->err = 1;
		sys_sem_signal(&t->listening);
		goto out;
	}
	sys_sem_signal(&t->listening);
	netconn_set_recvtimeout(l, 5000);
	if (netconn_accept(l, &c) != ERR_OK) {
		t->err = 2;
		goto out;
	}
	netconn_set_recvtimeout(c, 5000);
	t->sum = FNV_INIT;
	struct pbuf *p;
	err_t e;
	while ((e = netconn_recv_tcp_pbuf(c, &p)) == ERR_OK) {
		for (struct pbuf *q = p; q; q = q->next)
			t->sum = fnv1a(t->sum, q->payload, q->len);
		t->got += p->tot_len;
		pbuf_free(p);
	}
	if (e != ERR_CLSD) {
		t->err = 3;
		goto out;
	}
	buf = kmalloc(4096);
	struct stream s = {2};
	for (size_t sent = 0; buf && sent < TCP_DOWN_BYTES; sent += 4096) {
		stream_fill(&s, buf, 4096);
		if (netconn_write(c, buf, 4096, NETCONN_COPY) != ERR_OK) {
			t->err = 4;
			break;
		}
	}
out:
	kfree(buf);
	if (c) {
		netconn_close(c);
		netconn_delete(c);
	}
	if (l)
		netconn_delete(l);
	sys_sem_signal(&t->done);
}

static u16_t used(struct stats_mem *m)
{
	return m->used;
}

SELFTEST(lwip_tcp_loopback)
{
	ST_ASSERT(net_lwip_ready());
	u16_t netconns = used(lwip_stats.memp[MEMP_NETCONN]);
	struct tcp_test t = {0};
	sys_sem_new(&t.listening, 0);
	sys_sem_new(&t.done, 0);
	ST_ASSERT(sys_thread_new("lwip-t-tcp", tcp_server, &t, 0, 0));
	ST_ASSERT(sys_arch_sem_wait(&t.listening, 2000) != SYS_ARCH_TIMEOUT);
	ST_ASSERT(t.err == 0);

	uint64_t t0 = time_ns();
	struct netconn *c = netconn_new(NETCONN_TCP);
	ST_ASSERT(c);
	ip_addr_t lo;
	IP_ADDR4(&lo, 127, 0, 0, 1);
	int rc = 0;
	uint8_t *buf = kmalloc(8192);
	if (!buf || netconn_connect(c, &lo, TCP_PORT) != ERR_OK)
		rc = 1;
	/* Up: 512 KiB in writes of odd sizes, so segments and writes do not
	 * line up. */
	struct stream s = {1};
	uint64_t sum = FNV_INIT;
	size_t sent = 0;
	while (!rc && sent < TCP_UP_BYTES) {
		size_t n =
			MIN((size_t)(1000 + sent % 7000), TCP_UP_BYTES - sent);
		stream_fill(&s, buf, n);
		sum = fnv1a(sum, buf, n);
		size_t w = 0;
		if (netconn_write_partly(c, buf, n, NETCONN_COPY, &w) !=
			    ERR_OK ||
		    w != n)
			rc = 2;
		sent += n;
	}
	if (!rc && netconn_shutdown(c, 0, 1) != ERR_OK)
		rc = 3;
	uint64_t t1 = time_ns();
	/* Down: the server's stream 2, compared as it arrives. */
	struct stream s2 = {2};
	size_t got = 0;
	netconn_set_recvtimeout(c, 5000);
	struct pbuf *p;
	err_t e = ERR_OK;
	while (!rc && (e = netconn_recv_tcp_pbuf(c, &p)) == ERR_OK) {
		for (struct pbuf *q = p; q && !rc; q = q->next) {
			stream_fill(&s2, buf, q->len);
			if (memcmp(buf, q->payload, q->len))
				rc = 4;
		}
		got += p->tot_len;
		pbuf_free(p);
	}
	uint64_t t2 = time_ns();
	netconn_close(c);
	netconn_delete(c);
	kfree(buf);
	ST_ASSERT(sys_arch_sem_wait(&t.done, 5000) != SYS_ARCH_TIMEOUT);
	if (rc || t.err || e != ERR_CLSD)
		printk("# client rc %d, server err %d, last recv %d\n", rc,
		       t.err, e);
	ST_ASSERT(rc == 0 && t.err == 0 && e == ERR_CLSD);
	ST_ASSERT(t.got == TCP_UP_BYTES && t.sum == sum);
	ST_ASSERT(got == TCP_DOWN_BYTES);
	printk("# lwip tcp 127.0.0.1: %u KiB up in %lu ms, %u KiB down in "
	       "%lu ms, checksums match\n",
	       TCP_UP_BYTES / 1024, (unsigned long)((t1 - t0) / MS),
	       TCP_DOWN_BYTES / 1024, (unsigned long)((t2 - t1) / MS));
	/* Both netconns are gone; the PCBs may linger in TIME_WAIT. */
	ST_ASSERT(used(lwip_stats.memp[MEMP_NETCONN]) == netconns);
	sys_sem_free(&t.listening);
	sys_sem_free(&t.done);
	return 0;
}

/* ------------------------------------------------------------ UDP */

#define UDP_PORT 7
#define UDP_ROUNDS 64

/* Echo every datagram to its sender until one says "quit". */
static void udp_echo(void *arg)
{
	struct tcp_test *t = arg;
	struct netconn *c = netconn_new(NETCONN_UDP);
	if (!c || netconn_bind(c, IP4_ADDR_ANY, UDP_PORT) != ERR_OK) {
		t->err = 1;
		sys_sem_signal(&t->listening);
		goto out;
	}
	sys_sem_signal(&t->listening);
	netconn_set_recvtimeout(c, 5000);
	for (;;) {
		struct netbuf *nb;
		if (netconn_recv(c, &nb) != ERR_OK) {
			t->err = 2;
			break;
		}
		void *data;
		u16_t len;
		bool quit = netbuf_data(nb, &data, &len) == ERR_OK &&
			    len == 4 && !memcmp(data, "quit", 4);
		if (!quit && netconn_sendto(c, nb, netbuf_fromaddr(nb),
					    netbuf_fromport(nb)) != ERR_OK)
			t->err = 3;
		netbuf_delete(nb);
		if (quit || t->err)
			break;
	}
out:
	if (c)
		netconn_delete(c);
	sys_sem_signal(&t->done);
}

/* Send one datagram of len bytes of buf. */
static err_t udp_send(struct netconn *c, const void *buf, u16_t len)
{
	struct netbuf *nb = netbuf_new();
	if (!nb)
		return ERR_MEM;
	err_t e = netbuf_ref(nb, buf, len);
	if (e == ERR_OK)
		e = netconn_send(c, nb);
	netbuf_delete(nb);
	return e;
}

SELFTEST(lwip_udp_echo)
{
	ST_ASSERT(net_lwip_ready());
	u16_t netconns = used(lwip_stats.memp[MEMP_NETCONN]);
	u16_t netbufs = used(lwip_stats.memp[MEMP_NETBUF]);
	u16_t pcbs = used(lwip_stats.memp[MEMP_UDP_PCB]);
	struct tcp_test t = {0};
	sys_sem_new(&t.listening, 0);
	sys_sem_new(&t.done, 0);
	ST_ASSERT(sys_thread_new("lwip-t-udp", udp_echo, &t, 0, 0));
	ST_ASSERT(sys_arch_sem_wait(&t.listening, 2000) != SYS_ARCH_TIMEOUT);
	ST_ASSERT(t.err == 0);

	struct netconn *c = netconn_new(NETCONN_UDP);
	ST_ASSERT(c);
	ip_addr_t lo;
	IP_ADDR4(&lo, 127, 0, 0, 1);
	uint8_t *buf = kmalloc(8192);
	int rc = (!buf || netconn_connect(c, &lo, UDP_PORT) != ERR_OK);
	netconn_set_recvtimeout(c, 2000);
	struct stream s = {3};
	size_t bytes = 0;
	for (int i = 0; i < UDP_ROUNDS && !rc; i++) {
		/* 1 byte up to 8000: bigger than an Ethernet frame too. */
		u16_t len = (u16_t)(1 + (i * 127) % 8000);
		stream_fill(&s, buf, len);
		if (udp_send(c, buf, len) != ERR_OK) {
			rc = 2;
			break;
		}
		struct netbuf *nb;
		if (netconn_recv(c, &nb) != ERR_OK) {
			rc = 3;
			break;
		}
		if (netbuf_len(nb) != len ||
		    pbuf_memcmp(nb->p, 0, buf, len) != 0 ||
		    netbuf_fromport(nb) != UDP_PORT)
			rc = 4;
		netbuf_delete(nb);
		bytes += len;
	}
	udp_send(c, "quit", 4);
	netconn_delete(c);
	kfree(buf);
	ST_ASSERT(sys_arch_sem_wait(&t.done, 5000) != SYS_ARCH_TIMEOUT);
	if (rc || t.err)
		printk("# client rc %d, echo err %d\n", rc, t.err);
	ST_ASSERT(rc == 0 && t.err == 0);
	printk("# lwip udp 127.0.0.1: %d datagrams, %lu bytes echoed\n",
	       UDP_ROUNDS, (unsigned long)bytes);
	ST_ASSERT(used(lwip_stats.memp[MEMP_NETCONN]) == netconns);
	ST_ASSERT(used(lwip_stats.memp[MEMP_NETBUF]) == netbufs);
	ST_ASSERT(used(lwip_stats.memp[MEMP_UDP_PCB]) == pcbs);
	sys_sem_free(&t.listening);
	sys_sem_free(&t.done);
	return 0;
}
