/*
 * migrate — move a process to another node (issue 7, docs/migration.md).
 *
 *   migrate PID NODE     move process PID to node NODE (a number)
 *   migrate PID home     bring it back to its home node
 *
 * The shoal_migrate system call (501, user/include/shoal.h) does the work;
 * this program only checks its arguments and reports the answer. Success
 * is silent. A failure prints "migrate: PID: strerror", and when the
 * process cannot move (EBUSY) a second line with the reason the kernel
 * gives in /proc/PID/cantmove. Exit 0 when moved, 1 on failure, 2 for a
 * bad command line. On Linux the call fails with ENOSYS.
 */
#define PROG "migrate"
#include "ucommon.h"

#include "shoal.h"

#define NODE_HOME (-1)

static const char usage[] =
	"usage: migrate PID NODE|home\n"
	"Move process PID to node NODE (a number), or back to its home node.\n"
	"Prints nothing when the process has moved; on EBUSY, the reason\n"
	"from /proc/PID/cantmove.\n";

/* A decimal number of digits only, at most max; -1 otherwise. */
static long parse_number(const char *s, long max)
{
	if (!*s)
		return -1;
	long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* /proc/PID/cantmove without its newline, in buf; "" if unreadable. */
static void read_cantmove(long pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/cantmove", pid);
	buf[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = u_read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc > 1 && argv[1][0] == '-' && argv[1][1] &&
	    !(argv[1][1] >= '0' && argv[1][1] <= '9'))
		u_bad_option(argv[1][1], usage);
	if (argc != 3) {
		if (argc == 1)
			u_err("missing process id");
		else if (argc == 2)
			u_err("missing node after '%s'", argv[1]);
		else
			u_err("extra operand '%s'", argv[3]);
		u_usage(usage);
	}
	long pid = parse_number(argv[1], INT_MAX);
	if (pid <= 0) {
		u_err("invalid process id '%s'", argv[1]);
		u_usage(usage);
	}
	long node = NODE_HOME;
	if (strcmp(argv[2], "home") != 0 &&
	    (node = parse_number(argv[2], INT_MAX)) < 0) {
		u_err("invalid node '%s' (a number, or home)", argv[2]);
		u_usage(usage);
	}
	if (shoal_migrate((int)pid, (int)node) == 0)
		return 0;
	int err = errno;
	u_errno(argv[1], err);
	if (err == EBUSY) {
		char why[256];
		read_cantmove(pid, why, sizeof why);
		if (why[0])
			u_err("%s: cannot move: %s", argv[1], why);
	}
	return 1;
}
