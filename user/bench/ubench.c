/*
 * ubench — process micro-benchmarks, one static binary for Shoal and Linux.
 *
 * Tests (each a loop of N operations timed with CLOCK_MONOTONIC):
 *   null      syscall(SYS_getppid): the cheapest round trip into the kernel
 *   fork      fork, the child _exits at once, waitpid
 *   exec      fork, the child execs this binary with --child (which exits
 *             at once), waitpid
 *   pipe_lat  1 byte there and back between two processes over two pipes
 *             (ns per round trip)
 *   pipe_bw   one process writes 64 KiB blocks, another reads them
 *             (ns per block, and MiB/s, MiB = 2^20 bytes)
 *   ctxsw     the pipe_lat ping-pong per switch, less the cost of the pipe
 *             work itself (a write and a read of 1 byte in one process,
 *             measured in the same run), as lmbench's lat_ctx does
 *
 * Method: a warm-up doubles N from 1 until one pass takes an eighth of the
 * target time (this also lets TCG translate the code paths), N is scaled to
 * the target time per pass, then `runs` passes are timed; the line gives
 * the median per-operation time and the fastest and slowest pass.
 *
 * Output, one line per test, key=value words with no spaces in values:
 *   ubench: start os=Linux release=6.1.0 runs=5 target_ms=200 clock_res_ns=..
 *   ubench: name=null status=ok iters=.. runs=5 ns_per_op=.. min_ns=.. max_ns=..
 *   ubench: name=fork status=unsupported reason=fork:ENOSYS
 *   ubench: name=ctxsw status=failed reason=timeout
 *   ubench: done ok=5 unsupported=1 failed=0
 * "unsupported": a system call the test needs returned an error; "failed":
 * the calls worked but something else went wrong (a child's status, a short
 * read, the per-test alarm). Either way the next test runs. Exit status: 0
 * when every selected test is ok, 1 otherwise, 2 for a usage error.
 *
 * Children leave with _exit, so stdio buffers are never flushed twice;
 * stdout is flushed before every fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64 * 1024)
#define MAX_RUNS 51

extern char **environ;

/* One timed pass: ns for the whole loop; aux is test-specific (ctxsw). */
struct pass {
	int64_t ns;
	int64_t aux_ns;
};

struct test {
	const char *name;
	const char *what;
	long max_iters;
	int (*run)(long iters, struct pass *p);
};

static const char *self_path;
static char reason[96];
static volatile const char *current;

static const struct {
	int err;
	const char *name;
} errnames[] = {
	{EPERM, "EPERM"},   {ENOENT, "ENOENT"},	  {EINTR, "EINTR"},
	{EIO, "EIO"},	    {E2BIG, "E2BIG"},	  {ENOEXEC, "ENOEXEC"},
	{EBADF, "EBADF"},   {ECHILD, "ECHILD"},	  {EAGAIN, "EAGAIN"},
	{ENOMEM, "ENOMEM"}, {EACCES, "EACCES"},	  {EFAULT, "EFAULT"},
	{EINVAL, "EINVAL"}, {EMFILE, "EMFILE"},	  {ENFILE, "ENFILE"},
	{EPIPE, "EPIPE"},   {ENOSYS, "ENOSYS"},	  {EOPNOTSUPP, "EOPNOTSUPP"},
	{ENOTTY, "ENOTTY"}, {ETXTBSY, "ETXTBSY"},
};

/* "call:ENAME" into reason; returns -1 so callers can `return unsupported()`. */
static int unsupported(const char *call, int err)
{
	const char *name = NULL;
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			name = errnames[i].name;
	if (name)
		snprintf(reason, sizeof(reason), "%s:%s", call, name);
	else
		snprintf(reason, sizeof(reason), "%s:errno%d", call, err);
	return -1;
}

/* A failure that is not a system call's error; returns -2. */
static int failed(const char *fmt, int arg)
{
	snprintf(reason, sizeof(reason), fmt, arg);
	return -2;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A child's wait status: 0 if it exited 0, else a failed() reason. */
static int child_status(int st, const char *who)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st)) {
		snprintf(reason, sizeof(reason), "%s_killed_by_signal_%d", who,
			 WTERMSIG(st));
		return -2;
	}
	snprintf(reason, sizeof(reason), "%s_exit_status_%d", who,
		 WIFEXITED(st) ? WEXITSTATUS(st) : st);
	return -2;
}

static int reap(pid_t pid, const char *who)
{
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return unsupported("waitpid", errno);
	return child_status(st, who);
}

/* Write or read exactly n bytes; 0, or -1 with errno (0 for EOF). */
static int full_io(int fd, char *buf, size_t n, int writing)
{
	while (n > 0) {
		ssize_t k = writing ? write(fd, buf, n) : read(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = 0;
			return -1;
		}
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

static void close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

/* ------------------------------------------------------------ null */
static int run_null(long iters, struct pass *p)
{
	if (syscall(SYS_getppid) < 0)
		return unsupported("getppid", errno);
	int64_t t0 = now_ns();
	for (long i = 0; i < iters; i++)
		syscall(SYS_getppid);
	p->ns = now_ns() - t0;
	return 0;
}

/* ------------------------------------------------------------ fork */
static int run_fork(long iters, struct pass *p)
{
	fflush(stdout);
	int64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return unsupported("fork", errno);
		if (pid == 0)
			_exit(0);
		int rc = reap(pid, "child");
		if (rc)
			return rc;
	}
	p->ns = now_ns() - t0;
	return 0;
}

/* ------------------------------------------------------------ exec */
/* The child's exit status when execve fails: 200 + errno (capped). */
#define EXEC_FAILED 200

static int run_exec(long iters, struct pass *p)
{
	char *argv[] = {(char *)self_path, "--child", NULL};
	fflush(stdout);
	int64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return unsupported("fork", errno);
		if (pid == 0) {
			execve(self_path, argv, environ);
			_exit(errno < 255 - EXEC_FAILED ? EXEC_FAILED + errno
							: 255);
		}
		int st;
		pid_t r;
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		if (r < 0)
			return unsupported("waitpid", errno);
		if (WIFEXITED(st) && WEXITSTATUS(st) >= EXEC_FAILED)
			return unsupported("execve",
					   WEXITSTATUS(st) - EXEC_FAILED);
		int rc = child_status(st, "exec_child");
		if (rc)
			return rc;
	}
	p->ns = now_ns() - t0;
	return 0;
}

/* ------------------------------------------------------------ pipes */
/*
 * The ping-pong of pipe_lat and ctxsw: the child echoes every byte from
 * `to` back on `from` until `to` reaches EOF. Returns the ns of iters
 * round trips, or a negative unsupported()/failed() code.
 */
static int ping_pong(long iters, int64_t *ns)
{
	int to[2], from[2];
	if (pipe(to) < 0)
		return unsupported("pipe", errno);
	if (pipe(from) < 0) {
		int e = errno;
		close_pair(to);
		return unsupported("pipe", e);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pair(to);
		close_pair(from);
		return unsupported("fork", e);
	}
	if (pid == 0) {
		char c;
		close(to[1]);
		close(from[0]);
		for (;;) {
			ssize_t k = read(to[0], &c, 1);
			if (k == 0)
				_exit(0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 || write(from[1], &c, 1) != 1)
				_exit(1);
		}
	}
	close(to[0]);
	close(from[1]);
	int rc = 0;
	char c = 'x';
	int64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (full_io(to[1], &c, 1, 1) < 0) {
			rc = unsupported("write", errno);
			break;
		}
		if (full_io(from[0], &c, 1, 0) < 0) {
			rc = errno ? unsupported("read", errno)
				   : failed("echo_child_closed_at_%d", (int)i);
			break;
		}
	}
	*ns = now_ns() - t0;
	close(to[1]); /* the child sees EOF and exits */
	close(from[0]);
	int st = reap(pid, "echo_child");
	return rc ? rc : st;
}

static int run_pipe_lat(long iters, struct pass *p)
{
	return ping_pong(iters, &p->ns);
}

/* ns of iters (write 1 byte, read it back) on one pipe in one process. */
static int pipe_work(long iters, int64_t *ns)
{
	int fd[2];
	char c = 'x';
	if (pipe(fd) < 0)
		return unsupported("pipe", errno);
	int rc = 0;
	int64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (write(fd[1], &c, 1) != 1) {
			rc = unsupported("write", errno);
			break;
		}
		if (read(fd[0], &c, 1) != 1) {
			rc = unsupported("read", errno);
			break;
		}
	}
	*ns = now_ns() - t0;
	close_pair(fd);
	return rc;
}

static int run_ctxsw(long iters, struct pass *p)
{
	int rc = ping_pong(iters, &p->ns);
	return rc ? rc : pipe_work(iters, &p->aux_ns);
}

static char block[BLOCK];

/*
 * pipe_bw: the child waits for a go byte (so its fork is not timed), then
 * writes iters blocks of 64 KiB; the parent reads until it has them all.
 */
static int run_pipe_bw(long iters, struct pass *p)
{
	int data[2], go[2];
	if (pipe(data) < 0)
		return unsupported("pipe", errno);
	if (pipe(go) < 0) {
		int e = errno;
		close_pair(data);
		return unsupported("pipe", e);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pair(data);
		close_pair(go);
		return unsupported("fork", e);
	}
	if (pid == 0) {
		char c;
		close(data[0]);
		close(go[1]);
		if (full_io(go[0], &c, 1, 0) < 0)
			_exit(1);
		for (long i = 0; i < iters; i++)
			if (full_io(data[1], block, BLOCK, 1) < 0)
				_exit(2);
		_exit(0);
	}
	close(data[1]);
	close(go[0]);
	int rc = 0;
	char c = 'g';
	int64_t want = (int64_t)iters * BLOCK, got = 0;
	int64_t t0 = now_ns();
	if (full_io(go[1], &c, 1, 1) < 0)
		rc = unsupported("write", errno);
	while (!rc && got < want) {
		ssize_t k = read(data[0], block, BLOCK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = unsupported("read", errno);
		else if (k == 0)
			rc = failed("writer_closed_after_%d_blocks",
				    (int)(got / BLOCK));
		else
			got += k;
	}
	p->ns = now_ns() - t0;
	close(data[0]);
	close(go[1]);
	int st = reap(pid, "writer_child");
	return rc ? rc : st;
}

static const struct test tests[] = {
	{"null", "syscall(SYS_getppid)", 50000000, run_null},
	{"fork", "fork + _exit + waitpid", 1000000, run_fork},
	{"exec", "fork + execve(self --child) + waitpid", 1000000, run_exec},
	{"pipe_lat", "1-byte round trip over two pipes", 10000000,
	 run_pipe_lat},
	{"pipe_bw", "64 KiB writes through a pipe (ns per block)", 1000000,
	 run_pipe_bw},
	{"ctxsw", "switch between two processes (pipe work subtracted)",
	 10000000, run_ctxsw},
};
#define NTESTS ((int)(sizeof(tests) / sizeof(tests[0])))

/* ------------------------------------------------------------ driver */
struct opts {
	int runs;
	int target_ms;
	int timeout_s;
	int selected[NTESTS];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void on_alarm(int sig)
{
	char line[128];
	(void)sig;
	int n = snprintf(line, sizeof(line),
			 "ubench: name=%s status=failed reason=timeout\n",
			 current ? (const char *)current : "?");
	if (write(1, line, (size_t)n) < 0)
		_exit(3);
	_exit(3);
}

/*
 * The per-test alarm, through the alarm system call itself: musl's alarm()
 * uses setitimer, which Shoal does not list. Errors are ignored: without
 * an alarm a hung test is left to the caller's timeout.
 */
static void set_alarm(int seconds)
{
	syscall(SYS_alarm, seconds);
}

/* Runs one test and prints its line; returns 0 ok, -1 unsupported, -2 failed. */
static int run_test(const struct test *t, const struct opts *o)
{
	int64_t target = (int64_t)o->target_ms * 1000000;
	struct pass p = {0, 0};
	long iters = 1;
	int rc;

	current = t->name;
	set_alarm(o->timeout_s);
	for (;;) {
		rc = t->run(iters, &p);
		if (rc || p.ns >= target / 8 || iters >= t->max_iters)
			break;
		iters *= 2;
	}
	if (!rc) {
		double scaled = (double)iters * (double)target /
				(double)(p.ns > 0 ? p.ns : 1);
		iters = scaled < 1		? 1
			: scaled > t->max_iters ? t->max_iters
						: (long)scaled;
	}

	double per[MAX_RUNS], aux[MAX_RUNS], raw[MAX_RUNS];
	double lo = 0, hi = 0;
	for (int r = 0; !rc && r < o->runs; r++) {
		p.aux_ns = 0;
		rc = t->run(iters, &p);
		per[r] = (double)p.ns / (double)iters;
		if (t->run == run_ctxsw) {
			/* a round trip is two switches, two writes, two reads */
			raw[r] = per[r] / 2;
			aux[r] = (double)p.aux_ns / (double)iters;
			per[r] = (per[r] - 2 * aux[r]) / 2;
		}
		if (r == 0 || per[r] < lo)
			lo = per[r];
		if (r == 0 || per[r] > hi)
			hi = per[r];
	}
	set_alarm(0);

	if (rc) {
		printf("ubench: name=%s status=%s reason=%s\n", t->name,
		       rc == -1 ? "unsupported" : "failed", reason);
		return rc;
	}
	printf("ubench: name=%s status=ok iters=%ld runs=%d ns_per_op=%.1f "
	       "min_ns=%.1f max_ns=%.1f",
	       t->name, iters, o->runs, median(per, o->runs), lo, hi);
	if (t->run == run_pipe_bw)
		printf(" MiB_per_s=%.1f",
		       (double)BLOCK / median(per, o->runs) * 1e9 / 1048576.0);
	if (t->run == run_ctxsw)
		printf(" raw_ns_per_switch=%.1f pipe_work_ns=%.1f",
		       median(raw, o->runs), median(aux, o->runs));
	printf("\n");
	return 0;
}

/* The smallest step CLOCK_MONOTONIC shows in 100 tries (0: it never moved). */
static int64_t clock_res(void)
{
	int64_t best = 0;
	for (int i = 0; i < 100; i++) {
		int64_t a = now_ns(), b = a;
		for (long spin = 0; b == a && spin < 10000000; spin++)
			b = now_ns();
		if (b > a && (best == 0 || b - a < best))
			best = b - a;
	}
	return best;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ubench [--quick] [--runs N] [--ms MS] [--timeout S] "
		"[--self PATH] [TEST...]\n"
		"Process micro-benchmarks; prints one 'ubench: name=...' "
		"line per test.\n"
		"  TEST        one of the tests below, or a comma-separated "
		"list (default: all)\n"
		"  --quick     3 runs of 20 ms each (default: 5 runs of 200 "
		"ms)\n"
		"  --runs N    timed passes per test; the median is reported "
		"(1..%d)\n"
		"  --ms MS     target time of one pass\n"
		"  --timeout S alarm per test, 0 = none (default 120)\n"
		"  --self PATH the binary the exec test runs (default "
		"argv[0])\n"
		"  --list      list the tests\n"
		"  --child     exit 0 at once (the exec test's child)\n"
		"tests:\n",
		MAX_RUNS);
	for (int i = 0; i < NTESTS; i++)
		fprintf(f, "  %-9s %s\n", tests[i].name, tests[i].what);
}

static int select_tests(struct opts *o, char *list)
{
	for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		int found = 0;
		for (int i = 0; i < NTESTS; i++) {
			if (strcmp(name, tests[i].name) == 0 ||
			    strcmp(name, "all") == 0) {
				o->selected[i] = 1;
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "ubench: unknown test '%s'\n", name);
			return -1;
		}
	}
	return 0;
}

static int number(const char *opt, const char *arg, int lo, int hi)
{
	char *end;
	long v = arg ? strtol(arg, &end, 10) : 0;
	if (!arg || *end || v < lo || v > hi) {
		fprintf(stderr, "ubench: %s wants a number %d..%d\n", opt, lo,
			hi);
		return -1;
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--child") == 0)
		return 0;

	struct opts o = {.runs = 5, .target_ms = 200, .timeout_s = 120};
	int any = 0;
	self_path = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--list")) {
			for (int t = 0; t < NTESTS; t++)
				printf("%s\n", tests[t].name);
			return 0;
		} else if (!strcmp(a, "--quick")) {
			o.runs = 3;
			o.target_ms = 20;
		} else if (!strcmp(a, "--runs")) {
			if ((o.runs = number(a, next, 1, MAX_RUNS)) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--ms")) {
			if ((o.target_ms = number(a, next, 1, 600000)) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--timeout")) {
			if ((o.timeout_s = number(a, next, 0, 86400)) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--self")) {
			if (!next) {
				fprintf(stderr,
					"ubench: --self wants a path\n");
				return 2;
			}
			self_path = argv[++i];
		} else if (a[0] == '-') {
			fprintf(stderr, "ubench: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			char list[256];
			snprintf(list, sizeof(list), "%s", a);
			if (select_tests(&o, list) < 0)
				return 2;
			any = 1;
		}
	}
	if (!any)
		for (int i = 0; i < NTESTS; i++)
			o.selected[i] = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		unsupported("clock_gettime", errno);
		printf("ubench: start status=unsupported reason=%s\n", reason);
		return 1;
	}
	struct utsname u;
	if (uname(&u) < 0) {
		strcpy(u.sysname, "unknown");
		strcpy(u.release, "unknown");
	}
	for (char *s = u.release; *s; s++)
		if (*s == ' ')
			*s = '_';
	/* SIGALRM's default action would end the run without a word. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	printf("ubench: start os=%s release=%s runs=%d target_ms=%d "
	       "clock_res_ns=%lld\n",
	       u.sysname, u.release, o.runs, o.target_ms,
	       (long long)clock_res());
	int ok = 0, unsup = 0, fail = 0;
	for (int i = 0; i < NTESTS; i++) {
		if (!o.selected[i])
			continue;
		int rc = run_test(&tests[i], &o);
		ok += rc == 0;
		unsup += rc == -1;
		fail += rc == -2;
	}
	printf("ubench: done ok=%d unsupported=%d failed=%d\n", ok, unsup,
	       fail);
	return unsup || fail ? 1 : 0;
}
