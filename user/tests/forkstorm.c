/*
 * forkstorm — many children at once, every one reaped with the right
 * status (tests/qemu/test_shell.py).
 *
 *   forkstorm [N [WAVES]]      N children per wave (default 200), WAVES
 *                              rounds (default 1)
 *
 * Each wave forks N children before it reaps any, so up to N zombies
 * wait at once. Child i exits with status i % 200, except every tenth,
 * which kills itself with SIGKILL, and every seventh of the others, which
 * touches a fresh page first (a copy-on-write fault in the child). The
 * parent then reaps with waitpid(-1) until ECHILD and checks that each
 * pid came back exactly once with the status its index gives.
 *
 * Output: one line, "forkstorm: N children x WAVES waves, all reaped" and
 * exit 0; otherwise a line per problem on stderr and exit 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 1000

static volatile int touched[1024];

static void child(int i)
{
	if (i % 10 == 9)
		kill(getpid(), SIGKILL);
	if (i % 7 == 0)
		touched[(i * 37) % 1024] = i; /* a write to a shared page */
	_exit(i % 200);
}

static int wave(int n, int w)
{
	static pid_t pids[MAX_CHILDREN];
	static int seen[MAX_CHILDREN];
	int bad = 0;

	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0) {
			fprintf(stderr, "forkstorm: wave %d: fork %d: %s\n", w,
				i, strerror(errno));
			n = i; /* reap those that exist */
			bad++;
			break;
		}
		if (p == 0)
			child(i);
		pids[i] = p;
		seen[i] = 0;
	}
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD) {
				fprintf(stderr, "forkstorm: waitpid: %s\n",
					strerror(errno));
				bad++;
			}
			break;
		}
		int i = 0;
		while (i < n && pids[i] != p)
			i++;
		if (i == n) {
			fprintf(stderr,
				"forkstorm: waitpid gave unknown pid %d\n", p);
			bad++;
			continue;
		}
		if (seen[i]++) {
			fprintf(stderr, "forkstorm: pid %d reaped twice\n", p);
			bad++;
		}
		int ok = i % 10 == 9
				 ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
				 : WIFEXITED(st) && WEXITSTATUS(st) == i % 200;
		if (!ok) {
			fprintf(stderr,
				"forkstorm: child %d (pid %d): wait status %#x\n",
				i, p, st);
			bad++;
		}
	}
	for (int i = 0; i < n; i++)
		if (!seen[i]) {
			fprintf(stderr,
				"forkstorm: child %d (pid %d) never reaped\n",
				i, pids[i]);
			bad++;
		}
	return bad;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	int waves = argc > 2 ? atoi(argv[2]) : 1;
	if (n < 1 || n > MAX_CHILDREN || waves < 1) {
		fprintf(stderr, "usage: forkstorm [N (1..%d) [WAVES]]\n",
			MAX_CHILDREN);
		return 2;
	}
	int bad = 0;
	for (int w = 0; w < waves && !bad; w++)
		bad += wave(n, w);
	if (bad)
		return 1;
	printf("forkstorm: %d children x %d waves, all reaped\n", n, waves);
	return 0;
}
