/*
 * cat — copy each FILE (or stdin for `-` or no argument) to stdout.
 * Streams through a 64 KiB buffer; a file that fails is reported and the
 * rest are still copied (exit 1 at the end).
 */
#define PROG "cat"
#include "ucommon.h"

static const char usage[] = "usage: cat [FILE...]\n"
			    "Concatenate FILEs (- or none: stdin) to stdout.\n";

static int cat_one(const char *name)
{
	int fd = 0;
	if (strcmp(name, "-") != 0) {
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			u_errno(name, errno);
			return 1;
		}
	}
	int r = u_copy_fd(fd, 1);
	if (r == U_EREAD)
		u_errno(fd ? name : "stdin", errno);
	else if (r == U_EWRITE)
		u_errno("write error", errno);
	if (fd)
		close(fd);
	if (r == U_EWRITE)
		exit(1);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int i = 1, rc = 0;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	else if (i < argc && argv[i][0] == '-' && argv[i][1]) {
		u_err("invalid option '%s'", argv[i]);
		u_usage(usage);
	}
	if (i == argc)
		return cat_one("-");
	for (; i < argc; i++)
		rc |= cat_one(argv[i]);
	return rc;
}
