/*
 * sys_socket.c — the BSD socket system calls (HOME class: sockets stay on
 * the home node): socket, bind, listen, accept, accept4, connect, sendto,
 * recvfrom, sendmsg, recvmsg, shutdown, setsockopt, getsockopt,
 * getsockname, getpeername. AF_INET only, SOCK_STREAM (TCP) and
 * SOCK_DGRAM (UDP), SOCK_RAW with IPPROTO_ICMP (ping).
 *
 * This file is the user boundary: it checks descriptors, flags, lengths
 * and user memory, translates Linux's layouts (struct sockaddr_in, struct
 * msghdr, int options) and raises SIGPIPE; the sockets themselves are
 * net/lwip/socket.c (struct file over an lwIP netconn). Each call checks
 * its arguments in Linux's order (descriptor: -EBADF, then -ENOTSOCK;
 * then the address) before it changes anything. Data move through a
 * kernel buffer of at most IO_CHUNK bytes: a TCP send longer than that is
 * queued chunk by chunk (and returns the count queued if a later chunk
 * fails), a receive is one call, a UDP datagram is one buffer (65,507
 * bytes at most, else -EMSGSIZE). Options are ints, except SO_RCVTIMEO and
 * SO_SNDTIMEO (a struct timeval).
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/sys_fs.h"
#include "kern/syscall.h"
#include "net/lwip/socket.h"
#include "vm/vm.h"

#define AF_UNSPEC 0
#define AF_INET 2
#define AF_MAX 46
#define SOCK_TYPE_MASK 0xf
#define SOCK_MAX 11
#define SOCK_NONBLOCK O_NONBLOCK
#define SOCK_CLOEXEC O_CLOEXEC
#define IPPROTO_IP 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define SOL_SOCKET 1
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21
#define SOCKADDR_MAX 128 /* sizeof(struct sockaddr_storage) */
#define IO_CHUNK 65536
#define UDP_MAX 65507
#define IOV_MAX 1024
#define RW_MAX 0x7ffff000ull

/* struct sockaddr_in, as Linux lays it out. */
struct linux_sockaddr_in {
	uint16_t family;
	uint16_t port; /* big-endian */
	uint32_t addr; /* big-endian */
	uint8_t zero[8];
};
_Static_assert(sizeof(struct linux_sockaddr_in) == 16, "sockaddr_in");

/* struct msghdr of x86_64 Linux. */
struct linux_msghdr {
	uint64_t name;
	uint32_t namelen;
	uint32_t pad0;
	uint64_t iov;
	uint64_t iovlen;
	uint64_t control;
	uint64_t controllen;
	int32_t flags;
	uint32_t pad1;
};
_Static_assert(sizeof(struct linux_msghdr) == 56, "msghdr");

struct linux_iovec {
	uint64_t base, len;
};

static uint16_t bswap16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

/* The socket open on fd: -EBADF, -ENOTSOCK. */
static int sock_fd(uint64_t fd, struct file **f)
{
	*f = fd_file(fd);
	if (!*f)
		return -EBADF;
	return sock_is(*f) ? 0 : -ENOTSOCK;
}

/*
 * A sockaddr from user memory (move_addr_to_kernel, then the family
 * check): -EINVAL for a length outside [16, 128], -EFAULT,
 * -EAFNOSUPPORT. *unspec is set for AF_UNSPEC when the caller allows it
 * (connect dissolves, sendto means "no address"); bind takes AF_UNSPEC
 * with INADDR_ANY as AF_INET, as Linux does for old programs.
 */
static int addr_in(uintptr_t uaddr, uint64_t ulen, struct sock_addr *sa,
		   bool *unspec)
{
	struct linux_sockaddr_in sin;
	uint32_t len = (uint32_t)ulen;
	if (len > SOCKADDR_MAX)
		return -EINVAL;
	if (len >= sizeof sin.family && user_in(&sin, uaddr, MIN(len, 16u)))
		return -EFAULT;
	if (unspec && len >= sizeof sin.family && sin.family == AF_UNSPEC) {
		*unspec = true;
		return 0;
	}
	if (len < sizeof sin)
		return -EINVAL;
	if (sin.family != AF_INET &&
	    !(sin.family == AF_UNSPEC && sin.addr == 0 && !unspec))
		return -EAFNOSUPPORT;
	sa->addr = sin.addr;
	sa->port = bswap16(sin.port);
	return 0;
}

/* Check an (addr, *addrlen) result pair before the call acts (addr NULL:
 * no result wanted): -EFAULT, -EINVAL for a negative length. */
static int addr_out_check(uintptr_t uaddr, uintptr_t ulenp)
{
	int len;
	if (!uaddr)
		return 0;
	if (user_in(&len, ulenp, sizeof len))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (!user_range_ok(ulenp, sizeof len, true) ||
	    (len && !user_range_ok(uaddr, MIN((unsigned)len, 16u), true)))
		return -EFAULT;
	return 0;
}

/* Copy a sockaddr_in out, cut to the caller's length, and store its full
 * length (16, or 0 when there is none: klen false). */
static int addr_out(uintptr_t uaddr, uintptr_t ulenp,
		    const struct sock_addr *sa, bool have)
{
	int len;
	if (!uaddr)
		return 0;
	if (user_in(&len, ulenp, sizeof len))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	struct linux_sockaddr_in sin = {
		AF_INET, bswap16(sa->port), sa->addr, {0}};
	int klen = have ? (int)sizeof sin : 0;
	if (MIN(len, klen) && user_out(uaddr, &sin, (size_t)MIN(len, klen)))
		return -EFAULT;
	return user_out(ulenp, &klen, sizeof klen);
}

static long sigpipe(long rc, int flags)
{
	if (rc == -EPIPE && !(flags & MSG_NOSIGNAL))
		proc_signal(proc_current(), SIGPIPE);
	return rc;
}

static bool fd_available(void)
{
	for (int fd = 0; fd < proc_nofile(); fd++)
		if (!fd_get(fd))
			return true;
	return false;
}

/* ------------------------------------------------------- socket, bind */

long sys_socket(const uint64_t a[6])
{
	int domain = (int)a[0], type = (int)a[1], proto = (int)a[2];
	int flags = type & ~SOCK_TYPE_MASK;
	type &= SOCK_TYPE_MASK;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (domain < 0 || domain >= AF_MAX)
		return -EAFNOSUPPORT;
	if (type >= SOCK_MAX)
		return -EINVAL;
	if (domain != AF_INET)
		return -EAFNOSUPPORT;
	if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_RAW)
		return -ESOCKTNOSUPPORT;
	/* SOCK_RAW: ICMP only (ping), as Linux's raw sockets, no privilege. */
	if (type == SOCK_RAW
		    ? proto != IPPROTO_ICMP
		    : proto != IPPROTO_IP &&
			      proto != (type == SOCK_STREAM ? IPPROTO_TCP
							    : IPPROTO_UDP))
		return -EPROTONOSUPPORT;
	if (!fd_available())
		return -EMFILE;
	struct file *f;
	int err = sock_create(type, flags & SOCK_NONBLOCK, &f);
	if (err)
		return err;
	int fd = fd_install(f, 0, flags & SOCK_CLOEXEC);
	if (fd < 0)
		file_close(f);
	return fd;
}

long sys_bind(const uint64_t a[6])
{
	struct file *f;
	struct sock_addr sa;
	int err = sock_fd(a[0], &f);
	if (!err)
		err = addr_in(a[1], a[2], &sa, NULL);
	return err ? err : sock_bind(f, &sa);
}

long sys_listen(const uint64_t a[6])
{
	struct file *f;
	int err = sock_fd(a[0], &f);
	return err ? err : sock_listen(f, (int)a[1]);
}

static long do_accept(const uint64_t a[6], uint64_t flags)
{
	struct file *f, *nf;
	struct sock_addr peer;
	if (flags & ~(uint64_t)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	int err = sock_fd(a[0], &f);
	if (!err)
		err = addr_out_check(a[1], a[2]);
	if (!err && !fd_available())
		err = -EMFILE;
	if (!err)
		err = sock_accept(f, (int)flags & SOCK_NONBLOCK, &nf, &peer);
	if (err)
		return err;
	/* Checked above; only a concurrent unmap can fail it now. */
	err = addr_out(a[1], a[2], &peer, true);
	int fd = err ? err : fd_install(nf, 0, flags & SOCK_CLOEXEC);
	if (fd < 0)
		file_close(nf);
	return fd;
}

long sys_accept(const uint64_t a[6])
{
	return do_accept(a, 0);
}

long sys_accept4(const uint64_t a[6])
{
	return do_accept(a, a[3]);
}

long sys_connect(const uint64_t a[6])
{
	struct file *f;
	struct sock_addr sa;
	bool unspec = false;
	int err = sock_fd(a[0], &f);
	if (!err)
		err = addr_in(a[1], a[2], &sa, &unspec);
	return err ? err : sock_connect(f, unspec ? NULL : &sa);
}

/* ------------------------------------------------------------ transfers */

/* A cursor over user iovecs (already range-checked by the caller only as
 * far as user_in/user_out check them: a bad one is -EFAULT). */
struct iov_cursor {
	const struct linux_iovec *iov;
	uint64_t cnt, i, off;
};

static int iov_move(struct iov_cursor *c, char *kbuf, size_t n, bool out)
{
	while (n && c->i < c->cnt) {
		const struct linux_iovec *v = &c->iov[c->i];
		size_t m = (size_t)MIN((uint64_t)n, v->len - c->off);
		if (m && (out ? user_out(v->base + c->off, kbuf, m)
			      : user_in(kbuf, v->base + c->off, m)))
			return -EFAULT;
		kbuf += m;
		n -= m;
		c->off += m;
		if (c->off == v->len) {
			c->i++;
			c->off = 0;
		}
	}
	return 0;
}

/* Send total bytes from the cursor: TCP chunk by chunk, a datagram whole. */
static long send_iov(struct file *f, struct iov_cursor *c, uint64_t total,
		     int flags, const struct sock_addr *to)
{
	bool dgram = sock_type(f) == SOCK_DGRAM;
	if (dgram && total > UDP_MAX)
		return -EMSGSIZE;
	total = MIN(total, RW_MAX);
	size_t cap = dgram ? (size_t)total : (size_t)MIN(total, IO_CHUNK);
	char *kbuf = kmalloc(MAX(cap, (size_t)1));
	if (!kbuf)
		return -ENOMEM;
	long done = 0, err = 0;
	do {
		size_t n = (size_t)MIN(total - (uint64_t)done, (uint64_t)cap);
		if (iov_move(c, kbuf, n, false)) {
			err = -EFAULT;
			break;
		}
		int64_t r = sock_send(f, kbuf, n, flags, dgram ? to : NULL);
		if (r < 0) {
			err = r;
			break;
		}
		done += r;
		if ((size_t)r < n)
			break;
	} while ((uint64_t)done < total);
	kfree(kbuf);
	return sigpipe(done ? done : err, flags);
}

/* Receive into the cursor (one call into one buffer); *from and *oflags
 * (MSG_TRUNC) as sock_recv gives them. */
static long recv_iov(struct file *f, struct iov_cursor *c, uint64_t total,
		     int flags, struct sock_addr *from, int *oflags)
{
	size_t n = (size_t)MIN(total, IO_CHUNK);
	char *kbuf = kmalloc(MAX(n, (size_t)1));
	if (!kbuf)
		return -ENOMEM;
	int64_t r = sock_recv(f, kbuf, n, flags, from, oflags);
	size_t got = r > 0 ? (size_t)MIN((uint64_t)r, (uint64_t)n) : 0;
	if (got && iov_move(c, kbuf, got, true))
		r = -EFAULT;
	kfree(kbuf);
	return r;
}

long sys_sendto(const uint64_t a[6])
{
	struct file *f;
	struct sock_addr sa;
	bool unspec = false;
	int flags = (int)a[3];
	int err = sock_fd(a[0], &f);
	if (!err && a[4])
		err = addr_in(a[4], a[5], &sa, &unspec);
	if (!err && a[4] && !unspec && sock_type(f) == SOCK_DGRAM &&
	    !sock_is_raw(f) && sa.port == 0)
		err = -EINVAL;
	if (err)
		return err;
	struct linux_iovec v = {a[1], a[2]};
	struct iov_cursor c = {&v, 1, 0, 0};
	return send_iov(f, &c, a[2], flags, a[4] && !unspec ? &sa : NULL);
}

long sys_recvfrom(const uint64_t a[6])
{
	struct file *f;
	struct sock_addr from = {0, 0};
	int oflags = 0;
	int err = sock_fd(a[0], &f);
	if (!err)
		err = addr_out_check(a[4], a[5]);
	if (err)
		return err;
	struct linux_iovec v = {a[1], a[2]};
	struct iov_cursor c = {&v, 1, 0, 0};
	long r = recv_iov(f, &c, a[2], (int)a[3], &from, &oflags);
	if (r >= 0 && a[4]) {
		err = addr_out(a[4], a[5], &from, sock_type(f) == SOCK_DGRAM);
		if (err)
			return err;
	}
	return r;
}

/* A msghdr and its vector, copied in and checked: 0, -EFAULT, -EMSGSIZE
 * (more than IOV_MAX elements), -EINVAL (an element over INT64_MAX).
 * *iov is kmalloc'd (kfree it); *total is the sum of the lengths. */
static int msg_in(uintptr_t umsg, struct linux_msghdr *m,
		  struct linux_iovec **iov, uint64_t *total)
{
	*iov = NULL;
	if (user_in(m, umsg, sizeof *m))
		return -EFAULT;
	if (m->iovlen > IOV_MAX)
		return -EMSGSIZE;
	*iov = kmalloc(MAX(m->iovlen, 1) * sizeof **iov);
	if (!*iov)
		return -ENOMEM;
	if (user_in(*iov, m->iov, m->iovlen * sizeof **iov))
		return -EFAULT;
	*total = 0;
	for (uint64_t i = 0; i < m->iovlen; i++) {
		if ((*iov)[i].len > INT64_MAX)
			return -EINVAL;
		*total += (*iov)[i].len;
		if (*total > INT64_MAX)
			return -EINVAL;
	}
	return 0;
}

long sys_sendmsg(const uint64_t a[6])
{
	struct file *f;
	struct linux_msghdr m;
	struct linux_iovec *iov;
	struct sock_addr sa;
	bool unspec = false;
	uint64_t total;
	int flags = (int)a[2];
	int err = sock_fd(a[0], &f);
	if (err)
		return err;
	err = msg_in(a[1], &m, &iov, &total);
	if (!err && m.name)
		err = addr_in(m.name, m.namelen, &sa, &unspec);
	long r = err;
	if (!err) {
		/* Ancillary data are not supported: ignored. */
		struct iov_cursor c = {iov, m.iovlen, 0, 0};
		r = send_iov(f, &c, total, flags,
			     m.name && !unspec ? &sa : NULL);
	}
	kfree(iov);
	return r;
}

long sys_recvmsg(const uint64_t a[6])
{
	struct file *f;
	struct linux_msghdr m;
	struct linux_iovec *iov;
	struct sock_addr from = {0, 0};
	uint64_t total;
	int oflags = 0;
	int err = sock_fd(a[0], &f);
	if (err)
		return err;
	err = msg_in(a[1], &m, &iov, &total);
	if (!err && !user_range_ok(a[1], sizeof m, true))
		err = -EFAULT;
	long r = err;
	if (!err) {
		struct iov_cursor c = {iov, m.iovlen, 0, 0};
		r = recv_iov(f, &c, total, (int)a[2], &from, &oflags);
	}
	kfree(iov);
	if (r < 0)
		return r;
	bool have = sock_type(f) == SOCK_DGRAM;
	struct linux_sockaddr_in sin = {
		AF_INET, bswap16(from.port), from.addr, {0}};
	uint32_t klen = have ? sizeof sin : 0;
	if (m.name && MIN(m.namelen, klen) &&
	    user_out(m.name, &sin, MIN(m.namelen, klen)))
		return -EFAULT;
	m.namelen = m.name ? klen : 0;
	m.controllen = 0;
	m.flags = oflags;
	if (user_out(a[1], &m, sizeof m))
		return -EFAULT;
	return r;
}

/* ----------------------------------------- shutdown, options, names */

long sys_shutdown(const uint64_t a[6])
{
	struct file *f;
	int err = sock_fd(a[0], &f);
	return err ? err : sock_shutdown(f, (int)a[1]);
}

static bool is_timeout_opt(int level, int name)
{
	return level == SOL_SOCKET &&
	       (name == SO_RCVTIMEO || name == SO_SNDTIMEO);
}

/*
 * SO_RCVTIMEO/SO_SNDTIMEO from a struct timeval, as Linux's
 * sock_set_timeout: optlen < 16: EINVAL; tv_usec outside [0, 10^6): EDOM;
 * {0, 0}, or more seconds than fit, is no timeout; a negative tv_sec is a
 * timeout that has already passed (the call gives up at once; stored as
 * 1 ns since 0 means none).
 */
static long set_timeout(struct file *f, int name, uintptr_t uval, uint64_t len)
{
	struct linux_timeval tv;
	if ((int)len < (int)sizeof tv)
		return -EINVAL;
	if (user_in(&tv, uval, sizeof tv))
		return -EFAULT;
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	uint64_t ns;
	if (tv.tv_sec < 0)
		ns = 1;
	else if (tv.tv_sec >= INT64_MAX / 1000000000 - 1)
		ns = 0;
	else
		ns = (uint64_t)tv.tv_sec * 1000000000 +
		     (uint64_t)tv.tv_usec * 1000;
	return sock_set_timeout(f, name == SO_SNDTIMEO, ns);
}

long sys_setsockopt(const uint64_t a[6])
{
	struct file *f;
	int val;
	int err = sock_fd(a[0], &f);
	if (err)
		return err;
	if (is_timeout_opt((int)a[1], (int)a[2]))
		return set_timeout(f, (int)a[2], a[3], a[4]);
	if ((int)a[4] < (int)sizeof val)
		return -EINVAL;
	if (user_in(&val, a[3], sizeof val))
		return -EFAULT;
	return sock_setopt(f, (int)a[1], (int)a[2], val);
}

long sys_getsockopt(const uint64_t a[6])
{
	struct file *f;
	int val, len;
	int err = sock_fd(a[0], &f);
	if (err)
		return err;
	if (user_in(&len, a[4], sizeof len))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (is_timeout_opt((int)a[1], (int)a[2])) {
		uint64_t ns = sock_get_timeout(f, (int)a[2] == SO_SNDTIMEO);
		struct linux_timeval tv = {(int64_t)(ns / 1000000000),
					   (int64_t)(ns % 1000000000 / 1000)};
		len = MIN(len, (int)sizeof tv);
		if ((len && user_out(a[3], &tv, (size_t)len)) ||
		    user_out(a[4], &len, sizeof len))
			return -EFAULT;
		return 0;
	}
	err = sock_getopt(f, (int)a[1], (int)a[2], &val);
	if (err)
		return err;
	len = MIN(len, (int)sizeof val);
	if ((len && user_out(a[3], &val, (size_t)len)) ||
	    user_out(a[4], &len, sizeof len))
		return -EFAULT;
	return 0;
}

static long get_name(const uint64_t a[6], bool peer)
{
	struct file *f;
	struct sock_addr sa;
	int err = sock_fd(a[0], &f);
	if (!err && !a[1])
		err = -EFAULT;
	if (!err)
		err = addr_out_check(a[1], a[2]);
	if (!err)
		err = sock_name(f, peer, &sa);
	return err ? err : addr_out(a[1], a[2], &sa, true);
}

long sys_getsockname(const uint64_t a[6])
{
	return get_name(a, false);
}

long sys_getpeername(const uint64_t a[6])
{
	return get_name(a, true);
}
