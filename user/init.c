/*
 * init — process 1 of every Shoal node.
 *
 *   1. Ignores the terminal's job-control signals (SIGINT, SIGQUIT,
 *      SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP): ^C at the console must never
 *      reach it.
 *   2. Runs `/bin/sh /etc/rc` if /etc/rc exists and waits for it.
 *   3. Forever: forks the console shell and reaps every child until that
 *      shell exits (orphans are re-parented to init, so every zombie of
 *      the node ends here), then starts a new one. At most RESTART_MAX
 *      starts in RESTART_WINDOW seconds; beyond that it says so and waits
 *      RESTART_PAUSE seconds (reaping meanwhile) before trying again.
 *
 * The shell's child: default signal dispositions (exec keeps SIG_IGN, and
 * the shell passes what it inherited on to its jobs), a new session, the
 * console as controlling terminal (TIOCSCTTY; failures ignored: a kernel
 * without ttys still gets a shell), itself the terminal's foreground group,
 * then exec "-sh": a login shell, which prints the banner. The environment
 * passes through, with PATH and HOME defaulted if the kernel gave none.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The paths can be changed at build time for the host test
 * (tests/host/test_sh.py runs init on a pseudo-terminal). */
#ifndef SHELL
#define SHELL "/bin/sh"
#endif
#ifndef RC
#define RC "/etc/rc"
#endif
#ifndef CONSOLE
#define CONSOLE "/dev/console"
#endif
#define RESTART_MAX 5
#define RESTART_WINDOW 10 /* seconds */
#define RESTART_PAUSE 30 /* seconds */

static const int ignored[] = {SIGINT,  SIGQUIT, SIGTSTP,
			      SIGTTIN, SIGTTOU, SIGHUP};
#define NIGNORED (sizeof ignored / sizeof ignored[0])

static void child_defaults(void)
{
	for (size_t i = 0; i < NIGNORED; i++)
		signal(ignored[i], SIG_DFL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void describe(const char *what, pid_t pid, int st)
{
	if (WIFEXITED(st) && WEXITSTATUS(st))
		fprintf(stderr, "init: %s (pid %d) exited with status %d\n",
			what, (int)pid, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		fprintf(stderr, "init: %s (pid %d) killed by signal %d (%s)\n",
			what, (int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
}

/* Reap children until `pid` ends (any child if pid is 0 and none left);
 * returns its wait status, or -1 if it is not ours. */
static int reap_until(pid_t pid)
{
	for (;;) {
		int st;
		pid_t w = wait(&st);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				fprintf(stderr, "init: wait: %s\n",
					strerror(errno));
			return -1;
		}
		if (w == pid)
			return st;
	}
}

static void run_rc(void)
{
	if (access(RC, F_OK) != 0)
		return;
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "init: cannot fork for %s: %s\n", RC,
			strerror(errno));
		return;
	}
	if (pid == 0) {
		child_defaults();
		execl(SHELL, "sh", RC, (char *)NULL);
		fprintf(stderr, "init: cannot run %s %s: %s\n", SHELL, RC,
			strerror(errno));
		_exit(127);
	}
	int st = reap_until(pid);
	if (st != -1)
		describe(RC, pid, st);
}

static void start_console_shell(void)
{
	child_defaults();
	if (setsid() < 0)
		fprintf(stderr, "init: setsid: %s\n", strerror(errno));
	int fd = open(CONSOLE, O_RDWR);
	if (fd >= 0) {
		for (int i = 0; i < 3; i++)
			if (fd != i)
				dup2(fd, i);
		if (fd > 2)
			close(fd);
	} else {
		fprintf(stderr, "init: %s: %s (keeping the inherited fds)\n",
			CONSOLE, strerror(errno));
	}
	ioctl(0, TIOCSCTTY, 0);
	tcsetpgrp(0, getpid());
	execl(SHELL, "-sh", (char *)NULL);
	fprintf(stderr, "init: cannot run %s: %s\n", SHELL, strerror(errno));
	_exit(127);
}

int main(void)
{
	double starts[RESTART_MAX] = {0};
	int nstarts = 0;

	for (size_t i = 0; i < NIGNORED; i++)
		signal(ignored[i], SIG_IGN);
	setenv("PATH", "/bin:/usr/local/bin", 0);
	setenv("HOME", "/", 0);
	if (getpid() != 1)
		fprintf(stderr, "init: warning: running as pid %d, not 1\n",
			(int)getpid());
	run_rc();
	for (;;) {
		/* starts[] holds the last RESTART_MAX start times, oldest
		 * first once full. */
		double t = now();
		if (nstarts == RESTART_MAX && t - starts[0] < RESTART_WINDOW) {
			fprintf(stderr,
				"init: %s restarted %d times in %d s; "
				"waiting %d s\n",
				SHELL, RESTART_MAX, RESTART_WINDOW,
				RESTART_PAUSE);
			double until = t + RESTART_PAUSE;
			while ((t = now()) < until) {
				while (waitpid(-1, NULL, WNOHANG) > 0)
					;
				sleep(1);
			}
			nstarts = 0;
		}
		if (nstarts == RESTART_MAX) {
			memmove(starts, starts + 1,
				(RESTART_MAX - 1) * sizeof starts[0]);
			nstarts--;
		}
		starts[nstarts++] = t;

		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "init: cannot fork the shell: %s\n",
				strerror(errno));
			sleep(1);
			continue;
		}
		if (pid == 0)
			start_console_shell();
		int st = reap_until(pid);
		if (st != -1)
			describe(SHELL, pid, st);
	}
}
