/*
 * migstorm — many processes migrated back and forth at once, for the tests
 * of issue 7 (docs/migration.md).
 *
 *   migstorm [-p PROCS] [-n NODES] [-r ROUNDS] [-k KB] [-m MOVERS]
 *
 * Forks PROCS workers (default 100). Worker i fills KB KiB (default 64)
 * from seed i, then for ROUNDS rounds (default 12) rewrites part of it,
 * hashes it and sleeps 40 ms; it exits 0 when its final hash equals the
 * one the parent computed beforehand for seed i (the same code, never
 * migrated), 1 otherwise. Meanwhile MOVERS children (default 4) of the
 * parent each take a share of the workers and move them round-robin over
 * nodes 0..NODES-1 (node 0 is "home", whatever this node is) with the
 * migrate call, again and again until every worker has ended. At the end:
 *   "migstorm: P workers ok, M migrations, F failed moves"
 * and exit 0 when every worker ended with 0 and at least one migration per
 * worker succeeded; otherwise the failures are listed and it exits 1.
 * Moves that fail because the worker just ended (ESRCH) are not failures.
 */
#define PROG "migstorm"
#include "ucommon.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "shoal.h"

#define MAX_PROCS 400

static const char usage[] =
	"usage: migstorm [-p PROCS] [-n NODES] [-r ROUNDS] [-k KB] [-m MOVERS]\n"
	"Fork PROCS workers (default 100) that hash KB KiB (64) for ROUNDS\n"
	"rounds (12) while MOVERS (4) processes migrate them over nodes\n"
	"0..NODES-1 (3); every worker must end with the right hash.\n";

static long opt_num(const char *s, long min, long max)
{
	return u_number("option", s, min, max, usage);
}

static uint64_t work(unsigned seed, size_t kb, int rounds, int sleep_ms)
{
	size_t n = kb * 1024 / 8;
	uint64_t *buf = malloc(n * 8);
	if (!buf)
		return 0;
	uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x;
	}
	uint64_t h = 0;
	for (int r = 0; r < rounds; r++) {
		for (size_t i = (size_t)r % 512; i < n; i += 512)
			buf[i] += h + (uint64_t)r;
		h = 1469598103934665603ull ^ (uint64_t)r;
		for (size_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
		if (sleep_ms) {
			struct timespec ts = {0, sleep_ms * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	free(buf);
	return h;
}

/* What a mover reports to the parent through the pipe. */
struct tally {
	long moves, failed;
};

static void mover(const pid_t *pids, int np, int first, int step, int nodes,
		  int fd)
{
	struct tally t = {0, 0};
	int round = 0;
	for (;;) {
		int alive = 0;
		for (int i = first; i < np; i += step) {
			int node = (i + round) % nodes;
			long r = shoal_migrate(pids[i], node == 0 ? -1 : node);
			if (r == 0) {
				t.moves++;
				alive++;
			} else if (errno != ESRCH) {
				t.failed++;
				alive++;
				fprintf(stderr, "migstorm: move %d to %d: %s\n",
					(int)pids[i], node, strerror(errno));
			}
		}
		if (!alive)
			break;
		round++;
	}
	if (write(fd, &t, sizeof t) != sizeof t)
		_exit(2);
	_exit(0);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	long procs = 100, nodes = 3, rounds = 12, kb = 64, movers = 4;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || !argv[i][1] || argv[i][2])
			u_bad_option(argv[i][0] == '-' ? argv[i][1] : '?',
				     usage);
		if (i + 1 >= argc) {
			u_err("option -%c needs a value", argv[i][1]);
			u_usage(usage);
		}
		const char *v = argv[++i];
		switch (argv[i - 1][1]) {
		case 'p':
			procs = opt_num(v, 1, MAX_PROCS);
			break;
		case 'n':
			nodes = opt_num(v, 1, 64);
			break;
		case 'r':
			rounds = opt_num(v, 1, 10000);
			break;
		case 'k':
			kb = opt_num(v, 1, 65536);
			break;
		case 'm':
			movers = opt_num(v, 1, 64);
			break;
		default:
			u_bad_option(argv[i - 1][1], usage);
		}
	}
	static uint64_t want[MAX_PROCS];
	for (long i = 0; i < procs; i++)
		want[i] = work((unsigned)i, (size_t)kb, (int)rounds, 0);

	static pid_t pids[MAX_PROCS];
	for (long i = 0; i < procs; i++) {
		pid_t p = fork();
		if (p < 0) {
			u_err("fork: %s", strerror(errno));
			kill(0, SIGKILL);
		}
		if (p == 0)
			_exit(work((unsigned)i, (size_t)kb, (int)rounds, 40) ==
					      want[i]
				      ? 0
				      : 1);
		pids[i] = p;
	}
	int fds[2];
	if (pipe(fds) < 0) {
		u_err("pipe: %s", strerror(errno));
		return 1;
	}
	static pid_t mpids[64];
	for (long m = 0; m < movers; m++) {
		pid_t p = fork();
		if (p == 0) {
			close(fds[0]);
			mover(pids, (int)procs, (int)m, (int)movers, (int)nodes,
			      fds[1]);
		}
		mpids[m] = p;
	}
	close(fds[1]);
	long bad = 0;
	for (long i = 0; i < procs; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) < 0) {
			fprintf(stderr, "migstorm: wait %d: %s\n", (int)pids[i],
				strerror(errno));
			bad++;
		} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr,
				"migstorm: worker %ld (pid %d): %s %d\n", i,
				(int)pids[i],
				WIFEXITED(st) ? "exit" : "killed by signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad++;
		}
	}
	struct tally total = {0, 0};
	for (long m = 0; m < movers; m++) {
		struct tally t;
		if (read(fds[0], &t, sizeof t) == sizeof t) {
			total.moves += t.moves;
			total.failed += t.failed;
		}
		waitpid(mpids[m], NULL, 0);
	}
	printf("migstorm: %ld workers ok, %ld migrations, %ld failed moves\n",
	       procs - bad, total.moves, total.failed);
	u_flush_stdout();
	return bad || total.failed || total.moves < procs ? 1 : 0;
}
