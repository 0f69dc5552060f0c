/*
 * rmdir — remove empty directories; with -p also each parent named in
 * the path (a/b/c removes a/b/c, a/b, a).
 */
#define PROG "rmdir"
#include "ucommon.h"

static const char usage[] = "usage: rmdir [-p] DIR...\n"
			    "Remove empty directories; -p: and their parents "
			    "in the path.\n";

static int remove_path(char *path, int parents)
{
	for (;;) {
		if (rmdir(path) < 0) {
			u_errno(path, errno);
			return 1;
		}
		if (!parents)
			return 0;
		char *slash = strrchr(path, '/');
		while (slash && slash > path && slash[1] == 0) {
			*slash = 0; /* trailing slashes */
			slash = strrchr(path, '/');
		}
		if (!slash || slash == path)
			return 0;
		while (slash > path && slash[-1] == '/')
			slash--;
		*slash = 0;
	}
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, parents = 0, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "p")) != -1) {
		if (opt != 'p')
			u_bad_option(optopt, usage);
		parents = 1;
	}
	if (optind >= argc) {
		u_err("missing operand");
		u_usage(usage);
	}
	for (int i = optind; i < argc; i++)
		rc |= remove_path(argv[i], parents);
	return rc;
}
