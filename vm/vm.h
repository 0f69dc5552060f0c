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

#endif
