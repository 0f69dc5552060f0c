/*
 * virtio_blk_test.c — self-tests of the virtio-blk driver and the virtio
 * transport beneath it, on the first disk (vda) when one is attached; each
 * test passes with a '# skipped' line when there is none. The sectors used
 * are saved first and written back at the end, so a real disk survives.
 *
 *   pattern: write, flush, read back, compare (interrupt-driven)
 *   polled: the same with the driver polling the used ring
 *   out of range: refused by the driver, and the device's own error
 *     status (a request past the end sent anyway) becomes -EIO
 *   in flight: threads issuing requests at once, and a large request cut
 *     into several, keep more than one request on the ring
 */
#include "arch/x86/arch.h"
#include "fs/fs.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "vm/vm.h"

#define MS 1000000ULL
#define AREA_SECTORS 256 /* 128 KiB at the end of the disk */

static struct blockdev *disk(void)
{
	struct blockdev *d = virtio_blk_get(0);
	if (!d)
		printk("# skipped: no virtio-blk disk attached\n");
	return d;
}

/* The disk, if writes may be tried on it. */
static struct blockdev *writable_disk(void)
{
	struct blockdev *d = disk();
	if (d && d->readonly) {
		printk("# skipped: %s is read-only\n", d->name);
		return NULL;
	}
	return d;
}

static uint64_t area_start(struct blockdev *d)
{
	return d->nsectors - AREA_SECTORS;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Save, exercise, compare, restore [start, start + n) sectors. */
static int roundtrip(struct blockdev *d, uint64_t start, uint32_t n,
		     uint32_t seed)
{
	size_t bytes = (size_t)n * d->sector_size;
	uint8_t *saved = kmalloc(bytes), *pat = kmalloc(bytes),
		*back = kmalloc(bytes);
	int rc = 1;
	if (!saved || !pat || !back)
		goto out;
	if (d->read(d, start, n, saved))
		goto out;
	fill(pat, bytes, seed);
	memset(back, 0, bytes);
	if (d->write(d, start, n, pat) || (d->flush && d->flush(d)) ||
	    d->read(d, start, n, back))
		goto out;
	if (memcmp(pat, back, bytes)) {
		printk("# data read back differs\n");
		goto out;
	}
	if (d->write(d, start, n, saved) || (d->flush && d->flush(d)))
		goto out;
	rc = 0;
out:
	kfree(saved);
	kfree(pat);
	kfree(back);
	return rc;
}

SELFTEST(virtio_blk_pattern)
{
	struct blockdev *d = writable_disk();
	if (!d)
		return 0;
	struct virtio_blk_stats st0, st1;
	ST_ASSERT(virtio_blk_get_stats(d, &st0) == 0);
	ST_ASSERT(d->nsectors > AREA_SECTORS && d->sector_size >= 512);
	ST_ASSERT(roundtrip(d, area_start(d), 8, 1) == 0);
	ST_ASSERT(roundtrip(d, d->nsectors - 1, 1, 2) == 0); /* last sector */
	ST_ASSERT(roundtrip(d, 0, 1, 3) == 0); /* first, put back */
	/* Through the checked block layer too. */
	static uint8_t a[4096], b[4096];
	fill(a, sizeof a, 4);
	uint64_t off = area_start(d) * d->sector_size;
	ST_ASSERT(blockdev_write(d, off, a, sizeof a) == 0);
	ST_ASSERT(blockdev_flush(d) == 0);
	ST_ASSERT(blockdev_read(d, off, b, sizeof b) == 0);
	ST_ASSERT(!memcmp(a, b, sizeof a));
	ST_ASSERT(virtio_blk_get_stats(d, &st1) == 0);
	ST_ASSERT(st1.requests > st0.requests &&
		  st1.io_errors == st0.io_errors);
	ST_ASSERT(st1.inflight == 0);
	printk("# %s: %lu requests, interrupts: %s\n", d->name,
	       (unsigned long)st1.requests, st1.irq_mode);
	return 0;
}

SELFTEST(virtio_blk_polled)
{
	struct blockdev *d = writable_disk();
	if (!d)
		return 0;
	virtio_blk_set_polled(d, true);
	int rc = roundtrip(d, area_start(d) + 16, 16, 5);
	/* With interrupts off too: the path usable before the scheduler. */
	static uint8_t buf[512];
	unsigned long f = irq_save();
	int rc2 = d->read(d, area_start(d), 1, buf);
	irq_restore(f);
	virtio_blk_set_polled(d, false);
	ST_ASSERT(rc == 0 && rc2 == 0);
	return 0;
}

SELFTEST(virtio_blk_out_of_range)
{
	struct blockdev *d = disk();
	if (!d)
		return 0;
	static uint8_t buf[1024];
	struct virtio_blk_stats st0, st1;
	ST_ASSERT(virtio_blk_get_stats(d, &st0) == 0);
	ST_ASSERT(d->read(d, d->nsectors, 1, buf) == -EIO);
	ST_ASSERT(d->read(d, d->nsectors - 1, 2, buf) == -EIO);
	ST_ASSERT(d->write(d, ~0ULL, 1, buf) == -EIO);
	if (d->readonly) /* refused by the driver, never sent */
		ST_ASSERT(d->write(d, 0, 1, buf) == -EIO);
	ST_ASSERT(blockdev_read(d, d->nsectors * d->sector_size, buf, 512) ==
		  -EINVAL);
	/* The device itself must say IOERR; the driver turns it into -EIO. */
	ST_ASSERT(virtio_blk_request(d, VIRTIO_BLK_T_IN, d->nsectors + 8, 1,
				     buf) == -EIO);
	ST_ASSERT(virtio_blk_get_stats(d, &st1) == 0);
	ST_ASSERT(st1.range_errors == st0.range_errors + 3);
	ST_ASSERT(st1.io_errors == st0.io_errors + 1);
	/* And the disk still works afterwards. */
	ST_ASSERT(d->read(d, 0, 1, buf) == 0);
	return 0;
}

#define NTHREADS 8
#define PER_THREAD 6

static struct blockdev *mt_disk;
static volatile int mt_done, mt_failed;

static void mt_worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	uint64_t base = area_start(mt_disk) + 32 + t * PER_THREAD * 2;
	for (unsigned i = 0; i < PER_THREAD; i++)
		if (roundtrip(mt_disk, base + i * 2, 2, t * 100 + i))
			mt_failed++;
	mt_done++;
}

#define NBIG 8
#define BIG_BYTES (512u << 10)

static uint8_t *big_buf;

static void big_reader(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	uint32_t n = BIG_BYTES / mt_disk->sector_size;
	if (mt_disk->read(mt_disk, (uint64_t)t * n, n, big_buf + t * BIG_BYTES))
		mt_failed++;
	mt_done++;
}

SELFTEST(virtio_blk_inflight)
{
	struct blockdev *d = writable_disk();
	if (!d)
		return 0;
	ST_ASSERT(32 + NTHREADS * PER_THREAD * 2 <= AREA_SECTORS);
	mt_disk = d;
	mt_done = mt_failed = 0;
	for (uintptr_t t = 0; t < NTHREADS; t++)
		ST_ASSERT(thread_create("t-vblk", mt_worker, (void *)t));
	uint64_t end = time_ns() + 20000 * MS;
	while (mt_done < NTHREADS && time_ns() < end)
		thread_sleep_ns(MS);
	ST_ASSERT(mt_done == NTHREADS && mt_failed == 0);
	/* One call bigger than a request: several on the ring at once. */
	ST_ASSERT(roundtrip(d, area_start(d), AREA_SECTORS, 77) == 0);
	/* More requests at once than the ring holds: big reads from several
	 * threads, compared with one sequential read of the same sectors. */
	size_t total = (size_t)NBIG * BIG_BYTES;
	ST_ASSERT(d->nsectors * d->sector_size >= total);
	uint8_t *ref = kmalloc(total);
	big_buf = kmalloc(total);
	ST_ASSERT(ref && big_buf);
	int rc = d->read(d, 0, (uint32_t)(total / d->sector_size), ref);
	mt_done = mt_failed = 0;
	for (uintptr_t t = 0; t < NBIG; t++)
		ST_ASSERT(thread_create("t-vbig", big_reader, (void *)t));
	end = time_ns() + 20000 * MS;
	while (mt_done < NBIG && time_ns() < end)
		thread_sleep_ns(MS);
	bool same = !memcmp(ref, big_buf, total);
	kfree(ref);
	kfree(big_buf);
	ST_ASSERT(rc == 0 && mt_done == NBIG && mt_failed == 0 && same);

	struct virtio_blk_stats st;
	ST_ASSERT(virtio_blk_get_stats(d, &st) == 0);
	printk("# at most %u requests in flight, %lu waits for ring space\n",
	       st.max_inflight, (unsigned long)st.ring_full_waits);
	ST_ASSERT(st.max_inflight > 1 && st.inflight == 0);
	return 0;
}
