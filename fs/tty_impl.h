/*
 * tty_impl.h — private to fs/tty.c and its self-tests (fs/tty_test.c):
 * the termios ABI, the terminal object and the entry points a test uses
 * to drive a terminal without the UART or a process.
 *
 * The termios layout is the Linux x86_64 kernel's `struct termios` as
 * TCGETS/TCSETS copy it (36 bytes; musl's larger struct termios starts
 * with the same fields). Flag and c_cc values are Linux's (asm-generic
 * termbits.h), ioctl numbers x86_64's (asm-generic ioctls.h).
 */
#ifndef FS_TTY_IMPL_H
#define FS_TTY_IMPL_H

#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/sync.h"

#define TTY_NCCS 19
struct linux_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[TTY_NCCS];
};
_Static_assert(sizeof(struct linux_termios) == 36, "termios is 36 bytes");

struct linux_winsize {
	uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};

/* c_cc indices */
enum {
	VINTR = 0,
	VQUIT = 1,
	VERASE = 2,
	VKILL = 3,
	VEOF = 4,
	VTIME = 5,
	VMIN = 6,
	VSWTC = 7,
	VSTART = 8,
	VSTOP = 9,
	VSUSP = 10,
	VEOL = 11,
	VREPRINT = 12,
	VDISCARD = 13,
	VWERASE = 14,
	VLNEXT = 15,
	VEOL2 = 16,
};

/* c_iflag */
#define IGNBRK 0000001
#define BRKINT 0000002
#define ISTRIP 0000040
#define INLCR 0000100
#define IGNCR 0000200
#define ICRNL 0000400
#define IUCLC 0001000
#define IXON 0002000
#define IXANY 0004000
#define IXOFF 0010000
#define IMAXBEL 0020000
#define IUTF8 0040000
/* c_oflag */
#define OPOST 0000001
#define OLCUC 0000002
#define ONLCR 0000004
#define OCRNL 0000010
#define ONOCR 0000020
#define ONLRET 0000040
#define TABDLY 0014000
#define XTABS 0014000
/* c_cflag */
#define B38400 0000017
#define B115200 0010002
#define CSIZE 0000060
#define CS8 0000060
#define CSTOPB 0000100
#define CREAD 0000200
#define PARENB 0000400
#define HUPCL 0002000
#define CLOCAL 0004000
/* c_lflag */
#define ISIG 0000001
#define ICANON 0000002
#define ECHO 0000010
#define ECHOE 0000020
#define ECHOK 0000040
#define ECHONL 0000100
#define NOFLSH 0000200
#define TOSTOP 0000400
#define ECHOCTL 0001000
#define ECHOPRT 0002000
#define ECHOKE 0004000
#define IEXTEN 0100000

/* ioctl numbers (x86_64) */
#define TCGETS 0x5401
#define TCSETS 0x5402
#define TCSETSW 0x5403
#define TCSETSF 0x5404
#define TCSBRK 0x5409
#define TCXONC 0x540A
#define TCFLSH 0x540B
#define TIOCSCTTY 0x540E
#define TIOCGPGRP 0x540F
#define TIOCSPGRP 0x5410
#define TIOCOUTQ 0x5411
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD 0x541B
#define FIONBIO 0x5421
#define TIOCNOTTY 0x5422
#define TIOCGETD 0x5424
#define TIOCGSID 0x5429
/* Shoal's own (user/include/shoal.h): how many of the readable bytes, from
 * the front, the terminal echoed when they arrived. A line editor that
 * switches to raw mode takes those in silently and echoes the rest. */
#define SHOAL_TIOCECHOED 0x800454E0u
/* TCFLSH arguments */
#define TCIFLUSH 0
#define TCOFLUSH 1
#define TCIOFLUSH 2

#define TTY_BUF 4096 /* input ring, a power of two (Linux: 4096) */
#define TTY_NSIG 3 /* SIGINT, SIGQUIT, SIGTSTP in the counters */

struct tty_stats {
	uint64_t rx, tx; /* bytes received (before processing), written */
	uint64_t dropped; /* input bytes lost to a full buffer */
	uint64_t isig[TTY_NSIG]; /* ^C ^\ ^Z typed with ISIG */
	uint64_t sent, send_failed; /* signals posted to a group, refused */
	uint64_t ttin, ttou; /* background reads/writes stopped */
};

/*
 * A terminal. `lock` (a spinlock) guards everything from tio on; it is
 * held while echo and written output go to the device (polled UART
 * output), never across a sleep (readers sleep on rwq with it, which
 * waitq_sleep_intr releases). Readers copy under it, so a canonical read
 * takes its line whole even with several readers (raw reads waiting for
 * VMIN bytes may share them out, as on Linux); no reader lock, so every
 * wait stays interruptible. wlock serializes writers so writes do not
 * interleave. Order: wlock, then lock, then proc_lock/poll_lock.
 *
 * Input ring: the free-running indices rtail <= chead <= head index
 * buf/flags modulo TTY_BUF. [rtail, chead) can be read; [chead, head) is
 * the line being edited in canonical mode (empty otherwise: chead == head).
 * In canonical mode every readable line ends with a byte flagged TF_EOL; an
 * end of file (VEOF) is a TF_EOL|TF_EOF byte that is consumed, not copied.
 * TF_ECHOED marks a byte that was echoed on arrival (ECHO was on).
 */
enum { TF_EOL = 1, TF_EOF = 2, TF_ECHOED = 4 };
struct tty {
	const char *name;
	void (*out)(void *arg, const char *s, size_t n); /* the device */
	void *out_arg;
	struct sleeplock wlock;
	struct waitq rwq; /* readers waiting for input */
	struct spinlock lock;
	struct linux_termios tio;
	struct linux_winsize ws;
	char buf[TTY_BUF];
	uint8_t flags[TTY_BUF];
	uint32_t rtail, chead, head;
	bool lnext; /* the next byte is taken literally (VLNEXT) */
	unsigned col; /* output column, for erasing tabs */
	unsigned canon_col; /* the column where the edited line starts */
	int sid, pgrp; /* session and foreground group; 0: none */
	uint64_t intr_seq; /* ISIG characters typed: kernel readers stop */
	struct tty_stats st;
};

/* Set up a terminal writing to out(arg, ...), with the default termios. */
void tty_setup(struct tty *t, const char *name,
	       void (*out)(void *arg, const char *s, size_t n), void *arg);
/* Input bytes as they arrive: line discipline, echo, signals, wakeups.
 * Thread context (not interrupts): it may post signals. */
void tty_receive(struct tty *t, const char *s, size_t n);
/* Read as the calling thread: a process (job control applies) or the
 * kernel (no job control; an ISIG character ends the wait with -EINTR). */
int64_t tty_read(struct tty *t, char *buf, size_t len, bool nonblock);
int64_t tty_write(struct tty *t, const char *buf, size_t len);
/* An ioctl whose argument, if a pointer, is already in kernel memory
 * (karg). f may be NULL (FIONBIO then gives -EINVAL). */
int tty_ioctl_kernel(struct tty *t, struct file *f, unsigned cmd,
		     unsigned long arg, void *karg);
/* The /proc/tty/console text: snprintf's return. */
int tty_format(struct tty *t, char *buf, size_t size);

#endif
