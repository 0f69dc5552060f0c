/*
 * t_signal — signals: rt_sigaction (flags SA_SIGINFO, SA_RESTART,
 * SA_NODEFER, SA_RESETHAND, SA_ONSTACK, sa_mask), rt_sigreturn (a handler
 * may edit the interrupted context), rt_sigprocmask, rt_sigpending,
 * rt_sigsuspend, rt_sigtimedwait, sigaltstack, kill, tkill, tgkill, raise,
 * alarm, setitimer, getitimer; default actions in children; faults (SIGSEGV, SIGILL, SIGFPE)
 * with their siginfo; FPU/SSE state kept across asynchronous handlers;
 * EINTR and restarting of a blocking pipe read and of nanosleep; SIGCHLD.
 */
#include "tap.h"

#include <poll.h>
#include <setjmp.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <ucontext.h>

static volatile sig_atomic_t hits;
static volatile int last_sig;
static siginfo_t last_info;
static sigset_t mask_in_handler;
static sigjmp_buf jump;

static void on_sig(int sig)
{
	hits++;
	last_sig = sig;
	sigprocmask(SIG_SETMASK, NULL, &mask_in_handler);
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_info = *si;
}

static void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

static void set_info_handler(int sig, void (*fn)(int, siginfo_t *, void *),
			     int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigaction(sig, &sa, NULL);
}

static void test_action(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	SYS(sigaction(SIGUSR1, &sa, NULL), "rt_sigaction installs a handler");
	SYS(sigaction(SIGUSR1, NULL, &old), "rt_sigaction reads it back");
	OK(old.sa_handler == on_sig, "the old action is the handler");
	OK(sigismember(&old.sa_mask, SIGUSR2), "and its sa_mask");
	hits = 0;
	SYS(raise(SIGUSR1), "raise");
	IS(hits, 1, "the handler ran once, before raise returned");
	OK(sigismember(&mask_in_handler, SIGUSR1),
	   "the signal is blocked inside its handler");
	OK(sigismember(&mask_in_handler, SIGUSR2),
	   "sa_mask is blocked inside the handler");
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	OK(!sigismember(&now, SIGUSR1) && !sigismember(&now, SIGUSR2),
	   "the mask is restored after the handler");

	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	OK(!sigismember(&mask_in_handler, SIGUSR1),
	   "SA_NODEFER: not blocked inside its handler");

	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	hits = 0;
	raise(SIGUSR1);
	sigaction(SIGUSR1, NULL, &old);
	OK(hits == 1 && old.sa_handler == SIG_DFL,
	   "SA_RESETHAND: back to SIG_DFL after one delivery");

	ERR(sigaction(SIGKILL, &sa, NULL), EINVAL, "a handler for SIGKILL");
	ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL, "a handler for SIGSTOP");
	ERR(syscall(SYS_rt_sigaction, 0, &sa, NULL, 8), EINVAL, "signal 0");
	ERR(syscall(SYS_rt_sigaction, 65, &sa, NULL, 8), EINVAL, "signal 65");
	ERR(syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 4), EINVAL,
	    "rt_sigaction with a bad sigset size");
	SYS(sigaction(SIGKILL, NULL, &old), "reading SIGKILL's action is fine");

	/* SIG_IGN discards; ignoring then restoring a handler works. */
	set_handler(SIGUSR1, SIG_IGN, 0);
	hits = 0;
	raise(SIGUSR1);
	IS(hits, 0, "SIG_IGN: nothing happens");
	set_handler(SIGUSR1, SIG_DFL, 0);
}

static void test_info(void)
{
	set_info_handler(SIGUSR1, on_info, 0);
	memset(&last_info, 0, sizeof last_info);
	kill(getpid(), SIGUSR1);
	IS(last_info.si_signo, SIGUSR1, "siginfo si_signo");
	IS(last_info.si_code, SI_USER, "kill gives si_code SI_USER");
	IS(last_info.si_pid, getpid(), "si_pid is the sender");
	IS(last_info.si_uid, getuid(), "si_uid is the sender's uid");

	memset(&last_info, 0, sizeof last_info);
	SYS(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1),
	    "tgkill");
	IS(last_info.si_code, SI_TKILL, "tgkill gives si_code SI_TKILL");
	memset(&last_info, 0, sizeof last_info);
	SYS(syscall(SYS_tkill, syscall(SYS_gettid), SIGUSR1), "tkill");
	IS(last_info.si_code, SI_TKILL, "tkill gives si_code SI_TKILL");
	ERR(syscall(SYS_tgkill, 999999, 999999, SIGUSR1), ESRCH,
	    "tgkill no such thread");
	ERR(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 99), EINVAL,
	    "tgkill a bad signal");

	/* From another process. */
	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, &old);
	memset(&last_info, 0, sizeof last_info);
	pid_t pid = fork();
	if (pid == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	wait_child(pid, 5000);
	sigprocmask(SIG_SETMASK, &old, NULL);
	IS(last_info.si_pid, pid, "si_pid of a signal from a child");

	SYS(kill(getpid(), 0), "kill with signal 0 checks the pid");
	ERR(kill(999999, 0), ESRCH, "kill a missing pid");
	ERR(kill(getpid(), 99), EINVAL, "kill with a bad signal");
	set_handler(SIGUSR1, SIG_DFL, 0);
}

static void test_mask(void)
{
	sigset_t m, old, pend;
	set_handler(SIGUSR1, on_sig, 0);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	SYS(sigprocmask(SIG_BLOCK, &m, &old), "rt_sigprocmask SIG_BLOCK");
	hits = 0;
	raise(SIGUSR1);
	raise(SIGUSR1);
	IS(hits, 0, "a blocked signal is not delivered");
	SYS(sigpending(&pend), "rt_sigpending");
	OK(sigismember(&pend, SIGUSR1), "it is pending");
	SYS(sigprocmask(SIG_UNBLOCK, &m, NULL), "rt_sigprocmask SIG_UNBLOCK");
	IS(hits, 1, "delivered once on unblock (standard signals coalesce)");
	sigpending(&pend);
	OK(!sigismember(&pend, SIGUSR1), "no longer pending");

	sigfillset(&m);
	sigprocmask(SIG_SETMASK, &m, NULL);
	sigprocmask(SIG_SETMASK, NULL, &m);
	OK(!sigismember(&m, SIGKILL) && !sigismember(&m, SIGSTOP),
	   "SIGKILL and SIGSTOP cannot be blocked");
	sigprocmask(SIG_SETMASK, &old, NULL);
	ERR(syscall(SYS_rt_sigprocmask, 99, &m, NULL, 8), EINVAL,
	    "rt_sigprocmask with a bad how");

	/* Blocked and pending across fork: the mask is inherited, the
	 * pending set is not. */
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	raise(SIGUSR1);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t cm, cp;
		sigprocmask(SIG_SETMASK, NULL, &cm);
		sigpending(&cp);
		_exit(sigismember(&cm, SIGUSR1) && !sigismember(&cp, SIGUSR1)
			      ? 0
			      : 1);
	}
	IS_EXIT(wait_child(pid, 5000), 0,
		"fork: the child inherits the mask but not pending signals");

	/* rt_sigsuspend: wait with a temporary mask. */
	hits = 0;
	sigset_t empty;
	sigemptyset(&empty);
	ERR(sigsuspend(&empty), EINTR, "rt_sigsuspend returns EINTR");
	IS(hits, 1, "the pending signal was delivered inside it");
	sigprocmask(SIG_SETMASK, NULL, &m);
	OK(sigismember(&m, SIGUSR1), "rt_sigsuspend restores the mask");

	/* rt_sigtimedwait takes a pending signal without its handler. */
	raise(SIGUSR1);
	struct timespec ts = {0, 0};
	hits = 0;
	errno = 0;
	int got = sigtimedwait(&m, NULL, &ts);
	if (got == -1 && errno == ENOSYS) {
		const char *why = "rt_sigtimedwait is not implemented";
		SKIP(why, "rt_sigtimedwait takes it");
		SKIP(why, "without running the handler");
		SKIP(why, "rt_sigtimedwait times out");
		SKIP(why, "after about 20 ms");
		sigprocmask(SIG_SETMASK, &empty, NULL); /* deliver it */
	} else {
		IS(got, SIGUSR1, "rt_sigtimedwait takes it");
		IS(hits, 0, "without running the handler");
		ts.tv_nsec = 20000000;
		long long t0 = now_ns();
		ERR(sigtimedwait(&m, NULL, &ts), EAGAIN,
		    "rt_sigtimedwait times out");
		OK(now_ns() - t0 >= 15000000, "after about 20 ms");
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	set_handler(SIGUSR1, SIG_DFL, 0);
}

static char altstack[65536];
static volatile int on_alt;
static volatile int alt_flags;

static void on_altsig(int sig)
{
	(void)sig;
	char here;
	on_alt = &here >= altstack && &here < altstack + sizeof altstack;
	stack_t ss;
	sigaltstack(NULL, &ss);
	alt_flags = ss.ss_flags;
}

static void on_overflow(int sig)
{
	(void)sig;
	char here;
	_exit(&here >= altstack && &here < altstack + sizeof altstack ? 0 : 2);
}

static int recurse(int n)
{
	volatile char pad[1024];
	pad[0] = (char)n;
	if (n > 100000000)
		return 0;
	return recurse(n + 1) + pad[0];
}

static void test_altstack(void)
{
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	SYS(sigaltstack(&ss, NULL), "sigaltstack");
	stack_t cur;
	sigaltstack(NULL, &cur);
	OK(cur.ss_sp == altstack && cur.ss_size == sizeof altstack &&
		   cur.ss_flags == 0,
	   "sigaltstack reads back");
	set_handler(SIGUSR1, on_altsig, SA_ONSTACK);
	raise(SIGUSR1);
	OK(on_alt, "an SA_ONSTACK handler runs on the alternate stack");
	IS(alt_flags, SS_ONSTACK, "sigaltstack says SS_ONSTACK inside it");
	set_handler(SIGUSR1, on_altsig, 0);
	raise(SIGUSR1);
	OK(!on_alt, "without SA_ONSTACK it runs on the normal stack");
	ss.ss_size = 512;
	ERR(sigaltstack(&ss, NULL), ENOMEM, "an alternate stack too small");

	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {1 << 20, 1 << 20};
		setrlimit(RLIMIT_STACK, &rl);
		set_handler(SIGSEGV, on_overflow, SA_ONSTACK);
		_exit(recurse(0) ? 3 : 4);
	}
	IS_EXIT(wait_child(pid, 20000), 0,
		"a stack overflow is caught on the alternate stack");
	ss.ss_flags = SS_DISABLE;
	SYS(sigaltstack(&ss, NULL), "sigaltstack SS_DISABLE");
	sigaltstack(NULL, &cur);
	IS(cur.ss_flags, SS_DISABLE, "disabled");
	set_handler(SIGUSR1, SIG_DFL, 0);
}

/* Default actions, each in a child. */
static int child_raise(void *arg)
{
	raise((int)(long)arg);
	return 0;
}

static int child_ignored(void *arg)
{
	set_handler((int)(long)arg, SIG_IGN, 0);
	raise((int)(long)arg);
	return 0;
}

static int child_segv(void *arg)
{
	volatile int *volatile p = arg;
	*p = 1;
	return 0;
}

static int child_fpe(void *arg)
{
	volatile int zero = (int)(long)arg;
	return 100 / zero;
}

static int child_ill(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
	return 0;
}

static void test_defaults(void)
{
	IS_SIGNALED(in_child(child_raise, (void *)SIGTERM, 5000), SIGTERM,
		    "SIGTERM's default terminates");
	IS_SIGNALED(in_child(child_raise, (void *)SIGUSR1, 5000), SIGUSR1,
		    "SIGUSR1's default terminates");
	IS_SIGNALED(in_child(child_raise, (void *)SIGHUP, 5000), SIGHUP,
		    "SIGHUP's default terminates");
	IS_SIGNALED(in_child(child_raise, (void *)SIGKILL, 5000), SIGKILL,
		    "SIGKILL terminates");
	IS_SIGNALED(in_child(child_raise, (void *)SIGABRT, 5000), SIGABRT,
		    "SIGABRT's default terminates");
	IS_EXIT(in_child(child_raise, (void *)SIGCHLD, 5000), 0,
		"SIGCHLD's default is to ignore");
	IS_EXIT(in_child(child_raise, (void *)SIGURG, 5000), 0,
		"SIGURG's default is to ignore");
	IS_EXIT(in_child(child_raise, (void *)SIGWINCH, 5000), 0,
		"SIGWINCH's default is to ignore");
	IS_EXIT(in_child(child_ignored, (void *)SIGTERM, 5000), 0,
		"an ignored SIGTERM does nothing");
	IS_SIGNALED(in_child(child_ignored, (void *)SIGKILL, 5000), SIGKILL,
		    "SIGKILL cannot be ignored");
	IS_SIGNALED(in_child(child_segv, (void *)16, 5000), SIGSEGV,
		    "a bad store: SIGSEGV");
	IS_SIGNALED(in_child(child_fpe, NULL, 5000), SIGFPE,
		    "division by zero: SIGFPE");
	IS_SIGNALED(in_child(child_ill, NULL, 5000), SIGILL, "ud2: SIGILL");

	/* kill to a process group reaches every member. */
	int p[2];
	pipe(p);
	pid_t a = fork();
	if (a == 0) {
		setpgid(0, 0);
		pid_t b = fork();
		if (b == 0) {
			write(p[1], "x", 1);
			sigset_t none;
			sigemptyset(&none);
			for (;;)
				sigsuspend(&none);
		}
		int st;
		write(p[1], "x", 1);
		waitpid(b, &st, 0);
		_exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? 0 : 1);
	}
	char c;
	read(p[0], &c, 1);
	read(p[0], &c, 1);
	setpgid(a, a); /* in case the child has not done it yet */
	SYS(kill(-a, SIGTERM), "kill(-pgid) signals a process group");
	IS_SIGNALED(wait_child(a, 5000), SIGTERM, "the group leader died");
	close(p[0]);
	close(p[1]);
}

/* Faults caught by handlers. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_sig = sig;
	last_info = *si;
	siglongjmp(jump, 1);
}

/* Skip the faulting "movl $0, (%rax)" (6 bytes) and set rax. */
static void on_fault_skip(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] += 6;
	uc->uc_mcontext.gregs[REG_RAX] = 0x1234;
}

static void test_faults(void)
{
	set_info_handler(SIGSEGV, on_fault, 0);
	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0)
		*(volatile int *)0xdead0000 = 1;
	IS(last_sig, SIGSEGV, "a SIGSEGV handler runs on a bad store");
	IS(last_info.si_signo, SIGSEGV, "si_signo");
	IS(last_info.si_code, SEGV_MAPERR, "si_code SEGV_MAPERR");
	OK(last_info.si_addr == (void *)0xdead0000,
	   "si_addr is the faulting address (%p)", last_info.si_addr);
	sigset_t m;
	sigprocmask(SIG_SETMASK, NULL, &m);
	OK(!sigismember(&m, SIGSEGV), "siglongjmp restored the mask");

	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0)
		*(volatile int *)(void *)test_faults = 1;
	IS(last_sig, SIGSEGV, "a store into program text: SIGSEGV");
	IS(last_info.si_code, SEGV_ACCERR, "si_code SEGV_ACCERR");

	set_info_handler(SIGFPE, on_fault, 0);
	last_sig = 0;
	volatile int zero = 0, r = 0;
	if (sigsetjmp(jump, 1) == 0)
		r = 7 / zero;
	IS(last_sig, SIGFPE, "a SIGFPE handler runs on division by zero");
	IS(last_info.si_code, FPE_INTDIV, "si_code FPE_INTDIV");
	(void)r;

	set_info_handler(SIGILL, on_fault, 0);
	last_sig = 0;
	if (sigsetjmp(jump, 1) == 0)
		__asm__ volatile("ud2");
	IS(last_sig, SIGILL, "a SIGILL handler runs on ud2");
	IS(last_info.si_code, ILL_ILLOPN, "si_code ILL_ILLOPN");

	set_info_handler(SIGSEGV, on_fault_skip, 0);
	long out;
	__asm__ volatile("movq %1, %%rax\n\t"
			 ".byte 0xc7, 0x00, 0, 0, 0, 0\n\t" /* movl $0,(%rax) */
			 "movq %%rax, %0"
			 : "=r"(out)
			 : "r"(0xdead0000L)
			 : "rax", "memory");
	IS(out, 0x1234, "a handler's edits to the context are resumed");
	set_handler(SIGSEGV, SIG_DFL, 0);
	set_handler(SIGFPE, SIG_DFL, 0);
	set_handler(SIGILL, SIG_DFL, 0);
}

/* FPU/SSE state across asynchronous handlers. */
static volatile double handler_sink;
static volatile long double handler_sink_ld;

static void on_fpu(int sig)
{
	double x = sig;
	for (int i = 0; i < 50; i++)
		x = x * 1.5 + 0.25;
	handler_sink = x;
	long double z = sig, w = 0.5L;
	for (int i = 0; i < 20; i++) {
		z = z * 1.25L + w;
		w = w * 0.5L - z / 9.0L;
	}
	handler_sink_ld = z + w;
	/* Clobber every vector register, MXCSR and the x87 control word. */
	unsigned csr = 0x7f80; /* round toward zero, all masked */
	unsigned short cw = 0x007f; /* single precision, round nearest */
	__asm__ volatile("ldmxcsr %0\n\tfldcw %1" ::"m"(csr), "m"(cw));
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\t"
			 "pcmpeqd %%xmm1, %%xmm1\n\t"
			 "pcmpeqd %%xmm2, %%xmm2\n\t"
			 "pcmpeqd %%xmm3, %%xmm3\n\t"
			 "pcmpeqd %%xmm4, %%xmm4\n\t"
			 "pcmpeqd %%xmm5, %%xmm5\n\t"
			 "pcmpeqd %%xmm6, %%xmm6\n\t"
			 "pcmpeqd %%xmm7, %%xmm7\n\t"
			 "pcmpeqd %%xmm8, %%xmm8\n\t"
			 "pcmpeqd %%xmm9, %%xmm9\n\t"
			 "pcmpeqd %%xmm10, %%xmm10\n\t"
			 "pcmpeqd %%xmm11, %%xmm11\n\t"
			 "pcmpeqd %%xmm12, %%xmm12\n\t"
			 "pcmpeqd %%xmm13, %%xmm13\n\t"
			 "pcmpeqd %%xmm14, %%xmm14\n\t"
			 "pcmpeqd %%xmm15, %%xmm15\n\t" ::
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
				   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
				   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
				   "xmm15");
	hits++;
}

/*
 * Values live in registers for the whole loop: two rotations (bounded,
 * never converging, so a clobbered register changes the result) and sums.
 */
__attribute__((noinline)) static double fpu_work(int n, long double *ld)
{
	double x = 1.0, y = 0.0, u = 0.5, v = 0.25, s = 0.0;
	long double e = 0.0L, f = 1.0L;
	for (int i = 0; i < n; i++) {
		double nx = x * 0.9998000066665778 - y * 0.019998666693333080;
		y = x * 0.019998666693333080 + y * 0.9998000066665778;
		x = nx;
		double nu = u * 0.9950041652780258 - v * 0.09983341664682815;
		v = u * 0.09983341664682815 + v * 0.9950041652780258;
		u = nu;
		s += x * u + y / 3.0;
		long double ne = e * 0.99995L + f * 0.01L;
		f = f * 0.99995L - e * 0.01L;
		e = ne;
	}
	*ld = e + f;
	return s + x + y + u + v;
}

static void test_fpu(void)
{
	long double ref_ld, ld;
	double ref = fpu_work(20000, &ref_ld);
	unsigned csr0, csr1;
	unsigned short cw0, cw1;
	__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr0), "=m"(cw0));

	set_handler(SIGUSR1, on_fpu, SA_RESTART);
	hits = 0;
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 400; i++) {
			if (kill(getppid(), SIGUSR1) != 0)
				break;
			msleep(1);
		}
		_exit(0);
	}
	int wrong = 0, rounds = 0;
	long long end = now_ns() + 3000000000LL;
	while (hits < 40 && now_ns() < end) {
		double v = fpu_work(20000, &ld);
		rounds++;
		if (v != ref || ld != ref_ld)
			wrong++;
	}
	kill(pid, SIGKILL);
	wait_child(pid, 5000);
	__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr1), "=m"(cw1));
	set_handler(SIGUSR1, SIG_DFL, 0);
	tap_diag("%d handlers interrupted %d rounds", (int)hits, rounds);
	OK(hits > 0, "signals from a child interrupted the computation");
	IS(wrong, 0, "double and long double results unchanged by handlers");
	IS(csr1, csr0, "MXCSR unchanged by handlers");
	IS(cw1, cw0, "x87 control word unchanged by handlers");
}

/* A blocking read and nanosleep interrupted by a signal. */
static pid_t pester(int first_ms, int every_ms, int times)
{
	pid_t pid = fork();
	if (pid == 0) {
		msleep(first_ms);
		for (int i = 0; i < times; i++) {
			kill(getppid(), SIGUSR1);
			msleep(every_ms);
		}
		_exit(0);
	}
	return pid;
}

static void test_eintr(void)
{
	int p[2];
	char c;
	pipe(p);
	set_handler(SIGUSR1, on_sig, 0);
	hits = 0;
	pid_t pid = pester(50, 50, 100);
	ERR(read(p[0], &c, 1), EINTR,
	    "a blocking pipe read is interrupted: EINTR");
	OK(hits >= 1, "the handler ran");
	kill(pid, SIGKILL);
	wait_child(pid, 5000);

	set_handler(SIGUSR1, on_sig, SA_RESTART);
	hits = 0;
	pid = fork();
	if (pid == 0) {
		msleep(50);
		kill(getppid(), SIGUSR1);
		msleep(50);
		write(p[1], "k", 1);
		_exit(0);
	}
	c = 0;
	IS(read(p[0], &c, 1), 1, "with SA_RESTART the read is restarted");
	OK(hits == 1 && c == 'k', "after the handler, with the data");
	wait_child(pid, 5000);

	hits = 0;
	pid = pester(50, 50, 100);
	struct timespec req = {5, 0}, rem = {0, 0};
	long long t0 = now_ns();
	ERR(nanosleep(&req, &rem), EINTR,
	    "nanosleep is interrupted (even with SA_RESTART)");
	long long ms = (now_ns() - t0) / 1000000;
	kill(pid, SIGKILL);
	wait_child(pid, 5000);
	OK(ms < 4000, "early (%lld ms)", ms);
	OK(rem.tv_sec >= 1 && rem.tv_sec <= 5,
	   "rem holds the time left (%lld s)", (long long)rem.tv_sec);

	set_handler(SIGUSR1, on_sig, 0);
	pid = pester(50, 50, 100);
	req.tv_sec = 5;
	IS(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem), EINTR,
	   "clock_nanosleep returns EINTR");
	kill(pid, SIGKILL);
	wait_child(pid, 5000);

	/* poll is interrupted too. */
	pid = pester(50, 50, 100);
	struct pollfd {
		int fd;
		short events, revents;
	} pf = {p[0], 1, 0};
	ERR(syscall(SYS_poll, &pf, 1, 5000), EINTR, "poll is interrupted");
	kill(pid, SIGKILL);
	wait_child(pid, 5000);
	/* wait4 too. */
	pid = pester(50, 50, 100);
	int st;
	ERR(wait4(pid, &st, 0, NULL), EINTR, "wait4 is interrupted");
	kill(pid, SIGKILL);
	wait_child(pid, 5000);
	set_handler(SIGUSR1, SIG_DFL, 0);
	close(p[0]);
	close(p[1]);
}

static void test_sigchld_alarm(void)
{
	set_info_handler(SIGCHLD, on_info, 0);
	sigset_t m, old;
	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	sigprocmask(SIG_BLOCK, &m, &old);
	pid_t pid = fork();
	if (pid == 0)
		_exit(17);
	int st;
	waitpid(pid, &st, 0);
	memset(&last_info, 0, sizeof last_info);
	hits = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	IS(hits, 1, "SIGCHLD arrives when a child exits");
	IS(last_info.si_code, CLD_EXITED, "si_code CLD_EXITED");
	IS(last_info.si_pid, pid, "si_pid is the child");
	IS(last_info.si_status, 17, "si_status is its exit code");
	set_handler(SIGCHLD, SIG_DFL, 0);

	/* The alarm system call itself (musl's alarm() uses setitimer). */
	syscall(SYS_alarm, 0); /* tap_init's watchdog */
	IS(syscall(SYS_alarm, 10), 0, "alarm with none pending returns 0");
	long left = syscall(SYS_alarm, 0);
	OK(left >= 9 && left <= 10, "alarm(0) returns the seconds left (%ld)",
	   left);
	struct itimerval it = {{0, 0}, {5, 0}}, cur;
	SYS(setitimer(ITIMER_REAL, &it, NULL), "setitimer ITIMER_REAL 5 s");
	SYS(getitimer(ITIMER_REAL, &cur), "getitimer");
	OK(cur.it_value.tv_sec >= 3 && cur.it_value.tv_sec <= 5,
	   "getitimer shows the time left (%ld s)", (long)cur.it_value.tv_sec);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);

	set_handler(SIGALRM, on_sig, 0);
	sigemptyset(&m);
	sigaddset(&m, SIGALRM);
	sigprocmask(SIG_BLOCK, &m, &old);
	sigset_t wait_mask = old;
	sigdelset(&wait_mask, SIGALRM);
	hits = 0;
	last_sig = 0;
	long long t0 = now_ns();
	alarm(1);
	while (!hits && now_ns() - t0 < 5000000000LL)
		sigsuspend(&wait_mask);
	long long ms = (now_ns() - t0) / 1000000;
	sigprocmask(SIG_SETMASK, &old, NULL);
	IS(last_sig, SIGALRM, "alarm(1) delivers SIGALRM");
	OK(ms >= 900 && ms < 3000, "after about a second (%lld ms)", ms);
	set_handler(SIGALRM, SIG_DFL, 0);
	alarm(120);
}

static volatile sig_atomic_t ppoll_hits;
static void ppoll_handler(int sig)
{
	(void)sig;
	ppoll_hits++;
}

/* ppoll's and pselect's mask holds only during the wait: a blocked
 * pending signal it unblocks ends the wait with EINTR, its handler runs,
 * and the old mask (still blocking it) is back afterwards. */
static void test_wait_masks(void)
{
	struct sigaction sa = {.sa_handler = ppoll_handler};
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t block, empty, cur;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, NULL);
	int p[2];
	if (pipe(p)) {
		SKIP("no pipe", "ppoll with a mask");
		return;
	}
	struct pollfd pf = {p[0], POLLIN, 0};
	struct timespec ts = {5, 0};
	kill(getpid(), SIGUSR2);
	ERR(ppoll(&pf, 1, &ts, &empty), EINTR,
	    "ppoll: a pending signal its mask unblocks ends it");
	IS(ppoll_hits, 1, "ppoll: the handler ran");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	OK(sigismember(&cur, SIGUSR2), "ppoll: the old mask is back");
	IS(ppoll(&pf, 1, &(struct timespec){0, 1000000}, &empty), 0,
	   "ppoll: a timeout with nothing pending");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	OK(sigismember(&cur, SIGUSR2), "ppoll: the mask is back after it");
	kill(getpid(), SIGUSR2);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ERR(pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty), EINTR,
	    "pselect: likewise");
	IS(ppoll_hits, 2, "pselect: the handler ran");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	OK(sigismember(&cur, SIGUSR2), "pselect: the old mask is back");
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	signal(SIGUSR2, SIG_DFL);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_signal");
	test_action();
	test_info();
	test_mask();
	test_altstack();
	test_defaults();
	test_faults();
	test_fpu();
	test_eintr();
	test_sigchld_alarm();
	test_wait_masks();
	return tap_done();
}
