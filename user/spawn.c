/*
 * spawn — start N copies of a program from this node, follow where they
 * run and wait for all (issue 8, docs/loadbalancing.md#tools).
 *
 *   spawn [-n N] [--static] PROG [ARG...]
 *
 * In the ARGs the word `%i` becomes the copy's index 0..N-1. Each copy is
 * forked and exec'd here; a close-on-exec pipe tells spawn whether the
 * exec happened (the pipe closes) or failed (the child writes its errno,
 * spawn reports it, and the copy exits 127).
 *
 * --static places copy i once, as PVM does: round robin over the nodes
 * whose /proc/cluster/node/N/status is `up` or `self`, in node order
 * starting with this node, with shoal_migrate() once the copy has exec'd
 * (a process that migrates before its exec comes home again for it).
 * spawn never moves a copy after that; the kernel's policy should be
 * `static` or `off` for a PVM-like run, and spawn leaves it alone.
 *
 * spawn locks itself to this node (/proc/self/lock: it forks, execs and
 * reads /proc here, and a move of its own would only take the balancer's
 * attention from the copies); as the lock is inherited, each copy gets
 * spawn's own earlier lock value back once it has exec'd.
 *
 * Every 250 ms (and whenever a copy ends: SIGCHLD is taken with
 * sigtimedwait) spawn reads /proc/<pid>/where of 8 running copies, in
 * turn (each at least every 1.5 s for 48 copies: an automatic move comes
 * at most every 3 s), and records each change of node. At the end it prints, one line per copy,
 *   spawn: copy I pid P exit S nodes 0>2>1 T.TT s
 * (S is the exit status, 128 + the signal for a copy killed by one; T its
 * run time from its start (its fork; for a batch, the gate's opening) to
 * exit; nodes `-` where /proc/<pid>/where cannot be
 * read, as on Linux), then
 *   spawn: N copies in T.TT s
 * Exit 0 when every copy exited 0, 1 otherwise, 2 for a bad command line.
 */
#define PROG "spawn"
#include "ucommon.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#include "shoal.h"

#define COPIES_MAX 4096
#define HIST_MAX 32 /* nodes remembered per copy */
#define POLL_NS 250000000ll
#define LAUNCH_BATCH 32 /* copies forked before their execs are awaited */
#define POLL_COPIES 8 /* copies whose node is read each POLL_NS */
#define NODES_MAX 256

static const char usage[] =
	"usage: spawn [-n N] [--static] PROG [ARG...]\n"
	"Start N copies (default 1) of PROG from this node, follow the nodes\n"
	"they run on, wait for all and print each copy's exit status, node\n"
	"history and time, and the total time. In ARGs the word %i becomes the\n"
	"copy's index 0..N-1.\n"
	"  -n N      the number of copies (1 to 4096)\n"
	"  --static  place copy i on the i-th node that is up (round robin,\n"
	"            starting with this node) and never move it again; set\n"
	"            /proc/cluster/policy to static or off for such a run\n";

struct copy {
	pid_t pid; /* 0: never started */
	bool running;
	int exit; /* exit status, 128 + signal, or 127 */
	uint64_t start_ns, end_ns;
	int hist[HIST_MAX]; /* nodes in order of visit; -1 unknown */
	int nhist;
	bool hist_cut; /* more moves than HIST_MAX */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A small /proc file's first line as a number; -1 if unreadable. */
static long read_number(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = u_read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int where(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/where", (int)pid);
	return (int)read_number(path);
}

/* Write "0" or "1" to /proc/<pid>/lock (0: self); 0 or -errno. */
static int set_lock(pid_t pid, char value)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/lock", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/lock");
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = u_write_all(fd, &value, 1);
	close(fd);
	return e;
}

static void note_node(struct copy *c, int node)
{
	if (c->nhist > 0 && c->hist[c->nhist - 1] == node)
		return;
	if (node < 0 && c->nhist > 0)
		return; /* gone meanwhile: keep what we saw */
	if (c->nhist == HIST_MAX) {
		c->hist_cut = true;
		return;
	}
	c->hist[c->nhist++] = node;
}

static int by_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/*
 * The nodes to place on: status up or self, in node order starting with
 * this node. Their count, or -1 (reported) when /proc/cluster cannot be
 * read.
 */
static int placement_nodes(int *nodes, int max)
{
	static const char dir[] = "/proc/cluster/node";
	char **names = u_read_names(dir);
	if (!names) {
		u_errno(dir, errno);
		return -1;
	}
	int n = 0, self = -1;
	for (size_t i = 0; names[i] && n < max; i++) {
		char path[128], st[16] = "";
		snprintf(path, sizeof path, "%s/%s/status", dir, names[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* left meanwhile */
		ssize_t r = u_read(fd, st, sizeof st - 1);
		close(fd);
		st[r > 0 ? r : 0] = 0;
		int node = atoi(names[i]);
		if (!strcmp(st, "self\n"))
			self = node;
		if (!strcmp(st, "self\n") || !strcmp(st, "up\n"))
			nodes[n++] = node;
	}
	u_free_names(names);
	if (self < 0) {
		u_err("%s: this node is not listed", dir);
		return -1;
	}
	qsort(nodes, (size_t)n, sizeof *nodes, by_int);
	int at = 0;
	while (nodes[at] != self)
		at++;
	int rot[NODES_MAX];
	for (int i = 0; i < n; i++)
		rot[i] = nodes[(at + i) % n];
	memcpy(nodes, rot, (size_t)n * sizeof *nodes);
	return n;
}

/* argv for copy i: the ARGs with each word "%i" replaced by i. */
static char **copy_argv(char **args, int nargs, int i)
{
	char **v = calloc((size_t)nargs + 1, sizeof *v);
	if (!v)
		return NULL;
	for (int k = 0; k < nargs; k++) {
		if (strcmp(args[k], "%i") == 0) {
			if (asprintf(&v[k], "%d", i) < 0)
				return NULL;
		} else {
			v[k] = args[k];
		}
	}
	return v;
}

/*
 * Fork copy c, which waits at the gate (until its write end gate[1] is
 * closed; gate NULL: no gate) and then execs argv. The read end of its
 * close-on-exec pipe, for confirm_copy; -1 (reported) without a child
 * (c->pid stays 0).
 */
static int launch_copy(struct copy *c, char **argv, const sigset_t *oldmask,
		       const int *gate)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		u_errno("pipe", errno);
		return -1;
	}
	fflush(stdout);
	c->start_ns = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		u_errno("fork", errno);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (gate) {
			char b;
			close(gate[1]);
			while (read(gate[0], &b, 1) < 0 && errno == EINTR)
				;
		}
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		execvp(argv[0], argv);
		int e = errno;
		(void)!write(p[1], &e, sizeof e);
		_exit(127);
	}
	close(p[1]);
	c->pid = pid;
	c->running = true;
	return p[0];
}

/* Wait until copy i has exec'd prog (its pipe closes: 0) or failed to
 * (the child sent its errno and exits 127: -1, reported). */
static int confirm_copy(int i, const char *prog, int rfd)
{
	int e = 0;
	ssize_t r = u_read(rfd, &e, sizeof e);
	close(rfd);
	if (r == (ssize_t)sizeof e) {
		u_err("copy %d: %s: %s", i, prog, strerror(e));
		return -1;
	}
	return 0;
}

/* Reap every copy that has ended; -1 (reported) if none is left to wait
 * for although some have not been seen to end. */
static int reap(struct copy *copies, int n, int *left)
{
	while (*left > 0) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0) {
			u_errno("wait", errno);
			return -1;
		}
		if (pid == 0)
			return 0;
		for (int i = 0; i < n; i++) {
			struct copy *c = &copies[i];
			if (c->pid != pid || !c->running)
				continue;
			c->running = false;
			c->end_ns = now_ns();
			c->exit = WIFEXITED(st) ? WEXITSTATUS(st)
						: 128 + WTERMSIG(st);
			(*left)--;
		}
	}
	return 0;
}

static void print_copy(int i, const struct copy *c)
{
	char nodes[HIST_MAX * 5 + 8] = "-";
	int at = 0;
	for (int k = 0; k < c->nhist; k++) {
		if (c->hist[k] < 0)
			at += snprintf(nodes + at, sizeof nodes - (size_t)at,
				       "%s-", k ? ">" : "");
		else
			at += snprintf(nodes + at, sizeof nodes - (size_t)at,
				       "%s%d", k ? ">" : "", c->hist[k]);
	}
	if (c->hist_cut)
		snprintf(nodes + at, sizeof nodes - (size_t)at, ">...");
	uint64_t t = c->end_ns - c->start_ns;
	if (c->pid)
		printf("spawn: copy %d pid %d exit %d nodes %s %llu.%02llu s\n",
		       i, (int)c->pid, c->exit, nodes,
		       (unsigned long long)(t / 1000000000),
		       (unsigned long long)(t / 10000000 % 100));
	else
		printf("spawn: copy %d pid - exit %d nodes - 0.00 s\n", i,
		       c->exit);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	static const struct option longopts[] = {
		{"static", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long n = 1;
	bool placed = false;
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+n:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': {
			char *end;
			n = strtol(optarg, &end, 10);
			if (!*optarg || *end || n < 1 || n > COPIES_MAX) {
				u_err("invalid number of copies '%s' (1 to %d)",
				      optarg, COPIES_MAX);
				u_usage(usage);
			}
			break;
		}
		case 'S':
			placed = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return u_flush_stdout();
		default:
			if (optopt == 'n') {
				u_err("option requires an argument -- 'n'");
				u_usage(usage);
			}
			if (optopt)
				u_bad_option(optopt, usage);
			u_err("unrecognized option '%s'", argv[optind - 1]);
			u_usage(usage);
		}
	}
	if (optind >= argc) {
		u_err("missing PROG");
		u_usage(usage);
	}
	int nodes[NODES_MAX], nnodes = 0;
	if (placed && (nnodes = placement_nodes(nodes, NODES_MAX)) < 0)
		return 1;
	struct copy *copies = calloc((size_t)n, sizeof *copies);
	if (!copies) {
		u_err("out of memory");
		return 1;
	}
	for (int i = 0; i < n; i++)
		copies[i].exit = 127; /* until it exits */
	/* SIGCHLD is taken with sigtimedwait; the copies get the old mask. An
	 * ignored SIGCHLD would reap the copies before we see them end. */
	signal(SIGCHLD, SIG_DFL);
	sigset_t chld, oldmask;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &oldmask);

	/* Lock ourselves here; no lock file (Linux): nothing to restore. */
	long was = read_number("/proc/self/lock");
	bool locked = was >= 0 && set_lock(0, '1') == 0;

	int nargs = argc - optind, left = 0, rc = 0;
	uint64_t t0 = now_ns();
	/* A batch of copies is forked before any exec is waited for, and
	 * the copies wait at a gate (a pipe whose write end we close) until
	 * the whole batch is forked: copies already running would otherwise
	 * share the CPU with our forks, and the last copy would start
	 * seconds after the first on a node running 32 of them. Placed
	 * copies go one at a time: each leaves as soon as it has exec'd,
	 * before the next starts (a short one could end before its move). */
	int batch = placed ? 1 : LAUNCH_BATCH;
	for (int first = 0; first < n && !rc; first += batch) {
		int rfd[LAUNCH_BATCH], end = first, gate[2];
		bool gated = batch > 1 && pipe2(gate, O_CLOEXEC) == 0;
		while (end < n && end < first + batch) {
			char **cargv = copy_argv(argv + optind, nargs, end);
			if (!cargv) {
				u_err("out of memory");
				rc = 1;
				break;
			}
			rfd[end - first] = launch_copy(&copies[end], cargv,
						       &oldmask,
						       gated ? gate : NULL);
			for (int k = 0; k < nargs; k++)
				if (cargv[k] != argv[optind + k])
					free(cargv[k]);
			free(cargv);
			if (!copies[end].pid) {
				rc = 1;
				break; /* no pipe or fork: the next would fail */
			}
			end++;
			left++;
		}
		if (gated) {
			uint64_t open_ns = now_ns();
			for (int i = first; i < end; i++)
				copies[i].start_ns = open_ns;
			close(gate[1]);
			close(gate[0]);
		}
		for (int i = first; i < end; i++) {
			struct copy *c = &copies[i];
			if (confirm_copy(i, argv[optind], rfd[i - first]) < 0)
				continue;
			if (locked && was == 0)
				set_lock(c->pid, '0');
			note_node(c, where(c->pid));
			int to = placed ? nodes[i % nnodes] : -1;
			if (to >= 0 && to != c->hist[0] &&
			    shoal_migrate((int)c->pid, to) < 0 &&
			    errno != ESRCH)
				u_err("copy %d pid %d: cannot move to node "
				      "%d: %s",
				      i, (int)c->pid, to, strerror(errno));
		}
	}
	uint64_t next = now_ns();
	int cursor = 0;
	while (left > 0) {
		if (reap(copies, (int)n, &left) < 0) {
			rc = 1;
			break;
		}
		uint64_t t = now_ns();
		if (t >= next) {
			/* POLL_COPIES running copies a round, in turn: all
			 * of 48 copies every 250 ms would be 190 /proc reads
			 * a second on the node that runs the copies still at
			 * home. */
			for (int k = 0, seen = 0; k < n && seen < POLL_COPIES;
			     k++) {
				struct copy *c = &copies[cursor];
				cursor = (cursor + 1) % (int)n;
				if (!c->running)
					continue;
				note_node(c, where(c->pid));
				seen++;
			}
			next = t + POLL_NS;
		}
		if (left == 0)
			break;
		uint64_t wait = next > t ? next - t : 0;
		struct timespec ts = {(time_t)(wait / 1000000000),
				      (long)(wait % 1000000000)};
		sigtimedwait(&chld, NULL, &ts);
	}
	uint64_t total = now_ns() - t0;
	for (int i = 0; i < n; i++) {
		print_copy(i, &copies[i]);
		if (copies[i].exit != 0)
			rc = 1;
	}
	printf("spawn: %ld copies in %llu.%02llu s\n", n,
	       (unsigned long long)(total / 1000000000),
	       (unsigned long long)(total / 10000000 % 100));
	free(copies);
	return u_flush_stdout() ? 1 : rc;
}
