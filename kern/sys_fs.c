/*
 * sys_fs.c — the file, directory and descriptor system calls (HOME class:
 * they run in the system context on the home node). Handlers validate user
 * ranges and fds first, then call the VFS (fs/vfs.h).
 */
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define IO_CHUNK 4096
#define IOV_MAX 1024

static struct vm_space *space(void)
{
	return proc_current()->user.space;
}

static struct file *fd_file(uint64_t fd)
{
	return fd < PROC_MAX_FD ? fd_get((int)fd) : NULL;
}

/* ------------------------------------------------------------ files (HOME) */

long sys_read(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	size_t len = MIN(a[2], (uint64_t)IO_CHUNK);
	if (!f)
		return -EBADF;
	if (!user_range_ok(a[1], len, true))
		return -EFAULT;
	char *buf = kmalloc(IO_CHUNK);
	if (!buf)
		return -ENOMEM;
	int64_t n = file_read(f, buf, len);
	if (n > 0 && copy_to_user(space(), a[1], buf, (size_t)n))
		n = -EFAULT;
	kfree(buf);
	return n;
}

static long write_user(struct file *f, uintptr_t ubuf, size_t len, char *kbuf)
{
	long done = 0;
	while (len) {
		size_t n = MIN(len, (size_t)IO_CHUNK);
		if (copy_from_user(space(), kbuf, ubuf, n))
			return done ? done : -EFAULT;
		int64_t w = file_write(f, kbuf, n);
		if (w < 0)
			return done ? done : w;
		done += w;
		if ((size_t)w < n)
			break;
		ubuf += n;
		len -= n;
	}
	return done;
}

long sys_write(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f)
		return -EBADF;
	if (!user_range_ok(a[1], a[2], false))
		return -EFAULT;
	char *kbuf = kmalloc(IO_CHUNK);
	if (!kbuf)
		return -ENOMEM;
	long rc = write_user(f, a[1], a[2], kbuf);
	kfree(kbuf);
	return rc;
}

struct linux_iovec {
	uint64_t base, len;
};

long sys_writev(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	uint64_t cnt = a[2];
	if (!f)
		return -EBADF;
	if (cnt > IOV_MAX)
		return -EINVAL;
	struct linux_iovec *iov = kmalloc(cnt * sizeof *iov + 1);
	char *kbuf = kmalloc(IO_CHUNK);
	long rc = 0;
	if (!iov || !kbuf)
		rc = -ENOMEM;
	else if (copy_from_user(space(), iov, a[1], cnt * sizeof *iov))
		rc = -EFAULT;
	for (uint64_t i = 0; !rc && i < cnt; i++)
		if (!user_range_ok(iov[i].base, iov[i].len, false))
			rc = -EFAULT;
	long done = 0;
	for (uint64_t i = 0; !rc && i < cnt; i++) {
		long w = write_user(f, iov[i].base, iov[i].len, kbuf);
		if (w < 0) {
			if (!done)
				rc = w;
			break;
		}
		done += w;
		if ((uint64_t)w < iov[i].len)
			break;
	}
	kfree(iov);
	kfree(kbuf);
	return rc ? rc : done;
}

long sys_ioctl(const uint64_t a[6])
{
	/* The tty ioctls take user pointers; until they are marshalled the
	 * answer is "not a terminal", which musl handles (full buffering). */
	return fd_file(a[0]) ? -ENOTTY : -EBADF;
}
