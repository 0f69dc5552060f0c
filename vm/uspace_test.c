/*
 * uspace_test.c — self-tests of user address spaces (run with `selftest`):
 * demand-zero and copy-on-write through the real MMU and page-fault path
 * (the tests switch to a space and touch its user addresses directly),
 * copy_to/from_user across page boundaries and their -EFAULT cases, munmap
 * splitting regions, mprotect splitting and merging regions and changing
 * present leaves, mremap in place and moving frames, MADV_DONTNEED, a
 * file-backed region read through a pager (clean until written, its
 * backing references kept right across splits and fork), and every page
 * back to the allocator after destroy.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

#define UBASE 0x0000000010000000UL
#define PG PAGE_SIZE

/* Free pages plus those the heap holds: unchanged by kmalloc caching. */
static uint64_t pages_outside_users(void)
{
	struct mem_stats st;
	mem_get_stats(&st);
	return (st.free_bytes + st.heap_bytes) / PAGE_SIZE;
}

/* The frame mapping va in s (0 when absent), read by walking its tables. */
static uint64_t frame_of(struct vm_space *s, uintptr_t va)
{
	uint64_t *t = s->pml4;
	for (unsigned l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (PAGE_SHIFT + 9 * (l - 1))) & 511];
		if (!(e & PTE_P))
			return 0;
		if (l == 1)
			return e & PTE_ADDR;
		t = phys_to_virt(e & PTE_ADDR);
	}
	return 0;
}

SELFTEST(uspace_demand_zero)
{
	uint64_t before = pages_outside_users();
	struct vm_space *s = vm_space_create();
	ST_ASSERT(s);
	ST_ASSERT(vm_region_add(s, UBASE, 16 * PG, VM_PROT_READ | VM_PROT_WRITE,
				VM_REGION_ANON, NULL, 0) == 0);
	vm_space_switch(s);
	ST_ASSERT(vm_space_current() == s);
	volatile uint64_t *p = (volatile uint64_t *)UBASE;
	ST_ASSERT(p[0] == 0); /* read fault: a zeroed page */
	p[0] = 0x1122334455667788ULL;
	p[3 * PG / 8 + 5] = 42; /* write fault on page 3 */
	ST_ASSERT(p[0] == 0x1122334455667788ULL && p[3 * PG / 8 + 5] == 42);
	ST_ASSERT(p[3 * PG / 8] == 0);
	ST_ASSERT(s->pages == 2 && s->dirty_pages == 2);
	ST_ASSERT(vm_page_refs(frame_of(s, UBASE)) == 1);
	ST_ASSERT(vm_fault(s, UBASE + 16 * PG, 2) == -EFAULT);
	ST_ASSERT(vm_fault(s, UBASE - 1, 0) == -EFAULT);
	vm_space_switch(NULL);
	ST_ASSERT(vm_space_current() == NULL);
	ST_ASSERT(vm_lookup(UBASE, NULL) == 0); /* kernel tables: unmapped */
	vm_space_destroy(s);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}

SELFTEST(uspace_fork_cow)
{
	uint64_t before = pages_outside_users();
	struct vm_space *par = vm_space_create();
	ST_ASSERT(par);
	ST_ASSERT(vm_region_add(par, UBASE, 4 * PG,
				VM_PROT_READ | VM_PROT_WRITE, VM_REGION_ANON,
				NULL, 0) == 0);
	vm_space_switch(par);
	volatile uint32_t *p = (volatile uint32_t *)UBASE;
	p[0] = 0xAAAA0000;
	p[PG / 4] = 0xAAAA0001;
	uint64_t f0 = frame_of(par, UBASE), f1 = frame_of(par, UBASE + PG);

	struct vm_space *ch = vm_space_fork(par);
	ST_ASSERT(ch);
	ST_ASSERT(ch->pages == 2 && ch->dirty_pages == 2);
	ST_ASSERT(frame_of(ch, UBASE) == f0 && vm_page_refs(f0) == 2);
	ST_ASSERT(vm_page_refs(f1) == 2);
	ST_ASSERT(p[0] == 0xAAAA0000); /* parent still reads its page */

	vm_space_switch(ch);
	ST_ASSERT(p[0] == 0xAAAA0000 && p[PG / 4] == 0xAAAA0001);
	p[0] = 0xBBBB0000; /* COW fault under the real MMU */
	ST_ASSERT(p[0] == 0xBBBB0000);
	ST_ASSERT(frame_of(ch, UBASE) != f0);
	ST_ASSERT(vm_page_refs(f0) == 1);
	p[2 * PG / 4] = 7; /* demand-zero in the child only */
	ST_ASSERT(ch->pages == 3 && par->pages == 2);

	vm_space_switch(par);
	ST_ASSERT(p[0] == 0xAAAA0000); /* parent unchanged */
	ST_ASSERT(p[2 * PG / 4] == 0);
	p[0] = 0xAAAA1111; /* sole owner now: made writable in place */
	ST_ASSERT(frame_of(par, UBASE) == f0);
	p[PG / 4] = 0xAAAA2222; /* still shared: copied */
	ST_ASSERT(frame_of(par, UBASE + PG) != f1 && vm_page_refs(f1) == 1);

	vm_space_switch(ch);
	ST_ASSERT(p[0] == 0xBBBB0000 && p[PG / 4] == 0xAAAA0001);
	vm_space_destroy(ch); /* current: switches back to the kernel */
	ST_ASSERT(vm_space_current() == NULL);
	ST_ASSERT(vm_page_refs(frame_of(par, UBASE)) == 1);
	vm_space_destroy(par);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}

SELFTEST(uspace_copy_user)
{
	uint64_t before = pages_outside_users();
	struct vm_space *s = vm_space_create();
	ST_ASSERT(s);
	uintptr_t ro = UBASE + 8 * PG;
	ST_ASSERT(vm_region_add(s, UBASE, 2 * PG, VM_PROT_READ | VM_PROT_WRITE,
				VM_REGION_ANON, NULL, 0) == 0);
	ST_ASSERT(vm_region_add(s, ro, PG, VM_PROT_READ, VM_REGION_ANON, NULL,
				0) == 0);

	/* s is not the current space: everything goes through its tables. */
	static const char msg[] = "across-a-page";
	char buf[32];
	ST_ASSERT(copy_to_user(s, UBASE + PG - 6, msg, sizeof msg) == 0);
	ST_ASSERT(s->pages == 2);
	memset(buf, 0, sizeof buf);
	ST_ASSERT(copy_from_user(s, buf, UBASE + PG - 6, sizeof msg) == 0);
	ST_ASSERT(memcmp(buf, msg, sizeof msg) == 0);
	ST_ASSERT(strncpy_from_user(s, buf, UBASE + PG - 6, sizeof buf) ==
		  (long)strlen(msg));
	ST_ASSERT(strcmp(buf, msg) == 0);
	ST_ASSERT(strncpy_from_user(s, buf, UBASE + PG - 6, 4) ==
		  -ENAMETOOLONG);

	/* Bad addresses: -EFAULT, never a kernel fault. */
	ST_ASSERT(copy_to_user(s, UBASE + 2 * PG, msg, 1) == -EFAULT);
	ST_ASSERT(copy_to_user(s, UBASE + 2 * PG - 2, msg, 4) == -EFAULT);
	ST_ASSERT(copy_from_user(s, buf, 0, 1) == -EFAULT);
	ST_ASSERT(copy_from_user(s, buf, (uintptr_t)_kernel_start, 8) ==
		  -EFAULT);
	ST_ASSERT(copy_to_user(s, DIRECT_MAP, msg, 1) == -EFAULT);
	ST_ASSERT(copy_from_user(s, buf, VM_USER_TOP - 4, 8) == -EFAULT);
	/* The failed copy above left "ac" at the end of the region. */
	ST_ASSERT(strncpy_from_user(s, buf, UBASE + 2 * PG - 2, 8) == -EFAULT);
	ST_ASSERT(copy_to_user(s, ro, msg, 1) == -EFAULT);
	ST_ASSERT(vm_fault(s, ro, 2) == -EFAULT);
	ST_ASSERT(vm_fault(s, ro, 16) == -EFAULT); /* not executable */
	ST_ASSERT(copy_from_user(s, buf, ro, 8) == 0); /* readable zeroes */
	ST_ASSERT(buf[0] == 0 && buf[7] == 0 && s->pages == 3);

	/* From another space as current: still s's pages. */
	struct vm_space *other = vm_space_create();
	ST_ASSERT(other);
	vm_space_switch(other);
	ST_ASSERT(copy_from_user(s, buf, UBASE + PG - 6, sizeof msg) == 0);
	ST_ASSERT(memcmp(buf, msg, sizeof msg) == 0);
	ST_ASSERT(other->pages == 0);
	vm_space_switch(NULL);
	vm_space_destroy(other);
	vm_space_destroy(s);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}

SELFTEST(uspace_regions)
{
	uint64_t before = pages_outside_users();
	struct vm_space *s = vm_space_create();
	ST_ASSERT(s);
	unsigned rw = VM_PROT_READ | VM_PROT_WRITE;
	int token;
	ST_ASSERT(vm_region_add(s, UBASE, 8 * PG, rw, VM_REGION_FILE, &token,
				0x10000) == 0);
	ST_ASSERT(vm_region_add(s, UBASE + 8 * PG, 8 * PG, rw, VM_REGION_ANON,
				NULL, 0) == 0);
	/* Rejected: overlap, unaligned, empty, kernel half, crossing the
	 * top of the user half. */
	ST_ASSERT(vm_region_add(s, UBASE + 4 * PG, 8 * PG, rw, VM_REGION_ANON,
				NULL, 0) == -EINVAL);
	ST_ASSERT(vm_region_add(s, UBASE - PG, 2 * PG, rw, VM_REGION_ANON, NULL,
				0) == -EINVAL);
	ST_ASSERT(vm_region_add(s, UBASE + 100, PG, rw, VM_REGION_ANON, NULL,
				0) == -EINVAL);
	ST_ASSERT(vm_region_add(s, UBASE + 64 * PG, 0, rw, VM_REGION_ANON, NULL,
				0) == -EINVAL);
	ST_ASSERT(vm_region_add(s, DIRECT_MAP, PG, rw, VM_REGION_ANON, NULL,
				0) == -EINVAL);
	ST_ASSERT(vm_region_add(s, VM_USER_TOP - PG, 2 * PG, rw, VM_REGION_ANON,
				NULL, 0) == -EINVAL);
	ST_ASSERT(vm_region_add(s, VM_USER_TOP - PG, PG, rw, VM_REGION_ANON,
				NULL, 0) == 0);

	/* A file-backed page has no pager yet. */
	ST_ASSERT(vm_fault(s, UBASE, 2) == -ENOSYS);
	uint64_t one = 1;
	for (unsigned i = 8; i < 16; i++)
		ST_ASSERT(copy_to_user(s, UBASE + i * PG, &one, 8) == 0);
	ST_ASSERT(s->pages == 8 && s->dirty_pages == 8);

	/* munmap the middle of each region: both split. */
	ST_ASSERT(vm_region_remove(s, UBASE + 3 * PG, 2 * PG) == 0);
	ST_ASSERT(vm_region_remove(s, UBASE + 10 * PG, 3 * PG) == 0);
	ST_ASSERT(s->pages == 5 && s->dirty_pages == 5);
	struct vm_region *a = vm_region_find(s, UBASE);
	struct vm_region *b = vm_region_find(s, UBASE + 5 * PG);
	ST_ASSERT(a && a->start == UBASE && a->end == UBASE + 3 * PG);
	ST_ASSERT(b && b->start == UBASE + 5 * PG && b->end == UBASE + 8 * PG);
	ST_ASSERT(b->offset == 0x10000 + 5 * PG && b->backing == &token);
	ST_ASSERT(!vm_region_find(s, UBASE + 3 * PG));
	ST_ASSERT(!vm_region_find(s, UBASE + 12 * PG));
	ST_ASSERT(vm_region_find(s, UBASE + 13 * PG)->start == UBASE + 13 * PG);
	ST_ASSERT(copy_to_user(s, UBASE + 11 * PG, &one, 8) == -EFAULT);
	ST_ASSERT(frame_of(s, UBASE + 11 * PG) == 0);
	ST_ASSERT(vm_region_remove(s, UBASE + 1, PG) == -EINVAL);

	/* The hole takes a new region; a range spanning several regions
	 * and holes goes at once. */
	ST_ASSERT(vm_region_add(s, UBASE + 3 * PG, 2 * PG, rw, VM_REGION_ANON,
				NULL, 0) == 0);
	ST_ASSERT(vm_region_remove(s, UBASE + 2 * PG, 12 * PG) == 0);
	ST_ASSERT(s->pages == 2);
	a = vm_region_find(s, UBASE);
	ST_ASSERT(a && a->end == UBASE + 2 * PG && a->next &&
		  a->next->start == UBASE + 14 * PG);
	vm_space_destroy(s);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}

/* The leaf entry for va in s (0 when absent). */
static uint64_t pte_of(struct vm_space *s, uintptr_t va)
{
	uint64_t *t = s->pml4;
	for (unsigned l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (PAGE_SHIFT + 9 * (l - 1))) & 511];
		if (!(e & PTE_P))
			return 0;
		if (l == 1)
			return e;
		t = phys_to_virt(e & PTE_ADDR);
	}
	return 0;
}

static unsigned count_regions(struct vm_space *s)
{
	unsigned n = 0;
	for (struct vm_region *r = s->regions; r; r = r->next)
		n++;
	return n;
}

SELFTEST(uspace_protect)
{
	uint64_t before = pages_outside_users();
	struct vm_space *s = vm_space_create();
	ST_ASSERT(s);
	unsigned rw = VM_PROT_READ | VM_PROT_WRITE;
	ST_ASSERT(vm_region_add(s, UBASE, 8 * PG, rw, VM_REGION_ANON, NULL,
				0) == 0);
	uint64_t one = 1;
	for (unsigned i = 0; i < 4; i++)
		ST_ASSERT(copy_to_user(s, UBASE + i * PG, &one, 8) == 0);
	ST_ASSERT(pte_of(s, UBASE + 2 * PG) & PTE_W);

	/* Read-only in the middle: three regions, present leaves follow. */
	ST_ASSERT(vm_region_protect(s, UBASE + 2 * PG, 2 * PG, VM_PROT_READ) ==
		  0);
	ST_ASSERT(count_regions(s) == 3);
	struct vm_region *m = vm_region_find(s, UBASE + 2 * PG);
	ST_ASSERT(m->start == UBASE + 2 * PG && m->end == UBASE + 4 * PG &&
		  m->prot == VM_PROT_READ);
	ST_ASSERT(!(pte_of(s, UBASE + 2 * PG) & PTE_W));
	ST_ASSERT(!(pte_of(s, UBASE + 3 * PG) & PTE_W));
	ST_ASSERT(pte_of(s, UBASE + PG) & PTE_W);
	ST_ASSERT(vm_fault(s, UBASE + 2 * PG, 2 | 1) == -EFAULT);
	ST_ASSERT(copy_to_user(s, UBASE + 3 * PG, &one, 8) == -EFAULT);
	uint64_t v = 0;
	ST_ASSERT(copy_from_user(s, &v, UBASE + 3 * PG, 8) == 0 && v == 1);

	/* PROT_NONE: the page stays but is the kernel's; no user access. */
	ST_ASSERT(vm_region_protect(s, UBASE + 3 * PG, PG, VM_PROT_NONE) == 0);
	ST_ASSERT(count_regions(s) == 4);
	uint64_t e = pte_of(s, UBASE + 3 * PG);
	ST_ASSERT((e & PTE_P) && !(e & PTE_U) && !(e & PTE_W));
	ST_ASSERT(vm_fault(s, UBASE + 3 * PG, 1 | 4) == -EFAULT);
	ST_ASSERT(copy_from_user(s, &v, UBASE + 3 * PG, 8) == -EFAULT);

	/* Back to read-write everywhere: one region again, data kept. */
	ST_ASSERT(vm_region_protect(s, UBASE, 8 * PG, rw) == 0);
	ST_ASSERT(count_regions(s) == 1);
	ST_ASSERT(pte_of(s, UBASE + 3 * PG) & PTE_U);
	ST_ASSERT(pte_of(s, UBASE + 3 * PG) & PTE_W);
	ST_ASSERT(copy_from_user(s, &v, UBASE + 3 * PG, 8) == 0 && v == 1);
	ST_ASSERT(s->pages == 4 && s->dirty_pages == 4);

	/* Errors change nothing. */
	ST_ASSERT(vm_region_protect(s, UBASE + 6 * PG, 4 * PG, VM_PROT_READ) ==
		  -ENOMEM);
	ST_ASSERT(vm_region_protect(s, UBASE + 1, PG, VM_PROT_READ) == -EINVAL);
	ST_ASSERT(vm_region_protect(s, UBASE, PG, 8) == -EINVAL);
	ST_ASSERT(count_regions(s) == 1 &&
		  vm_region_find(s, UBASE)->prot == rw);

	/* A page shared by fork stays copy-on-write when made writable. */
	ST_ASSERT(vm_region_protect(s, UBASE, PG, VM_PROT_READ) == 0);
	struct vm_space *ch = vm_space_fork(s);
	ST_ASSERT(ch);
	ST_ASSERT(vm_region_protect(s, UBASE, PG, rw) == 0);
	ST_ASSERT(!(pte_of(s, UBASE) & PTE_W));
	ST_ASSERT(copy_to_user(s, UBASE, &v, 8) == 0);
	ST_ASSERT(frame_of(s, UBASE) != frame_of(ch, UBASE));
	vm_space_destroy(ch);
	vm_space_destroy(s);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}

SELFTEST(uspace_remap)
{
	uint64_t before = pages_outside_users();
	struct vm_space *s = vm_space_create();
	ST_ASSERT(s);
	unsigned rw = VM_PROT_READ | VM_PROT_WRITE;
	ST_ASSERT(vm_region_add(s, UBASE, 4 * PG, rw, VM_REGION_ANON, NULL,
				0) == 0);
	uint64_t f[4];
	for (uint64_t i = 0; i < 4; i++) {
		ST_ASSERT(copy_to_user(s, UBASE + i * PG, &i, 8) == 0);
		f[i] = frame_of(s, UBASE + i * PG);
	}

	/* In place: grow into free space, not into a neighbour. */
	ST_ASSERT(vm_region_resize(s, UBASE, 4 * PG, 6 * PG) == 0);
	ST_ASSERT(vm_region_find(s, UBASE)->end == UBASE + 6 * PG);
	ST_ASSERT(vm_region_add(s, UBASE + 8 * PG, PG, rw, VM_REGION_ANON, NULL,
				0) == 0);
	ST_ASSERT(vm_region_resize(s, UBASE, 6 * PG, 9 * PG) == -ENOMEM);
	ST_ASSERT(vm_region_resize(s, UBASE + PG, 2 * PG, 3 * PG) == -ENOMEM);
	ST_ASSERT(vm_region_resize(s, UBASE + 7 * PG, PG, 2 * PG) == -EFAULT);
	ST_ASSERT(vm_region_resize(s, UBASE, 6 * PG, 5 * PG) == 0);
	ST_ASSERT(vm_region_find(s, UBASE)->end == UBASE + 5 * PG);

	/* Moving: the frames go along, the old range is gone. */
	uintptr_t to = UBASE + 64 * PG;
	ST_ASSERT(vm_region_move(s, UBASE, 5 * PG, UBASE + 8 * PG, 5 * PG,
				 false) == -EINVAL); /* occupied */
	ST_ASSERT(vm_region_move(s, UBASE, 5 * PG, to, 8 * PG, false) == 0);
	ST_ASSERT(!vm_region_find(s, UBASE));
	struct vm_region *r = vm_region_find(s, to);
	ST_ASSERT(r && r->start == to && r->end == to + 8 * PG);
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t v = 99;
		ST_ASSERT(frame_of(s, to + i * PG) == f[i]);
		ST_ASSERT(copy_from_user(s, &v, to + i * PG, 8) == 0 && v == i);
	}
	ST_ASSERT(s->pages == 4 && s->dirty_pages == 4);

	/* Moving a shrinking middle part drops the rest of it. */
	uintptr_t to2 = UBASE + 128 * PG;
	ST_ASSERT(vm_region_move(s, to + PG, 2 * PG, to2, PG, false) == 0);
	ST_ASSERT(frame_of(s, to2) == f[1]);
	ST_ASSERT(!vm_region_find(s, to + PG) &&
		  !vm_region_find(s, to + 2 * PG));
	ST_ASSERT(vm_region_find(s, to)->end == to + PG);
	ST_ASSERT(vm_region_find(s, to + 3 * PG)->start == to + 3 * PG);
	ST_ASSERT(s->pages == 3);

	/* DONTNEED: the page goes, the next read sees zeroes. */
	ST_ASSERT(vm_range_discard(s, to + 3 * PG, PG) == 0);
	ST_ASSERT(s->pages == 2 && frame_of(s, to + 3 * PG) == 0);
	uint64_t v = 99;
	ST_ASSERT(copy_from_user(s, &v, to + 3 * PG, 8) == 0 && v == 0);
	ST_ASSERT(vm_range_discard(s, to, 2 * PG) == -ENOMEM);
	ST_ASSERT(vm_range_mapped(s, to + 3 * PG, 5 * PG));
	ST_ASSERT(!vm_range_mapped(s, to, 2 * PG));
	vm_space_destroy(s);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}

/* A backing object for the pager test: 3 pages and 100 bytes. */
#define FAKE_SIZE (3 * PG + 100)
static uint8_t fake_file[FAKE_SIZE];
static int fake_holds, fake_fills;

static int fake_fill(void *backing, uint64_t off, void *page)
{
	uint8_t *p = page;
	fake_fills++;
	for (size_t i = 0; i < PG; i++)
		p[i] = off + i < FAKE_SIZE ? ((uint8_t *)backing)[off + i] : 0;
	return 0;
}

static void fake_hold(void *backing)
{
	fake_holds++;
}

static void fake_release(void *backing)
{
	fake_holds--;
}

static const struct vm_pager fake_pager = {
	.fill = fake_fill,
	.hold = fake_hold,
	.release = fake_release,
};

SELFTEST(uspace_file_pager)
{
	uint64_t before = pages_outside_users();
	for (size_t i = 0; i < FAKE_SIZE; i++)
		fake_file[i] = (uint8_t)(i * 7 + i / PG);
	fake_holds = fake_fills = 0;
	struct vm_space *s = vm_space_create();
	ST_ASSERT(s);
	unsigned rw = VM_PROT_READ | VM_PROT_WRITE;
	/* File pages 1..4 (the last wholly past the end). */
	ST_ASSERT(vm_region_add_file(s, UBASE, 4 * PG, rw, &fake_pager,
				     fake_file, PG) == 0);
	ST_ASSERT(fake_holds == 1);
	ST_ASSERT(vm_region_add_file(s, UBASE + 8 * PG, PG, rw, NULL, fake_file,
				     0) == -EINVAL);

	/* Reading maps a clean, read-only page with the file's bytes. */
	uint8_t buf[128];
	ST_ASSERT(copy_from_user(s, buf, UBASE + 10, sizeof buf) == 0);
	ST_ASSERT(memcmp(buf, fake_file + PG + 10, sizeof buf) == 0);
	ST_ASSERT(s->pages == 1 && s->dirty_pages == 0 && fake_fills == 1);
	ST_ASSERT(!(pte_of(s, UBASE) & PTE_W));
	/* Past the end: zeroes after the file's last byte. */
	ST_ASSERT(copy_from_user(s, buf, UBASE + 2 * PG + 90, 20) == 0);
	ST_ASSERT(memcmp(buf, fake_file + 3 * PG + 90, 10) == 0);
	ST_ASSERT(buf[10] == 0 && buf[19] == 0);
	ST_ASSERT(copy_from_user(s, buf, UBASE + 3 * PG, 8) == 0 &&
		  buf[0] == 0 && buf[7] == 0);

	/* The real MMU path: a read by the kernel through the tables. */
	vm_space_switch(s);
	ST_ASSERT(*(volatile uint8_t *)(UBASE + PG + 5) ==
		  fake_file[2 * PG + 5]);
	vm_space_switch(NULL);
	ST_ASSERT(s->pages == 4 && s->dirty_pages == 0);

	/* Writing makes the page dirty; the backing never changes. */
	uint8_t x = 0xEE;
	uint8_t orig = fake_file[PG + 3];
	ST_ASSERT(copy_to_user(s, UBASE + 3, &x, 1) == 0);
	ST_ASSERT(s->dirty_pages == 1 && (pte_of(s, UBASE) & PTE_W));
	ST_ASSERT(fake_file[PG + 3] == orig);
	ST_ASSERT(copy_from_user(s, buf, UBASE, 8) == 0 && buf[3] == 0xEE);

	/* A split keeps a reference per region; fork shares clean pages. */
	ST_ASSERT(vm_region_remove(s, UBASE + PG, PG) == 0);
	ST_ASSERT(fake_holds == 2 && s->pages == 3 && s->dirty_pages == 1);
	struct vm_space *ch = vm_space_fork(s);
	ST_ASSERT(ch && fake_holds == 4);
	ST_ASSERT(ch->pages == 3 && ch->dirty_pages == 1);
	ST_ASSERT(frame_of(ch, UBASE + 2 * PG) == frame_of(s, UBASE + 2 * PG));
	ST_ASSERT(copy_to_user(ch, UBASE + 2 * PG, &x, 1) == 0);
	ST_ASSERT(ch->dirty_pages == 2 && s->dirty_pages == 1);
	ST_ASSERT(frame_of(ch, UBASE + 2 * PG) != frame_of(s, UBASE + 2 * PG));
	ST_ASSERT(copy_from_user(s, buf, UBASE + 2 * PG, 1) == 0 &&
		  buf[0] == fake_file[3 * PG]);
	vm_space_destroy(ch);
	ST_ASSERT(fake_holds == 2);

	/* DONTNEED on a written file page reads the file again. */
	ST_ASSERT(vm_range_discard(s, UBASE, PG) == 0);
	ST_ASSERT(copy_from_user(s, buf, UBASE, 8) == 0 && buf[3] == orig);
	ST_ASSERT(s->dirty_pages == 0);
	/* Moving keeps the backing and the offset. */
	ST_ASSERT(vm_region_move(s, UBASE + 2 * PG, 2 * PG, UBASE + 32 * PG,
				 2 * PG, false) == 0);
	ST_ASSERT(fake_holds == 2);
	struct vm_region *r = vm_region_find(s, UBASE + 32 * PG);
	ST_ASSERT(r && r->offset == 3 * PG && r->backing == fake_file);
	vm_space_destroy(s);
	ST_ASSERT(fake_holds == 0);
	ST_ASSERT(pages_outside_users() == before);
	return 0;
}
