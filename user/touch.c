/*
 * touch — set each FILE's access and modification times to now
 * (utimensat(2)), creating it empty if missing unless -c is given.
 */
#define PROG "touch"
#include "ucommon.h"

static const char usage[] = "usage: touch [-c] FILE...\n"
			    "Update FILE times to now, creating missing files "
			    "(-c: don't create).\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, create = 1, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "c")) != -1) {
		if (opt != 'c')
			u_bad_option(optopt, usage);
		create = 0;
	}
	if (optind >= argc) {
		u_err("missing file operand");
		u_usage(usage);
	}
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		if (utimensat(AT_FDCWD, path, NULL, 0) == 0)
			continue;
		if (errno != ENOENT) {
			u_errno(path, errno);
			rc = 1;
			continue;
		}
		if (!create)
			continue;
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0) {
			u_errno(path, errno);
			rc = 1;
			continue;
		}
		close(fd);
	}
	return rc;
}
