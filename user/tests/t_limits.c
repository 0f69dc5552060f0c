/*
 * t_limits — running out, safely: fork until the node refuses (EAGAIN or
 * ENOMEM; at most 2000 children, all waiting on one pipe, then released
 * and reaped), and a child that maps and touches memory until mmap says
 * ENOMEM or the kernel kills it — the parent must never hang. Afterwards
 * fork and allocation work again.
 */
#include "tap.h"

#include <sys/mman.h>
#include <sys/resource.h>

enum { MAX_KIDS = 2000 };

static void test_fork_limit(void)
{
	static pid_t kids[MAX_KIDS];
	int p[2];
	pipe(p);
	int n, err = 0;
	long long t0 = now_ns();
	for (n = 0; n < MAX_KIDS; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			char c;
			close(p[1]);
			read(p[0], &c, 1);
			_exit(0);
		}
		if (pid < 0) {
			err = errno;
			break;
		}
		kids[n] = pid;
	}
	tap_diag("%d children in %lld ms, then %s", n,
		 (now_ns() - t0) / 1000000,
		 n == MAX_KIDS ? "stopped (the bound)" : errname(err));
	OK(n >= 16, "at least 16 processes at once (%d)", n);
	OK(n == MAX_KIDS || err == EAGAIN || err == ENOMEM,
	   "fork fails with EAGAIN or ENOMEM when the node is full (%s)",
	   n == MAX_KIDS ? "not reached" : errname(err));
	close(p[1]); /* every child's read now sees end of file */
	close(p[0]);
	int reaped = 0, wrong = 0, st;
	long long end = now_ns() + 60000000000LL;
	while (reaped < n && now_ns() < end) {
		pid_t r = waitpid(-1, &st, WNOHANG);
		if (r > 0) {
			reaped++;
			wrong += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		} else if (r == 0) {
			msleep(1);
		} else {
			break;
		}
	}
	IS(reaped, n, "every child exits and is reaped");
	IS(wrong, 0, "all with status 0");
	for (int i = 0; i < n; i++)
		if (waitpid(kids[i], &st, WNOHANG) == 0)
			kill(kids[i], SIGKILL);
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	IS_EXIT(wait_child(pid, 10000), 7, "fork works again afterwards");
}

static void test_memory(void)
{
	enum { CHUNK = 16 << 20 };
	int p[2];
	pipe(p);
	long long t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		/* Bounds the damage on a Linux host; Shoal may not enforce
		 * RLIMIT_AS, and then the node's memory is the limit. */
		struct rlimit rl = {512UL << 20, 512UL << 20};
		setrlimit(RLIMIT_AS, &rl);
		close(p[0]);
		long total = 0;
		for (;;) {
			char *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				_exit(errno == ENOMEM ? 0 : 1);
			for (long off = 0; off < CHUNK; off += 4096)
				m[off] = 1;
			total += CHUNK;
			write(p[1], &total, sizeof total);
		}
	}
	close(p[1]);
	int st = wait_child(pid, 60000);
	long total = 0, v;
	while (read(p[0], &v, sizeof v) == sizeof v)
		total = v;
	close(p[0]);
	tap_diag("the hog touched %ld MiB in %lld ms and ended with %s",
		 total >> 20, (now_ns() - t0) / 1000000, status_text(st));
	OK(st >= 0, "memory exhaustion ends the hog (no hang)");
	OK(st >= 0 && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
		       (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)),
	   "by mmap failing with ENOMEM or by SIGKILL (%s)", status_text(st));
	OK(total >= 16 << 20, "it got some memory first");

	/* The memory came back. */
	char *m = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	OK(m != MAP_FAILED, "mmap 16 MiB afterwards");
	if (m != MAP_FAILED) {
		memset(m, 1, CHUNK);
		OK(m[CHUNK - 1] == 1, "and touch all of it");
		munmap(m, CHUNK);
	}
	pid = fork();
	if (pid == 0)
		_exit(0);
	IS_EXIT(wait_child(pid, 10000), 0, "fork works afterwards");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_limits");
	test_fork_limit();
	test_memory();
	return tap_done();
}
