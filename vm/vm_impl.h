/*
 * vm_impl.h — private to vm/ and its host unit tests (tests/unit/test_*.c).
 *
 * Three pure cores that take plain inputs and never touch the machine, so
 * the host tests compile the very same files:
 *
 *   physmap_build   boot memory map + reserved ranges -> sorted, disjoint,
 *                   page-aligned usable ranges (vm/physmap.c)
 *   pmm_core_*      a bitmap page allocator over those ranges
 *                   (vm/pmm_core.c)
 *   heap_*          the size-class heap over a page provider (vm/heap.c)
 *
 * None of them locks: the kernel glue (pmm.c, kmalloc.c) serializes calls.
 * The glue's own internals shared between the files of vm/ are at the end.
 */
#ifndef VM_VM_IMPL_H
#define VM_VM_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/bootinfo.h"

#define VM_PAGE 4096ULL
/* The direct map's window holds 64 TiB; RAM above is not used. */
#define VM_PHYS_MAX (64ULL << 40)

/* A physical range [start, end). */
struct phys_range {
	uint64_t start, end;
};

/* ------------------------------------------------------------ physmap */

/* Capacity of a normalized map (the raw one holds at most 64 entries; each
 * reserved range may split one usable range in two). */
#define PHYSMAP_MAX 128

typedef void (*vm_report_fn)(void *ctx, const char *msg);
/* Format a message and hand it to report (if any); physmap.c. */
void vm_vreportf(vm_report_fn report, void *ctx, const char *fmt, va_list ap);

struct physmap {
	struct phys_range ram[PHYSMAP_MAX]; /* usable RAM, page-aligned */
	unsigned nram;
	struct phys_range free[PHYSMAP_MAX]; /* ram minus the reserved list */
	unsigned nfree;
	uint64_t ram_bytes; /* sum of ram[] */
	uint64_t free_bytes; /* sum of free[] */
	unsigned oddities; /* problems reported through the callback */
};

/*
 * Normalize a boot memory map. Usable entries are shrunk to whole pages;
 * every other type and every reserved range is grown to whole pages and
 * wins over usable memory where they overlap. Nothing at or above max_addr
 * is kept. Oddities (overlaps, tiny or empty or wrapping entries, memory
 * beyond max_addr, overflowing the table) are counted and reported through
 * report(ctx, msg) when report is not NULL; the result is always usable,
 * possibly empty.
 */
void physmap_build(const struct mem_range *raw, unsigned nraw,
		   const struct phys_range *reserved, unsigned nreserved,
		   uint64_t max_addr, struct physmap *out, vm_report_fn report,
		   void *ctx);

/* Bytes of [start, end) covered by the ranges (sorted, disjoint). */
uint64_t phys_ranges_overlap(const struct phys_range *r, unsigned n,
			     uint64_t start, uint64_t end);

/* ------------------------------------------------------------ page bitmap */

#define PMM_MAX_ZONES PHYSMAP_MAX

/* One contiguous run of managed pages with its own piece of the bitmap. */
struct pmm_zone {
	uint64_t base; /* physical address of the first page */
	uint64_t npages;
	uint64_t *bits; /* bit set = page allocated; tail bits past npages set */
	uint64_t nfree;
	uint64_t hint; /* no free page lies in bits[0 .. hint-1] */
};

struct pmm {
	struct pmm_zone zones[PMM_MAX_ZONES];
	unsigned nzones;
	uint64_t total_pages, free_pages;
	uint64_t limit; /* hand out only pages wholly below this address */
	unsigned errors; /* bad frees reported */
	vm_report_fn report;
	void *report_ctx;
};

/* Bytes of bitmap pmm_core_init needs for these ranges (8-byte words). */
size_t pmm_core_bitmap_bytes(const struct phys_range *r, unsigned n);
/*
 * Manage the pages of r[0..n) (sorted, disjoint, page-aligned), all free,
 * with `bitmap` of pmm_core_bitmap_bytes(r, n) bytes. Physical page 0 is
 * never managed, so 0 can mean failure.
 */
void pmm_core_init(struct pmm *p, const struct phys_range *r, unsigned n,
		   uint64_t *bitmap, vm_report_fn report, void *ctx);
/* Mark [pa, pa + npages pages) allocated (for the allocator's own bitmap);
 * returns 0, or -EINVAL if a page is unmanaged or not free. */
int pmm_core_take(struct pmm *p, uint64_t pa, uint64_t npages);
/* Allocate one page / npages contiguous pages; 0 when none is left. */
uint64_t pmm_core_alloc(struct pmm *p);
uint64_t pmm_core_alloc_contig(struct pmm *p, uint64_t npages);
/*
 * Free npages pages at pa. A run that is unaligned, not managed, or not
 * wholly allocated is reported, counted in p->errors and left alone:
 * returns -EINVAL (unaligned), -ERANGE (not managed) or -EFAULT (not
 * allocated: a double free), 0 when freed.
 */
int pmm_core_free(struct pmm *p, uint64_t pa, uint64_t npages);
/* Is the page at pa managed and allocated? */
bool pmm_core_is_allocated(const struct pmm *p, uint64_t pa);

/* ------------------------------------------------------------ heap */

/*
 * The heap's view of the world: a page provider (contiguous runs, page-
 * aligned, writable) and what to do with a detected corruption. fail() is
 * expected not to return (the kernel panics); if it does, the operation is
 * abandoned without touching anything.
 */
struct heap_ops {
	void *(*alloc_pages)(void *ctx, size_t npages);
	void (*free_pages)(void *ctx, void *p, size_t npages);
	void (*fail)(void *ctx, const char *msg);
	/* Optional: name a code address ("func+0x12") into buf. */
	void (*symbolize)(void *ctx, uintptr_t addr, char *buf, size_t size);
	void *ctx;
};

#define HEAP_NCLASSES 19

struct heap_slab;
struct heap {
	struct heap_ops ops;
	bool debug; /* headers, canaries, poison: KDEBUG builds */
	struct heap_slab *partial[HEAP_NCLASSES]; /* slabs with a free slot */
	uint64_t pages; /* pages currently held (slabs + large runs) */
	uint64_t live; /* allocations not yet freed */
};

void heap_init(struct heap *h, const struct heap_ops *ops, bool debug);
/* caller: recorded in debug headers and named in corruption messages. */
void *heap_alloc(struct heap *h, size_t size, uintptr_t caller);
void heap_free(struct heap *h, void *p);
/* The usable size of a live allocation (the size asked for). */
size_t heap_size(struct heap *h, const void *p);

/* ------------------------------------------------------------ kernel glue */

#ifndef HOST_TEST
/* Allocator state and the normalized map (pmm.c), read by paging.c. */
extern struct pmm pmm;
extern struct physmap pmm_map;
/* Physical ranges the direct map must cover besides RAM (modules, boot
 * information), page-aligned. */
extern struct phys_range pmm_extra[];
extern unsigned pmm_nextra;
/* Pages held by the kernel heap (kmalloc.c). */
uint64_t heap_pages_held(void);
uint64_t heap_live_allocs(void); /* kmalloc'ed blocks not yet freed */
/* The leaf entry (address and flags) mapping va in the current tables and
 * its level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB); 0 when not mapped. */
uint64_t vm_lookup(uintptr_t va, unsigned *level);
/* The end of addressable physical memory: the CPU's physical address
 * width, at most VM_PHYS_MAX. */
uint64_t vm_phys_limit(void);
/* Do the kernel's page tables use the NX bit? */
bool vm_has_nx(void);
/* Physical address of the kernel's PML4 (after vm_init). */
uint64_t vm_kernel_root(void);
#endif

/* Page table entry bits (also used by vm_test.c). */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ULL

#endif
