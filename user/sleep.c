/*
 * sleep — wait for the sum of the arguments, each a number of seconds
 * (fractions allowed) with an optional unit: s, m, h or d. A signal that
 * interrupts nanosleep(2) without killing us resumes the wait.
 */
#define PROG "sleep"
#include "ucommon.h"
#include <math.h>
#include <time.h>

static const char usage[] =
	"usage: sleep NUMBER[smhd]...\n"
	"Pause for the total time given (seconds by default; 0.5 is fine).\n";

static double parse_interval(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -1;
	double unit = 1;
	switch (*end) {
	case 0:
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (*end && end[1])
		return -1;
	return v * unit;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	if (argc < 2) {
		u_err("missing operand");
		u_usage(usage);
	}
	double total = 0;
	for (int i = 1; i < argc; i++) {
		double v = parse_interval(argv[i]);
		if (v < 0) {
			u_err("invalid time interval '%s'", argv[i]);
			u_usage(usage);
		}
		total += v;
	}
	struct timespec ts;
	if (total >= (double)LONG_MAX) {
		ts.tv_sec = LONG_MAX;
		ts.tv_nsec = 0;
	} else {
		ts.tv_sec = (time_t)total;
		ts.tv_nsec = (long)((total - (double)ts.tv_sec) * 1e9);
		if (ts.tv_nsec > 999999999)
			ts.tv_nsec = 999999999;
	}
	while (nanosleep(&ts, &ts) < 0) {
		if (errno != EINTR) {
			u_errno("nanosleep", errno);
			return 1;
		}
	}
	return 0;
}
