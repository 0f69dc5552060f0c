/*
 * false — exit 1, whatever the arguments. `--help` prints usage and exits
 * 0, like every other program here.
 */
#define PROG "false"
#include "ucommon.h"

int main(int argc, char **argv)
{
	u_help(argc, argv, "usage: false\nExit with status 1.\n");
	return 1;
}
