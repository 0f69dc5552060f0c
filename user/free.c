/*
 * free — memory use from /proc/meminfo, in KiB (or MiB with -m):
 *           total   used   free   shared  buff/cache  available
 *   Mem:
 *   Swap:
 * Fields read: MemTotal, MemFree, MemAvailable, Buffers, Cached, Shmem,
 * SReclaimable, SwapTotal, SwapFree (Shoal prints a subset; a missing
 * field counts as 0, a missing MemAvailable as free + buff/cache).
 * used = total - available, as procps-ng 4 computes it.
 */
#define PROG "free"
#include "ucommon.h"

static const char usage[] = "usage: free [-k|-m]\n"
			    "Show memory use from /proc/meminfo (KiB; -m: "
			    "MiB).\n";

enum {
	TOTAL,
	FREE,
	AVAIL,
	BUFFERS,
	CACHED,
	SHMEM,
	SRECL,
	SWAPTOTAL,
	SWAPFREE,
	NFIELDS
};

static const char *const names[NFIELDS] = {
	"MemTotal", "MemFree",	    "MemAvailable", "Buffers",	"Cached",
	"Shmem",    "SReclaimable", "SwapTotal",    "SwapFree",
};

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, shift = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "km")) != -1) {
		if (opt == 'k')
			shift = 0;
		else if (opt == 'm')
			shift = 10;
		else
			u_bad_option(optopt, usage);
	}
	if (optind < argc) {
		u_err("unexpected argument '%s'", argv[optind]);
		u_usage(usage);
	}
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f) {
		u_errno("/proc/meminfo", errno);
		return 1;
	}
	unsigned long long v[NFIELDS] = {0};
	int seen[NFIELDS] = {0};
	char line[256];
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		for (int i = 0; i < NFIELDS; i++) {
			if (strcmp(line, names[i]) == 0) {
				v[i] = strtoull(colon + 1, NULL, 10);
				seen[i] = 1;
			}
		}
	}
	fclose(f);
	if (!seen[TOTAL] || !seen[FREE]) {
		u_err("/proc/meminfo: no MemTotal or MemFree line");
		return 1;
	}
	unsigned long long cache = v[BUFFERS] + v[CACHED] + v[SRECL];
	if (!seen[AVAIL])
		v[AVAIL] = v[FREE] + cache;
	unsigned long long used = v[TOTAL] > v[AVAIL] ? v[TOTAL] - v[AVAIL] : 0;
	printf("%-7s%12s%12s%12s%12s%12s%12s\n", "", "total", "used", "free",
	       "shared", "buff/cache", "available");
	printf("%-7s%12llu%12llu%12llu%12llu%12llu%12llu\n",
	       "Mem:", v[TOTAL] >> shift, used >> shift, v[FREE] >> shift,
	       v[SHMEM] >> shift, cache >> shift, v[AVAIL] >> shift);
	unsigned long long swap_used =
		v[SWAPTOTAL] > v[SWAPFREE] ? v[SWAPTOTAL] - v[SWAPFREE] : 0;
	printf("%-7s%12llu%12llu%12llu\n", "Swap:", v[SWAPTOTAL] >> shift,
	       swap_used >> shift, v[SWAPFREE] >> shift);
	return u_flush_stdout();
}
