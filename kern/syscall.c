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
#include "mosix/mig.h"
#include "vm/vm.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

struct syscall_entry {
	long (*fn)(const uint64_t a[6]);
	const char *name, *class;
};

#define SYSCALL(nr, name, class) [nr] = {sys_##name, #name, #class},
static const struct syscall_entry table[] = {
#include "kern/syscall_table.h"
};
#undef SYSCALL

/* The caller's address space; NULL for a kernel thread (a self-test
 * calling a driver), whose "user" pointers are then all bad. */
static struct vm_space *space(void)
{
	struct proc *p = proc_current();
	return p ? p->user.space : NULL;
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
	struct proc *p = proc_current();
	if (!p)
		return -ENOSYS;
	/* A remote's HOME calls go to its deputy (mosix/mig.c). */
	if (p->mig && p->mig->role == MIG_REMOTE && nr < ARRAY_SIZE(table) &&
	    table[nr].fn && table[nr].class[0] == 'H')
		return mig_syscall(nr, args);
	return syscall_run_local(nr, args);
}

/* Run a call as this node's own (the deputy serving a remote). */
long syscall_run_local(unsigned long nr, const uint64_t args[6])
{
	if (nr >= ARRAY_SIZE(table) || !table[nr].fn)
		return syscall_enosys(nr);
	return table[nr].fn(args);
}

/* The calling thread serves a remote process: its user memory is away. */
static bool deputy(void)
{
	struct proc *p = proc_current();
	return p && mig_is_deputy(p->mig);
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
	if (deputy())
		return mig_user_check(addr, len, write);
	if (!space() || addr >= VM_USER_TOP || len > VM_USER_TOP - addr)
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

int user_in(void *dst, uintptr_t src, size_t n)
{
	if (deputy())
		return mig_user_in(dst, src, n);
	if (!space())
		return n ? -EFAULT : 0;
	return copy_from_user(space(), dst, src, n) ? -EFAULT : 0;
}

int user_out(uintptr_t dst, const void *src, size_t n)
{
	if (deputy())
		return mig_user_out(dst, src, n);
	if (!space())
		return n ? -EFAULT : 0;
	return copy_to_user(space(), dst, src, n) ? -EFAULT : 0;
}

int user_path(uintptr_t upath, char **out)
{
	if (!space() && !deputy())
		return -EFAULT;
	char *buf = kmalloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	long n = deputy() ? mig_user_str(buf, upath, PATH_MAX)
			  : strncpy_from_user(space(), buf, upath, PATH_MAX);
	if (n < 0 || n >= PATH_MAX) {
		kfree(buf);
		return n == -ENAMETOOLONG || n >= PATH_MAX ? -ENAMETOOLONG
							   : -EFAULT;
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
	for (int fd = min < 0 ? 0 : min; fd < proc_nofile(); fd++) {
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

int proc_nofile(void)
{
	uint64_t cur = proc_current()->sys.rlim[PROC_RLIMIT_NOFILE].cur;
	return cur < PROC_MAX_FD ? (int)cur : PROC_MAX_FD;
}

struct vnode *proc_cwd(void)
{
	return proc_current()->sys.cwd;
}

uint32_t proc_umask(void)
{
	return proc_current()->sys.umask;
}

void proc_set_umask(uint32_t mask)
{
	proc_current()->sys.umask = mask & 0777;
}
