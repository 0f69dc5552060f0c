/*
 * sys_poll.c — poll, ppoll, select and pselect6 (HOME class).
 *
 * One loop serves all four. select turns its bitmaps into an array of
 * struct pollfd and back. The loop (poll_loop): take poll_seq(), ask every
 * file for its readiness (its poll op; a file without one — regular file,
 * directory, null — is always ready), and when nothing is ready, sleep in
 * poll_wait until some file notifies (fs/vfs.h: one wait queue for the
 * node), the deadline passes, or a signal comes.
 *
 * Errors first, as Linux: bad sizes -EINVAL, unreadable arrays -EFAULT;
 * select: a set bit for a closed fd -EBADF; poll: a closed fd is
 * POLLNVAL, a negative one ignored. A signal ends the wait with -EINTR
 * (Linux's ERESTARTNOHAND: never restarted after a handler). The remaining
 * time is written back to select's timeval and to ppoll's and pselect6's
 * timespec, as Linux does. The signal masks of ppoll and pselect6 hold
 * during the call and the old mask comes back on the way out (after the
 * handler of a signal that ended the wait, as rt_sigsuspend).
 */
#include "arch/x86/arch.h"
#include "kern/sys_fs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define POLL_MAX_FDS 1024 /* nfds above: -EINVAL (Linux: RLIMIT_NOFILE) */
#define NS_PER_S 1000000000ull

#define POLLIN_SET (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define POLLOUT_SET (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define POLLEX_SET POLLPRI
/* A file without a poll op: always ready, as in Linux. */
#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

struct linux_pollfd {
	int32_t fd;
	int16_t events, revents;
};

/*
 * Ask each file; set revents (poll reports POLLERR/POLLHUP even when not
 * asked for; select's event masks already hold what it wants). Returns the
 * number of entries with revents set.
 */
static int poll_scan(struct linux_pollfd *fds, unsigned long n, bool sel)
{
	int ready = 0;
	for (unsigned long i = 0; i < n; i++) {
		unsigned rev = 0;
		if (fds[i].fd >= 0) {
			struct file *f = fd_file((uint64_t)fds[i].fd);
			if (!f) {
				rev = POLLNVAL;
			} else {
				unsigned m = f->ops->poll ? f->ops->poll(f)
							  : DEFAULT_POLLMASK;
				unsigned want = (uint16_t)fds[i].events;
				if (!sel)
					want |= POLLERR | POLLHUP;
				rev = m & want;
			}
		}
		fds[i].revents = (int16_t)rev;
		if (rev)
			ready++;
	}
	return ready;
}

/* deadline: time_ns() to give up at; NULL waits for ever. */
static long poll_loop(struct linux_pollfd *fds, unsigned long n, bool sel,
		      const uint64_t *deadline)
{
	for (;;) {
		uint64_t seq = poll_seq();
		int ready = poll_scan(fds, n, sel);
		if (ready)
			return ready;
		uint64_t now = time_ns();
		if (deadline && *deadline <= now)
			return 0;
		if (poll_wait(seq, deadline ? *deadline : 0) == -ERESTARTSYS)
			return -EINTR;
	}
}

/* now + a (checked, non-negative) timeout, saturating. */
static uint64_t deadline_of(int64_t sec, int64_t nsec)
{
	uint64_t now = time_ns();
	uint64_t max = UINT64_MAX - now;
	if ((uint64_t)sec >= max / NS_PER_S)
		return UINT64_MAX;
	uint64_t d = (uint64_t)sec * NS_PER_S + (uint64_t)nsec;
	return d >= max ? UINT64_MAX : now + d;
}

/* What is left of a deadline, as a timespec (zero once passed). */
static struct linux_timespec remaining(uint64_t deadline)
{
	uint64_t now = time_ns();
	uint64_t left = deadline > now ? deadline - now : 0;
	return (struct linux_timespec){(int64_t)(left / NS_PER_S),
				       (int64_t)(left % NS_PER_S)};
}

/* A timespec argument: NULL is no deadline (*has = false). */
static int read_timespec(uintptr_t uts, bool *has, uint64_t *deadline)
{
	*has = uts != 0;
	if (!uts)
		return 0;
	struct linux_timespec ts;
	if (user_in(&ts, uts, sizeof ts))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (int64_t)NS_PER_S)
		return -EINVAL;
	*deadline = deadline_of(ts.tv_sec, ts.tv_nsec);
	return 0;
}

/* A signal mask argument: read and checked; *have says whether one was
 * given. */
static int check_sigmask(uintptr_t umask, uint64_t size, uint64_t *mask,
			 bool *have)
{
	*have = false;
	if (!umask)
		return 0;
	if (size != SIGSET_SIZE)
		return -EINVAL;
	int rc = user_in(mask, umask, sizeof *mask);
	*have = !rc;
	return rc;
}

/* ------------------------------------------------------------ poll */

static long do_poll(uintptr_t ufds, uint64_t nfds, const uint64_t *deadline)
{
	if (nfds > POLL_MAX_FDS)
		return -EINVAL;
	size_t bytes = nfds * sizeof(struct linux_pollfd);
	if (!user_range_ok(ufds, bytes, true))
		return -EFAULT;
	struct linux_pollfd *fds = kmalloc(MAX(bytes, (size_t)1));
	if (!fds)
		return -ENOMEM;
	long rc = user_in(fds, ufds, bytes);
	if (!rc)
		rc = poll_loop(fds, nfds, false, deadline);
	if (rc >= 0 && user_out(ufds, fds, bytes))
		rc = -EFAULT;
	kfree(fds);
	return rc;
}

long sys_poll(const uint64_t a[6])
{
	int ms = (int)(uint32_t)a[2];
	uint64_t deadline =
		ms >= 0 ? deadline_of(ms / 1000, (int64_t)(ms % 1000) * 1000000)
			: 0;
	return do_poll(a[0], a[1], ms >= 0 ? &deadline : NULL);
}

long sys_ppoll(const uint64_t a[6])
{
	bool timed;
	uint64_t deadline;
	uint64_t mask;
	bool have_mask;
	int err = read_timespec(a[2], &timed, &deadline);
	if (!err)
		err = check_sigmask(a[3], a[4], &mask, &have_mask);
	if (err)
		return err;
	if (have_mask)
		signal_wait_mask(mask);
	long rc = do_poll(a[0], a[1], timed ? &deadline : NULL);
	if (timed && (rc >= 0 || rc == -EINTR)) {
		struct linux_timespec left = remaining(deadline);
		user_out(a[2], &left, sizeof left); /* Linux ignores a fault */
	}
	return rc;
}

/* ------------------------------------------------------------ select */

/*
 * select over fd_sets of n bits (whole 64-bit words, as Linux copies
 * them). n beyond the descriptor table is cut to it.
 */
static long do_select(uint64_t un, const uintptr_t usets[3],
		      const uint64_t *deadline)
{
	int n = (int)(uint32_t)un;
	if (n < 0)
		return -EINVAL;
	if (n > PROC_MAX_FD)
		n = PROC_MAX_FD;
	size_t words = ((size_t)n + 63) / 64, bytes = words * 8;
	uint64_t sets[3][PROC_MAX_FD / 64] = {{0}}, out[3][PROC_MAX_FD / 64];
	for (int s = 0; s < 3; s++)
		if (usets[s] && user_in(sets[s], usets[s], bytes))
			return -EFAULT;
	static const unsigned mask[3] = {POLLIN_SET, POLLOUT_SET, POLLEX_SET};
	struct linux_pollfd *fds = kmalloc(sizeof *fds * MAX(n, 1));
	if (!fds)
		return -ENOMEM;
	unsigned long cnt = 0;
	long rc = 0;
	for (int fd = 0; fd < n && !rc; fd++) {
		unsigned ev = 0;
		for (int s = 0; s < 3; s++)
			if (sets[s][fd / 64] >> (fd % 64) & 1)
				ev |= mask[s];
		if (!ev)
			continue;
		if (!fd_get(fd))
			rc = -EBADF;
		fds[cnt++] = (struct linux_pollfd){fd, (int16_t)ev, 0};
	}
	if (!rc)
		rc = poll_loop(fds, cnt, true, deadline);
	if (rc >= 0) {
		memset(out, 0, sizeof out);
		rc = 0;
		for (unsigned long i = 0; i < cnt; i++) {
			int fd = fds[i].fd;
			for (int s = 0; s < 3; s++) {
				bool asked = sets[s][fd / 64] >> (fd % 64) & 1;
				if (asked &&
				    ((uint16_t)fds[i].revents & mask[s])) {
					out[s][fd / 64] |= 1ull << (fd % 64);
					rc++;
				}
			}
		}
		for (int s = 0; s < 3; s++)
			if (usets[s] && user_out(usets[s], out[s], bytes))
				rc = -EFAULT;
	}
	kfree(fds);
	return rc;
}

long sys_select(const uint64_t a[6])
{
	const uintptr_t sets[3] = {a[1], a[2], a[3]};
	uint64_t deadline = 0;
	if (a[4]) {
		struct linux_timeval tv;
		if (user_in(&tv, a[4], sizeof tv))
			return -EFAULT;
		/* Linux folds whole seconds of tv_usec into tv_sec. */
		int64_t sec = tv.tv_sec + tv.tv_usec / 1000000;
		int64_t usec = tv.tv_usec % 1000000;
		if (tv.tv_sec < 0 || tv.tv_usec < 0 || sec < 0)
			return -EINVAL;
		deadline = deadline_of(sec, usec * 1000);
	}
	long rc = do_select(a[0], sets, a[4] ? &deadline : NULL);
	if (a[4] && (rc >= 0 || rc == -EINTR)) {
		struct linux_timespec left = remaining(deadline);
		struct linux_timeval tv = {left.tv_sec, left.tv_nsec / 1000};
		user_out(a[4], &tv, sizeof tv);
	}
	return rc;
}

long sys_pselect6(const uint64_t a[6])
{
	const uintptr_t sets[3] = {a[1], a[2], a[3]};
	bool timed;
	uint64_t deadline;
	int err = read_timespec(a[4], &timed, &deadline);
	if (err)
		return err;
	if (a[5]) {
		/* { const sigset_t *ss; size_t ss_len; } */
		uint64_t sig[2];
		if (user_in(sig, a[5], sizeof sig))
			return -EFAULT;
		uint64_t mask;
		bool have_mask;
		err = check_sigmask(sig[0], sig[1], &mask, &have_mask);
		if (err)
			return err;
		if (have_mask)
			signal_wait_mask(mask);
	}
	long rc = do_select(a[0], sets, timed ? &deadline : NULL);
	if (timed && (rc >= 0 || rc == -EINTR)) {
		struct linux_timespec left = remaining(deadline);
		user_out(a[4], &left, sizeof left);
	}
	return rc;
}
