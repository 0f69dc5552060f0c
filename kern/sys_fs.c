/*
 * sys_fs.c — the system calls on descriptors (HOME class: they run in the
 * system context on the home node): read, write, readv, writev, pread64,
 * pwrite64, open, openat, close, lseek, dup, dup2, dup3, pipe, pipe2,
 * fcntl, ioctl, fstat, getdents64, ftruncate, fsync, fdatasync. Calls on
 * path names are in kern/sys_path.c, poll and select in kern/sys_poll.c;
 * kern/sys_fs.h holds what they share.
 *
 * Every handler checks its arguments (fds, flags, user ranges) before it
 * changes anything, in the order Linux does where the errno differs. Data
 * move between user memory and the file through a kernel buffer of
 * IO_CHUNK bytes, described by a `struct uio` (one buffer or a vector):
 *
 *   - a file or device is read or written chunk by chunk until the request
 *     is done, a chunk comes back short (end of file, full disk) or fails;
 *     a failure after some bytes moved returns the count, as Linux does
 *   - user ranges are checked as Linux's access_ok does (inside the user
 *     half, else -EFAULT up front); each chunk is then cut to the mapped
 *     part, so a buffer running into unmapped memory transfers what fits
 *     (-EFAULT if nothing), and no byte is taken from a file or pipe that
 *     could not be delivered
 *   - a stream (pipe, tty) is read with a single call into one buffer for
 *     the whole vector, since a second call could block although data were
 *     already received; a vector written to a stream is gathered the same
 *     way, so a readv/writev of at most PIPE_BUF bytes is one atomic move
 *
 * A write that finds no reader on a pipe raises SIGPIPE and returns -EPIPE
 * (write, writev, pwrite64). Locks (fcntl F_SETLK) are accepted without
 * being kept: every process may lock every range; F_GETLK answers F_UNLCK.
 */
#include "kern/sys_fs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define IO_CHUNK 65536 /* the pipe's whole buffer; more than a tty line */
#define IOV_MAX 1024
#define RW_MAX 0x7ffff000ull /* Linux's MAX_RW_COUNT */
#define DENTS_MAX 32768 /* bytes of getdents64 records per call */

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_SETOWN 8
#define F_GETOWN 9
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define FD_CLOEXEC 1
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define PIPE_SIZE 65536 /* fs/pipe.c */

#define FIONREAD 0x541b
#define FIONBIO 0x5421
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451

#define O_PATH 010000000
#define O_TMPFILE_BIT 020000000 /* O_TMPFILE without O_DIRECTORY */
#define SEEK_DATA 3
#define SEEK_HOLE 4

struct file *fd_file(uint64_t fd)
{
	uint32_t n = (uint32_t)fd;
	return n < PROC_MAX_FD ? fd_get((int)n) : NULL;
}

static bool readable(const struct file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static bool writable(const struct file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* Is there a free descriptor >= min? (One thread per process: it stays
 * free until this call installs something.) */
static bool fd_free(int min)
{
	for (int fd = min; fd < proc_nofile(); fd++)
		if (!fd_get(fd))
			return true;
	return false;
}

/* ------------------------------------------------------------ user I/O */

struct linux_iovec {
	uint64_t base, len;
};

/* A cursor over the user memory of one call: iov[i] from off on, resid
 * bytes in all (the total, clamped to RW_MAX). */
struct uio {
	const struct linux_iovec *iov;
	unsigned long cnt, i;
	uint64_t off;
	size_t resid;
};

/*
 * Check every range and set up u. As Linux (access_ok), a range must lie
 * in the user half of the address space (-EFAULT); whether it is mapped is
 * found out chunk by chunk (uio_ok), so a buffer that ends in unmapped
 * memory gets what fits before the hole. A vector element longer than
 * INT64_MAX is -EINVAL (Linux's check on vectors only).
 */
static int uio_init(struct uio *u, const struct linux_iovec *iov,
		    unsigned long cnt, bool vector)
{
	uint64_t total = 0;
	for (unsigned long i = 0; i < cnt; i++) {
		uint64_t base = iov[i].base, len = iov[i].len;
		if (vector && len > INT64_MAX)
			return -EINVAL;
		if (len && (base >= VM_USER_TOP || len > VM_USER_TOP - base))
			return -EFAULT;
		total = MIN(total + len, RW_MAX);
	}
	*u = (struct uio){iov, cnt, 0, 0, (size_t)total};
	return 0;
}

/* The longest prefix of [addr, addr + len) in regions allowing the access
 * (a prefix of a valid range is valid: a binary search). */
static size_t user_ok_prefix(uintptr_t addr, size_t len, bool write)
{
	if (user_range_ok(addr, len, write))
		return len;
	size_t lo = 0, hi = len; /* lo bytes are fine, hi are not */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (user_range_ok(addr, mid, write))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* How many of the next n bytes of u may be accessed. */
static size_t uio_ok(const struct uio *u, size_t n, bool to_user)
{
	size_t ok = 0;
	uint64_t off = u->off;
	for (unsigned long i = u->i; ok < n && i < u->cnt; i++, off = 0) {
		const struct linux_iovec *v = &u->iov[i];
		size_t m = (size_t)MIN((uint64_t)(n - ok), v->len - off);
		size_t p = user_ok_prefix(v->base + off, m, to_user);
		ok += p;
		if (p < m)
			break;
	}
	return ok;
}

/* Copy n (<= resid) bytes between kbuf and the cursor, advancing it. */
static int uio_move(struct uio *u, char *kbuf, size_t n, bool to_user)
{
	while (n && u->i < u->cnt) {
		const struct linux_iovec *v = &u->iov[u->i];
		size_t m = (size_t)MIN((uint64_t)n, v->len - u->off);
		int err = 0;
		if (m && to_user)
			err = user_out(v->base + u->off, kbuf, m);
		else if (m)
			err = user_in(kbuf, v->base + u->off, m);
		if (err)
			return err;
		kbuf += m;
		n -= m;
		u->off += m;
		u->resid -= m;
		if (u->off == v->len) {
			u->i++;
			u->off = 0;
		}
	}
	return 0;
}

/*
 * Read from f into u: at the file's offset, or at *pos (pread, advanced).
 * At least one call is made, so a zero-length read still reports -EISDIR
 * and the like. Each chunk is cut to the memory that may be written, so
 * nothing is taken from the file that cannot be delivered; unmapped memory
 * ends the transfer (-EFAULT if nothing moved).
 */
static long read_uio(struct file *f, struct uio *u, int64_t *pos)
{
	char *kbuf = kmalloc(MAX(MIN(u->resid, (size_t)IO_CHUNK), (size_t)1));
	if (!kbuf)
		return -ENOMEM;
	long done = 0, err = 0;
	do {
		size_t want = MIN(u->resid, (size_t)IO_CHUNK);
		size_t n = uio_ok(u, want, true);
		if (want && !n) {
			err = -EFAULT;
			break;
		}
		int64_t r = pos ? file_pread(f, kbuf, n, *pos)
				: file_read(f, kbuf, n);
		if (r < 0) {
			err = r;
			break;
		}
		if (uio_move(u, kbuf, (size_t)r, true)) {
			err = -EFAULT;
			break;
		}
		done += r;
		if (pos)
			*pos += r;
		if ((size_t)r < n || n < want || f->ops->stream)
			break;
	} while (u->resid);
	kfree(kbuf);
	return done ? done : err;
}

/* Write u to f, as read_uio reads. */
static long write_uio(struct file *f, struct uio *u, int64_t *pos)
{
	char *kbuf = kmalloc(MAX(MIN(u->resid, (size_t)IO_CHUNK), (size_t)1));
	if (!kbuf)
		return -ENOMEM;
	long done = 0, err = 0;
	do {
		size_t want = MIN(u->resid, (size_t)IO_CHUNK);
		size_t n = uio_ok(u, want, false);
		if (want && !n) {
			err = -EFAULT;
			break;
		}
		if (uio_move(u, kbuf, n, false)) {
			err = -EFAULT;
			break;
		}
		int64_t w = pos ? file_pwrite(f, kbuf, n, *pos)
				: file_write(f, kbuf, n);
		if (w < 0) {
			err = w;
			break;
		}
		done += w;
		if (pos)
			*pos += w;
		if ((size_t)w < n || n < want)
			break;
	} while (u->resid);
	kfree(kbuf);
	return done ? done : err;
}

static long sigpipe(long rc)
{
	if (rc == -EPIPE)
		proc_signal(proc_current(), SIGPIPE);
	return rc;
}

long sys_read(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f || !readable(f))
		return -EBADF;
	struct linux_iovec v = {a[1], a[2]};
	struct uio u;
	int err = uio_init(&u, &v, 1, false);
	return err ? err : read_uio(f, &u, NULL);
}

long sys_write(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f || !writable(f))
		return -EBADF;
	struct linux_iovec v = {a[1], a[2]};
	struct uio u;
	int err = uio_init(&u, &v, 1, false);
	return err ? err : sigpipe(write_uio(f, &u, NULL));
}

/* pread64/pwrite64: the file and the one-buffer uio over *v (the caller's:
 * u points to it), checked in Linux's order (offset, fd, seekable, access
 * mode); 0 or a negative errno. */
static long positional(const uint64_t a[6], bool write, struct file **f,
		       struct uio *u, struct linux_iovec *v)
{
	if ((int64_t)a[3] < 0)
		return -EINVAL;
	*f = fd_file(a[0]);
	if (!*f)
		return -EBADF;
	if ((*f)->ops->stream)
		return -ESPIPE;
	if (!(write ? writable(*f) : readable(*f)))
		return -EBADF;
	*v = (struct linux_iovec){a[1], a[2]};
	return uio_init(u, v, 1, false);
}

long sys_pread64(const uint64_t a[6])
{
	struct file *f;
	struct uio u;
	struct linux_iovec v;
	int64_t pos = (int64_t)a[3];
	long err = positional(a, false, &f, &u, &v);
	return err ? err : read_uio(f, &u, &pos);
}

long sys_pwrite64(const uint64_t a[6])
{
	struct file *f;
	struct uio u;
	struct linux_iovec v;
	int64_t pos = (int64_t)a[3];
	long err = positional(a, true, &f, &u, &v);
	return err ? err : sigpipe(write_uio(f, &u, &pos));
}

/* readv and writev: the vector is copied in whole and checked first. */
static long rw_vector(const uint64_t a[6], bool write)
{
	struct file *f = fd_file(a[0]);
	uint64_t cnt = a[2];
	if (!f || !(write ? writable(f) : readable(f)))
		return -EBADF;
	if (cnt > IOV_MAX)
		return -EINVAL;
	if (cnt == 0)
		return 0;
	struct linux_iovec *iov = kmalloc(cnt * sizeof *iov);
	if (!iov)
		return -ENOMEM;
	struct uio u;
	long rc = user_in(iov, a[1], cnt * sizeof *iov);
	if (!rc)
		rc = uio_init(&u, iov, cnt, true);
	if (!rc)
		rc = write ? sigpipe(write_uio(f, &u, NULL))
			   : read_uio(f, &u, NULL);
	kfree(iov);
	return rc;
}

long sys_readv(const uint64_t a[6])
{
	return rw_vector(a, false);
}

long sys_writev(const uint64_t a[6])
{
	return rw_vector(a, true);
}

/* ------------------------------------------------------------ open, close */

static long do_open(uint64_t dirfd, uintptr_t upath, uint64_t uflags,
		    uint64_t umode)
{
	int flags = (int)uflags;
	if (flags & O_TMPFILE_BIT)
		return -EOPNOTSUPP;
	if (flags & O_PATH) {
		/* A descriptor only to name the file (fstat, *at, fchdir):
		 * opened for reading, never creating or truncating. */
		flags = O_RDONLY | (flags & (O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC | O_NONBLOCK));
	}
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, false, &path, &at);
	if (err)
		return err;
	if (!fd_free(0)) {
		kfree(path);
		return -EMFILE;
	}
	uint32_t mode = (uint32_t)umode & 07777 & ~proc_umask();
	struct file *f;
	err = vfs_open(at, path, flags, mode, &f);
	kfree(path);
	if (err)
		return err;
	int fd = fd_install(f, 0, flags & O_CLOEXEC);
	if (fd < 0)
		file_close(f);
	return fd;
}

long sys_open(const uint64_t a[6])
{
	return do_open((uint64_t)(int64_t)AT_FDCWD, a[0], a[1], a[2]);
}

long sys_openat(const uint64_t a[6])
{
	return do_open(a[0], a[1], a[2], a[3]);
}

long sys_close(const uint64_t a[6])
{
	uint32_t fd = (uint32_t)a[0];
	return fd < PROC_MAX_FD ? fd_close((int)fd) : -EBADF;
}

/* SEEK_DATA/SEEK_HOLE: the whole file is data, its end the only hole. */
static long seek_data_hole(struct file *f, int64_t off, int whence)
{
	struct linux_stat st;
	int err = file_stat(f, &st);
	if (err)
		return err;
	if (off < 0 || off >= st.st_size)
		return -ENXIO;
	return file_lseek(f, whence == SEEK_DATA ? off : st.st_size, SEEK_SET);
}

long sys_lseek(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	int whence = (int)(uint32_t)a[2];
	if (!f)
		return -EBADF;
	if ((whence == SEEK_DATA || whence == SEEK_HOLE) && !f->ops->stream)
		return seek_data_hole(f, (int64_t)a[1], whence);
	return file_lseek(f, (int64_t)a[1], whence);
}

/* ------------------------------------------------------------ dup, pipe */

long sys_dup(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f)
		return -EBADF;
	int fd = fd_install(file_dup(f), 0, false);
	if (fd < 0)
		file_close(f);
	return fd;
}

/* dup2/dup3: newfd becomes a copy of oldfd; what newfd had is closed. */
static long dup_to(uint64_t oldfd, uint64_t newfd, bool cloexec)
{
	struct file *f = fd_file(oldfd);
	uint32_t nfd = (uint32_t)newfd;
	if (!f || nfd >= (uint32_t)proc_nofile())
		return -EBADF;
	file_dup(f);
	if (fd_get((int)nfd))
		fd_close((int)nfd);
	int fd = fd_install(f, (int)nfd, cloexec);
	KASSERT(fd == (int)nfd);
	return fd;
}

long sys_dup2(const uint64_t a[6])
{
	if ((uint32_t)a[0] == (uint32_t)a[1])
		return fd_file(a[0]) ? (long)(uint32_t)a[1] : -EBADF;
	return dup_to(a[0], a[1], false);
}

long sys_dup3(const uint64_t a[6])
{
	if (a[2] & ~(uint64_t)O_CLOEXEC)
		return -EINVAL;
	if ((uint32_t)a[0] == (uint32_t)a[1])
		return -EINVAL;
	return dup_to(a[0], a[1], a[2] & O_CLOEXEC);
}

static long do_pipe(uintptr_t ufds, uint64_t flags)
{
	if (flags & ~(uint64_t)(O_NONBLOCK | O_CLOEXEC))
		return -EINVAL; /* O_DIRECT (packet mode) included */
	if (!user_range_ok(ufds, 2 * sizeof(int), true))
		return -EFAULT;
	int fd0 = -1, fd1 = -1;
	for (int fd = 0; fd < PROC_MAX_FD && fd1 < 0; fd++) {
		if (fd_get(fd))
			continue;
		if (fd0 < 0)
			fd0 = fd;
		else
			fd1 = fd;
	}
	if (fd1 < 0)
		return -EMFILE;
	struct file *r, *w;
	int err = pipe_create(&r, &w, (int)flags);
	if (err)
		return err;
	bool cloexec = flags & O_CLOEXEC;
	int fds[2] = {fd_install(r, 0, cloexec), fd_install(w, 0, cloexec)};
	KASSERT(fds[0] == fd0 && fds[1] == fd1);
	err = user_out(ufds, fds, sizeof fds);
	if (err) {
		fd_close(fds[0]);
		fd_close(fds[1]);
	}
	return err;
}

long sys_pipe(const uint64_t a[6])
{
	return do_pipe(a[0], 0);
}

long sys_pipe2(const uint64_t a[6])
{
	return do_pipe(a[0], a[1]);
}

/* ------------------------------------------------------------ fcntl, ioctl */

/* struct flock of x86_64. */
struct linux_flock {
	int16_t l_type;
	int16_t l_whence;
	int64_t l_start;
	int64_t l_len;
	int32_t l_pid;
};
_Static_assert(sizeof(struct linux_flock) == 32, "x86_64 struct flock");

/* Record locks: checked as Linux checks them, then granted (none kept). */
static long fcntl_lock(struct file *f, int cmd, uintptr_t arg)
{
	struct linux_flock fl;
	if (user_in(&fl, arg, sizeof fl))
		return -EFAULT;
	if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK &&
	    fl.l_type != F_UNLCK)
		return -EINVAL;
	if (fl.l_whence != SEEK_SET && fl.l_whence != SEEK_CUR &&
	    fl.l_whence != SEEK_END)
		return -EINVAL;
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK ||
		   cmd == F_OFD_SETLKW;
	if (ofd && fl.l_pid != 0)
		return -EINVAL;
	if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
		if (fl.l_type == F_UNLCK)
			return -EINVAL;
		fl.l_type = F_UNLCK; /* nothing would stand in the way */
		return user_out(arg, &fl, sizeof fl);
	}
	if ((fl.l_type == F_RDLCK && !readable(f)) ||
	    (fl.l_type == F_WRLCK && !writable(f)))
		return -EBADF;
	return 0;
}

long sys_fcntl(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	int fd = (int)(uint32_t)a[0];
	int cmd = (int)(uint32_t)a[1];
	uint64_t arg = a[2];
	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		if (arg >= (uint64_t)proc_nofile())
			return -EINVAL;
		int nfd = fd_install(file_dup(f), (int)arg,
				     cmd == F_DUPFD_CLOEXEC);
		if (nfd < 0)
			file_close(f);
		return nfd;
	}
	case F_GETFD:
		return fd_get_cloexec(fd) ? FD_CLOEXEC : 0;
	case F_SETFD:
		fd_set_cloexec(fd, arg & FD_CLOEXEC);
		return 0;
	case F_GETFL:
		return f->flags & ~O_CLOEXEC;
	case F_SETFL:
		file_set_flags(f, (int)arg);
		return 0;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return fcntl_lock(f, cmd, arg);
	case F_GETOWN:
		return 0;
	case F_SETOWN:
		return 0; /* no SIGIO is ever sent */
	case F_GETPIPE_SZ:
		return f->vn->type == VFIFO ? PIPE_SIZE : -EBADF;
	case F_SETPIPE_SZ:
		if (f->vn->type != VFIFO)
			return -EBADF;
		return arg <= PIPE_SIZE ? PIPE_SIZE : -EPERM;
	default:
		return -EINVAL;
	}
}

long sys_ioctl(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	int fd = (int)(uint32_t)a[0];
	uint32_t cmd = (uint32_t)a[1];
	if (!f)
		return -EBADF;
	switch (cmd) {
	case FIOCLEX:
		fd_set_cloexec(fd, true);
		return 0;
	case FIONCLEX:
		fd_set_cloexec(fd, false);
		return 0;
	case FIONBIO: {
		int on;
		if (user_in(&on, a[2], sizeof on))
			return -EFAULT;
		file_set_flags(f, on ? f->flags | O_NONBLOCK
				     : f->flags & ~O_NONBLOCK);
		return 0;
	}
	case FIONREAD:
		if (f->vn->type == VREG) {
			/* What is left to read: the size past the offset. */
			struct linux_stat st;
			int err = file_stat(f, &st);
			if (err)
				return err;
			int n = st.st_size > (int64_t)f->offset
					? (int)MIN(st.st_size -
							   (int64_t)f->offset,
						   (int64_t)INT32_MAX)
					: 0;
			return user_out(a[2], &n, sizeof n);
		}
		break;
	}
	return file_ioctl(f, cmd, a[2]);
}

/* ------------------------------------------------------------ the rest */

long sys_fstat(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f)
		return -EBADF;
	struct linux_stat st;
	int err = file_stat(f, &st);
	return err ? err : user_out(a[1], &st, sizeof st);
}

long sys_getdents64(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	size_t count = (uint32_t)a[2];
	if (!f)
		return -EBADF;
	size_t n = user_ok_prefix(a[1], MIN(count, (size_t)DENTS_MAX), true);
	if (count && !n)
		return -EFAULT;
	if (f->vn->type != VDIR)
		return -ENOTDIR;
	char *kbuf = kmalloc(MAX(n, (size_t)1));
	if (!kbuf)
		return -ENOMEM;
	int64_t r = file_getdents64(f, kbuf, n);
	if (r > 0 && user_out(a[1], kbuf, (size_t)r))
		r = -EFAULT;
	kfree(kbuf);
	return r;
}

long sys_ftruncate(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f)
		return -EBADF;
	if ((int64_t)a[1] < 0)
		return -EINVAL;
	return file_truncate(f, (int64_t)a[1]);
}

long sys_fsync(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	return f ? file_fsync(f) : -EBADF;
}

long sys_fdatasync(const uint64_t a[6])
{
	return sys_fsync(a);
}
