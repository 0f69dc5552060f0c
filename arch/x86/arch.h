/*
 * arch.h — the only door from portable code (kern, vm, fs, net, mosix) to the
 * x86_64 machine. Everything declared here is implemented in arch/x86/.
 *
 * Memory layout (see docs/architecture.md):
 *   0xFFFF800000000000  direct map of physical memory (PHYS_TO_VIRT)
 *   0xFFFFFFFF80000000  kernel image (KERNEL_VMA), loaded at 2 MiB physical
 */
#ifndef ARCH_X86_ARCH_H
#define ARCH_X86_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12
#define KERNEL_VMA 0xFFFFFFFF80000000UL
#define DIRECT_MAP 0xFFFF800000000000UL
/* The boot page tables map this much physical memory at DIRECT_MAP. */
#define BOOT_DIRECT_MAP_SIZE (4UL << 30)

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + DIRECT_MAP);
}
static inline uint64_t virt_to_phys(const void *va)
{
	uintptr_t v = (uintptr_t)va;
	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP;
}

/* Linker-script symbols bounding the kernel image. */
extern char _kernel_start[], _text_end[], _rodata_end[], _kernel_end[];

/* Port I/O. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Interrupt flag. irq_save() returns the old flags for irq_restore(). */
static inline unsigned long irq_save(void)
{
	unsigned long f;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}
static inline void irq_restore(unsigned long f)
{
	if (f & 0x200)
		__asm__ volatile("sti" : : : "memory");
}
static inline bool irq_enabled(void)
{
	unsigned long f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f) : : "memory");
	return f & 0x200;
}
static inline void irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}
static inline void irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}
static inline void cpu_relax(void)
{
	__asm__ volatile("pause");
}

/* Bring-up, called once from kmain in this order. */
void arch_cpu_init(void); /* GDT, TSS with IST stacks, IDT, CPU features */
void arch_irq_init(void); /* mask 8259, LAPIC, IOAPIC */
void arch_time_init(unsigned hz); /* TSC calibration, periodic LAPIC timer */

/* Serial console (COM1, 16550). */
void uart_init(void); /* polled output; safe before anything else */
void uart_irq_init(void); /* interrupt-driven receive */
void uart_putc(char c);
void uart_write(const char *s, size_t n);
/* Receive side: returns -1 when nothing is waiting. */
int uart_getc(void);
/* Sleep (as a thread) until a byte arrives; polls before interrupts are on. */
int uart_getc_wait(void);

/*
 * Device interrupts. irq_register routes ISA IRQ/GSI `irq` through the IOAPIC
 * to a vector and calls handler(arg) from interrupt context.
 */
typedef void (*irq_handler_t)(void *arg);
int irq_register(unsigned irq, irq_handler_t handler, void *arg);
/* Remove a handler; the input is masked when its last handler goes. */
void irq_unregister(unsigned irq, irq_handler_t handler, void *arg);
/*
 * A vector of its own for a message-signalled interrupt (PCI MSI/MSI-X,
 * programmed by arch/x86/pci.c): returns the vector or -EBUSY/-ENOMEM.
 * `owner` (a string that stays valid) names it in irq_stats. Free it only
 * after the device can no longer send it.
 */
int irq_alloc_msi_vector(irq_handler_t handler, void *arg, const char *owner);
void irq_free_msi_vector(unsigned vector);

/* Interrupt counters since boot, one entry per source (/proc/interrupts). */
struct irq_stat {
	unsigned vector;
	int irq; /* as given to irq_register; -1 for CPU-local sources */
	unsigned gsi; /* IOAPIC input (irq >= 0 only) */
	const char *name; /* "IO-APIC-edge", "IO-APIC-level", "PCI-MSI",
			   * "LAPIC-timer", "LAPIC-error", "spurious",
			   * "unexpected" */
	uint64_t count;
	const char *owner; /* PCI-MSI: the driver's name; else NULL */
};
/* Fill up to max entries; returns how many sources exist. */
unsigned irq_stats(struct irq_stat *st, unsigned max);

/* ACPI: the RSDP's physical address from the boot loader (0 = unknown;
 * then the BIOS areas are searched). Call before arch_irq_init. */
void arch_acpi_set_rsdp(uint64_t pa);

/* Time. */
uint64_t time_ns(void); /* monotonic nanoseconds since the kernel started */
/* Timer ticks: floor(time_ns * hz / 1e9) as of the last tick interrupt or
 * idle wakeup; advances by hz per second and never drifts from time_ns. */
uint64_t time_ticks(void);
uint64_t tsc_hz(void); /* calibrated TSC frequency */
unsigned time_hz(void);
/* Seconds since 1970 (UTC): the CMOS clock read at boot carried forward by
 * time_ns(); 0 when the clock read nonsense. */
uint64_t arch_wall_seconds(void);
/*
 * Idle: wait for the next interrupt with the periodic tick stopped (tickless
 * idle) unless a timer deadline is pending; the tick resumes on wakeup.
 * Called with interrupts disabled; returns with them disabled, after any
 * interrupt (callers loop and re-check their condition). Returns at once if
 * the deadline has already passed.
 */
void arch_idle(void);
/* Ask for a wakeup no later than deadline_ns (0 = none) while idle; it holds
 * until changed. */
void arch_set_idle_deadline(uint64_t deadline_ns);

/*
 * Threads (kern/thread.c). arch_switch saves the callee-saved registers and
 * the stack pointer in *save_sp and resumes the context saved at load_sp.
 * arch_thread_stack_init prepares a new stack so that switching to the
 * returned sp calls entry(arg) with interrupts still disabled.
 */
void arch_switch(uintptr_t *save_sp, uintptr_t load_sp);
uintptr_t arch_thread_stack_init(void *stack_top, void (*entry)(void *),
				 void *arg);
/* Called from the timer interrupt at every tick (interrupts disabled). */
void arch_set_tick_hook(void (*fn)(void));
/*
 * Called at the end of every interrupt, after EOI, on the interrupted
 * thread's stack with interrupts disabled: the scheduler's preemption point.
 */
void arch_set_irq_exit_hook(void (*fn)(void));

/* Paging hooks for vm/ (arch/x86/cpu.c). */
bool arch_has_nx(void); /* no-execute bit usable */
unsigned arch_phys_addr_bits(void); /* physical address width, 36..52 */
uint64_t arch_pt_root(void); /* physical address of the live PML4 */
/* Switch to the PML4 at pa and flush every TLB entry, global ones too. */
void arch_pt_switch(uint64_t pa);
void arch_tlb_flush_page(uintptr_t va);
/* Load the PML4 at pa; non-global TLB entries (user pages) are dropped,
 * global kernel ones kept. */
void arch_pt_load(uint64_t pa);
/*
 * Page faults at user-half addresses (below 0x0000800000000000) go to fn
 * (vm/ registers one) with the faulting address and the #PF error code;
 * 0 means resolved and the access is retried, anything else is fatal as
 * before. Kernel-half faults never reach it.
 */
void arch_set_page_fault_hook(int (*fn)(uintptr_t addr, unsigned err));

/*
 * User mode (arch/x86/syscall.c, syscall_entry.asm; issue 4). arch_user_init
 * enables syscall/sysret and FPU/SSE at boot. The handler set with
 * arch_syscall_set_handler receives the Linux x86-64 system-call number and
 * its six arguments and returns rax. arch_set_user_kstack gives the kernel
 * stack ring-3 entries (interrupts and syscall) start on: set it whenever a
 * thread that runs user code is switched in. arch_enter_user leaves for
 * ring 3 at rip with stack rsp, rflags IF, all registers zero.
 */
#define ARCH_FPU_SIZE 512 /* fxsave area, 16-byte aligned */
/*
 * The registers saved on every entry to the kernel, lowest address first
 * (arch/x86/frame.inc pushes them). A ring-3 entry — system call or
 * interrupt — always starts at the top of the thread's kernel stack, so a
 * thread's user registers are at arch_user_frame(its stack top). For a
 * system call, vector is ARCH_VEC_SYSCALL and `error` holds the call's
 * number (rax is overwritten by the result).
 */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
#define ARCH_VEC_SYSCALL 0x100
static inline struct trapframe *arch_user_frame(uintptr_t kstack_top)
{
	return (struct trapframe *)kstack_top - 1;
}
/*
 * Called on every return to ring 3 (after a system call, an interrupt or a
 * resolved fault that came from ring 3) with interrupts enabled and the
 * frame about to be restored: the process layer delivers signals here. It
 * returns true when every register of tf must be restored exactly (after
 * rt_sigreturn), which rules out sysret (it clobbers rcx and r11).
 */
void arch_set_user_return_hook(bool (*fn)(struct trapframe *tf));
/* Leave for ring 3 with the registers of tf (a fork child's first return,
 * a restored context); tf may be anywhere, it is copied first. */
void arch_resume_user(const struct trapframe *tf) __attribute__((noreturn));
/*
 * Signal frames (arch/x86/signal.c), the Linux x86-64 layout. To deliver:
 * arch_sigframe_build lays the frame out in buf (ARCH_SIGFRAME_MAX bytes)
 * and says where it goes (*at, below d->sp); the caller copies it to user
 * memory, then arch_sigframe_enter points tf at the handler. To return:
 * the ucontext (ARCH_UCONTEXT_SIZE bytes) is at arch_sigreturn_frame(tf);
 * arch_sigreturn_restore loads tf from it and gives the saved mask and the
 * user address of the FPU image (0: none), which the caller reads and
 * passes through arch_fpu_sanitize before using it.
 */
#define ARCH_SIGINFO_SIZE 128
#define ARCH_UCONTEXT_SIZE 304
#define ARCH_SIGFRAME_MAX 1280
struct arch_sigdelivery {
	uint64_t restorer; /* the handler's return address */
	const void *info; /* ARCH_SIGINFO_SIZE bytes of siginfo */
	uint64_t mask; /* the mask rt_sigreturn restores */
	const void *fpu; /* the FPU state to save (ARCH_FPU_SIZE) */
	uint64_t sp; /* the frame goes below this */
	bool on_altstack; /* sp is an alternate stack's top: no red zone */
	uint64_t ss_sp, ss_size; /* the alternate stack, as sigaltstack says */
	int ss_flags;
	uint64_t fault_addr; /* cr2 for SIGSEGV/SIGBUS, else 0 */
};
size_t arch_sigframe_build(const struct trapframe *tf,
			   const struct arch_sigdelivery *d, void *buf,
			   uint64_t *at);
void arch_sigframe_enter(struct trapframe *tf, uint64_t at, int sig,
			 uint64_t handler);
uint64_t arch_sigreturn_frame(const struct trapframe *tf);
int arch_sigreturn_restore(struct trapframe *tf, const void *ucontext,
			   uint64_t *mask, uint64_t *fpstate);
void arch_fpu_sanitize(void *area);
/* A frame that came from another node (migration): ring-3 selectors, only
 * the flags user code may set (IF on), no system call to restart. */
void arch_frame_sanitize_user(struct trapframe *tf);
/* Make tf a fresh process's start: rip, rsp, IF set, every other register
 * zero. */
void arch_frame_init_user(struct trapframe *tf, uint64_t rip, uint64_t rsp);
typedef long (*arch_syscall_fn)(unsigned long nr, const uint64_t args[6]);
void arch_user_init(void);
void arch_syscall_set_handler(arch_syscall_fn fn);
void arch_set_user_kstack(uintptr_t top);
void arch_enter_user(uint64_t rip, uint64_t rsp) __attribute__((noreturn));
void arch_fpu_save(void *area);
void arch_fpu_restore(const void *area);
void arch_fpu_init_state(void *area); /* a fresh process's state */
uint64_t arch_fs_base_get(void);
void arch_fs_base_set(uint64_t base);
/*
 * An exception in ring 3 that the page-fault hook did not resolve goes to
 * fn (the process layer), which posts the matching signal and returns (the
 * user-return hook then runs a handler or ends the process). name is the
 * exception's ("#PF page fault"), addr CR2 for #PF, else 0.
 */
typedef void (*arch_user_fault_fn)(unsigned vector, const char *name,
				   uintptr_t rip, uintptr_t addr);
void arch_set_user_fault_hook(arch_user_fault_fn fn);

/* Machine control. */
void arch_reboot(void) __attribute__((noreturn));
void arch_halt(void) __attribute__((noreturn));
/* Exit QEMU through isa-debug-exit (if present) with status (code<<1)|1. */
void arch_qemu_exit(int code);

/* Stop the node after a fatal error: exits QEMU with failure when
 * self-testing, otherwise halts with interrupts off. */
void arch_fatal_stop(void) __attribute__((noreturn));

/* Print the calling context's registers and backtrace (panic). */
void arch_dump_current(void);

/* Print a trap frame (exceptions and panic). */
void arch_dump_regs(const struct trapframe *tf);

#endif
