/*
 * tty.c — the console terminal: a Linux-compatible tty on COM1 with
 * termios, canonical and raw input, echo, ISIG signals and job control.
 *
 * Interface (fs/vfs.h): tty_init (from devfs_init: the console tty, its
 * input thread, /dev/console 5:1, /dev/ttyS0 4:64, /dev/tty 5:0 and
 * /proc/tty/console), tty_console, tty_read_line and tty_reclaim (the
 * kernel monitor). fs/tty_impl.h: the termios ABI and the entry points the
 * self-tests drive a terminal through.
 *
 * Input is processed when it arrives, not when someone reads: a kernel
 * thread ("tty0") sleeps on the UART's receive queue and feeds each byte
 * to tty_receive, which edits the line, echoes, and turns ^C ^\ ^Z into
 * SIGINT/SIGQUIT/SIGTSTP for the foreground process group — so ^C reaches
 * a program that is computing, not reading. Signals are posted after the
 * terminal's spinlock is dropped (proc_signal_pgrp may not run with it).
 *
 * Job control: the terminal belongs to at most one session (t->sid) and
 * has a foreground group (t->pgrp). As with Linux's /dev/console, opening
 * it never makes it a controlling terminal (every process's fds 0-2 are
 * opened by the kernel anyway): a session leader takes it with TIOCSCTTY
 * (init's shell does), or the kernel monitor hands it to the program it
 * runs (tty_set_session) and takes it back when the program ends
 * (tty_reclaim: no session, default termios). /dev/tty is the console for
 * everyone. A read from another group of the terminal's session sends
 * SIGTTIN to the reader's group and returns -ERESTARTSYS (-EIO when
 * SIGTTIN is blocked or ignored); writes from the background go through
 * unless TOSTOP is set. Processes of other sessions are not checked. A
 * process whose pgid/sid are 0 counts as its own group and session.
 *
 * Invariants: see struct tty in fs/tty_impl.h (the ring indices, TF_EOL
 * marks, the lock order). Echo and output are written with the spinlock
 * held, so an echoed line end is on the wire before its reader wakes.
 */
#include "fs/tty_impl.h"

#include "arch/x86/arch.h"
#include "kern/proc.h"
#include "kern/syscall.h"

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGCONT 18
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGWINCH 28
#define SIG_IGN 1

#define MASK(i) ((i) & (TTY_BUF - 1))

static struct tty console;

static bool is_cntrl(int c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_word(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '_';
}

static const struct linux_termios default_termios = {
	.c_iflag = ICRNL,
	.c_oflag = OPOST | ONLCR,
	.c_cflag = B115200 | CS8 | CREAD | HUPCL | CLOCAL,
	.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE |
		   IEXTEN,
	.c_cc =
		{
			[VINTR] = 0x03,
			[VQUIT] = 0x1c,
			[VERASE] = 0x7f,
			[VKILL] = 0x15,
			[VEOF] = 0x04,
			[VTIME] = 0,
			[VMIN] = 1,
			[VSTART] = 0x11,
			[VSTOP] = 0x13,
			[VSUSP] = 0x1a,
			[VREPRINT] = 0x12,
			[VDISCARD] = 0x0f,
			[VWERASE] = 0x17,
			[VLNEXT] = 0x16,
		},
};

/* ------------------------------------------------------------ output */

/* t->lock held. Output bytes as they are, keeping the column. */
static void put_raw(struct tty *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			t->col = 0;
		else if (c == '\b')
			t->col -= t->col > 0;
		else if (c == '\t')
			t->col = (t->col | 7) + 1;
		else if (!is_cntrl(c))
			t->col++;
	}
	t->out(t->out_arg, s, n);
	t->st.tx += n;
}

/* t->lock held. Output with c_oflag's processing (OPOST). */
static void put_post(struct tty *t, const char *s, size_t n)
{
	uint32_t of = t->tio.c_oflag;
	if (!(of & OPOST)) {
		put_raw(t, s, n);
		return;
	}
	char tmp[128];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k > sizeof tmp - 8) {
			put_raw(t, tmp, k);
			k = 0;
		}
		char c = s[i];
		unsigned col = t->col;
		if (c == '\n' && (of & ONLCR)) {
			tmp[k++] = '\r';
		} else if (c == '\r') {
			if ((of & ONOCR) && col == 0)
				continue;
			if (of & OCRNL)
				c = '\n';
		} else if (c == '\t' && (of & TABDLY) == XTABS) {
			/* The column is the one before tmp's bytes go out. */
			put_raw(t, tmp, k);
			k = 0;
			do
				tmp[k++] = ' ';
			while ((t->col + k) & 7);
			continue;
		} else if ((of & OLCUC) && c >= 'a' && c <= 'z') {
			c = (char)(c - 'a' + 'A');
		}
		tmp[k++] = c;
		if (c == '\n' && (of & ONLRET)) {
			put_raw(t, tmp, k);
			k = 0;
		}
	}
	put_raw(t, tmp, k);
}

/* t->lock held. Echo one input byte: a control character as ^X under
 * ECHOCTL (not tab or newline), else as itself. */
static void echo_char(struct tty *t, int c)
{
	if (!(t->tio.c_lflag & ECHO))
		return;
	if ((t->tio.c_lflag & ECHOCTL) && is_cntrl(c) && c != '\t' &&
	    c != '\n') {
		char s[2] = {'^', (char)(c ^ 0x40)};
		put_post(t, s, 2);
	} else {
		char ch = (char)c;
		put_post(t, &ch, 1);
	}
}

/* ------------------------------------------------------------ input */

/* What tty_receive does once the lock is dropped. */
struct rx_after {
	int sig, pgrp; /* post sig to group pgrp */
	bool wake;
};

static bool readable(const struct tty *t)
{
	return t->chead != t->rtail;
}

/* t->lock held. Flush input that is not yet read, or all of it. */
static void flush_input(struct tty *t)
{
	t->head = t->chead = t->rtail;
	t->lnext = false;
}

/* t->lock held. Append c (flagged) to the ring; false if it is full. */
static bool store(struct tty *t, int c, uint8_t flags)
{
	uint32_t used = t->head - t->rtail;
	/* In canonical mode a line end always fits. */
	bool canon = t->tio.c_lflag & ICANON;
	if (used >= TTY_BUF ||
	    (canon && !(flags & TF_EOL) && used >= TTY_BUF - 1)) {
		t->st.dropped++;
		return false;
	}
	t->buf[MASK(t->head)] = (char)c;
	t->flags[MASK(t->head)] = flags;
	t->head++;
	if (!canon || (flags & TF_EOL))
		t->chead = t->head;
	return true;
}

/* t->lock held. The display width of the edited line up to (not
 * including) index end, starting at canon_col. */
static unsigned line_col(const struct tty *t, uint32_t end)
{
	unsigned col = t->canon_col;
	for (uint32_t i = t->chead; i != end; i++) {
		int c = (unsigned char)t->buf[MASK(i)];
		if (c == '\t')
			col = (col | 7) + 1;
		else if (is_cntrl(c))
			col += (t->tio.c_lflag & ECHOCTL) ? 2 : 0;
		else
			col++;
	}
	return col;
}

enum { ERASE, WERASE, KILL };

/* t->lock held. The erase, word-erase and kill characters (Linux's
 * eraser): remove from the edited line and rub it out on the screen. */
static void erase(struct tty *t, int c, int kind)
{
	uint32_t lf = t->tio.c_lflag;
	if (t->head == t->chead)
		return;
	if (kind == KILL && (!(lf & ECHO) || !(lf & ECHOK) || !(lf & ECHOKE) ||
			     !(lf & ECHOE))) {
		t->head = t->chead;
		echo_char(t, c);
		if ((lf & ECHO) && (lf & ECHOK))
			put_post(t, "\n", 1);
		return;
	}
	bool seen_word = false;
	while (t->head != t->chead) {
		int ch = (unsigned char)t->buf[MASK(t->head - 1)];
		if (kind == WERASE) {
			if (is_word(ch))
				seen_word = true;
			else if (seen_word)
				break;
		}
		t->head--;
		if (!(lf & ECHO)) {
			;
		} else if (!(lf & ECHOE)) {
			echo_char(t, c);
		} else if (ch == '\t') {
			unsigned col = line_col(t, t->head);
			while (t->col > col)
				put_raw(t, "\b", 1);
		} else if (is_cntrl(ch)) {
			if (lf & ECHOCTL)
				put_raw(t, "\b \b\b \b", 6);
		} else {
			put_raw(t, "\b \b", 3);
		}
		if (kind == ERASE)
			break;
	}
}

/* t->lock held. One input byte through the line discipline. */
static void receive_byte(struct tty *t, int c, struct rx_after *a)
{
	uint32_t in = t->tio.c_iflag, lf = t->tio.c_lflag;
	const uint8_t *cc = t->tio.c_cc;
	t->st.rx++;
	if (in & ISTRIP)
		c &= 0x7f;
	if (t->lnext) {
		t->lnext = false;
		if ((lf & ECHO) && (lf & ECHOCTL))
			put_raw(t, "\b", 1); /* over the '^' shown for ^V */
		goto plain;
	}
	if (c == '\r') {
		if (in & IGNCR)
			return;
		if (in & ICRNL)
			c = '\n';
	} else if (c == '\n' && (in & INLCR)) {
		c = '\r';
	}
#define IS(idx) (cc[idx] != 0 && c == cc[idx])
	if (lf & ISIG) {
		int sig = IS(VINTR)   ? SIGINT
			  : IS(VQUIT) ? SIGQUIT
			  : IS(VSUSP) ? SIGTSTP
				      : 0;
		if (sig) {
			if (!(lf & NOFLSH))
				flush_input(t);
			echo_char(t, c);
			t->st.isig[sig == SIGINT    ? 0
				   : sig == SIGQUIT ? 1
						    : 2]++;
			t->intr_seq++;
			a->sig = sig;
			a->pgrp = t->pgrp;
			a->wake = true;
			return;
		}
	}
	if (lf & ICANON) {
		bool ext = lf & IEXTEN;
		if (IS(VERASE) || (c == '\b' && cc[VERASE] == 0x7f)) {
			erase(t, c, ERASE);
			return;
		}
		if (IS(VKILL)) {
			erase(t, c, KILL);
			return;
		}
		if (ext && IS(VWERASE)) {
			erase(t, c, WERASE);
			return;
		}
		if (ext && IS(VLNEXT)) {
			t->lnext = true;
			if ((lf & ECHO) && (lf & ECHOCTL))
				put_raw(t, "^", 1);
			return;
		}
		if (ext && IS(VREPRINT)) {
			echo_char(t, c);
			put_post(t, "\n", 1);
			for (uint32_t i = t->chead; i != t->head; i++)
				echo_char(t, (unsigned char)t->buf[MASK(i)]);
			return;
		}
		if (c == '\n' || IS(VEOL) || IS(VEOL2)) {
			if ((lf & ECHO) || (c == '\n' && (lf & ECHONL)))
				echo_char(t, c);
			a->wake |= store(
				t, c, TF_EOL | ((lf & ECHO) ? TF_ECHOED : 0));
			return;
		}
		if (IS(VEOF)) {
			a->wake |= store(t, 0, TF_EOL | TF_EOF);
			return;
		}
	}
#undef IS
plain:
	if (t->head - t->rtail >= TTY_BUF - ((lf & ICANON) ? 1u : 0u)) {
		t->st.dropped++;
		return;
	}
	if ((lf & ICANON) && t->head == t->chead)
		t->canon_col = t->col;
	echo_char(t, c);
	a->wake |= store(t, c, (lf & ECHO) ? TF_ECHOED : 0) && !(lf & ICANON);
}

static void post_signal(struct tty *t, int pgrp, int sig)
{
	int rc = pgrp > 0 ? proc_signal_pgrp(pgrp, sig) : -ESRCH;
	spin_lock(&t->lock);
	if (rc)
		t->st.send_failed++;
	else
		t->st.sent++;
	spin_unlock(&t->lock);
}

static void wake_readers(struct tty *t)
{
	waitq_wakeup_all(&t->rwq);
	poll_notify();
}

void tty_receive(struct tty *t, const char *s, size_t n)
{
	bool wake = false;
	for (size_t i = 0; i < n; i++) {
		struct rx_after a = {0};
		spin_lock(&t->lock);
		receive_byte(t, (unsigned char)s[i], &a);
		spin_unlock(&t->lock);
		wake |= a.wake;
		if (a.sig) {
			/* Readers first: a kernel reader stops on ^C. */
			wake_readers(t);
			wake = false;
			if (a.pgrp)
				post_signal(t, a.pgrp, a.sig);
		}
	}
	if (wake)
		wake_readers(t);
}

/* ------------------------------------------------------------ termios */

/* t->lock held. Install new settings; a change of ICANON re-sorts the
 * input as Linux does: leaving canonical mode makes everything typed
 * readable, entering it turns what is unread into one pushed line. */
static void set_termios(struct tty *t, const struct linux_termios *nt)
{
	bool was = t->tio.c_lflag & ICANON, now = nt->c_lflag & ICANON;
	t->tio = *nt;
	if (was == now)
		return;
	t->lnext = false;
	for (uint32_t i = t->rtail; i != t->head; i++)
		t->flags[MASK(i)] &= (uint8_t)~TF_EOL;
	if (now && t->head != t->rtail)
		t->flags[MASK(t->head - 1)] |= TF_EOL;
	t->chead = t->head;
}

void tty_setup(struct tty *t, const char *name,
	       void (*out)(void *arg, const char *s, size_t n), void *arg)
{
	memset(t, 0, sizeof *t);
	t->name = name;
	t->out = out;
	t->out_arg = arg;
	sleeplock_init(&t->wlock, "tty write");
	waitq_init(&t->rwq);
	spin_init(&t->lock, "tty");
	t->tio = default_termios;
	t->ws.ws_row = 24;
	t->ws.ws_col = 80;
}

/* ------------------------------------------------------------ job control */

static int pgid_of(const struct proc *p)
{
	return p->sys.pgid > 0 ? p->sys.pgid : p->pid;
}

static int sid_of(const struct proc *p)
{
	return p->sys.sid > 0 ? p->sys.sid : p->pid;
}

/* Does p neither block nor ignore sig? */
static bool sig_takes_effect(const struct proc *p, int sig)
{
	return !(p->user.sigmask & (1ull << (sig - 1))) &&
	       p->sys.action[sig - 1].handler != SIG_IGN;
}

/*
 * The job-control check before a read (sig SIGTTIN) or a write under
 * TOSTOP (SIGTTOU) by the calling process: 0 to go on, -ERESTARTSYS after
 * stopping the caller's group, -EIO for a read when the signal cannot.
 */
static int job_check(struct tty *t, bool is_read)
{
	struct proc *p = proc_current();
	if (!p)
		return 0;
	spin_lock(&t->lock);
	bool bg = t->sid == sid_of(p) && t->pgrp && pgid_of(p) != t->pgrp;
	bool applies = is_read || (t->tio.c_lflag & TOSTOP);
	int sig = is_read ? SIGTTIN : SIGTTOU;
	int rc = 0;
	if (bg && applies) {
		if (sig_takes_effect(p, sig)) {
			rc = -ERESTARTSYS;
			if (is_read)
				t->st.ttin++;
			else
				t->st.ttou++;
		} else if (is_read) {
			rc = -EIO;
		}
	}
	spin_unlock(&t->lock);
	if (rc == -ERESTARTSYS)
		post_signal(t, pgid_of(p), sig);
	return rc;
}

/* ------------------------------------------------------------ read, write */

/* t->lock held, canonical mode, a line (or EOF) readable: copy up to its
 * end. The end of file mark is consumed, not copied. */
static size_t copy_canon(struct tty *t, char *buf, size_t len)
{
	size_t n = 0;
	while (t->rtail != t->chead && n < len) {
		uint32_t i = MASK(t->rtail);
		uint8_t f = t->flags[i];
		t->rtail++;
		if (!(f & TF_EOF))
			buf[n++] = t->buf[i];
		if (f & TF_EOL)
			break;
	}
	return n;
}

/* t->lock held, non-canonical mode: copy what is there. */
static size_t copy_raw(struct tty *t, char *buf, size_t len)
{
	size_t n = 0;
	while (t->rtail != t->chead && n < len) {
		uint32_t i = MASK(t->rtail++);
		if (!(t->flags[i] & TF_EOF))
			buf[n++] = t->buf[i];
	}
	return n;
}

int64_t tty_read(struct tty *t, char *buf, size_t len, bool nonblock)
{
	if (len == 0)
		return 0;
	int rc = job_check(t, true);
	if (rc)
		return rc;
	bool kernel = !proc_current();
	spin_lock(&t->lock);
	uint64_t seq = t->intr_seq;
	uint64_t deadline = 0;
	size_t n = 0, seen = 0;
	int64_t res = 0;
	bool first = true;
	for (;;) {
		const uint8_t *cc = t->tio.c_cc;
		if (t->tio.c_lflag & ICANON) {
			if (readable(t)) {
				res = (int64_t)copy_canon(t, buf, len);
				break;
			}
		} else {
			n += copy_raw(t, buf + n, len - n);
			unsigned vmin = cc[VMIN], vtime = cc[VTIME];
			uint64_t tenths = (uint64_t)vtime * 100000000ull;
			res = (int64_t)n;
			if (n == len || (vmin == 0 && vtime == 0) ||
			    (vmin > 0 && n >= vmin) || (vmin == 0 && n > 0))
				break;
			if (vtime && vmin == 0 && first)
				deadline = time_ns() + tenths;
			else if (vtime && vmin > 0 && n > seen)
				deadline = time_ns() + tenths; /* inter-byte */
			seen = n;
		}
		first = false;
		if (nonblock) {
			res = n ? (int64_t)n : -EAGAIN;
			break;
		}
		if (kernel && t->intr_seq != seq) {
			res = -EINTR;
			break;
		}
		int w = waitq_sleep_intr(&t->rwq, &t->lock, deadline);
		if (w == -ETIMEDOUT) {
			res = (int64_t)n;
			if (!(t->tio.c_lflag & ICANON))
				res = (int64_t)(n +
						copy_raw(t, buf + n, len - n));
			break;
		}
		if (w == -ERESTARTSYS) {
			res = n ? (int64_t)n : -ERESTARTSYS;
			break;
		}
	}
	spin_unlock(&t->lock);
	return res;
}

int64_t tty_write(struct tty *t, const char *buf, size_t len)
{
	int rc = job_check(t, false);
	if (rc)
		return rc;
	sleeplock_acquire(&t->wlock);
	/* Chunks keep the time with interrupts off short; echo may come
	 * between them, other writers may not. */
	for (size_t off = 0; off < len; off += 128) {
		spin_lock(&t->lock);
		put_post(t, buf + off, MIN(len - off, (size_t)128));
		spin_unlock(&t->lock);
	}
	sleeplock_release(&t->wlock);
	return (int64_t)len;
}

/* ------------------------------------------------------------ ioctl */

/* Is pgrp a group of session sid? Its leader must still exist (a
 * simplification: Linux accepts any live member). */
static int pgrp_check(int pgrp, int sid)
{
	if (pgrp <= 0)
		return pgrp < 0 ? -EINVAL : -ESRCH;
	spin_lock(&proc_lock);
	struct proc *q = proc_find(pgrp);
	int rc = !q ? -ESRCH : sid_of(q) != sid ? -EPERM : 0;
	spin_unlock(&proc_lock);
	return rc;
}

/* The process ioctls (TIOCSCTTY, TIOCNOTTY, TIOC[GS]PGRP, TIOCGSID). */
static int job_ioctl(struct tty *t, unsigned cmd, unsigned long arg, int *val)
{
	struct proc *p = proc_current();
	if (!p)
		return -ENOTTY;
	int sid = sid_of(p), rc = 0;
	if (cmd == TIOCSPGRP) {
		rc = pgrp_check(*val, sid);
		if (rc == -ESRCH && *val == pgid_of(p))
			rc = 0; /* a group whose ids are not set yet */
		if (rc)
			return rc;
	}
	int hup_pgrp = 0;
	spin_lock(&t->lock);
	bool mine = t->sid == sid;
	switch (cmd) {
	case TIOCSCTTY: /* from a session leader; arg 1 steals it (root) */
		if (sid != p->pid || (t->sid && !mine && arg != 1)) {
			rc = -EPERM;
			break;
		}
		if (mine)
			break;
		t->sid = sid;
		t->pgrp = pgid_of(p);
		break;
	case TIOCNOTTY:
		if (!mine) {
			rc = -ENOTTY;
		} else if (sid == p->pid) {
			hup_pgrp = t->pgrp;
			t->sid = t->pgrp = 0;
		}
		break;
	case TIOCGPGRP:
		if (mine)
			*val = t->pgrp;
		else
			rc = -ENOTTY;
		break;
	case TIOCSPGRP:
		if (mine)
			t->pgrp = *val;
		else
			rc = -ENOTTY;
		break;
	case TIOCGSID:
		if (mine)
			*val = t->sid;
		else
			rc = -ENOTTY;
		break;
	}
	spin_unlock(&t->lock);
	if (hup_pgrp) {
		post_signal(t, hup_pgrp, SIGHUP);
		post_signal(t, hup_pgrp, SIGCONT);
	}
	return rc;
}

int tty_ioctl_kernel(struct tty *t, struct file *f, unsigned cmd,
		     unsigned long arg, void *karg)
{
	int rc = 0, winch = 0;
	switch (cmd) {
	case TCGETS:
		spin_lock(&t->lock);
		memcpy(karg, &t->tio, sizeof t->tio);
		spin_unlock(&t->lock);
		return 0;
	case TCSETS:
	case TCSETSW: /* output is written synchronously: always drained */
	case TCSETSF:
		spin_lock(&t->lock);
		if (cmd == TCSETSF)
			flush_input(t);
		set_termios(t, karg);
		spin_unlock(&t->lock);
		wake_readers(t); /* VMIN/VTIME or ICANON may have changed */
		return 0;
	case TIOCGWINSZ:
		spin_lock(&t->lock);
		memcpy(karg, &t->ws, sizeof t->ws);
		spin_unlock(&t->lock);
		return 0;
	case TIOCSWINSZ:
		spin_lock(&t->lock);
		if (memcmp(&t->ws, karg, sizeof t->ws)) {
			memcpy(&t->ws, karg, sizeof t->ws);
			winch = t->pgrp;
		}
		spin_unlock(&t->lock);
		if (winch)
			post_signal(t, winch, SIGWINCH);
		return 0;
	case FIONREAD: {
		int cnt = 0;
		spin_lock(&t->lock);
		for (uint32_t i = t->rtail; i != t->chead; i++)
			cnt += !(t->flags[MASK(i)] & TF_EOF);
		spin_unlock(&t->lock);
		*(int *)karg = cnt;
		return 0;
	}
	case SHOAL_TIOCECHOED: {
		int cnt = 0;
		spin_lock(&t->lock);
		for (uint32_t i = t->rtail; i != t->chead; i++) {
			uint8_t f = t->flags[MASK(i)];
			if (!(f & TF_ECHOED))
				break;
			cnt += !(f & TF_EOF);
		}
		spin_unlock(&t->lock);
		*(int *)karg = cnt;
		return 0;
	}
	case TIOCOUTQ:
		*(int *)karg = 0;
		return 0;
	case TIOCGETD:
		*(int *)karg = 0; /* N_TTY */
		return 0;
	case TCFLSH:
		if (arg > TCIOFLUSH)
			return -EINVAL;
		if (arg != TCOFLUSH) {
			spin_lock(&t->lock);
			flush_input(t);
			spin_unlock(&t->lock);
		}
		return 0;
	case TCXONC:
		return arg <= 3 ? 0 : -EINVAL;
	case TCSBRK: /* tcdrain, tcsendbreak: output is already out */
		return 0;
	case FIONBIO:
		if (!f)
			return -EINVAL;
		file_set_flags(f, *(int *)karg ? f->flags | O_NONBLOCK
					       : f->flags & ~O_NONBLOCK);
		return 0;
	case TIOCSCTTY:
	case TIOCNOTTY:
	case TIOCGPGRP:
	case TIOCSPGRP:
	case TIOCGSID:
		rc = job_ioctl(t, cmd, arg, karg);
		return rc;
	}
	return -ENOTTY;
}

/* How each ioctl's argument travels: bytes copied in before, out after. */
static void ioctl_arg(unsigned cmd, size_t *in, size_t *out)
{
	*in = *out = 0;
	switch (cmd) {
	case TCGETS:
		*out = sizeof(struct linux_termios);
		break;
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		*in = sizeof(struct linux_termios);
		break;
	case TIOCGWINSZ:
		*out = sizeof(struct linux_winsize);
		break;
	case TIOCSWINSZ:
		*in = sizeof(struct linux_winsize);
		break;
	case TIOCSPGRP:
	case FIONBIO:
		*in = sizeof(int);
		break;
	case TIOCGPGRP:
	case TIOCGSID:
	case FIONREAD:
	case SHOAL_TIOCECHOED:
	case TIOCOUTQ:
	case TIOCGETD:
		*out = sizeof(int);
		break;
	}
}

/* ------------------------------------------------------------ files */

static int64_t tty_file_read(struct file *f, void *buf, size_t len,
			     uint64_t off)
{
	return tty_read(f->priv, buf, len, f->flags & O_NONBLOCK);
}

static int64_t tty_file_write(struct file *f, const void *buf, size_t len,
			      uint64_t off)
{
	return tty_write(f->priv, buf, len);
}

/* arg is a user address for the pointer ioctls: everything is copied in
 * and checked before the terminal changes, results copied out after. */
static int tty_file_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	union {
		struct linux_termios tio;
		struct linux_winsize ws;
		int i;
	} k;
	size_t in, out;
	if (cmd > 0xffffffffu)
		return -ENOTTY;
	ioctl_arg((unsigned)cmd, &in, &out);
	if ((in || out) && !proc_current())
		return -EFAULT; /* a kernel caller has no user memory */
	memset(&k, 0, sizeof k);
	if (in && user_in(&k, arg, in))
		return -EFAULT;
	if (out && !user_range_ok(arg, out, true))
		return -EFAULT;
	int rc = tty_ioctl_kernel(f->priv, f, (unsigned)cmd, arg, &k);
	if (!rc && out && user_out(arg, &k, out))
		rc = -EFAULT;
	return rc;
}

static unsigned tty_file_poll(struct file *f)
{
	struct tty *t = f->priv;
	spin_lock(&t->lock);
	bool in = readable(t);
	spin_unlock(&t->lock);
	return POLLOUT | POLLWRNORM | (in ? POLLIN | POLLRDNORM : 0);
}

static const struct file_ops tty_fops = {
	.read = tty_file_read,
	.write = tty_file_write,
	.ioctl = tty_file_ioctl,
	.poll = tty_file_poll,
	.stream = true,
};

/* ------------------------------------------------------------ /proc */

static int flag_names(char *buf, size_t size, uint32_t v,
		      const char *const *names, const uint32_t *bits, size_t n)
{
	int len = snprintf(buf, size, "%07o", v);
	for (size_t i = 0; i < n; i++)
		if ((v & bits[i]) == bits[i])
			len += snprintf(buf + MIN((size_t)len, size),
					size - MIN((size_t)len, size), " %s",
					names[i]);
	return len;
}

int tty_format(struct tty *t, char *buf, size_t size)
{
	static const char *const iname[] = {"ISTRIP", "INLCR", "IGNCR",
					    "ICRNL",  "IXON",  "IUTF8"};
	static const uint32_t ibit[] = {ISTRIP, INLCR, IGNCR,
					ICRNL,	IXON,  IUTF8};
	static const char *const oname[] = {"OPOST", "OLCUC",  "ONLCR", "OCRNL",
					    "ONOCR", "ONLRET", "XTABS"};
	static const uint32_t obit[] = {OPOST, OLCUC,  ONLCR, OCRNL,
					ONOCR, ONLRET, XTABS};
	static const char *const lname[] = {"ISIG",   "ICANON", "ECHO",
					    "ECHOE",  "ECHOK",	"ECHONL",
					    "NOFLSH", "TOSTOP", "ECHOCTL",
					    "ECHOKE", "IEXTEN"};
	static const uint32_t lbit[] = {ISIG,	 ICANON, ECHO,	 ECHOE,
					ECHOK,	 ECHONL, NOFLSH, TOSTOP,
					ECHOCTL, ECHOKE, IEXTEN};
	char iflags[96], oflags[96], lflags[160];
	spin_lock(&t->lock);
	struct linux_termios tio = t->tio;
	struct linux_winsize ws = t->ws;
	struct tty_stats st = t->st;
	int sid = t->sid, pgrp = t->pgrp;
	uint32_t unread = t->chead - t->rtail, edit = t->head - t->chead;
	spin_unlock(&t->lock);
	flag_names(iflags, sizeof iflags, tio.c_iflag, iname, ibit,
		   ARRAY_SIZE(ibit));
	flag_names(oflags, sizeof oflags, tio.c_oflag, oname, obit,
		   ARRAY_SIZE(obit));
	flag_names(lflags, sizeof lflags, tio.c_lflag, lname, lbit,
		   ARRAY_SIZE(lbit));
	return snprintf(
		buf, size,
		"name:     %s\n"
		"session:  %d\n"
		"fgpgrp:   %d\n"
		"iflag:    %s\n"
		"oflag:    %s\n"
		"cflag:    %07o\n"
		"lflag:    %s\n"
		"cc:       intr=%u quit=%u erase=%u kill=%u eof=%u susp=%u "
		"werase=%u min=%u time=%u\n"
		"winsize:  %u %u\n"
		"input:    %u readable, %u in the edited line\n"
		"rx:       %lu\n"
		"tx:       %lu\n"
		"dropped:  %lu\n"
		"isig:     SIGINT %lu SIGQUIT %lu SIGTSTP %lu\n"
		"signals:  sent %lu failed %lu\n"
		"stopped:  SIGTTIN %lu SIGTTOU %lu\n",
		t->name, sid, pgrp, iflags, oflags, tio.c_cflag, lflags,
		tio.c_cc[VINTR], tio.c_cc[VQUIT], tio.c_cc[VERASE],
		tio.c_cc[VKILL], tio.c_cc[VEOF], tio.c_cc[VSUSP],
		tio.c_cc[VWERASE], tio.c_cc[VMIN], tio.c_cc[VTIME], ws.ws_row,
		ws.ws_col, unread, edit, (unsigned long)st.rx,
		(unsigned long)st.tx, (unsigned long)st.dropped,
		(unsigned long)st.isig[0], (unsigned long)st.isig[1],
		(unsigned long)st.isig[2], (unsigned long)st.sent,
		(unsigned long)st.send_failed, (unsigned long)st.ttin,
		(unsigned long)st.ttou);
}

static int gen_console(char *buf, size_t size, void *arg, uint64_t key)
{
	return tty_format(arg, buf, size);
}

/* ------------------------------------------------------------ the console */

static void uart_out(void *arg, const char *s, size_t n)
{
	uart_write(s, n);
}

/* Feeds the console with what the UART receives, as it arrives. */
static void console_input(void *arg)
{
	struct tty *t = arg;
	for (;;) {
		char b[64];
		size_t n = 0;
		b[n++] = (char)uart_getc_wait();
		int c;
		while (n < sizeof b && (c = uart_getc()) >= 0)
			b[n++] = (char)c;
		tty_receive(t, b, n);
	}
}

struct tty *tty_console(void)
{
	return &console;
}

int tty_fg_pgrp(void)
{
	spin_lock(&console.lock);
	int pgrp = console.pgrp ? console.pgrp : -1;
	spin_unlock(&console.lock);
	return pgrp;
}

void tty_init(void)
{
	tty_setup(&console, "console", uart_out, NULL);
	/* Scheduled like user processes (thread_plain): input typed ahead
	 * meets the shell in the terminal mode it has finished setting. */
	struct thread *in =
		thread_create_suspended("tty0", console_input, &console);
	if (!in)
		panic("tty_init: no thread for the console's input");
	thread_plain(in);
	thread_start_suspended(in);
	chrdev_register(vfs_makedev(4, 64), "ttyS0", 0620, &tty_fops, &console,
			true);
	chrdev_register(vfs_makedev(5, 1), "console", 0600, &tty_fops, &console,
			true);
	chrdev_register(vfs_makedev(5, 0), "tty", 0666, &tty_fops, &console,
			true);
	procfs_register("tty/console", gen_console, &console);
}

int64_t tty_read_line(struct tty *t, char *buf, size_t size)
{
	/* The monitor reads: the kernel has the console. A session still
	 * holding it (init ended) lets go, its termios with it. */
	spin_lock(&t->lock);
	bool held = t->sid != 0;
	spin_unlock(&t->lock);
	if (held)
		tty_reclaim(t);
	size_t n = 0;
	for (;;) {
		char tmp[128];
		int64_t r = tty_read(t, tmp, sizeof tmp, false);
		if (r < 0)
			return r;
		/* A canonical read stops at the line's end: short, or '\n'. */
		bool nl = r > 0 && tmp[r - 1] == '\n';
		bool end = nl || (size_t)r < sizeof tmp;
		size_t take = nl ? (size_t)r - 1 : (size_t)r;
		take = MIN(take, size - 1 - n);
		memcpy(buf + n, tmp, take);
		n += take;
		if (end)
			break;
	}
	buf[n] = 0;
	return (int64_t)n;
}

void tty_set_session(struct tty *t, int sid, int pgrp)
{
	spin_lock(&t->lock);
	t->sid = sid;
	t->pgrp = pgrp;
	spin_unlock(&t->lock);
}

void tty_reclaim(struct tty *t)
{
	spin_lock(&t->lock);
	t->sid = t->pgrp = 0;
	set_termios(t, &default_termios);
	spin_unlock(&t->lock);
	wake_readers(t);
}
