/*
 * socket.h — sockets over lwIP's netconn API (net/lwip/socket.c), for the
 * system-call layer (kern/sys_socket.c). It holds no lwIP type, so the
 * caller needs no lwIP include path.
 *
 * A socket is a struct file (vnode type VSOCK, fstat says S_IFSOCK) whose
 * priv is a struct sock over one netconn. read/write/close/dup/fork/poll
 * and fcntl(O_NONBLOCK) work through its file_ops; the calls below are the
 * rest of the BSD interface. Addresses are IPv4 in network byte order,
 * ports in host order; the Linux layouts (sockaddr_in) are the caller's.
 *
 * Every call returns 0, a count, or a negative Linux errno. A blocking call
 * (no O_NONBLOCK on the file, no MSG_DONTWAIT) sleeps interruptibly and
 * returns -ERESTARTSYS when a signal arrives before anything moved (-EINTR
 * if the socket has a timeout for it, which then ends the wait with
 * -EAGAIN, or -EINPROGRESS for connect).
 */
#ifndef NET_LWIP_SOCKET_H
#define NET_LWIP_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct file;

/* Linux values. */
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL 0x100
#define MSG_NOSIGNAL 0x4000
#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2

struct sock_addr {
	uint32_t addr; /* network byte order */
	uint16_t port; /* host byte order */
};

/* A new socket of type SOCK_STREAM, SOCK_DGRAM or SOCK_RAW (ICMP; it then
 * behaves as a datagram socket, sock_type says SOCK_DGRAM, and receives
 * whole IPv4 packets); flags may hold
 * O_NONBLOCK. -ENOMEM/-ENOBUFS when lwIP has no netconn left. */
int sock_create(int type, int flags, struct file **out);
/* Is f a socket? The calls below need one (the caller says -ENOTSOCK). */
bool sock_is(const struct file *f);
int sock_type(const struct file *f);
/* Is f a raw (SOCK_RAW, IPPROTO_ICMP) socket? Its port numbers mean nothing. */
bool sock_is_raw(const struct file *f);

int sock_bind(struct file *f, const struct sock_addr *a);
int sock_listen(struct file *f, int backlog);
/* A connection from the queue as a new file (flags: O_NONBLOCK); its
 * peer in *peer. */
int sock_accept(struct file *f, int flags, struct file **out,
		struct sock_addr *peer);
/* a == NULL: AF_UNSPEC, dissolves a UDP socket's association. */
int sock_connect(struct file *f, const struct sock_addr *a);
/* to: sendto's address (UDP; ignored for TCP), or NULL. Returns the bytes
 * queued; -EPIPE for a TCP socket that can send no more (the caller raises
 * SIGPIPE unless MSG_NOSIGNAL). */
int64_t sock_send(struct file *f, const void *buf, size_t len, int flags,
		  const struct sock_addr *to);
/* Returns the bytes copied; a datagram longer than len is cut and its
 * rest dropped (*oflags gets MSG_TRUNC; with MSG_TRUNC in flags the full
 * length is returned). from/oflags may be NULL. */
int64_t sock_recv(struct file *f, void *buf, size_t len, int flags,
		  struct sock_addr *from, int *oflags);
int sock_shutdown(struct file *f, int how);
/* Options as plain ints (level/name: Linux's). -ENOPROTOOPT for others. */
int sock_setopt(struct file *f, int level, int name, int val);
int sock_getopt(struct file *f, int level, int name, int *val);
/* SO_SNDTIMEO (send true: send, connect) / SO_RCVTIMEO (receive,
 * accept): how long a blocking call may wait, in ns; 0 is forever. */
int sock_set_timeout(struct file *f, bool send, uint64_t ns);
uint64_t sock_get_timeout(struct file *f, bool send);
/* getsockname (peer false) / getpeername (peer true, -ENOTCONN). */
int sock_name(struct file *f, bool peer, struct sock_addr *a);
/* Registers /proc/net/sockets; once, from net_lwip_init. */
void sock_proc_init(void);
/* Sockets alive on this node (tests look for leaks). */
unsigned sock_count(void);
/* UDP datagrams dropped because a socket's queue was full (its mailbox
 * or SO_RCVBUF) or no netbuf was left: Linux's Udp RcvbufErrors. */
uint64_t sock_udp_rcvbuf_errors(void);

#endif
