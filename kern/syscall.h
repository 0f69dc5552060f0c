/*
 * syscall.h — what system-call handlers share (kern/sys_*.c, kern/proc.c,
 * kern/signal.c): the handler prototypes generated from the one table
 * (kern/syscall_table.h), and the helpers every handler uses to reach the
 * calling process's memory and file descriptors.
 *
 * Conventions: a handler gets the six raw argument registers and returns a
 * result or a negative errno. It validates everything (user ranges, fds,
 * flags) before changing anything. User memory is touched only through
 * user_in/user_out/user_path, which never fault the kernel: a bad pointer
 * is -EFAULT. A call that blocks sleeps interruptibly and returns
 * -ERESTARTSYS when a signal arrives: the signal code turns that into
 * -EINTR, or restarts the call when the handler has SA_RESTART.
 */
#ifndef KERN_SYSCALL_H
#define KERN_SYSCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct file;
struct vnode;

#define SYSCALL(nr, name, class) long sys_##name(const uint64_t a[6]);
#include "kern/syscall_table.h"
#undef SYSCALL

/* struct timeval and struct rusage of the x86_64 ABI (getrusage, wait4). */
struct linux_timeval {
	int64_t tv_sec, tv_usec;
};
struct linux_rusage {
	struct linux_timeval ru_utime, ru_stime;
	int64_t ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt,
		ru_nswap, ru_inblock, ru_oublock, ru_msgsnd, ru_msgrcv,
		ru_nsignals, ru_nvcsw, ru_nivcsw;
};
_Static_assert(sizeof(struct linux_rusage) == 144, "x86_64 struct rusage");

/* Copy between the kernel and the calling process's memory: 0 or -EFAULT
 * (the range is outside a region allowing the access). */
int user_in(void *dst, uintptr_t src, size_t n);
int user_out(uintptr_t dst, const void *src, size_t n);
/* Is every byte of [addr, addr + len) in a region allowing the access? */
bool user_range_ok(uintptr_t addr, size_t len, bool write);
/* A NUL-terminated path from user memory into a new PATH_MAX buffer
 * (kfree it): 0, -EFAULT, -ENAMETOOLONG, -ENOMEM. "" is returned as is. */
int user_path(uintptr_t upath, char **out);

/*
 * The calling process's descriptor table (its system context). fd_get
 * borrows: the file stays valid until this process closes the fd (a
 * process is one thread, so only the caller can). fd_install takes over
 * one reference and gives the lowest free fd >= min, or -EMFILE.
 */
struct file *fd_get(int fd);
int fd_install(struct file *f, int min, bool cloexec);
int fd_close(int fd); /* 0 or -EBADF */
bool fd_get_cloexec(int fd);
void fd_set_cloexec(int fd, bool on);
/* The calling process's working directory (borrowed) and umask. */
struct vnode *proc_cwd(void);
/* Descriptors the caller may have: RLIMIT_NOFILE, at most PROC_MAX_FD. */
int proc_nofile(void);
uint32_t proc_umask(void);
void proc_set_umask(uint32_t mask); /* umask(2) */

/*
 * From the process layer (kern/proc.c) for the time and misc calls; weak
 * defaults in kern/sys_time.c and kern/sys_misc.c until it provides them:
 * the CPU time of the calling process's reaped children (getrusage
 * RUSAGE_CHILDREN, times), and the number of processes on this node
 * (sysinfo).
 */
uint64_t proc_children_cpu_ns(void);
int proc_count(void);

/* The pager of private file mappings (kern/sys_mem.c): backing is a
 * struct file (the region holds a reference); execve maps program text
 * through it too. */
struct vm_pager;
const struct vm_pager *sys_file_pager(void);
/* Its page cache: pages held, and dropping them all (self-tests that
 * count free pages; memory pressure). */
unsigned file_pcache_pages(void);
void file_pcache_drop(void);

#endif
