/*
 * netx — network transfer checks and measurements between nodes, for
 * tests/qemu/test_tcp.py and tools/bench/net.py (which also runs it in
 * Linux guests: it builds with musl on Linux).
 *
 *   netx recv PORT                  accept one TCP connection, read to EOF
 *   netx send HOST PORT BYTES SEED  connect, send BYTES of SEED's stream
 *   netx sink PORT                  as recv, but reads slowly (for kill -9)
 *   netx echo PORT N                TCP echo server (poll) for N connections
 *   netx many HOST PORT N           N connections open at once, each echoed
 *   netx udpecho PORT N             echo N UDP datagrams
 *   netx udpping HOST PORT N [SIZE] N datagrams, each answered within 2 s
 *                                   (SIZE bytes each; default 32..1431)
 *   netx http PORT N                answer N HTTP requests on PORT
 *   netx rrserver PORT              accept one TCP connection, echo to EOF
 *   netx tcprr HOST PORT N SIZE     N round trips of SIZE bytes over one
 *                                   TCP connection (TCP_NODELAY) to rrserver
 *
 * PORT 0 lets the system choose; servers print "listening on port P pid
 * N" once they listen, which is what a test waits for. Both ends of a
 * transfer print "<bytes> bytes fnv <FNV-1a 32 of the data>", so the test
 * compares the two. The data is a xorshift32 stream seeded with SEED.
 * Every failure prints "netx: WHAT: strerror" and exits 1; nothing waits
 * without a bound except accept and a blocking transfer, which a peer's
 * end (FIN or reset) completes.
 *
 * Figures for tools/bench/net.py come on lines of their own, after the
 * lines above (which stay as they are), as "netx: MODE key=value ...":
 *   netx: tcp_send|tcp_recv bytes=B ns=T mib_per_s=R   (MiB = 2^20 bytes;
 *         the sender times connect to close, the receiver accept to EOF)
 *   netx: tcprr|udpping n=N size=S ok=K median_us= min_us= p90_us=
 *         max_us= avg_us=   (per round trip, over the K that came back)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_CONNS 128

static unsigned char buf[CHUNK];

static void die(const char *what)
{
	printf("netx: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fputs("usage: netx recv|sink PORT | send HOST PORT BYTES SEED | echo PORT N |\n"
	      "       many HOST PORT N | udpecho PORT N | udpping HOST PORT N [SIZE] |\n"
	      "       http PORT N | rrserver PORT | tcprr HOST PORT N SIZE\n",
	      stderr);
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The figures line of a transfer: bytes over ns. */
static void rate_line(const char *mode, long long bytes, long long ns)
{
	double s = (double)ns / 1e9;
	printf("netx: %s bytes=%lld ns=%lld mib_per_s=%.4f\n", mode, bytes, ns,
	       s > 0 ? (double)bytes / (1 << 20) / s : 0.0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The figures line of round trips: ok of n came back, us[0..ok) their
 * times in microseconds (sorted here); size < 0 means varying sizes. */
static void rtt_line(const char *mode, long n, long size, double *us, long ok)
{
	double sum = 0;
	qsort(us, (size_t)ok, sizeof *us, cmp_double);
	for (long i = 0; i < ok; i++)
		sum += us[i];
	printf("netx: %s n=%ld size=", mode, n);
	if (size < 0)
		printf("var");
	else
		printf("%ld", size);
	if (!ok) {
		printf(" ok=0\n");
		return;
	}
	double median = ok % 2 ? us[ok / 2] : (us[ok / 2 - 1] + us[ok / 2]) / 2;
	printf(" ok=%ld median_us=%.1f min_us=%.1f p90_us=%.1f max_us=%.1f "
	       "avg_us=%.1f\n",
	       ok, median, us[0], us[(ok - 1) * 9 / 10], us[ok - 1],
	       sum / (double)ok);
}

/* n doubles for round-trip times, or exit. */
static double *rtt_array(long n)
{
	double *us = malloc(sizeof *us * (size_t)(n ? n : 1));
	if (!us)
		die("malloc");
	return us;
}

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

#define FNV_INIT 2166136261u

static long number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0)
		usage();
	return v;
}

static struct sockaddr_in address(const char *host, const char *port)
{
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)number(port));
	if (host && inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		printf("netx: %s: not an IPv4 address\n", host);
		exit(1);
	}
	return a;
}

/* A bound socket of type on PORT (0: any), listening if TCP; prints the
 * line servers are waited for by. */
static int server(int type, const char *port)
{
	struct sockaddr_in a = address(NULL, port);
	int one = 1;
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a))
		die("bind");
	if (type == SOCK_STREAM && listen(fd, MAX_CONNS))
		die("listen");
	socklen_t len = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &len))
		die("getsockname");
	printf("listening on port %d pid %d\n", ntohs(a.sin_port),
	       (int)getpid());
	fflush(stdout);
	return fd;
}

static int client(int type, const char *host, const char *port)
{
	struct sockaddr_in a = address(host, port);
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof a))
		die("connect");
	return fd;
}

/* recv/sink: one connection to its end; sink sleeps between reads so the
 * sender fills the windows and blocks, then waits to be killed. */
static int cmd_recv(const char *port, int slow)
{
	int lfd = server(SOCK_STREAM, port);
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	long long t0 = now_ns();
	long long total = 0;
	uint32_t h = FNV_INIT;
	for (;;) {
		ssize_t n = read(fd, buf, slow ? 1024 : CHUNK);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		if (total == 0 && slow) {
			printf("receiving\n");
			fflush(stdout);
		}
		h = fnv(h, buf, (size_t)n);
		total += n;
		if (slow)
			usleep(100000);
	}
	long long ns = now_ns() - t0;
	double dt = (double)ns / 1e9;
	printf("recv: %lld bytes fnv %08x in %.3f s\n", total, (unsigned)h, dt);
	if (!slow)
		rate_line("tcp_recv", total, ns);
	return 0;
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static int cmd_send(const char *host, const char *port, const char *bytes,
		    const char *seed)
{
	long long want = number(bytes), total = 0;
	uint32_t state = (uint32_t)number(seed) | 1, h = FNV_INIT;
	int fd = client(SOCK_STREAM, host, port);
	long long t0 = now_ns();
	while (total < want) {
		size_t n = want - total < CHUNK ? (size_t)(want - total)
						: CHUNK;
		for (size_t i = 0; i < n; i += 4) {
			uint32_t r = xorshift(&state);
			memcpy(buf + i, &r, 4);
		}
		h = fnv(h, buf, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
			if (w < 0) {
				printf("send: error after %lld bytes: %s\n",
				       total + (long long)off, strerror(errno));
				return 1;
			}
			off += (size_t)w;
		}
		total += (long long)n;
	}
	if (close(fd))
		die("close");
	long long ns = now_ns() - t0;
	double dt = (double)ns / 1e9;
	printf("send: %lld bytes fnv %08x in %.3f s (%.0f KB/s)\n", total,
	       (unsigned)h, dt, dt > 0 ? (double)total / 1024 / dt : 0.0);
	rate_line("tcp_send", total, ns);
	return 0;
}

/* echo: a poll loop over the listener and up to MAX_CONNS connections,
 * until n connections have been served to their end. */
static int cmd_echo(const char *port, long n)
{
	struct pollfd p[MAX_CONNS + 1];
	int conns = 0;
	long served = 0, most = 0;
	long long bytes = 0;
	p[0].fd = server(SOCK_STREAM, port);
	p[0].events = POLLIN;
	while (served < n) {
		if (poll(p, (nfds_t)conns + 1, -1) < 0)
			die("poll");
		for (int i = conns; i >= 1; i--) {
			if (!p[i].revents)
				continue;
			ssize_t r = read(p[i].fd, buf, CHUNK);
			if (r > 0 && write(p[i].fd, buf, (size_t)r) == r) {
				bytes += r;
				continue;
			}
			close(p[i].fd);
			p[i] = p[conns--];
			served++;
		}
		if ((p[0].revents & POLLIN) && conns < MAX_CONNS) {
			int fd = accept(p[0].fd, NULL, NULL);
			if (fd < 0)
				die("accept");
			conns++;
			p[conns].fd = fd;
			p[conns].events = POLLIN;
			p[conns].revents = 0;
			if (conns > most)
				most = conns;
		}
	}
	printf("echo: served %ld connections, %lld bytes, %ld at once\n",
	       served, bytes, most);
	return 0;
}

/* many: n connections open together, then a distinct line on each, then
 * every echo read back and compared. */
static int cmd_many(const char *host, const char *port, long n)
{
	int fds[MAX_CONNS];
	char msg[64], got[64];
	long ok = 0;
	if (n > MAX_CONNS)
		usage();
	for (long i = 0; i < n; i++)
		fds[i] = client(SOCK_STREAM, host, port);
	printf("many: %ld connected\n", n);
	for (long i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof msg, "connection %ld of %ld\n",
				   i, n);
		if (write(fds[i], msg, (size_t)len) != len)
			die("write");
	}
	for (long i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof msg, "connection %ld of %ld\n",
				   i, n);
		ssize_t have = 0;
		while (have < len) {
			ssize_t r =
				read(fds[i], got + have, (size_t)(len - have));
			if (r < 0)
				die("read");
			if (r == 0)
				break;
			have += r;
		}
		if (have == len && memcmp(got, msg, (size_t)len) == 0)
			ok++;
		else
			printf("many: connection %ld: bad echo (%zd bytes)\n",
			       i, have);
	}
	for (long i = 0; i < n; i++)
		close(fds[i]);
	printf("many: %ld of %ld echoed\n", ok, n);
	return ok == n ? 0 : 1;
}

static int cmd_udpecho(const char *port, long n)
{
	int fd = server(SOCK_DGRAM, port);
	for (long i = 0; i < n; i++) {
		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t r = recvfrom(fd, buf, CHUNK, 0,
				     (struct sockaddr *)&from, &len);
		if (r < 0)
			die("recvfrom");
		if (sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from,
			   len) != r)
			die("sendto");
	}
	printf("udpecho: echoed %ld\n", n);
	return 0;
}

/* udpping: datagram i is size bytes (size < 0: 32 + 37 * i % 1400) of i's
 * pattern; a reply counts if it is the same datagram back. */
static int cmd_udpping(const char *host, const char *port, long n, long size)
{
	int fd = client(SOCK_DGRAM, host, port);
	double *us = rtt_array(n);
	long got = 0;
	double rtt_us = 0;
	if (size > 1472)
		usage();
	for (long i = 0; i < n; i++) {
		size_t len = size >= 0 ? (size_t)size
				       : 32 + (size_t)(37 * i % 1400);
		unsigned char out[1500];
		for (size_t k = 0; k < len; k++)
			out[k] = (unsigned char)(i * 7 + k);
		long long t0 = now_ns();
		if (send(fd, out, len, 0) != (ssize_t)len)
			die("send");
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 2000);
		if (r < 0)
			die("poll");
		if (r == 0) {
			printf("udpping: seq %ld timeout\n", i);
			continue;
		}
		ssize_t m = recv(fd, buf, CHUNK, 0);
		if (m < 0)
			die("recv");
		if ((size_t)m == len && memcmp(buf, out, len) == 0) {
			us[got] = (double)(now_ns() - t0) / 1e3;
			rtt_us += us[got++];
		} else {
			printf("udpping: seq %ld: bad reply (%zd bytes)\n", i,
			       m);
		}
	}
	printf("udpping: %ld sent, %ld received, rtt avg %.3f ms\n", n, got,
	       got ? rtt_us / 1000 / (double)got : 0.0);
	rtt_line("udpping", n, size, us, got);
	return got == n ? 0 : 1;
}

/* Write all of p[0..n) to fd, or exit. */
static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0)
			die("send");
		p += w;
		n -= (size_t)w;
	}
}

static void nodelay(int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one))
		die("setsockopt TCP_NODELAY");
}

/* rrserver: one connection, everything read is written back at once. */
static int cmd_rrserver(const char *port)
{
	int lfd = server(SOCK_STREAM, port);
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	nodelay(fd);
	long long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		write_all(fd, buf, (size_t)n);
		total += n;
	}
	close(fd);
	printf("rrserver: echoed %lld bytes\n", total);
	return 0;
}

/* tcprr: n times, size bytes out and the same size bytes back, each
 * round trip timed and its echo compared. */
static int cmd_tcprr(const char *host, const char *port, long n, long size)
{
	static unsigned char out[CHUNK];
	if (size < 1 || size > CHUNK)
		usage();
	int fd = client(SOCK_STREAM, host, port);
	nodelay(fd);
	double *us = rtt_array(n);
	long ok = 0;
	for (long i = 0; i < n; i++) {
		for (long k = 0; k < size; k++)
			out[k] = (unsigned char)(i * 13 + k);
		long long t0 = now_ns();
		write_all(fd, out, (size_t)size);
		long have = 0;
		while (have < size) {
			ssize_t r = read(fd, buf + have, (size_t)(size - have));
			if (r < 0)
				die("read");
			if (r == 0) {
				printf("tcprr: connection closed after %ld "
				       "round trips\n",
				       i);
				return 1;
			}
			have += r;
		}
		long long t1 = now_ns();
		if (memcmp(buf, out, (size_t)size)) {
			printf("tcprr: round trip %ld: bad echo\n", i);
			continue;
		}
		us[ok++] = (double)(t1 - t0) / 1e3;
	}
	close(fd);
	printf("tcprr: %ld round trips of %ld bytes, %ld echoed intact\n", n,
	       size, ok);
	rtt_line("tcprr", n, size, us, ok);
	return ok == n ? 0 : 1;
}

/* http: read each request's head, answer 200 with the request line. */
static int cmd_http(const char *port, long n)
{
	int lfd = server(SOCK_STREAM, port);
	for (long i = 0; i < n; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept");
		size_t have = 0;
		char *end = NULL;
		while (have < 4095 && !end) {
			ssize_t r = read(fd, buf + have, 4095 - have);
			if (r <= 0)
				break;
			have += (size_t)r;
			buf[have] = 0;
			end = strstr((char *)buf, "\r\n\r\n");
		}
		char *eol = strstr((char *)buf, "\r\n");
		if (eol)
			*eol = 0;
		else
			buf[have] = 0;
		char body[512], head[256];
		int blen = snprintf(body, sizeof body,
				    "netx on shoal: %.400s\n", (char *)buf);
		int hlen = snprintf(
			head, sizeof head,
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
			"Content-Length: %d\r\nConnection: close\r\n\r\n",
			blen);
		if (write(fd, head, (size_t)hlen) != hlen ||
		    write(fd, body, (size_t)blen) != blen)
			die("write");
		close(fd);
		printf("http: answered %s\n", (char *)buf);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	const char *c = argv[1];
	if (!strcmp(c, "recv") && argc == 3)
		return cmd_recv(argv[2], 0);
	if (!strcmp(c, "sink") && argc == 3)
		return cmd_recv(argv[2], 1);
	if (!strcmp(c, "send") && argc == 6)
		return cmd_send(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(c, "echo") && argc == 4)
		return cmd_echo(argv[2], number(argv[3]));
	if (!strcmp(c, "many") && argc == 5)
		return cmd_many(argv[2], argv[3], number(argv[4]));
	if (!strcmp(c, "udpecho") && argc == 4)
		return cmd_udpecho(argv[2], number(argv[3]));
	if (!strcmp(c, "udpping") && (argc == 5 || argc == 6))
		return cmd_udpping(argv[2], argv[3], number(argv[4]),
				   argc == 6 ? number(argv[5]) : -1);
	if (!strcmp(c, "http") && argc == 4)
		return cmd_http(argv[2], number(argv[3]));
	if (!strcmp(c, "rrserver") && argc == 3)
		return cmd_rrserver(argv[2]);
	if (!strcmp(c, "tcprr") && argc == 6)
		return cmd_tcprr(argv[2], argv[3], number(argv[4]),
				 number(argv[5]));
	usage();
}
