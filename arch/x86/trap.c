/*
 * trap.c — CPU exceptions.
 *
 * trap_dispatch is called by trap_entry.asm for every vector. Vectors 32 and
 * up are device and LAPIC interrupts (irq.c). An exception in the kernel is
 * fatal: one block on COM1 with the vector's name, error code, CR2, all
 * registers and a symbolized backtrace, then the node halts (or, booted with
 * `selftest`, QEMU exits with a failure status). A page fault at a user-half
 * address first goes to the hook vm/ registers (demand paging, copy-on-write);
 * only an unresolved one is fatal to the kernel. An exception in ring 3
 * (cs & 3) goes, unresolved, to the user-fault hook, which ends the process
 * (signals come later); the node keeps running.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"

static const char *const exc_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound range exceeded",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor segment overrun",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack-segment fault",
	"#GP general protection fault",
	"#PF page fault",
	"reserved (15)",
	"#MF x87 floating-point error",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD floating-point error",
	"#VE virtualization exception",
	"#CP control protection",
	"reserved (22)",
	"reserved (23)",
	"reserved (24)",
	"reserved (25)",
	"reserved (26)",
	"reserved (27)",
	"#HV hypervisor injection",
	"#VC VMM communication",
	"#SX security exception",
	"reserved (31)",
};

/* Returns the text of "function+0xoff" for addr into buf. */
static const char *symbolize(uintptr_t addr, char *buf, size_t size)
{
	const char *name;
	uintptr_t off;
	if (ksym_lookup(addr, &name, &off))
		snprintf(buf, size, "%s+0x%lx", name, (unsigned long)off);
	else
		snprintf(buf, size, "?");
	return buf;
}

void arch_dump_regs(const struct trapframe *tf)
{
	char sym[96];
	printk(KERN_ERR "rip %016lx %s\n", tf->rip,
	       symbolize(tf->rip, sym, sizeof sym));
	printk(KERN_ERR
	       "rsp %016lx  rbp %016lx  rflags %08lx  cs %lx  ss %lx\n",
	       tf->rsp, tf->rbp, tf->rflags, tf->cs, tf->ss);
	printk(KERN_ERR "rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n",
	       tf->rax, tf->rbx, tf->rcx, tf->rdx);
	printk(KERN_ERR "rsi %016lx  rdi %016lx  r8  %016lx  r9  %016lx\n",
	       tf->rsi, tf->rdi, tf->r8, tf->r9);
	printk(KERN_ERR "r10 %016lx  r11 %016lx  r12 %016lx  r13 %016lx\n",
	       tf->r10, tf->r11, tf->r12, tf->r13);
	printk(KERN_ERR
	       "r14 %016lx  r15 %016lx  cr0 %08lx  cr3 %016lx  cr4 %08lx\n",
	       tf->r14, tf->r15, read_cr0(), read_cr3(), read_cr4());
}

static void pf_describe(uint64_t err, char *buf, size_t size)
{
	snprintf(buf, size, " (%s, %s, %s%s%s)",
		 err & 1 ? "protection violation" : "not present",
		 err & 2    ? "write"
		 : err & 16 ? "instruction fetch"
			    : "read",
		 err & 4 ? "user" : "kernel", err & 8 ? ", reserved bit" : "",
		 "");
}

static int trap_depth;

__noreturn static void fatal_exception(struct trapframe *tf)
{
	char detail[96] = "";
	if (++trap_depth > 1) {
		/* A fault while printing a fault: say so and stop. */
		printk(KERN_ERR "\nSHOAL EXCEPTION: nested %s at rip %lx\n",
		       tf->vector < 32 ? exc_names[tf->vector] : "interrupt",
		       tf->rip);
		arch_fatal_stop();
	}
	if (tf->vector == 14)
		pf_describe(tf->error, detail, sizeof detail);
	printk(KERN_ERR
	       "\n======== SHOAL EXCEPTION: %s (vector %lu) ========\n",
	       exc_names[tf->vector], tf->vector);
	printk(KERN_ERR "error %#lx%s\n", tf->error, detail);
	if (tf->vector == 14)
		printk(KERN_ERR "cr2 %016lx (faulting address)\n", read_cr2());
	arch_dump_regs(tf);
	backtrace_print(tf->rip, tf->rbp);
	printk(KERN_ERR "======== end of exception; node halted ========\n");
	arch_fatal_stop();
}

static void (*irq_exit_hook)(void);
static arch_user_fault_fn user_fault_hook;

void arch_set_user_fault_hook(arch_user_fault_fn fn)
{
	user_fault_hook = fn;
}
static int (*page_fault_hook)(uintptr_t addr, unsigned err);

void arch_set_page_fault_hook(int (*fn)(uintptr_t addr, unsigned err))
{
	page_fault_hook = fn;
}

void arch_set_irq_exit_hook(void (*fn)(void))
{
	irq_exit_hook = fn;
}

void arch_trap_user_return(struct trapframe *tf); /* syscall.c */

/* An exception or interrupt; one that came from ring 3 leaves through the
 * user-return hook (signal delivery). The user-fault hook posts a signal
 * and returns, or ends the process. */
void trap_dispatch(struct trapframe *tf)
{
	if (tf->vector >= 32) {
		irq_dispatch(tf);
		if (irq_exit_hook)
			irq_exit_hook();
	} else if (tf->vector == 14 && page_fault_hook &&
		   read_cr2() < 0x0000800000000000UL &&
		   page_fault_hook(read_cr2(), (unsigned)tf->error) == 0) {
		/* resolved: retry the access */
	} else if ((tf->cs & 3) && user_fault_hook) {
		user_fault_hook((unsigned)tf->vector, exc_names[tf->vector],
				tf->rip, tf->vector == 14 ? read_cr2() : 0);
	} else {
		fatal_exception(tf);
	}
	if (tf->cs & 3)
		arch_trap_user_return(tf);
}
