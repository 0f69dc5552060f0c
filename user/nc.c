/*
 * nc — connect stdin and stdout to a TCP or UDP socket.
 *
 *   nc [-u] [-q SECS] HOST PORT   connect (UDP: send to HOST:PORT)
 *   nc -l [-u] [-q SECS] PORT     listen on PORT, take one connection (UDP:
 *                                 the first datagram's sender), then exit
 *
 * Data is copied both ways with poll. At end of stdin a TCP connection is
 * half-closed (shutdown SHUT_WR) and nc keeps reading until the peer
 * closes (and a peer that half-closes first still gets the rest of stdin); with -q SECS it waits at most SECS after stdin's end (-q 0: quit
 * at once). UDP has no end of stream: after stdin's end nc quits after -q
 * SECS (default 1 s for UDP). Names are resolved with getaddrinfo
 * (/etc/hosts). Exit 0, 1 on a failure, 2 for a bad command line.
 */
#define PROG "nc"
#include "ucommon.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

static const char usage[] =
	"usage: nc [-u] [-q SECS] HOST PORT | nc -l [-u] [-q SECS] PORT\n"
	"Copy stdin to a TCP (or UDP, -u) socket and the socket to stdout.\n"
	"  -l       listen on PORT for one connection (or datagram sender)\n"
	"  -u       UDP instead of TCP\n"
	"  -q SECS  after end of stdin, quit after SECS (default: TCP waits for\n"
	"           the peer to close, UDP quits after 1 s)\n";

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

static int do_connect(const char *host, const char *port, bool udp)
{
	struct addrinfo hints = {.ai_family = AF_INET,
				 .ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM},
			*ai;
	int e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		u_err("%s: %s", host, gai_strerror(e));
		return -1;
	}
	int fd = socket(AF_INET, hints.ai_socktype, 0);
	if (fd < 0) {
		u_errno("socket", errno);
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		u_err("connect to %s port %s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int do_listen(int port, bool udp)
{
	int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;
	if (fd < 0) {
		u_errno("socket", errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		u_errno("bind", errno);
		close(fd);
		return -1;
	}
	if (udp) {
		/* The first datagram's sender becomes the peer; the datagram
		 * itself is left queued and read by the copy loop. */
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		char c;
		if (recvfrom(fd, &c, 1, MSG_PEEK, (struct sockaddr *)&from,
			     &fl) < 0 ||
		    connect(fd, (struct sockaddr *)&from, fl) < 0) {
			u_errno("recvfrom", errno);
			close(fd);
			return -1;
		}
		return fd;
	}
	if (listen(fd, 1) < 0) {
		u_errno("listen", errno);
		close(fd);
		return -1;
	}
	int c;
	while ((c = accept(fd, NULL, NULL)) < 0 && errno == EINTR)
		;
	if (c < 0)
		u_errno("accept", errno);
	close(fd);
	return c;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	bool lsn = false, udp = false;
	double quit = -1;
	int opt;
	while ((opt = getopt(argc, argv, ":luq:")) != -1) {
		char *end;
		switch (opt) {
		case 'l':
			lsn = true;
			break;
		case 'u':
			udp = true;
			break;
		case 'q':
			quit = strtod(optarg, &end);
			if (end == optarg || *end || !(quit >= 0)) {
				u_err("invalid -q: %s", optarg);
				u_usage(usage);
			}
			break;
		case ':':
			u_err("option requires an argument -- '%c'", optopt);
			u_usage(usage);
			break;
		default:
			u_bad_option(optopt, usage);
		}
	}
	int nargs = argc - optind;
	if (nargs != (lsn ? 1 : 2)) {
		u_err(nargs < (lsn ? 1 : 2) ? "missing operand"
					    : "extra operand");
		u_usage(usage);
	}
	const char *port = argv[argc - 1];
	if (parse_port(port) < 0) {
		u_err("invalid port: %s", port);
		u_usage(usage);
	}
	if (udp && quit < 0)
		quit = 1;
	signal(SIGPIPE, SIG_IGN);
	int s = lsn ? do_listen(parse_port(port), udp)
		    : do_connect(argv[optind], port, udp);
	if (s < 0)
		return 1;

	static char buf[U_BUFSIZE];
	bool in_open = true, net_open = true;
	double in_end = 0;
	int rc = 0;
	/* Until both directions are done: a peer that half-closes first
	 * still gets the rest of stdin. */
	while (net_open || in_open) {
		struct pollfd p[2] = {
			{.fd = in_open ? 0 : -1, .events = POLLIN},
			{.fd = net_open ? s : -1, .events = POLLIN}};
		int ms = -1;
		if (!in_open && quit >= 0) {
			double left = in_end + quit - now_s();
			if (left <= 0)
				break;
			ms = (int)(left * 1000) + 1;
		}
		if (poll(p, 2, ms) < 0) {
			if (errno == EINTR)
				continue;
			u_errno("poll", errno);
			rc = 1;
			break;
		}
		if (p[1].revents) {
			ssize_t n = u_read(s, buf, sizeof buf);
			if (n < 0 && !udp) {
				if (n != -ECONNRESET) {
					u_errno("read", (int)-n);
					rc = 1;
				}
				net_open = false;
			} else if (n == 0 && !udp) {
				net_open = false;
			} else if (n > 0 && u_write_all(1, buf, (size_t)n)) {
				u_errno("write error", errno);
				rc = 1;
				break;
			}
		}
		if (in_open && p[0].revents) {
			ssize_t n = u_read(0, buf, sizeof buf);
			if (n <= 0) {
				in_open = false;
				in_end = now_s();
				if (!udp)
					shutdown(s, SHUT_WR);
			} else {
				int e = udp ? (send(s, buf, (size_t)n, 0) < 0
						       ? -errno
						       : 0)
					    : u_write_all(s, buf, (size_t)n);
				if (e) {
					u_errno("send", -e);
					rc = 1;
					break;
				}
			}
		}
	}
	close(s);
	return rc;
}
