/*
 * proc.h — processes (issue 4). A process is two halves (design §4):
 *
 *   struct user_ctx  what may migrate: the address space, registers (on
 *                    the kernel stack while in the kernel), FS base,
 *                    FPU/SSE state, signal mask, pending signals, the
 *                    alternate signal stack, heap and mmap cursors
 *   struct sys_ctx   what stays home: pid tree, process group, session,
 *                    fd table, cwd, umask, signal dispositions, exit
 *                    status, migration control (lock, where_node)
 *
 * One kernel thread runs each process; it enters ring 3 from proc_run (or
 * a fork child's first return) and comes back into the kernel only through
 * system calls and interrupts on its own kernel stack, where its user
 * registers are (arch_user_frame). The thread's `proc` pointer names the
 * process; the switch hook installed by proc_init saves and loads the
 * user context's machine state.
 *
 * Life cycle: RUN (or STOPPED by a stop signal) → ZOMBIE at exit (thread
 * gone, address space and files released, wait status kept) → freed when
 * the parent reaps it with wait4/waitid. A process whose parent is the
 * kernel (the monitor's `exec`, init) is reaped by proc_wait. Orphans are
 * adopted by init (pid 1) when it is a user process, else reaped at exit.
 *
 * Locking: one CPU. proc_lock (a spinlock, interrupts off) guards the
 * process list, parent/child links, `state`, `wstatus`, pgid/sid and the
 * pending-signal bits, and the migration-control fields `lock` and
 * `where_node` (written by /proc/<pid>/lock and by migration, read by
 * anyone); a process's other fields are touched only by its own thread
 * (or, for a zombie, by the reaper). Never sleep holding it.
 */
#ifndef KERN_PROC_H
#define KERN_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/arch.h"
#include "kern/sync.h"

#define PROC_MAX_FD 256
#define PROC_LIMIT 512 /* processes per node: fork beyond gives -EAGAIN */
#define PROC_STACK_TOP 0x00007ffffffff000ull
#define PROC_STACK_SIZE (8ull << 20)
#define PROC_MMAP_BASE 0x0000100000000000ull /* first mmap search address */
#define PROC_CMDLINE_MAX 4096
#define NSIG 64
#define PROC_NRLIMIT 16 /* RLIM_NLIMITS */
#define PROC_RLIMIT_NOFILE 7

struct file;
struct vnode;
struct vm_space;

/* One pending signal's details (standard signals are not queued). */
struct siginfo_k {
	int code; /* SI_USER 0, SI_KERNEL 0x80, CLD_*, SEGV_* */
	int pid; /* sender, or the child for SIGCHLD */
	int status; /* SIGCHLD */
	uint64_t addr; /* faults */
};

struct user_ctx {
	uint8_t fpu[ARCH_FPU_SIZE] __attribute__((aligned(16)));
	uint64_t fs_base;
	struct vm_space *space;
	bool space_borrowed; /* a vfork child runs in its parent's space */
	uint64_t sigmask; /* bit sig-1 blocks sig */
	uint64_t sigpending; /* proc_lock */
	struct siginfo_k siginfo[NSIG];
	uint64_t saved_mask; /* rt_sigsuspend: restored after the handler */
	bool has_saved_mask;
	uint64_t ss_sp, ss_size; /* sigaltstack */
	int ss_flags;
	uintptr_t brk_start, brk; /* heap: [brk_start, brk) */
	uintptr_t mmap_next; /* where the next mmap search starts */
	uint64_t entry, start_rsp; /* where ring 3 starts */
	/* Added to this node's clocks for the process: 0 at home; a remote
	 * reads its home's time base (kern/sys_time.c, mosix/mig.c). */
	int64_t clock_off;
	struct trapframe *fork_tf; /* a fork child's first registers */
};

struct k_sigaction {
	uint64_t handler; /* SIG_DFL 0, SIG_IGN 1, or an address */
	uint64_t flags; /* SA_* */
	uint64_t restorer;
	uint64_t mask;
};

enum proc_state { P_RUN, P_STOPPED, P_ZOMBIE };

struct sys_ctx {
	struct file *fd[PROC_MAX_FD];
	uint64_t cloexec[PROC_MAX_FD / 64]; /* close-on-exec bit per fd */
	uint32_t umask;
	struct vnode *cwd; /* a reference */
	struct proc *parent; /* NULL: started by the kernel */
	struct proc *children, *sibling; /* proc_lock */
	int pgid, sid; /* process group and session (job control) */
	enum proc_state state; /* proc_lock */
	bool stop_reported, cont_reported; /* for WUNTRACED/WCONTINUED */
	int stop_sig;
	int wstatus; /* Linux wait status: code << 8, or the signal */
	struct waitq child_wq; /* this process waits for its children here */
	struct waitq exit_wq; /* a kernel waiter (proc_wait) sleeps here */
	struct waitq stop_wq; /* a stopped process sleeps here */
	struct waitq vfork_wq; /* a vfork parent waits for exec or exit */
	bool vfork_done;
	bool kernel_child; /* started by the kernel: proc_wait reaps it */
	bool full_restore; /* rt_sigreturn: every register goes back */
	uint64_t clear_tid; /* set_tid_address / CLONE_CHILD_CLEARTID */
	struct k_sigaction action[NSIG];
	char *cmdline; /* argv, NUL-separated (kmalloc) */
	size_t cmdline_len;
	uint64_t start_ns; /* time_ns at creation */
	uint64_t child_cpu_ns; /* reaped children's CPU time */
	uint64_t cpu_ns_final; /* the thread's CPU time, at exit */
	uint64_t minflt;
	uint64_t alarm_ns, alarm_interval_ns; /* ITIMER_REAL; proc_lock */
	struct proc_rlimit {
		uint64_t cur, max;
	} rlim[PROC_NRLIMIT]; /* getrlimit/setrlimit; inherited by fork */
	/* Migration control (issue 7), proc_lock. lock: never move the
	 * process automatically (/proc/<pid>/lock; an explicit migrate still
	 * may); inherited by fork, kept across execve, as MOSIX's. where_node:
	 * the node the user context runs on (this node until migration
	 * moves it; /proc/<pid>/where). */
	bool lock;
	int where_node;
};

struct proc {
	int pid;
	char name[16];
	struct thread *thread; /* NULL once a zombie */
	struct user_ctx user;
	struct sys_ctx sys;
	struct proc *next; /* the process list; proc_lock */
	/* Migration (mosix/mig.h), proc_lock: the role when the process is
	 * a deputy or a remote (NULL: ordinary), and a migrate request
	 * waiting for its next return to user mode. */
	struct mig_proc *mig;
	struct mig_goreq *goreq;
	bool exiting; /* in proc_exit: takes no more requests */
	/* Load balancing (mosix/balance.c): its thread's run ticks at the
	 * last sample, its recent load (the share of ticks it was running or
	 * ready: 100 = always runnable), when it started or arrived on this
	 * node, when it last moved (0 never), its run ticks then; when it
	 * last exec'd and its run ticks then. */
	uint64_t lb_run_prev, lb_run_base;
	uint32_t lb_load;
	uint64_t lb_since_ns, lb_moved_ns;
	uint64_t lb_exec_ns, lb_run_exec;
};

extern struct spinlock proc_lock;

void proc_init(void); /* hooks: thread switch, syscalls, user faults */
/* Start `path` as a new process with argv (NULL-terminated; NULL = the
 * path alone), child of the kernel: the process, or NULL with the negative
 * errno in *err. The first one becomes pid 1 (init). */
struct proc *proc_exec_first(const char *path, const char *const *argv,
			     int *err);
/* Wait for a process the kernel started to end, free it, return its
 * Linux wait status. */
int proc_wait(struct proc *p);
/* The process the calling thread runs, or NULL. */
struct proc *proc_current(void);
/* End the calling process with Linux wait status wstatus; never returns. */
__attribute__((noreturn)) void proc_exit(int wstatus);
/* The process with this pid (any state), or NULL. Caller holds proc_lock
 * (or is content with a pointer that may die when it sleeps). */
struct proc *proc_find(int pid);
/* Processes alive (zombies included) on this node. */
int proc_count(void);
/* Internal to kern/proc.c and signal.c. */
bool proc_pgrp_in_use(int id); /* caller holds proc_lock */
void proc_free_deferred(struct proc *p); /* interrupts off */
int proc_signal_info_locked(struct proc *p, int sig,
			    const struct siginfo_k *si); /* holds proc_lock */
void proc_notify_parent_locked(struct proc *p, int code, int status);
struct proc *proc_first(void); /* the process list; holds proc_lock */
/* For migration (mosix/mig.c): a new process on the list with a fresh
 * pid and nothing else (NULL with -errno in *err); proc_discard frees one
 * that never ran; proc_user_start is the thread function that enters ring
 * 3 with p->user.fork_tf (as a fork child does). */
struct proc *proc_new(int *err);
void proc_discard(struct proc *p);
void proc_user_start(void *arg);
/* Make p init: orphans are adopted by it. */
void proc_set_init(struct proc *p);
/* Fill p's limits with the defaults (kern/sys_misc.c). */
void proc_rlimit_defaults(struct proc *p);
/* CPU time of p's thread so far (its final figure once a zombie). */
uint64_t proc_cpu_ns(const struct proc *p);
/* Why p cannot migrate at all (a short phrase: "init", "vfork child",
 * ...), or NULL if it can. The user lock is not a reason: it only stops
 * automatic moves. Caller holds proc_lock. */
const char *proc_cantmove(const struct proc *p);
/* May `by` (NULL: the kernel) change p's migration control (lock, and
 * migrate it)? Its owner or root may. Caller holds proc_lock. */
bool proc_may_control(const struct proc *by, const struct proc *p);

/*
 * Signals (kern/signal.c). proc_signal posts sig (1..64) to p and wakes it
 * from an interruptible sleep; proc_signal_pgrp posts it to every member
 * of process group pgid (-ESRCH when there is none). Both may be called
 * from any thread with interrupts on; not from interrupt context.
 * proc_signal_info also records the siginfo details.
 */
int proc_signal(struct proc *p, int sig);
int proc_signal_info(struct proc *p, int sig, const struct siginfo_k *si);
int proc_signal_pgrp(int pgid, int sig);
/* Has the calling thread's process a signal that interrupts sleeps? */
bool signal_interrupts(struct thread *t);
/* At every return to ring 3 (arch_set_user_return_hook). */
bool signal_user_return(struct trapframe *tf);
/* rt_sigsuspend, ppoll, pselect6: mask holds for the caller's wait; the
 * old mask comes back on the way out to user space, after the handler of
 * a signal that ended the wait. */
void signal_wait_mask(uint64_t mask);
/* Exec: caught signals go back to their default action. */
void signal_exec_reset(struct proc *p);
/* A fault in ring 3: post sig with the fault address (forced: a blocked
 * or ignored fault signal still kills). */
void signal_fault(int sig, int code, uint64_t addr, const char *what,
		  uint64_t rip);
/* The name of a signal ("SIGSEGV"), or "signal N" in buf. */
const char *signal_name(int sig);

/* kern/syscall.c: the dispatcher handed to arch_syscall_set_handler. */
long syscall_dispatch(unsigned long nr, const uint64_t args[6]);
/* The call's own handler, even for a remote (the deputy's way in). */
long syscall_run_local(unsigned long nr, const uint64_t args[6]);
/* The class of a call as the table says: "LOCAL", "HOME", or NULL. */
const char *syscall_class(unsigned long nr);
/* -ENOSYS for nr, with a rate-limited log line naming it. */
long syscall_enosys(unsigned long nr);

#endif
