/*
 * socket.c — BSD sockets (AF_INET: TCP, UDP) over lwIP's netconn API; the
 * file-ops side of the socket system calls (kern/sys_socket.c, interface
 * in net/lwip/socket.h). See docs/network.md, "## Sockets".
 *
 * A socket is a struct file over an anonymous VSOCK vnode; f->priv is a
 * struct sock holding one netconn. Every netconn is in lwIP's non-blocking
 * mode, so no thread ever sleeps inside lwIP: an operation that cannot go
 * on (ERR_WOULDBLOCK, a connect in progress) returns -EAGAIN to an
 * O_NONBLOCK caller, and a blocking caller sleeps on Shoal's poll queue
 * (poll_wait, interruptible) until the netconn event callback, which
 * calls poll_notify() for every RCVPLUS/SENDPLUS/ERROR, says something
 * changed, then tries again. The poll sequence number is taken before each
 * try, so an event between the try and the sleep is never lost. A blocking
 * call waits at most SO_RCVTIMEO (accept, receive) or SO_SNDTIMEO (send,
 * connect) when set, then gives what it moved or -EAGAIN (connect:
 * -EINPROGRESS); a signal ends a wait with -ERESTARTSYS, or with -EINTR
 * when the call has such a timeout (Linux never restarts those).
 *
 * TCP state (struct sock.state), as the socket layer sees it:
 *
 *   NEW --connect--> CONNECTING --(lwIP connected)--> CONNECTED
 *    |                    `--(RST, timeout)--> DEAD, so_error set
 *    `--listen--> LISTEN            CONNECTED --(RST, abort)--> DEAD
 *
 * lwIP reports the end of a connect by leaving NETCONN_CONNECT (and
 * pending_err on failure); sk_refresh() turns that into CONNECTED or DEAD
 * whenever the socket is used. A peer's FIN is read as end of file
 * (rd_eof); an RST is reported once (ECONNRESET) after the data before it,
 * then reads give 0 and writes EPIPE. so_error holds an error not yet
 * reported (SO_ERROR reads and clears it).
 *
 * Received TCP data comes as pbuf chains; the one being read is kept in
 * rx_p (rx_off bytes of it consumed). A UDP datagram kept by MSG_PEEK is
 * rx_nb. Closing the last file frees both and deletes the netconn, which
 * drains its queues (unaccepted connections included), so nothing stays
 * behind but the TCP pcb lwIP itself keeps for FIN/TIME_WAIT. A UDP
 * socket's queue is bounded by its mailbox (128 datagrams) and SO_RCVBUF
 * (bytes): lwIP's recv_udp drops what does not fit without a word, so
 * each UDP pcb's receive callback is wrapped (sock_udp_input) to count
 * those drops (udp_rcvbuf_errors, /proc/net/snmp).
 *
 * Locking: sk->lock (sleeplock) guards every field of struct sock and
 * serializes the socket's netconn calls (LWIP_NETCONN_FULLDUPLEX is off).
 * It is dropped while a caller sleeps, so a blocked reader never holds up
 * a writer. Order: sk->lock, then lwIP's core lock (taken by the netconn
 * calls, or here to read pcb fields). The event callback runs under the
 * core lock and takes only poll_lock.
 */
#include "net/lwip/socket.h"

#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "lwip/api.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"
#include "vm/vm.h"

#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_KEEPALIVE 9
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define IPPROTO_TCP 6
#define TCP_NODELAY 1

#define UDP_MAX 65507 /* 65535 - IPv4 header - UDP header */
#define SOCKBUF_MIN 2048

enum sk_state { SK_NEW, SK_CONNECTING, SK_CONNECTED, SK_LISTEN, SK_DEAD };

struct sock {
	struct sleeplock lock;
	struct netconn *conn;
	int type; /* SOCK_STREAM, SOCK_DGRAM (also for raw) */
	bool raw; /* SOCK_RAW IPPROTO_ICMP: a NETCONN_RAW, whole IP packets in */
	enum sk_state state; /* TCP only */
	bool bound;
	bool udp_connected;
	bool rd_eof; /* TCP: FIN or a fatal error read: reads give 0 */
	bool rd_shut, wr_shut; /* shutdown(2) */
	bool nodelay, keepalive, reuse;
	bool connect_pending; /* EINPROGRESS given, outcome not yet told */
	int so_error; /* positive errno not yet reported */
	int rcvbuf, sndbuf; /* SO_RCVBUF/SO_SNDBUF, as getsockopt says */
	/* SO_RCVTIMEO/SO_SNDTIMEO in ns; 0: none */
	uint64_t rcvtimeo_ns, sndtimeo_ns;
	struct pbuf *rx_p;
	size_t rx_off;
	struct netbuf *rx_nb;
};

static unsigned live_socks;
static uint64_t next_sock_ino = 1;

/* UDP datagrams lwIP's recv_udp dropped for a socket (full queue: bytes
 * over SO_RCVBUF or mailbox full; or no netbuf left). The core lock
 * guards it and the two below: recv_udp runs under it. */
static uint64_t udp_rcvbuf_errors;
static struct netconn *udp_delivering; /* the conn sock_udp_input calls */
static bool udp_delivered; /* ... and its RCVPLUS came */
static udp_recv_fn lwip_recv_udp; /* lwIP's callback, which we wrap */

unsigned sock_count(void)
{
	return __atomic_load_n(&live_socks, __ATOMIC_RELAXED);
}

uint64_t sock_udp_rcvbuf_errors(void)
{
	LOCK_TCPIP_CORE();
	uint64_t n = udp_rcvbuf_errors;
	UNLOCK_TCPIP_CORE();
	return n;
}

/* lwIP's error codes as Linux errnos, for operations on a live socket. */
static int lwip_errno(err_t e)
{
	switch (e) {
	case ERR_OK:
		return 0;
	case ERR_MEM:
		return -ENOMEM;
	case ERR_BUF:
		return -ENOBUFS;
	case ERR_TIMEOUT:
		return -ETIMEDOUT;
	case ERR_RTE:
		return -EHOSTUNREACH;
	case ERR_INPROGRESS:
		return -EINPROGRESS;
	case ERR_VAL:
		return -EINVAL;
	case ERR_WOULDBLOCK:
		return -EAGAIN;
	case ERR_USE:
		return -EADDRINUSE;
	case ERR_ALREADY:
		return -EALREADY;
	case ERR_ISCONN:
		return -EISCONN;
	case ERR_CONN:
	case ERR_CLSD:
		return -ENOTCONN;
	case ERR_IF:
		return -ENETDOWN;
	case ERR_ABRT:
		return -ECONNABORTED;
	case ERR_RST:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

/* How a connect attempt ended, as Linux reports it. */
static int connect_errno(err_t e)
{
	switch (e) {
	case ERR_OK: /* pcb gone without an error: refused */
	case ERR_RST:
		return -ECONNREFUSED;
	case ERR_ABRT: /* SYN retransmissions ran out */
	case ERR_TIMEOUT:
		return -ETIMEDOUT;
	case ERR_RTE:
		return -ENETUNREACH;
	case ERR_USE:
		return -EADDRNOTAVAIL;
	default:
		return lwip_errno(e);
	}
}

/*
 * RCVPLUS, SENDPLUS and ERROR may make a socket ready: wake the pollers.
 * RCVMINUS and SENDMINUS only make one less ready, and come from the
 * socket's own calls: a blocked sender's every failed try sends SENDMINUS,
 * so notifying it would move the poll sequence under the sender's feet and
 * its wait would return at once, for ever, deaf to signals. Core lock held
 * (or the caller owns conn alone: netconn_new, netconn_delete).
 */
static void sock_event(struct netconn *conn, enum netconn_evt evt, u16_t len)
{
	if (evt == NETCONN_EVT_RCVMINUS || evt == NETCONN_EVT_SENDMINUS)
		return;
	if (evt == NETCONN_EVT_RCVPLUS && conn == udp_delivering)
		udp_delivered = true;
	poll_notify();
}

/* A UDP pcb's receive callback (core lock held, tcpip thread): lwIP's
 * recv_udp queues the datagram and sends RCVPLUS, or frees it silently;
 * the missing RCVPLUS is the drop we count. */
static void sock_udp_input(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			   const ip_addr_t *addr, u16_t port)
{
	udp_delivering = arg;
	udp_delivered = false;
	lwip_recv_udp(arg, pcb, p, addr, port);
	if (!udp_delivered)
		udp_rcvbuf_errors++;
	udp_delivering = NULL;
}

/* Put sock_udp_input in front of lwIP's callback on conn's new pcb. */
static void wrap_udp_input(struct netconn *conn)
{
	LOCK_TCPIP_CORE();
	struct udp_pcb *pcb = conn->pcb.udp;
	if (pcb && pcb->recv != sock_udp_input) {
		if (!lwip_recv_udp)
			lwip_recv_udp = pcb->recv;
		if (pcb->recv == lwip_recv_udp)
			udp_recv(pcb, sock_udp_input, pcb->recv_arg);
	}
	UNLOCK_TCPIP_CORE();
}

static bool nonblocking(const struct file *f, int flags)
{
	return (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

/* When a blocking call that may wait timeo_ns (0: forever) gives up. */
static uint64_t sk_deadline(uint64_t timeo_ns)
{
	return timeo_ns ? time_ns() + timeo_ns : 0;
}

/*
 * Sleep until the next netconn event after seq (sk->lock held, dropped
 * while asleep), at most until deadline (0: none). Returns 0, -EAGAIN once
 * the deadline has passed, or for a signal -ERESTARTSYS (-EINTR when the
 * call has a deadline: Linux does not restart a socket call with a
 * timeout, sock_intr_errno).
 */
static int sk_wait(struct sock *sk, uint64_t seq, uint64_t deadline)
{
	if (deadline && time_ns() >= deadline)
		return -EAGAIN; /* events kept coming: never slept to it */
	sleeplock_release(&sk->lock);
	int err = poll_wait(seq, deadline);
	sleeplock_acquire(&sk->lock);
	if (err == -ETIMEDOUT)
		return -EAGAIN;
	if (err == -ERESTARTSYS)
		return deadline ? -EINTR : err;
	return 0;
}

/* A TCP connect in progress that lwIP has finished: CONNECTED or DEAD. */
static void sk_refresh(struct sock *sk)
{
	if (sk->type != SOCK_STREAM || sk->state != SK_CONNECTING ||
	    sk->conn->state == NETCONN_CONNECT)
		return;
	err_t e = netconn_err(sk->conn);
	if (e == ERR_OK && sk->conn->pcb.tcp) {
		sk->state = SK_CONNECTED;
	} else {
		sk->state = SK_DEAD;
		sk->so_error = -connect_errno(e);
		sk->rd_eof = true;
	}
}

/* ------------------------------------------------------------ file ops */

static int64_t sock_read(struct file *f, void *buf, size_t len, uint64_t off)
{
	return sock_recv(f, buf, len, 0, NULL, NULL);
}

static int64_t sock_write(struct file *f, const void *buf, size_t len,
			  uint64_t off)
{
	return sock_send(f, buf, len, 0, NULL);
}

static size_t mbox_count(sys_mbox_t *mb)
{
	return sys_mbox_valid(mb) ? mb->count : 0;
}

static unsigned sock_poll(struct file *f)
{
	struct sock *sk = f->priv;
	struct netconn *c = sk->conn;
	unsigned mask = 0;
	sleeplock_acquire(&sk->lock);
	sk_refresh(sk);
	LOCK_TCPIP_CORE();
	if (sk->type == SOCK_DGRAM) {
		mask |= POLLOUT | POLLWRNORM;
		if (sk->rx_nb || mbox_count(&c->recvmbox) || sk->rd_shut)
			mask |= POLLIN | POLLRDNORM;
	} else if (sk->state == SK_LISTEN) {
		if (mbox_count(&c->acceptmbox))
			mask |= POLLIN | POLLRDNORM;
	} else if (sk->state == SK_NEW) {
		mask |= POLLOUT | POLLHUP; /* as Linux: not connected */
	} else if (sk->state != SK_CONNECTING) {
		bool dead = sk->state == SK_DEAD || !c->pcb.tcp;
		if (sk->rx_p || sk->rd_eof || sk->rd_shut ||
		    mbox_count(&c->recvmbox))
			mask |= POLLIN | POLLRDNORM;
		if (sk->rd_eof)
			mask |= POLLRDHUP;
		if (dead) {
			mask |= POLLIN | POLLRDNORM | POLLOUT | POLLHUP;
			if (sk->so_error || c->pending_err != ERR_OK)
				mask |= POLLERR;
		} else if (sk->wr_shut ||
			   !netconn_is_flag_set(
				   c, NETCONN_FLAG_CHECK_WRITESPACE)) {
			mask |= POLLOUT | POLLWRNORM;
		}
		if (sk->rd_eof && sk->wr_shut)
			mask |= POLLHUP;
	}
	UNLOCK_TCPIP_CORE();
	sleeplock_release(&sk->lock);
	return mask;
}

static void sock_release(struct file *f)
{
	struct sock *sk = f->priv;
	if (sk->rx_p)
		pbuf_free(sk->rx_p);
	if (sk->rx_nb)
		netbuf_delete(sk->rx_nb);
	netconn_delete(sk->conn);
	kfree(sk);
	__atomic_fetch_sub(&live_socks, 1, __ATOMIC_RELAXED);
	poll_notify();
}

static const struct file_ops sock_fops = {
	.read = sock_read,
	.write = sock_write,
	.release = sock_release,
	.poll = sock_poll,
	.stream = true,
};

static int sock_getattr(struct vnode *vn, struct vattr *va)
{
	va->ino = vn->ino;
	va->mode = S_IFSOCK | 0777;
	va->nlink = 1;
	va->blksize = 4096;
	return 0;
}

static const struct vnode_ops sock_vops = {
	.getattr = sock_getattr,
};

bool sock_is(const struct file *f)
{
	return f->ops == &sock_fops;
}

bool sock_is_raw(const struct file *f)
{
	return ((const struct sock *)f->priv)->raw;
}

int sock_type(const struct file *f)
{
	return ((struct sock *)f->priv)->type;
}

/* A file for conn (taken over: deleted on failure). */
static int sock_wrap(struct netconn *conn, int type, int flags,
		     enum sk_state state, struct file **out)
{
	struct sock *sk = kzalloc(sizeof *sk);
	uint64_t ino = __atomic_fetch_add(&next_sock_ino, 1, __ATOMIC_RELAXED);
	struct vnode *vn = sk ? vnode_alloc(NULL, ino, VSOCK, &sock_vops, NULL)
			      : NULL;
	struct file *f = vn ? file_alloc(vn, O_RDWR | (flags & O_NONBLOCK))
			    : NULL;
	if (!f) {
		vnode_put(vn);
		kfree(sk);
		netconn_delete(conn);
		return -ENOMEM;
	}
	sleeplock_init(&sk->lock, "socket");
	sk->conn = conn;
	sk->type = type;
	sk->state = state;
	sk->bound = state != SK_NEW;
	sk->rcvbuf = type == SOCK_STREAM ? TCP_WND : RECV_BUFSIZE_DEFAULT;
	sk->sndbuf = type == SOCK_STREAM ? TCP_SND_BUF : UDP_MAX;
	netconn_set_nonblocking(conn, 1);
	f->ops = &sock_fops;
	f->priv = sk;
	__atomic_fetch_add(&live_socks, 1, __ATOMIC_RELAXED);
	*out = f;
	return 0;
}

int sock_create(int type, int flags, struct file **out)
{
	struct netconn *conn =
		type == SOCK_RAW
			? netconn_new_with_proto_and_callback(
				  NETCONN_RAW, IP_PROTO_ICMP, sock_event)
			: netconn_new_with_callback(type == SOCK_STREAM
							    ? NETCONN_TCP
							    : NETCONN_UDP,
						    sock_event);
	if (!conn)
		return -ENOBUFS;
	/* A raw socket is a datagram socket to every path below: send is
	 * raw_sendto (lwIP adds the IP header), receive gives lwIP's copy of
	 * the whole packet (recv_raw), as Linux's raw sockets do. */
	if (type == SOCK_DGRAM)
		wrap_udp_input(conn);
	int err = sock_wrap(conn, type == SOCK_RAW ? SOCK_DGRAM : type, flags,
			    SK_NEW, out);
	if (!err)
		((struct sock *)(*out)->priv)->raw = type == SOCK_RAW;
	return err;
}

/* ------------------------------------------------------------- binding */

/* Is addr (network order) one of this node's addresses? */
static bool addr_local(uint32_t addr)
{
	if ((lwip_ntohl(addr) >> 24) == 127)
		return true;
	bool found = false;
	struct netif *n;
	LOCK_TCPIP_CORE();
	NETIF_FOREACH(n)
	{
		if (ip4_addr_get_u32(netif_ip4_addr(n)) == addr)
			found = true;
	}
	UNLOCK_TCPIP_CORE();
	return found;
}

static void to_ip(ip_addr_t *ip, uint32_t addr)
{
	ip_addr_set_ip4_u32(ip, addr);
}

int sock_bind(struct file *f, const struct sock_addr *a)
{
	struct sock *sk = f->priv;
	int err = 0;
	if (a->addr != 0 && !addr_local(a->addr))
		return -EADDRNOTAVAIL;
	sleeplock_acquire(&sk->lock);
	if (sk->bound || (sk->type == SOCK_STREAM && sk->state != SK_NEW)) {
		err = -EINVAL;
	} else {
		ip_addr_t ip;
		to_ip(&ip, a->addr);
		err = lwip_errno(netconn_bind(sk->conn, &ip, a->port));
		sk->bound = !err;
	}
	sleeplock_release(&sk->lock);
	return err;
}

int sock_listen(struct file *f, int backlog)
{
	struct sock *sk = f->priv;
	int err = 0;
	if (sk->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	backlog = backlog < 0 ? 0 : backlog > 255 ? 255 : backlog;
	sleeplock_acquire(&sk->lock);
	sk_refresh(sk);
	if (sk->state != SK_NEW && sk->state != SK_LISTEN)
		err = -EINVAL;
	if (!err && !sk->bound)
		err = lwip_errno(netconn_bind(sk->conn, IP4_ADDR_ANY, 0));
	if (!err)
		err = lwip_errno(
			netconn_listen_with_backlog(sk->conn, (u8_t)backlog));
	if (!err) {
		sk->bound = true;
		sk->state = SK_LISTEN;
	}
	sleeplock_release(&sk->lock);
	return err;
}

int sock_accept(struct file *f, int flags, struct file **out,
		struct sock_addr *peer)
{
	struct sock *sk = f->priv;
	struct netconn *nc = NULL;
	int err = 0;
	if (sk->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	sleeplock_acquire(&sk->lock);
	uint64_t deadline = sk_deadline(sk->rcvtimeo_ns);
	for (;;) {
		if (sk->state != SK_LISTEN) {
			err = -EINVAL;
			break;
		}
		uint64_t seq = poll_seq();
		err_t e = netconn_accept(sk->conn, &nc);
		if (e == ERR_OK)
			break;
		if (e == ERR_ABRT || e == ERR_RST)
			continue; /* reset before we took it: the next one */
		if (e != ERR_WOULDBLOCK) {
			err = lwip_errno(e);
			break;
		}
		if (nonblocking(f, 0)) {
			err = -EAGAIN;
			break;
		}
		err = sk_wait(sk, seq, deadline);
		if (err)
			break;
	}
	sleeplock_release(&sk->lock);
	if (err)
		return err;
	ip_addr_t ip;
	u16_t port = 0;
	ip_addr_set_zero(&ip);
	netconn_peer(nc, &ip, &port);
	peer->addr = ip4_addr_get_u32(ip_2_ip4(&ip));
	peer->port = port;
	return sock_wrap(nc, SOCK_STREAM, flags, SK_CONNECTED, out);
}

int sock_connect(struct file *f, const struct sock_addr *a)
{
	struct sock *sk = f->priv;
	int err = 0;
	ip_addr_t ip;
	sleeplock_acquire(&sk->lock);
	if (sk->type == SOCK_DGRAM) {
		if (!a) {
			err = lwip_errno(netconn_disconnect(sk->conn));
			sk->udp_connected = false;
		} else {
			to_ip(&ip, a->addr);
			err = lwip_errno(
				netconn_connect(sk->conn, &ip, a->port));
			sk->udp_connected = !err;
			sk->bound |= !err;
		}
		sleeplock_release(&sk->lock);
		return err;
	}
	sk_refresh(sk);
	switch (sk->state) {
	case SK_NEW:
		if (!a) {
			err = 0; /* AF_UNSPEC on an unconnected socket */
			break;
		}
		to_ip(&ip, a->addr);
		err_t e = netconn_connect(sk->conn, &ip, a->port);
		if (e != ERR_INPROGRESS && e != ERR_OK) {
			err = connect_errno(e);
			break;
		}
		sk->bound = true;
		sk->state = SK_CONNECTING;
		err = -EINPROGRESS;
		break;
	case SK_CONNECTING:
		err = -EALREADY;
		break;
	case SK_DEAD:
		err = sk->so_error ? -sk->so_error : -ECONNABORTED;
		sk->so_error = 0;
		break;
	case SK_CONNECTED: /* the first call after EINPROGRESS: 0 */
		err = sk->connect_pending ? 0 : -EISCONN;
		break;
	default: /* LISTEN */
		err = -EISCONN;
		break;
	}
	sk->connect_pending = err == -EINPROGRESS && nonblocking(f, 0);
	if ((err == -EINPROGRESS || err == -EALREADY) && !nonblocking(f, 0)) {
		/* A blocking connect waits for the outcome (a connect that
		 * a signal interrupted and that is restarted, too), at most
		 * SO_SNDTIMEO: then EINPROGRESS, and it goes on as a
		 * non-blocking one would (Linux). */
		uint64_t deadline = sk_deadline(sk->sndtimeo_ns);
		for (;;) {
			uint64_t seq = poll_seq();
			sk_refresh(sk);
			if (sk->state != SK_CONNECTING)
				break;
			err = sk_wait(sk, seq, deadline);
			if (err == -EAGAIN) {
				err = -EINPROGRESS;
				sk->connect_pending = true;
			}
			if (err)
				break;
		}
		if (sk->state == SK_CONNECTED) {
			err = 0;
		} else if (sk->state == SK_DEAD) {
			err = -sk->so_error;
			sk->so_error = 0;
		}
	}
	sleeplock_release(&sk->lock);
	return err;
}

/* ----------------------------------------------------------- transfers */

static int64_t sk_udp_send(struct sock *sk, const void *buf, size_t len,
			   const struct sock_addr *to)
{
	if (len > UDP_MAX)
		return -EMSGSIZE;
	if (sk->wr_shut)
		return -EPIPE;
	if (!to && !sk->udp_connected)
		return -EDESTADDRREQ;
	struct netbuf *nb = netbuf_new();
	if (!nb)
		return -ENOBUFS;
	void *data = netbuf_alloc(nb, (u16_t)len);
	if (!data) {
		netbuf_delete(nb);
		return -ENOBUFS;
	}
	memcpy(data, buf, len);
	err_t e;
	if (to) {
		ip_addr_t ip;
		to_ip(&ip, to->addr);
		e = netconn_sendto(sk->conn, nb, &ip, to->port);
	} else {
		e = netconn_send(sk->conn, nb);
	}
	netbuf_delete(nb);
	if (e == ERR_RTE)
		return -ENETUNREACH;
	if (e == ERR_MEM)
		return -ENOBUFS;
	if (e != ERR_OK)
		return lwip_errno(e);
	sk->bound = true;
	return (int64_t)len;
}

/* Why a TCP socket cannot send now: 0 if it can, -EAGAIN while it
 * connects, else the errno (EPIPE: the caller raises SIGPIPE). */
static int tcp_send_state(struct sock *sk)
{
	sk_refresh(sk);
	if (sk->wr_shut)
		return -EPIPE;
	switch (sk->state) {
	case SK_CONNECTED:
		return 0;
	case SK_CONNECTING:
		return -EAGAIN;
	case SK_DEAD:
		if (sk->so_error) {
			int err = -sk->so_error;
			sk->so_error = 0;
			return err;
		}
		return -EPIPE;
	default:
		return -ENOTCONN;
	}
}

static int64_t sk_tcp_send(struct file *f, struct sock *sk, const char *buf,
			   size_t len, int flags)
{
	size_t done = 0;
	int err = 0;
	bool nb = nonblocking(f, flags);
	uint64_t deadline = sk_deadline(sk->sndtimeo_ns);
	for (;;) {
		uint64_t seq = poll_seq();
		err = tcp_send_state(sk);
		if (!err && done == len)
			break;
		if (!err) {
			size_t written = 0;
			err_t e = netconn_write_partly(
				sk->conn, buf + done, len - done,
				NETCONN_COPY | NETCONN_DONTBLOCK, &written);
			if (e == ERR_OK) {
				done += written;
				continue;
			}
			if (e != ERR_WOULDBLOCK) {
				/* the connection died: report it now, then
				 * EPIPE */
				sk->state = SK_DEAD;
				sk->rd_eof = true;
				err = e == ERR_RST    ? -ECONNRESET
				      : e == ERR_ABRT ? -ECONNABORTED
						      : -EPIPE;
				break;
			}
			err = -EAGAIN;
		}
		if (err != -EAGAIN || nb)
			break;
		err = sk_wait(sk, seq, deadline);
		if (err)
			break;
	}
	return done ? (int64_t)done : err;
}

int64_t sock_send(struct file *f, const void *buf, size_t len, int flags,
		  const struct sock_addr *to)
{
	struct sock *sk = f->priv;
	int64_t r;
	sleeplock_acquire(&sk->lock);
	if (sk->type == SOCK_DGRAM)
		r = sk_udp_send(sk, buf, len, to);
	else
		r = sk_tcp_send(f, sk, buf, len, flags);
	sleeplock_release(&sk->lock);
	return r;
}

/* Make sure rx_p holds data: 0 if it does, 1 at end of file, -EAGAIN when
 * nothing has come, or the connection's error (reported once). */
static int tcp_fill(struct sock *sk)
{
	if (sk->rx_p)
		return 0;
	if (sk->rd_eof || sk->rd_shut) {
		if (!sk->so_error)
			return 1;
		int err = -sk->so_error;
		sk->so_error = 0;
		return err;
	}
	struct pbuf *p = NULL;
	err_t e = netconn_recv_tcp_pbuf_flags(sk->conn, &p, NETCONN_DONTBLOCK);
	if (e == ERR_OK && p) {
		sk->rx_p = p;
		sk->rx_off = 0;
		return 0;
	}
	if (e == ERR_WOULDBLOCK)
		return -EAGAIN;
	sk->rd_eof = true;
	if (e == ERR_OK || e == ERR_CLSD || e == ERR_CONN)
		return 1;
	sk->state = SK_DEAD;
	return lwip_errno(e);
}

static int64_t sk_tcp_recv(struct file *f, struct sock *sk, char *buf,
			   size_t len, int flags)
{
	size_t copied = 0;
	int err = 0;
	bool nb = nonblocking(f, flags);
	bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && !nb;
	if (sk->state == SK_NEW || sk->state == SK_LISTEN)
		return -ENOTCONN;
	if (len == 0)
		return 0;
	uint64_t deadline = sk_deadline(sk->rcvtimeo_ns);
	for (;;) {
		uint64_t seq = poll_seq();
		sk_refresh(sk);
		int r = sk->state == SK_CONNECTING ? -EAGAIN : tcp_fill(sk);
		if (r == 0) {
			struct pbuf *p = sk->rx_p;
			size_t n = MIN(len - copied, p->tot_len - sk->rx_off);
			pbuf_copy_partial(p, buf + copied, (u16_t)n,
					  (u16_t)sk->rx_off);
			copied += n;
			if (flags & MSG_PEEK)
				break;
			sk->rx_off += n;
			if (sk->rx_off == p->tot_len) {
				pbuf_free(p);
				sk->rx_p = NULL;
			}
			if (copied == len)
				break;
			continue;
		}
		if (r == 1)
			break;
		if (r != -EAGAIN) {
			if (copied)
				sk->so_error = -r; /* the next call says it */
			else
				err = r;
			break;
		}
		if (copied && !waitall)
			break;
		if (nb) {
			err = -EAGAIN;
			break;
		}
		err = sk_wait(sk, seq, deadline);
		if (err)
			break;
	}
	return copied ? (int64_t)copied : err;
}

static int64_t sk_udp_recv(struct file *f, struct sock *sk, char *buf,
			   size_t len, int flags, struct sock_addr *from,
			   int *oflags)
{
	uint64_t deadline = sk_deadline(sk->rcvtimeo_ns);
	for (;;) {
		uint64_t seq = poll_seq();
		if (!sk->rx_nb && sk->rd_shut)
			return 0;
		if (!sk->rx_nb) {
			struct netbuf *nb = NULL;
			err_t e = netconn_recv_udp_raw_netbuf_flags(
				sk->conn, &nb, NETCONN_DONTBLOCK);
			if (e == ERR_OK) {
				sk->rx_nb = nb;
			} else if (e != ERR_WOULDBLOCK) {
				return lwip_errno(e);
			} else if (nonblocking(f, flags)) {
				return -EAGAIN;
			} else {
				int err = sk_wait(sk, seq, deadline);
				if (err)
					return err;
				continue;
			}
		}
		struct netbuf *nb = sk->rx_nb;
		size_t total = netbuf_len(nb), n = MIN(len, total);
		netbuf_copy(nb, buf, (u16_t)n);
		if (from) {
			from->addr =
				ip4_addr_get_u32(ip_2_ip4(netbuf_fromaddr(nb)));
			from->port = sk->raw ? 0 : netbuf_fromport(nb);
		}
		if (oflags && total > len)
			*oflags |= MSG_TRUNC;
		if (!(flags & MSG_PEEK)) {
			netbuf_delete(nb);
			sk->rx_nb = NULL;
		}
		return (int64_t)((flags & MSG_TRUNC) ? total : n);
	}
}

int64_t sock_recv(struct file *f, void *buf, size_t len, int flags,
		  struct sock_addr *from, int *oflags)
{
	struct sock *sk = f->priv;
	int64_t r;
	sleeplock_acquire(&sk->lock);
	if (sk->type == SOCK_DGRAM) {
		r = sk_udp_recv(f, sk, buf, len, flags, from, oflags);
	} else {
		r = sk_tcp_recv(f, sk, buf, len, flags);
	}
	sleeplock_release(&sk->lock);
	return r;
}

/* -------------------------------------------------- shutdown, options */

int sock_shutdown(struct file *f, int how)
{
	struct sock *sk = f->priv;
	int err = 0;
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	sleeplock_acquire(&sk->lock);
	sk_refresh(sk);
	if (sk->type == SOCK_DGRAM ? !sk->udp_connected
				   : sk->state != SK_CONNECTED) {
		err = -ENOTCONN;
	} else {
		if (how != SHUT_WR) {
			/* Later data stay queued in lwIP (closing with
			 * them unread resets the connection, as Linux). */
			sk->rd_shut = true;
			if (sk->rx_p)
				pbuf_free(sk->rx_p);
			sk->rx_p = NULL;
		}
		if (how != SHUT_RD && !sk->wr_shut) {
			if (sk->type == SOCK_STREAM)
				err = lwip_errno(
					netconn_shutdown(sk->conn, 0, 1));
			sk->wr_shut = !err;
		}
	}
	sleeplock_release(&sk->lock);
	poll_notify();
	return err;
}

/* Set or clear an SOF_* option on the socket's pcb (sk->lock held). */
static void pcb_option(struct sock *sk, u8_t opt, bool on)
{
	LOCK_TCPIP_CORE();
	if (sk->conn->pcb.ip) {
		if (on)
			ip_set_option(sk->conn->pcb.ip, opt);
		else
			ip_reset_option(sk->conn->pcb.ip, opt);
	}
	UNLOCK_TCPIP_CORE();
}

int sock_setopt(struct file *f, int level, int name, int val)
{
	struct sock *sk = f->priv;
	int err = 0;
	sleeplock_acquire(&sk->lock);
	if (level == SOL_SOCKET && name == SO_REUSEADDR) {
		sk->reuse = val != 0;
		pcb_option(sk, SOF_REUSEADDR, sk->reuse);
	} else if (level == SOL_SOCKET && name == SO_KEEPALIVE) {
		sk->keepalive = val != 0;
		pcb_option(sk, SOF_KEEPALIVE, sk->keepalive);
	} else if (level == SOL_SOCKET &&
		   (name == SO_RCVBUF || name == SO_SNDBUF)) {
		/* Linux doubles the value for its bookkeeping and reports
		 * that; lwIP's TCP windows are fixed, UDP's queue is not. */
		int v = val < 0 || val > INT32_MAX / 2 ? INT32_MAX : 2 * val;
		v = MAX(v, SOCKBUF_MIN);
		if (name == SO_RCVBUF) {
			sk->rcvbuf = v;
			if (sk->type == SOCK_DGRAM)
				netconn_set_recvbufsize(sk->conn, v);
		} else {
			sk->sndbuf = v;
		}
	} else if (level == IPPROTO_TCP && name == TCP_NODELAY &&
		   sk->type == SOCK_STREAM) {
		sk->nodelay = val != 0;
		LOCK_TCPIP_CORE();
		struct tcp_pcb *pcb = sk->conn->pcb.tcp;
		if (pcb && sk->state != SK_LISTEN) {
			if (sk->nodelay)
				tcp_nagle_disable(pcb);
			else
				tcp_nagle_enable(pcb);
		}
		UNLOCK_TCPIP_CORE();
	} else {
		err = -ENOPROTOOPT;
	}
	sleeplock_release(&sk->lock);
	return err;
}

int sock_getopt(struct file *f, int level, int name, int *val)
{
	struct sock *sk = f->priv;
	int err = 0;
	sleeplock_acquire(&sk->lock);
	sk_refresh(sk);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
			*val = sk->reuse;
			break;
		case SO_KEEPALIVE:
			*val = sk->keepalive;
			break;
		case SO_RCVBUF:
			*val = sk->rcvbuf;
			break;
		case SO_SNDBUF:
			*val = sk->sndbuf;
			break;
		case SO_TYPE:
			*val = sk->type;
			break;
		case SO_ERROR:
			*val = sk->so_error;
			sk->so_error = 0;
			break;
		default:
			err = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP && name == TCP_NODELAY &&
		   sk->type == SOCK_STREAM) {
		*val = sk->nodelay;
	} else {
		err = -ENOPROTOOPT;
	}
	sleeplock_release(&sk->lock);
	return err;
}

int sock_set_timeout(struct file *f, bool send, uint64_t ns)
{
	struct sock *sk = f->priv;
	sleeplock_acquire(&sk->lock);
	if (send)
		sk->sndtimeo_ns = ns;
	else
		sk->rcvtimeo_ns = ns;
	sleeplock_release(&sk->lock);
	return 0;
}

uint64_t sock_get_timeout(struct file *f, bool send)
{
	struct sock *sk = f->priv;
	sleeplock_acquire(&sk->lock);
	uint64_t ns = send ? sk->sndtimeo_ns : sk->rcvtimeo_ns;
	sleeplock_release(&sk->lock);
	return ns;
}

int sock_name(struct file *f, bool peer, struct sock_addr *a)
{
	struct sock *sk = f->priv;
	int err = 0;
	ip_addr_t ip;
	u16_t port = 0;
	ip_addr_set_zero(&ip);
	sleeplock_acquire(&sk->lock);
	sk_refresh(sk);
	if (peer && (sk->type == SOCK_DGRAM ? !sk->udp_connected
					    : sk->state != SK_CONNECTED))
		err = -ENOTCONN;
	else if (netconn_getaddr(sk->conn, &ip, &port, !peer) != ERR_OK)
		err = peer ? -ENOTCONN : 0; /* a dead pcb: 0.0.0.0:0 */
	sleeplock_release(&sk->lock);
	a->addr = err ? 0 : ip4_addr_get_u32(ip_2_ip4(&ip));
	a->port = err ? 0 : port;
	return err;
}

/* ------------------------------------------------- /proc/net/sockets */

/*
 * /proc/net/sockets: lwIP's TCP and UDP pcbs (so kernel netconns, DHCP's
 * client and TIME_WAIT connections appear too; raw pcbs are private to
 * lwIP's raw.c and are not listed). One header line, then per pcb:
 *   PROTO STATE LOCAL:PORT REMOTE:PORT RXQ TXQ
 * TCP's RXQ is what was received and not yet read (the window not yet
 * reopened), TXQ what is queued and not acknowledged; UDP's are 0. Read
 * under the core lock.
 */
static const char *const tcp_state_names[] = {
	"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RCVD",
	"ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
	"CLOSING",     "LAST_ACK",   "TIME_WAIT",
};

static int emit_sock(char *buf, size_t size, const char *proto,
		     const char *state, const ip_addr_t *l, u16_t lport,
		     const ip_addr_t *r, u16_t rport, unsigned rxq,
		     unsigned txq)
{
	uint32_t la = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(l)));
	uint32_t ra = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(r)));
	return snprintf(buf, size,
			"%s %s %u.%u.%u.%u:%u %u.%u.%u.%u:%u %u %u\n", proto,
			state, la >> 24, (la >> 16) & 255, (la >> 8) & 255,
			la & 255, lport, ra >> 24, (ra >> 16) & 255,
			(ra >> 8) & 255, ra & 255, rport, rxq, txq);
}

#define SOCK_EMIT(...)                              \
	(n += emit_sock(buf + MIN((size_t)n, size), \
			size - MIN((size_t)n, size), __VA_ARGS__))

static int gen_sockets(char *buf, size_t size, void *arg, uint64_t key)
{
	int n = snprintf(buf, size, "proto state local remote rxq txq\n");
	LOCK_TCPIP_CORE();
	for (struct tcp_pcb_listen *lp = tcp_listen_pcbs.listen_pcbs; lp;
	     lp = lp->next)
		SOCK_EMIT("tcp", "LISTEN", &lp->local_ip, lp->local_port,
			  IP4_ADDR_ANY, 0, 0, 0);
	struct tcp_pcb *const lists[] = {tcp_bound_pcbs, tcp_active_pcbs,
					 tcp_tw_pcbs};
	for (unsigned i = 0; i < ARRAY_SIZE(lists); i++)
		for (struct tcp_pcb *p = lists[i]; p; p = p->next) {
			unsigned st = p->state;
			SOCK_EMIT("tcp",
				  st < ARRAY_SIZE(tcp_state_names)
					  ? tcp_state_names[st]
					  : "?",
				  &p->local_ip, p->local_port, &p->remote_ip,
				  p->remote_port,
				  p->rcv_wnd < TCP_WND ? TCP_WND - p->rcv_wnd
						       : 0,
				  p->snd_buf < TCP_SND_BUF
					  ? TCP_SND_BUF - p->snd_buf
					  : 0);
		}
	for (struct udp_pcb *u = udp_pcbs; u; u = u->next)
		SOCK_EMIT("udp",
			  (u->flags & UDP_FLAGS_CONNECTED) ? "CONNECTED"
							   : "UNCONN",
			  &u->local_ip, u->local_port, &u->remote_ip,
			  u->remote_port, 0, 0);
	UNLOCK_TCPIP_CORE();
	return n;
}

void sock_proc_init(void)
{
	procfs_register("net/sockets", gen_sockets, NULL);
}
