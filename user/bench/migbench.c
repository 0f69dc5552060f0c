/*
 * migbench — process migration figures (issue 7, docs/migration.md), for
 * tools/bench/mig.py (make bench-mig). The process moves itself with
 * shoal_migrate(0, NODE) (user/include/shoal.h) and times what it does
 * with CLOCK_MONOTONIC: a moved process reads its home's time base
 * (user_ctx.clock_off), so differences across a move are valid (they miss
 * the one-way delay of the move's first message; see docs/performance.md).
 *
 *   move MB NODE [RUNS]  allocate MB MiB and write every page, then RUNS
 *                        times (default 1): move to NODE and back home,
 *                        each move timed around the call. There is no
 *                        pre-copy: the process is frozen for the whole
 *                        transfer, so this is both its freeze time and
 *                        the move's total time. One line per move:
 *     migbench: move dir=out node=1 mb=16 run=1 ms=.. bytes=.. mib_s=..
 *               kernel_us=..
 *                        bytes: the growth of home's out_bytes (dir=out)
 *                        or in_bytes (dir=home) in /proc/cluster/
 *                        migrations: every dirty page, the buffer's and
 *                        the program's own; mib_s = bytes / ms;
 *                        kernel_us: home's last_total_us (freeze to commit
 *                        answer) for dir=out; the home move's is on NODE
 *                        (0 here). Each word checked after each move.
 *   calls NODE N         N getppid() and N 1-byte write()s to /dev/null,
 *                        here and then on NODE (where both are HOME calls
 *                        forwarded to the deputy); each kind after 100
 *                        calls of warm-up, twice: a loop timed as a whole
 *                        (mean) and each call timed on its own (median,
 *                        10th and 90th percentile); served and ucopies:
 *                        home's calls_served and ucopies per call made
 *                        (0 locally):
 *     migbench: calls where=local call=getppid n=.. mean_us=.. median_us=..
 *               p10_us=.. p90_us=.. served_per_call=.. ucopies_per_call=..
 *   files NODE MB        MB MiB written to /data/migbench.dat in 4 KiB
 *                        writes, then fsync, here and then on NODE:
 *     migbench: files where=local mb=8 ms=.. mib_s=..
 *     migbench: files slowdown=..
 *
 * Every subcommand ends back at home ("migbench: done"). Exit 0, 1 on a
 * failure (a message "migbench: SUBCOMMAND: what failed" on stderr), 2
 * for a bad command line.
 */
#define PROG "migbench"
#include "ucommon.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "shoal.h"

#define NS_PER_S 1000000000ull
#define MIB (1024 * 1024)
#define PAGE 4096
#define WRITE_SIZE 4096
#define MAX_MB 1024
#define MAX_RUNS 100
#define MAX_CALLS 1000000
#define WARM_CALLS 100
#define NODE_HOME (-1)
#define MAX_NODE 255
#define FILE_PATH "/data/migbench.dat"
#define COUNTERS "/proc/cluster/migrations"

static const char usage[] =
	"usage: migbench move MB NODE [RUNS] | calls NODE N | files NODE MB\n"
	"Process migration figures; the process moves itself (Shoal only).\n"
	"  move MB NODE [RUNS]  dirty MB MiB (1..1024), move to NODE and home\n"
	"                       RUNS times (default 1), timing each move\n"
	"  calls NODE N         N getppid() and 1-byte writes to /dev/null,\n"
	"                       here and on NODE: per-call mean and median\n"
	"  files NODE MB        MB MiB to " FILE_PATH " in 4 KiB writes and\n"
	"                       fsync, here and on NODE; the slowdown\n"
	"Prints \"migbench: ...\" lines of key=value words (see the source).\n";

static const char *cmd; /* the subcommand, for messages */

static int fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* A decimal number of digits only in [min, max]; usage error if not. */
static long number(const char *s, long min, long max)
{
	return u_number(cmd, s, min, max, usage);
}

static uint64_t now_ns(void)
{
	return u_mono_ns();
}

/* Move to node (NODE_HOME: home); 0, or 1 after a message. */
static int go(int node)
{
	if (shoal_migrate(0, node) == 0)
		return 0;
	int err = errno;
	if (node == NODE_HOME)
		return fail("migrate home: %s", strerror(err));
	return fail("migrate to node %d: %s", node, strerror(err));
}

/* The home's migration counters (the file is opened at home even when the
 * process runs elsewhere: open is a HOME call). */
struct counters {
	uint64_t out_bytes, in_bytes, last_total_us, calls_served, ucopies;
};

static int read_counters(struct counters *c)
{
	char buf[1024];
	int fd = open(COUNTERS, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open %s: %s", COUNTERS, strerror(errno));
	ssize_t n = u_read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return fail("read %s: %s", COUNTERS, strerror((int)-n));
	buf[n] = 0;
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"out_bytes ", offsetof(struct counters, out_bytes)},
		{"in_bytes ", offsetof(struct counters, in_bytes)},
		{"last_total_us ", offsetof(struct counters, last_total_us)},
		{"calls_served ", offsetof(struct counters, calls_served)},
		{"ucopies ", offsetof(struct counters, ucopies)},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		size_t klen = strlen(keys[i].key);
		const char *line = buf;
		while (line && strncmp(line, keys[i].key, klen) != 0) {
			line = strchr(line, '\n');
			line = line ? line + 1 : NULL;
		}
		if (!line)
			return fail("%s: no '%s' line", COUNTERS, keys[i].key);
		*(uint64_t *)((char *)c + keys[i].off) =
			strtoull(line + klen, NULL, 10);
	}
	return 0;
}

/* ------------------------------------------------------------ move */

/* The word written at the start of page i in round r. */
static uint64_t word(size_t i, long r)
{
	return (uint64_t)i * 0x9e3779b97f4a7c15ull + (uint64_t)r + 1;
}

static int check_words(const uint64_t *buf, size_t pages, long r,
		       const char *after)
{
	for (size_t i = 0; i < pages; i++)
		if (buf[i * (PAGE / 8)] != word(i, r))
			return fail("page %zu changed by the move %s", i,
				    after);
	return 0;
}

/* One timed move and its line; dir is "out" or "home". */
static int timed_move(int node, const char *dir, long mb, long run)
{
	struct counters a, b;
	if (read_counters(&a))
		return 1;
	uint64_t t0 = now_ns();
	if (go(node))
		return 1;
	uint64_t ns = now_ns() - t0;
	if (read_counters(&b))
		return 1;
	bool out = node != NODE_HOME;
	uint64_t bytes = out ? b.out_bytes - a.out_bytes
			     : b.in_bytes - a.in_bytes;
	printf("migbench: move dir=%s node=%d mb=%ld run=%ld ms=%.3f "
	       "bytes=%llu mib_s=%.3f kernel_us=%llu\n",
	       dir, node, mb, run, ns / 1e6, (unsigned long long)bytes,
	       ns ? bytes / (double)MIB / (ns / 1e9) : 0.0,
	       out ? (unsigned long long)b.last_total_us : 0ull);
	return u_flush_stdout();
}

static int cmd_move(int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		u_usage(usage);
	long mb = number(argv[0], 1, MAX_MB);
	int node = (int)number(argv[1], 0, MAX_NODE);
	long runs = argc > 2 ? number(argv[2], 1, MAX_RUNS) : 1;
	size_t pages = (size_t)mb * MIB / PAGE;
	uint64_t *buf = malloc((size_t)mb * MIB);
	if (!buf)
		return fail("%ld MiB: out of memory", mb);
	/* Every byte written once, so every page is present and dirty. */
	memset(buf, 0x5a, (size_t)mb * MIB);
	for (long r = 1; r <= runs; r++) {
		for (size_t i = 0; i < pages; i++)
			buf[i * (PAGE / 8)] = word(i, r);
		if (timed_move(node, "out", mb, r) ||
		    check_words(buf, pages, r, "out"))
			return 1;
		if (timed_move(NODE_HOME, "home", mb, r) ||
		    check_words(buf, pages, r, "home"))
			return 1;
	}
	free(buf);
	return 0;
}

/* ------------------------------------------------------------ calls */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* One call of kind k (0 getppid, 1 write); 0 or 1 after a message. */
static int one_call(int k, int null_fd)
{
	static const char byte = 'x';
	if (k == 0) {
		syscall(SYS_getppid);
		return 0;
	}
	ssize_t n = write(null_fd, &byte, 1);
	if (n == 1)
		return 0;
	return fail("write /dev/null: %s", n < 0 ? strerror(errno) : "short");
}

/*
 * Time n calls of each kind after a warm-up (which lets TCG translate the
 * paths). The deputy's work per call comes from home's calls_served and
 * ucopies: their growth over the loops, less `self` (what one
 * read_counters costs, itself forwarded when the process is remote).
 */
static int time_calls(const char *where, long n, int null_fd, uint64_t *ns,
		      const struct counters *self)
{
	static const char *const names[] = {"getppid", "write1"};
	long warm = n < WARM_CALLS ? n : WARM_CALLS;
	for (int k = 0; k < 2; k++) {
		struct counters a, b;
		if (read_counters(&a))
			return 1;
		for (long i = 0; i < warm; i++)
			if (one_call(k, null_fd))
				return 1;
		uint64_t t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (one_call(k, null_fd))
				return 1;
		double mean_us = (now_ns() - t0) / 1e3 / n;
		for (long i = 0; i < n; i++) {
			uint64_t t = now_ns();
			if (one_call(k, null_fd))
				return 1;
			ns[i] = now_ns() - t;
		}
		if (read_counters(&b))
			return 1;
		double made = (double)(warm + 2 * n);
		qsort(ns, (size_t)n, sizeof *ns, cmp_u64);
		printf("migbench: calls where=%s call=%s n=%ld mean_us=%.3f "
		       "median_us=%.3f p10_us=%.3f p90_us=%.3f "
		       "served_per_call=%.3f ucopies_per_call=%.3f\n",
		       where, names[k], n, mean_us, ns[n / 2] / 1e3,
		       ns[n / 10] / 1e3, ns[n * 9 / 10] / 1e3,
		       ((double)(b.calls_served - a.calls_served) -
			(double)self->calls_served) /
			       made,
		       ((double)(b.ucopies - a.ucopies) -
			(double)self->ucopies) /
			       made);
		if (u_flush_stdout())
			return 1;
	}
	return 0;
}

/* What one read_counters adds to the counters: two in a row, as the file
 * is a snapshot taken at open. */
static int counters_cost(struct counters *self)
{
	struct counters a, b;
	if (read_counters(&a) || read_counters(&b))
		return 1;
	self->calls_served = b.calls_served - a.calls_served;
	self->ucopies = b.ucopies - a.ucopies;
	return 0;
}

static int cmd_calls(int argc, char **argv)
{
	if (argc != 2)
		u_usage(usage);
	int node = (int)number(argv[0], 0, MAX_NODE);
	long n = number(argv[1], 1, MAX_CALLS);
	uint64_t *ns = malloc((size_t)n * sizeof *ns);
	if (!ns)
		return fail("%ld calls: out of memory", n);
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open /dev/null: %s", strerror(errno));
	struct counters self;
	int rc = counters_cost(&self);
	if (!rc)
		rc = time_calls("local", n, fd, ns, &self);
	if (!rc)
		rc = go(node);
	if (!rc) {
		rc = counters_cost(&self);
		if (!rc)
			rc = time_calls("remote", n, fd, ns, &self);
		rc |= go(NODE_HOME);
	}
	close(fd);
	free(ns);
	return rc;
}

/* ------------------------------------------------------------ files */

/* Write mb MiB to FILE_PATH in WRITE_SIZE writes, fsync, close; *ns the
 * time from open to the end of close. */
static int write_file(long mb, const char *buf, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	int fd =
		open(FILE_PATH, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("open %s: %s", FILE_PATH, strerror(errno));
	long writes = mb * (MIB / WRITE_SIZE);
	for (long i = 0; i < writes; i++) {
		int r = u_write_all(fd, buf, WRITE_SIZE);
		if (r < 0) {
			close(fd);
			return fail("write %s: %s", FILE_PATH, strerror(-r));
		}
	}
	if (fsync(fd) < 0) {
		int err = errno;
		close(fd);
		return fail("fsync %s: %s", FILE_PATH, strerror(err));
	}
	if (close(fd) < 0)
		return fail("close %s: %s", FILE_PATH, strerror(errno));
	*ns = now_ns() - t0;
	return 0;
}

static int print_file(const char *where, long mb, uint64_t ns)
{
	printf("migbench: files where=%s mb=%ld ms=%.3f mib_s=%.3f\n", where,
	       mb, ns / 1e6, mb / (ns / 1e9));
	return u_flush_stdout();
}

static int cmd_files(int argc, char **argv)
{
	if (argc != 2)
		u_usage(usage);
	int node = (int)number(argv[0], 0, MAX_NODE);
	long mb = number(argv[1], 1, MAX_MB);
	static char buf[WRITE_SIZE];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)('a' + i % 26);
	uint64_t local_ns, remote_ns;
	int rc = write_file(mb, buf, &local_ns);
	if (!rc)
		rc = print_file("local", mb, local_ns);
	if (!rc)
		rc = go(node);
	if (!rc) {
		rc = write_file(mb, buf, &remote_ns);
		if (!rc)
			rc = print_file("remote", mb, remote_ns);
		rc |= go(NODE_HOME);
	}
	if (unlink(FILE_PATH) < 0 && errno != ENOENT && !rc)
		rc = fail("unlink %s: %s", FILE_PATH, strerror(errno));
	if (!rc) {
		printf("migbench: files slowdown=%.3f\n",
		       (double)remote_ns / (double)local_ns);
		rc = u_flush_stdout();
	}
	return rc;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc < 2)
		u_usage(usage);
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"move", cmd_move},
		{"calls", cmd_calls},
		{"files", cmd_files},
	};
	cmd = argv[1];
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmd, cmds[i].name) != 0)
			continue;
		if (cmds[i].fn(argc - 2, argv + 2))
			return 1;
		printf("migbench: done\n");
		return u_flush_stdout();
	}
	u_err("unknown subcommand '%s'", cmd);
	u_usage(usage);
}
