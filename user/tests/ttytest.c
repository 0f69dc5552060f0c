/*
 * ttytest — the console terminal (fs/tty.c) through the Linux ABI:
 * termios round trips and defaults, window size, /dev/tty, FIONREAD,
 * O_NONBLOCK, VMIN/VTIME, job control (foreground group, sessions,
 * SIGTTIN/SIGTTOU for background groups, TIOCNOTTY/TIOCSCTTY).
 *
 *   ttytest             the whole suite; the interactive parts print
 *                       "# READY <step>" and read what tests/qemu/
 *                       test_tty.py then types (canon, eof, noecho, raw,
 *                       vmin, fionread, isig). Run by hand, type along.
 *   ttytest spin        print "# READY spin" and compute (not read) until
 *                       ^C ends the program; exit 3 after 20 s without it
 *   ttytest raw-exit    leave the terminal raw and exit (the kernel
 *                       monitor must take it back)
 */
#include "tap.h"

#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

static struct termios saved;

static int proc_counter(const char *key, const char *word)
{
	char buf[2048];
	int fd = open("/proc/tty/console", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *line = strstr(buf, key);
	if (!line)
		return -1;
	if (!word)
		return atoi(line + strlen(key));
	char *w = strstr(line, word);
	char *eol = strchr(line, '\n');
	if (!w || (eol && w > eol))
		return -1;
	return atoi(w + strlen(word));
}

static void ready(const char *step)
{
	tap_diag("READY %s", step);
}

/* Read until n bytes or a line end (canonical reads return one line). */
static ssize_t read_some(int fd, char *buf, size_t n)
{
	ssize_t r;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		buf[r] = 0;
	return r;
}

static void set_mode(tcflag_t lclear, tcflag_t iclear, int vmin, int vtime)
{
	struct termios t = saved;
	t.c_lflag &= ~lclear;
	t.c_iflag &= ~iclear;
	t.c_cc[VMIN] = (cc_t)vmin;
	t.c_cc[VTIME] = (cc_t)vtime;
	tcsetattr(0, TCSANOW, &t);
}

static void test_termios(void)
{
	struct termios t;
	OK(isatty(0) && isatty(1), "fds 0 and 1 are terminals");
	SYS(tcgetattr(0, &t), "tcgetattr");
	saved = t;
	OK(t.c_iflag & ICRNL, "default iflag has ICRNL");
	IS(t.c_oflag & (OPOST | ONLCR), OPOST | ONLCR, "default OPOST|ONLCR");
	tcflag_t l = ICANON | ECHO | ECHOE | ECHOK | ISIG | IEXTEN | ECHOCTL;
	IS(t.c_lflag & l, l,
	   "default lflag ICANON ECHO ECHOE ECHOK ISIG "
	   "IEXTEN ECHOCTL");
	OK(t.c_cc[VINTR] == 3 && t.c_cc[VQUIT] == 034 &&
		   t.c_cc[VERASE] == 0177 && t.c_cc[VKILL] == 025 &&
		   t.c_cc[VEOF] == 4 && t.c_cc[VSUSP] == 032 &&
		   t.c_cc[VWERASE] == 027 && t.c_cc[VMIN] == 1 &&
		   t.c_cc[VTIME] == 0,
	   "default control characters");
	struct termios m = t;
	m.c_cc[VEOF] = 5;
	m.c_lflag &= ~(tcflag_t)ECHOCTL;
	m.c_iflag |= IXANY;
	struct termios back;
	int modes[] = {TCSANOW, TCSADRAIN, TCSAFLUSH};
	for (int i = 0; i < 3; i++) {
		SYS(tcsetattr(0, modes[i], &m), "tcsetattr mode %d", i);
		tcgetattr(0, &back);
		OK(back.c_lflag == m.c_lflag && back.c_iflag == m.c_iflag &&
			   back.c_cc[VEOF] == 5,
		   "termios round trip (mode %d)", i);
	}
	SYS(tcsetattr(0, TCSANOW, &saved), "restore termios");
	struct winsize ws;
	SYS(ioctl(0, TIOCGWINSZ, &ws), "TIOCGWINSZ");
	OK(ws.ws_row == 24 && ws.ws_col == 80, "window is 24x80 (%dx%d)",
	   ws.ws_row, ws.ws_col);
	struct winsize big = {.ws_row = 50, .ws_col = 132};
	SYS(ioctl(0, TIOCSWINSZ, &big), "TIOCSWINSZ");
	ioctl(0, TIOCGWINSZ, &ws);
	OK(ws.ws_row == 50 && ws.ws_col == 132, "window size round trip");
	ioctl(0, TIOCSWINSZ, &(struct winsize){.ws_row = 24, .ws_col = 80});
	ERR(ioctl(0, TIOCGWINSZ, (void *)16), EFAULT, "bad pointer: EFAULT");
	ERR(ioctl(0, 0x54ff, 0), ENOTTY, "unknown ioctl: ENOTTY");
	int fd = open("/dev/null", O_RDWR);
	ERR(tcgetattr(fd, &t), ENOTTY, "/dev/null is not a terminal");
	close(fd);
	int cnt = -1;
	SYS(ioctl(0, FIONREAD, &cnt), "FIONREAD");
	IS(cnt, 0, "nothing typed yet");
	SYS(tcflush(0, TCIOFLUSH), "tcflush");
	ERR(tcflush(0, 7), EINVAL, "tcflush with a bad queue");
	SYS(tcflow(0, TCOON), "tcflow accepted");
	SYS(tcdrain(1), "tcdrain");

	fd = open("/dev/tty", O_RDWR);
	OK(fd >= 0, "open /dev/tty");
	struct stat st;
	OK(fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
		   st.st_rdev == makedev(5, 0),
	   "/dev/tty is 5:0");
	OK(isatty(fd), "/dev/tty is a terminal");
	IS(write(fd, "# via /dev/tty\n", 15), 15, "write through /dev/tty");
	close(fd);
}

static void test_nonblock_and_timeouts(void)
{
	char buf[64];
	int fl = fcntl(0, F_GETFL);
	fcntl(0, F_SETFL, fl | O_NONBLOCK);
	ERR(read(0, buf, sizeof buf), EAGAIN, "canonical O_NONBLOCK: EAGAIN");
	set_mode(ICANON | ECHO, 0, 1, 0);
	ERR(read(0, buf, sizeof buf), EAGAIN, "raw O_NONBLOCK: EAGAIN");
	fcntl(0, F_SETFL, fl);
	set_mode(ICANON | ECHO, 0, 0, 0);
	long long t0 = now_ns();
	IS(read(0, buf, sizeof buf), 0, "VMIN 0 VTIME 0: 0 at once");
	OK(now_ns() - t0 < 100000000LL, "... without waiting");
	set_mode(ICANON | ECHO, 0, 0, 2);
	t0 = now_ns();
	IS(read(0, buf, sizeof buf), 0, "VMIN 0 VTIME 2: 0 after a timeout");
	long long dt = now_ns() - t0;
	OK(dt >= 150000000LL && dt < 2000000000LL,
	   "... after about 0.2 s (%lld ms)", dt / 1000000);
	tcsetattr(0, TCSANOW, &saved);
}

static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
	got_int = sig;
}

static void test_interactive(void)
{
	char buf[256];
	ready("canon");
	IS(read_some(0, buf, sizeof buf - 1), 12, "canonical line length");
	OK(!strcmp(buf, "hello world\n"),
	   "erase and werase edited the line "
	   "('%s')",
	   buf);

	ready("eof");
	IS(read_some(0, buf, sizeof buf - 1), 3, "^D ends a line");
	OK(!strcmp(buf, "abc"), "... without a newline");
	IS(read_some(0, buf, sizeof buf - 1), 0, "^D alone is end of file");

	set_mode(ECHO, 0, 1, 0);
	ready("noecho");
	read_some(0, buf, sizeof buf - 1);
	OK(!strcmp(buf, "secret\n"), "echo off: the line still arrives");
	tcsetattr(0, TCSANOW, &saved);

	int isig_before = proc_counter("isig:", "SIGINT ");
	set_mode(ICANON | ECHO | ISIG, ICRNL, 1, 0);
	ready("raw");
	size_t got = 0;
	while (got < 3) {
		ssize_t r = read(0, buf + got, 3 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	OK(got == 3 && !memcmp(buf, "x\003\r", 3),
	   "raw: bytes as typed, ^C and CR untouched");
	IS(proc_counter("isig:", "SIGINT "), isig_before,
	   "raw: ^C raised no signal");

	set_mode(ICANON | ECHO, 0, 3, 0);
	ready("vmin");
	ssize_t r = read(0, buf, sizeof buf);
	IS(r, 3, "VMIN 3: one read returns 3 bytes");
	tcsetattr(0, TCSANOW, &saved);

	ready("fionread");
	int cnt = 0;
	for (long long end = now_ns() + 10000000000LL;
	     cnt < 5 && now_ns() < end; msleep(5))
		ioctl(0, FIONREAD, &cnt);
	IS(cnt, 5, "FIONREAD counts a typed line");
	read_some(0, buf, sizeof buf - 1);
	OK(!strcmp(buf, "abcd\n"), "the counted line is read");

	struct sigaction sa = {.sa_handler = on_int};
	sigaction(SIGINT, &sa, NULL);
	int sent_before = proc_counter("signals:", "sent ");
	isig_before = proc_counter("isig:", "SIGINT ");
	ready("isig");
	/* Compute, not read: the terminal must act on ^C by itself. */
	volatile unsigned long spin = 0;
	long long end = now_ns() + 10000000000LL;
	while (!got_int && proc_counter("isig:", "SIGINT ") == isig_before &&
	       now_ns() < end)
		for (int i = 0; i < 100000; i++)
			spin++;
	for (long long e2 = now_ns() + 2000000000LL; !got_int && now_ns() < e2;)
		spin++;
	IS(proc_counter("isig:", "SIGINT "), isig_before + 1,
	   "^C typed while computing is counted");
	IS(proc_counter("signals:", "sent "), sent_before + 1,
	   "SIGINT posted to the foreground group");
	IS(got_int, SIGINT, "the SIGINT handler ran");
	IS(ioctl(0, FIONREAD, &cnt) == 0 ? cnt : -1, 0,
	   "^C flushed the typed input");
	signal(SIGINT, SIG_DFL);
}

/* Children report through their exit status. */
static int child_bg_read(void *arg)
{
	int how = *(int *)arg;
	char c;
	if (setpgid(0, 0))
		return 10;
	if (how == 1)
		signal(SIGTTIN, SIG_IGN);
	if (how == 2) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGTTIN);
		sigprocmask(SIG_BLOCK, &s, NULL);
	}
	ssize_t r = read(0, &c, 1);
	return r == -1 && errno == EIO ? 0 : 20;
}

static int child_bg_write(void *arg)
{
	(void)arg;
	if (setpgid(0, 0))
		return 10;
	return write(1, "# background write\n", 19) == 19 ? 0 : 20;
}

static int child_sctty(void *arg)
{
	(void)arg;
	return ioctl(0, TIOCSCTTY, 0) == -1 && errno == EPERM ? 0 : 20;
}

/* Start a child that runs fn(arg) in a new group; stop_sig: expect it
 * stopped by that signal (then kill it), else its exit status. */
static int stopped_by(int (*fn)(void *), void *arg, int stop_sig)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0)
		return -3;
	int st = -1;
	long long end = now_ns() + 5000000000LL;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG | WUNTRACED);
		if (r == pid)
			break;
		if (now_ns() > end) {
			st = -1;
			break;
		}
		msleep(2);
	}
	kill(pid, SIGKILL);
	kill(pid, SIGCONT);
	waitpid(pid, NULL, 0);
	return st >= 0 && WIFSTOPPED(st) && WSTOPSIG(st) == stop_sig ? 0 : st;
}

static void test_job_control(void)
{
	pid_t pg = getpgrp(), sid = getsid(0);
	IS(tcgetpgrp(0), pg, "foreground group is ours");
	pid_t s = -1;
	SYS(ioctl(0, TIOCGSID, &s), "TIOCGSID");
	IS(s, sid, "terminal session is ours");
	IS(tcgetsid(0), sid, "tcgetsid");
	SYS(tcsetpgrp(0, pg), "tcsetpgrp to our own group");
	ERR(tcsetpgrp(0, -1), EINVAL, "tcsetpgrp -1");
	ERR(tcsetpgrp(0, 0x3ffffff), ESRCH, "tcsetpgrp to no group");

	/* A group of another session. */
	int p2c[2], c2p[2];
	pipe(p2c);
	pipe(c2p);
	pid_t other = fork();
	if (other == 0) {
		char c;
		setsid();
		write(c2p[1], "s", 1);
		read(p2c[0], &c, 1);
		_exit(0);
	}
	char c;
	read(c2p[0], &c, 1);
	ERR(tcsetpgrp(0, other), EPERM, "tcsetpgrp to another session");
	write(p2c[1], "x", 1);
	waitpid(other, NULL, 0);

	int how = 1;
	IS_EXIT(in_child(child_bg_read, &how, 5000), 0,
		"background read with SIGTTIN ignored: EIO");
	how = 2;
	IS_EXIT(in_child(child_bg_read, &how, 5000), 0,
		"background read with SIGTTIN blocked: EIO");
	how = 0;
	IS(stopped_by(child_bg_read, &how, SIGTTIN), 0,
	   "background read: stopped by SIGTTIN");
	IS(proc_counter("stopped:", "SIGTTIN ") > 0, 1, "SIGTTIN counted");
	IS_EXIT(in_child(child_bg_write, NULL, 5000), 0,
		"background write goes through (TOSTOP off)");
	struct termios t = saved;
	t.c_lflag |= TOSTOP;
	tcsetattr(0, TCSANOW, &t);
	IS(stopped_by(child_bg_write, NULL, SIGTTOU), 0,
	   "background write with TOSTOP: stopped by SIGTTOU");
	tcsetattr(0, TCSANOW, &saved);

	/* Hand the terminal to a child's group and take it back. */
	pipe(c2p);
	pid_t fg = fork();
	if (fg == 0) {
		setpgid(0, 0);
		write(c2p[1], "r", 1);
		for (long long e = now_ns() + 5000000000LL; now_ns() < e;
		     msleep(2))
			if (tcgetpgrp(0) == getpid())
				_exit(0);
		_exit(20);
	}
	setpgid(fg, fg);
	read(c2p[0], &c, 1);
	SYS(tcsetpgrp(0, fg), "tcsetpgrp to a child's group");
	IS_EXIT(wait_child(fg, 6000), 0, "the child sees itself in front");
	sigset_t ttou, old;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	SYS(tcsetpgrp(0, pg), "take the terminal back from the background");
	sigprocmask(SIG_SETMASK, &old, NULL);
	IS(tcgetpgrp(0), pg, "we are in front again");

	IS_EXIT(in_child(child_sctty, NULL, 5000), 0,
		"TIOCSCTTY from a non-leader: EPERM");
	signal(SIGHUP, SIG_IGN);
	SYS(ioctl(0, TIOCNOTTY), "TIOCNOTTY from the session leader");
	IS(proc_counter("session:", NULL), 0, "the terminal has no session");
	SYS(ioctl(0, TIOCSCTTY, 0), "TIOCSCTTY takes it again");
	IS(proc_counter("session:", NULL), sid, "... for our session");
	IS(tcgetpgrp(0), pg, "... with our group in front");
	signal(SIGHUP, SIG_DFL);
}

static int spin(void)
{
	ready("spin");
	volatile unsigned long n = 0;
	for (long long end = now_ns() + 20000000000LL; now_ns() < end;)
		n++;
	return 3;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "spin"))
		return spin();
	if (argc > 1 && !strcmp(argv[1], "raw-exit")) {
		struct termios t;
		tcgetattr(0, &t);
		cfmakeraw(&t);
		tcsetattr(0, TCSANOW, &t);
		return 0;
	}
	tap_init(argc, argv, "ttytest");
	test_termios();
	test_nonblock_and_timeouts();
	test_job_control();
	test_interactive();
	tcsetattr(0, TCSANOW, &saved);
	return tap_done();
}
