/*
 * kmalloc.c — the kernel heap: the size-class core of heap.c over pages
 * from the physical allocator, reached through the direct map.
 *
 * Interface (vm.h): kmalloc, kzalloc, kfree. kmalloc returns 16-byte
 * aligned memory or NULL; kfree(NULL) does nothing. KDEBUG builds (the
 * default) check every kfree: a double free, a pointer kmalloc never
 * returned or a write past the end panics with a message naming it.
 *
 * Locking: one CPU per node for now; calls run with interrupts disabled
 * (irq_save), which protects `kheap`, so interrupt handlers may allocate.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

static void *heap_get_pages(void *ctx, size_t npages)
{
	uint64_t pa = pmm_alloc_contig(npages);
	return pa ? phys_to_virt(pa) : NULL;
}

static void heap_put_pages(void *ctx, void *p, size_t npages)
{
	pmm_free_contig(virt_to_phys(p), npages);
}

static void heap_corrupt(void *ctx, const char *msg)
{
	panic("%s", msg);
}

static void heap_symbolize(void *ctx, uintptr_t addr, char *buf, size_t size)
{
	const char *name;
	uintptr_t off;
	if (ksym_lookup(addr, &name, &off))
		snprintf(buf, size, "%s+%#lx", name, (unsigned long)off);
	else
		snprintf(buf, size, "%#lx", (unsigned long)addr);
}

static struct heap kheap = {
	.ops = {heap_get_pages, heap_put_pages, heap_corrupt, heap_symbolize,
		NULL},
	.debug = KDEBUG,
};

uint64_t heap_pages_held(void)
{
	return kheap.pages;
}

uint64_t heap_live_allocs(void)
{
	return kheap.live;
}

static void *alloc_from(size_t size, uintptr_t caller)
{
	unsigned long f = irq_save();
	void *p = heap_alloc(&kheap, size, caller);
	irq_restore(f);
	return p;
}

void *kmalloc(size_t size)
{
	return alloc_from(size, (uintptr_t)__builtin_return_address(0));
}

void *kzalloc(size_t size)
{
	void *p = alloc_from(size, (uintptr_t)__builtin_return_address(0));
	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	if (!p)
		return;
	/* The heap core reads the page header of p: it must be an allocated
	 * RAM page (not a device, not the kernel image, not a free page). */
	uintptr_t a = (uintptr_t)p;
	if (a < DIRECT_MAP || a - DIRECT_MAP >= VM_PHYS_MAX ||
	    !pmm_core_is_allocated(&pmm, a - DIRECT_MAP))
		panic("kfree(%p): not in an allocated page (wild pointer, or a double free of a large allocation)",
		      p);
	unsigned long f = irq_save();
	heap_free(&kheap, p);
	irq_restore(f);
}
