/*
 * proc.h — processes (issue 4). A process is two halves (design §4):
 *
 *   struct user_ctx  what may migrate: the address space, FS base, FPU/SSE
 *                    state, signal mask, the heap and mmap cursors
 *   struct sys_ctx   what stays home: fd table, cwd, parent, exit status
 *
 * One kernel thread runs each process; it enters ring 3 from proc_run and
 * comes back into the kernel only through system calls and interrupts on
 * its own kernel stack. The thread's `proc` pointer (kern/sync.h) names the
 * process; the switch hook installed by proc_init saves and loads the user
 * context's machine state.
 *
 * Locking: one CPU; a process's fields are touched only by its own thread,
 * except `exited`/`wstatus`, written once with interrupts off before the
 * waiter is woken, and read by the waiter, which then frees the process.
 */
#ifndef KERN_PROC_H
#define KERN_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/arch.h"
#include "kern/sync.h"

#define PROC_MAX_FD 256
#define PROC_STACK_TOP 0x00007ffffffff000ull
#define PROC_STACK_SIZE (8ull << 20)
#define PROC_MMAP_BASE 0x0000100000000000ull /* first mmap search address */

struct file;
struct vnode;
struct vm_space;

struct user_ctx {
	uint8_t fpu[ARCH_FPU_SIZE] __attribute__((aligned(16)));
	uint64_t fs_base;
	struct vm_space *space;
	uint64_t sigmask;
	uintptr_t brk_start, brk; /* heap: [brk_start, brk) */
	uintptr_t mmap_next; /* where the next mmap search starts */
	uint64_t entry, start_rsp; /* where ring 3 starts */
};

struct sys_ctx {
	struct file *fd[PROC_MAX_FD];
	uint64_t cloexec[PROC_MAX_FD / 64]; /* close-on-exec bit per fd */
	uint32_t umask;
	struct vnode *cwd; /* a reference */
	struct proc *parent; /* NULL: started by the kernel */
	int pgid, sid; /* process group and session (job control) */
	bool exited;
	int wstatus; /* Linux wait status: code << 8, or the signal */
	struct waitq exit_wq; /* the waiter sleeps here */
};

struct proc {
	int pid;
	char name[16];
	struct thread *thread;
	struct user_ctx user;
	struct sys_ctx sys;
};

void proc_init(void); /* hooks: thread switch, syscalls, user faults */
/* Start `path` as a new process with argv (NULL-terminated; NULL = the
 * path alone): the process, or NULL with the negative errno in *err. */
struct proc *proc_exec_first(const char *path, const char *const *argv,
			     int *err);
/* Wait for p to end, free it, return its Linux wait status. */
int proc_wait(struct proc *p);
/* The process the calling thread runs, or NULL. */
struct proc *proc_current(void);
/* End the calling process with Linux wait status wstatus; never returns. */
__attribute__((noreturn)) void proc_exit(int wstatus);

/*
 * Signals (kern/signal.c). proc_signal posts sig (1..64) to p and wakes it
 * from an interruptible sleep; proc_signal_pgrp posts it to every member
 * of process group pgid (-ESRCH when there is none). Both may be called
 * from any thread with interrupts on; not from interrupt context.
 */
int proc_signal(struct proc *p, int sig);
int proc_signal_pgrp(int pgid, int sig);

/* kern/syscall.c: the dispatcher handed to arch_syscall_set_handler. */
long syscall_dispatch(unsigned long nr, const uint64_t args[6]);
/* The class of a call as the table says: "LOCAL", "HOME", or NULL. */
const char *syscall_class(unsigned long nr);
/* -ENOSYS for nr, with a rate-limited log line naming it. */
long syscall_enosys(unsigned long nr);

#endif
