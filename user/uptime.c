/*
 * uptime — how long the node has been up and how many processes run:
 *   up [D day(s), ]H:MM:SS, N processes
 * from /proc/uptime (seconds since boot, first field) and the numeric
 * directories of /proc.
 */
#define PROG "uptime"
#include "ucommon.h"
#include <ctype.h>

static const char usage[] = "usage: uptime\n"
			    "Print the time since boot and the number of "
			    "processes.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc > 1) {
		u_err("unexpected argument '%s'", argv[1]);
		u_usage(usage);
	}
	char buf[128];
	int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		u_errno("/proc/uptime", errno);
		return 1;
	}
	ssize_t n = u_read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		u_errno("/proc/uptime", (int)-n);
		return 1;
	}
	buf[n] = 0;
	char *end;
	unsigned long long secs = strtoull(buf, &end, 10);
	if (end == buf) {
		u_err("/proc/uptime: unexpected contents");
		return 1;
	}
	DIR *d = opendir("/proc");
	if (!d) {
		u_errno("/proc", errno);
		return 1;
	}
	unsigned long procs = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		while (isdigit((unsigned char)*s))
			s++;
		procs += s != de->d_name && !*s;
	}
	closedir(d);
	unsigned long long days = secs / 86400;
	fputs("up ", stdout);
	if (days)
		printf("%llu day%s, ", days, days == 1 ? "" : "s");
	printf("%llu:%02llu:%02llu, %lu process%s\n", secs / 3600 % 24,
	       secs / 60 % 60, secs % 60, procs, procs == 1 ? "" : "es");
	return u_flush_stdout();
}
