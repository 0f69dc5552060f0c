/*
 * ss — list the node's sockets with their states.
 *
 *   ss [-t] [-u] [-l] [-a]
 *
 * Reads /proc/net/sockets (net/lwip/socket.c): a header line, then
 * `PROTO STATE LOCAL:PORT REMOTE:PORT RXQ TXQ` per TCP or UDP pcb. By
 * default shows every non-listening TCP connection and UDP socket; -l only
 * listeners, -a all; -t / -u restrict to TCP / UDP.
 */
#define PROG "ss"
#include "ucommon.h"

#include <stdbool.h>

static const char usage[] =
	"usage: ss [-tula]\n"
	"List sockets: protocol, state, receive and send queues, addresses.\n"
	"  -t  TCP only      -u  UDP only\n"
	"  -l  listening only  -a  all, listening included\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	bool tcp = false, udp = false, lsn = false, all = false;
	int opt;
	while ((opt = getopt(argc, argv, ":tula")) != -1) {
		switch (opt) {
		case 't':
			tcp = true;
			break;
		case 'u':
			udp = true;
			break;
		case 'l':
			lsn = true;
			break;
		case 'a':
			all = true;
			break;
		default:
			u_bad_option(optopt, usage);
		}
	}
	if (optind != argc) {
		u_err("extra operand: %s", argv[optind]);
		u_usage(usage);
	}
	if (!tcp && !udp)
		tcp = udp = true;
	const char *path = "/proc/net/sockets";
	FILE *fp = fopen(path, "r");
	if (!fp) {
		u_errno(path, errno);
		return 1;
	}
	char line[512];
	printf("%-5s %-12s %6s %6s %-21s %-21s\n", "Netid", "State", "Recv-Q",
	       "Send-Q", "Local Address:Port", "Peer Address:Port");
	bool first = true;
	while (fgets(line, sizeof line, fp)) {
		char proto[16], state[16], local[64], remote[64];
		unsigned long rxq, txq;
		if (first) {
			first = false;
			if (strncmp(line, "proto ", 6) == 0)
				continue;
		}
		if (sscanf(line, "%15s %15s %63s %63s %lu %lu", proto, state,
			   local, remote, &rxq, &txq) != 6)
			continue;
		bool is_tcp = strcmp(proto, "tcp") == 0;
		bool is_lsn = strcmp(state, "LISTEN") == 0;
		if ((is_tcp && !tcp) || (!is_tcp && !udp))
			continue;
		if (!all && (lsn ? !is_lsn : is_lsn))
			continue;
		printf("%-5s %-12s %6lu %6lu %-21s %-21s\n", proto, state, rxq,
		       txq, local, remote);
	}
	fclose(fp);
	return u_flush_stdout();
}
