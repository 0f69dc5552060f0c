/*
 * true — exit 0, whatever the arguments (only `--help` prints usage).
 */
#define PROG "true"
#include "ucommon.h"

int main(int argc, char **argv)
{
	u_help(argc, argv, "usage: true\nExit with status 0.\n");
	return 0;
}
