/*
 * migtest — small checks for a process that is (or is about to be)
 * migrated, for the tests of issue 7 (docs/migration.md). Each subcommand
 * exercises one kind of system call a migrated process must still get
 * right, prints one "... ok" line, and exits 0; on any failure it prints
 * "migtest: SUBCOMMAND: what failed" on stderr and exits 1 (2 for a bad
 * command line). All of it also runs on Linux.
 *
 *   wait-node N    spin (sched_yield) until /proc/<pid>/where reads N,
 *                  at most 20 s; "on node N"
 *   files DIR      a 100 KiB patterned file in DIR written, read back,
 *                  pread, renamed into a new directory, stat'ed, removed
 *   fork K         K children exit with statuses 1..K, each reaped and
 *                  checked (a child that sees the wrong parent exits 0)
 *   signal         SIGUSR1 to itself reaches its handler with the right
 *                  siginfo; a blocked SIGUSR2 stays pending until unblocked
 *   pipe           a child writes 64 KiB of a pattern into a pipe, the
 *                  parent reads and checks it
 *   exec PROG ARG  execv(PROG, [PROG, ARG...])
 *   spin SECONDS   busy loop, "spin T" after each second; then checks that
 *                  its integer and floating-point running values are what
 *                  the number of steps predicts and that CLOCK_MONOTONIC
 *                  never went backwards; "spin ok"
 *   read-line      one line from standard input: "got: LINE"
 *   tcp PORT       connect to 127.0.0.1:PORT, send "hello", read one line
 *                  back: "tcp ok: LINE"
 *   where          the node it runs on (/proc/<pid>/where): "node N"
 *
 * -n NODE before the subcommand: first migrate itself to NODE (the
 * migrate system call, user/include/shoal.h) and check it arrived.
 *
 * Waits measure time as a sum of small steps (struct watch), so a clock
 * that jumps cannot end them early or make them hang; `spin` also checks
 * that CLOCK_MONOTONIC never goes back (Shoal keeps a moved process on its
 * home's time base).
 */
#define PROG "migtest"
#include "ucommon.h"

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "shoal.h"

#define WAIT_NODE_S 20
#define SIGNAL_WAIT_S 5
#define FILE_BYTES (100 * 1024)
#define PIPE_BYTES (64 * 1024)
#define MAX_FORKS 255 /* statuses 1..K must fit an exit status */
#define MAX_SPIN_S 86400
#define NS_PER_S 1000000000ull
#define MAX_STEP_NS NS_PER_S

static const char usage[] =
	"usage: migtest SUBCOMMAND [ARG...]\n"
	"Checks for a migrated process; each prints a line ending in \"ok\"\n"
	"(wait-node: \"on node N\") and exits 0, or exits 1 on failure.\n"
	"  wait-node N    wait up to 20 s until this process runs on node N\n"
	"  files DIR      write, read, rename, stat and remove files in DIR\n"
	"  fork K         fork K (1..255) children, reap and check them\n"
	"  signal         a signal to itself, and a blocked one\n"
	"  pipe           64 KiB from a child through a pipe\n"
	"  exec PROG ...  execv PROG with the arguments\n"
	"  spin SECONDS   busy loop, printing \"spin T\" every second\n"
	"  read-line      read one line from standard input, print it\n"
	"  tcp PORT       a line to and from 127.0.0.1:PORT\n"
	"  where          print the node this process runs on\n"
	"-n NODE first moves the process to NODE (Shoal only).\n";

/* ------------------------------------------------------------ helpers */

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

static int fail_errno(const char *what, const char *path)
{
	int err = errno;
	return path ? fail("%s %s: %s", what, path, strerror(err))
		    : fail("%s: %s", what, strerror(err));
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

/* Time since watch_start as a sum of steps between readings: a step
 * backwards counts nothing, one forwards at most MAX_STEP_NS. */
struct watch {
	uint64_t last, ns;
};

static void watch_start(struct watch *w)
{
	w->last = now_ns();
	w->ns = 0;
}

static uint64_t clock_back_ns; /* the largest step backwards seen */

static uint64_t watch_read(struct watch *w)
{
	uint64_t t = now_ns();
	if (t < w->last && w->last - t > clock_back_ns)
		clock_back_ns = w->last - t;
	if (t > w->last)
		w->ns += t - w->last < MAX_STEP_NS ? t - w->last : MAX_STEP_NS;
	w->last = t;
	return w->ns;
}

/* The byte at offset i of the files and pipe data. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 10) + 1);
}

/* Read until n bytes or end of file; the count, or -1 with errno. */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = u_read(fd, buf + got, n - got);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* The first offset from base where buf differs from the pattern, or -1. */
static long mismatch(const unsigned char *buf, size_t n, size_t base)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(base + i))
			return (long)(base + i);
	return -1;
}

/* ------------------------------------------------------------ wait-node */

/* /proc/<pid>/where as a number; -1 (reported) if unreadable. */
static long read_where(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail_errno("open", path);
		return -1;
	}
	ssize_t n = read_full(fd, (unsigned char *)buf, sizeof buf - 1);
	int err = errno;
	close(fd);
	if (n < 0) {
		errno = err;
		fail_errno("read", path);
		return -1;
	}
	buf[n] = 0;
	char *end;
	long v = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || v < 0) {
		buf[strcspn(buf, "\n")] = 0;
		fail("%s: unexpected contents '%s'", path, buf);
		return -1;
	}
	return v;
}

static int cmd_wait_node(char **argv)
{
	long want = number(argv[0], 0, INT_MAX);
	char path[64];
	/* Not /proc/self: the pid names the process wherever it runs. */
	snprintf(path, sizeof path, "/proc/%d/where", (int)getpid());
	struct watch w;
	watch_start(&w);
	for (;;) {
		long at = read_where(path);
		if (at < 0)
			return 1;
		if (at == want) {
			printf("on node %ld\n", at);
			return u_flush_stdout();
		}
		if (watch_read(&w) >= WAIT_NODE_S * NS_PER_S)
			return fail("still on node %ld after %d s, not on %ld",
				    at, WAIT_NODE_S, want);
		sched_yield();
	}
}

/* ------------------------------------------------------------ files */

static int files_run(const char *file, const char *dir, const char *moved)
{
	static unsigned char buf[FILE_BYTES];
	for (size_t i = 0; i < FILE_BYTES; i++)
		buf[i] = pattern(i);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail_errno("create", file);
	/* An odd chunk size, so writes straddle block boundaries. */
	for (size_t off = 0; off < FILE_BYTES; off += 7001) {
		size_t n = FILE_BYTES - off < 7001 ? FILE_BYTES - off : 7001;
		int e = u_write_all(fd, buf + off, n);
		if (e) {
			errno = -e;
			fail_errno("write", file);
			close(fd);
			return 1;
		}
	}
	if (close(fd) < 0)
		return fail_errno("close", file);

	memset(buf, 0, sizeof buf);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return fail_errno("open", file);
	ssize_t n = read_full(fd, buf, FILE_BYTES);
	unsigned char extra;
	ssize_t more = n == FILE_BYTES ? u_read(fd, &extra, 1) : 0;
	unsigned char mid[1000];
	ssize_t pn = pread(fd, mid, sizeof mid, 50000);
	int err = errno;
	close(fd);
	errno = err;
	if (n < 0)
		return fail_errno("read", file);
	if (n != FILE_BYTES || more != 0)
		return fail("read %s: %zd bytes%s, expected %d", file, n,
			    more ? " and more" : "", FILE_BYTES);
	long bad = mismatch(buf, FILE_BYTES, 0);
	if (bad >= 0)
		return fail("read %s: wrong byte at offset %ld", file, bad);
	if (pn < 0)
		return fail_errno("pread", file);
	if (pn != sizeof mid || mismatch(mid, sizeof mid, 50000) >= 0)
		return fail("pread %s at 50000: wrong data (%zd bytes)", file,
			    pn);

	if (mkdir(dir, 0755) < 0)
		return fail_errno("mkdir", dir);
	if (rename(file, moved) < 0)
		return fail_errno("rename to", moved);
	struct stat st;
	if (stat(file, &st) == 0 || errno != ENOENT)
		return fail("%s still there after rename", file);
	if (stat(moved, &st) < 0)
		return fail_errno("stat", moved);
	if (!S_ISREG(st.st_mode) || st.st_size != FILE_BYTES ||
	    st.st_nlink != 1)
		return fail("stat %s: mode %o size %lld links %ld, expected a "
			    "file of %d bytes, 1 link",
			    moved, (unsigned)st.st_mode, (long long)st.st_size,
			    (long)st.st_nlink, FILE_BYTES);
	if (unlink(moved) < 0)
		return fail_errno("unlink", moved);
	if (rmdir(dir) < 0)
		return fail_errno("rmdir", dir);
	if (stat(dir, &st) == 0 || errno != ENOENT)
		return fail("%s still there after rmdir", dir);
	return 0;
}

static int cmd_files(char **argv)
{
	char file[PATH_MAX], dir[PATH_MAX], moved[PATH_MAX];
	int pid = (int)getpid();
	if (strlen(argv[0]) > PATH_MAX - 64)
		return fail("%s: %s", argv[0], strerror(ENAMETOOLONG));
	snprintf(file, sizeof file, "%s/migtest.%d.dat", argv[0], pid);
	snprintf(dir, sizeof dir, "%s/migtest.%d.dir", argv[0], pid);
	if (snprintf(moved, sizeof moved, "%s/moved.dat", dir) >=
	    (int)sizeof moved)
		return fail("%s: %s", dir, strerror(ENAMETOOLONG));
	if (files_run(file, dir, moved)) {
		unlink(file); /* whatever it got to */
		unlink(moved);
		rmdir(dir);
		return 1;
	}
	printf("files ok\n");
	return u_flush_stdout();
}

/* ------------------------------------------------------------ fork */

static int cmd_fork(char **argv)
{
	static pid_t pids[MAX_FORKS + 1];
	int k = (int)number(argv[0], 1, MAX_FORKS), made, bad = 0;
	pid_t parent = getpid();
	for (made = 1; made <= k; made++) {
		pid_t p = fork();
		if (p < 0) {
			fail_errno("fork", NULL);
			bad = 1;
			break;
		}
		if (p == 0)
			_exit(getppid() == parent ? made : 0);
		pids[made] = p;
	}
	for (int i = 1; i < made; i++) {
		int st;
		pid_t r;
		while ((r = waitpid(pids[i], &st, 0)) < 0 && errno == EINTR)
			;
		if (r < 0) {
			bad = fail("waitpid %d: %s", (int)pids[i],
				   strerror(errno));
			continue;
		}
		if (r != pids[i])
			bad = fail("waitpid %d gave %d", (int)pids[i], (int)r);
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			bad = fail("child %d (pid %d) saw the wrong parent", i,
				   (int)pids[i]);
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != i)
			bad = fail("child %d (pid %d): wait status %#x, "
				   "expected exit %d",
				   i, (int)pids[i], (unsigned)st, i);
	}
	if (!bad && (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD))
		bad = fail("a child is left after reaping all %d", k);
	if (bad)
		return 1;
	printf("fork ok\n");
	return u_flush_stdout();
}

/* ------------------------------------------------------------ signal */

static volatile sig_atomic_t usr1_seen, usr1_info_ok, usr2_seen;
static pid_t self;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGUSR1) {
		usr1_info_ok = si->si_signo == SIGUSR1 &&
			       si->si_code == SI_USER && si->si_pid == self;
		usr1_seen++;
	} else if (sig == SIGUSR2) {
		usr2_seen++;
	}
}

/* Wait until *flag is set, at most SIGNAL_WAIT_S: a signal sent to
 * oneself arrives before kill returns on Linux, but the tests should
 * see a late one as late rather than lost. */
static int wait_flag(volatile sig_atomic_t *flag)
{
	struct watch w;
	watch_start(&w);
	while (!*flag && watch_read(&w) < SIGNAL_WAIT_S * NS_PER_S)
		sched_yield();
	return *flag != 0;
}

static int cmd_signal(char **argv)
{
	(void)argv;
	self = getpid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0 ||
	    sigaction(SIGUSR2, &sa, NULL) < 0)
		return fail_errno("sigaction", NULL);

	if (kill(self, SIGUSR1) < 0)
		return fail_errno("kill SIGUSR1", NULL);
	if (!wait_flag(&usr1_seen))
		return fail("SIGUSR1 handler did not run within %d s",
			    SIGNAL_WAIT_S);
	if (usr1_seen != 1)
		return fail("SIGUSR1 handler ran %d times", (int)usr1_seen);
	if (!usr1_info_ok)
		return fail("SIGUSR1 siginfo: wrong signo, code or pid");

	sigset_t set, old, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return fail_errno("sigprocmask", NULL);
	if (kill(self, SIGUSR2) < 0)
		return fail_errno("kill SIGUSR2", NULL);
	if (sigpending(&pending) < 0)
		return fail_errno("sigpending", NULL);
	if (usr2_seen)
		return fail("blocked SIGUSR2 was delivered");
	if (!sigismember(&pending, SIGUSR2))
		return fail("blocked SIGUSR2 is not pending");
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0)
		return fail_errno("sigprocmask", NULL);
	if (!wait_flag(&usr2_seen))
		return fail("SIGUSR2 not delivered when unblocked");
	printf("signal ok\n");
	return u_flush_stdout();
}

/* ------------------------------------------------------------ pipe */

static void pipe_child(int fd)
{
	unsigned char buf[1000];
	for (size_t off = 0; off < PIPE_BYTES; off += sizeof buf) {
		size_t n = PIPE_BYTES - off < sizeof buf ? PIPE_BYTES - off
							 : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		if (u_write_all(fd, buf, n))
			_exit(1);
	}
	_exit(0);
}

static int cmd_pipe(char **argv)
{
	(void)argv;
	int fds[2];
	if (pipe(fds) < 0)
		return fail_errno("pipe", NULL);
	pid_t pid = fork();
	if (pid < 0)
		return fail_errno("fork", NULL);
	if (pid == 0) {
		close(fds[0]);
		pipe_child(fds[1]);
	}
	close(fds[1]);
	static unsigned char buf[PIPE_BYTES + 1];
	ssize_t n = read_full(fds[0], buf, sizeof buf);
	int err = errno;
	close(fds[0]);
	int st, bad = 0;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (n < 0) {
		errno = err;
		bad = fail_errno("read", NULL);
	} else if (n != PIPE_BYTES) {
		bad = fail("read %zd bytes, expected %d", n, PIPE_BYTES);
	} else if (mismatch(buf, PIPE_BYTES, 0) >= 0) {
		bad = fail("wrong byte at offset %ld",
			   mismatch(buf, PIPE_BYTES, 0));
	}
	if (r < 0)
		bad = fail_errno("waitpid", NULL);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		bad = fail("writer's wait status %#x", (unsigned)st);
	if (bad)
		return 1;
	printf("pipe ok\n");
	return u_flush_stdout();
}

/* ------------------------------------------------------------ exec */

static int cmd_exec(char **argv)
{
	fflush(stdout);
	execv(argv[0], argv);
	return fail_errno("execv", argv[0]);
}

/* ------------------------------------------------------------ spin */

#define LCG_A 6364136223846793005ull /* Knuth's MMIX */
#define LCG_C 1442695040888963407ull

/* x after n steps of x = A x + C (mod 2^64), in O(log n) steps
 * (F. Brown, "Random number generation with arbitrary strides", 1994). */
static uint64_t lcg_jump(uint64_t x, uint64_t n)
{
	uint64_t a = LCG_A, c = LCG_C, acc_a = 1, acc_c = 0;
	for (; n; n >>= 1) {
		if (n & 1) {
			acc_a *= a;
			acc_c = acc_c * a + c;
		}
		c *= a + 1;
		a *= a;
	}
	return acc_a * x + acc_c;
}

static int cmd_spin(char **argv)
{
	long secs = number(argv[0], 1, MAX_SPIN_S), next = 1;
	const uint64_t seed = 12345;
	uint64_t x = seed, steps = 0;
	double d = 0;
	struct watch w;
	watch_start(&w);
	while (next <= secs) {
		/* Work in registers, integer and SSE, between the clock
		 * reads (system calls on Shoal: where a move can happen). */
		for (int i = 0; i < 4096; i++) {
			x = x * LCG_A + LCG_C;
			d += 1.0;
		}
		steps += 4096;
		uint64_t ns = watch_read(&w);
		for (; next <= secs && ns >= (uint64_t)next * NS_PER_S;
		     next++) {
			printf("spin %ld\n", next);
			if (u_flush_stdout())
				return 1;
		}
	}
	if (x != lcg_jump(seed, steps))
		return fail("integer state wrong after %llu steps",
			    (unsigned long long)steps);
	if (d != (double)steps)
		return fail("floating-point state %.0f after %llu steps", d,
			    (unsigned long long)steps);
	/* Shoal keeps a moved process on its home's time base. */
	if (clock_back_ns)
		return fail("CLOCK_MONOTONIC went back by %llu ns",
			    (unsigned long long)clock_back_ns);
	printf("spin ok\n");
	return u_flush_stdout();
}

/* ------------------------------------------------------------ more */

static int cmd_read_line(char **argv)
{
	(void)argv;
	char line[256];
	if (!fgets(line, sizeof line, stdin))
		return fail(ferror(stdin) ? "read error: %s" : "end of input%s",
			    ferror(stdin) ? strerror(errno) : "");
	line[strcspn(line, "\n")] = 0;
	printf("got: %s\n", line);
	return u_flush_stdout();
}

static int cmd_tcp(char **argv)
{
	long port = number(argv[0], 1, 65535);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		return fail("connect to port %ld: %s", port, strerror(errno));
	if (write(fd, "hello\n", 6) != 6)
		return fail("write: %s", strerror(errno));
	char line[128];
	size_t n = 0;
	while (n + 1 < sizeof line) {
		ssize_t r = read(fd, line + n, 1);
		if (r < 0)
			return fail("read: %s", strerror(errno));
		if (r == 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	close(fd);
	if (!n)
		return fail("no reply from port %ld", port);
	printf("tcp ok: %s\n", line);
	return u_flush_stdout();
}

static long where_am_i(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/where", (int)getpid());
	return read_where(path);
}

static int cmd_where(char **argv)
{
	(void)argv;
	long at = where_am_i();
	if (at < 0)
		return 1;
	printf("node %ld\n", at);
	return u_flush_stdout();
}

/* -n NODE: move there first. */
static int move_to(const char *arg)
{
	cmd = "-n";
	long node = number(arg, 0, 63);
	if (shoal_migrate(0, (int)node) < 0)
		return fail("migrate to node %ld: %s", node, strerror(errno));
	long at = where_am_i();
	if (at < 0)
		return 1;
	if (at != node)
		return fail("asked for node %ld, runs on %ld", node, at);
	return 0;
}

/* ------------------------------------------------------------ main */

static const struct {
	const char *name;
	int min_args, max_args; /* max -1: any number */
	int (*fn)(char **argv);
} cmds[] = {
	{"wait-node", 1, 1, cmd_wait_node},
	{"files", 1, 1, cmd_files},
	{"fork", 1, 1, cmd_fork},
	{"signal", 0, 0, cmd_signal},
	{"pipe", 0, 0, cmd_pipe},
	{"exec", 1, -1, cmd_exec},
	{"spin", 1, 1, cmd_spin},
	{"read-line", 0, 0, cmd_read_line},
	{"tcp", 1, 1, cmd_tcp},
	{"where", 0, 0, cmd_where},
};

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc < 2) {
		u_err("missing subcommand");
		u_usage(usage);
	}
	if (!strcmp(argv[1], "-n")) {
		if (argc < 4) {
			u_err("-n needs a node and a subcommand");
			u_usage(usage);
		}
		if (move_to(argv[2]))
			return 1;
		argv += 2;
		argc -= 2;
	}
	if (argv[1][0] == '-')
		u_bad_option(argv[1][1] ? argv[1][1] : '-', usage);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		cmd = cmds[i].name;
		int nargs = argc - 2;
		if (nargs < cmds[i].min_args ||
		    (cmds[i].max_args >= 0 && nargs > cmds[i].max_args)) {
			u_err("%s: %s", cmd,
			      nargs < cmds[i].min_args ? "missing argument"
						       : "too many arguments");
			u_usage(usage);
		}
		return cmds[i].fn(argv + 2);
	}
	u_err("unknown subcommand '%s'", argv[1]);
	u_usage(usage);
	return 2;
}
