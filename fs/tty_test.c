/*
 * tty_test.c — self-tests of the terminal's line discipline (run with
 * `selftest=tty`): a terminal whose output goes to a buffer is fed bytes
 * with tty_receive and read as a kernel thread, so canonical editing,
 * echo, ^C, end of file, raw mode with VMIN/VTIME, mode switches, output
 * processing and the ioctls are checked without the UART or a process.
 */
#include "arch/x86/arch.h"
#include "fs/tty_impl.h"
#include "vm/vm.h"

struct capture {
	char buf[2048];
	size_t n;
};

static void capture_out(void *arg, const char *s, size_t n)
{
	struct capture *c = arg;
	size_t room = sizeof c->buf - 1 - c->n;
	n = MIN(n, room);
	memcpy(c->buf + c->n, s, n);
	c->n += n;
	c->buf[c->n] = 0;
}

/* A fresh terminal (heap: struct tty holds a 4 KiB ring and its flags). */
static struct tty *test_tty(struct capture *cap)
{
	struct tty *t = kzalloc(sizeof *t);
	if (t) {
		memset(cap, 0, sizeof *cap);
		tty_setup(t, "test", capture_out, cap);
	}
	return t;
}

static void feed(struct tty *t, const char *s)
{
	tty_receive(t, s, strlen(s));
}

/* Read what is there without waiting; "" (0) when nothing. */
static int64_t take(struct tty *t, char *buf, size_t len)
{
	int64_t n = tty_read(t, buf, len - 1, true);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

static int set_lflag(struct tty *t, uint32_t clear, uint32_t set, int vmin,
		     int vtime)
{
	struct linux_termios tio;
	tty_ioctl_kernel(t, NULL, TCGETS, 0, &tio);
	tio.c_lflag = (tio.c_lflag & ~clear) | set;
	tio.c_cc[VMIN] = (uint8_t)vmin;
	tio.c_cc[VTIME] = (uint8_t)vtime;
	return tty_ioctl_kernel(t, NULL, TCSETS, 0, &tio);
}

SELFTEST(tty_defaults_ioctls)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	struct linux_termios tio;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCGETS, 0, &tio) == 0);
	ST_ASSERT(tio.c_iflag == ICRNL);
	ST_ASSERT(tio.c_oflag == (OPOST | ONLCR));
	uint32_t want = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL |
			ECHOKE | IEXTEN;
	ST_ASSERT(tio.c_lflag == want);
	ST_ASSERT(tio.c_cc[VINTR] == 3 && tio.c_cc[VQUIT] == 0x1c &&
		  tio.c_cc[VERASE] == 0x7f && tio.c_cc[VKILL] == 0x15 &&
		  tio.c_cc[VEOF] == 4 && tio.c_cc[VSUSP] == 0x1a &&
		  tio.c_cc[VWERASE] == 0x17 && tio.c_cc[VMIN] == 1 &&
		  tio.c_cc[VTIME] == 0);
	struct linux_winsize ws;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TIOCGWINSZ, 0, &ws) == 0);
	ST_ASSERT(ws.ws_row == 24 && ws.ws_col == 80);
	ws.ws_row = 50;
	ws.ws_col = 132;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TIOCSWINSZ, 0, &ws) == 0);
	memset(&ws, 0, sizeof ws);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TIOCGWINSZ, 0, &ws) == 0);
	ST_ASSERT(ws.ws_row == 50 && ws.ws_col == 132);
	/* Round trip of a changed termios. */
	tio.c_lflag &= ~(uint32_t)ECHO;
	tio.c_cc[VINTR] = 0x18;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCSETSW, 0, &tio) == 0);
	struct linux_termios back;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCGETS, 0, &back) == 0);
	ST_ASSERT(!memcmp(&tio, &back, sizeof tio));
	/* Input counts, flushes. */
	feed(t, "one\ntwo");
	int cnt = -1;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, FIONREAD, 0, &cnt) == 0);
	ST_ASSERT(cnt == 4);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCFLSH, 3, NULL) == -EINVAL);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCFLSH, TCIFLUSH, NULL) == 0);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, FIONREAD, 0, &cnt) == 0);
	ST_ASSERT(cnt == 0);
	feed(t, "x\n");
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCSETSF, 0, &tio) == 0);
	char buf[64];
	ST_ASSERT(take(t, buf, sizeof buf) == -EAGAIN);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCXONC, 1, NULL) == 0);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TCXONC, 9, NULL) == -EINVAL);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, 0x1234, 0, NULL) == -ENOTTY);
	/* No process: the job-control calls have no terminal to talk about. */
	ST_ASSERT(tty_ioctl_kernel(t, NULL, TIOCGPGRP, 0, &cnt) == -ENOTTY);
	kfree(t);
	return 0;
}

/* What a line editor sees when it switches to raw mode after a command:
 * the bytes typed ahead in cooked mode were echoed, later ones were not. */
SELFTEST(tty_typed_ahead_echo)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	feed(t, "ls\nech");
	ST_ASSERT(!strcmp(cap.buf, "ls\r\nech"));
	ST_ASSERT(set_lflag(t, ICANON | ECHO, 0, 1, 0) == 0);
	feed(t, "o x");
	ST_ASSERT(!strcmp(cap.buf, "ls\r\nech"));
	int echoed = -1, all = -1;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, SHOAL_TIOCECHOED, 0, &echoed) == 0);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, FIONREAD, 0, &all) == 0);
	ST_ASSERT(echoed == 6 && all == 9);
	char buf[64];
	ST_ASSERT(take(t, buf, 5) == 4 && !strcmp(buf, "ls\ne"));
	ST_ASSERT(tty_ioctl_kernel(t, NULL, SHOAL_TIOCECHOED, 0, &echoed) == 0);
	ST_ASSERT(echoed == 2);
	ST_ASSERT(take(t, buf, sizeof buf) == 5);
	ST_ASSERT(tty_ioctl_kernel(t, NULL, SHOAL_TIOCECHOED, 0, &echoed) == 0);
	ST_ASSERT(echoed == 0);
	kfree(t);
	return 0;
}

SELFTEST(tty_canonical_editing)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	char buf[128];
	/* Nothing is readable before the line ends; then exactly one line. */
	feed(t, "ab\x7f");
	ST_ASSERT(take(t, buf, sizeof buf) == -EAGAIN);
	feed(t, "c\rsecond\r");
	ST_ASSERT(!strcmp(cap.buf, "ab\b \bc\r\nsecond\r\n"));
	ST_ASSERT(take(t, buf, sizeof buf) == 3 && !strcmp(buf, "ac\n"));
	/* A short read leaves the rest of the line for the next one. */
	ST_ASSERT(take(t, buf, 4) == 3 && !strcmp(buf, "sec"));
	ST_ASSERT(take(t, buf, sizeof buf) == 4 && !strcmp(buf, "ond\n"));
	/* ^H erases too; ^U kills the line visually; ^W a word. */
	cap.n = 0;
	feed(t, "xy\b");
	ST_ASSERT(!strcmp(cap.buf, "xy\b \b"));
	feed(t, "\x15"
		"foo bar  \x17"
		"baz\n");
	ST_ASSERT(take(t, buf, sizeof buf) == 8 && !strcmp(buf, "foo baz\n"));
	/* Control characters echo as ^X and erase two columns. */
	cap.n = 0;
	feed(t, "\x01\x7f\x02\n");
	ST_ASSERT(!strcmp(cap.buf, "^A\b \b\b \b^B\r\n"));
	ST_ASSERT(take(t, buf, sizeof buf) == 2 && buf[0] == 2);
	/* A tab is erased back to its column. */
	cap.n = 0;
	feed(t, "ab\t\x7f\x7f\x7f\x7f\n");
	ST_ASSERT(!strcmp(cap.buf, "ab\t\b\b\b\b\b\b\b \b\b \b\r\n"));
	ST_ASSERT(take(t, buf, sizeof buf) == 1 && !strcmp(buf, "\n"));
	/* ^D ends a line without being read; alone it is end of file. */
	feed(t, "abc\x04");
	ST_ASSERT(take(t, buf, sizeof buf) == 3 && !strcmp(buf, "abc"));
	feed(t, "\x04");
	ST_ASSERT(take(t, buf, sizeof buf) == 0);
	ST_ASSERT(take(t, buf, sizeof buf) == -EAGAIN);
	/* ^V takes the next byte literally. */
	feed(t, "\x16\x15\n");
	ST_ASSERT(take(t, buf, sizeof buf) == 2 && buf[0] == 0x15);
	/* Echo off: nothing shown, the line still edited. */
	ST_ASSERT(set_lflag(t, ECHO, 0, 1, 0) == 0);
	cap.n = 0;
	cap.buf[0] = 0;
	feed(t, "pw\x7fW\r");
	ST_ASSERT(cap.n == 0);
	ST_ASSERT(take(t, buf, sizeof buf) == 3 && !strcmp(buf, "pW\n"));
	/* A full line buffer drops bytes but still takes the line end. */
	for (int i = 0; i < TTY_BUF + 10; i++)
		feed(t, "z");
	feed(t, "\n");
	int cnt = 0;
	ST_ASSERT(tty_ioctl_kernel(t, NULL, FIONREAD, 0, &cnt) == 0);
	ST_ASSERT(cnt == TTY_BUF && t->st.dropped == 11);
	kfree(t);
	return 0;
}

SELFTEST(tty_isig)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	char buf[64];
	feed(t, "done\npartial\x03");
	ST_ASSERT(!strcmp(cap.buf, "done\r\npartial^C"));
	ST_ASSERT(t->st.isig[0] == 1 && t->intr_seq == 1);
	/* All unread input is flushed, the complete line too. */
	ST_ASSERT(take(t, buf, sizeof buf) == -EAGAIN);
	feed(t, "\x1c\x1a");
	ST_ASSERT(t->st.isig[1] == 1 && t->st.isig[2] == 1);
	/* No foreground group: nothing is posted. */
	ST_ASSERT(t->st.sent == 0);
	/* Without ISIG ^C is data. */
	ST_ASSERT(set_lflag(t, ISIG, 0, 1, 0) == 0);
	feed(t, "\x03\n");
	ST_ASSERT(take(t, buf, sizeof buf) == 2 && buf[0] == 3);
	kfree(t);
	return 0;
}

struct reader {
	struct tty *t;
	volatile int64_t rc;
	volatile bool done;
};

static void reader_thread(void *arg)
{
	struct reader *r = arg;
	char buf[16];
	r->rc = tty_read(r->t, buf, sizeof buf, false);
	r->done = true;
	thread_exit();
}

SELFTEST(tty_kernel_reader_interrupted)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	struct reader r = {t, 0, false};
	ST_ASSERT(thread_create("ttytest", reader_thread, &r));
	for (int i = 0; i < 10 && !r.done; i++)
		thread_sleep_ns(1000000);
	ST_ASSERT(!r.done); /* blocked: no line yet */
	feed(t, "x\x03");
	for (int i = 0; i < 1000 && !r.done; i++)
		thread_sleep_ns(1000000);
	ST_ASSERT(r.done && r.rc == -EINTR);
	/* A line wakes a blocked reader. */
	r.done = false;
	ST_ASSERT(thread_create("ttytest", reader_thread, &r));
	thread_sleep_ns(2000000);
	feed(t, "go\r");
	for (int i = 0; i < 1000 && !r.done; i++)
		thread_sleep_ns(1000000);
	ST_ASSERT(r.done && r.rc == 3);
	kfree(t);
	return 0;
}

SELFTEST(tty_raw_modes)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	char buf[64];
	/* VMIN 1: bytes are readable one by one, no echo, no editing. */
	ST_ASSERT(set_lflag(t, ICANON | ECHO, 0, 1, 0) == 0);
	feed(t, "xy\x7fz");
	ST_ASSERT(cap.n == 0);
	ST_ASSERT(tty_read(t, buf, 2, false) == 2 && !memcmp(buf, "xy", 2));
	ST_ASSERT(take(t, buf, sizeof buf) == 2 && !strcmp(buf, "\x7fz"));
	/* ICRNL still applies; ISIG too. */
	feed(t, "\r");
	ST_ASSERT(take(t, buf, sizeof buf) == 1 && buf[0] == '\n');
	/* VMIN 0, VTIME 0: returns at once, even with nothing. */
	ST_ASSERT(set_lflag(t, ICANON | ECHO, 0, 0, 0) == 0);
	ST_ASSERT(tty_read(t, buf, sizeof buf, false) == 0);
	ST_ASSERT(tty_read(t, buf, sizeof buf, true) == 0);
	/* VMIN 0, VTIME 1: 0 after a tenth of a second. */
	ST_ASSERT(set_lflag(t, ICANON | ECHO, 0, 0, 1) == 0);
	uint64_t t0 = time_ns();
	ST_ASSERT(tty_read(t, buf, sizeof buf, false) == 0);
	uint64_t dt = time_ns() - t0;
	ST_ASSERT(dt >= 90000000ull && dt < 2000000000ull);
	feed(t, "q");
	ST_ASSERT(tty_read(t, buf, sizeof buf, false) == 1 && buf[0] == 'q');
	/* VMIN 3, VTIME 1: inter-byte timer after the first byte. */
	ST_ASSERT(set_lflag(t, ICANON | ECHO, 0, 3, 1) == 0);
	feed(t, "ab");
	ST_ASSERT(tty_read(t, buf, sizeof buf, false) == 2);
	/* Raw bytes left unread become one line in canonical mode. */
	ST_ASSERT(set_lflag(t, ICANON | ECHO, 0, 1, 0) == 0);
	feed(t, "left");
	ST_ASSERT(set_lflag(t, 0, ICANON | ECHO, 1, 0) == 0);
	ST_ASSERT(take(t, buf, sizeof buf) == 4 && !strcmp(buf, "left"));
	kfree(t);
	return 0;
}

SELFTEST(tty_output_processing)
{
	struct capture cap;
	struct tty *t = test_tty(&cap);
	ST_ASSERT(t);
	ST_ASSERT(tty_write(t, "a\nb", 3) == 3);
	ST_ASSERT(!strcmp(cap.buf, "a\r\nb"));
	struct linux_termios tio;
	tty_ioctl_kernel(t, NULL, TCGETS, 0, &tio);
	tio.c_oflag = 0;
	tty_ioctl_kernel(t, NULL, TCSETS, 0, &tio);
	cap.n = 0;
	ST_ASSERT(tty_write(t, "a\nb", 3) == 3);
	ST_ASSERT(!strcmp(cap.buf, "a\nb"));
	tio.c_oflag = OPOST | ONLCR | XTABS;
	tty_ioctl_kernel(t, NULL, TCSETS, 0, &tio);
	cap.n = 0;
	ST_ASSERT(tty_write(t, "\nab\tc", 5) == 5);
	ST_ASSERT(!strcmp(cap.buf, "\r\nab      c"));
	/* The /proc text names the flags. */
	char text[1024];
	ST_ASSERT(tty_format(t, text, sizeof text) > 0);
	const char *want = "oflag:    0014005 OPOST ONLCR XTABS\n";
	bool found = false;
	for (const char *p = text; *p && !found; p++)
		found = !strncmp(p, want, strlen(want));
	ST_ASSERT(found);
	kfree(t);
	return 0;
}
