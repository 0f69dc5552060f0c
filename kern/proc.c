/*
 * proc.c — processes: the process list and pids, creation from an ELF file,
 * fork/vfork/clone, execve, exit, wait, process groups and sessions (issue
 * 4); what migration asks of a process (proc_cantmove, proc_may_control;
 * issue 7). See kern/proc.h for the user/system split, the life cycle and
 * the locking; signals are kern/signal.c, per-process /proc files
 * proc_procfs.c.
 *
 * Loading (proc_exec_first and execve share it) checks and builds
 * everything before the process changes: the file's head (ELF and program
 * headers, or a "#!" line) is read and elf_parse_prefix validates it; a
 * new space gets one region per PT_LOAD (segments sharing a page are
 * merged into one region with the union of their permissions). Read-only
 * segments (text) are mapped from the file through the pager and read on
 * first touch; the others get their file bytes copied in now (the rest of
 * each segment is demand-zero). Then an 8 MiB stack region and the psABI
 * start-up stack (ustack_build). Only then does execve drop the old image:
 * a failed execve returns its error to the unchanged caller.
 *
 * fork copies the address space copy-on-write (vm_space_fork), the fd
 * table (references), cwd, umask, dispositions, mask and the registers; the
 * child's thread starts in fork_child_start, which returns to ring 3 with
 * the parent's registers and rax = 0. vfork (and clone with CLONE_VM |
 * CLONE_VFORK, which musl's posix_spawn uses) lends the parent's space to
 * the child and parks the parent until the child execs or exits, so the
 * shared space is never used by both at once.
 */
#include "kern/proc.h"

#include "fs/vfs.h"
#include "kern/elf.h"
#include "kern/kern.h"
#include "kern/syscall.h"
#include "mosix/balance.h"
#include "mosix/mig.h"
#include "vm/vm.h"

#define IMAGE_MAX (64u << 20) /* largest executable loaded */
#define USTACK_BUF (USTACK_ARG_MAX + 16384)
#define DYN_BIAS 0x400000ull /* where a static-pie is placed */
#define PID_MAX 32768
#define ARGV_MAX 4096 /* pointers in argv + envp */
#define INTERP_DEPTH 4 /* #! scripts whose interpreter is a script */

#define SIGCHLD 17
#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_VFORK 0x4000
#define CLONE_THREAD 0x10000
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_CHILD_SETTID 0x1000000

#define WNOHANG 1
#define WUNTRACED 2
#define WEXITED 4
#define WCONTINUED 8
#define WNOWAIT 0x1000000
#define P_ALL 0
#define P_PID 1
#define P_PGID 2

struct spinlock proc_lock = {.name = "proc"};
static struct proc *procs; /* every process, newest first */
static int nprocs;
static int last_pid;
static struct proc *initproc; /* pid 1 once it is a user process */

struct proc *proc_current(void)
{
	return thread_proc(thread_current());
}

/* ------------------------------------------------------------ the list */

struct proc *proc_find(int pid)
{
	for (struct proc *p = procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

struct proc *proc_first(void)
{
	return procs;
}

void proc_set_init(struct proc *p)
{
	initproc = p;
}

int proc_count(void)
{
	return nprocs;
}

uint64_t proc_cpu_ns(const struct proc *p)
{
	return p->thread ? thread_cpu_ns(p->thread) : p->sys.cpu_ns_final;
}

/* ------------------------------------------------------------ migration */

/*
 * The reasons that exist in Shoal today, checked in this order. Shared
 * memory does not occur (MAP_SHARED anonymous memory is private after
 * fork, shared writable file mappings are refused), nor do mapped devices,
 * tracing or threads; kernel threads are not processes.
 */
const char *proc_cantmove(const struct proc *p)
{
	if (p->sys.state == P_ZOMBIE)
		return "zombie";
	if (p == initproc)
		return "init"; /* pid 1, unless the monitor runs the console */
	if (!p->thread || !p->user.space)
		return "starting or exiting"; /* no thread or no memory */
	if (p->user.space_borrowed)
		return "vfork child: runs in its parent's memory";
	for (const struct proc *c = p->sys.children; c; c = c->sys.sibling)
		if (c->user.space_borrowed)
			return "vfork parent: its memory is lent to a child";
	return NULL;
}

bool proc_may_control(const struct proc *by, const struct proc *p)
{
	/* Everyone is root (uid 0, kern/sys_misc.c), so everyone may; when
	 * credentials come, this compares by's euid with 0 and p's uid. */
	return true;
}

uint64_t proc_children_cpu_ns(void)
{
	return proc_current()->sys.child_cpu_ns;
}

/* A new process on the list with a fresh pid, or NULL (-EAGAIN: the
 * per-node limit; -ENOMEM). */
static struct proc *proc_alloc(int *err)
{
	struct proc *p = kzalloc(sizeof *p);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	spin_lock(&proc_lock);
	if (nprocs >= PROC_LIMIT) {
		spin_unlock(&proc_lock);
		kfree(p);
		*err = -EAGAIN;
		return NULL;
	}
	do
		last_pid = last_pid >= PID_MAX ? 2 : last_pid + 1;
	while (proc_find(last_pid) || proc_pgrp_in_use(last_pid));
	p->pid = last_pid;
	p->sys.where_node = kconfig.node;
	p->next = procs;
	procs = p;
	nprocs++;
	spin_unlock(&proc_lock);
	waitq_init(&p->sys.child_wq);
	waitq_init(&p->sys.exit_wq);
	waitq_init(&p->sys.stop_wq);
	waitq_init(&p->sys.vfork_wq);
	p->sys.start_ns = time_ns();
	p->lb_since_ns = p->sys.start_ns;
	p->sys.umask = 022;
	return p;
}

static void free_deferred(void);
static void proc_free(struct proc *p);

struct proc *proc_new(int *err)
{
	free_deferred();
	return proc_alloc(err);
}

void proc_discard(struct proc *p)
{
	proc_free(p);
}

/* Is id some process's group or session (so it is not reused as a pid)?
 * Caller holds proc_lock. */
bool proc_pgrp_in_use(int id)
{
	for (struct proc *p = procs; p; p = p->next)
		if (p->sys.pgid == id || p->sys.sid == id)
			return true;
	return false;
}

static void set_cmdline(struct proc *p, const char *const *argv)
{
	size_t len = 0;
	for (int i = 0; argv[i] && len < PROC_CMDLINE_MAX; i++)
		len += strlen(argv[i]) + 1;
	len = MIN(len, (size_t)PROC_CMDLINE_MAX);
	char *buf = kmalloc(len ? len : 1);
	if (!buf)
		return;
	size_t at = 0;
	for (int i = 0; argv[i] && at < len; i++) {
		size_t n = MIN(strlen(argv[i]) + 1, len - at);
		memcpy(buf + at, argv[i], n);
		at += n;
	}
	kfree(p->sys.cmdline);
	p->sys.cmdline = buf;
	p->sys.cmdline_len = len;
}

static void set_name(struct proc *p, const char *path)
{
	const char *base = path;
	for (const char *c = path; *c; c++)
		if (*c == '/')
			base = c + 1;
	strlcpy(p->name, base, sizeof p->name);
}

/* Free a zombie (or a process that never ran). Unlinks it. */
static void proc_free(struct proc *p)
{
	spin_lock(&proc_lock);
	for (struct proc **pp = &procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			nprocs--;
			break;
		}
	}
	spin_unlock(&proc_lock);
	for (int i = 0; i < PROC_MAX_FD; i++)
		if (p->sys.fd[i])
			file_close(p->sys.fd[i]);
	vnode_put(p->sys.cwd);
	if (p->user.space && !p->user.space_borrowed)
		vm_space_destroy(p->user.space);
	kfree(p->sys.cmdline);
	mig_free(p->mig);
	kfree(p);
}

/* ------------------------------------------------------------ switching */

/* Interrupts off: save the outgoing process's registers the kernel does
 * not save itself, load the incoming one's. */
static void proc_switch(struct thread *prev, struct thread *next)
{
	struct proc *pp = thread_proc(prev), *np = thread_proc(next);
	if (pp) {
		arch_fpu_save(pp->user.fpu);
		pp->user.fs_base = arch_fs_base_get();
	}
	if (np) {
		arch_fpu_restore(np->user.fpu);
		arch_fs_base_set(np->user.fs_base);
		vm_space_switch(np->user.space);
		arch_set_user_kstack(thread_stack_top(next));
	}
}

/* The signal and si_code Linux gives for an exception vector (err: the
 * #PF error code, bit 0 set when the page was present). */
static int vector_signal(unsigned vector, uint64_t err, int *code)
{
	switch (vector) {
	case 0: /* #DE */
		*code = 1; /* FPE_INTDIV */
		return 8;
	case 16: /* #MF */
	case 19: /* #XM */
		*code = 7; /* FPE_FLTINV */
		return 8;
	case 1: /* #DB */
	case 3: /* #BP */
		*code = 1; /* TRAP_BRKPT */
		return 5;
	case 6: /* #UD */
		*code = 2; /* ILL_ILLOPN */
		return 4;
	case 17: /* #AC */
		*code = 1; /* BUS_ADRALN */
		return 7;
	case 14: /* #PF */
		*code = err & 1 ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */;
		return 11;
	default: /* #GP and the rest */
		*code = 0x80; /* SI_KERNEL */
		return 11;
	}
}

static void user_fault(unsigned vector, const char *name, uintptr_t rip,
		       uintptr_t addr)
{
	struct proc *p = proc_current();
	if (!p)
		return; /* not ours: trap.c reports it as a kernel fault */
	if (vector == 14 && p->user.space &&
	    p->user.space->last_fault_err == -ENOMEM) {
		/* No page for a valid access. First give back the page cache
		 * of program text and let the access run again; if that was
		 * not enough, the node is out of memory: the process that
		 * asked dies (SIGKILL, as Linux's OOM killer does) and the
		 * node goes on. */
		irq_enable();
		if (file_pcache_pages()) {
			file_pcache_drop();
			irq_disable();
			return;
		}
		struct mem_stats st;
		mem_get_stats(&st);
		printk("shoal: pid %d (%s) killed by SIGKILL: out of memory at "
		       "rip %#lx addr %#lx (%lu KiB free, %lu KiB resident)\n",
		       p->pid, p->name, (unsigned long)rip, (unsigned long)addr,
		       (unsigned long)(st.free_bytes >> 10),
		       (unsigned long)(p->user.space->pages * 4));
		proc_exit(9);
	}
	uint64_t err =
		arch_user_frame(thread_stack_top(thread_current()))->error;
	int code;
	int sig = vector_signal(vector, err, &code);
	signal_fault(sig, code, addr, name, rip);
}

void proc_procfs_init(void); /* proc_procfs.c */

void proc_init(void)
{
	thread_set_switch_hook(proc_switch);
	thread_set_intr_hook(signal_interrupts);
	arch_syscall_set_handler(syscall_dispatch);
	arch_set_user_fault_hook(user_fault);
	arch_set_user_return_hook(signal_user_return);
	proc_procfs_init();
}

/* ------------------------------------------------------------ exit, wait */

/* Caller holds proc_lock: tell p's parent that p changed state. */
void proc_notify_parent_locked(struct proc *p, int code, int status)
{
	struct proc *parent = p->sys.parent;
	if (!parent) {
		waitq_wakeup_all(&p->sys.exit_wq);
		return;
	}
	waitq_wakeup_all(&parent->sys.child_wq);
	const struct k_sigaction *sa = &parent->sys.action[SIGCHLD - 1];
	if (code != 1 /* CLD_EXITED */ && code != 2 /* CLD_KILLED */ &&
	    (sa->flags & 1 /* SA_NOCLDSTOP */))
		return;
	struct siginfo_k si = {.code = code, .pid = p->pid, .status = status};
	proc_signal_info_locked(parent, SIGCHLD, &si);
}

/* Does the parent discard its children's statuses (SIGCHLD ignored or
 * SA_NOCLDWAIT)? Then an exiting child is freed at once. */
static bool parent_discards(const struct proc *parent)
{
	const struct k_sigaction *sa = &parent->sys.action[SIGCHLD - 1];
	return sa->handler == 1 || (sa->flags & 2 /* SA_NOCLDWAIT */);
}

static void vfork_release(struct proc *p)
{
	if (p->user.space_borrowed && p->sys.parent) {
		p->sys.parent->sys.vfork_done = true;
		waitq_wakeup_all(&p->sys.parent->sys.vfork_wq);
	}
}

void proc_exit(int wstatus)
{
	struct proc *p = proc_current();
	KASSERT(p);
	balance_proc_exit(p);
	mig_exit(p, wstatus);
	if (p->sys.kernel_child && !(wstatus & 0x7f))
		printk("shoal: pid %d (%s) exited with status %d\n", p->pid,
		       p->name, (wstatus >> 8) & 0xff);
	for (int i = 0; i < PROC_MAX_FD; i++) {
		if (p->sys.fd[i]) {
			file_close(p->sys.fd[i]);
			p->sys.fd[i] = NULL;
		}
	}
	vnode_put(p->sys.cwd);
	p->sys.cwd = NULL;
	if (p->sys.clear_tid) { /* CLONE_CHILD_CLEARTID: no futex waiters
				   exist without threads; just clear it */
		int32_t zero = 0;
		user_out(p->sys.clear_tid, &zero, sizeof zero);
	}
	/* The space goes now (vm_space_destroy switches away from it); a
	 * borrowed one goes back to the vfork parent. */
	struct vm_space *s = p->user.space;
	bool borrowed = p->user.space_borrowed;
	irq_disable();
	vfork_release(p);
	p->user.space = NULL;
	p->user.space_borrowed = false;
	irq_enable();
	if (!borrowed)
		vm_space_destroy(s);
	else
		vm_space_switch(NULL);

	spin_lock(&proc_lock);
	/* Children go to init, or are reaped at once when there is none. */
	struct proc *c = p->sys.children, *orphans_dead = NULL;
	while (c) {
		struct proc *next = c->sys.sibling;
		if (initproc && initproc != p) {
			c->sys.parent = initproc;
			c->sys.sibling = initproc->sys.children;
			initproc->sys.children = c;
			if (c->sys.state == P_ZOMBIE)
				waitq_wakeup_all(&initproc->sys.child_wq);
		} else {
			c->sys.parent = NULL;
			c->sys.sibling = NULL;
			if (c->sys.state == P_ZOMBIE) {
				c->sys.sibling = orphans_dead;
				orphans_dead = c;
			}
		}
		c = next;
	}
	p->sys.children = NULL;
	p->sys.wstatus = wstatus;
	p->sys.state = P_ZOMBIE;
	p->sys.cpu_ns_final = thread_cpu_ns(thread_current());
	bool self_reap = p->sys.parent && parent_discards(p->sys.parent);
	bool orphan = !p->sys.parent && !p->sys.kernel_child;
	if (self_reap) {
		struct proc **pp = &p->sys.parent->sys.children;
		while (*pp && *pp != p)
			pp = &(*pp)->sys.sibling;
		if (*pp)
			*pp = p->sys.sibling;
		p->sys.parent->sys.child_cpu_ns += p->sys.cpu_ns_final;
		waitq_wakeup_all(&p->sys.parent->sys.child_wq);
	} else {
		int code = (wstatus & 0x7f) ? 2 : 1;
		proc_notify_parent_locked(p, code,
					  code == 1 ? (wstatus >> 8) & 0xff
						    : wstatus & 0x7f);
	}
	if (p == initproc)
		initproc = NULL;
	/* Let go of p before proc_lock is: once it is released the reaper
	 * may free p at any moment (even before this thread's last switch),
	 * so this thread stops being p's now and never touches it again. A
	 * process nobody will wait for goes on the deferred list, freed by
	 * the next fork or wait. */
	thread_set_proc(thread_current(), NULL);
	p->thread = NULL;
	if (self_reap || orphan) {
		p->sys.parent = NULL;
		proc_free_deferred(p);
	}
	spin_unlock(&proc_lock);
	while (orphans_dead) {
		struct proc *next = orphans_dead->sys.sibling;
		proc_free(orphans_dead);
		orphans_dead = next;
	}
	thread_exit();
}

int proc_wait(struct proc *p)
{
	unsigned long f = irq_save();
	while (p->sys.state != P_ZOMBIE)
		waitq_sleep(&p->sys.exit_wq, NULL);
	irq_restore(f);
	int st = p->sys.wstatus;
	proc_free(p);
	return st;
}

/* Zombies freed from a context where proc_free (which may sleep in
 * file_close/vm) cannot run: the struct alone remains, fds and space are
 * gone, so freeing is just unlinking and kfree — done by the next
 * proc_alloc or wait. */
static struct proc *deferred;

void proc_free_deferred(struct proc *p)
{
	p->sys.sibling = deferred;
	deferred = p;
}

static void free_deferred(void)
{
	spin_lock(&proc_lock);
	struct proc *list = deferred;
	deferred = NULL;
	spin_unlock(&proc_lock);
	while (list) {
		struct proc *next = list->sys.sibling;
		proc_free(list);
		list = next;
	}
}

/* Does child c match wait4's pid argument for parent p? */
static bool wait_matches(const struct proc *p, const struct proc *c, int pid)
{
	if (pid > 0)
		return c->pid == pid;
	if (pid == 0)
		return c->sys.pgid == p->sys.pgid;
	if (pid < -1)
		return c->sys.pgid == -pid;
	return true;
}

struct wait_result {
	int pid, wstatus;
	int code; /* CLD_* for waitid */
	int status; /* waitid's si_status */
	uint64_t cpu_ns;
};

/* The wait loop of wait4 and waitid: 0 with *r filled, 0 with r->pid = 0
 * (WNOHANG, nothing yet), or -ECHILD / -ERESTARTSYS / -EINVAL. */
static int do_wait(int pid, int options, struct wait_result *r)
{
	struct proc *p = proc_current();
	free_deferred();
	for (;;) {
		spin_lock(&proc_lock);
		bool any = false;
		struct proc **pp = &p->sys.children;
		for (; *pp; pp = &(*pp)->sys.sibling) {
			struct proc *c = *pp;
			if (!wait_matches(p, c, pid))
				continue;
			any = true;
			if (c->sys.state == P_ZOMBIE && (options & WEXITED)) {
				int st = c->sys.wstatus;
				r->pid = c->pid;
				r->wstatus = st;
				r->code = (st & 0x7f) ? 2 : 1;
				r->status = (st & 0x7f) ? st & 0x7f
							: (st >> 8) & 0xff;
				r->cpu_ns = c->sys.cpu_ns_final;
				if (options & WNOWAIT) {
					spin_unlock(&proc_lock);
					return 0;
				}
				*pp = c->sys.sibling;
				p->sys.child_cpu_ns += c->sys.cpu_ns_final +
						       c->sys.child_cpu_ns;
				spin_unlock(&proc_lock);
				proc_free(c);
				return 0;
			}
			if (c->sys.state == P_STOPPED &&
			    (options & WUNTRACED) && !c->sys.stop_reported) {
				if (!(options & WNOWAIT))
					c->sys.stop_reported = true;
				r->pid = c->pid;
				r->wstatus = 0x7f | c->sys.stop_sig << 8;
				r->code = 5; /* CLD_STOPPED */
				r->status = c->sys.stop_sig;
				spin_unlock(&proc_lock);
				return 0;
			}
			if ((options & WCONTINUED) && !c->sys.cont_reported) {
				if (!(options & WNOWAIT))
					c->sys.cont_reported = true;
				r->pid = c->pid;
				r->wstatus = 0xffff;
				r->code = 6; /* CLD_CONTINUED */
				r->status = 18;
				spin_unlock(&proc_lock);
				return 0;
			}
		}
		if (!any) {
			spin_unlock(&proc_lock);
			return -ECHILD;
		}
		if (options & WNOHANG) {
			spin_unlock(&proc_lock);
			r->pid = 0;
			return 0;
		}
		int rc = waitq_sleep_intr(&p->sys.child_wq, &proc_lock, 0);
		spin_unlock(&proc_lock);
		if (rc == -ERESTARTSYS)
			return rc;
	}
}

long sys_wait4(const uint64_t a[6])
{
	int pid = (int)a[0];
	int options = (int)a[2];
	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | 0x40000000 |
			0x80000000 | 0x20000000))
		return -EINVAL;
	if (pid == (int)0x80000000)
		return -ESRCH;
	struct wait_result r = {0};
	int rc = do_wait(pid, options | WEXITED, &r);
	if (rc)
		return rc;
	if (r.pid && a[1] && user_out(a[1], &r.wstatus, sizeof(int)))
		return -EFAULT;
	if (r.pid && a[3]) {
		struct linux_rusage ru = {0};
		ru.ru_utime.tv_sec = (int64_t)(r.cpu_ns / 1000000000ull);
		ru.ru_utime.tv_usec =
			(int64_t)(r.cpu_ns % 1000000000ull / 1000);
		if (user_out(a[3], &ru, sizeof ru))
			return -EFAULT;
	}
	return r.pid;
}

long sys_waitid(const uint64_t a[6])
{
	int idtype = (int)a[0], id = (int)a[1], options = (int)a[3];
	int pid;
	if (options & ~(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT) ||
	    !(options & (WEXITED | WUNTRACED | WCONTINUED)))
		return -EINVAL;
	switch (idtype) {
	case P_ALL:
		pid = -1;
		break;
	case P_PID:
		if (id <= 0)
			return -EINVAL;
		pid = id;
		break;
	case P_PGID:
		if (id < 0)
			return -EINVAL;
		pid = id ? -id : 0;
		break;
	default:
		return -EINVAL;
	}
	struct wait_result r = {0};
	int rc = do_wait(pid, options, &r);
	if (rc)
		return rc;
	if (a[2]) {
		int32_t info[32] = {0};
		if (r.pid) {
			info[0] = SIGCHLD;
			info[2] = r.code;
			info[4] = r.pid;
			info[6] = r.status;
		}
		if (user_out(a[2], info, sizeof info))
			return -EFAULT;
	}
	return 0;
}

/* ------------------------------------------------------------ loading */

static void proc_run(void *arg)
{
	struct proc *p = arg;
	irq_disable();
	thread_set_proc(thread_current(), p);
	arch_fpu_restore(p->user.fpu);
	arch_fs_base_set(0);
	vm_space_switch(p->user.space);
	arch_set_user_kstack(thread_stack_top(thread_current()));
	arch_enter_user(p->user.entry, p->user.start_rsp);
}

/*
 * Open path (from at) for execution and read its first *have bytes (at
 * most HEAD_MAX) into a new buffer: enough for a "#!" line or the ELF and
 * program headers. The rest of the file is read only as the image needs
 * it (data segments now, text pages on first touch), never whole.
 */
#define HEAD_MAX 8192

static int open_exec(struct vnode *at, const char *path, struct file **fp,
		     char **head, size_t *have, size_t *size)
{
	struct file *f;
	int rc = vfs_open(at, path, O_RDONLY, 0, &f);
	if (rc < 0)
		return rc;
	struct linux_stat st;
	rc = file_stat(f, &st);
	if (rc == 0 && (st.st_mode & 0170000) != 0100000)
		rc = -EACCES; /* a directory, device, ... */
	else if (rc == 0 && !(st.st_mode & 0111))
		rc = -EACCES;
	else if (rc == 0 && (st.st_size <= 0 || st.st_size > IMAGE_MAX))
		rc = -ENOEXEC;
	size_t want = rc ? 0 : MIN((size_t)st.st_size, (size_t)HEAD_MAX);
	char *buf = rc ? NULL : kmalloc(want);
	if (!rc && !buf)
		rc = -ENOMEM;
	size_t done = 0;
	while (!rc && done < want) {
		int64_t n =
			file_pread(f, buf + done, want - done, (int64_t)done);
		if (n <= 0)
			rc = n < 0 ? (int)n : -EIO;
		else
			done += (size_t)n;
	}
	if (rc) {
		file_close(f);
		kfree(buf);
		return rc;
	}
	*fp = f;
	*head = buf;
	*have = done;
	*size = (size_t)st.st_size;
	return 0;
}

/* Copy len bytes of f from offset off to user address dst in s. */
static int copy_file_to_user(struct vm_space *s, uintptr_t dst, struct file *f,
			     uint64_t off, uint64_t len)
{
	char *buf = kmalloc(PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	while (!rc && len) {
		size_t chunk = (size_t)MIN(len, (uint64_t)PAGE_SIZE);
		int64_t n = file_pread(f, buf, chunk, (int64_t)off);
		if (n <= 0)
			rc = n < 0 ? (int)n : -ENOEXEC; /* file shrank */
		else if (copy_to_user(s, dst, buf, (size_t)n))
			rc = -EFAULT;
		else {
			dst += (uint64_t)n;
			off += (uint64_t)n;
			len -= (uint64_t)n;
		}
	}
	kfree(buf);
	return rc;
}

static unsigned vm_prot(unsigned elf_prot)
{
	return (elf_prot & ELF_PROT_R ? VM_PROT_READ : 0) |
	       (elf_prot & ELF_PROT_W ? VM_PROT_WRITE : 0) |
	       (elf_prot & ELF_PROT_X ? VM_PROT_EXEC : 0);
}

/*
 * Map the loadable segments of a parsed image into s. A read-only segment
 * whose pages it alone uses, whose file bytes fill it (memsz == filesz)
 * and whose address and file offset agree modulo the page size — program
 * text and read-only data — is mapped from the file: its pages are read
 * on first touch and stay clean, so they cost nothing until used and
 * migration need not send them. Everything else (data, bss, segments
 * sharing a page) is anonymous memory filled from the image now.
 */
static int load_segments(struct vm_space *s, const struct elf_info *in,
			 struct file *f)
{
	uintptr_t start[ELF_MAX_SEGMENTS], end[ELF_MAX_SEGMENTS];
	unsigned prot[ELF_MAX_SEGMENTS], n = 0, nseg[ELF_MAX_SEGMENTS];
	unsigned first[ELF_MAX_SEGMENTS];
	for (unsigned i = 0; i < in->nseg; i++) {
		const struct elf_segment *sg = &in->seg[i];
		uintptr_t a = ALIGN_DOWN(sg->vaddr, PAGE_SIZE);
		uintptr_t b = ALIGN_UP(sg->vaddr + sg->memsz, PAGE_SIZE);
		if (n && a < end[n - 1]) { /* shares a page with the last */
			end[n - 1] = MAX(end[n - 1], b);
			prot[n - 1] |= vm_prot(sg->prot);
			nseg[n - 1]++;
			continue;
		}
		start[n] = a;
		end[n] = b;
		first[n] = i;
		nseg[n] = 1;
		prot[n++] = vm_prot(sg->prot);
	}
	bool from_file[ELF_MAX_SEGMENTS];
	for (unsigned i = 0; i < n; i++) {
		const struct elf_segment *sg = &in->seg[first[i]];
		from_file[i] = f && nseg[i] == 1 &&
			       !(prot[i] & VM_PROT_WRITE) &&
			       sg->memsz == sg->filesz &&
			       (sg->vaddr - sg->offset) % PAGE_SIZE == 0;
		int rc = from_file[i]
				 ? vm_region_add_file(
					   s, start[i], end[i] - start[i],
					   prot[i], sys_file_pager(), f,
					   ALIGN_DOWN(sg->offset, PAGE_SIZE))
				 /* Writable while the bytes are copied in,
				  * then as the file says. */
				 : vm_region_add(s, start[i], end[i] - start[i],
						 prot[i] | VM_PROT_WRITE,
						 VM_REGION_ANON, NULL, 0);
		if (rc)
			return rc;
	}
	for (unsigned i = 0, r = 0; i < in->nseg; i++) {
		const struct elf_segment *sg = &in->seg[i];
		while (r + 1 < n && sg->vaddr >= end[r])
			r++;
		if (from_file[r])
			continue;
		int rc = copy_file_to_user(s, sg->vaddr, f, sg->offset,
					   sg->filesz);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		if (from_file[i])
			continue;
		int rc = vm_region_protect(s, start[i], end[i] - start[i],
					   prot[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* What a new image needs: built completely before the old one goes. */
struct image {
	struct vm_space *space;
	uint64_t entry, rsp, brk;
};

static int build_stack(struct image *im, const struct elf_info *in,
		       const char *path, const char *const *argv,
		       const char *const *envp, int pid)
{
	int rc = vm_region_add(im->space, PROC_STACK_TOP - PROC_STACK_SIZE,
			       PROC_STACK_SIZE, VM_PROT_READ | VM_PROT_WRITE,
			       VM_REGION_ANON, NULL, 0);
	if (rc)
		return rc;
	char *buf = kmalloc(USTACK_BUF);
	if (!buf)
		return -ENOMEM;
	uint8_t rnd[16];
	uint64_t seed = time_ns() ^ ((uint64_t)pid << 32);
	for (int i = 0; i < 16; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		rnd[i] = (uint8_t)(seed >> 56);
	}
	struct ustack_args a = {
		.buf = buf,
		.size = USTACK_BUF,
		.top = PROC_STACK_TOP,
		.argv = argv,
		.envp = envp,
		.execfn = path,
		.random = rnd,
		.phdr = in->phdr,
		.phent = in->phent,
		.phnum = in->phnum,
		.entry = in->entry,
	};
	rc = ustack_build(&a);
	if (!rc) {
		uint64_t base = PROC_STACK_TOP - USTACK_BUF;
		rc = copy_to_user(im->space, a.rsp, buf + (a.rsp - base),
				  PROC_STACK_TOP - a.rsp);
		im->rsp = a.rsp;
	}
	kfree(buf);
	return rc;
}

/* Build the image of the ELF file in image[0..size) into im. */
static int load_elf(struct image *im, const char *path, struct file *f,
		    char **head, size_t have, size_t size,
		    const char *const *argv, const char *const *envp, int pid)
{
	struct elf_info *in = kzalloc(sizeof *in);
	if (!in)
		return -ENOMEM;
	int rc = elf_parse_prefix(*head, have, size, in);
	if (rc == -EAGAIN) {
		/* The program headers lie past the first HEAD_MAX bytes (at
		 * most 128 of them, so within 64 KiB of a sane file). */
		size_t more = MIN(size, (size_t)(64u << 10));
		char *buf = kmalloc(more);
		rc = buf ? 0 : -ENOMEM;
		int64_t n = rc ? 0 : file_pread(f, buf, more, 0);
		if (!rc && n != (int64_t)more)
			rc = n < 0 ? (int)n : -EIO;
		if (!rc) {
			kfree(*head);
			*head = buf;
			rc = elf_parse_prefix(buf, more, size, in);
		} else {
			kfree(buf);
		}
		if (rc == -EAGAIN)
			rc = -ENOEXEC;
	}
	if (rc)
		printk(KERN_WARN "shoal: exec %s: %s\n", path,
		       in->error ? in->error : "not an executable");
	if (!rc && in->type == ELF_ET_DYN)
		rc = elf_apply_bias(in, DYN_BIAS);
	if (!rc) {
		im->space = vm_space_create();
		rc = im->space ? load_segments(im->space, in, f) : -ENOMEM;
	}
	if (!rc)
		rc = build_stack(im, in, path, argv, envp, pid);
	if (!rc) {
		im->entry = in->entry;
		im->brk = in->brk;
	}
	if (rc && im->space) {
		vm_space_destroy(im->space);
		im->space = NULL;
	}
	kfree(in);
	return rc;
}

/*
 * Load path (relative to at) into im. A file starting with "#!" runs its
 * interpreter with [interp, optional-arg, path, argv[1]...]; the vector is
 * rebuilt in scratch (at most ARGV_MAX + 3 pointers).
 */
static int load_image(struct image *im, struct vnode *at, const char *path,
		      const char *const *argv, const char *const *envp, int pid,
		      int depth)
{
	char *data;
	size_t size, have;
	struct file *f;
	int rc = open_exec(at, path, &f, &data, &have, &size);
	if (rc)
		return rc;
	const char *img = data;
	if (have < 2 || img[0] != '#' || img[1] != '!') {
		rc = load_elf(im, path, f, &data, have, size, argv, envp, pid);
		file_close(f); /* the text regions hold their own references */
		kfree(data);
		return rc;
	}
	file_close(f);
	size = have; /* the #! line must lie in the head */
	if (depth >= INTERP_DEPTH) {
		kfree(data);
		return -ELOOP;
	}
	/* "#!interp [arg]\n": at most one argument, as Linux. */
	char line[128];
	size_t n = 0;
	for (size_t i = 2; i < size && img[i] != '\n'; i++) {
		if (n + 1 >= sizeof line) {
			kfree(data);
			return -ENOEXEC;
		}
		line[n++] = img[i];
	}
	line[n] = 0;
	kfree(data);
	char *interp = line;
	while (*interp == ' ' || *interp == '\t')
		interp++;
	char *arg = interp;
	while (*arg && *arg != ' ' && *arg != '\t')
		arg++;
	if (*arg) {
		*arg++ = 0;
		while (*arg == ' ' || *arg == '\t')
			arg++;
		size_t l = strlen(arg);
		while (l && (arg[l - 1] == ' ' || arg[l - 1] == '\t' ||
			     arg[l - 1] == '\r'))
			arg[--l] = 0;
	}
	if (!*interp)
		return -ENOEXEC;
	size_t argc = 0;
	while (argv[argc])
		argc++;
	const char **nargv = kmalloc((argc + 4) * sizeof *nargv);
	if (!nargv)
		return -ENOMEM;
	size_t k = 0;
	nargv[k++] = interp;
	if (*arg)
		nargv[k++] = arg;
	nargv[k++] = path;
	for (size_t i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	rc = load_image(im, at, interp, nargv, envp, pid, depth + 1);
	kfree(nargv);
	return rc;
}

struct proc *proc_exec_first(const char *path, const char *const *argv,
			     int *err)
{
	free_deferred();
	struct proc *p = proc_alloc(err);
	if (!p)
		return NULL;
	set_name(p, path);
	arch_fpu_init_state(p->user.fpu);
	proc_rlimit_defaults(p);
	p->sys.cwd = vfs_root();
	spin_lock(&proc_lock);
	p->sys.pgid = p->sys.sid = p->pid;
	p->sys.kernel_child = true;
	spin_unlock(&proc_lock);
	struct file *con;
	int rc = vfs_open(NULL, "/dev/console", O_RDWR, 0, &con);
	const char *const deflt[] = {path, NULL};
	const char *const envp[] = {"PATH=/bin:/usr/local/bin", "HOME=/",
				    "TERM=vt100", NULL};
	if (!argv)
		argv = deflt;
	struct image im = {0};
	if (!rc) {
		p->sys.fd[0] = con;
		p->sys.fd[1] = file_dup(con);
		p->sys.fd[2] = file_dup(con);
		rc = load_image(&im, NULL, path, argv, envp, p->pid, 0);
	}
	if (!rc) {
		p->user.space = im.space;
		p->user.entry = im.entry;
		p->user.start_rsp = im.rsp;
		p->user.brk_start = p->user.brk = im.brk;
		p->user.mmap_next = PROC_MMAP_BASE;
		set_cmdline(p, argv);
		p->thread = thread_create(p->name, proc_run, p);
		if (!p->thread)
			rc = -ENOMEM;
	}
	if (rc) {
		proc_free(p);
		*err = rc;
		return NULL;
	}
	*err = 0;
	return p;
}

/* ------------------------------------------------------------ execve */

/* Copy a user vector of strings (argv or envp) into kernel memory: the
 * strings go to *pool (advanced), the pointers to vec (NULL-terminated).
 * -E2BIG past the limits, -EFAULT for bad pointers. */
static int copy_strv(uintptr_t uvec, const char **vec, size_t max, char **pool,
		     size_t *room)
{
	size_t n = 0;
	for (; uvec; n++) {
		uint64_t up;
		if (n + 1 >= max)
			return -E2BIG;
		if (user_in(&up, uvec + n * 8, 8))
			return -EFAULT;
		if (!up)
			break;
		long len = strncpy_from_user(proc_current()->user.space, *pool,
					     up, *room);
		if (len < 0)
			return -EFAULT;
		if ((size_t)len >= *room)
			return -E2BIG;
		vec[n] = *pool;
		*pool += len + 1;
		*room -= (size_t)len + 1;
	}
	vec[n] = NULL;
	return 0;
}

long sys_execve(const uint64_t a[6])
{
	struct proc *p = proc_current();
	char *path;
	int rc = user_path(a[0], &path);
	if (rc)
		return rc;
	char *strings = kmalloc(USTACK_ARG_MAX);
	const char **argv = kmalloc(ARGV_MAX * sizeof *argv);
	const char **envp = kmalloc(ARGV_MAX * sizeof *envp);
	if (!strings || !argv || !envp)
		rc = -ENOMEM;
	char *pool = strings;
	size_t room = USTACK_ARG_MAX;
	if (!rc)
		rc = copy_strv(a[1], argv, ARGV_MAX, &pool, &room);
	if (!rc)
		rc = copy_strv(a[2], envp, ARGV_MAX, &pool, &room);
	if (!rc && !*path)
		rc = -ENOENT;
	struct image im = {0};
	if (!rc) {
		const char *const fallback[] = {path, NULL};
		rc = load_image(&im, p->sys.cwd, path,
				argv[0] ? argv : fallback, envp, p->pid, 0);
	}
	if (!rc) {
		/* Point of no return: drop the old image. */
		struct vm_space *old = p->user.space;
		bool borrowed = p->user.space_borrowed;
		irq_disable();
		vfork_release(p);
		p->user.space = im.space;
		p->user.space_borrowed = false;
		vm_space_switch(im.space);
		irq_enable();
		if (!borrowed)
			vm_space_destroy(old);
		p->user.entry = im.entry;
		p->user.brk_start = p->user.brk = im.brk;
		p->user.mmap_next = PROC_MMAP_BASE;
		p->user.fs_base = 0;
		arch_fs_base_set(0);
		arch_fpu_init_state(p->user.fpu);
		arch_fpu_restore(p->user.fpu);
		p->user.ss_sp = p->user.ss_size = 0;
		p->user.ss_flags = 2; /* SS_DISABLE */
		for (int fd = 0; fd < PROC_MAX_FD; fd++)
			if (p->sys.fd[fd] && fd_get_cloexec(fd))
				fd_close(fd);
		signal_exec_reset(p);
		spin_lock(&proc_lock); /* a new program: its load anew */
		p->lb_exec_ns = time_ns();
		p->lb_run_exec = thread_run_ticks(thread_current());
		spin_unlock(&proc_lock);
		set_name(p, path);
		set_cmdline(p, argv[0] ? argv : (const char *const[]){path, 0});
		struct trapframe *tf =
			arch_user_frame(thread_stack_top(thread_current()));
		arch_frame_init_user(tf, im.entry, im.rsp);
	}
	kfree(envp);
	kfree(argv);
	kfree(strings);
	kfree(path);
	return rc;
}

/* ------------------------------------------------------------ fork */

/* The child's first run: its registers are the parent's at the call,
 * saved by do_fork, with rax = 0 (or a migrated process's, mosix/mig.c). */
void proc_user_start(void *arg)
{
	struct proc *p = arg;
	struct trapframe tf = *p->user.fork_tf;
	kfree(p->user.fork_tf);
	p->user.fork_tf = NULL;
	irq_disable();
	thread_set_proc(thread_current(), p);
	arch_fpu_restore(p->user.fpu);
	arch_fs_base_set(p->user.fs_base);
	vm_space_switch(p->user.space);
	arch_set_user_kstack(thread_stack_top(thread_current()));
	irq_enable();
	signal_user_return(&tf);
	arch_resume_user(&tf);
}

/* What clone asks of the child beyond fork (CLONE_CHILD_*, SETTLS). */
struct clone_extra {
	uint64_t flags;
	uint64_t child_tid; /* CLONE_CHILD_SETTID / CLEARTID address */
	uint64_t tls; /* CLONE_SETTLS: the child's FS base */
};

/* fork, vfork and clone: flags are clone's (the exit signal in the low
 * byte); stack is the child's rsp (0 = the parent's); x may be NULL. */
static long do_fork(uint64_t flags, uint64_t stack, const struct clone_extra *x)
{
	struct proc *parent = proc_current();
	bool share_vm = flags & CLONE_VM;
	int err;
	free_deferred();
	struct proc *c = proc_alloc(&err);
	if (!c)
		return err;
	struct trapframe *ptf =
		arch_user_frame(thread_stack_top(thread_current()));
	/* The user context: a copy (the space copy-on-write, or lent). */
	arch_fpu_save(parent->user.fpu);
	parent->user.fs_base = arch_fs_base_get();
	c->user = parent->user;
	c->user.sigpending = 0;
	c->user.fork_tf = NULL;
	memset(c->user.siginfo, 0, sizeof c->user.siginfo);
	c->user.has_saved_mask = false;
	if (share_vm) {
		c->user.space_borrowed = true;
	} else {
		c->user.space = vm_space_fork(parent->user.space);
		c->user.space_borrowed = false;
		if (!c->user.space) {
			c->user.space = NULL;
			proc_free(c);
			return -ENOMEM;
		}
	}
	if (x && (x->flags & CLONE_SETTLS))
		c->user.fs_base = x->tls;
	if (x && (x->flags & CLONE_CHILD_CLEARTID))
		c->sys.clear_tid = x->child_tid;
	if (x && (x->flags & CLONE_CHILD_SETTID)) {
		int32_t tid = c->pid;
		copy_to_user(c->user.space, x->child_tid, &tid, sizeof tid);
	}
	/* The system context. */
	memcpy(c->name, parent->name, sizeof c->name);
	for (int i = 0; i < PROC_MAX_FD; i++)
		if (parent->sys.fd[i])
			c->sys.fd[i] = file_dup(parent->sys.fd[i]);
	memcpy(c->sys.cloexec, parent->sys.cloexec, sizeof c->sys.cloexec);
	c->sys.umask = parent->sys.umask;
	memcpy(c->sys.rlim, parent->sys.rlim, sizeof c->sys.rlim);
	c->sys.cwd = vnode_ref(parent->sys.cwd);
	memcpy(c->sys.action, parent->sys.action, sizeof c->sys.action);
	if (parent->sys.cmdline) {
		c->sys.cmdline = kmalloc(parent->sys.cmdline_len);
		if (c->sys.cmdline) {
			memcpy(c->sys.cmdline, parent->sys.cmdline,
			       parent->sys.cmdline_len);
			c->sys.cmdline_len = parent->sys.cmdline_len;
		}
	}
	/* The registers the child starts with, on its own kernel stack. */
	c->thread = thread_create_suspended(c->name, proc_user_start, c);
	if (!c->thread) {
		proc_free(c);
		return -ENOMEM;
	}
	c->user.fork_tf = kmalloc(sizeof *c->user.fork_tf);
	if (!c->user.fork_tf) {
		thread_discard_suspended(c->thread);
		c->thread = NULL;
		proc_free(c);
		return -ENOMEM;
	}
	*c->user.fork_tf = *ptf;
	c->user.fork_tf->rax = 0;
	if (stack)
		c->user.fork_tf->rsp = stack;
	spin_lock(&proc_lock);
	c->sys.parent = parent;
	c->sys.pgid = parent->sys.pgid;
	c->sys.sid = parent->sys.sid;
	c->sys.cont_reported = true;
	c->sys.lock = parent->sys.lock;
	c->sys.sibling = parent->sys.children;
	parent->sys.children = c;
	spin_unlock(&proc_lock);
	int pid = c->pid;
	parent->sys.vfork_done = false;
	thread_start_suspended(c->thread);
	if (flags & CLONE_VFORK) {
		/* Not interruptible: the child runs on our space and stack. */
		unsigned long f = irq_save();
		while (!parent->sys.vfork_done)
			waitq_sleep(&parent->sys.vfork_wq, NULL);
		irq_restore(f);
	}
	return pid;
}

long sys_fork(const uint64_t a[6])
{
	return do_fork(SIGCHLD, 0, NULL);
}

long sys_vfork(const uint64_t a[6])
{
	return do_fork(CLONE_VM | CLONE_VFORK | SIGCHLD, 0, NULL);
}

/*
 * clone: a new process, never a thread. glibc's fork (static busybox)
 * asks for CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID; those, PARENT_SETTID
 * and SETTLS are honoured for the one thread of the child. Sharing memory
 * without vfork, or files, handlers or the thread group, is a thread:
 * -ENOSYS until threads exist. Arguments (x86-64 order): flags, stack,
 * parent_tid, child_tid, tls.
 */
long sys_clone(const uint64_t a[6])
{
	uint64_t flags = a[0];
	if (flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES | CLONE_FS))
		return -ENOSYS; /* threads: not yet */
	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK))
		return -ENOSYS; /* shared memory without vfork = a thread */
	if ((flags & 0xff) > NSIG)
		return -EINVAL;
	if ((flags & CLONE_PARENT_SETTID) && !user_range_ok(a[2], 4, true))
		return -EFAULT;
	if ((flags & CLONE_SETTLS) && a[4] >= VM_USER_TOP)
		return -EPERM;
	struct clone_extra x = {
		.flags = flags,
		.child_tid = a[3],
		.tls = a[4],
	};
	long pid = do_fork(flags, a[1], &x);
	if (pid > 0 && (flags & CLONE_PARENT_SETTID)) {
		int32_t tid = (int32_t)pid;
		user_out(a[2], &tid, sizeof tid);
	}
	return pid;
}

/* rseq and the robust futex list belong to threads: accepted (robust
 * list) or refused quietly (rseq; glibc and musl fall back). */
long sys_set_robust_list(const uint64_t a[6])
{
	return a[1] == 24 ? 0 : -EINVAL;
}

long sys_rseq(const uint64_t a[6])
{
	return -ENOSYS;
}

/* ------------------------------------------------------------ ids */

long sys_exit(const uint64_t a[6])
{
	proc_exit((int)((a[0] & 0xff) << 8));
}

long sys_exit_group(const uint64_t a[6])
{
	proc_exit((int)((a[0] & 0xff) << 8));
}

/* A remote answers with its pid at home (the cluster-wide name). */
static int home_pid(const struct proc *p)
{
	return p->mig && p->mig->role == MIG_REMOTE ? p->mig->home_pid : p->pid;
}

long sys_getpid(const uint64_t a[6])
{
	return home_pid(proc_current());
}

long sys_gettid(const uint64_t a[6])
{
	return home_pid(proc_current()); /* one thread per process */
}

long sys_set_tid_address(const uint64_t a[6])
{
	proc_current()->sys.clear_tid = a[0];
	return proc_current()->pid;
}

long sys_getppid(const uint64_t a[6])
{
	struct proc *parent = proc_current()->sys.parent;
	return parent ? parent->pid : 0;
}

long sys_getpgrp(const uint64_t a[6])
{
	return proc_current()->sys.pgid;
}

long sys_getpgid(const uint64_t a[6])
{
	int pid = (int)a[0];
	spin_lock(&proc_lock);
	struct proc *p = pid ? proc_find(pid) : proc_current();
	long rc = p && p->sys.state != P_ZOMBIE ? p->sys.pgid : -ESRCH;
	spin_unlock(&proc_lock);
	return rc;
}

long sys_getsid(const uint64_t a[6])
{
	int pid = (int)a[0];
	spin_lock(&proc_lock);
	struct proc *p = pid ? proc_find(pid) : proc_current();
	long rc = p && p->sys.state != P_ZOMBIE ? p->sys.sid : -ESRCH;
	spin_unlock(&proc_lock);
	return rc;
}

long sys_setpgid(const uint64_t a[6])
{
	struct proc *self = proc_current();
	int pid = (int)a[0], pgid = (int)a[1];
	if (pgid < 0)
		return -EINVAL;
	spin_lock(&proc_lock);
	struct proc *p = pid ? proc_find(pid) : self;
	long rc = 0;
	if (!p || p->sys.state == P_ZOMBIE ||
	    (p != self && p->sys.parent != self))
		rc = -ESRCH;
	else if (p->sys.sid != self->sys.sid)
		rc = -EPERM;
	else if (p->sys.sid == p->pid) /* a session leader */
		rc = -EPERM;
	if (!rc && !pgid)
		pgid = p->pid;
	if (!rc && pgid != p->pid) {
		/* Joining a group: it must exist in the same session. */
		bool found = false;
		for (struct proc *q = procs; q; q = q->next)
			if (q->sys.pgid == pgid &&
			    q->sys.sid == self->sys.sid &&
			    q->sys.state != P_ZOMBIE)
				found = true;
		if (!found)
			rc = -EPERM;
	}
	if (!rc)
		p->sys.pgid = pgid;
	spin_unlock(&proc_lock);
	return rc;
}

long sys_setsid(const uint64_t a[6])
{
	struct proc *p = proc_current();
	spin_lock(&proc_lock);
	long rc = p->pid;
	for (struct proc *q = procs; q; q = q->next)
		if (q->sys.pgid == p->pid && q->sys.state != P_ZOMBIE)
			rc = -EPERM; /* already a group leader */
	if (rc > 0)
		p->sys.pgid = p->sys.sid = p->pid;
	spin_unlock(&proc_lock);
	return rc;
}

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

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
		return user_out(a[1], &u->fs_base, sizeof u->fs_base);
	default:
		return -EINVAL;
	}
}
