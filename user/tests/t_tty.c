/*
 * t_tty — the terminal on fd 0: isatty, ioctl TCGETS/TCSETS, TIOCGWINSZ,
 * TIOCGPGRP, and ENOTTY/EBADF for ioctls on other files. The terminal
 * points are skipped (with the reason) when fd 0 is not a terminal.
 */
#include "tap.h"

#include <sys/ioctl.h>
#include <termios.h>

static void test_not_tty(void)
{
	int p[2];
	pipe(p);
	struct termios t;
	IS(isatty(p[0]), 0, "isatty of a pipe is 0");
	ERR(ioctl(p[0], TCGETS, &t), ENOTTY, "TCGETS on a pipe");
	int fd = open("/dev/null", O_RDONLY);
	ERR(ioctl(fd, TCGETS, &t), ENOTTY, "TCGETS on /dev/null");
	close(fd);
	write_file("f", "x", 1);
	fd = open("f", O_RDONLY);
	errno = 0;
	OK(!isatty(fd) && errno == ENOTTY, "isatty of a file: 0, ENOTTY");
	close(fd);
	unlink("f");
	ERR(ioctl(9999, TCGETS, &t), EBADF, "TCGETS on a bad fd");
	close(p[0]);
	close(p[1]);
}

static const char *why = "fd 0 is not a terminal";

static void test_tty(void)
{
	int tty = isatty(0);
	if (!tty) {
		SKIP(why, "isatty(0)");
		SKIP(why, "TCGETS");
		SKIP(why, "TCSETS");
		SKIP(why, "TCSETS changed ECHO");
		SKIP(why, "TCSETS restores");
		SKIP(why, "TIOCGWINSZ");
		SKIP(why, "TIOCGPGRP");
		SKIP(why, "we are the foreground process group");
		SKIP(why, "tcgetattr on fd 1 and 2");
		SKIP(why, "write to the terminal");
		return;
	}
	OK(tty, "isatty(0)");
	struct termios t, t2;
	SYS(ioctl(0, TCGETS, &t), "TCGETS");
	t2 = t;
	t2.c_lflag ^= ECHO;
	SYS(ioctl(0, TCSETS, &t2), "TCSETS");
	struct termios t3;
	ioctl(0, TCGETS, &t3);
	IS(t3.c_lflag & ECHO, t2.c_lflag & ECHO, "TCSETS changed ECHO");
	ioctl(0, TCSETS, &t);
	ioctl(0, TCGETS, &t3);
	IS(t3.c_lflag, t.c_lflag, "TCSETS restores");
	struct winsize ws = {0, 0, 0, 0};
	SYS(ioctl(0, TIOCGWINSZ, &ws), "TIOCGWINSZ");
	tap_diag("window %ux%u", ws.ws_col, ws.ws_row);
	/* TIOCGPGRP answers only on the caller's controlling terminal. */
	pid_t pg = 0;
	if (ioctl(0, TIOCGPGRP, &pg) == -1 && errno == ENOTTY) {
		SKIP("fd 0 is not our controlling terminal", "TIOCGPGRP");
		SKIP("fd 0 is not our controlling terminal",
		     "we are the foreground process group");
	} else {
		SYS(ioctl(0, TIOCGPGRP, &pg), "TIOCGPGRP");
		IS(pg, getpgrp(), "we are the foreground process group");
	}
	OK(tcgetattr(1, &t3) == 0 && tcgetattr(2, &t3) == 0,
	   "tcgetattr on fd 1 and 2");
	IS(write(1, "# tty write\n", 12), 12, "write to the terminal");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_tty");
	test_not_tty();
	test_tty();
	return tap_done();
}
