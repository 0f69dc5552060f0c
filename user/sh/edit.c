/*
 * edit.c — reading command lines: the line editor and the history.
 *
 * At the prompt the terminal is in raw mode (no ICANON, ECHO, ISIG, IEXTEN,
 * ICRNL, IXON; output processing untouched) and the editor echoes what is
 * typed itself; before a command runs the modes found on entry are put
 * back. The output is kept plain for serial consoles and for tests that
 * read the echo: a character typed at the end of the line is echoed as is,
 * nothing else; edits in the middle rewrite only the tail of the line and
 * step back with '\b'; only history recall and ^L redraw the whole line. A
 * newline is "\r\n" unless the terminal adds the '\r' (OPOST and ONLCR).
 * CR and LF both end the line. Lines are bytes: the cursor arithmetic
 * assumes one column per byte (ASCII) and a line shorter than the screen.
 *
 * Without a usable terminal (tcgetattr or tcsetattr fails: not a tty, or
 * the kernel answers ENOTTY/ENOSYS) lines are read plainly, a byte at a
 * time so that input after the line stays for the commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sh.h"
#include "shoal.h"

#define HISTORY_MAX 500

static struct strv history;

void history_add(const char *line)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return;
	if (history.n && !strcmp(history.v[history.n - 1], line))
		return;
	if (history.n == HISTORY_MAX) {
		free(history.v[0]);
		memmove(history.v, history.v + 1,
			(history.n - 1) * sizeof *history.v);
		history.n--;
	}
	strv_add(&history, xstrdup(line));
}

void history_print(void)
{
	for (int i = 0; i < history.n; i++)
		printf("%5d  %s\n", i + 1, history.v[i]);
}

/* ------------------------------------------------------------- terminal */

static struct termios cooked; /* the modes found on entry to the editor */
static int in_raw;

void tty_restore(void)
{
	if (sh.ttyfd < 0)
		return;
	if (in_raw) {
		tcsetattr(sh.ttyfd, TCSADRAIN, &cooked);
		in_raw = 0;
	} else if (sh.editing) {
		tcsetattr(sh.ttyfd, TCSADRAIN, &sh.tmodes);
	}
}

static int tty_raw(void)
{
	if (tcgetattr(sh.ttyfd, &cooked) < 0)
		return -1;
	sh.tmodes = cooked;
	struct termios raw = cooked;
	raw.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(ICRNL | INLCR | IGNCR | IXON);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(sh.ttyfd, TCSADRAIN, &raw) < 0)
		return -1;
	in_raw = 1;
	return 0;
}

/* ---------------------------------------------------------------- editor */

struct editor {
	struct str line;
	size_t pos; /* the cursor, 0..line.len */
	struct str out; /* pending output, written once per key */
	const char *prompt;
	int crlf; /* we write "\r\n" ourselves */
	int hist; /* history index being shown; history.n = new */
	char *scratch; /* the new line while browsing history */
};

static void out_n(struct editor *e, const char *s, size_t n)
{
	str_addn(&e->out, s, n);
}

static void out_s(struct editor *e, const char *s)
{
	out_n(e, s, strlen(s));
}

static void out_rep(struct editor *e, char c, size_t n)
{
	while (n--)
		str_addc(&e->out, c);
}

static void newline(struct editor *e)
{
	out_s(e, e->crlf ? "\r\n" : "\n");
}

static void flush(struct editor *e)
{
	size_t done = 0;
	while (done < e->out.len) {
		ssize_t w = write(sh.ttyfd, e->out.s + done, e->out.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += w;
	}
	e->out.len = 0;
}

/* Rewrite from the cursor to the end, blank `erased` more columns, and put
 * the cursor back. */
static void redraw_tail(struct editor *e, size_t erased)
{
	size_t n = e->line.len - e->pos;
	out_n(e, e->line.s + e->pos, n);
	out_rep(e, ' ', erased);
	out_rep(e, '\b', n + erased);
}

static void insert(struct editor *e, char c)
{
	str_addc(&e->line, 0);
	memmove(e->line.s + e->pos + 1, e->line.s + e->pos,
		e->line.len - 1 - e->pos);
	e->line.s[e->pos] = c;
	e->line.s[e->line.len] = 0;
	out_n(e, &c, 1);
	e->pos++;
	if (e->pos < e->line.len)
		redraw_tail(e, 0);
}

/* Delete n characters starting at from (the cursor is at from + back). */
static void delete_range(struct editor *e, size_t from, size_t n)
{
	if (!n)
		return;
	out_rep(e, '\b', e->pos - from);
	e->pos = from;
	memmove(e->line.s + from, e->line.s + from + n,
		e->line.len - from - n + 1);
	e->line.len -= n;
	redraw_tail(e, n);
}

static void move_to(struct editor *e, size_t pos)
{
	if (pos < e->pos)
		out_rep(e, '\b', e->pos - pos);
	else
		out_n(e, e->line.s + e->pos, pos - e->pos);
	e->pos = pos;
}

static void kill_line(struct editor *e)
{
	move_to(e, 0);
	out_rep(e, ' ', e->line.len);
	out_rep(e, '\b', e->line.len);
	e->line.len = 0;
	e->line.s[0] = 0;
}

static void replace_line(struct editor *e, const char *text)
{
	kill_line(e);
	str_adds(&e->line, text);
	e->pos = e->line.len;
	out_s(e, text);
}

static void history_step(struct editor *e, int dir)
{
	int to = e->hist + dir;
	if (to < 0 || to > history.n)
		return;
	if (e->hist == history.n) {
		free(e->scratch);
		e->scratch = xstrdup(e->line.s);
	}
	e->hist = to;
	replace_line(e, to == history.n ? e->scratch : history.v[to]);
}

static void kill_word(struct editor *e)
{
	size_t p = e->pos;
	while (p > 0 && e->line.s[p - 1] == ' ')
		p--;
	while (p > 0 && e->line.s[p - 1] != ' ')
		p--;
	delete_range(e, p, e->pos - p);
}

/* Bytes the terminal echoed before the editor took over (see below). */
static int typed_ahead;

static int read_byte(char *c)
{
	for (;;) {
		ssize_t r = read(sh.ttyfd, c, 1);
		if (r == 1) {
			if (typed_ahead > 0)
				typed_ahead--;
			return 0;
		}
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

/* After ESC: the arrows and Home/End/Delete of xterm and VT100. */
static void escape(struct editor *e)
{
	char c, final;
	int num = 0;
	if (read_byte(&c) || (c != '[' && c != 'O'))
		return;
	do {
		if (read_byte(&final))
			return;
		if (final >= '0' && final <= '9')
			num = num * 10 + (final - '0');
	} while ((final >= '0' && final <= '9') || final == ';');
	switch (final) {
	case 'A':
		history_step(e, -1);
		break;
	case 'B':
		history_step(e, 1);
		break;
	case 'C':
		if (e->pos < e->line.len)
			move_to(e, e->pos + 1);
		break;
	case 'D':
		if (e->pos > 0)
			move_to(e, e->pos - 1);
		break;
	case 'H':
		move_to(e, 0);
		break;
	case 'F':
		move_to(e, e->line.len);
		break;
	case '~':
		if (num == 1 || num == 7)
			move_to(e, 0);
		else if (num == 4 || num == 8)
			move_to(e, e->line.len);
		else if (num == 3 && e->pos < e->line.len)
			delete_range(e, e->pos, 1);
		break;
	}
}

enum { KEY_DONE, KEY_EOF, KEY_INTR, KEY_MORE };

static int key(struct editor *e, char c)
{
	switch (c) {
	case '\r':
	case '\n':
		move_to(e, e->line.len);
		newline(e);
		return KEY_DONE;
	case 4: /* ^D */
		if (!e->line.len) {
			return KEY_EOF;
		}
		if (e->pos < e->line.len)
			delete_range(e, e->pos, 1);
		break;
	case 3: /* ^C */
		move_to(e, e->line.len);
		out_s(e, "^C");
		newline(e);
		return KEY_INTR;
	case 0x7f:
	case '\b':
		if (e->pos > 0)
			delete_range(e, e->pos - 1, 1);
		break;
	case 1: /* ^A */
		move_to(e, 0);
		break;
	case 5: /* ^E */
		move_to(e, e->line.len);
		break;
	case 2: /* ^B */
		if (e->pos > 0)
			move_to(e, e->pos - 1);
		break;
	case 6: /* ^F */
		if (e->pos < e->line.len)
			move_to(e, e->pos + 1);
		break;
	case 0x0b: /* ^K */
		delete_range(e, e->pos, e->line.len - e->pos);
		break;
	case 0x15: /* ^U */
		kill_line(e);
		break;
	case 0x17: /* ^W */
		kill_word(e);
		break;
	case 0x0c: /* ^L */
		out_s(e, "\033[H\033[2J");
		out_s(e, e->prompt);
		out_n(e, e->line.s, e->line.len);
		out_rep(e, '\b', e->line.len - e->pos);
		break;
	case 0x10: /* ^P */
		history_step(e, -1);
		break;
	case 0x0e: /* ^N */
		history_step(e, 1);
		break;
	case 033:
		escape(e);
		break;
	default:
		if ((unsigned char)c >= 0x20)
			insert(e, c);
		break;
	}
	return KEY_MORE;
}

/* A line without the editor: stdin, a byte at a time. */
static char *plain_readline(const char *prompt)
{
	if (sh.interactive && prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	struct str line = {0};
	str_addn(&line, "", 0);
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (line.len)
				break;
			str_free(&line);
			return NULL;
		}
		if (c == '\n')
			break;
		str_addc(&line, c);
	}
	if (line.len && line.s[line.len - 1] == '\r')
		line.s[--line.len] = 0;
	return line.s;
}

int edit_interrupted;

char *edit_readline(const char *prompt)
{
	edit_interrupted = 0;
	if (!sh.editing)
		return plain_readline(prompt);
	if (tty_raw() < 0) {
		sh.editing = 0;
		return plain_readline(prompt);
	}
	struct editor e = {.prompt = prompt, .hist = history.n};
	e.crlf = !((cooked.c_oflag & OPOST) && (cooked.c_oflag & ONLCR));
	str_addn(&e.line, "", 0);
	/* Typed ahead while a command ran: the terminal echoed it already
	 * (cooked mode), so it is taken in silently, without a prompt
	 * between the echo and the command's output. Shoal's terminal says
	 * exactly how much it echoed: bytes that came after tty_raw were not
	 * echoed and go through the editor. Elsewhere all that is waiting
	 * counts (a byte typed just as raw mode began is then not shown). */
	if (ioctl(sh.ttyfd, SHOAL_TIOCECHOED, &typed_ahead) < 0 &&
	    ioctl(sh.ttyfd, FIONREAD, &typed_ahead) < 0)
		typed_ahead = 0;
	if (typed_ahead <= 0)
		out_s(&e, prompt);
	flush(&e);
	int r = KEY_MORE;
	while (r == KEY_MORE) {
		char c;
		int quiet = typed_ahead > 0;
		if (read_byte(&c)) {
			r = KEY_EOF;
			break;
		}
		r = key(&e, c);
		if (quiet)
			e.out.len = 0;
		flush(&e);
	}
	tty_restore();
	free(e.scratch);
	str_free(&e.out);
	if (r == KEY_EOF) {
		str_free(&e.line);
		return NULL;
	}
	if (r == KEY_INTR) {
		edit_interrupted = 1;
		sh.status = 130;
		e.line.s[0] = 0;
	}
	return e.line.s;
}
