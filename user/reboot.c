/*
 * reboot — flush the file systems (sync(2)) and restart the node with
 * reboot(2) RB_AUTOBOOT. Shoal has no init to ask, so -f (force: skip
 * init, as on Linux) changes nothing; it is accepted for habit's sake.
 * Needs the privilege to reboot: EPERM is reported, not ignored.
 */
#define PROG "reboot"
#include "ucommon.h"
#include <sys/reboot.h>

static const char usage[] = "usage: reboot [-f]\n"
			    "Sync the file systems and restart this node.\n";

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv, "f")) != -1) {
		if (opt != 'f')
			u_bad_option(optopt, usage);
	}
	if (optind < argc) {
		u_err("unexpected argument '%s'", argv[optind]);
		u_usage(usage);
	}
	sync();
	reboot(RB_AUTOBOOT);
	int err = errno;
	u_err("cannot reboot: %s%s", strerror(err),
	      err == EPERM ? " (are you root?)" : "");
	return 1;
}
