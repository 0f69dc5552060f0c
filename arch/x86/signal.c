/*
 * signal.c — the x86-64 Linux signal frame (what a handler sees and what
 * rt_sigreturn reads back). The portable signal code (kern/signal.c)
 * decides which signal to deliver and copies the bytes; this file only
 * knows the layout, which is the Linux ABI byte for byte, so musl's
 * sigaction trampolines and ucontext readers work unchanged:
 *
 *   at (16-byte aligned, minus 8 as after a call):
 *     +0    pretcode      the restorer (musl's __restore_rt: rt_sigreturn)
 *     +8    ucontext      uc_flags, uc_link, uc_stack, sigcontext, sigmask
 *     +312  siginfo       128 bytes
 *     ...   fpstate       512-byte fxsave image, 64-byte aligned, pointed
 *                         to by sigcontext.fpstate
 *
 * At rt_sigreturn the user rsp is at+8 (the handler's ret popped
 * pretcode): the ucontext is there. Everything read back is sanitised:
 * the code and stack selectors are forced to ring 3, rflags keeps only the
 * arithmetic and direction flags (IF always set), MXCSR's reserved bits are
 * cleared so fxrstor cannot fault, and a non-canonical rip makes the
 * return go through iretq, whose #GP is then the process's own fault.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

struct linux_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate; /* user address of the fxsave image, or 0 */
	uint64_t reserved[8];
};
_Static_assert(sizeof(struct linux_sigcontext) == 256, "sigcontext");

struct linux_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct linux_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct linux_stack uc_stack;
	struct linux_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};
_Static_assert(sizeof(struct linux_ucontext) == 304, "ucontext");

struct linux_rt_sigframe {
	uint64_t pretcode;
	struct linux_ucontext uc;
	uint8_t info[ARCH_SIGINFO_SIZE];
};

#define RFLAGS_USER_MASK 0x40dd5ul /* CF PF AF ZF SF TF DF OF AC */
#define RFLAGS_IF 0x200ul
#define MXCSR_OFFSET 24

size_t arch_sigframe_build(const struct trapframe *tf,
			   const struct arch_sigdelivery *d, void *buf,
			   uint64_t *at)
{
	/* Below the red zone (or at the top of the alternate stack): the FPU
	 * image, then the frame. */
	uint64_t sp = d->sp - (d->on_altstack ? 0 : 128);
	uint64_t fp = (sp - ARCH_FPU_SIZE) & ~63ull;
	uint64_t frame = ((fp - sizeof(struct linux_rt_sigframe)) & ~15ull) - 8;
	size_t len = (size_t)(fp + ARCH_FPU_SIZE - frame);
	KASSERT(len <= ARCH_SIGFRAME_MAX);
	memset(buf, 0, len);
	struct linux_rt_sigframe *f = buf;
	f->pretcode = d->restorer;
	f->uc.uc_stack.ss_sp = d->ss_sp;
	f->uc.uc_stack.ss_size = d->ss_size;
	f->uc.uc_stack.ss_flags = d->ss_flags;
	struct linux_sigcontext *sc = &f->uc.uc_mcontext;
	sc->r8 = tf->r8;
	sc->r9 = tf->r9;
	sc->r10 = tf->r10;
	sc->r11 = tf->r11;
	sc->r12 = tf->r12;
	sc->r13 = tf->r13;
	sc->r14 = tf->r14;
	sc->r15 = tf->r15;
	sc->rdi = tf->rdi;
	sc->rsi = tf->rsi;
	sc->rbp = tf->rbp;
	sc->rbx = tf->rbx;
	sc->rdx = tf->rdx;
	sc->rax = tf->rax;
	sc->rcx = tf->rcx;
	sc->rsp = tf->rsp;
	sc->rip = tf->rip;
	sc->eflags = tf->rflags;
	sc->cs = (uint16_t)tf->cs;
	sc->ss = (uint16_t)tf->ss;
	sc->trapno = tf->vector < 32 ? tf->vector : 0;
	sc->err = tf->vector < 32 ? tf->error : 0;
	sc->cr2 = d->fault_addr;
	sc->oldmask = d->mask;
	sc->fpstate = fp;
	f->uc.uc_sigmask = d->mask;
	memcpy(f->info, d->info, ARCH_SIGINFO_SIZE);
	memcpy((char *)buf + (fp - frame), d->fpu, ARCH_FPU_SIZE);
	*at = frame;
	return len;
}

void arch_sigframe_enter(struct trapframe *tf, uint64_t at, int sig,
			 uint64_t handler)
{
	const struct linux_rt_sigframe *f = NULL;
	tf->rip = handler;
	tf->rsp = at;
	tf->rdi = (uint64_t)sig;
	tf->rsi = at + (uint64_t)(uintptr_t)&f->info;
	tf->rdx = at + (uint64_t)(uintptr_t)&f->uc;
	tf->rax = 0;
	tf->rflags &= ~(1ul << 10 | 1ul << 8); /* DF, TF: as Linux */
	tf->cs = SEL_UCODE;
	tf->ss = SEL_UDATA;
}

uint64_t arch_sigreturn_frame(const struct trapframe *tf)
{
	return tf->rsp; /* the ucontext: the handler's ret popped pretcode */
}

int arch_sigreturn_restore(struct trapframe *tf, const void *ucontext,
			   uint64_t *mask, uint64_t *fpstate)
{
	const struct linux_ucontext *uc = ucontext;
	const struct linux_sigcontext *sc = &uc->uc_mcontext;
	tf->r8 = sc->r8;
	tf->r9 = sc->r9;
	tf->r10 = sc->r10;
	tf->r11 = sc->r11;
	tf->r12 = sc->r12;
	tf->r13 = sc->r13;
	tf->r14 = sc->r14;
	tf->r15 = sc->r15;
	tf->rdi = sc->rdi;
	tf->rsi = sc->rsi;
	tf->rbp = sc->rbp;
	tf->rbx = sc->rbx;
	tf->rdx = sc->rdx;
	tf->rax = sc->rax;
	tf->rcx = sc->rcx;
	tf->rsp = sc->rsp;
	tf->rip = sc->rip;
	tf->rflags = (tf->rflags & ~RFLAGS_USER_MASK) |
		     (sc->eflags & RFLAGS_USER_MASK) | RFLAGS_IF;
	tf->cs = SEL_UCODE;
	tf->ss = SEL_UDATA;
	tf->vector = 0; /* no longer a system call: nothing to restart */
	*mask = uc->uc_sigmask;
	*fpstate = sc->fpstate;
	return 0;
}

void arch_frame_sanitize_user(struct trapframe *tf)
{
	tf->rflags = (tf->rflags & RFLAGS_USER_MASK) | RFLAGS_IF;
	tf->cs = SEL_UCODE;
	tf->ss = SEL_UDATA;
	tf->vector = 0;
}

void arch_fpu_sanitize(void *area)
{
	uint32_t mxcsr;
	memcpy(&mxcsr, (char *)area + MXCSR_OFFSET, 4);
	mxcsr &= 0xffff;
	memcpy((char *)area + MXCSR_OFFSET, &mxcsr, 4);
}
