/*
 * ps — one line per process, sorted by pid:
 *   PID PPID STATE NODE TIME CMD
 * from /proc/<pid>/stat (Linux proc(5) format: pid (comm) state ppid ...
 * utime stime as fields 14 and 15, in clock ticks of 100 Hz),
 * /proc/<pid>/status (Shoal's "Node:\t<N>" line: the node the process runs
 * on; "-" where there is none, as on Linux) and /proc/<pid>/cmdline
 * (NUL-separated arguments; "[comm]" when empty, as for kernel threads).
 * TIME is user+system CPU time as MM:SS. A process that exits while we
 * read it is left out. -e and -A are accepted: all processes are always
 * shown.
 */
#define PROG "ps"
#include "ucommon.h"
#include <ctype.h>

#define CLK_TCK 100 /* the unit of utime and stime */

static const char usage[] =
	"usage: ps [-eA]\n"
	"List processes: PID PPID STATE NODE TIME CMD (all processes).\n";

/* Read a small /proc file into buf (NUL-terminated); length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t r = u_read(fd, buf + len, size - 1 - len);
		if (r < 0) {
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

struct proc {
	long pid, ppid;
	char state;
	unsigned long long ticks;
	char comm[64];
	char node[16];
};

/* Parse /proc/<pid>/stat; the comm may hold spaces and parentheses, so
 * fields are counted from the last ')'. 0 or -1 if malformed. */
static int parse_stat(char *s, struct proc *p)
{
	char *open_paren = strchr(s, '('), *close = strrchr(s, ')');
	if (!open_paren || !close || close < open_paren)
		return -1;
	p->pid = strtol(s, NULL, 10);
	size_t n = (size_t)(close - open_paren - 1);
	if (n >= sizeof p->comm)
		n = sizeof p->comm - 1;
	memcpy(p->comm, open_paren + 1, n);
	p->comm[n] = 0;
	/* Field 3 (state) is the first after ')'; 14 and 15 are utime and
	 * stime. */
	char *f = close + 1;
	unsigned long long ut = 0, st = 0;
	for (int field = 3; field <= 15; field++) {
		while (*f == ' ')
			f++;
		if (!*f)
			return -1;
		if (field == 3)
			p->state = *f;
		else if (field == 4)
			p->ppid = strtol(f, NULL, 10);
		else if (field == 14)
			ut = strtoull(f, NULL, 10);
		else if (field == 15)
			st = strtoull(f, NULL, 10);
		while (*f && *f != ' ')
			f++;
	}
	p->ticks = ut + st;
	return 0;
}

static void read_node(long pid, char *node, size_t size)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	snprintf(node, size, "-");
	if (read_small(path, buf, sizeof buf) < 0)
		return;
	for (char *line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, "Node:", 5) != 0)
			continue;
		line += 5;
		while (*line == ' ' || *line == '\t')
			line++;
		size_t n = strcspn(line, " \t\n");
		if (n > 0 && n < size)
			snprintf(node, size, "%.*s", (int)n, line);
		return;
	}
}

static void print_proc(const struct proc *p)
{
	char path[64], cmd[4096];
	snprintf(path, sizeof path, "/proc/%ld/cmdline", p->pid);
	ssize_t len = read_small(path, cmd, sizeof cmd);
	while (len > 0 && cmd[len - 1] == 0)
		len--;
	for (ssize_t i = 0; i < len; i++) {
		if (cmd[i] == 0 || cmd[i] == '\n')
			cmd[i] = ' ';
	}
	if (len <= 0)
		snprintf(cmd, sizeof cmd, "[%s]", p->comm);
	else
		cmd[len] = 0;
	unsigned long long secs = p->ticks / CLK_TCK;
	printf("%5ld %5ld %-5c %4s %5llu:%02llu %s\n", p->pid, p->ppid,
	       p->state, p->node, secs / 60, secs % 60, cmd);
}

static int by_pid(const void *a, const void *b)
{
	long x = ((const struct proc *)a)->pid;
	long y = ((const struct proc *)b)->pid;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-e") != 0 && strcmp(argv[i], "-A") != 0) {
			u_err("unsupported argument '%s'", argv[i]);
			u_usage(usage);
		}
	}
	DIR *d = opendir("/proc");
	if (!d) {
		u_errno("/proc", errno);
		return 1;
	}
	size_t n = 0, cap = 64;
	struct proc *procs = malloc(cap * sizeof *procs);
	struct dirent *de;
	while (procs && (de = readdir(d)) != NULL) {
		char *end, path[64], buf[1024];
		long pid = strtol(de->d_name, &end, 10);
		if (!isdigit((unsigned char)de->d_name[0]) || *end)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if (read_small(path, buf, sizeof buf) <= 0)
			continue; /* exited meanwhile */
		if (n == cap) {
			struct proc *np =
				realloc(procs, (cap *= 2) * sizeof *np);
			if (!np)
				break;
			procs = np;
		}
		if (parse_stat(buf, &procs[n]) < 0)
			continue;
		read_node(procs[n].pid, procs[n].node, sizeof procs[n].node);
		n++;
	}
	closedir(d);
	if (!procs) {
		u_err("out of memory");
		return 1;
	}
	qsort(procs, n, sizeof *procs, by_pid);
	printf("%5s %5s %-5s %4s %8s %s\n", "PID", "PPID", "STATE", "NODE",
	       "TIME", "CMD");
	for (size_t i = 0; i < n; i++)
		print_proc(&procs[i]);
	free(procs);
	return u_flush_stdout();
}
