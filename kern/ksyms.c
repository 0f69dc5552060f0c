/*
 * ksyms.c — symbolized backtraces.
 *
 * The table is made by tools/mksyms from the first link and placed in the
 * .ksyms section by the second (see link.ld): sorted addresses, offsets into
 * a string blob. Backtraces walk the frame-pointer chain (the kernel is built
 * with -fno-omit-frame-pointer) and stop at a null, misaligned, non-kernel or
 * non-increasing frame, so a corrupt stack cannot make the walker fault.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"

extern const uint64_t ksym_count;
extern const uint64_t ksym_addrs[];
extern const uint32_t ksym_offs[];
extern const char ksym_names[];

bool ksym_lookup(uintptr_t addr, const char **name, uintptr_t *offset)
{
	if (ksym_count == 0 || addr < ksym_addrs[0] ||
	    addr >= (uintptr_t)_text_end)
		return false;
	uint64_t lo = 0, hi = ksym_count; /* find last addrs[i] <= addr */
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (ksym_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*name = ksym_names + ksym_offs[lo];
	*offset = addr - ksym_addrs[lo];
	return true;
}

/* A frame pointer we may dereference: inside the kernel image (boot and IST
 * stacks) or the direct map of the first 4 GiB (heap-allocated stacks). */
static bool frame_ok(uintptr_t fp, uintptr_t prev)
{
	if (fp == 0 || (fp & 7) || fp <= prev)
		return false;
	bool in_image = fp >= (uintptr_t)_kernel_start &&
			fp + 16 <= (uintptr_t)_kernel_end;
	bool in_direct = fp >= DIRECT_MAP &&
			 fp + 16 <= DIRECT_MAP + BOOT_DIRECT_MAP_SIZE;
	return in_image || in_direct;
}

static void print_frame(int i, uintptr_t pc)
{
	const char *name;
	uintptr_t off;
	if (ksym_lookup(pc, &name, &off))
		printk(KERN_ERR "  #%-2d %016lx %s+0x%lx\n", i, pc, name, off);
	else
		printk(KERN_ERR "  #%-2d %016lx ?\n", i, pc);
}

void backtrace_print(uintptr_t rip, uintptr_t rbp)
{
	printk(KERN_ERR "backtrace:\n");
	int i = 0;
	if (rip)
		print_frame(i++, rip);
	uintptr_t prev = 0;
	for (; i < 32 && frame_ok(rbp, prev); i++) {
		uintptr_t ret = ((uintptr_t *)rbp)[1];
		if (ret == 0)
			break;
		/* The call instruction is just before the return address. */
		print_frame(i, ret - 1);
		prev = rbp;
		rbp = ((uintptr_t *)rbp)[0];
	}
}
