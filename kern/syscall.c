/*
 * syscall.c — the Linux x86-64 system calls (issue 4), dispatched from the
 * one table in kern/syscall_table.h. Every handler checks its arguments
 * (user ranges, fds) before changing anything and returns a result or a
 * negative errno; user memory is reached only through copy_to_user /
 * copy_from_user on the process's own space.
 */
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define IO_CHUNK 4096
#define IOV_MAX 1024
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20


struct syscall_entry {
	long (*fn)(const uint64_t a[6]);
	const char *name, *class;
};

#define SYSCALL(nr, name, class) [nr] = {sys_##name, #name, #class},
static const struct syscall_entry table[] = {
#include "kern/syscall_table.h"
};
#undef SYSCALL

static struct vm_space *space(void)
{
	return proc_current()->user.space;
}

const char *syscall_class(unsigned long nr)
{
	return nr < ARRAY_SIZE(table) && table[nr].fn ? table[nr].class : NULL;
}

/* At most a burst of 5 lines, then one per second. */
static void log_enosys(unsigned long nr)
{
	static uint64_t last_ns;
	static unsigned burst;
	uint64_t now = time_ns();
	if (now - last_ns >= 1000000000ull)
		burst = 0;
	if (burst >= 5)
		return;
	if (++burst == 5)
		last_ns = now;
	struct proc *p = proc_current();
	printk(KERN_WARN
	       "shoal: pid %d (%s): system call %lu not implemented\n",
	       p ? p->pid : 0, p ? p->name : "?", nr);
}

long syscall_dispatch(unsigned long nr, const uint64_t args[6])
{
	if (!proc_current())
		return -ENOSYS;
	if (nr >= ARRAY_SIZE(table) || !table[nr].fn)
		return syscall_enosys(nr);
	return table[nr].fn(args);
}

long syscall_enosys(unsigned long nr)
{
	log_enosys(nr);
	return -ENOSYS;
}

bool user_range_ok(uintptr_t addr, size_t len, bool write)
{
	if (len == 0)
		return true;
	if (addr >= VM_USER_TOP || len > VM_USER_TOP - addr)
		return false;
	uintptr_t end = addr + len;
	while (addr < end) {
		struct vm_region *r = vm_region_find(space(), addr);
		if (!r || !(r->prot & (write ? VM_PROT_WRITE : VM_PROT_READ)))
			return false;
		addr = r->end;
	}
	return true;
}

static struct file *fd_file(uint64_t fd)
{
	return fd < PROC_MAX_FD ? fd_get((int)fd) : NULL;
}

int user_in(void *dst, uintptr_t src, size_t n)
{
	return copy_from_user(space(), dst, src, n) ? -EFAULT : 0;
}

int user_out(uintptr_t dst, const void *src, size_t n)
{
	return copy_to_user(space(), dst, src, n) ? -EFAULT : 0;
}

int user_path(uintptr_t upath, char **out)
{
	char *buf = kmalloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	long n = strncpy_from_user(space(), buf, upath, PATH_MAX);
	if (n < 0 || n >= PATH_MAX) {
		kfree(buf);
		return n < 0 ? -EFAULT : -ENAMETOOLONG;
	}
	*out = buf;
	return 0;
}

/* ------------------------------------------------------------ descriptors */

struct file *fd_get(int fd)
{
	struct proc *p = proc_current();
	return fd >= 0 && fd < PROC_MAX_FD ? p->sys.fd[fd] : NULL;
}

int fd_install(struct file *f, int min, bool cloexec)
{
	struct proc *p = proc_current();
	for (int fd = min < 0 ? 0 : min; fd < PROC_MAX_FD; fd++) {
		if (!p->sys.fd[fd]) {
			p->sys.fd[fd] = f;
			fd_set_cloexec(fd, cloexec);
			return fd;
		}
	}
	return -EMFILE;
}

int fd_close(int fd)
{
	struct proc *p = proc_current();
	if (fd < 0 || fd >= PROC_MAX_FD || !p->sys.fd[fd])
		return -EBADF;
	struct file *f = p->sys.fd[fd];
	p->sys.fd[fd] = NULL;
	fd_set_cloexec(fd, false);
	file_close(f);
	return 0;
}

bool fd_get_cloexec(int fd)
{
	struct proc *p = proc_current();
	return fd >= 0 && fd < PROC_MAX_FD &&
	       (p->sys.cloexec[fd / 64] >> (fd % 64) & 1);
}

void fd_set_cloexec(int fd, bool on)
{
	struct proc *p = proc_current();
	if (fd < 0 || fd >= PROC_MAX_FD)
		return;
	if (on)
		p->sys.cloexec[fd / 64] |= 1ull << (fd % 64);
	else
		p->sys.cloexec[fd / 64] &= ~(1ull << (fd % 64));
}

struct vnode *proc_cwd(void)
{
	return proc_current()->sys.cwd;
}

uint32_t proc_umask(void)
{
	return proc_current()->sys.umask;
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

long sys_rt_sigaction(const uint64_t a[6])
{
	/* Placeholder: no handlers yet; report SIG_DFL as the old action. */
	static const uint8_t zero[32];
	if (a[0] == 0 || a[0] > 64)
		return -EINVAL;
	if (a[2] && copy_to_user(space(), a[2], zero, sizeof zero))
		return -EFAULT;
	return 0;
}

/* ------------------------------------------------------------ process */

long sys_exit(const uint64_t a[6])
{
	proc_exit((int)((a[0] & 0xff) << 8));
}

long sys_exit_group(const uint64_t a[6])
{
	proc_exit((int)((a[0] & 0xff) << 8));
}

long sys_getpid(const uint64_t a[6])
{
	return proc_current()->pid;
}

long sys_set_tid_address(const uint64_t a[6])
{
	return proc_current()->pid; /* one thread per process: tid = pid */
}

long sys_arch_prctl(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	switch (a[0]) {
	case ARCH_SET_FS:
		if (a[1] >= VM_USER_TOP)
			return -EPERM;
		u->fs_base = a[1];
		arch_fs_base_set(a[1]);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user(space(), a[1], &u->fs_base,
				    sizeof u->fs_base);
	default:
		return -EINVAL;
	}
}

long sys_rt_sigprocmask(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	uint64_t set = 0, old = u->sigmask;
	if (a[3] != 8)
		return -EINVAL;
	if (a[0] > 2 && a[1])
		return -EINVAL;
	if (a[1] && copy_from_user(space(), &set, a[1], 8))
		return -EFAULT;
	if (a[2] && copy_to_user(space(), a[2], &old, 8))
		return -EFAULT;
	set &= ~((1ull << 8) | (1ull << 18)); /* SIGKILL, SIGSTOP */
	if (a[1])
		u->sigmask = a[0] == 0	 ? old | set
			     : a[0] == 1 ? old & ~set
					 : set;
	return 0;
}

/* ------------------------------------------------------------ memory */

long sys_brk(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	uintptr_t want = a[0];
	if (want < u->brk_start || want >= PROC_MMAP_BASE)
		return u->brk;
	uintptr_t have_end = ALIGN_UP(u->brk, PAGE_SIZE);
	uintptr_t want_end = ALIGN_UP(want, PAGE_SIZE);
	if (want_end > have_end &&
	    vm_region_add(u->space, have_end, want_end - have_end,
			  VM_PROT_READ | VM_PROT_WRITE, VM_REGION_ANON, NULL,
			  0))
		return u->brk;
	if (want_end < have_end &&
	    vm_region_remove(u->space, want_end, have_end - want_end))
		return u->brk;
	u->brk = want;
	return u->brk;
}

/* The lowest free range of len bytes at or above from, below the stack. */
static uintptr_t find_free(struct vm_space *s, uintptr_t from, size_t len)
{
	uintptr_t cand = from;
	for (struct vm_region *r = s->regions; r; r = r->next) {
		if (r->end <= cand)
			continue;
		if (r->start >= cand + len)
			break;
		cand = r->end;
	}
	if (cand + len > PROC_STACK_TOP - PROC_STACK_SIZE)
		return 0;
	return cand;
}

long sys_mmap(const uint64_t a[6])
{
	uintptr_t addr = a[0];
	size_t len = ALIGN_UP(a[1], PAGE_SIZE);
	uint64_t prot = a[2], flags = a[3];
	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV; /* file mappings: with the pager */
	if ((flags & 0x3) != MAP_PRIVATE || !a[1] || !len || (prot & ~7ull) ||
	    (a[5] & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (a[1] > VM_USER_TOP)
		return -ENOMEM;
	struct vm_space *s = space();
	if (flags & MAP_FIXED) {
		if ((addr & (PAGE_SIZE - 1)) || addr >= VM_USER_TOP ||
		    len > VM_USER_TOP - addr)
			return -EINVAL;
		int rc = vm_region_remove(s, addr, len);
		if (rc)
			return rc;
	} else {
		addr = find_free(s, PROC_MMAP_BASE, len);
		if (!addr)
			return -ENOMEM;
	}
	int rc = vm_region_add(s, addr, len, (unsigned)prot, VM_REGION_ANON,
			       NULL, 0);
	return rc ? rc : (long)addr;
}

long sys_munmap(const uint64_t a[6])
{
	if ((a[0] & (PAGE_SIZE - 1)) || !a[1])
		return -EINVAL;
	return vm_region_remove(space(), a[0], ALIGN_UP(a[1], PAGE_SIZE));
}
