/*
 * kill — send a signal (default TERM) to processes.
 *   kill [-SIG | -s SIG] [--] PID...    SIG a name (TERM, SIGTERM, term)
 *                                      or a number; 0 only checks
 *   kill -l [N]                         list signal names, or name N
 *                                      (also an exit status 128+N)
 * A negative PID names a process group (`kill -- -PGID`, or after a
 * signal option: `kill -9 -PGID`).
 */
#define PROG "kill"
#include "ucommon.h"
#include <ctype.h>
#include <signal.h>
#include <strings.h>

static const char usage[] =
	"usage: kill [-SIG | -s SIG] PID... | kill -l [N]\n"
	"Send signal SIG (name or number, default TERM) to each PID;\n"
	"a negative PID is a process group.\n";

static const struct {
	int num;
	const char *name;
} sigs[] = {
	{SIGHUP, "HUP"},       {SIGINT, "INT"},	      {SIGQUIT, "QUIT"},
	{SIGILL, "ILL"},       {SIGTRAP, "TRAP"},     {SIGABRT, "ABRT"},
	{SIGBUS, "BUS"},       {SIGFPE, "FPE"},	      {SIGKILL, "KILL"},
	{SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"},
	{SIGPIPE, "PIPE"},     {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},
	{SIGSTKFLT, "STKFLT"}, {SIGCHLD, "CHLD"},     {SIGCONT, "CONT"},
	{SIGSTOP, "STOP"},     {SIGTSTP, "TSTP"},     {SIGTTIN, "TTIN"},
	{SIGTTOU, "TTOU"},     {SIGURG, "URG"},	      {SIGXCPU, "XCPU"},
	{SIGXFSZ, "XFSZ"},     {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"},
	{SIGWINCH, "WINCH"},   {SIGIO, "IO"},	      {SIGPWR, "PWR"},
	{SIGSYS, "SYS"},
};

#define NSIGS (sizeof sigs / sizeof sigs[0])
#define SIG_MAX 64

/* A signal name or number; -1 if unknown. */
static int parse_signal(const char *s)
{
	if (isdigit((unsigned char)*s)) {
		char *end;
		long v = strtol(s, &end, 10);
		return (*end || v > SIG_MAX) ? -1 : (int)v;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < NSIGS; i++) {
		if (strcasecmp(s, sigs[i].name) == 0)
			return sigs[i].num;
	}
	return -1;
}

static const char *signal_name(int num)
{
	for (size_t i = 0; i < NSIGS; i++) {
		if (sigs[i].num == num)
			return sigs[i].name;
	}
	return NULL;
}

static int list(int argc, char **argv)
{
	if (argc == 0) {
		for (size_t i = 0; i < NSIGS; i++)
			printf("%2d) %s\n", sigs[i].num, sigs[i].name);
		return u_flush_stdout();
	}
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		int num, numeric = isdigit((unsigned char)argv[i][0]);
		if (numeric) {
			num = atoi(argv[i]);
			if (num > 128) /* an exit status */
				num -= 128;
		} else {
			num = parse_signal(argv[i]);
		}
		const char *name = num > 0 ? signal_name(num) : NULL;
		if (!name) {
			u_err("unknown signal '%s'", argv[i]);
			rc = 1;
		} else if (numeric) {
			puts(name);
		} else {
			printf("%d\n", num);
		}
	}
	return u_flush_stdout() | rc;
}

int main(int argc, char **argv)
{
	u_help(argc, argv, usage);
	int sig = SIGTERM, i = 1;
	if (i < argc && strcmp(argv[i], "-l") == 0)
		return list(argc - 2, argv + 2);
	if (i < argc && strcmp(argv[i], "-s") == 0) {
		if (i + 1 >= argc) {
			u_err("option requires an argument -- 's'");
			u_usage(usage);
		}
		if ((sig = parse_signal(argv[i + 1])) < 0) {
			u_err("unknown signal '%s'", argv[i + 1]);
			u_usage(usage);
		}
		i += 2;
	} else if (i < argc && argv[i][0] == '-' && argv[i][1] &&
		   strcmp(argv[i], "--") != 0) {
		if ((sig = parse_signal(argv[i] + 1)) < 0) {
			u_err("unknown signal '%s'", argv[i] + 1);
			u_usage(usage);
		}
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		u_err("missing process id");
		u_usage(usage);
	}
	int rc = 0;
	for (; i < argc; i++) {
		char *end;
		errno = 0;
		long pid = strtol(argv[i], &end, 10);
		if (end == argv[i] || *end || errno || pid != (pid_t)pid) {
			u_err("invalid process id '%s'", argv[i]);
			rc = 1;
			continue;
		}
		if (kill((pid_t)pid, sig) < 0) {
			u_errno(argv[i], errno);
			rc = 1;
		}
	}
	return rc;
}
