/*
 * panic.c — the kernel's last words: message, the caller's registers and a
 * symbolized backtrace on COM1, in the same block shape as an exception.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"

static int panicking;

void panic(const char *fmt, ...)
{
	irq_disable();
	if (panicking++) {
		printk(KERN_ERR "\nSHOAL PANIC (nested): %s\n", fmt);
		arch_fatal_stop();
	}
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printk(KERN_ERR "\n======== SHOAL PANIC: %s ========\n", msg);
	arch_dump_current();
	printk(KERN_ERR "======== end of panic; node halted ========\n");
	arch_fatal_stop();
}
