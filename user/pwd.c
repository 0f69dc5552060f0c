/*
 * pwd — print the current directory as getcwd(2) reports it (the
 * physical path, symbolic links resolved).
 */
#define PROG "pwd"
#include "ucommon.h"

static const char usage[] = "usage: pwd\n"
			    "Print the current working directory.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-P") != 0 && strcmp(argv[i], "-L") != 0) {
			u_err("unexpected argument '%s'", argv[i]);
			u_usage(usage);
		}
	}
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof buf)) {
		u_errno("getcwd", errno);
		return 1;
	}
	puts(buf);
	return u_flush_stdout();
}
