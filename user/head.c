/*
 * head — print the first N lines (default 10) of each FILE or stdin.
 * Reads only as far as it must; with several files each is preceded by
 * "==> NAME <==". `-N` is accepted for `-n N`.
 */
#define PROG "head"
#include "ucommon.h"

static const char usage[] = "usage: head [-n N] [FILE...]\n"
			    "Print the first N (default 10) lines of each FILE "
			    "(- or none: stdin).\n";

static int parse_count(const char *s, unsigned long long *n)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*n = strtoull(s, &end, 10);
	return (*end || errno) ? -1 : 0;
}

/* Copy lines up to the n-th newline of fd to stdout; 0 or 1 on error. */
static int head_fd(int fd, const char *name, unsigned long long n)
{
	static char buf[U_BUFSIZE];
	while (n > 0) {
		ssize_t r = u_read(fd, buf, sizeof buf);
		if (r < 0) {
			u_errno(name, (int)-r);
			return 1;
		}
		if (r == 0)
			break;
		size_t len = 0;
		while (len < (size_t)r && n > 0) {
			char *nl = memchr(buf + len, '\n', (size_t)r - len);
			if (!nl) {
				len = (size_t)r;
				break;
			}
			len = (size_t)(nl - buf) + 1;
			n--;
		}
		int e = u_write_all(1, buf, len);
		if (e) {
			u_errno("write error", -e);
			exit(1);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	unsigned long long n = 10;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		const char *num = u_count_option(argc, argv, &i, usage);
		if (parse_count(num, &n) < 0) {
			u_err("invalid number of lines: '%s'", num);
			u_usage(usage);
		}
	}
	int nfiles = argc - i, rc = 0;
	if (nfiles == 0)
		return head_fd(0, "stdin", n);
	for (int k = i; k < argc; k++) {
		const char *name = argv[k];
		int fd = 0;
		if (strcmp(name, "-") != 0 &&
		    (fd = open(name, O_RDONLY | O_CLOEXEC)) < 0) {
			u_errno(name, errno);
			rc = 1;
			continue;
		}
		if (nfiles > 1) {
			char hdr[PATH_MAX + 16];
			int len = snprintf(hdr, sizeof hdr, "%s==> %s <==\n",
					   k > i ? "\n" : "", name);
			if (len >= (int)sizeof hdr)
				len = (int)sizeof hdr - 1;
			int e = u_write_all(1, hdr, (size_t)len);
			if (e) {
				u_errno("write error", -e);
				exit(1);
			}
		}
		rc |= head_fd(fd, fd ? name : "stdin", n);
		if (fd)
			close(fd);
	}
	return rc;
}
