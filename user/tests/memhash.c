/*
 * memhash — a process with a lot of dirty memory whose output depends on
 * nothing but its arguments, so a run that was migrated between rounds
 * can be compared with one that was not (tests of issue 7).
 *
 *   memhash [-m MB] [-r ROUNDS] [-s SEED] [-d MS]
 *
 * It fills MB MiB (default 32) with a xorshift64* stream seeded from
 * SEED (default 1), then ROUNDS times (default 8): rewrites one word in
 * every 4 KiB page (so every page is dirty again; the words depend on the
 * round), hashes the whole buffer with FNV-1a over 64-bit words starting
 * from the round number, prints "round R hash HEX" and flushes stdout,
 * and sleeps MS milliseconds (default 0) unless it was the last round.
 * The last line is "memhash done HEX", a hash of all the round hashes.
 * A changed word anywhere in the buffer (almost surely) changes that
 * round's hash and every later one.
 */
#define PROG "memhash"
#include "ucommon.h"

#include <stdint.h>
#include <time.h>

#define PAGE_WORDS (4096 / sizeof(uint64_t))
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define MAX_MB 4096
#define MAX_ROUNDS 1000000
#define MAX_DELAY_MS 3600000

static const char usage[] =
	"usage: memhash [-m MB] [-r ROUNDS] [-s SEED] [-d MS]\n"
	"Fill MB MiB (default 32, at most 4096) with pseudo-random data from\n"
	"SEED (default 1), then ROUNDS times (default 8) rewrite part of it,\n"
	"hash it all and print \"round R hash HEX\", sleeping MS milliseconds\n"
	"(default 0) between rounds; last \"memhash done HEX\". The output\n"
	"depends only on the arguments.\n";

/* xorshift64* (Vigna); the state must never be 0. */
static uint64_t next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* splitmix64's finaliser: a seed of any value to a good nonzero state. */
static uint64_t seed_state(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

/* FNV-1a over 64-bit words; the extra shift carries high bits down, so
 * a change in any bit of any word reaches the whole hash. */
static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * FNV_PRIME;
	return h ^ (h >> 32);
}

/* A number in [min, max] from an option argument; usage error if not. */
static unsigned long long number_arg(int opt, const char *s,
				     unsigned long long min,
				     unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max) {
		u_err("invalid -%c value '%s' (%llu..%llu)", opt, s, min, max);
		u_usage(usage);
	}
	return v;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	unsigned long long mb = 32, rounds = 8, seed = 1, delay = 0;
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, ":m:r:s:d:")) != -1) {
		switch (opt) {
		case 'm':
			mb = number_arg(opt, optarg, 1, MAX_MB);
			break;
		case 'r':
			rounds = number_arg(opt, optarg, 1, MAX_ROUNDS);
			break;
		case 's':
			seed = number_arg(opt, optarg, 0, UINT64_MAX);
			break;
		case 'd':
			delay = number_arg(opt, optarg, 0, MAX_DELAY_MS);
			break;
		case ':':
			u_err("option requires an argument -- '%c'", optopt);
			u_usage(usage);
			break;
		default:
			u_bad_option(optopt, usage);
		}
	}
	if (optind != argc) {
		u_err("extra operand '%s'", argv[optind]);
		u_usage(usage);
	}

	size_t words = (size_t)mb << 20 >> 3;
	uint64_t *buf = malloc(words * sizeof *buf);
	if (!buf) {
		u_errno("buffer", ENOMEM);
		return 1;
	}
	uint64_t state = seed_state(seed);
	for (size_t i = 0; i < words; i++)
		buf[i] = next(&state);

	uint64_t all = FNV_OFFSET;
	for (unsigned long long r = 1; r <= rounds; r++) {
		for (size_t p = 0; p < words; p += PAGE_WORDS)
			buf[p + (r + p / PAGE_WORDS) % PAGE_WORDS] ^=
				next(&state);
		uint64_t h = mix(FNV_OFFSET, r);
		for (size_t i = 0; i < words; i++)
			h = mix(h, buf[i]);
		all = mix(all, h);
		printf("round %llu hash %016llx\n", r, (unsigned long long)h);
		if (u_flush_stdout())
			return 1;
		if (delay && r < rounds)
			sleep_ms((unsigned long)delay);
	}
	printf("memhash done %016llx\n", (unsigned long long)all);
	free(buf);
	return u_flush_stdout();
}
