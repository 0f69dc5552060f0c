/*
 * rm — remove files; -r removes directories and their contents; -f
 * ignores names that do not exist and never reports them. A directory
 * without -r is refused. "." and ".." (as last component) and "/" are
 * refused, as POSIX asks.
 */
#define PROG "rm"
#include "ucommon.h"

static const char usage[] = "usage: rm [-rf] FILE...\n"
			    "Remove files; -r: directories recursively; -f: "
			    "ignore missing files.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, recursive = 0, force = 0, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "rRf")) != -1) {
		if (opt == 'r' || opt == 'R')
			recursive = 1;
		else if (opt == 'f')
			force = 1;
		else
			u_bad_option(optopt, usage);
	}
	if (optind >= argc && !force) {
		u_err("missing operand");
		u_usage(usage);
	}
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i], *base = u_basename(path);
		/* An empty last component means the path is all slashes. */
		if (!strcmp(base, ".") || !strcmp(base, "..") ||
		    (!*base && *path)) {
			u_err("refusing to remove '%s'", path);
			rc = 1;
			continue;
		}
		struct stat st;
		if (lstat(path, &st) < 0) {
			if (!(force && errno == ENOENT)) {
				u_errno(path, errno);
				rc = 1;
			}
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!recursive) {
				u_errno(path, EISDIR);
				rc = 1;
			} else {
				rc |= u_remove_tree(path);
			}
		} else if (unlink(path) < 0) {
			u_errno(path, errno);
			rc = 1;
		}
	}
	return rc;
}
