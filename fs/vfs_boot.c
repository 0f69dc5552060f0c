/*
 * vfs_boot.c — the file systems at boot: fs_boot_mount (fs/vfs.h), called
 * once by kmain after the scheduler runs and the disks have been probed.
 *
 *   1. register the types (ext2, devfs, proc);
 *   2. the buffer cache: bcache=KB from the command line, else 1/8 of free
 *      memory, at most 64 MiB; ext2's clock; the flusher thread, which
 *      writes dirty buffers every FLUSH_SECONDS;
 *   3. mounts: the RAM disk of boot module "root" on / (read-write, in
 *      memory), devfs on /dev, proc on /proc, the first virtio disk on
 *      /data. A missing mount point is made (the root is in memory). Only
 *      the root matters: without it the node runs on with no files.
 *
 * The wall clock: the battery clock (arch_wall_seconds) when it reads
 * sense. Without it, times near 1970 would upset e2fsck (a deletion time
 * below the inode count looks like an orphan-list link), so the clock then
 * starts at the newest time found on the mounted disks' root directories
 * (the image's build, the disk's last change) and runs with the uptime.
 */
#include "arch/x86/arch.h"
#include "fs/fs.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "vm/vm.h"

#define FLUSH_SECONDS 5
#define BCACHE_MAX (64ull << 20)

static uint64_t clock_base; /* wall-clock seconds at time_ns() == 0 */

static uint64_t clock_seconds(void)
{
	uint64_t wall = arch_wall_seconds();
	return wall ? wall : clock_base + time_ns() / 1000000000;
}

/* Move the clock forward to the newest time of path, if it is ahead. */
static void clock_note(const char *path)
{
	struct linux_stat st;
	if (vfs_stat(NULL, path, &st))
		return;
	int64_t t = MAX(st.st_mtim.tv_sec, st.st_ctim.tv_sec);
	uint64_t up = time_ns() / 1000000000;
	if (t > 0 && (uint64_t)t > clock_base + up)
		clock_base = (uint64_t)t - up;
}

static void flusher(void *arg)
{
	for (;;) {
		thread_sleep_ns(FLUSH_SECONDS * 1000000000ull);
		int err = bcache_flush(NULL);
		if (err)
			printk(KERN_ERR "bflush: write error %d\n", err);
	}
}

static int mount_at(const char *type, struct blockdev *dev, const char *path)
{
	int err = vfs_mount(type, dev, path, 0);
	if (err == -ENOENT) {
		vfs_mkdir(NULL, path, 0755);
		err = vfs_mount(type, dev, path, 0);
	}
	if (err)
		printk(KERN_WARN "shoal: cannot mount %s on %s: %s (%d)\n",
		       dev ? dev->name : type, path, errno_text(err), err);
	return err;
}

void fs_boot_mount(void)
{
	vfs_ext2_init();
	devfs_init();
	procfs_init();

	struct mem_stats ms;
	mem_get_stats(&ms);
	uint64_t bytes = kconfig.bcache_kb ? kconfig.bcache_kb << 10
					   : MIN(ms.free_bytes / 8, BCACHE_MAX);
	if (bcache_init((size_t)bytes)) {
		printk(KERN_ERR
		       "shoal: no memory for the buffer cache; no file systems\n");
		return;
	}
	ext2_set_clock(clock_seconds);
	if (!thread_create("bflush", flusher, NULL))
		printk(KERN_WARN
		       "shoal: no flusher thread: dirty buffers wait for sync\n");

	struct blockdev *rd = ramdisk_get("root");
	if (!rd) {
		printk(KERN_WARN
		       "shoal: no root image (module 'root'); running without files\n");
		return;
	}
	if (mount_at("ext2", rd, "/")) {
		printk(KERN_WARN
		       "shoal: the root image did not mount; running without files\n");
		return;
	}
	clock_note("/");
	char msg[160];
	int len = snprintf(msg, sizeof msg, "mounted %s (ramdisk, ext2) on /",
			   rd->name);
	if (!mount_at("devfs", NULL, "/dev"))
		len += snprintf(msg + len, sizeof msg - (size_t)len,
				", devfs on /dev");
	if (!mount_at("proc", NULL, "/proc"))
		len += snprintf(msg + len, sizeof msg - (size_t)len,
				", proc on /proc");
	struct blockdev *vda = virtio_blk_get(0);
	if (vda && !mount_at("ext2", vda, "/data")) {
		snprintf(msg + len, sizeof msg - (size_t)len,
			 ", %s (ext2) on /data", vda->name);
		clock_note("/data");
	}
	printk("shoal: %s\n", msg);
}
