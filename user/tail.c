/*
 * tail — print the last N lines (default 10) of each FILE or stdin, or
 * with `-n +N` everything from line N on. A regular file is read
 * backwards from its end in growing chunks; a pipe (or a /proc file,
 * whose size says 0) is read to its end keeping only a buffer trimmed to
 * the last N lines, so memory stays proportional to the output, not the
 * input. A last line without a newline counts as a line.
 */
#define PROG "tail"
#include "ucommon.h"

static const char usage[] =
	"usage: tail [-n [+]N] [FILE...]\n"
	"Print the last N (default 10) lines of each FILE (- or none: stdin);\n"
	"with +N, print from line N on.\n";

static void write_or_die(const char *p, size_t n)
{
	int e = u_write_all(1, p, n);
	if (e) {
		u_errno("write error", -e);
		exit(1);
	}
}

/*
 * Offset in buf[0, len) where the last n lines start, or -1 if buf holds
 * fewer than n complete line starts (the caller then needs earlier data).
 */
static ssize_t last_lines(const char *buf, size_t len, unsigned long long n)
{
	if (n == 0)
		return (ssize_t)len;
	size_t i = len;
	if (i > 0 && buf[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (buf[i - 1] == '\n' && --n == 0)
			return (ssize_t)i;
		i--;
	}
	return -1;
}

static int tail_seekable(int fd, const char *name, off_t size,
			 unsigned long long n)
{
	size_t chunk = U_BUFSIZE;
	for (;;) {
		off_t start = size > (off_t)chunk ? size - (off_t)chunk : 0;
		size_t len = (size_t)(size - start);
		char *buf = malloc(len ? len : 1);
		if (!buf) {
			u_errno(name, ENOMEM);
			return 1;
		}
		size_t got = 0;
		while (got < len) {
			ssize_t r = pread(fd, buf + got, len - got,
					  start + (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r < 0)
					u_errno(name, errno);
				free(buf);
				return r < 0;
			}
			got += (size_t)r;
		}
		ssize_t at = last_lines(buf, len, n);
		if (at >= 0 || start == 0) {
			if (at < 0)
				at = 0;
			write_or_die(buf + at, len - (size_t)at);
			free(buf);
			return 0;
		}
		free(buf);
		chunk *= 2;
	}
}

static int tail_stream(int fd, const char *name, unsigned long long n)
{
	size_t cap = 2 * U_BUFSIZE, len = 0, trim_at = U_BUFSIZE;
	char *buf = malloc(cap);
	if (!buf) {
		u_errno(name, ENOMEM);
		return 1;
	}
	for (;;) {
		if (cap - len < U_BUFSIZE) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				u_errno(name, ENOMEM);
				free(buf);
				return 1;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = u_read(fd, buf + len, cap - len);
		if (r < 0) {
			u_errno(name, (int)-r);
			free(buf);
			return 1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= trim_at) {
			/* Drop what can no longer be output; trim again once
			 * the buffer has doubled, so trimming costs O(input). */
			ssize_t at = last_lines(buf, len, n);
			if (at > 0) {
				memmove(buf, buf + at, len - (size_t)at);
				len -= (size_t)at;
			}
			trim_at = 2 * len > U_BUFSIZE ? 2 * len : U_BUFSIZE;
		}
	}
	ssize_t at = last_lines(buf, len, n);
	if (at < 0)
		at = 0;
	write_or_die(buf + at, len - (size_t)at);
	free(buf);
	return 0;
}

/* tail -n +N: skip N-1 lines, copy the rest. */
static int tail_from(int fd, const char *name, unsigned long long skip)
{
	static char buf[U_BUFSIZE];
	for (;;) {
		ssize_t r = u_read(fd, buf, sizeof buf);
		if (r < 0) {
			u_errno(name, (int)-r);
			return 1;
		}
		if (r == 0)
			return 0;
		size_t at = 0;
		while (skip > 0 && at < (size_t)r) {
			char *nl = memchr(buf + at, '\n', (size_t)r - at);
			if (!nl) {
				at = (size_t)r;
				break;
			}
			at = (size_t)(nl - buf) + 1;
			skip--;
		}
		write_or_die(buf + at, (size_t)r - at);
	}
}

static int tail_fd(int fd, const char *name, unsigned long long n, int from)
{
	struct stat st;
	if (from)
		return tail_from(fd, name, n ? n - 1 : 0);
	/* /proc files say size 0 but have contents: stream those. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    lseek(fd, 0, SEEK_CUR) == 0)
		return tail_seekable(fd, name, st.st_size, n);
	return tail_stream(fd, name, n);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	unsigned long long n = 10;
	int from = 0, i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		const char *num = u_count_option(argc, argv, &i, usage);
		from = *num == '+';
		const char *digits = num + from;
		char *end;
		errno = 0;
		n = strtoull(digits, &end, 10);
		if (*digits < '0' || *digits > '9' || *end || errno) {
			u_err("invalid number of lines: '%s'", num);
			u_usage(usage);
		}
	}
	int nfiles = argc - i, rc = 0;
	if (nfiles == 0)
		return tail_fd(0, "stdin", n, from);
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
			const char *pre = k > i ? "\n==> " : "==> ";
			write_or_die(pre, strlen(pre));
			write_or_die(name, strlen(name));
			write_or_die(" <==\n", 5);
		}
		rc |= tail_fd(fd, fd ? name : "stdin", n, from);
		if (fd)
			close(fd);
	}
	return rc;
}
