/*
 * vm.h — physical memory, kernel page tables and the kernel heap.
 *
 *   pmm_*   page frames, built from the boot memory map; never hands out the
 *           kernel image, the boot modules or the loader's information.
 *   vm_*    the kernel's own page tables (W^X: text RX, rodata R+NX, data and
 *           the direct map RW+NX, no identity map), MMIO and firmware
 *           mappings. Private parts and the host-testable cores: vm_impl.h.
 *   kmalloc size-class heap; KDEBUG builds check double frees and overflows.
 */
#ifndef VM_VM_H
#define VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/bootinfo.h"

/* Physical pages. Addresses are physical; 0 means failure. */
void pmm_init(const struct bootinfo *bi);
uint64_t pmm_alloc(void);
uint64_t pmm_alloc_contig(size_t npages);
void pmm_free(uint64_t pa);
void pmm_free_contig(uint64_t pa, size_t npages);

/* Counters exported to the load balancer and /proc/meminfo. */
struct mem_stats {
	uint64_t total_bytes; /* usable RAM managed by the page allocator */
	uint64_t free_bytes;
	uint64_t kernel_bytes; /* kernel image */
	uint64_t reserved_bytes; /* RAM kept back besides the kernel image:
				    modules, boot info, the first MiB */
	uint64_t heap_bytes; /* pages currently held by the kernel heap */
	uint64_t heap_allocs; /* kmalloc'ed blocks not yet freed (leaks) */
};
void mem_get_stats(struct mem_stats *st);

/* Kernel page tables. */
void vm_init(void);
/*
 * Map device memory uncached (after vm_init); returns its kernel virtual
 * address or NULL (bad range, RAM, or already mapped cached). Mapping the
 * same device twice is fine.
 */
void *vm_map_mmio(uint64_t pa, size_t len);
/* Map firmware tables (ACPI) read-only and cached; NULL on a bad range. */
void *vm_map_firmware(uint64_t pa, size_t len);

/* Kernel heap: 16-byte aligned; kmalloc(0) returns a unique pointer;
 * kfree(NULL) does nothing. */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

/* ------------------------------------------------------------------------
 * User address spaces (vm/uspace.c, vm/pageref.c; issue 4).
 *
 * A vm_space is a PML4 whose user half (slots 0..255, below VM_USER_TOP) is
 * its own and whose kernel half (slots 256..511) is copied from the kernel's
 * tables, so every kernel mapping below those slots is shared. Rule: a slot
 * the kernel adds later (vm_map_mmio reaching a new 512 GiB window) reaches
 * a space the next time vm_space_switch loads it, which re-copies the kernel
 * half; drivers map their devices at boot, before any space exists.
 *
 * The user half is described by a sorted list of disjoint regions, each
 * anonymous or backed by an opaque object at an offset. Pages arrive on
 * demand (vm_fault): zeroed for anonymous regions, read through the
 * region's pager (struct vm_pager) for file-backed ones; fork shares every
 * page copy-on-write, with per-frame reference counts. Every mapping is
 * private: a write never reaches the backing object.
 *
 * Clean and dirty (design §4): a file-backed page is *clean* while it still
 * equals its backing (mapped read-only until its first write); anonymous
 * pages and written file pages are dirty. Migration sends only dirty pages;
 * a clean one can be fetched again from the backing.
 *
 * Locking: one CPU per node; every call runs with interrupts off around its
 * table updates. The caller owns the space (no concurrent calls on it).
 * ------------------------------------------------------------------------ */

#define VM_USER_TOP 0x0000800000000000ULL

#define VM_PROT_READ 1u
#define VM_PROT_WRITE 2u
#define VM_PROT_EXEC 4u

#define VM_REGION_ANON 0u /* demand-zero */
#define VM_REGION_FILE 1u /* backed by `backing` at `offset` */

/*
 * How a file-backed region reaches its backing object (the owner of the
 * object supplies it: kern/sys_mem.c for files). Each region holds one
 * reference on its backing, taken with hold and dropped with release
 * (splitting, fork and munmap keep the count right). fill reads PAGE_SIZE
 * bytes at byte offset off into page (a kernel address), zero past the
 * object's end, and returns 0 or a negative errno; it may sleep, and runs
 * with interrupts on whenever the faulting context allows it (a user-mode
 * fault, or copy_*_user called with interrupts on).
 */
struct vm_pager {
	int (*fill)(void *backing, uint64_t off, void *page);
	void (*hold)(void *backing);
	void (*release)(void *backing); /* may sleep; never with irqs off */
	/*
	 * Optional page sharing (a page cache): `lookup` returns a page that
	 * already holds the data at off, with a reference for the caller,
	 * or 0; `version` is the backing's data version, taken before a
	 * fill; `publish` offers a freshly filled page (it takes its own
	 * reference if it keeps it) unless the version moved meanwhile.
	 * Shared pages are mapped copy-on-write. lookup and version may
	 * sleep; publish is called with interrupts off.
	 */
	uint64_t (*lookup)(void *backing, uint64_t off);
	uint64_t (*version)(void *backing);
	void (*publish)(void *backing, uint64_t off, uint64_t pa,
			uint64_t version);
};

struct vm_region {
	uintptr_t start, end; /* [start, end), page-aligned */
	unsigned prot; /* VM_PROT_* */
	unsigned flags; /* VM_REGION_* */
	void *backing; /* VM_REGION_FILE: the pager's object, opaque here */
	uint64_t offset; /* byte offset of `start` in the backing object */
	/* VM_REGION_FILE: how to read `backing`; NULL: no pager (its pages
	 * fault with -ENOSYS). */
	const struct vm_pager *pager;
	struct vm_region *next; /* sorted by start */
};

struct vm_space {
	uint64_t pml4_pa;
	uint64_t *pml4; /* through the direct map */
	struct vm_region *regions;
	/* Present user pages, and those migration must send: every present
	 * page of an anonymous region and every written file-backed page. */
	uint64_t pages, dirty_pages;
	int last_fault_err; /* the last #PF's result: -ENOMEM = out of memory */
	uint64_t faults; /* page faults taken (minflt in /proc/<pid>/stat) */
};

/* A new space with no regions; NULL when out of memory. */
struct vm_space *vm_space_create(void);
/* Free every region, user page (or drop its reference) and user table.
 * A space that is current is switched away from first. */
void vm_space_destroy(struct vm_space *s);
/* Add [start, start + len): page-aligned, non-empty, wholly below
 * VM_USER_TOP and overlapping no region, else -EINVAL; -ENOMEM. */
int vm_region_add(struct vm_space *s, uintptr_t start, size_t len,
		  unsigned prot, unsigned flags, void *backing,
		  uint64_t offset);
/* A file-backed region read through pager (which must have fill, hold
 * and release); the region takes its own reference on backing (hold).
 * Errors as vm_region_add. */
int vm_region_add_file(struct vm_space *s, uintptr_t start, size_t len,
		       unsigned prot, const struct vm_pager *pager,
		       void *backing, uint64_t offset);
/* munmap: unmap [start, start + len), splitting regions it cuts; pages
 * there are dropped. Nothing mapped there is fine. -EINVAL on a bad range,
 * -ENOMEM when a split needs a region and none is left (nothing changed). */
int vm_region_remove(struct vm_space *s, uintptr_t start, size_t len);
/* The region holding addr, or NULL. */
struct vm_region *vm_region_find(struct vm_space *s, uintptr_t addr);
/* Is every page of [start, start + len) inside some region? */
bool vm_range_mapped(struct vm_space *s, uintptr_t start, size_t len);
/*
 * mprotect: give [start, start + len) protection prot, splitting the
 * regions it cuts and merging equal neighbours afterwards; present pages
 * get the new protection at once (VM_PROT_NONE: any user access faults).
 * -EINVAL on a bad range or prot, -ENOMEM when part of the range is
 * unmapped or a split finds no memory; nothing changed on an error.
 */
#define VM_PROT_NONE 0u
int vm_region_protect(struct vm_space *s, uintptr_t start, size_t len,
		      unsigned prot);
/*
 * mremap in place: [start, start + old_len) lies in one region (-EFAULT
 * otherwise); shrinking unmaps the tail; growing extends the region when
 * the range ends at the region's end and [start + old_len, start +
 * new_len) is free and below VM_USER_TOP, else -ENOMEM. Lengths are page
 * multiples, non-zero.
 */
int vm_region_resize(struct vm_space *s, uintptr_t start, size_t old_len,
		     size_t new_len);
/*
 * mremap moving: [old, old + old_len) lies in one region (-EFAULT); [new,
 * new + new_len) must be wholly free and valid (-EINVAL). A region like the
 * old one (same protection and backing, at the matching offset) is made
 * there, the present pages of the first min(old_len, new_len) bytes move
 * with their frames (no copy), and the old range is unmapped unless
 * keep_old (MREMAP_DONTUNMAP: it stays, empty). -ENOMEM leaves nothing
 * changed.
 */
int vm_region_move(struct vm_space *s, uintptr_t old, size_t old_len,
		   uintptr_t new_addr, size_t new_len, bool keep_old);
/* madvise(MADV_DONTNEED): drop the present pages of [start, start + len);
 * the next access sees zeroes (anonymous) or the backing's bytes (file).
 * -EINVAL on a bad range, -ENOMEM when part of it is unmapped. */
int vm_range_discard(struct vm_space *s, uintptr_t start, size_t len);
/* Load s (NULL: the kernel's own tables) on this CPU. Global kernel TLB
 * entries survive. */
void vm_space_switch(struct vm_space *s);
/* The space loaded on this CPU, NULL for the kernel's tables. */
struct vm_space *vm_space_current(void);
/*
 * Resolve a fault at user address addr (err: x86 #PF error code bits, 1
 * present, 2 write, 16 instruction fetch): 0 when the access may be
 * retried; -EFAULT outside every region or against its protection;
 * -ENOMEM; -ENOSYS for a file-backed page without a pager; the pager's
 * error when it cannot read the page. A file page is read with interrupts
 * on when err has the user-mode bit (4) or the caller had them on.
 */
int vm_fault(struct vm_space *s, uintptr_t addr, unsigned err);
/* A child sharing every present page copy-on-write; NULL on -ENOMEM. */
struct vm_space *vm_space_fork(struct vm_space *parent);
/* Copy across the user boundary through s's own tables (current or not),
 * faulting pages in by vm_fault's rules: 0 or -EFAULT (-ENOMEM). */
int copy_to_user(struct vm_space *s, uintptr_t dst, const void *src, size_t n);
int copy_from_user(struct vm_space *s, void *dst, uintptr_t src, size_t n);
/* Copy a NUL-terminated string of at most n bytes with its NUL: returns
 * its length, -ENAMETOOLONG when no NUL is within n bytes, or -EFAULT. */
long strncpy_from_user(struct vm_space *s, char *dst, uintptr_t src, size_t n);

/*
 * Migration (mosix/mig.c). vm_for_each_dirty calls fn(va, bytes, ctx) for
 * every present page that counts dirty, in address order, and stops at
 * fn's first non-zero result, which it returns; fn may sleep (the caller
 * owns s: nothing else changes it meanwhile). vm_page_install maps a new
 * dirty page holding `page`'s bytes at va (page-aligned, inside a region,
 * not present yet): 0, -EFAULT, -EEXIST or -ENOMEM.
 */
int vm_for_each_dirty(struct vm_space *s,
		      int (*fn)(uintptr_t va, const void *page, void *ctx),
		      void *ctx);
int vm_page_install(struct vm_space *s, uintptr_t va, const void *page);

/* Per-frame reference counts of user pages (vm/pageref.c). */
void vm_pageref_init(void); /* from pmm_init */
void vm_page_ref_set1(uint64_t pa); /* a fresh page with one user */
bool vm_page_ref(uint64_t pa); /* false: the count would overflow */
/* Drop a reference; the page goes back to pmm_free at zero. */
void vm_page_unref(uint64_t pa);
unsigned vm_page_refs(uint64_t pa);

#endif
