/*
 * vm_test.c — in-kernel self-tests of the memory subsystem (run with
 * `selftest`): the page allocator on the real memory map, the page tables
 * the CPU is really using (W^X, no identity map, uncached MMIO) and the
 * heap. Explicit tests show the checks firing: `selftest=kfree_double` and
 * `selftest=kmalloc_overflow` corrupt the heap (a panic naming the pointer),
 * `selftest=wx_write_text` and `selftest=wx_exec_data` break W^X (a #PF).
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

static int data_var = 1;
static int bss_var;
static const int rodata_var = 2;
extern char _data_end[];

/* Is [pa, pa + 4096) clear of everything pmm must never hand out? */
static bool page_is_fair(uint64_t pa)
{
	uint64_t ks = virt_to_phys(_kernel_start),
		 ke = virt_to_phys(_kernel_end);
	if (pa < (1ULL << 20) || (pa < ke && pa + PAGE_SIZE > ks))
		return false;
	for (unsigned i = 0; i < pmm_nextra; i++)
		if (pa < pmm_extra[i].end &&
		    pa + PAGE_SIZE > pmm_extra[i].start)
			return false;
	return phys_ranges_overlap(pmm_map.ram, pmm_map.nram, pa,
				   pa + PAGE_SIZE) == PAGE_SIZE;
}

SELFTEST(pmm_alloc_free)
{
	struct mem_stats a, b;
	uint64_t pages[64];
	mem_get_stats(&a);
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = pmm_alloc();
		ST_ASSERT(pages[i] && pages[i] % PAGE_SIZE == 0);
		ST_ASSERT(page_is_fair(pages[i]));
		*(uint64_t *)phys_to_virt(pages[i]) = pages[i] ^ 0x5a5a;
	}
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == a.free_bytes - ARRAY_SIZE(pages) * PAGE_SIZE);
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++) {
		ST_ASSERT(*(uint64_t *)phys_to_virt(pages[i]) ==
			  (pages[i] ^ 0x5a5a));
		for (unsigned j = 0; j < i; j++)
			ST_ASSERT(pages[i] != pages[j]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		pmm_free(pages[i]);
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == a.free_bytes);
	return 0;
}

SELFTEST(pmm_contig)
{
	struct mem_stats a, b;
	mem_get_stats(&a);
	uint64_t pa = pmm_alloc_contig(33);
	ST_ASSERT(pa && page_is_fair(pa) && page_is_fair(pa + 32 * PAGE_SIZE));
	for (unsigned i = 0; i < 33; i++)
		ST_ASSERT(pmm_core_is_allocated(&pmm, pa + i * PAGE_SIZE));
	memset(phys_to_virt(pa), 0xab, 33 * PAGE_SIZE);
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == a.free_bytes - 33 * PAGE_SIZE);
	ST_ASSERT(pmm_alloc_contig(0) == 0);
	ST_ASSERT(pmm_alloc_contig(a.total_bytes / PAGE_SIZE + 1) == 0);
	pmm_free_contig(pa, 33);
	ST_ASSERT(!pmm_core_is_allocated(&pmm, pa));
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == a.free_bytes);
	return 0;
}

/* Take every free page, check each is fair game, give them all back. */
SELFTEST(pmm_exhaust)
{
	struct mem_stats a, b;
	mem_get_stats(&a);
	uint64_t head = 0, n = 0, pa;
	while ((pa = pmm_alloc())) {
		if (!page_is_fair(pa)) {
			printk("# pmm handed out %#lx\n", (unsigned long)pa);
			return 1;
		}
		*(uint64_t *)phys_to_virt(pa) = head;
		head = pa;
		n++;
	}
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == 0);
	ST_ASSERT(n == a.free_bytes / PAGE_SIZE);
	while (head) {
		uint64_t next = *(uint64_t *)phys_to_virt(head);
		pmm_free(head);
		head = next;
	}
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == a.free_bytes);
	return 0;
}

SELFTEST(paging_wx)
{
	unsigned lvl;
	uint64_t nx = vm_has_nx() ? PTE_NX : 0;
	uint64_t e = vm_lookup((uintptr_t)_kernel_start, &lvl);
	ST_ASSERT((e & PTE_P) && !(e & PTE_W) && !(e & PTE_NX) && lvl == 1);
	ST_ASSERT(e & PTE_G);
	e = vm_lookup((uintptr_t)selftest_run, &lvl);
	ST_ASSERT((e & PTE_P) && !(e & PTE_W) && !(e & PTE_NX));
	e = vm_lookup((uintptr_t)&rodata_var, &lvl);
	ST_ASSERT((e & PTE_P) && !(e & PTE_W) && (e & PTE_NX) == nx);
	e = vm_lookup((uintptr_t)&data_var, &lvl);
	ST_ASSERT((e & PTE_P) && (e & PTE_W) && (e & PTE_NX) == nx);
	e = vm_lookup((uintptr_t)&bss_var, &lvl);
	ST_ASSERT((e & PTE_P) && (e & PTE_W) && (e & PTE_NX) == nx);
	e = vm_lookup((uintptr_t)_data_end, &lvl);
	ST_ASSERT(&_data_end[0] == &_kernel_end[0] || !(e & PTE_W));
	/* Nothing below the image, nothing past it. */
	ST_ASSERT(!vm_lookup(KERNEL_VMA, NULL));
	ST_ASSERT(!vm_lookup((uintptr_t)_kernel_start - PAGE_SIZE, NULL));
	ST_ASSERT(!vm_lookup((uintptr_t)_kernel_end, NULL));
	/* No identity map: not page 0, not the kernel's physical address. */
	ST_ASSERT(!vm_lookup(0, NULL) && !vm_lookup(0x10, NULL));
	ST_ASSERT(!vm_lookup(virt_to_phys(_kernel_start), NULL));
	ST_ASSERT(!vm_lookup(1ULL << 20, NULL));
	/* The direct map: kernel frames read-only, other RAM RW, never X. */
	e = vm_lookup((uintptr_t)phys_to_virt(virt_to_phys(_kernel_start)),
		      NULL);
	ST_ASSERT((e & PTE_P) && !(e & PTE_W) && (e & PTE_NX) == nx);
	uint64_t pa = pmm_alloc();
	ST_ASSERT(pa);
	e = vm_lookup((uintptr_t)phys_to_virt(pa), NULL);
	pmm_free(pa);
	ST_ASSERT((e & PTE_P) && (e & PTE_W) && (e & PTE_NX) == nx);
	return 0;
}

SELFTEST(paging_mmio)
{
	/* The IOAPIC: uncached, and really the device (its version register
	 * reads neither 0 nor all ones). */
	volatile uint32_t *io = vm_map_mmio(0xFEC00000, 0x20);
	ST_ASSERT(io == phys_to_virt(0xFEC00000));
	ST_ASSERT(vm_map_mmio(0xFEC00000, 0x20) == io);
	uint64_t e = vm_lookup((uintptr_t)io, NULL);
	ST_ASSERT((e & PTE_P) && (e & PTE_W) && (e & PTE_PCD) && (e & PTE_PWT));
	unsigned long f = irq_save();
	io[0] = 1;
	uint32_t ver = io[4];
	irq_restore(f);
	ST_ASSERT(ver != 0 && ver != 0xFFFFFFFF);
	/* RAM is never remapped uncached; bad ranges are refused. */
	ST_ASSERT(!vm_map_mmio(pmm_map.free[0].start, PAGE_SIZE));
	ST_ASSERT(!vm_map_mmio(0xFEC00000, 0));
	ST_ASSERT(!vm_map_mmio(~0ULL - 10, 100));
	return 0;
}

static bool filled(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

static size_t test_size(unsigned i)
{
	static const size_t sizes[] = {0,    1,	   8,	 15,   16,   17,
				       100,  255,  1000, 2000, 2048, 3000,
				       4064, 4096, 9000, 70000};
	return sizes[i % ARRAY_SIZE(sizes)] + i / ARRAY_SIZE(sizes);
}

static int kmalloc_round(void)
{
	enum { N = 200 };
	static unsigned char *p[N];
	for (unsigned i = 0; i < N; i++) {
		p[i] = kmalloc(test_size(i));
		ST_ASSERT(p[i] && (uintptr_t)p[i] % 16 == 0);
		memset(p[i], (int)i, test_size(i));
	}
	for (unsigned i = 0; i < N; i++) {
		ST_ASSERT(filled(p[i], test_size(i), (unsigned char)i));
		for (unsigned j = 0; j < i; j++)
			ST_ASSERT(p[i] != p[j]);
	}
	for (unsigned i = 0; i < N; i += 2)
		kfree(p[i]);
	for (unsigned i = 1; i < N; i += 2) {
		ST_ASSERT(filled(p[i], test_size(i), (unsigned char)i));
		kfree(p[i]);
	}
	return 0;
}

SELFTEST(kmalloc_sizes)
{
	struct mem_stats a, b;
	ST_ASSERT(kmalloc_round() == 0); /* warms one slab per class */
	mem_get_stats(&a);
	ST_ASSERT(kmalloc_round() == 0);
	mem_get_stats(&b);
	ST_ASSERT(b.free_bytes == a.free_bytes && b.heap_bytes == a.heap_bytes);
	kfree(NULL);
	ST_ASSERT(kmalloc((size_t)-1) == NULL);
	return 0;
}

SELFTEST(kmalloc_large)
{
	struct mem_stats a, b;
	mem_get_stats(&a);
	unsigned char *big = kmalloc(256 << 10);
	ST_ASSERT(big && (uintptr_t)big % 16 == 0);
	mem_get_stats(&b);
	ST_ASSERT(b.heap_bytes >= a.heap_bytes + (256 << 10));
	ST_ASSERT(b.free_bytes <= a.free_bytes - (256 << 10));
	memset(big, 0x3c, 256 << 10);
	ST_ASSERT(filled(big, 256 << 10, 0x3c));
	kfree(big);
	mem_get_stats(&b);
	ST_ASSERT(b.heap_bytes == a.heap_bytes && b.free_bytes == a.free_bytes);
	return 0;
}

SELFTEST(kzalloc_zeroes)
{
	unsigned char *p = kmalloc(200);
	ST_ASSERT(p);
	memset(p, 0xee, 200);
	kfree(p);
	p = kzalloc(200);
	ST_ASSERT(p && filled(p, 200, 0));
	kfree(p);
	return 0;
}

SELFTEST_EXPLICIT(kfree_double)
{
	if (!KDEBUG) {
		printk("# built with KDEBUG=0: the heap does not check\n");
		return 1;
	}
	void *p = kmalloc(40);
	kfree(p);
	kfree(p); /* panics in KDEBUG builds */
	return 1;
}

SELFTEST_EXPLICIT(kmalloc_overflow)
{
	if (!KDEBUG) {
		printk("# built with KDEBUG=0: the heap does not check\n");
		return 1;
	}
	char *p = kmalloc(40);
	p[40] = 'x'; /* one past the end */
	kfree(p); /* panics in KDEBUG builds */
	return 1;
}

/* The hardware, not just the tables: these must end in a #PF block. */
static volatile unsigned char data_ret = 0xC3; /* `ret` */

SELFTEST_EXPLICIT(wx_write_text)
{
	volatile unsigned char *text = (volatile unsigned char *)selftest_run;
	text[0] = text[0]; /* protection violation, write */
	return 1;
}

SELFTEST_EXPLICIT(wx_exec_data)
{
	if (!vm_has_nx()) {
		printk("# this CPU has no NX: data stays executable\n");
		return 1;
	}
	((void (*)(void))(uintptr_t)&data_ret)(); /* instruction fetch */
	return 1;
}
