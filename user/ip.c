/*
 * ip — show network interfaces, addresses and routes (read-only).
 *
 *   ip [addr|link|route] [show]
 *
 * Reads /proc/net/if (one line per interface: `NAME: key value ...`, see
 * docs/network.md) and, for `ip link`, the counters of /proc/net/dev
 * (Linux's format). Routes are derived: one per configured address (its
 * network, on its interface) and the default route through the gateway of
 * the interface marked `default yes`.
 */
#define PROG "ip"
#include "ucommon.h"

#include <arpa/inet.h>
#include <stdbool.h>

static const char usage[] =
	"usage: ip [addr|link|route] [show]\n"
	"Show interfaces with their addresses (addr, the default), their\n"
	"link state and counters (link), or the routing table (route).\n";

#define MAXIF 16
#define MAXKV 48

struct iface {
	char name[32];
	int nkv;
	char *key[MAXKV], *val[MAXKV];
};

static struct iface ifs[MAXIF];
static int nifs;

static const char *get(const struct iface *f, const char *key)
{
	for (int i = 0; i < f->nkv; i++)
		if (strcmp(f->key[i], key) == 0)
			return f->val[i];
	return NULL;
}

static const char *getd(const struct iface *f, const char *key)
{
	const char *v = get(f, key);
	return v ? v : "?";
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		u_errno(path, errno);
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + n, 1, cap - n - 1, fp)) > 0) {
		n += r;
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(fp);
	if (b)
		b[n] = 0;
	return b;
}

static int load_if(void)
{
	char *t = slurp("/proc/net/if");
	if (!t)
		return -1;
	for (char *save, *line = strtok_r(t, "\n", &save); line && nifs < MAXIF;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		struct iface *f = &ifs[nifs++];
		*colon = 0;
		snprintf(f->name, sizeof f->name, "%.31s", line);
		char *s2, *w = strtok_r(colon + 1, " ", &s2);
		while (w && f->nkv < MAXKV) {
			char *v = strtok_r(NULL, " ", &s2);
			if (!v)
				break;
			f->key[f->nkv] = w;
			f->val[f->nkv++] = v;
			w = strtok_r(NULL, " ", &s2);
		}
	}
	return 0;
}

static void show_addr(void)
{
	for (int i = 0; i < nifs; i++) {
		const struct iface *f = &ifs[i];
		bool up = strcmp(getd(f, "state"), "up") == 0;
		bool link = strcmp(getd(f, "link"), "up") == 0;
		printf("%d: %s: <%s%s> mtu %s state %s\n", i + 1, f->name,
		       up ? "UP" : "DOWN", up && link ? ",LOWER_UP" : "",
		       getd(f, "mtu"), up && link ? "UP" : "DOWN");
		const char *mac = get(f, "mac");
		if (mac)
			printf("    link/ether %s\n", mac);
		else if (strcmp(getd(f, "config"), "loopback") == 0)
			printf("    link/loopback\n");
		const char *addr = get(f, "addr");
		if (addr && strncmp(addr, "0.0.0.0", 7) != 0)
			printf("    inet %s %s\n", addr, getd(f, "config"));
	}
}

static void show_link(void)
{
	char *dev = slurp("/proc/net/dev");
	for (int i = 0; i < nifs; i++) {
		const struct iface *f = &ifs[i];
		printf("%d: %s: mtu %s state %s link %s\n", i + 1, f->name,
		       getd(f, "mtu"), getd(f, "state"), getd(f, "link"));
		const char *mac = get(f, "mac");
		if (mac)
			printf("    link/ether %s\n", mac);
		char pat[40];
		snprintf(pat, sizeof pat, "%.31s:", f->name);
		char *l = dev;
		while (l && *l) {
			char *nl = strchr(l, '\n');
			char *p = l;
			while (*p == ' ')
				p++;
			if (strncmp(p, pat, strlen(pat)) == 0) {
				unsigned long long v[16] = {0};
				sscanf(p + strlen(pat),
				       "%llu %llu %llu %llu %llu %llu %llu %llu "
				       "%llu %llu %llu %llu",
				       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
				       &v[6], &v[7], &v[8], &v[9], &v[10],
				       &v[11]);
				printf("    RX: bytes %llu packets %llu errors %llu dropped %llu\n",
				       v[0], v[1], v[2], v[3]);
				printf("    TX: bytes %llu packets %llu errors %llu dropped %llu\n",
				       v[8], v[9], v[10], v[11]);
			}
			l = nl ? nl + 1 : NULL;
		}
	}
	free(dev);
}

static void show_route(void)
{
	for (int i = 0; i < nifs; i++) {
		const struct iface *f = &ifs[i];
		const char *gw = get(f, "gateway");
		if (strcmp(getd(f, "default"), "yes") == 0 && gw &&
		    strcmp(gw, "0.0.0.0") != 0)
			printf("default via %s dev %s\n", gw, f->name);
	}
	for (int i = 0; i < nifs; i++) {
		const struct iface *f = &ifs[i];
		const char *addr = get(f, "addr"), *mask = get(f, "netmask");
		struct in_addr a, m;
		char ip[32];
		if (!addr || !mask)
			continue;
		snprintf(ip, sizeof ip, "%s", addr);
		char *slash = strchr(ip, '/');
		if (slash)
			*slash = 0;
		if (!inet_aton(ip, &a) || !inet_aton(mask, &m) || !a.s_addr)
			continue;
		struct in_addr net = {a.s_addr & m.s_addr};
		char nb[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &net, nb, sizeof nb);
		printf("%s/%d dev %s proto kernel scope link src %s\n", nb,
		       __builtin_popcount(m.s_addr), f->name, ip);
	}
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	const char *obj = argc > 1 ? argv[1] : "addr";
	if (argc > 3 || (argc == 3 && strcmp(argv[2], "show") != 0 &&
			 strcmp(argv[2], "list") != 0)) {
		u_err("unknown arguments");
		u_usage(usage);
	}
	void (*fn)(void);
	size_t n = strlen(obj);
	if (n && strncmp(obj, "address", n) == 0)
		fn = show_addr;
	else if (n && strncmp(obj, "link", n) == 0)
		fn = show_link;
	else if (n && strncmp(obj, "route", n) == 0)
		fn = show_route;
	else {
		u_err("unknown object: %s", obj);
		u_usage(usage);
	}
	if (load_if() < 0)
		return 1;
	fn();
	return u_flush_stdout();
}
