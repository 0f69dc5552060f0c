/*
 * mv — rename SRC to DST, or move each SRC into the directory DST, with
 * rename(2). Across file systems (EXDEV) the source is copied — files by
 * content with their mode, directories recursively, links as links — and
 * removed only once the whole copy succeeded. Times are not preserved.
 * -f is accepted (mv never asks anyway).
 */
#define PROG "mv"
#include "ucommon.h"

static const char usage[] = "usage: mv [-f] SRC DST | mv [-f] SRC... DIR\n"
			    "Move (rename) files and directories.\n";

static int move_one(const char *src, const char *dst)
{
	if (rename(src, dst) == 0)
		return 0;
	if (errno != EXDEV) {
		u_errno(src, errno);
		return 1;
	}
	struct stat ss, ds;
	if (lstat(src, &ss) < 0) {
		u_errno(src, errno);
		return 1;
	}
	/* rename replaces a file or an empty directory; so do we. */
	if (lstat(dst, &ds) == 0) {
		if (S_ISDIR(ds.st_mode) != S_ISDIR(ss.st_mode)) {
			u_errno(dst, S_ISDIR(ds.st_mode) ? EISDIR : ENOTDIR);
			return 1;
		}
		if ((S_ISDIR(ds.st_mode) ? rmdir(dst) : unlink(dst)) < 0) {
			u_errno(dst, errno);
			return 1;
		}
	}
	if (u_copy_tree(src, dst))
		return 1;
	return u_remove_tree(src);
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, rc = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "f")) != -1) {
		if (opt != 'f')
			u_bad_option(optopt, usage);
	}
	int into_dir = u_dest_is_dir(argc, argv, optind, usage);
	if (into_dir < 0)
		return 1;
	const char *dst = argv[argc - 1];
	for (int i = optind; i < argc - 1; i++) {
		if (!into_dir) {
			rc |= move_one(argv[i], dst);
			continue;
		}
		char *d = u_join(dst, u_basename(argv[i]));
		rc |= move_one(argv[i], d);
		free(d);
	}
	return rc;
}
