/*
 * ramdisk.c — RAM disks over boot modules (the root image every node gets,
 * module "root").
 *
 * Interface: fs/blkdrv.h. The disk is the module's memory itself, reached
 * through the direct map: nothing is copied, writes change the image in
 * memory (and are lost at reboot). The page allocator never hands out
 * module memory (vm/pmm.c), so the disk is stable for the node's life.
 * The blockdev methods are fs/blockdev.c's ramdisk_init.
 */
#include "arch/x86/arch.h"
#include "fs/fs.h"
#include "kern/bootinfo.h"
#include "kern/kern.h"

#define RAMDISK_MAX 4

static struct {
	struct blockdev bd;
	char module[32];
} disks[RAMDISK_MAX];
static unsigned ndisks;

struct blockdev *ramdisk_get(const char *name)
{
	for (unsigned i = 0; i < ndisks; i++)
		if (!strcmp(disks[i].module, name))
			return &disks[i].bd;
	return NULL;
}

struct blockdev *ramdisk_from_module(const struct bootinfo *bi,
				     const char *name)
{
	struct blockdev *bd = ramdisk_get(name);
	if (bd)
		return bd;
	const struct boot_module *m = NULL;
	for (unsigned i = 0; i < bi->nmods && !m; i++)
		if (!strcmp(bi->mods[i].name, name))
			m = &bi->mods[i];
	if (!m) {
		printk(KERN_WARN "shoal: ramdisk: no boot module '%s'\n", name);
		return NULL;
	}
	uint64_t size = ALIGN_DOWN(m->end - m->start, 512);
	if (m->end <= m->start || size == 0 || ndisks == RAMDISK_MAX) {
		printk(KERN_WARN
		       "shoal: ramdisk: module '%s' unusable (%lu bytes)\n",
		       name, (unsigned long)(m->end - m->start));
		return NULL;
	}
	if (size != m->end - m->start)
		printk(KERN_WARN
		       "shoal: ramdisk: module '%s' is not whole sectors; %lu bytes at the end ignored\n",
		       name, (unsigned long)(m->end - m->start - size));
	bd = &disks[ndisks].bd;
	strlcpy(disks[ndisks].module, name, sizeof disks[ndisks].module);
	ndisks++;
	ramdisk_init(bd, name, phys_to_virt(m->start), size, false);
	printk("shoal: ramdisk %s: %lu KiB at %#lx\n", name,
	       (unsigned long)(size >> 10), (unsigned long)m->start);
	return bd;
}
