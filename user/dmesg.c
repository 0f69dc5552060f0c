/*
 * dmesg — print the kernel's log buffer: syslog(2) action 10
 * (SYSLOG_ACTION_SIZE_BUFFER) for its size, then action 3
 * (SYSLOG_ACTION_READ_ALL), which reads without clearing.
 */
#define PROG "dmesg"
#include "ucommon.h"
#include <sys/klog.h>

#define ACTION_READ_ALL 3
#define ACTION_SIZE_BUFFER 10
#define FALLBACK_SIZE (1 << 16)

static const char usage[] = "usage: dmesg\n"
			    "Print the kernel log buffer.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc > 1) {
		u_err("unexpected argument '%s'", argv[1]);
		u_usage(usage);
	}
	int size = klogctl(ACTION_SIZE_BUFFER, NULL, 0);
	if (size < 0 && errno != EINVAL) {
		u_errno("cannot read kernel log", errno);
		return 1;
	}
	if (size <= 0)
		size = FALLBACK_SIZE;
	char *buf = malloc((size_t)size + 1);
	if (!buf) {
		u_errno("cannot read kernel log", ENOMEM);
		return 1;
	}
	int n = klogctl(ACTION_READ_ALL, buf, size);
	if (n < 0) {
		u_errno("cannot read kernel log", errno);
		free(buf);
		return 1;
	}
	if (n > 0 && buf[n - 1] != '\n')
		buf[n++] = '\n';
	/* Drop the "<level>" prefix Linux puts at the start of each line. */
	size_t out = 0;
	for (int i = 0; i < n;) {
		int j = i;
		if (buf[j] == '<') {
			while (++j < n && buf[j] >= '0' && buf[j] <= '9')
				;
			i = (j < n && buf[j] == '>' && j > i + 1) ? j + 1 : i;
		}
		while (i < n && buf[i] != '\n')
			buf[out++] = buf[i++];
		if (i < n)
			buf[out++] = buf[i++];
	}
	int e = u_write_all(1, buf, out);
	free(buf);
	if (e) {
		u_errno("write error", -e);
		return 1;
	}
	return 0;
}
