/*
 * sync — write every file system's dirty buffers to its disk (sync(2)).
 */
#define PROG "sync"
#include "ucommon.h"

static const char usage[] = "usage: sync\n"
			    "Write all cached file system data to disk.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc > 1) {
		u_err("unexpected argument '%s'", argv[1]);
		u_usage(usage);
	}
	sync();
	return 0;
}
