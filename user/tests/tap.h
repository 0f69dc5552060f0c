/*
 * tap.h — the in-guest system-call tests' shared harness (header only:
 * the Makefile builds every user/tests/X.c into a program).
 *
 * Interface:
 *   tap_init(argc, argv, name)  pick and enter a scratch directory, arm a
 *                               watchdog; call first
 *   OK(cond, fmt...)            one test point
 *   IS(got, expected, fmt...)   integers equal (got/expected on failure)
 *   SYS(expr, fmt...)           a call that must succeed (result != -1)
 *   ERR(expr, E, fmt...)        a call that must fail with errno E
 *   ERR2(expr, E1, E2, fmt...)  ... with E1 or E2
 *   SKIP(reason, fmt...)        a point not run, with the reason
 *   IS_EXIT(st, code, fmt...)   a child's wait status is exit(code)
 *   IS_SIGNALED(st, sig, ...)   ... is death by signal sig
 *   tap_diag(fmt...)            a "# " diagnostic line
 *   tap_done()                  print the plan, remove the scratch
 *                               directory; returns main's exit status
 * Helpers: wait_child(pid, ms) (kills and reaps a child that hangs),
 * in_child(fn, arg, ms), write_file, read_file, rm_tree, tap_self (this
 * program's absolute path), now_ns (CLOCK_MONOTONIC),
 * msleep, errname, status_text. This header is shared with fscalls.c,
 * memtime.c and ttytest.c: keep the interface stable.
 *
 * Output is TAP: "ok K - text", "not ok K - text # got X expected Y", the
 * plan "1..N" last. Every line goes out with one write(2) so that nothing
 * sits in a stdio buffer when a test forks. Children never print test
 * points: they report through their exit status or a pipe.
 *
 * The scratch directory is <base>/<name>.<pid>, base being argv[1], else
 * $TMPDIR, /data/tmp or /tmp (made if missing; Shoal may have no /tmp).
 * The program runs inside it and tap_done() deletes it.
 */
#ifndef TAP_H
#define TAP_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Every helper may go unused by one program or another. */
#define TAP_FN static __attribute__((unused))

static int tap_count;
static int tap_failed;
static char tap_base[PATH_MAX];
static char tap_dir[PATH_MAX];
static char tap_name[64];

TAP_FN const char *errname(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = {
		{0, "0"},
		{EPERM, "EPERM"},
		{ENOENT, "ENOENT"},
		{ESRCH, "ESRCH"},
		{EINTR, "EINTR"},
		{EIO, "EIO"},
		{ENXIO, "ENXIO"},
		{E2BIG, "E2BIG"},
		{ENOEXEC, "ENOEXEC"},
		{EBADF, "EBADF"},
		{ECHILD, "ECHILD"},
		{EAGAIN, "EAGAIN"},
		{ENOMEM, "ENOMEM"},
		{EACCES, "EACCES"},
		{EFAULT, "EFAULT"},
		{EBUSY, "EBUSY"},
		{EEXIST, "EEXIST"},
		{EXDEV, "EXDEV"},
		{ENODEV, "ENODEV"},
		{ENOTDIR, "ENOTDIR"},
		{EISDIR, "EISDIR"},
		{EINVAL, "EINVAL"},
		{ENFILE, "ENFILE"},
		{EMFILE, "EMFILE"},
		{ENOTTY, "ENOTTY"},
		{EFBIG, "EFBIG"},
		{ENOSPC, "ENOSPC"},
		{ESPIPE, "ESPIPE"},
		{EROFS, "EROFS"},
		{EMLINK, "EMLINK"},
		{EPIPE, "EPIPE"},
		{ERANGE, "ERANGE"},
		{ENAMETOOLONG, "ENAMETOOLONG"},
		{ENOSYS, "ENOSYS"},
		{ENOTEMPTY, "ENOTEMPTY"},
		{ELOOP, "ELOOP"},
		{EOVERFLOW, "EOVERFLOW"},
		{ETIMEDOUT, "ETIMEDOUT"},
	};
	static char buf[16];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

TAP_FN void tap_write(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

__attribute__((format(printf, 1, 2))) TAP_FN void tap_diag(const char *fmt, ...)
{
	char buf[512] = "# ";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + 2, sizeof buf - 3, fmt, ap);
	va_end(ap);
	strcat(buf, "\n");
	tap_write(buf, strlen(buf));
}

/* One test point; detail (may be NULL) follows a '#' on failure. */
TAP_FN int tap_vresult(int pass, const char *detail, const char *fmt,
		       va_list ap)
{
	char buf[768];
	int saved = errno;
	int n = snprintf(buf, sizeof buf, "%sok %d - ", pass ? "" : "not ",
			 ++tap_count);
	n += vsnprintf(buf + n, sizeof buf - (size_t)n - 2, fmt, ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	if (!pass && detail)
		n += snprintf(buf + n, sizeof buf - (size_t)n - 2, " # %s",
			      detail);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	tap_write(buf, (size_t)n);
	if (!pass)
		tap_failed++;
	errno = saved;
	return pass;
}

__attribute__((format(printf, 3, 4))) TAP_FN int
tap_result(int pass, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vresult(pass, detail, fmt, ap);
	va_end(ap);
	return r;
}

TAP_FN const char *tap_detail_int(long long got, long long exp)
{
	static char d[96];
	snprintf(d, sizeof d, "got %lld expected %lld", got, exp);
	return d;
}

TAP_FN const char *tap_detail_sys(long long r, int e, const char *exp)
{
	static char d[128];
	if (r == -1)
		snprintf(d, sizeof d, "got -1 %s expected %s", errname(e), exp);
	else
		snprintf(d, sizeof d, "got %lld expected %s", r, exp);
	return d;
}

#define OK(cond, ...) tap_result(!!(cond), "condition false", __VA_ARGS__)

#define IS(got, exp, ...)                                                  \
	({                                                                 \
		long long g_ = (long long)(got), e_ = (long long)(exp);    \
		tap_result(g_ == e_, tap_detail_int(g_, e_), __VA_ARGS__); \
	})

#define SYS(expr, ...)                                                  \
	({                                                              \
		errno = 0;                                              \
		long long r_ = (long long)(expr);                       \
		int e_ = errno;                                         \
		tap_result(r_ != -1, tap_detail_sys(r_, e_, "success"), \
			   __VA_ARGS__);                                \
		errno = e_;                                             \
		r_;                                                     \
	})

#define ERR2(expr, E1, E2, ...)                                           \
	({                                                                \
		errno = 0;                                                \
		long long r_ = (long long)(expr);                         \
		int e_ = errno;                                           \
		char x_[48];                                              \
		snprintf(x_, sizeof x_, "-1 %s", errname(E1));            \
		if ((E1) != (E2))                                         \
			snprintf(x_ + strlen(x_), sizeof x_ - strlen(x_), \
				 " or %s", errname(E2));                  \
		tap_result(r_ == -1 && (e_ == (E1) || e_ == (E2)),        \
			   tap_detail_sys(r_, e_, x_), __VA_ARGS__);      \
	})

#define ERR(expr, E, ...) ERR2(expr, E, E, __VA_ARGS__)

#define SKIP(reason, ...)                                        \
	do {                                                     \
		char d_[256];                                    \
		snprintf(d_, sizeof d_, __VA_ARGS__);            \
		tap_result(1, NULL, "%s # SKIP %s", d_, reason); \
	} while (0)

/* ------------------------------------------------------------ helpers */

TAP_FN long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

TAP_FN void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Wait for pid for at most ms milliseconds; on timeout kill it, reap it
 * and return -1 (a hung child must not hang the test). Else its status.
 */
TAP_FN int wait_child(pid_t pid, long ms)
{
	int st;
	long long end = now_ns() + ms * 1000000LL;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return -2;
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			tap_diag("child %d timed out after %ld ms: killed",
				 (int)pid, ms);
			return -1;
		}
		msleep(2);
	}
}

/* Run fn(arg) in a child that exits with its return value; its status. */
TAP_FN int in_child(int (*fn)(void *), void *arg, long ms)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0)
		return -3;
	return wait_child(pid, ms);
}

TAP_FN const char *status_text(int st)
{
	static char d[64];
	if (st < 0)
		snprintf(d, sizeof d, "no status (%d)", st);
	else if (WIFEXITED(st))
		snprintf(d, sizeof d, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(d, sizeof d, "signal %d", WTERMSIG(st));
	else
		snprintf(d, sizeof d, "status 0x%x", st);
	return d;
}

/* A child's status is exit(code). */
#define IS_EXIT(st, code, ...)                                     \
	({                                                         \
		int s_ = (st);                                     \
		char d_[128];                                      \
		snprintf(d_, sizeof d_, "got %s expected exit %d", \
			 status_text(s_), (code));                 \
		tap_result(s_ >= 0 && WIFEXITED(s_) &&             \
				   WEXITSTATUS(s_) == (code),      \
			   d_, __VA_ARGS__);                       \
	})

/* A child's status is death by signal sig. */
#define IS_SIGNALED(st, sig, ...)                                    \
	({                                                           \
		int s_ = (st);                                       \
		char d_[128];                                        \
		snprintf(d_, sizeof d_, "got %s expected signal %d", \
			 status_text(s_), (sig));                    \
		tap_result(s_ >= 0 && WIFSIGNALED(s_) &&             \
				   WTERMSIG(s_) == (sig),            \
			   d_, __VA_ARGS__);                         \
	})

/* Write a whole buffer to a new file (mode 0644): 0 or -1. */
TAP_FN int write_file(const char *path, const void *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* A whole small file (a /proc file) into buf, NUL-terminated: its length,
 * or -1 with open's errno. */
TAP_FN ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	int e = errno;
	close(fd);
	errno = e;
	buf[len] = 0;
	return (ssize_t)len;
}

/* This program's absolute path, for re-executing itself: argv0 when
 * absolute, resolved against the current directory when relative with a
 * slash (call before tap_init changes directory), else fallback. */
TAP_FN const char *tap_self(const char *argv0, const char *fallback)
{
	static char abs[PATH_MAX];
	if (argv0[0] == '/')
		return argv0;
	if (strchr(argv0, '/') && getcwd(abs, sizeof abs)) {
		strncat(abs, "/", sizeof abs - strlen(abs) - 1);
		strncat(abs, argv0, sizeof abs - strlen(abs) - 1);
		return abs;
	}
	return fallback;
}

TAP_FN void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0755);
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			char sub[PATH_MAX];
			while ((e = readdir(d))) {
				if (!strcmp(e->d_name, ".") ||
				    !strcmp(e->d_name, ".."))
					continue;
				snprintf(sub, sizeof sub, "%s/%s", path,
					 e->d_name);
				rm_tree(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

TAP_FN int tap_try_base(const char *base)
{
	if (!base || !*base)
		return -1;
	snprintf(tap_dir, sizeof tap_dir, "%s/%s.%d", base, tap_name,
		 (int)getpid());
	if (mkdir(tap_dir, 0755) != 0 || chdir(tap_dir) != 0)
		return -1;
	/* Absolute, so that tap_done finds it whatever the cwd is then. */
	if (!getcwd(tap_dir, sizeof tap_dir))
		return -1;
	snprintf(tap_base, sizeof tap_base, "%s", tap_dir);
	*strrchr(tap_base, '/') = 0;
	if (!tap_base[0])
		strcpy(tap_base, "/");
	return 0;
}

/*
 * Enter a fresh scratch directory and arm a watchdog (SIGALRM's default
 * action ends a program that hangs; its TAP plan is then missing).
 */
TAP_FN void tap_init(int argc, char **argv, const char *name)
{
	snprintf(tap_name, sizeof tap_name, "%s", name);
	alarm(120);
	const char *arg = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
	if (tap_try_base(arg) == 0 || tap_try_base(getenv("TMPDIR")) == 0)
		goto found;
	if (access("/data", F_OK) == 0) {
		mkdir("/data/tmp", 01777);
		if (tap_try_base("/data/tmp") == 0)
			goto found;
	}
	mkdir("/tmp", 01777);
	if (tap_try_base("/tmp") == 0)
		goto found;
	tap_dir[0] = 0;
	tap_diag("%s: no writable scratch directory (tried argv[1], $TMPDIR, "
		 "/data/tmp, /tmp)",
		 name);
	return;
found:
	tap_diag("%s: working in %s", name, tap_dir);
}

TAP_FN int tap_done(void)
{
	if (tap_dir[0] && chdir(tap_base) == 0)
		rm_tree(tap_dir);
	char buf[32];
	int n = snprintf(buf, sizeof buf, "1..%d\n", tap_count);
	tap_write(buf, (size_t)n);
	if (tap_failed)
		tap_diag("%s: %d of %d failed", tap_name, tap_failed,
			 tap_count);
	return tap_failed ? 1 : 0;
}

#endif
