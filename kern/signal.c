/*
 * signal.c — POSIX signals with the Linux x86-64 ABI (issue 4).
 *
 * State: the dispositions (struct k_sigaction, one per signal) belong to
 * the system context; the mask, the pending bits with one siginfo each
 * (standard signals are not queued) and the alternate stack belong to the
 * user context, so they will travel with a migrating process.
 *
 * Posting (proc_signal*): checked, then under proc_lock: a signal whose
 * action is to ignore it is dropped at once; SIGCONT resumes a stopped
 * process (and drops pending stop signals), a stop signal drops a pending
 * SIGCONT, SIGKILL wakes even a stopped process; the bit is set and an
 * interruptible sleeper is woken (its call returns -ERESTARTSYS).
 *
 * Delivery (signal_user_return, on every way back to ring 3): the lowest
 * deliverable signal is taken; a default action ignores, stops (the
 * process sleeps until SIGCONT, its parent hears CLD_STOPPED) or ends the
 * process; a handler gets a Linux rt_sigframe (arch/x86/signal.c) with the
 * FPU state, and the mask grows by sa_mask and the signal itself. A system
 * call that returned -ERESTARTSYS is restarted (rip back over `syscall`,
 * rax = the number again) when no handler runs or the handler has
 * SA_RESTART, and fails with -EINTR otherwise.
 *
 * Faults (signal_fault): a fault signal with a handler that is not blocked
 * is delivered like any other; otherwise the process is ended at once with
 * a one-line report (pid, name, signal, rip, address).
 */
#include "fs/vfs.h" /* struct linux_timespec */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "mosix/mig.h"
#include "vm/vm.h"

#define SIG_DFL 0
#define SIG_IGN 1
#define SIGKILL 9
#define SIGSEGV 11
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22

#define SA_NOCLDSTOP 0x1
#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000u
#define SA_RESTORER 0x04000000

#define SS_ONSTACK 1
#define SS_DISABLE 2
#define MINSIGSTKSZ 2048

#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_TKILL (-6)

#define BIT(sig) (1ull << ((sig)-1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))
#define STOP_SIGS (BIT(SIGSTOP) | BIT(SIGTSTP) | BIT(SIGTTIN) | BIT(SIGTTOU))

enum dfl { D_TERM, D_IGN, D_STOP, D_CONT };

static enum dfl default_action(int sig)
{
	switch (sig) {
	case SIGCHLD:
	case 23: /* SIGURG */
	case 28: /* SIGWINCH */
		return D_IGN;
	case SIGCONT:
		return D_CONT;
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return D_STOP;
	default:
		return D_TERM;
	}
}

static const char *const names[32] = {
	[1] = "SIGHUP",	    [2] = "SIGINT",	[3] = "SIGQUIT",
	[4] = "SIGILL",	    [5] = "SIGTRAP",	[6] = "SIGABRT",
	[7] = "SIGBUS",	    [8] = "SIGFPE",	[9] = "SIGKILL",
	[10] = "SIGUSR1",   [11] = "SIGSEGV",	[12] = "SIGUSR2",
	[13] = "SIGPIPE",   [14] = "SIGALRM",	[15] = "SIGTERM",
	[16] = "SIGSTKFLT", [17] = "SIGCHLD",	[18] = "SIGCONT",
	[19] = "SIGSTOP",   [20] = "SIGTSTP",	[21] = "SIGTTIN",
	[22] = "SIGTTOU",   [23] = "SIGURG",	[24] = "SIGXCPU",
	[25] = "SIGXFSZ",   [26] = "SIGVTALRM", [27] = "SIGPROF",
	[28] = "SIGWINCH",  [29] = "SIGIO",	[30] = "SIGPWR",
	[31] = "SIGSYS",
};

const char *signal_name(int sig)
{
	return sig > 0 && sig < 32 && names[sig] ? names[sig]
						 : "a real-time signal";
}

/* Would posting sig to p do nothing at all? */
static bool ignored(const struct proc *p, int sig)
{
	const struct k_sigaction *sa = &p->sys.action[sig - 1];
	if (sig == SIGKILL || sig == SIGSTOP)
		return false;
	if (sa->handler == SIG_IGN)
		return true;
	return sa->handler == SIG_DFL && default_action(sig) == D_IGN;
}

int proc_signal_info_locked(struct proc *p, int sig, const struct siginfo_k *si)
{
	if (sig < 1 || sig > NSIG)
		return -EINVAL;
	if (p->sys.state == P_ZOMBIE)
		return 0;
	struct user_ctx *u = &p->user;
	if (sig == SIGCONT || sig == SIGKILL) {
		u->sigpending &= ~STOP_SIGS;
		if (p->sys.state == P_STOPPED) {
			p->sys.state = P_RUN;
			p->sys.cont_reported = false;
			waitq_wakeup_all(&p->sys.stop_wq);
			if (sig == SIGCONT)
				proc_notify_parent_locked(
					p, 6 /* CLD_CONTINUED */, SIGCONT);
		}
	}
	if (BIT(sig) & STOP_SIGS)
		u->sigpending &= ~BIT(SIGCONT);
	if (ignored(p, sig))
		return 0;
	u->sigpending |= BIT(sig);
	u->siginfo[sig - 1] = *si;
	if (p->thread && (!(u->sigmask & BIT(sig)) || sig == SIGKILL))
		thread_interrupt(p->thread);
	return 0;
}

int proc_signal_info(struct proc *p, int sig, const struct siginfo_k *si)
{
	spin_lock(&proc_lock);
	int rc = proc_signal_info_locked(p, sig, si);
	spin_unlock(&proc_lock);
	return rc;
}

int proc_signal(struct proc *p, int sig)
{
	struct proc *self = proc_current();
	struct siginfo_k si = {.code = self ? SI_USER : SI_KERNEL,
			       .pid = self ? self->pid : 0};
	return proc_signal_info(p, sig, &si);
}

int proc_signal_pgrp(int pgid, int sig)
{
	if (sig < 1 || sig > NSIG)
		return -EINVAL;
	struct proc *self = proc_current();
	struct siginfo_k si = {.code = self ? SI_USER : SI_KERNEL,
			       .pid = self ? self->pid : 0};
	int rc = -ESRCH;
	spin_lock(&proc_lock);
	for (struct proc *p = proc_first(); p; p = p->next) {
		if (p->sys.pgid == pgid && p->sys.state != P_ZOMBIE) {
			proc_signal_info_locked(p, sig, &si);
			rc = 0;
		}
	}
	spin_unlock(&proc_lock);
	return rc;
}

bool signal_interrupts(struct thread *t)
{
	struct proc *p = thread_proc(t);
	return p && (p->user.sigpending & ~p->user.sigmask);
}

/* ------------------------------------------------------------ delivery */

/* Sleep while stopped by sig; the parent hears of it. */
static void do_stop(struct proc *p, int sig)
{
	spin_lock(&proc_lock);
	p->sys.state = P_STOPPED;
	p->sys.stop_sig = sig;
	p->sys.stop_reported = false;
	proc_notify_parent_locked(p, 5 /* CLD_STOPPED */, sig);
	while (p->sys.state == P_STOPPED &&
	       !(p->user.sigpending & BIT(SIGKILL)))
		waitq_sleep(&p->sys.stop_wq, &proc_lock);
	p->sys.state = P_RUN;
	spin_unlock(&proc_lock);
}

/* Fill a Linux siginfo_t (128 bytes) for sig. */
static void make_info(uint8_t *buf, int sig, const struct siginfo_k *si)
{
	int32_t *w = (int32_t *)buf;
	memset(buf, 0, ARCH_SIGINFO_SIZE);
	w[0] = sig;
	w[2] = si->code;
	if (si->addr) {
		memcpy(buf + 16, &si->addr, 8);
	} else {
		w[4] = si->pid;
		w[5] = 0; /* uid */
		if (sig == SIGCHLD)
			w[6] = si->status;
	}
}

/* Push the frame for handler sa and point tf at it: 0 or -EFAULT. */
static int setup_frame(struct proc *p, struct trapframe *tf, int sig,
		       const struct k_sigaction *sa, const struct siginfo_k *si,
		       uint64_t oldmask)
{
	struct user_ctx *u = &p->user;
	uint8_t info[ARCH_SIGINFO_SIZE];
	make_info(info, sig, si);
	arch_fpu_save(u->fpu);
	bool on_alt = u->ss_size && tf->rsp > u->ss_sp &&
		      tf->rsp - u->ss_sp <= u->ss_size;
	struct arch_sigdelivery d = {
		.restorer = sa->restorer,
		.info = info,
		.mask = oldmask,
		.fpu = u->fpu,
		.sp = tf->rsp,
		.ss_sp = u->ss_sp,
		.ss_size = u->ss_size,
		.ss_flags = u->ss_size ? (on_alt ? SS_ONSTACK : 0) : SS_DISABLE,
		.fault_addr = si->addr,
	};
	if ((sa->flags & SA_ONSTACK) && u->ss_size && !on_alt) {
		d.sp = u->ss_sp + u->ss_size;
		d.on_altstack = true;
	}
	if (!(sa->flags & SA_RESTORER) || !sa->restorer)
		return -EFAULT; /* nowhere to return to (musl always sets it) */
	uint8_t *buf = kmalloc(ARCH_SIGFRAME_MAX);
	if (!buf)
		return -ENOMEM;
	uint64_t at;
	size_t len = arch_sigframe_build(tf, &d, buf, &at);
	int rc = user_out(at, buf, len);
	kfree(buf);
	if (rc)
		return rc;
	arch_sigframe_enter(tf, at, sig, sa->handler);
	/* A fresh FPU state for the handler, as Linux gives. */
	arch_fpu_init_state(u->fpu);
	arch_fpu_restore(u->fpu);
	return 0;
}

bool signal_user_return(struct trapframe *tf)
{
	struct proc *p = proc_current();
	if (!p)
		return false;
	struct user_ctx *u = &p->user;
	bool full = p->sys.full_restore;
	p->sys.full_restore = false;
	bool syscall = tf->vector == ARCH_VEC_SYSCALL;
	for (;;) {
		spin_lock(&proc_lock);
		uint64_t ready = u->sigpending & ~u->sigmask;
		if (!ready) {
			spin_unlock(&proc_lock);
			break;
		}
		int sig = __builtin_ctzll(ready) + 1;
		if (ready & BIT(SIGKILL))
			sig = SIGKILL;
		u->sigpending &= ~BIT(sig);
		struct siginfo_k si = u->siginfo[sig - 1];
		struct k_sigaction sa = p->sys.action[sig - 1];
		if (sa.handler > SIG_IGN && (sa.flags & SA_RESETHAND))
			p->sys.action[sig - 1].handler = SIG_DFL;
		spin_unlock(&proc_lock);
		if (sa.handler == SIG_IGN && sig != SIGKILL)
			continue;
		if (sa.handler == SIG_DFL || sig == SIGKILL) {
			switch (default_action(sig)) {
			case D_IGN:
			case D_CONT:
				continue;
			case D_STOP:
				do_stop(p, sig);
				continue;
			case D_TERM:
				proc_exit(sig);
			}
		}
		/* A handler. */
		if (syscall && (int64_t)tf->rax == -ERESTARTSYS) {
			if (sa.flags & SA_RESTART) {
				tf->rax = tf->error;
				tf->rip -= 2;
			} else {
				tf->rax = (uint64_t)-EINTR;
			}
		}
		uint64_t oldmask = u->has_saved_mask ? u->saved_mask
						     : u->sigmask;
		u->has_saved_mask = false;
		if (setup_frame(p, tf, sig, &sa, &si, oldmask)) {
			printk("shoal: pid %d (%s) killed by SIGSEGV: no room "
			       "for the %s frame at rsp %#lx\n",
			       p->pid, p->name, signal_name(sig),
			       (unsigned long)tf->rsp);
			proc_exit(SIGSEGV);
		}
		u->sigmask |= sa.mask | (sa.flags & SA_NODEFER ? 0 : BIT(sig));
		u->sigmask &= ~UNBLOCKABLE;
		return false;
	}
	/* No handler ran: an interrupted call starts again. */
	if (syscall && (int64_t)tf->rax == -ERESTARTSYS) {
		tf->rax = tf->error;
		tf->rip -= 2;
	}
	if (u->has_saved_mask) {
		u->sigmask = u->saved_mask;
		u->has_saved_mask = false;
	}
	if (p->goreq) /* a migrate request: it moves now, or fails */
		mig_user_return(tf);
	return full;
}

void signal_exec_reset(struct proc *p)
{
	for (int i = 0; i < NSIG; i++) {
		struct k_sigaction *sa = &p->sys.action[i];
		if (sa->handler > SIG_IGN)
			sa->handler = SIG_DFL;
		sa->flags = 0;
		sa->restorer = 0;
		sa->mask = 0;
	}
}

void signal_fault(int sig, int code, uint64_t addr, const char *what,
		  uint64_t rip)
{
	struct proc *p = proc_current();
	const struct k_sigaction *sa = &p->sys.action[sig - 1];
	irq_enable(); /* we are on the process's own stack, from ring 3 */
	if (sa->handler > SIG_IGN && !(p->user.sigmask & BIT(sig))) {
		/* si_addr: the address for #PF, the instruction otherwise;
		 * SI_KERNEL faults (#GP) carry none, as Linux. */
		struct siginfo_k si = {.code = code,
				       .addr = code == 0x80 ? 0
					       : addr	    ? addr
							    : rip};
		proc_signal_info(p, sig, &si);
		return;
	}
	printk("shoal: pid %d (%s) killed by %s: %s at rip %#lx addr %#lx\n",
	       p->pid, p->name, signal_name(sig), what, (unsigned long)rip,
	       (unsigned long)addr);
	proc_exit(sig);
}

/* ------------------------------------------------------------ calls */

long sys_rt_sigaction(const uint64_t a[6])
{
	int sig = (int)a[0];
	struct proc *p = proc_current();
	if (sig < 1 || sig > NSIG || a[3] != 8)
		return -EINVAL;
	struct k_sigaction sa;
	if (a[1]) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (user_in(&sa, a[1], sizeof sa))
			return -EFAULT;
	}
	if (a[2] && user_out(a[2], &p->sys.action[sig - 1], sizeof sa))
		return -EFAULT;
	if (a[1]) {
		sa.mask &= ~UNBLOCKABLE;
		spin_lock(&proc_lock);
		p->sys.action[sig - 1] = sa;
		if (ignored(p, sig))
			p->user.sigpending &= ~BIT(sig);
		spin_unlock(&proc_lock);
	}
	return 0;
}

long sys_rt_sigprocmask(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	uint64_t set = 0, old = u->sigmask;
	if (a[3] != 8)
		return -EINVAL;
	if (a[0] > 2 && a[1])
		return -EINVAL;
	if (a[1] && user_in(&set, a[1], 8))
		return -EFAULT;
	if (a[2] && user_out(a[2], &old, 8))
		return -EFAULT;
	set &= ~UNBLOCKABLE;
	if (a[1])
		u->sigmask = a[0] == 0	 ? old | set
			     : a[0] == 1 ? old & ~set
					 : set;
	return 0;
}

long sys_rt_sigpending(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	if (a[1] > 8)
		return -EINVAL;
	uint64_t pend = u->sigpending & u->sigmask;
	return user_out(a[0], &pend, a[1]);
}

void signal_wait_mask(uint64_t mask)
{
	struct user_ctx *u = &proc_current()->user;
	u->saved_mask = u->sigmask;
	u->has_saved_mask = true;
	u->sigmask = mask & ~UNBLOCKABLE;
}

long sys_rt_sigsuspend(const uint64_t a[6])
{
	uint64_t set;
	if (a[1] != 8)
		return -EINVAL;
	if (user_in(&set, a[0], 8))
		return -EFAULT;
	signal_wait_mask(set);
	while (waitq_sleep_intr(NULL, NULL, 0) != -ERESTARTSYS)
		;
	return -EINTR;
}

long sys_rt_sigreturn(const uint64_t a[6])
{
	struct proc *p = proc_current();
	struct trapframe *tf =
		arch_user_frame(thread_stack_top(thread_current()));
	uint8_t uc[ARCH_UCONTEXT_SIZE];
	uint64_t mask, fpstate;
	if (user_in(uc, arch_sigreturn_frame(tf), sizeof uc)) {
		printk("shoal: pid %d (%s) killed by SIGSEGV: bad signal frame "
		       "at rsp %#lx\n",
		       p->pid, p->name, (unsigned long)tf->rsp);
		proc_exit(SIGSEGV);
	}
	arch_sigreturn_restore(tf, uc, &mask, &fpstate);
	p->user.sigmask = mask & ~UNBLOCKABLE;
	if (fpstate && user_in(p->user.fpu, fpstate, ARCH_FPU_SIZE) == 0)
		arch_fpu_sanitize(p->user.fpu);
	else
		arch_fpu_init_state(p->user.fpu);
	arch_fpu_restore(p->user.fpu);
	p->sys.full_restore = true;
	return (long)tf->rax;
}

struct linux_stack_t {
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
};

long sys_sigaltstack(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	struct trapframe *tf =
		arch_user_frame(thread_stack_top(thread_current()));
	bool on = u->ss_size && tf->rsp > u->ss_sp &&
		  tf->rsp - u->ss_sp <= u->ss_size;
	struct linux_stack_t old = {
		.ss_sp = u->ss_sp,
		.ss_size = u->ss_size,
		.ss_flags = on ? SS_ONSTACK : (u->ss_size ? 0 : SS_DISABLE),
	};
	if (a[0]) {
		struct linux_stack_t ss;
		if (user_in(&ss, a[0], sizeof ss))
			return -EFAULT;
		if (on)
			return -EPERM;
		if (ss.ss_flags & ~SS_DISABLE)
			return -EINVAL;
		if (ss.ss_flags & SS_DISABLE) {
			ss.ss_sp = ss.ss_size = 0;
		} else if (ss.ss_size < MINSIGSTKSZ) {
			return -ENOMEM;
		}
		if (a[1] && user_out(a[1], &old, sizeof old))
			return -EFAULT;
		u->ss_sp = ss.ss_sp;
		u->ss_size = ss.ss_size;
		return 0;
	}
	return a[1] ? user_out(a[1], &old, sizeof old) : 0;
}

/* Post sig to p, as kill(2) from the caller (sig 0: only the existence
 * check, already made); a zombie takes nothing. Caller holds proc_lock. */
static int kill_one(struct proc *p, int sig, const struct siginfo_k *si)
{
	if (p->sys.state == P_ZOMBIE || !sig)
		return 0;
	return proc_signal_info_locked(p, sig, si);
}

long sys_kill(const uint64_t a[6])
{
	int pid = (int)a[0], sig = (int)a[1];
	struct proc *self = proc_current();
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	struct siginfo_k si = {.code = SI_USER, .pid = self->pid};
	long rc = -ESRCH;
	spin_lock(&proc_lock);
	if (pid > 0) {
		struct proc *p = proc_find(pid);
		if (p)
			rc = kill_one(p, sig, &si);
	} else {
		int pgid = pid == 0 ? self->sys.pgid : -pid;
		for (struct proc *p = proc_first(); p; p = p->next) {
			if (p->sys.state == P_ZOMBIE)
				continue;
			if (pid == -1 ? (p->pid == 1 || p == self)
				      : p->sys.pgid != pgid)
				continue;
			kill_one(p, sig, &si);
			rc = 0;
		}
	}
	spin_unlock(&proc_lock);
	return rc;
}

long sys_tgkill(const uint64_t a[6])
{
	int tgid = (int)a[0], tid = (int)a[1], sig = (int)a[2];
	if (tgid <= 0 || tid <= 0 || sig < 0 || sig > NSIG)
		return -EINVAL;
	if (tgid != tid)
		return -ESRCH; /* one thread per process */
	struct siginfo_k si = {.code = SI_TKILL, .pid = proc_current()->pid};
	spin_lock(&proc_lock);
	struct proc *p = proc_find(tid);
	long rc = p && p->sys.state != P_ZOMBIE ? kill_one(p, sig, &si)
						: -ESRCH;
	spin_unlock(&proc_lock);
	return rc;
}

long sys_tkill(const uint64_t a[6])
{
	uint64_t b[6] = {a[0], a[0], a[1], 0, 0, 0};
	return sys_tgkill(b);
}

/* ------------------------------------------------------------ alarms */

/*
 * alarm(2) and the ITIMER_REAL timer of setitimer(2): a deadline (and an
 * interval) in the system context; one kernel thread, "alarmd", sleeps
 * until the earliest deadline of any process and posts SIGALRM (14) to
 * those that are due, re-arming interval timers. Setting a timer wakes it
 * to recompute. Timers are HOME state: they run on home time.
 */
static struct waitq alarm_wq;
static struct thread *alarmd;

static void alarm_thread(void *arg)
{
	for (;;) {
		uint64_t now = time_ns(), next = 0;
		spin_lock(&proc_lock);
		for (struct proc *p = proc_first(); p; p = p->next) {
			if (!p->sys.alarm_ns || p->sys.state == P_ZOMBIE)
				continue;
			if (p->sys.alarm_ns <= now) {
				struct siginfo_k si = {.code = SI_KERNEL};
				proc_signal_info_locked(p, 14, &si);
				p->sys.alarm_ns =
					p->sys.alarm_interval_ns
						? now + p->sys.alarm_interval_ns
						: 0;
			}
			if (p->sys.alarm_ns &&
			    (!next || p->sys.alarm_ns < next))
				next = p->sys.alarm_ns;
		}
		waitq_sleep_intr(&alarm_wq, &proc_lock, next);
		spin_unlock(&proc_lock);
	}
}

/* Set the caller's real-time timer (0: off); the old one's remaining time
 * and interval come back. */
static void alarm_set(uint64_t value_ns, uint64_t interval_ns,
		      uint64_t *old_left, uint64_t *old_interval)
{
	struct proc *p = proc_current();
	if (!alarmd && (value_ns || interval_ns)) {
		waitq_init(&alarm_wq);
		alarmd = thread_create("alarmd", alarm_thread, NULL);
	}
	spin_lock(&proc_lock);
	uint64_t now = time_ns();
	*old_left = p->sys.alarm_ns > now ? p->sys.alarm_ns - now
					  : (p->sys.alarm_ns ? 1 : 0);
	*old_interval = p->sys.alarm_interval_ns;
	p->sys.alarm_ns = value_ns ? now + value_ns : 0;
	p->sys.alarm_interval_ns = value_ns ? interval_ns : 0;
	if (alarmd)
		waitq_wakeup_all(&alarm_wq);
	spin_unlock(&proc_lock);
}

long sys_alarm(const uint64_t a[6])
{
	uint64_t left, interval;
	alarm_set((a[0] & 0xffffffffu) * 1000000000ull, 0, &left, &interval);
	/* Whole seconds, rounded up as Linux does for a partial second. */
	return (long)((left + 999999999ull) / 1000000000ull);
}

struct linux_itimerval {
	int64_t it_interval_sec, it_interval_usec;
	int64_t it_value_sec, it_value_usec;
};

static bool tv_ok(int64_t sec, int64_t usec)
{
	return sec >= 0 && usec >= 0 && usec < 1000000 && sec < (1ll << 32);
}

static void to_itimer(struct linux_itimerval *it, uint64_t left,
		      uint64_t interval)
{
	it->it_value_sec = (int64_t)(left / 1000000000ull);
	it->it_value_usec = (int64_t)(left % 1000000000ull / 1000);
	it->it_interval_sec = (int64_t)(interval / 1000000000ull);
	it->it_interval_usec = (int64_t)(interval % 1000000000ull / 1000);
}

long sys_setitimer(const uint64_t a[6])
{
	struct linux_itimerval nv = {0}, ov;
	if (a[0] != 0) /* ITIMER_REAL only */
		return -EINVAL;
	if (a[1] && user_in(&nv, a[1], sizeof nv))
		return -EFAULT;
	if (!tv_ok(nv.it_value_sec, nv.it_value_usec) ||
	    !tv_ok(nv.it_interval_sec, nv.it_interval_usec))
		return -EINVAL;
	uint64_t left, interval;
	alarm_set((uint64_t)nv.it_value_sec * 1000000000ull +
			  (uint64_t)nv.it_value_usec * 1000,
		  (uint64_t)nv.it_interval_sec * 1000000000ull +
			  (uint64_t)nv.it_interval_usec * 1000,
		  &left, &interval);
	to_itimer(&ov, left, interval);
	return a[2] ? user_out(a[2], &ov, sizeof ov) : 0;
}

long sys_getitimer(const uint64_t a[6])
{
	struct proc *p = proc_current();
	if (a[0] != 0)
		return -EINVAL;
	struct linux_itimerval it;
	uint64_t now = time_ns();
	to_itimer(&it, p->sys.alarm_ns > now ? p->sys.alarm_ns - now : 0,
		  p->sys.alarm_interval_ns);
	return user_out(a[1], &it, sizeof it);
}

/* ------------------------------------------------------------ sigtimedwait */

/*
 * rt_sigtimedwait(set, info, timeout, sigsetsize): take a pending signal of
 * set without running its handler. The signals of set are unblocked for
 * the wait (so their arrival wakes it) and blocked again before returning,
 * as Linux does. -EAGAIN at the timeout, -EINTR for another signal.
 */
long sys_rt_sigtimedwait(const uint64_t a[6])
{
	struct proc *p = proc_current();
	struct user_ctx *u = &p->user;
	uint64_t set, deadline = 0;
	if (a[3] != 8)
		return -EINVAL;
	if (user_in(&set, a[0], 8))
		return -EFAULT;
	set &= ~UNBLOCKABLE;
	if (a[2]) {
		struct linux_timespec ts;
		if (user_in(&ts, a[2], sizeof ts))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull +
			      (uint64_t)ts.tv_nsec;
		deadline = time_ns() + (ns ? ns : 1);
	}
	if (a[1] && !user_range_ok(a[1], ARCH_SIGINFO_SIZE, true))
		return -EFAULT;
	uint64_t mask = u->sigmask;
	long rc;
	for (;;) {
		spin_lock(&proc_lock);
		uint64_t ready = u->sigpending & set;
		if (ready) {
			int sig = __builtin_ctzll(ready) + 1;
			u->sigpending &= ~BIT(sig);
			struct siginfo_k si = u->siginfo[sig - 1];
			spin_unlock(&proc_lock);
			u->sigmask = mask;
			if (a[1]) {
				uint8_t info[ARCH_SIGINFO_SIZE];
				make_info(info, sig, &si);
				user_out(a[1], info, sizeof info);
			}
			return sig;
		}
		u->sigmask = mask & ~set; /* their arrival must wake us */
		int w = waitq_sleep_intr(NULL, &proc_lock, deadline);
		spin_unlock(&proc_lock);
		if (w == -ETIMEDOUT) {
			rc = -EAGAIN;
			break;
		}
		if (w == -ERESTARTSYS && !(u->sigpending & set)) {
			rc = -EINTR; /* another signal: its handler runs */
			break;
		}
	}
	u->sigmask = mask;
	return rc;
}
