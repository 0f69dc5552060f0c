/*
 * blkdrv.h — the block-device drivers (fs/virtio_blk.c, fs/ramdisk.c): how
 * the kernel finds its disks at boot and looks them up afterwards. Users of
 * a disk need only fs/fs.h's struct blockdev.
 */
#ifndef FS_BLKDRV_H
#define FS_BLKDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fs.h"

struct bootinfo;

/*
 * virtio-blk (PCI): probe every virtio block function after pci_init, with
 * the scheduler running (requests sleep until their interrupt). Disks are
 * named vda, vdb, ... in PCI order. Returns how many were set up.
 */
unsigned virtio_blk_probe(void);
unsigned virtio_blk_count(void);
struct blockdev *virtio_blk_get(unsigned index); /* NULL past the end */

/* Request types (virtio 1.1 §5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4

/*
 * One request exactly as given, without the range check blockdev_read and
 * the driver's own read/write make: the device's error path, for
 * self-tests. Returns 0 or -EIO.
 */
int virtio_blk_request(struct blockdev *d, unsigned type, uint64_t sector,
		       uint32_t count, void *buf);

/* Counters beyond struct blockdev_stats. */
struct virtio_blk_stats {
	uint64_t requests; /* virtio requests completed */
	uint64_t io_errors; /* status IOERR/UNSUPP or bad completion */
	uint64_t range_errors; /* refused before reaching the device */
	unsigned inflight, max_inflight; /* requests on the ring */
	uint64_t ring_full_waits; /* submitters that waited for descriptors */
	const char *irq_mode; /* "MSI-X per queue", "INTx", "polled", ... */
};
int virtio_blk_get_stats(struct blockdev *d, struct virtio_blk_stats *st);
/* Force polling instead of sleeping (self-tests; before the scheduler). */
void virtio_blk_set_polled(struct blockdev *d, bool polled);

/*
 * RAM disks over boot modules: the root image every node gets ("root").
 * The module's memory is the disk (read-write, 512-byte sectors); nothing is
 * copied. Returns the disk or NULL when there is no such module.
 */
struct blockdev *ramdisk_from_module(const struct bootinfo *bi,
				     const char *name);
/* A RAM disk made earlier, by its module's name; NULL if none. */
struct blockdev *ramdisk_get(const char *name);

#endif
