/* TEMPORARY: placeholders until the memory subsystem lands. Delete me. */
#include "kern/kern.h"
#include "vm/vm.h"

void pmm_init(const struct bootinfo *bi)
{
}
void vm_init(void)
{
}
void mem_get_stats(struct mem_stats *st)
{
	memset(st, 0, sizeof *st);
}
void *kmalloc(size_t size)
{
	return NULL;
}
void kfree(void *p)
{
}
void *vm_map_mmio(uint64_t pa, size_t len)
{
	return (void *)(pa + 0xFFFF800000000000UL);
}
