/*
 * t_pipe — pipes and waiting for descriptors: pipe, pipe2 (O_CLOEXEC,
 * O_NONBLOCK), end of file, EPIPE and SIGPIPE, EAGAIN, the capacity, a
 * 1 MiB transfer between processes, poll, ppoll, select and pselect6
 * (readiness, timeouts, POLLHUP/POLLERR/POLLNVAL, waking on a write).
 */
#include "tap.h"

#include <poll.h>
#include <sys/select.h>

static void test_basic(void)
{
	int p[2];
	char buf[32];
	SYS(pipe(p), "pipe");
	OK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1], "two distinct fds");
	IS(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY, "p[0] is the read end");
	IS(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY, "p[1] is the write end");
	IS(write(p[1], "hello", 5), 5, "write into a pipe");
	IS(read(p[0], buf, sizeof buf), 5, "read returns what is there");
	OK(!memcmp(buf, "hello", 5), "the bytes came through");
	write(p[1], "abc", 3);
	write(p[1], "def", 3);
	IS(read(p[0], buf, 4), 4, "a read can take part of the data");
	IS(read(p[0], buf, sizeof buf), 2, "the rest stays for the next read");
	ERR(write(p[0], "x", 1), EBADF, "write to the read end");
	ERR(read(p[1], buf, 1), EBADF, "read from the write end");
	close(p[1]);
	IS(read(p[0], buf, sizeof buf), 0, "end of file once writers close");
	close(p[0]);
	ERR(pipe((int *)0), EFAULT, "pipe with a NULL array");

	SYS(pipe2(p, O_CLOEXEC | O_NONBLOCK), "pipe2 O_CLOEXEC|O_NONBLOCK");
	IS(fcntl(p[0], F_GETFD), FD_CLOEXEC, "pipe2 read end close-on-exec");
	IS(fcntl(p[1], F_GETFD), FD_CLOEXEC, "pipe2 write end close-on-exec");
	OK(fcntl(p[0], F_GETFL) & O_NONBLOCK, "pipe2 read end non-blocking");
	ERR(read(p[0], buf, 1), EAGAIN, "non-blocking read of an empty pipe");
	/* Fill it: a non-blocking write then fails with EAGAIN. */
	static char big[4096];
	long total = 0;
	for (int i = 0; i < 1024; i++) {
		ssize_t n = write(p[1], big, sizeof big);
		if (n < 0)
			break;
		total += n;
	}
	OK(total >= 4096, "pipe capacity is at least 4096 bytes");
	tap_diag("pipe capacity: %ld bytes", total);
	ERR(write(p[1], big, sizeof big), EAGAIN,
	    "non-blocking write to a full pipe");
	long drained = 0;
	for (;;) {
		ssize_t n = read(p[0], big, sizeof big);
		if (n <= 0)
			break;
		drained += n;
	}
	IS(drained, total, "everything written comes out");
	close(p[0]);
	close(p[1]);
	ERR(pipe2(p, 0x1234), EINVAL, "pipe2 with bad flags");
}

static void test_epipe(void)
{
	int p[2];
	pipe(p);
	close(p[0]);
	pid_t pid = fork();
	if (pid == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	IS_SIGNALED(wait_child(pid, 5000), SIGPIPE,
		    "writing to a pipe without readers raises SIGPIPE");
	signal(SIGPIPE, SIG_IGN);
	ERR(write(p[1], "x", 1), EPIPE, "with SIGPIPE ignored: EPIPE");
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
}

/* 1 MiB through a pipe between processes, in odd sizes on both ends. */
static void test_transfer(void)
{
	enum { SIZE = 1 << 20 };
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		static unsigned char out[8192];
		close(p[0]);
		size_t off = 0, chunk = 1;
		while (off < SIZE) {
			size_t n = SIZE - off < chunk ? SIZE - off : chunk;
			for (size_t i = 0; i < n; i++)
				out[i] = (unsigned char)((off + i) * 31 >> 3);
			ssize_t w = write(p[1], out, n);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
			chunk = chunk * 5 % 8191 + 1;
		}
		_exit(0);
	}
	close(p[1]);
	static unsigned char in[3001];
	size_t off = 0, wrong = 0;
	for (;;) {
		ssize_t n = read(p[0], in, sizeof in);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			wrong += in[i] != (unsigned char)((off + i) * 31 >> 3);
		off += (size_t)n;
	}
	close(p[0]);
	IS(off, SIZE, "1 MiB crossed the pipe");
	IS(wrong, 0, "in order and intact");
	IS_EXIT(wait_child(pid, 10000), 0, "the writer finished");
}

static void test_poll(void)
{
	int p[2];
	pipe(p);
	struct pollfd f[3] = {
		{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
	IS(poll(f, 3, 0), 1, "poll: only the write end is ready");
	IS(f[0].revents, 0, "empty read end: no events");
	IS(f[1].revents, POLLOUT, "write end: POLLOUT");
	IS(f[2].revents, 0, "a negative fd is ignored");

	long long t0 = now_ns();
	IS(poll(f, 1, 50), 0, "poll times out on an empty pipe");
	long long ms = (now_ns() - t0) / 1000000;
	OK(ms >= 45 && ms < 2000, "poll waited about 50 ms (%lld ms)", ms);

	write(p[1], "x", 1);
	IS(poll(f, 1, -1), 1, "poll: data makes the read end ready");
	IS(f[0].revents, POLLIN, "POLLIN");
	char c;
	read(p[0], &c, 1);

	/* A writer in another process wakes a blocked poll. */
	pid_t pid = fork();
	if (pid == 0) {
		msleep(30);
		write(p[1], "y", 1);
		_exit(0);
	}
	t0 = now_ns();
	IS(poll(f, 1, 5000), 1, "poll wakes when a child writes");
	ms = (now_ns() - t0) / 1000000;
	OK(ms < 2000, "woken promptly (%lld ms)", ms);
	wait_child(pid, 5000);
	read(p[0], &c, 1);

	struct pollfd bad = {9999, POLLIN, 0};
	IS(poll(&bad, 1, 0), 1, "poll counts an invalid fd");
	IS(bad.revents, POLLNVAL, "an invalid fd gives POLLNVAL");

	close(p[1]);
	IS(poll(f, 1, 0), 1, "read end after the writer closed");
	OK(f[0].revents & POLLHUP, "POLLHUP when the writers are gone");
	close(p[0]);

	pipe(p);
	close(p[0]);
	f[1].fd = p[1];
	IS(poll(&f[1], 1, 0), 1, "write end after the reader closed");
	OK(f[1].revents & POLLERR, "POLLERR when the readers are gone");
	close(p[1]);

	pipe(p);
	f[0].fd = p[0];
	struct timespec ts = {0, 30000000};
	sigset_t mask;
	sigemptyset(&mask);
	t0 = now_ns();
	IS(ppoll(f, 1, &ts, &mask), 0, "ppoll times out");
	ms = (now_ns() - t0) / 1000000;
	OK(ms >= 25 && ms < 2000, "ppoll waited about 30 ms (%lld ms)", ms);
	write(p[1], "z", 1);
	IS(ppoll(f, 1, NULL, NULL), 1, "ppoll without a timeout sees data");
	ERR(poll(NULL, 1, 0), EFAULT, "poll with a bad array");
	close(p[0]);
	close(p[1]);
}

static void test_select(void)
{
	int p[2];
	pipe(p);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	struct timeval tv = {0, 0};
	int n = p[0] > p[1] ? p[0] : p[1];
	IS(select(n + 1, &r, &w, NULL, &tv), 1, "select: write end ready");
	OK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w),
	   "select clears what is not ready");

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 0;
	tv.tv_usec = 40000;
	long long t0 = now_ns();
	IS(select(n + 1, &r, NULL, NULL, &tv), 0, "select times out");
	long long ms = (now_ns() - t0) / 1000000;
	OK(ms >= 35 && ms < 2000, "select waited about 40 ms (%lld ms)", ms);

	write(p[1], "x", 1);
	FD_SET(p[0], &r);
	IS(select(n + 1, &r, NULL, NULL, NULL), 1, "select sees data");
	OK(FD_ISSET(p[0], &r), "the read end is set");
	char c;
	read(p[0], &c, 1);

	FD_SET(p[0], &r);
	struct timespec ts = {0, 30000000};
	sigset_t mask;
	sigemptyset(&mask);
	t0 = now_ns();
	IS(pselect(n + 1, &r, NULL, NULL, &ts, &mask), 0, "pselect6 times out");
	ms = (now_ns() - t0) / 1000000;
	OK(ms >= 25 && ms < 2000, "pselect6 waited about 30 ms (%lld ms)", ms);
	write(p[1], "x", 1);
	FD_SET(p[0], &r);
	IS(pselect(n + 1, &r, NULL, NULL, NULL, NULL), 1, "pselect6 sees data");

	pid_t pid = fork();
	if (pid == 0) {
		msleep(30);
		close(p[1]);
		_exit(0);
	}
	close(p[1]);
	read(p[0], &c, 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	IS(select(p[0] + 1, &r, NULL, NULL, NULL), 1,
	   "select wakes when the last writer closes");
	IS(read(p[0], &c, 1), 0, "and the read end is at end of file");
	wait_child(pid, 5000);

	FD_ZERO(&r);
	FD_SET(p[0], &r);
	close(p[0]);
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	ERR(select(p[0] + 1, &r, NULL, NULL, &tv), EBADF,
	    "select on a closed fd");
	ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL, "select with nfds < 0");
	tv.tv_usec = 10000;
	t0 = now_ns();
	IS(select(0, NULL, NULL, NULL, &tv), 0, "select with no fds sleeps");
	OK(now_ns() - t0 >= 9000000, "for the timeout");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_pipe");
	test_basic();
	test_epipe();
	test_transfer();
	test_poll();
	test_select();
	return tap_done();
}
