/*
 * ping — ICMP echo requests to HOST, one reply line each (with its round
 * trip time) and a summary: sent, received, loss, rtt min/avg/max.
 *
 * It uses a raw ICMP socket (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
 * replies arrive with their IPv4 header, which is skipped. Where raw sockets
 * need a privilege (Linux), it falls back to a ping socket (SOCK_DGRAM,
 * IPPROTO_ICMP): replies without the IP header, the kernel owning the
 * identifier. A reply counts if it is an echo reply from HOST with our
 * identifier (raw only), a sequence number sent, a valid checksum and our
 * data. Exit 0 if any reply came, 1 if none, 2 for a bad command line.
 */
#define PROG "ping"
#include "ucommon.h"

#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

static const char usage[] =
	"usage: ping [-c COUNT] [-i SECS] [-W SECS] [-s SIZE] HOST\n"
	"Send ICMP echo requests to HOST and report the replies.\n"
	"  -c COUNT  stop after COUNT requests (default: until interrupted)\n"
	"  -i SECS   wait SECS between requests (default 1)\n"
	"  -W SECS   wait SECS for the last reply (default 1)\n"
	"  -s SIZE   data bytes per request (default 56)\n";

#define MAXDATA 1472
#define MAXSEQ 65536

static volatile sig_atomic_t stop;
static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint16_t cksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	long count = -1, size = 56;
	double interval = 1, wait = 1;
	int opt;
	while ((opt = getopt(argc, argv, ":c:i:W:s:")) != -1) {
		char *end;
		switch (opt) {
		case 'c':
			count = strtol(optarg, &end, 10);
			if (*end || end == optarg || count < 1 ||
			    count > 1000000) {
				u_err("invalid count: %s", optarg);
				u_usage(usage);
			}
			break;
		case 's':
			size = strtol(optarg, &end, 10);
			if (*end || end == optarg || size < 8 ||
			    size > MAXDATA) {
				u_err("invalid size: %s", optarg);
				u_usage(usage);
			}
			break;
		case 'i':
		case 'W':
			if (parse_secs(optarg,
				       opt == 'i' ? &interval : &wait)) {
				u_err("invalid time: %s", optarg);
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
	if (argc - optind != 1) {
		u_err(argc == optind ? "missing host" : "extra operand");
		u_usage(usage);
	}
	const char *host = argv[optind];
	struct addrinfo hints = {.ai_family = AF_INET}, *ai;
	int gerr = getaddrinfo(host, NULL, &hints, &ai);
	if (gerr) {
		u_err("%s: %s", host, gai_strerror(gerr));
		return 1;
	}
	struct sockaddr_in to = *(struct sockaddr_in *)ai->ai_addr;
	freeaddrinfo(ai);

	bool raw = true;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		raw = false;
		fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	}
	if (fd < 0) {
		u_errno("socket", errno);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_int};
	sigaction(SIGINT, &sa, NULL);

	uint16_t ident = (uint16_t)getpid();
	static uint8_t pkt[8 + MAXDATA], in[65536];
	static double sent_at[MAXSEQ];
	static bool got[MAXSEQ];
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &to.sin_addr, addr, sizeof addr);
	printf("PING %s (%s): %ld data bytes\n", host, addr, size);
	fflush(stdout);

	long sent = 0, received = 0, bad = 0;
	double mn = 0, mx = 0, sum = 0, next = now_ms(), deadline = 0;
	while (!stop) {
		double t = now_ms();
		if ((count < 0 || sent < count) && t >= next) {
			uint16_t seq = (uint16_t)sent;
			pkt[0] = 8; /* echo request */
			pkt[1] = 0;
			memset(pkt + 2, 0, 2);
			pkt[4] = ident >> 8;
			pkt[5] = ident & 255;
			pkt[6] = seq >> 8;
			pkt[7] = seq & 255;
			for (long i = 0; i < size; i++)
				pkt[8 + i] = (uint8_t)i;
			uint16_t c = cksum(pkt, 8 + (size_t)size);
			memcpy(pkt + 2, &c, 2);
			sent_at[seq] = t;
			got[seq] = false;
			if (sendto(fd, pkt, 8 + (size_t)size, 0,
				   (struct sockaddr *)&to, sizeof to) < 0)
				u_errno("sendto", errno);
			sent++;
			next = t + interval * 1e3;
			if (count >= 0 && sent == count)
				deadline = t +
					   (interval > wait ? interval : wait) *
						   1e3;
			continue;
		}
		if (count >= 0 && sent == count &&
		    (received == count || t >= deadline))
			break;
		double until = (count >= 0 && sent == count) ? deadline : next;
		int ms = until > t ? (int)(until - t) + 1 : 0;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, ms);
		if (r <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, in, sizeof in, 0,
				     (struct sockaddr *)&from, &fl);
		double rt = now_ms();
		if (n < 0)
			continue;
		uint8_t *icmp = in;
		size_t len = (size_t)n;
		if (raw) {
			size_t ihl = (size_t)(in[0] & 15) * 4;
			if (len < 20 || (in[0] >> 4) != 4 || ihl < 20 ||
			    ihl > len)
				continue;
			icmp += ihl;
			len -= ihl;
		}
		if (len < 8 || icmp[0] != 0 ||
		    from.sin_addr.s_addr != to.sin_addr.s_addr)
			continue;
		uint16_t id = (uint16_t)(icmp[4] << 8 | icmp[5]);
		uint16_t seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
		if (raw && id != ident)
			continue;
		bool ok = seq < sent && !got[seq] && len == 8 + (size_t)size &&
			  cksum(icmp, len) == 0;
		for (long i = 0; ok && i < size; i++)
			ok = icmp[8 + i] == (uint8_t)i;
		if (!ok) {
			bad++;
			continue;
		}
		got[seq] = true;
		double d = rt - sent_at[seq];
		if (!received || d < mn)
			mn = d;
		if (d > mx)
			mx = d;
		sum += d;
		received++;
		printf("%zu bytes from %s: icmp_seq=%u time=%.3f ms\n", len,
		       addr, seq, d);
		fflush(stdout);
	}
	printf("--- %s ping statistics ---\n", host);
	printf("%ld packets transmitted, %ld received, %ld%% packet loss", sent,
	       received, sent ? (sent - received) * 100 / sent : 0);
	if (bad)
		printf(", %ld bad", bad);
	printf("\n");
	if (received)
		printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", mn,
		       sum / received, mx);
	if (u_flush_stdout())
		return 1;
	return received ? 0 : 1;
}
