/*
 * syscall.c — the machine side of user mode: the syscall/sysret MSRs, the
 * FPU/SSE set-up and per-process state switching, and the C half of the
 * system-call entry (syscall_entry.asm).
 *
 * Interface (arch.h): arch_user_init at boot; arch_syscall_set_handler (the
 * portable dispatcher, kern/syscall.c); arch_set_user_kstack at every switch
 * to a thread that may enter ring 3; arch_enter_user; arch_fpu_*;
 * arch_fs_base_*. Invariant: the kernel is built without SSE, so the user's
 * FPU/SSE registers stay live in the CPU across system calls and interrupts
 * and need saving only when another process is switched in.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_FMASK 0xC0000084
#define MSR_FS_BASE 0xC0000100
#define EFER_SCE (1u << 0)

#define RFLAGS_TF (1ul << 8)
#define RFLAGS_IF (1ul << 9)
#define RFLAGS_DF (1ul << 10)
#define RFLAGS_AC (1ul << 18)

#define CR0_MP (1ul << 1)
#define CR0_EM (1ul << 2)
#define CR0_TS (1ul << 3)
#define CR4_OSFXSR (1ul << 9)
#define CR4_OSXMMEXCPT (1ul << 10)

void syscall_entry(void);
extern uint64_t syscall_kstack;

static arch_syscall_fn handler;
/* The FPU state right after fninit with MXCSR's reset value: every new
 * process starts from it. */
static uint8_t fpu_initial[ARCH_FPU_SIZE] __aligned(16);

static inline void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

void arch_user_init(void)
{
	write_cr0((read_cr0() | CR0_MP) & ~(CR0_EM | CR0_TS));
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	uint32_t mxcsr = 0x1F80; /* all exceptions masked */
	__asm__ volatile("fninit\n\tldmxcsr %0" : : "m"(mxcsr));
	arch_fpu_save(fpu_initial);

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* sysret loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both
	 * with RPL 3: base SEL_KDATA gives SEL_UCODE and SEL_UDATA. */
	wrmsr(MSR_STAR,
	      ((uint64_t)SEL_KDATA << 48) | ((uint64_t)SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
}

void arch_syscall_set_handler(arch_syscall_fn fn)
{
	handler = fn;
}

static bool (*user_return_hook)(struct trapframe *tf);

void arch_set_user_return_hook(bool (*fn)(struct trapframe *tf))
{
	user_return_hook = fn;
}

/* Called by syscall_entry with interrupts enabled. Linux ABI: number in
 * rax, arguments in rdi, rsi, rdx, r10, r8, r9, result in rax. Returns
 * non-zero when the way back must restore every register (iretq). */
int arch_syscall(struct trapframe *tf)
{
	uint64_t args[6] = {tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9};
	tf->rax = handler ? (uint64_t)handler(tf->rax, args)
			  : (uint64_t)-ENOSYS;
	return user_return_hook && user_return_hook(tf);
}

/* From trap_dispatch, interrupts off, for a frame that returns to ring 3. */
void arch_trap_user_return(struct trapframe *tf)
{
	if (!user_return_hook)
		return;
	__asm__ volatile("sti" : : : "memory");
	user_return_hook(tf);
	__asm__ volatile("cli" : : : "memory");
}

void arch_frame_init_user(struct trapframe *tf, uint64_t rip, uint64_t rsp)
{
	memset(tf, 0, sizeof *tf);
	tf->rip = rip;
	tf->rsp = rsp;
	tf->cs = SEL_UCODE | 3;
	tf->ss = SEL_UDATA | 3;
	tf->rflags = RFLAGS_IF;
	tf->vector = ARCH_VEC_SYSCALL;
}

void arch_set_user_kstack(uintptr_t top)
{
	arch_set_kernel_stack(top);
	syscall_kstack = top;
}

void arch_fpu_save(void *area)
{
	__asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

void arch_fpu_restore(const void *area)
{
	__asm__ volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}

void arch_fpu_init_state(void *area)
{
	memcpy(area, fpu_initial, ARCH_FPU_SIZE);
}

uint64_t arch_fs_base_get(void)
{
	return rdmsr(MSR_FS_BASE);
}

void arch_fs_base_set(uint64_t base)
{
	wrmsr(MSR_FS_BASE, base);
}
