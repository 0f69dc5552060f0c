/*
 * env — print the environment, or run COMMAND in a changed one.
 *   env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARG...]]
 * -i starts from an empty environment, -u removes NAME. COMMAND is looked
 * up in PATH; exit 127 if it is not found, 126 if it cannot be run.
 */
#define PROG "env"
#include "ucommon.h"

static const char usage[] =
	"usage: env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARG...]]\n"
	"Print the environment, or run COMMAND with it modified.\n"
	"  -i  start with an empty environment   -u NAME  remove NAME\n";

extern char **environ;

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt;
	opterr = 0;
	/* "+": stop at the first operand, so COMMAND's options stay its own. */
	while ((opt = getopt(argc, argv, "+iu:")) != -1) {
		if (opt == 'i') {
			static char *empty[] = {NULL};
			environ = empty;
		} else if (opt == 'u') {
			if (unsetenv(optarg) < 0) {
				u_errno(optarg, errno);
				return 2;
			}
		} else if (optopt == 'u') {
			u_err("option requires an argument -- 'u'");
			u_usage(usage);
		} else {
			u_bad_option(optopt, usage);
		}
	}
	int i = optind;
	for (; i < argc && strchr(argv[i], '='); i++) {
		if (argv[i][0] == '=' || putenv(argv[i]) != 0) {
			u_err("cannot set '%s'", argv[i]);
			return 2;
		}
	}
	if (i == argc) {
		for (char **e = environ; *e; e++)
			puts(*e);
		return u_flush_stdout();
	}
	execvp(argv[i], argv + i);
	int err = errno;
	u_errno(argv[i], err);
	return err == ENOENT ? 127 : 126;
}
