/*
 * blockdev.c — checked, counted access to block devices, and the RAM disk.
 *
 * Interface (fs/fs.h): blockdev_read/blockdev_write take a byte offset and
 * length that must be whole sectors inside the device; they count requests,
 * bytes and errors in dev->stats and turn any driver error into -EIO.
 * ramdisk_init makes a blockdev over memory (the boot module).
 */
#include "fs/fs.h"
#include "kern/kern.h"

static int check(struct blockdev *d, uint64_t off, size_t len)
{
	uint64_t ss = d->sector_size;
	if (!ss || (off | len) & (ss - 1))
		return -EINVAL;
	if (off > blockdev_size(d) || len > blockdev_size(d) - off)
		return -EINVAL;
	return 0;
}

int blockdev_read(struct blockdev *d, uint64_t off, void *buf, size_t len)
{
	int err = check(d, off, len);
	if (err)
		return err;
	d->stats.reads++;
	d->stats.read_bytes += len;
	if (d->read(d, off / d->sector_size, len / d->sector_size, buf)) {
		d->stats.errors++;
		return -EIO;
	}
	return 0;
}

int blockdev_write(struct blockdev *d, uint64_t off, const void *buf,
		   size_t len)
{
	int err = check(d, off, len);
	if (err)
		return err;
	if (d->readonly)
		return -EROFS;
	d->stats.writes++;
	d->stats.write_bytes += len;
	if (d->write(d, off / d->sector_size, len / d->sector_size, buf)) {
		d->stats.errors++;
		return -EIO;
	}
	return 0;
}

int blockdev_flush(struct blockdev *d)
{
	if (!d->flush)
		return 0;
	d->stats.flushes++;
	if (d->flush(d)) {
		d->stats.errors++;
		return -EIO;
	}
	return 0;
}

/* ---- the RAM disk: 512-byte sectors over a memory range ---- */

static int ram_read(struct blockdev *d, uint64_t sector, uint32_t count,
		    void *buf)
{
	memcpy(buf, (char *)d->priv + sector * 512, (size_t)count * 512);
	return 0;
}

static int ram_write(struct blockdev *d, uint64_t sector, uint32_t count,
		     const void *buf)
{
	memcpy((char *)d->priv + sector * 512, buf, (size_t)count * 512);
	return 0;
}

void ramdisk_init(struct blockdev *d, const char *name, void *mem,
		  uint64_t size, bool readonly)
{
	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", name);
	d->sector_size = 512;
	d->nsectors = size / 512;
	d->readonly = readonly;
	d->read = ram_read;
	d->write = ram_write;
	d->priv = mem;
}
