/*
 * ln — make NAME a hard link to TARGET, or with -s a symbolic link
 * holding TARGET. If NAME is an existing directory the link is made
 * inside it, named after TARGET's last component.
 */
#define PROG "ln"
#include "ucommon.h"

static const char usage[] =
	"usage: ln [-s] TARGET NAME\n"
	"Make a hard link (or with -s a symbolic link) NAME "
	"to TARGET.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt, sym = 0;
	opterr = 0;
	while ((opt = getopt(argc, argv, "s")) != -1) {
		if (opt != 's')
			u_bad_option(optopt, usage);
		sym = 1;
	}
	if (argc - optind != 2) {
		u_err(argc - optind < 2 ? "missing operand"
					: "extra operand '%s'",
		      argv[argc - 1]);
		u_usage(usage);
	}
	const char *target = argv[optind];
	char *name = argv[optind + 1];
	struct stat st;
	if (stat(name, &st) == 0 && S_ISDIR(st.st_mode))
		name = u_join(name, u_basename(target));
	if ((sym ? symlink(target, name) : link(target, name)) < 0) {
		int err = errno;
		/* A missing TARGET is the likely cause of a hard-link ENOENT. */
		if (!sym && err == ENOENT && access(target, F_OK) < 0)
			u_errno(target, err);
		else
			u_errno(name, err);
		return 1;
	}
	return 0;
}
