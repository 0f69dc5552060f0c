/*
 * uspace_test.c — self-tests of user address spaces (run with `selftest`):
 * demand-zero and copy-on-write through the real MMU and page-fault path
 * (the tests switch to a space and touch its user addresses directly),
 * copy_to/from_user across page boundaries and their -EFAULT cases, munmap
 * splitting regions, and every page back to the allocator after destroy.
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
