/*
 * syscall_table.h — THE list of system calls: Linux x86-64 number, name and
 * class (design §4). Everything else is generated from it: the dispatch
 * array and the names in kern/syscall.c, the table in docs/architecture.md.
 *
 *   LOCAL  runs where the process runs (memory, signal mask, ids, TLS)
 *   HOME   runs in the system context on the home node (files, the tty,
 *          process lifetime); a remote forwards it to its deputy
 *
 * A handler is `long sys_NAME(const uint64_t a[6])` (kern/syscall.c).
 * Numbers not listed return -ENOSYS with a rate-limited log line.
 * Include after defining SYSCALL(nr, name, class).
 */
SYSCALL(0, read, HOME)
SYSCALL(1, write, HOME)
SYSCALL(9, mmap, LOCAL)
SYSCALL(11, munmap, LOCAL)
SYSCALL(12, brk, LOCAL)
SYSCALL(13, rt_sigaction, HOME)
SYSCALL(14, rt_sigprocmask, LOCAL)
SYSCALL(16, ioctl, HOME)
SYSCALL(20, writev, HOME)
SYSCALL(39, getpid, LOCAL)
SYSCALL(60, exit, HOME)
SYSCALL(158, arch_prctl, LOCAL)
SYSCALL(218, set_tid_address, LOCAL)
SYSCALL(231, exit_group, HOME)
