/*
 * uspace.c — user address spaces: the memory half of a process.
 *
 * Interface (vm.h, "User address spaces"): vm_space_create/destroy/fork/
 * switch/current, vm_region_add/add_file/remove/find/protect/resize/move,
 * vm_range_mapped/discard, vm_fault, copy_to_user, copy_from_user,
 * strncpy_from_user.
 *
 * Invariants:
 *   - The user half of a space's tables (PML4 slots 0..255) is its own:
 *     tables allocated here, intermediate entries P|W|U, leaves decide.
 *     User leaves are never global, so arch_pt_load drops them.
 *   - The kernel half (slots 256..511) is a copy of the kernel's PML4,
 *     re-copied at each vm_space_switch (see vm.h for the rule).
 *   - Every present user leaf lies inside a region and holds one reference
 *     (pageref.c) on its frame. A leaf with PTE_COW is shared (or was):
 *     it is read-only until a write fault copies it, or just makes it
 *     writable when this space holds the only reference. A leaf with
 *     PTE_CLEAN is a file page still equal to its backing: read-only until
 *     a write fault makes it dirty. Any other leaf has exactly its
 *     region's protection (leaf_flags), PROT_NONE as a supervisor page.
 *   - dirty_pages counts the present leaves of anonymous regions and those
 *     of file regions without PTE_CLEAN.
 *   - Regions are sorted, disjoint, page-aligned and below VM_USER_TOP; a
 *     region with a pager holds one reference on its backing.
 *
 * A file page is read (vm_pager.fill) outside the interrupts-off section,
 * possibly sleeping: fault_locked asks for it (FAULT_FILL), fill_page reads
 * it and then re-checks the region and the leaf before installing it.
 * While it sleeps, nothing else changes the space (its owner is the one
 * faulting).
 *
 * The page-fault hook registered with arch/ resolves faults on the current
 * space of this CPU. Kernel code touches user addresses directly only in
 * explicit paths (the self-tests); everything else uses copy_*_user, which
 * walks the space's tables and so works on any space, current or not.
 *
 * Locking: one CPU per node; table updates run with interrupts off; the
 * caller owns the space.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

/* Software bits (ignored by the MMU): this leaf is copy-on-write; this
 * leaf is a file page still equal to its backing. */
#define PTE_COW (1ULL << 9)
#define PTE_CLEAN (1ULL << 10)
#define PF_PRESENT 1u
#define PF_WRITE 2u
#define PF_USER 4u
#define PF_FETCH 16u
#define USER_SLOTS 256
/* fault_locked's answer when a file page must be read first. */
#define FAULT_FILL 1

static struct vm_space *cur_space; /* per CPU once there are several */

static uint64_t *table_of(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR);
}

static unsigned index_at(uintptr_t va, unsigned level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

static uint64_t *kernel_pml4(void)
{
	return phys_to_virt(vm_kernel_root());
}

static void copy_kernel_half(struct vm_space *s)
{
	memcpy(&s->pml4[USER_SLOTS], &kernel_pml4()[USER_SLOTS],
	       USER_SLOTS * sizeof(uint64_t));
}

/* The leaf entry for va in s; with create, the tables above it are made
 * (NULL when out of memory), else NULL when one is missing. */
static uint64_t *walk(struct vm_space *s, uintptr_t va, bool create)
{
	uint64_t *t = s->pml4;
	for (unsigned level = 4; level > 1; level--) {
		uint64_t *e = &t[index_at(va, level)];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t pa = pmm_alloc();
			if (!pa)
				return NULL;
			memset(phys_to_virt(pa), 0, PAGE_SIZE);
			*e = pa | PTE_P | PTE_W | PTE_U;
		}
		t = table_of(*e);
	}
	return &t[index_at(va, 1)];
}

static void flush(struct vm_space *s, uintptr_t va)
{
	if (s == cur_space)
		arch_tlb_flush_page(va);
}

/* A leaf's flags under its region's protection. PROT_NONE keeps the page
 * present (its frame stays accounted) but reserved to the kernel, so any
 * user access faults and vm_fault refuses it. */
static uint64_t leaf_flags(const struct vm_region *r)
{
	uint64_t f = PTE_P;
	if (r->prot)
		f |= PTE_U;
	if (r->prot & VM_PROT_WRITE)
		f |= PTE_W;
	if (!(r->prot & VM_PROT_EXEC) && vm_has_nx())
		f |= PTE_NX;
	return f;
}

/* Does the present leaf pte of region r count as dirty? */
static bool counts_dirty(const struct vm_region *r, uint64_t pte)
{
	return r->flags == VM_REGION_ANON || !(pte & PTE_CLEAN);
}

static void backing_hold(const struct vm_region *r)
{
	if (r->pager)
		r->pager->hold(r->backing);
}

static void backing_release(const struct vm_region *r)
{
	if (r->pager)
		r->pager->release(r->backing);
}

/* Free a region that is off the list, dropping its backing reference. */
static void region_free(struct vm_region *r)
{
	backing_release(r);
	kfree(r);
}

/* Call fn on every present leaf of s in [a, b) (b may be VM_USER_TOP),
 * skipping absent tables; level-4 table is s->pml4. */
typedef void (*leaf_fn)(struct vm_space *s, uint64_t *pte, uintptr_t va,
			void *ctx);

static void walk_range(struct vm_space *s, uint64_t *t, unsigned level,
		       uintptr_t base, uintptr_t a, uintptr_t b, leaf_fn fn,
		       void *ctx)
{
	uintptr_t span = 1UL << (PAGE_SHIFT + 9 * (level - 1));
	for (unsigned i = 0; i < 512; i++) {
		uintptr_t lo = base + i * span, hi = lo + span;
		if (hi <= a || lo >= b)
			continue;
		if (!(t[i] & PTE_P))
			continue;
		if (level == 1)
			fn(s, &t[i], lo, ctx);
		else
			walk_range(s, table_of(t[i]), level - 1, lo, a, b, fn,
				   ctx);
	}
}

static void for_each_leaf(struct vm_space *s, uintptr_t a, uintptr_t b,
			  leaf_fn fn, void *ctx)
{
	walk_range(s, s->pml4, 4, 0, a, b, fn, ctx);
}

/* ------------------------------------------------------------ spaces */

struct vm_space *vm_space_create(void)
{
	struct vm_space *s = kzalloc(sizeof *s);
	if (!s)
		return NULL;
	s->pml4_pa = pmm_alloc();
	if (!s->pml4_pa) {
		kfree(s);
		return NULL;
	}
	s->pml4 = phys_to_virt(s->pml4_pa);
	memset(s->pml4, 0, PAGE_SIZE);
	copy_kernel_half(s);
	return s;
}

static void drop_leaf(struct vm_space *s, uint64_t *pte, uintptr_t va,
		      void *ctx)
{
	const struct vm_region *r = vm_region_find(s, va);
	if (!r)
		panic("%s: page at %#lx outside every region", __func__,
		      (unsigned long)va);
	uint64_t pa = *pte & PTE_ADDR;
	if (counts_dirty(r, *pte))
		s->dirty_pages--;
	*pte = 0;
	flush(s, va);
	s->pages--;
	/* A page that held program code is scrubbed before it is reused:
	 * QEMU's TCG keeps the translations of code it ran and treats every
	 * later write to that physical page as self-modifying code (a slow
	 * path, on every write, while any translation of the page survives).
	 * Writing the whole page once drops them all, so a pipe buffer or a
	 * heap slab that lands on a former text page runs at full speed. On
	 * real hardware it costs one page of stores per text page freed. */
	if ((r->prot & VM_PROT_EXEC) && vm_page_refs(pa) == 1)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	vm_page_unref(pa);
}

static void free_tables(uint64_t *t, unsigned level)
{
	unsigned n = level == 4 ? USER_SLOTS : 512;
	for (unsigned i = 0; i < n; i++) {
		if (!(t[i] & PTE_P))
			continue;
		if (level > 2)
			free_tables(table_of(t[i]), level - 1);
		pmm_free(t[i] & PTE_ADDR);
		t[i] = 0;
	}
}

void vm_space_destroy(struct vm_space *s)
{
	if (!s)
		return;
	if (s == cur_space)
		vm_space_switch(NULL);
	unsigned long f = irq_save();
	for_each_leaf(s, 0, VM_USER_TOP, drop_leaf, NULL);
	free_tables(s->pml4, 4);
	irq_restore(f);
	if (s->pages || s->dirty_pages)
		panic("%s: %lu pages left after dropping every leaf", __func__,
		      (unsigned long)s->pages);
	while (s->regions) {
		struct vm_region *r = s->regions;
		s->regions = r->next;
		region_free(r);
	}
	pmm_free(s->pml4_pa);
	kfree(s);
}

static int page_fault_hook(uintptr_t addr, unsigned err)
{
	if (!cur_space)
		return -EFAULT;
	int rc = vm_fault(cur_space, addr, err);
	cur_space->last_fault_err = rc;
	cur_space->faults++;
	return rc;
}

void vm_space_switch(struct vm_space *s)
{
	static bool hooked;
	unsigned long f = irq_save();
	uint64_t *k = kernel_pml4();
	if (!hooked) {
		arch_set_page_fault_hook(page_fault_hook);
		hooked = true;
	}
	if (s)
		copy_kernel_half(s);
	cur_space = s;
	arch_pt_load(s ? s->pml4_pa : virt_to_phys(k));
	irq_restore(f);
}

struct vm_space *vm_space_current(void)
{
	return cur_space;
}

/* ------------------------------------------------------------ regions */

struct vm_region *vm_region_find(struct vm_space *s, uintptr_t addr)
{
	for (struct vm_region *r = s->regions; r && r->start <= addr;
	     r = r->next)
		if (addr < r->end)
			return r;
	return NULL;
}

static bool range_ok(uintptr_t start, size_t len)
{
	return len && start % PAGE_SIZE == 0 && len % PAGE_SIZE == 0 &&
	       start < VM_USER_TOP && len <= VM_USER_TOP - start;
}

/* Does any region overlap [start, end)? */
static bool range_used(struct vm_space *s, uintptr_t start, uintptr_t end)
{
	for (struct vm_region *r = s->regions; r && r->start < end; r = r->next)
		if (r->end > start)
			return true;
	return false;
}

bool vm_range_mapped(struct vm_space *s, uintptr_t start, size_t len)
{
	uintptr_t end = start + len;
	struct vm_region *r = vm_region_find(s, start);
	while (r && r->end < end) {
		if (!r->next || r->next->start != r->end)
			return false;
		r = r->next;
	}
	return r != NULL;
}

/* Link a filled-in region into the sorted list (its range is free). */
static void region_link(struct vm_space *s, struct vm_region *n)
{
	struct vm_region **pp = &s->regions;
	while (*pp && (*pp)->end <= n->start)
		pp = &(*pp)->next;
	n->next = *pp;
	*pp = n;
}

static int region_add(struct vm_space *s, uintptr_t start, size_t len,
		      unsigned prot, unsigned flags,
		      const struct vm_pager *pager, void *backing,
		      uint64_t offset)
{
	if (!range_ok(start, len) ||
	    (prot & ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)) ||
	    (flags != VM_REGION_ANON && flags != VM_REGION_FILE))
		return -EINVAL;
	if (range_used(s, start, start + len))
		return -EINVAL;
	struct vm_region *r = kzalloc(sizeof *r);
	if (!r)
		return -ENOMEM;
	*r = (struct vm_region){.start = start,
				.end = start + len,
				.prot = prot,
				.flags = flags,
				.backing = backing,
				.offset = offset,
				.pager = pager};
	backing_hold(r);
	region_link(s, r);
	return 0;
}

int vm_region_add(struct vm_space *s, uintptr_t start, size_t len,
		  unsigned prot, unsigned flags, void *backing, uint64_t offset)
{
	return region_add(s, start, len, prot, flags, NULL, backing, offset);
}

int vm_region_add_file(struct vm_space *s, uintptr_t start, size_t len,
		       unsigned prot, const struct vm_pager *pager,
		       void *backing, uint64_t offset)
{
	if (!pager || !pager->fill || !pager->hold || !pager->release)
		return -EINVAL;
	return region_add(s, start, len, prot, VM_REGION_FILE, pager, backing,
			  offset);
}

/* Cut r at `at` (strictly inside it): r keeps [start, at), spare takes
 * [at, end) with the matching offset and its own backing reference. */
static void region_split(struct vm_region *r, uintptr_t at,
			 struct vm_region *spare)
{
	*spare = *r;
	spare->start = at;
	spare->offset += at - r->start;
	r->end = at;
	r->next = spare;
	backing_hold(spare);
}

/* Could a and b (a just below b) be one region? */
static bool mergeable(const struct vm_region *a, const struct vm_region *b)
{
	return a->end == b->start && a->prot == b->prot &&
	       a->flags == b->flags && a->pager == b->pager &&
	       a->backing == b->backing &&
	       (a->flags == VM_REGION_ANON ||
		b->offset == a->offset + (a->end - a->start));
}

/* Merge equal neighbours among the regions touching [start, end). */
static void merge_range(struct vm_space *s, uintptr_t start, uintptr_t end)
{
	for (struct vm_region *r = s->regions; r && r->start <= end;) {
		struct vm_region *n = r->next;
		if (n && r->end >= start && mergeable(r, n)) {
			r->end = n->end;
			r->next = n->next;
			region_free(n);
			continue;
		}
		r = n;
	}
}

/* Unmap [start, end): spare is the region a cut strictly inside one region
 * needs (NULL when none does). Cannot fail. */
static void remove_range(struct vm_space *s, uintptr_t start, uintptr_t end,
			 struct vm_region *spare)
{
	unsigned long f = irq_save();
	for_each_leaf(s, start, end, drop_leaf, NULL);
	irq_restore(f);

	struct vm_region **pp = &s->regions;
	while (*pp) {
		struct vm_region *r = *pp;
		if (r->end <= start || r->start >= end) {
			pp = &r->next;
			continue;
		}
		if (r->start < start && r->end > end) {
			region_split(r, end, spare);
			r->end = start;
			break;
		}
		if (r->start >= start && r->end <= end) {
			*pp = r->next;
			region_free(r);
			continue;
		}
		if (r->start < start) {
			r->end = start;
		} else {
			r->offset += end - r->start;
			r->start = end;
		}
		pp = &r->next;
	}
}

/* Does [start, end) lie strictly inside one region (so unmapping it needs
 * a new region for the upper part)? */
static bool cut_inside(struct vm_space *s, uintptr_t start, uintptr_t end)
{
	struct vm_region *r = vm_region_find(s, start);
	return r && r->start < start && r->end > end;
}

int vm_region_remove(struct vm_space *s, uintptr_t start, size_t len)
{
	if (!range_ok(start, len))
		return -EINVAL;
	uintptr_t end = start + len;
	/* Check, then act: the only allocation is that split. */
	struct vm_region *spare = NULL;
	if (cut_inside(s, start, end)) {
		spare = kzalloc(sizeof *spare);
		if (!spare)
			return -ENOMEM;
	}
	remove_range(s, start, end, spare);
	return 0;
}

/* Give a present leaf its region's (new) protection. */
static void reprotect_leaf(struct vm_space *s, uint64_t *pte, uintptr_t va,
			   void *ctx)
{
	const struct vm_region *r = vm_region_find(s, va);
	uint64_t e = (*pte & (PTE_ADDR | PTE_COW | PTE_CLEAN)) | leaf_flags(r);
	if (e & (PTE_COW | PTE_CLEAN))
		e &= ~PTE_W;
	if (e != *pte) {
		*pte = e;
		flush(s, va);
	}
}

int vm_region_protect(struct vm_space *s, uintptr_t start, size_t len,
		      unsigned prot)
{
	if (!range_ok(start, len) ||
	    (prot & ~(VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC)))
		return -EINVAL;
	uintptr_t end = start + len;
	if (!vm_range_mapped(s, start, len))
		return -ENOMEM;
	struct vm_region *lo = vm_region_find(s, start);
	struct vm_region *hi = vm_region_find(s, end - 1);
	struct vm_region *spare[2] = {NULL, NULL};
	bool cut_lo = lo->start < start;
	bool cut_hi = hi->end > end;
	if ((cut_lo && !(spare[0] = kzalloc(sizeof *spare[0]))) ||
	    (cut_hi && !(spare[1] = kzalloc(sizeof *spare[1])))) {
		kfree(spare[0]);
		return -ENOMEM;
	}
	if (cut_lo)
		region_split(lo, start, spare[0]);
	hi = vm_region_find(s, end - 1);
	if (cut_hi)
		region_split(hi, end, spare[1]);
	for (struct vm_region *r = vm_region_find(s, start);
	     r && r->start < end; r = r->next)
		r->prot = prot;
	unsigned long f = irq_save();
	for_each_leaf(s, start, end, reprotect_leaf, NULL);
	irq_restore(f);
	merge_range(s, start, end);
	return 0;
}

int vm_region_resize(struct vm_space *s, uintptr_t start, size_t old_len,
		     size_t new_len)
{
	if (!range_ok(start, old_len) || !new_len || new_len % PAGE_SIZE)
		return -EINVAL;
	struct vm_region *r = vm_region_find(s, start);
	if (!r || old_len > r->end - start)
		return -EFAULT;
	if (new_len <= old_len) {
		if (new_len < old_len)
			return vm_region_remove(s, start + new_len,
						old_len - new_len);
		return 0;
	}
	uintptr_t old_end = start + old_len;
	if (old_end != r->end || new_len > VM_USER_TOP - start ||
	    (r->next && r->next->start < start + new_len))
		return -ENOMEM;
	r->end = start + new_len;
	return 0;
}

struct move_ctx {
	uintptr_t delta; /* new address minus old, modulo 2^64 */
	struct vm_space *s;
	int rc;
};

/* First pass: make the tables the moved leaves need (they stay if the
 * move fails: empty tables cost nothing but a page until destroy). */
static void move_prepare(struct vm_space *s, uint64_t *pte, uintptr_t va,
			 void *arg)
{
	struct move_ctx *c = arg;
	if (!c->rc && !walk(s, va + c->delta, true))
		c->rc = -ENOMEM;
}

/* Second pass: the frame and its reference move as they are. */
static void move_leaf(struct vm_space *s, uint64_t *pte, uintptr_t va,
		      void *arg)
{
	struct move_ctx *c = arg;
	uint64_t *dst = walk(s, va + c->delta, false);
	*dst = *pte;
	*pte = 0;
	flush(s, va);
}

int vm_region_move(struct vm_space *s, uintptr_t old, size_t old_len,
		   uintptr_t new_addr, size_t new_len, bool keep_old)
{
	if (!range_ok(old, old_len) || !range_ok(new_addr, new_len))
		return -EINVAL;
	uintptr_t old_end = old + old_len, new_end = new_addr + new_len;
	struct vm_region *r = vm_region_find(s, old);
	if (!r || old_len > r->end - old)
		return -EFAULT;
	if (range_used(s, new_addr, new_end))
		return -EINVAL;

	struct vm_region *n = kzalloc(sizeof *n), *spare = NULL;
	if (n && !keep_old && cut_inside(s, old, old_end) &&
	    !(spare = kzalloc(sizeof *spare))) {
		kfree(n);
		n = NULL;
	}
	if (!n)
		return -ENOMEM;
	size_t moved = MIN(old_len, new_len);
	struct move_ctx c = {new_addr - old, s, 0};
	unsigned long f = irq_save();
	for_each_leaf(s, old, old + moved, move_prepare, &c);
	irq_restore(f);
	if (c.rc) {
		kfree(n);
		kfree(spare);
		return c.rc;
	}

	*n = *r;
	n->start = new_addr;
	n->end = new_end;
	n->offset = r->offset + (old - r->start);
	backing_hold(n);
	region_link(s, n);
	f = irq_save();
	for_each_leaf(s, old, old + moved, move_leaf, &c);
	irq_restore(f);
	if (!keep_old)
		remove_range(s, old, old_end, spare);
	return 0;
}

int vm_range_discard(struct vm_space *s, uintptr_t start, size_t len)
{
	if (!range_ok(start, len))
		return -EINVAL;
	if (!vm_range_mapped(s, start, len))
		return -ENOMEM;
	unsigned long f = irq_save();
	for_each_leaf(s, start, start + len, drop_leaf, NULL);
	irq_restore(f);
	return 0;
}

/* ------------------------------------------------------------ faults */

/* Is this access allowed by the region's protection? */
static bool access_ok(const struct vm_region *r, unsigned err)
{
	if (err & PF_WRITE)
		return r->prot & VM_PROT_WRITE;
	if (err & PF_FETCH)
		return r->prot & VM_PROT_EXEC;
	return r->prot & (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXEC);
}

/* Caller has interrupts off. 0, a negative errno, or FAULT_FILL: read the
 * file page first (fill_page) and call again. */
static int fault_locked(struct vm_space *s, uintptr_t addr, unsigned err)
{
	if (addr >= VM_USER_TOP)
		return -EFAULT;
	struct vm_region *r = vm_region_find(s, addr);
	if (!r || !access_ok(r, err))
		return -EFAULT;
	uintptr_t va = ALIGN_DOWN(addr, PAGE_SIZE);
	uint64_t *pte = walk(s, va, true);
	if (!pte)
		return -ENOMEM;

	if (!(*pte & PTE_P)) {
		if (r->flags != VM_REGION_ANON)
			return r->pager ? FAULT_FILL : -ENOSYS;
		uint64_t pa = pmm_alloc();
		if (!pa)
			return -ENOMEM;
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
		vm_page_ref_set1(pa);
		*pte = pa | leaf_flags(r);
		s->pages++;
		s->dirty_pages++;
		return 0;
	}

	if ((err & PF_WRITE) && !(*pte & PTE_W)) {
		if (!(*pte & (PTE_COW | PTE_CLEAN)))
			panic("%s: read-only leaf %#lx in a writable region",
			      __func__, (unsigned long)va);
		uint64_t pa = *pte & PTE_ADDR;
		if ((*pte & PTE_COW) && vm_page_refs(pa) > 1) {
			uint64_t copy = pmm_alloc();
			if (!copy)
				return -ENOMEM;
			memcpy(phys_to_virt(copy), phys_to_virt(pa), PAGE_SIZE);
			vm_page_ref_set1(copy);
			vm_page_unref(pa);
			pa = copy;
		}
		if (!counts_dirty(r, *pte))
			s->dirty_pages++; /* a clean file page is written */
		*pte = pa | leaf_flags(r);
	}
	/* Also a stale TLB entry after another path fixed the leaf. */
	flush(s, va);
	return 0;
}

/*
 * Read the file page holding addr and map it clean (read-only). Entered and
 * left with interrupts off; they are on during the read when irq_on. 0 also
 * when the space changed meanwhile (the caller's next fault_locked decides
 * again).
 */
static int fill_page(struct vm_space *s, uintptr_t addr, bool irq_on)
{
	uintptr_t va = ALIGN_DOWN(addr, PAGE_SIZE);
	struct vm_region *r = vm_region_find(s, va);
	const struct vm_pager *pager = r->pager;
	void *backing = r->backing;
	uint64_t off = r->offset + (va - r->start);
	uint64_t pa = 0, version = 0;
	bool shared = false;
	if (irq_on)
		irq_enable();
	if (pager->lookup) {
		pa = pager->lookup(backing, off);
		shared = pa != 0;
		version = shared ? 0 : pager->version(backing);
	}
	if (!pa)
		pa = pmm_alloc();
	int rc = pa ? 0 : -ENOMEM;
	if (!rc && !shared)
		rc = pager->fill(backing, off, phys_to_virt(pa));
	irq_disable();
	if (!pa)
		return rc;
	r = vm_region_find(s, va);
	uint64_t *pte = NULL;
	if (!rc && r && r->pager == pager && r->backing == backing &&
	    r->offset + (va - r->start) == off) {
		pte = walk(s, va, true);
		if (!pte)
			rc = -ENOMEM;
	}
	if (rc || !pte || (*pte & PTE_P)) {
		if (shared)
			vm_page_unref(pa);
		else
			pmm_free(pa);
		return rc;
	}
	if (!shared) {
		vm_page_ref_set1(pa);
		if (pager->publish)
			pager->publish(backing, off, pa, version);
	}
	/* A page the cache may hand to others is copied before a write. */
	*pte = pa | (leaf_flags(r) & ~PTE_W) | PTE_CLEAN |
	       (pager->lookup ? PTE_COW : 0);
	s->pages++;
	return 0;
}

/* fault_locked, reading file pages as needed (interrupts off). A page the
 * space keeps changing under is given up on after a few reads. */
static int fault_resolve(struct vm_space *s, uintptr_t addr, unsigned err,
			 bool irq_on)
{
	for (int tries = 0; tries < 4; tries++) {
		int rc = fault_locked(s, addr, err);
		if (rc != FAULT_FILL)
			return rc;
		rc = fill_page(s, addr, irq_on);
		if (rc)
			return rc;
	}
	return -EFAULT;
}

int vm_fault(struct vm_space *s, uintptr_t addr, unsigned err)
{
	unsigned long f = irq_save();
	/* A user-mode fault holds nothing: a file read may take interrupts. */
	bool irq_on = (f & 0x200) || (err & PF_USER);
	int rc = fault_resolve(s, addr, err, irq_on);
	irq_restore(f);
	return rc;
}

/* ------------------------------------------------------------ migration */

struct dirty_ctx {
	const struct vm_region *r; /* the region of the last page seen */
	int (*fn)(uintptr_t va, const void *page, void *ctx);
	void *ctx;
	int rc;
};

static void dirty_leaf(struct vm_space *s, uint64_t *pte, uintptr_t va,
		       void *arg)
{
	struct dirty_ctx *d = arg;
	if (d->rc)
		return;
	if (!d->r || va < d->r->start || va >= d->r->end)
		d->r = vm_region_find(s, va);
	if (d->r && counts_dirty(d->r, *pte))
		d->rc = d->fn(va, phys_to_virt(*pte & PTE_ADDR), d->ctx);
}

int vm_for_each_dirty(struct vm_space *s,
		      int (*fn)(uintptr_t va, const void *page, void *ctx),
		      void *ctx)
{
	struct dirty_ctx d = {.fn = fn, .ctx = ctx};
	for_each_leaf(s, 0, VM_USER_TOP, dirty_leaf, &d);
	return d.rc;
}

int vm_page_install(struct vm_space *s, uintptr_t va, const void *page)
{
	if (va % PAGE_SIZE || va >= VM_USER_TOP)
		return -EFAULT;
	uint64_t pa = pmm_alloc();
	if (!pa)
		return -ENOMEM;
	memcpy(phys_to_virt(pa), page, PAGE_SIZE);
	unsigned long f = irq_save();
	struct vm_region *r = vm_region_find(s, va);
	uint64_t *pte = r ? walk(s, va, true) : NULL;
	int rc = !r ? -EFAULT : !pte ? -ENOMEM : (*pte & PTE_P) ? -EEXIST : 0;
	if (!rc) {
		vm_page_ref_set1(pa);
		*pte = pa | leaf_flags(r);
		s->pages++;
		s->dirty_pages++;
		flush(s, va);
	}
	irq_restore(f);
	if (rc)
		pmm_free(pa);
	return rc;
}

/* ------------------------------------------------------------ fork */

struct fork_ctx {
	struct vm_space *child;
	int rc;
};

static void share_leaf(struct vm_space *s, uint64_t *pte, uintptr_t va,
		       void *arg)
{
	struct fork_ctx *c = arg;
	if (c->rc)
		return;
	uint64_t *cpte = walk(c->child, va, true);
	if (!cpte || !vm_page_ref(*pte & PTE_ADDR)) {
		c->rc = -ENOMEM;
		return;
	}
	/* Every shared leaf is marked, so a later mprotect that makes its
	 * region writable still copies it. */
	bool was_writable = *pte & PTE_W;
	*pte = (*pte & ~PTE_W) | PTE_COW;
	if (was_writable)
		flush(s, va);
	*cpte = *pte;
	c->child->pages++;
	if (counts_dirty(vm_region_find(s, va), *pte))
		c->child->dirty_pages++;
}

struct vm_space *vm_space_fork(struct vm_space *parent)
{
	struct vm_space *child = vm_space_create();
	if (!child)
		return NULL;
	struct vm_region **tail = &child->regions;
	for (struct vm_region *r = parent->regions; r; r = r->next) {
		struct vm_region *n = kzalloc(sizeof *n);
		if (!n) {
			vm_space_destroy(child);
			return NULL;
		}
		*n = *r;
		n->next = NULL;
		backing_hold(n);
		*tail = n;
		tail = &n->next;
	}
	/* A failure half-way leaves some parent pages marked copy-on-write
	 * with a single reference: their next write just makes them
	 * writable again. */
	struct fork_ctx c = {child, 0};
	unsigned long f = irq_save();
	for_each_leaf(parent, 0, VM_USER_TOP, share_leaf, &c);
	irq_restore(f);
	if (c.rc) {
		vm_space_destroy(child);
		return NULL;
	}
	return child;
}

/* ------------------------------------------------------------ copying */

/* The kernel address of user byte addr in s, ready for `write` access,
 * faulting it in; NULL when the access is not allowed. Interrupts off;
 * irq_on: the caller had them on (a file page may be read meanwhile). */
static void *user_byte(struct vm_space *s, uintptr_t addr, bool write,
		       bool irq_on)
{
	if (addr >= VM_USER_TOP)
		return NULL;
	struct vm_region *r = vm_region_find(s, addr);
	unsigned err = write ? PF_WRITE : 0;
	if (!r || !access_ok(r, err))
		return NULL;
	uint64_t *pte = walk(s, ALIGN_DOWN(addr, PAGE_SIZE), false);
	if (!pte || !(*pte & PTE_P) || (write && !(*pte & PTE_W))) {
		if (fault_resolve(s, addr,
				  err | (pte && (*pte & PTE_P) ? PF_PRESENT
							       : 0),
				  irq_on))
			return NULL;
		pte = walk(s, ALIGN_DOWN(addr, PAGE_SIZE), false);
	}
	return (char *)phys_to_virt(*pte & PTE_ADDR) + addr % PAGE_SIZE;
}

/* Copy n bytes between kernel buffer k and user address u in s. */
static int copy_user(struct vm_space *s, uintptr_t u, void *k, size_t n,
		     bool to_user)
{
	if (n > VM_USER_TOP || u >= VM_USER_TOP || n > VM_USER_TOP - u)
		return -EFAULT;
	char *kp = k;
	while (n) {
		size_t chunk = MIN(n, PAGE_SIZE - u % PAGE_SIZE);
		unsigned long f = irq_save();
		char *p = user_byte(s, u, to_user, f & 0x200);
		if (p) {
			if (to_user)
				memcpy(p, kp, chunk);
			else
				memcpy(kp, p, chunk);
		}
		irq_restore(f);
		if (!p)
			return -EFAULT;
		u += chunk;
		kp += chunk;
		n -= chunk;
	}
	return 0;
}

int copy_to_user(struct vm_space *s, uintptr_t dst, const void *src, size_t n)
{
	return copy_user(s, dst, (void *)src, n, true);
}

int copy_from_user(struct vm_space *s, void *dst, uintptr_t src, size_t n)
{
	return copy_user(s, src, dst, n, false);
}

long strncpy_from_user(struct vm_space *s, char *dst, uintptr_t src, size_t n)
{
	size_t done = 0;
	while (done < n) {
		if (src + done >= VM_USER_TOP)
			return -EFAULT;
		size_t chunk =
			MIN(n - done, PAGE_SIZE - (src + done) % PAGE_SIZE);
		unsigned long f = irq_save();
		const char *p = user_byte(s, src + done, false, f & 0x200);
		size_t len = 0;
		if (p) {
			while (len < chunk && p[len])
				len++;
			memcpy(dst + done, p, MIN(len + 1, chunk));
		}
		irq_restore(f);
		if (!p)
			return -EFAULT;
		if (len < chunk)
			return (long)(done + len);
		done += chunk;
	}
	return -ENAMETOOLONG;
}
