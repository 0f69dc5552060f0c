/*
 * mon — MOSIX's load monitor on Shoal (issue 8 item 6,
 * docs/loadbalancing.md#tools): one row per known node with its status, a
 * bar of its load, speed, free memory and processes, then the last
 * migrations that left this node; redrawn every second until `q`.
 *
 *   mon          full screen, redrawn every second; q quits
 *   mon --once   one frame on stdout, no escape sequences (scripts, tests)
 *
 * What it reads: /proc/cluster/node/N/{status,load,speed,mem,procs} (one
 * value each, "-" when unknown; load 100 = one always-running process),
 * /proc/cluster/policy, the "move MS PID NAME FROM TO REASON" lines of
 * /proc/cluster/balance, /proc/uptime and the clock.
 *
 * The screen is an 80×24 serial console: a frame is at most 24 lines of
 * at most 79 columns (rows that do not fit are summed up in one line), so
 * nothing wraps or scrolls, and the only escape sequences are VT100's
 * cursor home and erase screen. The last line has no newline, so the
 * cursor never scrolls the frame up. The terminal is put in non-canonical
 * no-echo mode so a single q is read at once; it is restored on q, on
 * ^C, SIGTERM and SIGHUP, and when reading a frame's files fails.
 */
#define PROG "mon"
#include "ucommon.h"

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <termios.h>
#include <time.h>

#define ROWS 24
#define COLS 80 /* a line holds at most COLS - 1 characters */
#define BAR 32 /* the load bar's width */
#define BAR_LOAD 400 /* the load that fills it: 4 processes */
#define BAR_UNIT "8 #" /* BAR * 100 / BAR_LOAD characters: one process */
#define NODES_MAX 256
#define MOVES_MAX 16

static const char usage[] =
	"usage: mon [--once]\n"
	"Show the cluster's nodes (status, load bar, speed, free memory,\n"
	"processes) and the last migrations from this node, redrawn every\n"
	"second; q quits. --once prints one frame and exits.\n";

static const char clusterdir[] = "/proc/cluster";
static const char nodedir[] = "/proc/cluster/node";

struct frame {
	char line[ROWS][COLS];
	int n;
};

static void add(struct frame *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line, cut at COLS - 1 characters; nothing past ROWS lines. */
static void add(struct frame *f, const char *fmt, ...)
{
	if (f->n >= ROWS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->line[f->n], COLS, fmt, ap);
	va_end(ap);
	f->line[f->n][strcspn(f->line[f->n], "\n")] = 0;
	f->n++;
}

/* A small file's text (NUL-terminated, trailing newline removed) in buf;
 * "-" and -1 if it cannot be read. */
static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = -1;
	if (fd >= 0) {
		size_t at = 0;
		ssize_t r;
		while (at + 1 < size &&
		       (r = u_read(fd, buf + at, size - 1 - at)) > 0)
			at += (size_t)r;
		len = (ssize_t)at;
		close(fd);
	}
	if (len < 0) {
		snprintf(buf, size, "-");
		return -1;
	}
	buf[len] = 0;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = 0;
	return 0;
}

struct node {
	int id;
	char status[8];
	long load, speed, procs; /* -1 unknown */
	long long mem;
};

static long long node_value(int id, const char *what, char *text, size_t size)
{
	char path[96];
	snprintf(path, sizeof path, "%s/%d/%s", nodedir, id, what);
	if (read_text(path, text, size) < 0 || text[0] < '0' || text[0] > '9')
		return -1;
	return strtoll(text, NULL, 10);
}

static int by_id(const void *a, const void *b)
{
	int x = ((const struct node *)a)->id, y = ((const struct node *)b)->id;
	return (x > y) - (x < y);
}

/* The nodes known here, by number; their count, or -1 with errno. */
static int read_nodes(struct node *nodes, int max)
{
	char **names = u_read_names(nodedir);
	if (!names)
		return -1;
	int n = 0;
	for (size_t i = 0; names[i] && n < max; i++) {
		struct node *nd = &nodes[n];
		char text[32];
		if (names[i][0] < '0' || names[i][0] > '9')
			continue;
		nd->id = atoi(names[i]);
		node_value(nd->id, "status", text, sizeof text);
		snprintf(nd->status, sizeof nd->status, "%.7s", text);
		nd->load = (long)node_value(nd->id, "load", text, sizeof text);
		nd->speed =
			(long)node_value(nd->id, "speed", text, sizeof text);
		nd->mem = node_value(nd->id, "mem", text, sizeof text);
		nd->procs =
			(long)node_value(nd->id, "procs", text, sizeof text);
		n++;
	}
	u_free_names(names);
	qsort(nodes, (size_t)n, sizeof *nodes, by_id);
	return n;
}

struct move {
	unsigned long ms;
	int pid;
	char name[17];
	unsigned from, to;
	char reason[12];
};

/* The move lines of /proc/cluster/balance, oldest first; their count. */
static int read_moves(struct move *moves, int max)
{
	static char buf[8192];
	char path[64];
	snprintf(path, sizeof path, "%s/balance", clusterdir);
	if (read_text(path, buf, sizeof buf) < 0)
		return 0;
	int n = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		struct move m;
		/* The name is the kernel's 16-byte comm: one word. */
		if (n < max &&
		    sscanf(line, "move %lu %d %16s %u %u %11s", &m.ms, &m.pid,
			   m.name, &m.from, &m.to, m.reason) == 6)
			moves[n++] = m;
	}
	return n;
}

static void format_clock(unsigned long secs, char *buf, size_t size)
{
	snprintf(buf, size, "%lu:%02lu:%02lu", secs / 3600, secs / 60 % 60,
		 secs % 60);
}

static void node_row(struct frame *f, const struct node *nd)
{
	char bar[BAR + 1], load[24] = "-", speed[24] = "-", mem[24] = "-",
			   procs[24] = "-";
	int fill = 0;
	if (nd->load >= 0) {
		fill = nd->load >= BAR_LOAD ? BAR
					    : (int)(nd->load * BAR / BAR_LOAD);
		snprintf(load, sizeof load, "%ld.%02ld", nd->load / 100,
			 nd->load % 100);
	}
	for (int i = 0; i < BAR; i++)
		bar[i] = i < fill ? '#' : '.';
	if (nd->load > BAR_LOAD)
		bar[BAR - 1] = '>'; /* more than the bar holds */
	bar[BAR] = 0;
	if (nd->speed >= 0)
		snprintf(speed, sizeof speed, "%ld", nd->speed);
	if (nd->mem >= 0)
		snprintf(mem, sizeof mem, "%lld", nd->mem >> 20);
	if (nd->procs >= 0)
		snprintf(procs, sizeof procs, "%ld", nd->procs);
	add(f, "%4d %-6s [%s] %6s %6s %8s %5s", nd->id, nd->status, bar, load,
	    speed, mem, procs);
}

/* One frame; -1 with errno if /proc/cluster cannot be read. */
static int build(struct frame *f)
{
	static struct node nodes[NODES_MAX];
	struct move moves[MOVES_MAX];
	int nn = read_nodes(nodes, NODES_MAX);
	if (nn < 0)
		return -1;
	int nm = read_moves(moves, MOVES_MAX);
	char policy[16], up[32] = "-", clock[16] = "-", text[64];
	char path[64];
	snprintf(path, sizeof path, "%s/policy", clusterdir);
	read_text(path, policy, sizeof policy);
	unsigned long now_ms = 0;
	if (read_text("/proc/uptime", text, sizeof text) == 0) {
		now_ms = (unsigned long)(strtod(text, NULL) * 1000);
		format_clock(now_ms / 1000, up, sizeof up);
	}
	time_t t = time(NULL);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	int self = -1;
	for (int i = 0; i < nn; i++)
		if (!strcmp(nodes[i].status, "self"))
			self = nodes[i].id;

	f->n = 0;
	char me[16] = "?";
	if (self >= 0)
		snprintf(me, sizeof me, "%d", self);
	add(f, "mon: node %s, policy %s, %s UTC, up %s", me, policy, clock, up);
	add(f, "NODE STATUS %-*s %6s %6s %8s %5s", BAR + 2,
	    "LOAD (" BAR_UNIT " = 1 process)", "LOAD", "SPEED", "MiB FREE",
	    "PROCS");
	/* Nodes first; what does not fit in the rows left for them is one
	 * summary line. */
	int room = ROWS - f->n;
	int shown = nn <= room ? nn : room - 1;
	for (int i = 0; i < shown; i++)
		node_row(f, &nodes[i]);
	if (shown < nn)
		add(f, "... and %d more nodes", nn - shown);
	/* Then the migrations, newest first, as many as fit. */
	room = ROWS - f->n;
	if (room < 3)
		return 0;
	add(f, "Last migrations from node %s, newest first:", me);
	add(f, "%8s %6s %-16s %4s    %-3s %s", "UPTIME", "PID", "NAME", "FROM",
	    "TO", "REASON");
	if (nm == 0)
		add(f, "  (none)");
	for (int i = nm - 1; i >= 0 && f->n < ROWS; i--) {
		const struct move *m = &moves[i];
		char when[24];
		format_clock(m->ms / 1000, when, sizeof when);
		add(f, "%8s %6d %-16s %4u -> %-3u %s", when, m->pid, m->name,
		    m->from, m->to, m->reason);
	}
	return 0;
}

/* Interactive frames: home, erase, the lines; no newline after the last. */
static int draw(const struct frame *f, bool once)
{
	char out[ROWS * (COLS + 1) + 16];
	size_t at = 0;
	if (!once) {
		memcpy(out, "\033[H\033[2J", 7);
		at = 7;
	}
	for (int i = 0; i < f->n; i++) {
		size_t len = strlen(f->line[i]);
		memcpy(out + at, f->line[i], len);
		at += len;
		if (once || i + 1 < f->n)
			out[at++] = '\n';
	}
	return u_write_all(STDOUT_FILENO, out, at);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	bool once = false;
	if (argc == 2 && strcmp(argv[1], "--once") == 0) {
		once = true;
	} else if (argc > 1) {
		if (argv[1][0] == '-' && argv[1][1] && argv[1][1] != '-')
			u_bad_option(argv[1][1], usage);
		u_err("unsupported argument '%s'", argv[1]);
		u_usage(usage);
	}
	struct frame f;
	if (once) {
		if (build(&f) < 0) {
			u_errno(nodedir, errno);
			return 1;
		}
		int e = draw(&f, true);
		if (e)
			u_errno("write error", -e);
		return e ? 1 : 0;
	}

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct termios saved;
	bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		struct termios raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	int rc = 0;
	bool input = true; /* stdin still open */
	while (!stop) {
		if (build(&f) < 0) {
			u_errno(nodedir, errno);
			rc = 1;
			break;
		}
		if (draw(&f, false) < 0) {
			rc = 1;
			break;
		}
		/* Wait a second, or less if q comes. */
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long left_ms = 1000;
		while (!stop && left_ms > 0) {
			struct pollfd p = {STDIN_FILENO, POLLIN, 0};
			int r = poll(&p, input ? 1 : 0, (int)left_ms);
			char c;
			if (r > 0 && u_read(STDIN_FILENO, &c, 1) == 1) {
				if (c == 'q' || c == 'Q')
					stop = -1;
			} else if (r > 0) {
				input = false; /* end of file or error */
			}
			clock_gettime(CLOCK_MONOTONIC, &t);
			left_ms = 1000 -
				  (long)((t.tv_sec - t0.tv_sec) * 1000 +
					 (t.tv_nsec - t0.tv_nsec) / 1000000);
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (stop != 0)
		(void)!write(STDOUT_FILENO, "\n", 1);
	return rc;
}
