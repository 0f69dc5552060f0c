/*
 * cpuwork.h — the fixed integer loop of the load balancer's sample
 * programs (cpuhog, randwork; issue 8, docs/loadbalancing.md#tools), and
 * how many of its iterations make one second of work.
 *
 * Interface (everything `static inline`):
 *   WORK_REF_ITERS           iterations per second on the reference node
 *   work_run(iters)          run the loop; its checksum, deterministic in
 *                            iters
 *   work_iters(ms)           iterations for ms reference milliseconds
 *   work_parse_ms(s, &ms)    "SECONDS" with up to 3 decimals -> ms; 0 or -1
 *   work_format_ms(ms, buf)  ms back as "3" or "2.5"
 *   work_now_ns()            CLOCK_MONOTONIC in ns
 *
 * The loop makes no system call, so a process running it can be on any
 * node and is moved by the balancer at no cost but its memory. A program
 * that runs for D reference seconds does work_run(work_iters(D * 1000)),
 * so cpuhog D and a randwork that drew D print the same checksum.
 */
#ifndef CPUWORK_H
#define CPUWORK_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

/*
 * Iterations of work_run's loop per second on the reference node (speed
 * 1000 in /proc/cluster/node/N/speed): a TCG node under `--icount 5`,
 * where QEMU's clock advances 2^5 ns per guest instruction, so the figure
 * does not depend on the host. Measured with `cpuhog --calibrate` (the
 * loop timed with CLOCK_MONOTONIC for 5 s) on a one-node cluster,
 * `tools/cluster up -n 1 --boot direct --icount 5 --disk-mb 0`, with this
 * file built by tools/cc (musl-gcc -O2): 2,392,714 and 2,392,610 per
 * second in two runs. The loop is 13 guest instructions, 416 ns, an
 * iteration (2,403,846 a second); the timer interrupt takes the rest.
 */
#define WORK_REF_ITERS 2392700ull

#define WORK_SEED 0x5107a1c0ffee1234ull
#define WORK_MAX_MS (1000000ull * 1000) /* a million seconds */

/* xorshift64 plus the counter: cannot be folded into a closed form, no
 * memory traffic, the same instructions every iteration. */
static inline uint64_t work_run(uint64_t iters)
{
	uint64_t x = WORK_SEED;
	for (uint64_t i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x += i;
	}
	return x;
}

static inline uint64_t work_iters(uint64_t ms)
{
	return ms * WORK_REF_ITERS / 1000;
}

/* "10", "2.5", "0.125": at most WORK_MAX_MS; -1 on anything else. */
static inline int work_parse_ms(const char *s, uint64_t *ms)
{
	uint64_t whole = 0, frac = 0;
	int digits = 0, fdigits = 0;
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		whole = whole * 10 + (uint64_t)(*s - '0');
		if (whole > WORK_MAX_MS / 1000)
			return -1;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, fdigits++) {
			if (fdigits == 3)
				return -1;
			frac = frac * 10 + (uint64_t)(*s - '0');
		}
		if (fdigits == 0)
			return -1;
	}
	if (*s || digits == 0)
		return -1;
	for (int i = fdigits; i < 3; i++)
		frac *= 10;
	*ms = whole * 1000 + frac;
	return *ms > WORK_MAX_MS ? -1 : 0;
}

/* ms as seconds, without trailing zeros: "3", "2.5", "0.125". */
static inline const char *work_format_ms(uint64_t ms, char buf[32])
{
	int n = snprintf(buf, 32, "%llu.%03llu",
			 (unsigned long long)(ms / 1000),
			 (unsigned long long)(ms % 1000));
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = 0;
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = 0;
	return buf;
}

static inline uint64_t work_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
