/*
 * netx — network transfer checks between nodes, for tests/qemu/test_tcp.py.
 *
 *   netx recv PORT                  accept one TCP connection, read to EOF
 *   netx send HOST PORT BYTES SEED  connect, send BYTES of SEED's stream
 *   netx sink PORT                  as recv, but reads slowly (for kill -9)
 *   netx echo PORT N                TCP echo server (poll) for N connections
 *   netx many HOST PORT N           N connections open at once, each echoed
 *   netx udpecho PORT N             echo N UDP datagrams
 *   netx udpping HOST PORT N        N datagrams, each answered within 2 s
 *   netx http PORT N                answer N HTTP requests on PORT
 *
 * PORT 0 lets the system choose; servers print "listening on port P pid
 * N" once they listen, which is what a test waits for. Both ends of a
 * transfer print "<bytes> bytes fnv <FNV-1a 32 of the data>", so the test
 * compares the two. The data is a xorshift32 stream seeded with SEED.
 * Every failure prints "netx: WHAT: strerror" and exits 1; nothing waits
 * without a bound except accept and a blocking transfer, which a peer's
 * end (FIN or reset) completes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
	      "       many HOST PORT N | udpecho PORT N | udpping HOST PORT N | http PORT N\n",
	      stderr);
	exit(2);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	double t0 = now();
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
	double dt = now() - t0;
	printf("recv: %lld bytes fnv %08x in %.3f s\n", total, (unsigned)h, dt);
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
	double t0 = now();
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
	double dt = now() - t0;
	printf("send: %lld bytes fnv %08x in %.3f s (%.0f KB/s)\n", total,
	       (unsigned)h, dt, dt > 0 ? (double)total / 1024 / dt : 0.0);
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

/* udpping: datagram i is 32 + 37 * i % 1400 bytes of i's pattern; a reply
 * counts if it is the same datagram back. */
static int cmd_udpping(const char *host, const char *port, long n)
{
	int fd = client(SOCK_DGRAM, host, port);
	long got = 0;
	double rtt = 0;
	for (long i = 0; i < n; i++) {
		size_t len = 32 + (size_t)(37 * i % 1400);
		unsigned char out[1500];
		for (size_t k = 0; k < len; k++)
			out[k] = (unsigned char)(i * 7 + k);
		double t0 = now();
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
			got++;
			rtt += now() - t0;
		} else {
			printf("udpping: seq %ld: bad reply (%zd bytes)\n", i,
			       m);
		}
	}
	printf("udpping: %ld sent, %ld received, rtt avg %.3f ms\n", n, got,
	       got ? rtt * 1000 / (double)got : 0.0);
	return got == n ? 0 : 1;
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
	if (!strcmp(c, "udpping") && argc == 5)
		return cmd_udpping(argv[2], argv[3], number(argv[4]));
	if (!strcmp(c, "http") && argc == 4)
		return cmd_http(argv[2], number(argv[3]));
	usage();
}
