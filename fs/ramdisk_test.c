/*
 * ramdisk_test.c — the root RAM disk holds the ext2 image: its superblock
 * magic is where ext2 puts it, and a sector written reads back (then the
 * original is put back).
 */
#include "fs/fs.h"
#include "kern/kern.h"

#define EXT2_MAGIC 0xEF53

SELFTEST(ramdisk_root_ext2_magic)
{
	struct blockdev *d = ramdisk_get("root");
	if (!d) {
		printk("# skipped: no 'root' module\n");
		return 0;
	}
	ST_ASSERT(d->sector_size == 512 && d->nsectors >= 4);
	static uint8_t sb[1024];
	ST_ASSERT(blockdev_read(d, 1024, sb, sizeof sb) == 0);
	ST_ASSERT((sb[56] | sb[57] << 8) == EXT2_MAGIC);
	return 0;
}

SELFTEST(ramdisk_read_write)
{
	struct blockdev *d = ramdisk_get("root");
	if (!d) {
		printk("# skipped: no 'root' module\n");
		return 0;
	}
	static uint8_t saved[512], pat[512], back[512];
	uint64_t off = (d->nsectors - 1) * 512;
	ST_ASSERT(blockdev_read(d, off, saved, 512) == 0);
	for (unsigned i = 0; i < 512; i++)
		pat[i] = (uint8_t)(i * 7 + 3);
	ST_ASSERT(blockdev_write(d, off, pat, 512) == 0);
	ST_ASSERT(blockdev_read(d, off, back, 512) == 0);
	ST_ASSERT(!memcmp(pat, back, 512));
	ST_ASSERT(blockdev_write(d, off, saved, 512) == 0);
	ST_ASSERT(blockdev_read(d, off + 512, back, 512) == -EINVAL);
	ST_ASSERT(ramdisk_get("no-such-module") == NULL);
	return 0;
}
