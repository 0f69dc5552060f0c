/*
 * randwork — a job of random length for the load balancer's experiments
 * (issue 8; the paper's §4.2 runs jobs of U(0, 600) s): from SEED it draws
 * a duration D uniform in 0..MAXSEC reference seconds, to the millisecond,
 * runs cpuhog's loop (user/include/cpuwork.h) for D and prints
 *   randwork: seed S: D s, checksum HEX
 * The checksum is cpuhog D's. `spawn -n 8 randwork %i 600` gives eight
 * different, reproducible jobs.
 *
 * The draw: D = mix(SEED) mod (MAXSEC × 1000 + 1) ms, where mix is
 * SplitMix64's output function (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014): add the golden-ratio
 * increment, then xor-shift-multiply twice (Stafford's "Mix13"
 * constants). Every input bit affects every output bit, so consecutive
 * seeds give unrelated durations; the modulo's bias is below 2^-40.
 */
#define PROG "randwork"
#include "ucommon.h"

#include "cpuwork.h"

static const char usage[] =
	"usage: randwork SEED MAXSEC\n"
	"Run cpuhog's loop for a duration drawn from SEED (a number), uniform in\n"
	"0..MAXSEC seconds of the reference node (to the ms), then print\n"
	"\"randwork: seed S: D s, checksum HEX\".\n";

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A decimal number of digits only that fits in 64 bits; -1 otherwise. */
static int parse_seed(const char *s, uint64_t *v)
{
	if (!*s)
		return -1;
	*v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		uint64_t d = (uint64_t)(*s - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1])
		u_bad_option(argv[1][1], usage);
	if (argc != 3) {
		if (argc == 1)
			u_err("missing SEED");
		else if (argc == 2)
			u_err("missing MAXSEC after '%s'", argv[1]);
		else
			u_err("extra operand '%s'", argv[3]);
		u_usage(usage);
	}
	uint64_t seed, max_ms;
	if (parse_seed(argv[1], &seed) < 0) {
		u_err("invalid SEED '%s' (0 to 2^64-1)", argv[1]);
		u_usage(usage);
	}
	if (work_parse_ms(argv[2], &max_ms) < 0) {
		u_err("invalid MAXSEC '%s' (0 to 1000000, up to 3 decimals)",
		      argv[2]);
		u_usage(usage);
	}
	uint64_t ms = mix(seed) % (max_ms + 1);
	uint64_t sum = work_run(work_iters(ms));
	char secs[32];
	printf("randwork: seed %llu: %s s, checksum %016llx\n",
	       (unsigned long long)seed, work_format_ms(ms, secs),
	       (unsigned long long)sum);
	return u_flush_stdout();
}
