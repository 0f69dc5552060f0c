/*
 * linkperf — measure the Linker between this node and another: message
 * throughput, RPC round trips, and raw frames below the transport
 * (the linkperf system call, mosix/linkperf.c; docs/linker.md).
 *
 * One line per message size: the count, the elapsed time, MiB/s and
 * messages/s, per-call latency (rpc, rawping), the link's retransmissions
 * during the run, and what the peer counted (messages arrived, and for
 * send with --seed, messages that were not exactly what was sent). Exit 0
 * when every run completed intact, 1 otherwise, 2 for a bad command line.
 */
#define PROG "linkperf"
#include "ucommon.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoal.h"

static const char usage[] =
	"usage: linkperf [-c COUNT] [-s SIZE[,SIZE...]] [--seed N] MODE NODE\n"
	"Measure the Linker between this node and NODE (a number or nodeN).\n"
	"  send      one-way messages (32 in flight), until all acknowledged\n"
	"  rpc       calls of SIZE bytes answered with 8 bytes\n"
	"  raw       unacknowledged raw frames of SIZE payload bytes\n"
	"  rawping   raw frames echoed by NODE's kernel (round trip)\n"
	"  nest      calls whose handler calls back, SIZE levels deep (1..16)\n"
	"  all       send, rpc, raw and rawping with their default sizes\n"
	"  -c COUNT  messages per size (default: about 16 MiB worth for send,\n"
	"            200 for rpc and rawping, 20000 for raw; at most 1000000)\n"
	"  -s SIZES  bytes (suffix k or m); send/rpc: 16..16m (default\n"
	"            64,1k,64k,4m), raw/rawping: 1..1400 (default 64,1400)\n"
	"  --seed N  send: fill messages with a pattern NODE checks\n";

struct mode {
	const char *name;
	int nr;
	const char *sizes;
};

static const struct mode modes[] = {
	{"send", LINKPERF_SEND, "64,1k,64k,4m"},
	{"rpc", LINKPERF_RPC, "64,1k,64k,4m"},
	{"raw", LINKPERF_RAW, "64,1400"},
	{"rawping", LINKPERF_RAWPING, "64,1400"},
	{"nest", LINKPERF_NEST, "1,4,16"},
};

/* "4m", "64k", "100": bytes, or -1. */
static long long parse_size(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	return *end ? -1 : v;
}

static unsigned default_count(int mode, long long size)
{
	switch (mode) {
	case LINKPERF_SEND: {
		long long c = (16ll << 20) / size;
		return c < 8 ? 8 : c > 20000 ? 20000 : (unsigned)c;
	}
	case LINKPERF_RAW:
		return 20000;
	default:
		return size >= (1 << 20) ? 20 : 200;
	}
}

static int run(const struct mode *m, unsigned node, const char *sizes,
	       long long count, unsigned seed)
{
	char list[256];
	snprintf(list, sizeof list, "%s", sizes);
	int bad = 0;
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		long long size = parse_size(tok);
		if (size < 0) {
			u_err("bad size '%s'", tok);
			return 2;
		}
		unsigned c = count > 0 ? (unsigned)count
				       : default_count(m->nr, size);
		struct linkperf_result r;
		memset(&r, 0, sizeof r);
		long rc = shoal_linkperf(m->nr, node, (uint64_t)size, c, &r,
					 seed);
		int err = rc < 0 ? errno : 0;
		double s = r.ns / 1e9;
		double mib = s > 0 ? r.bytes / s / (1 << 20) : 0;
		double rate = s > 0 ? r.msgs / s : 0;
		printf("%-8s %8lld %7llu %9.1f ms %9.2f MiB/s %9.0f msg/s",
		       m->name, size, (unsigned long long)r.msgs, r.ns / 1e6,
		       mib, rate);
		if (m->nr == LINKPERF_RPC || m->nr == LINKPERF_RAWPING ||
		    m->nr == LINKPERF_NEST)
			printf(" rtt min %.0f median %.0f max %.0f us",
			       r.min_ns / 1e3, r.median_ns / 1e3,
			       r.max_ns / 1e3);
		printf(" retrans %llu peer %llu",
		       (unsigned long long)r.retransmits,
		       (unsigned long long)r.peer_msgs);
		if (m->nr == LINKPERF_SEND)
			printf(" bad %llu", (unsigned long long)r.peer_bad);
		printf("\n");
		fflush(stdout);
		if (err) {
			u_errno(m->name, err);
			bad = 1;
		} else if (m->nr == LINKPERF_SEND &&
			   (r.peer_bad || r.peer_msgs != r.msgs)) {
			u_err("%s: %llu sent, %llu arrived, %llu not intact",
			      m->name, (unsigned long long)r.msgs,
			      (unsigned long long)r.peer_msgs,
			      (unsigned long long)r.peer_bad);
			bad = 1;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	long long count = 0;
	const char *sizes = NULL;
	unsigned seed = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			u_usage(usage);
		if (!strcmp(a, "-c")) {
			count = parse_size(argv[++i]);
			if (count < 1 || count > 1000000) {
				u_err("bad count '%s' (1..1000000)", argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "-s")) {
			sizes = argv[++i];
		} else if (!strcmp(a, "--seed")) {
			long long v = parse_size(argv[++i]);
			if (v < 1 || v > 0xffffffffll) {
				u_err("bad seed '%s'", argv[i]);
				return 2;
			}
			seed = (unsigned)v;
		} else {
			u_usage(usage);
		}
	}
	if (argc - i != 2)
		u_usage(usage);
	const char *ms = argv[i], *ns = argv[i + 1];
	if (!strncmp(ns, "node", 4))
		ns += 4;
	char *end;
	long node = strtol(ns, &end, 10);
	if (!*ns || *end || node < 0 || node > 255) {
		u_err("bad node '%s' (a number or nodeN)", argv[i + 1]);
		return 2;
	}
	int bad = 0, found = 0;
	for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
		bool all = !strcmp(ms, "all") && modes[k].nr != LINKPERF_NEST;
		if (!all && strcmp(ms, modes[k].name))
			continue;
		found = 1;
		int r = run(&modes[k], (unsigned)node,
			    sizes ? sizes : modes[k].sizes, count, seed);
		if (r == 2)
			return 2;
		bad |= r;
	}
	if (!found) {
		u_err("unknown mode '%s'", ms);
		return 2;
	}
	return bad;
}
