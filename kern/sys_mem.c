/*
 * sys_mem.c — the memory system calls (LOCAL class: they act on the user
 * context, wherever the process runs): brk, mmap, munmap.
 */
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

static struct vm_space *space(void)
{
	return proc_current()->user.space;
}

/* ------------------------------------------------------------ memory */

long sys_brk(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	uintptr_t want = a[0];
	if (want < u->brk_start || want >= PROC_MMAP_BASE)
		return u->brk;
	uintptr_t have_end = ALIGN_UP(u->brk, PAGE_SIZE);
	uintptr_t want_end = ALIGN_UP(want, PAGE_SIZE);
	if (want_end > have_end &&
	    vm_region_add(u->space, have_end, want_end - have_end,
			  VM_PROT_READ | VM_PROT_WRITE, VM_REGION_ANON, NULL,
			  0))
		return u->brk;
	if (want_end < have_end &&
	    vm_region_remove(u->space, want_end, have_end - want_end))
		return u->brk;
	u->brk = want;
	return u->brk;
}

/* The lowest free range of len bytes at or above from, below the stack. */
static uintptr_t find_free(struct vm_space *s, uintptr_t from, size_t len)
{
	uintptr_t cand = from;
	for (struct vm_region *r = s->regions; r; r = r->next) {
		if (r->end <= cand)
			continue;
		if (r->start >= cand + len)
			break;
		cand = r->end;
	}
	if (cand + len > PROC_STACK_TOP - PROC_STACK_SIZE)
		return 0;
	return cand;
}

long sys_mmap(const uint64_t a[6])
{
	uintptr_t addr = a[0];
	size_t len = ALIGN_UP(a[1], PAGE_SIZE);
	uint64_t prot = a[2], flags = a[3];
	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV; /* file mappings: with the pager */
	if ((flags & 0x3) != MAP_PRIVATE || !a[1] || !len || (prot & ~7ull) ||
	    (a[5] & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (a[1] > VM_USER_TOP)
		return -ENOMEM;
	struct vm_space *s = space();
	if (flags & MAP_FIXED) {
		if ((addr & (PAGE_SIZE - 1)) || addr >= VM_USER_TOP ||
		    len > VM_USER_TOP - addr)
			return -EINVAL;
		int rc = vm_region_remove(s, addr, len);
		if (rc)
			return rc;
	} else {
		addr = find_free(s, PROC_MMAP_BASE, len);
		if (!addr)
			return -ENOMEM;
	}
	int rc = vm_region_add(s, addr, len, (unsigned)prot, VM_REGION_ANON,
			       NULL, 0);
	return rc ? rc : (long)addr;
}

long sys_munmap(const uint64_t a[6])
{
	if ((a[0] & (PAGE_SIZE - 1)) || !a[1])
		return -EINVAL;
	return vm_region_remove(space(), a[0], ALIGN_UP(a[1], PAGE_SIZE));
}
