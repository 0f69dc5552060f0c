/*
 * paging.c — the kernel's own page tables, built once by vm_init to replace
 * the boot tables of boot/entry.asm.
 *
 * Interface (vm.h): vm_init, vm_map_mmio, vm_map_firmware; vm_lookup for
 * self-tests (vm_impl.h).
 *
 * What is mapped, and nothing else:
 *   KERNEL_VMA + 2 MiB  the image, 4 KiB pages, by section (W^X):
 *                       text RX, rodata R+NX, data/bss RW+NX, ksyms R+NX
 *   DIRECT_MAP + pa     usable RAM, the boot modules and the boot
 *                       information, RW+NX, 2 MiB pages where a whole
 *                       aligned block is covered; the kernel image's own
 *                       frames there are R+NX, so there is no writable
 *                       alias of text and no executable alias of data
 *   DIRECT_MAP + pa     device memory on request (vm_map_mmio), uncached
 * There is no identity map: address 0 and every low address fault.
 * The direct map stays at the address the boot tables used, so pointers
 * taken before vm_init (the page bitmap) remain valid. Kernel pages are
 * global (CR4.PGE). NX is used only when the CPU has it (arch_has_nx).
 *
 * Locking: vm_init runs once before interrupts are enabled; the mapping
 * calls run with interrupts off (irq_save), which protects the tables.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"
#include "vm/vm_impl.h"

#define SIZE_2M (2ULL << 20)

extern char _data_end[];

static uint64_t *kpml4;
static uint64_t kpml4_pa;
static uint64_t nx; /* PTE_NX when the CPU has it, else 0 */
static bool vm_ready;
static unsigned long n4k, n2m;

static uint64_t *table_of(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR);
}

static unsigned index_at(uintptr_t va, unsigned level)
{
	return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

static uint64_t new_table(void)
{
	uint64_t pa = pmm_alloc();
	if (!pa)
		panic("vm: out of memory for page tables");
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

/* The entry for va at `leaf` level (1 = 4 KiB, 2 = 2 MiB), making the
 * tables above it. Intermediate entries allow everything; leaves decide. */
static uint64_t *walk_create(uintptr_t va, unsigned leaf)
{
	uint64_t *t = kpml4;
	for (unsigned level = 4; level > leaf; level--) {
		uint64_t *e = &t[index_at(va, level)];
		if (!(*e & PTE_P))
			*e = new_table() | PTE_P | PTE_W;
		else if (*e & PTE_PS)
			panic("vm: %#lx is already inside a large page",
			      (unsigned long)va);
		t = table_of(*e);
	}
	return &t[index_at(va, leaf)];
}

uint64_t vm_kernel_root(void)
{
	KASSERT(vm_ready);
	return kpml4_pa;
}

uint64_t vm_lookup(uintptr_t va, unsigned *level)
{
	uint64_t *t = vm_ready ? kpml4 : phys_to_virt(arch_pt_root());
	for (unsigned l = 4; l >= 1; l--) {
		uint64_t e = t[index_at(va, l)];
		if (!(e & PTE_P))
			return 0;
		if (l == 1 || (e & PTE_PS)) {
			if (level)
				*level = l;
			return e;
		}
		t = table_of(e);
	}
	return 0;
}

uint64_t vm_phys_limit(void)
{
	return MIN(VM_PHYS_MAX, 1ULL << arch_phys_addr_bits());
}

bool vm_has_nx(void)
{
	return nx != 0;
}

static void map_range(uintptr_t va, uint64_t pa, uint64_t len, uint64_t flags,
		      bool large)
{
	while (len) {
		if (large && va % SIZE_2M == 0 && pa % SIZE_2M == 0 &&
		    len >= SIZE_2M) {
			*walk_create(va, 2) = pa | flags | PTE_PS;
			n2m++;
			va += SIZE_2M;
			pa += SIZE_2M;
			len -= SIZE_2M;
		} else {
			*walk_create(va, 1) = pa | flags;
			n4k++;
			va += PAGE_SIZE;
			pa += PAGE_SIZE;
			len -= PAGE_SIZE;
		}
	}
}

static void map_kernel_part(const char *start, const char *end, uint64_t flags)
{
	if (end > start)
		map_range((uintptr_t)start, virt_to_phys(start),
			  (uint64_t)(end - start), flags, false);
}

/* Direct-map [s, e), keeping the kernel image's frames read-only. */
static void map_direct(uint64_t s, uint64_t e, uint64_t ks, uint64_t ke)
{
	uint64_t rw = PTE_P | PTE_W | PTE_G | nx, ro = PTE_P | PTE_G | nx;
	uint64_t a = MIN(e, ks), b = MAX(s, ke);
	if (s < a)
		map_range(DIRECT_MAP + s, s, a - s, rw, true);
	if (MAX(s, ks) < MIN(e, ke))
		map_range(DIRECT_MAP + MAX(s, ks), MAX(s, ks),
			  MIN(e, ke) - MAX(s, ks), ro, true);
	if (b < e)
		map_range(DIRECT_MAP + b, b, e - b, rw, true);
}

/* RAM plus the extra ranges, sorted and merged. */
static unsigned direct_ranges(struct phys_range *out, unsigned cap)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pmm_map.nram && n < cap; i++)
		out[n++] = pmm_map.ram[i];
	for (unsigned i = 0; i < pmm_nextra && n < cap; i++)
		out[n++] = pmm_extra[i];
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && out[j - 1].start > out[j].start;
		     j--) {
			struct phys_range t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (k && out[i].start <= out[k - 1].end)
			out[k - 1].end = MAX(out[k - 1].end, out[i].end);
		else
			out[k++] = out[i];
	}
	return k;
}

void vm_init(void)
{
	static struct phys_range dm[PHYSMAP_MAX + BOOTINFO_MAX_MODS + 1];
	uint64_t ks = virt_to_phys(_kernel_start);
	uint64_t ke = virt_to_phys(_kernel_end);

	nx = arch_has_nx() ? PTE_NX : 0;
	kpml4_pa = new_table();
	kpml4 = phys_to_virt(kpml4_pa);

	map_kernel_part(_kernel_start, _text_end, PTE_P | PTE_G);
	map_kernel_part(_text_end, _rodata_end, PTE_P | PTE_G | nx);
	map_kernel_part(_rodata_end, _data_end, PTE_P | PTE_W | PTE_G | nx);
	map_kernel_part(_data_end, _kernel_end, PTE_P | PTE_G | nx);
	unsigned long kernel_pages = n4k;

	unsigned ndm = direct_ranges(dm, ARRAY_SIZE(dm));
	uint64_t dm_bytes = 0;
	for (unsigned i = 0; i < ndm; i++) {
		map_direct(dm[i].start, dm[i].end, ks, ke);
		dm_bytes += dm[i].end - dm[i].start;
	}

	/* The new tables hold only global entries; the boot tables' ones
	 * are not global, so reloading CR3 drops them. Toggling PGE flushes
	 * any global leftovers too. */
	arch_pt_switch(kpml4_pa);
	vm_ready = true;

	unsigned long f = irq_save();
	pmm.limit = UINT64_MAX;
	irq_restore(f);

	printk("shoal: paging: kernel W^X (text %lu KiB RX, rodata %lu KiB R, data %lu KiB RW%s), direct map %lu MiB in %u ranges (%lu x 2 MiB, %lu x 4 KiB pages), no identity map\n",
	       (unsigned long)(_text_end - _kernel_start) >> 10,
	       (unsigned long)(_rodata_end - _text_end) >> 10,
	       (unsigned long)(_data_end - _rodata_end) >> 10,
	       nx ? ", NX" : ", no NX: data executable",
	       (unsigned long)(dm_bytes >> 20), ndm, n2m, n4k - kernel_pages);
}

/* Map [pa, pa + len) at DIRECT_MAP + pa with `flags` where nothing is
 * mapped yet; pages already mapped must agree on caching unless allow_ram
 * (firmware tables may share pages with RAM). `what` names the caller. */
static void *map_device(uint64_t pa, size_t len, uint64_t flags,
			const char *what, bool allow_ram)
{
	if (!vm_ready)
		panic("%s(%#lx) called before vm_init", what,
		      (unsigned long)pa);
	if (len == 0 || pa + len < pa || pa + len > vm_phys_limit()) {
		printk(KERN_ERR "shoal: %s(%#lx, %lu): bad range\n", what,
		       (unsigned long)pa, (unsigned long)len);
		return NULL;
	}
	uint64_t s = ALIGN_DOWN(pa, PAGE_SIZE);
	uint64_t e = ALIGN_UP(pa + len, PAGE_SIZE);
	if (!allow_ram &&
	    phys_ranges_overlap(pmm_map.ram, pmm_map.nram, s, e)) {
		printk(KERN_ERR "shoal: %s(%#lx, %lu): that is RAM; refused\n",
		       what, (unsigned long)pa, (unsigned long)len);
		return NULL;
	}
	/* Check every page, then map: a refusal leaves nothing behind. */
	unsigned long f = irq_save();
	for (uint64_t a = s; a < e; a += PAGE_SIZE) {
		uint64_t old = vm_lookup(DIRECT_MAP + a, NULL);
		if (old && !allow_ram && (old & PTE_PCD) != (flags & PTE_PCD)) {
			irq_restore(f);
			printk(KERN_ERR
			       "shoal: %s(%#lx, %lu): %#lx is already mapped with other caching; refused\n",
			       what, (unsigned long)pa, (unsigned long)len,
			       (unsigned long)a);
			return NULL;
		}
	}
	for (uint64_t a = s; a < e; a += PAGE_SIZE) {
		uintptr_t va = DIRECT_MAP + a;
		if (vm_lookup(va, NULL))
			continue;
		*walk_create(va, 1) = a | flags;
		arch_tlb_flush_page(va);
	}
	irq_restore(f);
	return phys_to_virt(pa);
}

void *vm_map_mmio(uint64_t pa, size_t len)
{
	return map_device(pa, len,
			  PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_G | nx,
			  "vm_map_mmio", false);
}

void *vm_map_firmware(uint64_t pa, size_t len)
{
	return map_device(pa, len, PTE_P | PTE_G | nx, "vm_map_firmware", true);
}
