/*
 * cpuhog — a CPU-bound process for the load balancer (issue 8,
 * docs/loadbalancing.md#tools): SECONDS × WORK_REF_ITERS iterations of
 * the loop in user/include/cpuwork.h, which takes SECONDS on the reference
 * node (speed 1000) and proportionally longer or shorter elsewhere. It
 * makes no system call until the end, so it runs the same on any node,
 * then prints
 *   cpuhog: SECONDS s of work, checksum HEX
 * where HEX depends only on SECONDS (randwork prints the same for the same
 * duration).
 *
 *   cpuhog --calibrate   time the loop for 5 s and print iterations per
 *                        second and this node's speed by that measure
 *                        (how WORK_REF_ITERS was measured)
 */
#define PROG "cpuhog"
#include "ucommon.h"

#include "cpuwork.h"

#define CAL_NS 5000000000ull

static const char usage[] =
	"usage: cpuhog SECONDS | cpuhog --calibrate\n"
	"Burn SECONDS of CPU time of the reference node (speed 1000; decimals\n"
	"to the ms allowed) with a fixed integer loop that makes no system\n"
	"call, then print \"cpuhog: SECONDS s of work, checksum HEX\".\n"
	"--calibrate times the loop for 5 s and prints iterations per second.\n";

static int calibrate(void)
{
	uint64_t iters = 0, sink = 0, chunk = 1 << 16;
	uint64_t t0 = work_now_ns(), t;
	do {
		sink ^= work_run(chunk);
		iters += chunk;
		t = work_now_ns();
	} while (t - t0 < CAL_NS);
	uint64_t per_s = iters * 1000000000ull / (t - t0);
	printf("cpuhog: %llu iterations/s, speed %llu (checksum %llx)\n",
	       (unsigned long long)per_s,
	       (unsigned long long)(per_s * 1000 / WORK_REF_ITERS),
	       (unsigned long long)sink);
	return u_flush_stdout();
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc == 2 && strcmp(argv[1], "--calibrate") == 0)
		return calibrate();
	if (argc > 1 && argv[1][0] == '-' && argv[1][1])
		u_bad_option(argv[1][1], usage);
	if (argc != 2) {
		if (argc == 1)
			u_err("missing SECONDS");
		else
			u_err("extra operand '%s'", argv[2]);
		u_usage(usage);
	}
	uint64_t ms;
	if (work_parse_ms(argv[1], &ms) < 0) {
		u_err("invalid SECONDS '%s' (0 to 1000000, up to 3 decimals)",
		      argv[1]);
		u_usage(usage);
	}
	uint64_t sum = work_run(work_iters(ms));
	char secs[32];
	printf("cpuhog: %s s of work, checksum %016llx\n",
	       work_format_ms(ms, secs), (unsigned long long)sum);
	return u_flush_stdout();
}
