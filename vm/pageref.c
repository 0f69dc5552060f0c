/*
 * pageref.c — reference counts of the page frames mapped into user address
 * spaces, so that fork can share a page copy-on-write and the last space to
 * drop it returns it to the allocator.
 *
 * Interface (vm.h): vm_pageref_init, vm_page_ref_set1, vm_page_ref,
 * vm_page_unref, vm_page_refs.
 *
 * One uint16_t per frame from the lowest to the highest page pmm manages,
 * allocated once by pmm_init (holes in the memory map cost 2 bytes per
 * page: 512 KiB for a 1 GiB PCI hole). Only user pages are counted; a
 * kernel page has count 0 and is never passed here. A count never exceeds
 * 65535: vm_page_ref refuses instead, and fork fails with -ENOMEM.
 *
 * Locking: interrupts off (irq_save) around every update, like pmm.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

static uint16_t *refs;
static uint64_t first_pfn, nframes;

void vm_pageref_init(void)
{
	if (pmm_map.nfree == 0)
		return;
	first_pfn = pmm_map.free[0].start >> PAGE_SHIFT;
	nframes =
		(pmm_map.free[pmm_map.nfree - 1].end >> PAGE_SHIFT) - first_pfn;
	size_t npages = ALIGN_UP(nframes * sizeof *refs, PAGE_SIZE) / PAGE_SIZE;
	uint64_t pa = pmm_alloc_contig(npages);
	if (!pa)
		panic("vm_pageref_init: no %lu contiguous pages for page reference counts",
		      (unsigned long)npages);
	refs = phys_to_virt(pa);
	memset(refs, 0, npages * PAGE_SIZE);
}

static uint16_t *slot(uint64_t pa, const char *what)
{
	uint64_t pfn = pa >> PAGE_SHIFT;
	if (!refs || pfn < first_pfn || pfn - first_pfn >= nframes)
		panic("%s: %#lx is not a managed page", what,
		      (unsigned long)pa);
	return &refs[pfn - first_pfn];
}

void vm_page_ref_set1(uint64_t pa)
{
	unsigned long f = irq_save();
	uint16_t *r = slot(pa, __func__);
	if (*r)
		panic("%s: fresh page %#lx already has %u users", __func__,
		      (unsigned long)pa, *r);
	*r = 1;
	irq_restore(f);
}

bool vm_page_ref(uint64_t pa)
{
	unsigned long f = irq_save();
	uint16_t *r = slot(pa, __func__);
	bool ok = *r != UINT16_MAX;
	if (*r == 0)
		panic("%s: page %#lx has no user", __func__, (unsigned long)pa);
	if (ok)
		(*r)++;
	irq_restore(f);
	return ok;
}

void vm_page_unref(uint64_t pa)
{
	unsigned long f = irq_save();
	uint16_t *r = slot(pa, __func__);
	if (*r == 0)
		panic("%s: page %#lx has no user", __func__, (unsigned long)pa);
	if (--*r == 0)
		pmm_free(pa);
	irq_restore(f);
}

unsigned vm_page_refs(uint64_t pa)
{
	unsigned long f = irq_save();
	unsigned n = *slot(pa, __func__);
	irq_restore(f);
	return n;
}
