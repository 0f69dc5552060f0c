/*
 * cp — copy SRC to DST, or each SRC into the directory DST. Regular files
 * are streamed and keep their mode bits; -r copies directories
 * recursively (symbolic links inside are copied as links). A file is
 * never copied onto itself.
 */
#define PROG "cp"
#include "ucommon.h"

static const char usage[] = "usage: cp [-r] SRC DST | cp [-r] SRC... DIR\n"
			    "Copy files; -r: copy directories recursively.\n";

static int copy_one(const char *src, const char *dst, int recursive)
{
	struct stat ss, ds;
	if (stat(src, &ss) < 0) {
		u_errno(src, errno);
		return 1;
	}
	if (S_ISDIR(ss.st_mode)) {
		if (!recursive) {
			u_err("%s: is a directory (use -r)", src);
			return 1;
		}
		return u_copy_tree(src, dst);
	}
	if (stat(dst, &ds) == 0 && ds.st_dev == ss.st_dev &&
	    ds.st_ino == ss.st_ino) {
		u_err("%s and %s are the same file", src, dst);
		return 1;
	}
	return u_copy_file(src, dst, &ss);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, recursive = 0, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "rR")) != -1) {
		if (opt != 'r' && opt != 'R')
			u_bad_option(optopt, usage);
		recursive = 1;
	}
	int into_dir = u_dest_is_dir(argc, argv, optind, usage);
	if (into_dir < 0)
		return 1;
	const char *dst = argv[argc - 1];
	for (int i = optind; i < argc - 1; i++) {
		if (!into_dir) {
			rc |= copy_one(argv[i], dst, recursive);
			continue;
		}
		char *d = u_join(dst, u_basename(argv[i]));
		rc |= copy_one(argv[i], d, recursive);
		free(d);
	}
	return rc;
}
