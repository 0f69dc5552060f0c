/*
 * pmm.c — the kernel's physical page allocator: glue between the boot
 * memory map (physmap.c), the bitmap core (pmm_core.c) and the rest of
 * the kernel.
 *
 * Interface (vm.h): pmm_init, pmm_alloc, pmm_alloc_contig, pmm_free,
 * pmm_free_contig, mem_get_stats.
 *
 * pmm_init withholds [0, 1 MiB) (firmware, real-mode leftovers), the kernel
 * image, every boot module and the loader's information block, then places
 * the bitmap in the lowest free range that fits below 4 GiB (the boot page
 * tables reach no further) and takes those pages too. Until vm_init has
 * mapped all RAM, allocations stay below 4 GiB as well (pmm.limit).
 *
 * Locking: one CPU per node for now; every entry point runs with interrupts
 * disabled (irq_save), which protects `pmm`. An SMP kernel will turn this
 * into a spinlock with the same scope.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

struct pmm pmm;
struct physmap pmm_map;
struct phys_range pmm_extra[BOOTINFO_MAX_MODS + 1];
unsigned pmm_nextra;

static uint64_t kernel_bytes, modules_bytes, withheld_bytes;
static bool pmm_ready;

static void map_warn(void *ctx, const char *msg)
{
	printk(KERN_WARN "shoal: memory map: %s\n", msg);
}

static void pmm_report(void *ctx, const char *msg)
{
	/* The bitmap is intact (the core checks before it acts), but someone
	 * freed a page they do not own: in debug builds that is fatal. */
	if (KDEBUG)
		panic("pmm: %s", msg);
	printk(KERN_ERR "shoal: pmm: %s; ignored\n", msg);
	backtrace_print(0, 0);
}

/* A free range below 4 GiB with room for the bitmap, or 0. */
static uint64_t place_bitmap(uint64_t bytes)
{
	for (unsigned i = 0; i < pmm_map.nfree; i++) {
		const struct phys_range *r = &pmm_map.free[i];
		uint64_t end = MIN(r->end, BOOT_DIRECT_MAP_SIZE);
		if (r->start < end && end - r->start >= bytes)
			return r->start;
	}
	return 0;
}

void pmm_init(const struct bootinfo *bi)
{
	struct phys_range resv[3 + BOOTINFO_MAX_MODS];
	unsigned n = 0;
	uint64_t kstart = virt_to_phys(_kernel_start);
	uint64_t kend = virt_to_phys(_kernel_end);

	resv[n++] = (struct phys_range){0, 1ULL << 20};
	resv[n++] = (struct phys_range){kstart, kend};
	kernel_bytes = kend - kstart;
	for (unsigned i = 0; i < bi->nmods; i++) {
		struct phys_range m = {ALIGN_DOWN(bi->mods[i].start, PAGE_SIZE),
				       ALIGN_UP(bi->mods[i].end, PAGE_SIZE)};
		resv[n++] = m;
		pmm_extra[pmm_nextra++] = m;
		modules_bytes += bi->mods[i].end - bi->mods[i].start;
	}
	if (bi->info_end > bi->info_start) {
		struct phys_range info = {ALIGN_DOWN(bi->info_start, PAGE_SIZE),
					  ALIGN_UP(bi->info_end, PAGE_SIZE)};
		resv[n++] = info;
		pmm_extra[pmm_nextra++] = info;
	}

	physmap_build(bi->mmap, bi->nmmap, resv, n, vm_phys_limit(), &pmm_map,
		      map_warn, NULL);
	if (pmm_map.nfree == 0)
		panic("pmm_init: no usable memory above 1 MiB besides the kernel, its modules and the boot information (%u map entries, %lu KiB usable in all); give the node more RAM",
		      bi->nmmap, (unsigned long)(pmm_map.ram_bytes >> 10));

	size_t bytes = pmm_core_bitmap_bytes(pmm_map.free, pmm_map.nfree);
	size_t bpages = ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE;
	uint64_t bpa = place_bitmap(bpages * PAGE_SIZE);
	if (!bpa)
		panic("pmm_init: no room below 4 GiB for the page bitmap (%lu KiB)",
		      (unsigned long)(bpages * PAGE_SIZE >> 10));
	pmm_core_init(&pmm, pmm_map.free, pmm_map.nfree, phys_to_virt(bpa),
		      pmm_report, NULL);
	if (pmm_core_take(&pmm, bpa, bpages))
		panic("pmm_init: cannot take the bitmap's own pages at %#lx",
		      (unsigned long)bpa);
	pmm.limit = BOOT_DIRECT_MAP_SIZE;

	/* RAM the kernel keeps for itself apart from its image. */
	withheld_bytes = pmm_map.ram_bytes - pmm_map.free_bytes;
	uint64_t kin =
		phys_ranges_overlap(pmm_map.ram, pmm_map.nram, kstart, kend);
	withheld_bytes -= MIN(withheld_bytes, kin);
	pmm_ready = true;
	vm_pageref_init(); /* counts for user pages (pageref.c) */

	for (unsigned i = 0; i < pmm_map.nfree; i++)
		printk(KERN_DEBUG "  usable %016lx-%016lx\n",
		       (unsigned long)pmm_map.free[i].start,
		       (unsigned long)pmm_map.free[i].end - 1);
	printk("shoal: memory: %lu MiB usable in %u ranges, %lu KiB reserved (kernel %lu KiB, modules %lu KiB), bitmap %lu KiB%s\n",
	       (unsigned long)(pmm.total_pages * PAGE_SIZE >> 20),
	       pmm_map.nfree,
	       (unsigned long)((withheld_bytes + kernel_bytes) >> 10),
	       (unsigned long)(kernel_bytes >> 10),
	       (unsigned long)(modules_bytes >> 10),
	       (unsigned long)(bpages * PAGE_SIZE >> 10),
	       pmm_map.oddities ? " (odd memory map, see warnings)" : "");
}

uint64_t pmm_alloc(void)
{
	unsigned long f = irq_save();
	uint64_t pa = pmm_ready ? pmm_core_alloc(&pmm) : 0;
	irq_restore(f);
	return pa;
}

uint64_t pmm_alloc_contig(size_t npages)
{
	unsigned long f = irq_save();
	uint64_t pa = pmm_ready ? pmm_core_alloc_contig(&pmm, npages) : 0;
	irq_restore(f);
	return pa;
}

void pmm_free(uint64_t pa)
{
	pmm_free_contig(pa, 1);
}

void pmm_free_contig(uint64_t pa, size_t npages)
{
	unsigned long f = irq_save();
	pmm_core_free(&pmm, pa, npages);
	irq_restore(f);
}

void mem_get_stats(struct mem_stats *st)
{
	unsigned long f = irq_save();
	st->total_bytes = pmm.total_pages * PAGE_SIZE;
	st->free_bytes = pmm.free_pages * PAGE_SIZE;
	st->kernel_bytes = kernel_bytes;
	st->reserved_bytes = withheld_bytes;
	st->heap_bytes = heap_pages_held() * PAGE_SIZE;
	st->heap_allocs = heap_live_allocs();
	irq_restore(f);
}
