/*
 * fs.h — the file-system layer's public interface: block devices, the
 * buffer cache and the ext2 file system.
 *
 *   blockdev_*  a block device is a struct blockdev with read/write/flush of
 *               sectors; blockdev_read/write check ranges and count. A RAM
 *               disk (ramdisk_init) is a blockdev over memory.
 *   bcache_*, bread/bget/bdirty/brelse
 *               a fixed-size pool of block buffers hashed by (device,
 *               block), LRU replacement, delayed writes flushed in block
 *               order, sequential read-ahead, counters for /proc/bcache.
 *   ext2_*      ext2 revision 0/1 over the buffer cache: mount, inodes
 *               (reference counted, one sleeplock each), lookup, readdir,
 *               read/write, create/link/unlink/rmdir/rename/symlink,
 *               truncate, attributes, statfs, sync, unmount.
 *
 * Errors: functions return 0 or a negative errno (kern/errno.h); functions
 * returning pointers return ERR_PTR(-errno) on failure. A corrupted disk
 * never panics: the call returns -EIO or -EUCLEAN and one line naming the
 * inode or block is logged. See docs/filesystem.md.
 *
 * All ext2 calls take the locks they need themselves (lock order in
 * fs/ext2_impl.h); callers only hold references.
 */
#ifndef FS_FS_H
#define FS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/sync.h"

#ifndef ERR_PTR
#define ERR_PTR(e) ((void *)(intptr_t)(e))
#define PTR_ERR(p) ((int)(intptr_t)(p))
#define IS_ERR(p) ((uintptr_t)(p) >= (uintptr_t)-4095)
#endif

/* File types and permission bits (Linux values, as stored by ext2). */
#ifndef S_IFMT
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFLNK 0120000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFIFO 0010000
#define S_ISUID 0004000
#define S_ISGID 0002000
#define S_ISVTX 0001000
#define S_ISREG(m) (((m)&S_IFMT) == S_IFREG)
#define S_ISDIR(m) (((m)&S_IFMT) == S_IFDIR)
#define S_ISLNK(m) (((m)&S_IFMT) == S_IFLNK)
#define S_ISCHR(m) (((m)&S_IFMT) == S_IFCHR)
#define S_ISBLK(m) (((m)&S_IFMT) == S_IFBLK)
#define S_ISFIFO(m) (((m)&S_IFMT) == S_IFIFO)
#define S_ISSOCK(m) (((m)&S_IFMT) == S_IFSOCK)
#endif

/* ------------------------------------------------------------ block devices */

struct blockdev_stats {
	uint64_t reads, writes; /* requests that reached the driver */
	uint64_t read_bytes, write_bytes;
	uint64_t flushes;
	uint64_t errors; /* requests the driver failed */
};

/* Read-ahead state of one device; owned by the buffer cache. */
struct bcache_devstate {
	uint64_t next; /* block expected if reading sequentially */
	unsigned seq; /* length of the current sequential run */
	int write_error; /* sticky -EIO from a delayed write, for flush */
};

/*
 * A block device. The driver fills name, sector_size (a power of two,
 * 512..4096), nsectors, readonly, read/write (count sectors from sector
 * `sector`, returning 0 or -EIO), flush (NULL when writes are durable when
 * write returns) and priv. Drivers are called without any lock held and may
 * sleep. Everything else belongs to this layer.
 */
struct blockdev {
	char name[16];
	uint32_t sector_size;
	uint64_t nsectors;
	bool readonly;
	int (*read)(struct blockdev *d, uint64_t sector, uint32_t count,
		    void *buf);
	int (*write)(struct blockdev *d, uint64_t sector, uint32_t count,
		     const void *buf);
	int (*flush)(struct blockdev *d);
	void *priv;
	struct blockdev_stats stats;
	struct bcache_devstate bc;
};

/* Byte-addressed I/O; off and len must be multiples of the sector size. */
int blockdev_read(struct blockdev *d, uint64_t off, void *buf, size_t len);
int blockdev_write(struct blockdev *d, uint64_t off, const void *buf,
		   size_t len);
int blockdev_flush(struct blockdev *d);
static inline uint64_t blockdev_size(const struct blockdev *d)
{
	return d->nsectors * d->sector_size;
}

/* A RAM disk over [mem, mem + size) with 512-byte sectors. */
void ramdisk_init(struct blockdev *d, const char *name, void *mem,
		  uint64_t size, bool readonly);

/* ------------------------------------------------------------- buffer cache */

enum {
	B_VALID = 1 << 0, /* data holds the block's contents */
	B_DIRTY = 1 << 1, /* data is newer than the disk */
	B_RA = 1 << 2, /* brought in by read-ahead, not yet used */
};

/*
 * A cached block. A buffer returned by bread/bget/bgetz is referenced and
 * locked by the caller until brelse; only then may data be read or changed.
 * The fields after `data` are private to fs/bcache.c.
 */
struct buf {
	struct blockdev *dev;
	uint64_t blockno; /* in units of size */
	uint32_t size; /* 1024, 2048 or 4096 */
	uint32_t flags; /* B_*; changed under the cache lock */
	uint8_t *data;

	unsigned refcnt;
	struct sleeplock lock;
	struct buf *hnext; /* hash chain */
	struct buf *prev, *next; /* LRU list (refcnt == 0) or free list */
};

struct bcache_stats {
	uint64_t hits, misses; /* bread/bget lookups */
	uint64_t reads, writes; /* blocks read from / written to devices */
	uint64_t ra_issued, ra_hits; /* blocks prefetched; later used */
	uint64_t evictions; /* valid buffers recycled */
	uint64_t write_errors;
	uint64_t budget_bytes, used_bytes; /* pool size; data allocated */
	unsigned nbuf, cached, dirty, referenced; /* buffers: headers, holding
						     data, dirty, in use */
	unsigned ra_kb; /* read-ahead window */
};

/*
 * Set up the pool: at most `bytes` of block data (at least 64 KiB) and one
 * header per KiB. Buffers for different block sizes share the budget.
 * Returns 0 or -ENOMEM. Called once.
 */
int bcache_init(size_t bytes);
/* Read-ahead window in bytes (0 disables; default 32 KiB, max 64 KiB). */
void bcache_set_readahead(size_t bytes);

/*
 * bread: the block, read from the device if not cached. Returns a locked,
 * referenced buffer or ERR_PTR(-EIO/-EINVAL/-ENOMEM). A block that is
 * cached and valid is returned without I/O, so it cannot fail.
 * bgetz: the block without reading it, zero-filled (for a new block, or
 * one about to be overwritten whole).
 * One device uses one block size at a time; call bcache_invalidate between
 * mounts with different sizes.
 */
struct buf *bread(struct blockdev *dev, uint64_t blockno, uint32_t size);
struct buf *bgetz(struct blockdev *dev, uint64_t blockno, uint32_t size);
/* Mark a held buffer modified; it is written later (flush or eviction). */
void bdirty(struct buf *b);
/* Write a held buffer now (it stays held); 0 or -EIO. */
int bwrite(struct buf *b);
/* Unlock and drop the reference. */
void brelse(struct buf *b);
/* Keep an extra reference (no lock) so the block stays cached; a later
 * bread of it then needs no I/O. Undo with bunpin. */
void bpin(struct buf *b);
void bunpin(struct buf *b);

/*
 * Write every dirty buffer of dev (NULL: of all devices) in (device, block)
 * order, then flush the devices. Returns 0, or -EIO if a write failed since
 * the last flush of that device (the error is reported once).
 */
int bcache_flush(struct blockdev *dev);
/* Flush dev, then forget its buffers; -EBUSY if any is still referenced. */
int bcache_invalidate(struct blockdev *dev);
void bcache_get_stats(struct bcache_stats *st);
/* /proc/bcache: "name value" lines; returns the length snprintf wanted. */
int bcache_format_stats(char *buf, size_t size);

/* --------------------------------------------------------------------- ext2 */

struct ext2_fs;
struct ext2_inode;

#define EXT2_ROOT_INO 2
#define EXT2_NAME_MAX 255

enum {
	EXT2_MOUNT_RDONLY = 1 << 0,
};

/*
 * The wall clock used for inode and superblock times, in seconds since
 * 1970. Until one is set the times are 0. Shared by all mounts.
 */
void ext2_set_clock(uint64_t (*now)(void));

/*
 * Mount the ext2 file system on dev. Returns the file system or
 * ERR_PTR(-EINVAL) (not ext2, unsupported revision or incompatible
 * feature: a message says which), -EUCLEAN (inconsistent superblock or
 * group descriptors), -EIO, -ENOMEM, -EBUSY (buffers of dev in use). An
 * unknown read-only-compatible feature, a read-only device or
 * EXT2_MOUNT_RDONLY give a read-only mount: every change returns -EROFS.
 */
struct ext2_fs *ext2_mount(struct blockdev *dev, unsigned flags);
/* Sync, mark the file system clean and free it; -EBUSY while any inode is
 * referenced (nothing is changed then). */
int ext2_unmount(struct ext2_fs *fs);
/* Write everything dirty of this file system to the device. */
int ext2_sync(struct ext2_fs *fs);
bool ext2_is_readonly(const struct ext2_fs *fs);

struct ext2_statfs {
	uint32_t bsize;
	uint64_t blocks, bfree, bavail; /* bavail excludes reserved blocks */
	uint64_t files, ffree;
	uint32_t namelen;
};
int ext2_statfs(struct ext2_fs *fs, struct ext2_statfs *st);

/*
 * In-memory inodes are reference counted: every function returning one
 * gives the caller a reference, to drop with ext2_iput. An inode whose link
 * count reaches zero is freed on disk when its last reference goes.
 */
struct ext2_inode *ext2_root(struct ext2_fs *fs);
struct ext2_inode *ext2_iget(struct ext2_fs *fs, uint32_t ino);
struct ext2_inode *ext2_igrab(struct ext2_inode *ip);
void ext2_iput(struct ext2_inode *ip);
uint32_t ext2_ino(const struct ext2_inode *ip);
/* The mode without locking: its type bits (S_IFMT) are stable; the
 * permission bits are a snapshot (use ext2_getattr for a consistent one). */
uint32_t ext2_mode(const struct ext2_inode *ip);
struct ext2_fs *ext2_inode_fs(const struct ext2_inode *ip);

struct ext2_stat {
	uint32_t ino;
	uint32_t mode; /* type and permission bits */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t size;
	uint64_t blocks; /* 512-byte units allocated */
	uint32_t blksize;
	uint32_t rdev; /* devices: Linux's encoding, (minor & 0xff) |
			  major << 8 | (minor & ~0xff) << 12 */
	uint64_t atime, mtime, ctime;
};
int ext2_getattr(struct ext2_inode *ip, struct ext2_stat *st);

enum {
	EXT2_ATTR_MODE = 1 << 0, /* permission bits only; the type stays */
	EXT2_ATTR_UID = 1 << 1,
	EXT2_ATTR_GID = 1 << 2,
	EXT2_ATTR_SIZE = 1 << 3, /* regular files: truncate or extend */
	EXT2_ATTR_ATIME = 1 << 4,
	EXT2_ATTR_MTIME = 1 << 5,
	EXT2_ATTR_CTIME = 1 << 6, /* otherwise ctime becomes now */
};
struct ext2_setattr {
	unsigned mask;
	uint32_t mode, uid, gid;
	uint64_t size;
	uint64_t atime, mtime, ctime;
};
int ext2_setattr(struct ext2_inode *ip, const struct ext2_setattr *sa);

/*
 * Names are (pointer, length), not NUL-terminated. An empty name gives
 * -ENOENT, one longer than EXT2_NAME_MAX -ENAMETOOLONG, one holding '/' or
 * NUL -EINVAL. "." and ".." are found by lookup (they are on disk) but
 * refused by every call that changes a directory (-EINVAL).
 */
struct ext2_inode *ext2_lookup(struct ext2_inode *dir, const char *name,
			       size_t len);

/*
 * Call fn for each entry of dir from byte position *pos on (start at 0),
 * "." and ".." included; type is a DT_* value (0 if unknown). Stops early
 * when fn returns non-zero. *pos is left after the last entry given to fn,
 * so the next call resumes there. Returns 0 or a negative errno.
 */
enum {
	EXT2_DT_UNKNOWN = 0,
	EXT2_DT_FIFO = 1,
	EXT2_DT_CHR = 2,
	EXT2_DT_DIR = 4,
	EXT2_DT_BLK = 6,
	EXT2_DT_REG = 8,
	EXT2_DT_LNK = 10,
	EXT2_DT_SOCK = 12,
};
typedef int (*ext2_filldir_fn)(void *ctx, const char *name, size_t len,
			       uint32_t ino, unsigned type);
int ext2_readdir(struct ext2_inode *dir, uint64_t *pos, ext2_filldir_fn fn,
		 void *ctx);

/*
 * Data of regular files (and, for read, of directories and slow
 * symlinks). read returns the bytes read (0 at or past the end; holes read
 * as zeros); write returns the bytes written (short only when the disk
 * fills: -ENOSPC if nothing could be written) and extends the file.
 * -EFBIG past the largest size the block size allows.
 */
int64_t ext2_read(struct ext2_inode *ip, uint64_t off, void *buf, size_t len);
int64_t ext2_write(struct ext2_inode *ip, uint64_t off, const void *buf,
		   size_t len);
int ext2_truncate(struct ext2_inode *ip, uint64_t size);
/* Write the file's dirty data and metadata to the device. */
int ext2_fsync(struct ext2_inode *ip);

/*
 * Create a regular file, directory, device, FIFO or socket (the type is in
 * mode; rdev for devices, encoded as in struct ext2_stat) named name in dir, owned
 * by uid/gid. -EEXIST if the name exists, -ENOSPC if no inode or block is
 * left (nothing is changed then), -EMLINK for too many subdirectories.
 */
struct ext2_inode *ext2_create(struct ext2_inode *dir, const char *name,
			       size_t len, uint32_t mode, uint32_t uid,
			       uint32_t gid, uint32_t rdev);
/* A symbolic link to target (1..blocksize-1 bytes), mode 0777. */
struct ext2_inode *ext2_symlink(struct ext2_inode *dir, const char *name,
				size_t len, const char *target, size_t tlen,
				uint32_t uid, uint32_t gid);
/* Copy the link's target into buf (not NUL-terminated); returns its length
 * (truncated to size) or -EINVAL if ip is not a symlink. */
int ext2_readlink(struct ext2_inode *ip, char *buf, size_t size);
/* A new name for ip (not a directory: -EPERM) in dir. */
int ext2_link(struct ext2_inode *dir, const char *name, size_t len,
	      struct ext2_inode *ip);
/* Remove a name that is not a directory (-EISDIR). */
int ext2_unlink(struct ext2_inode *dir, const char *name, size_t len);
/* Remove an empty directory (-ENOTEMPTY, -ENOTDIR). */
int ext2_rmdir(struct ext2_inode *dir, const char *name, size_t len);
/*
 * POSIX rename: an existing target is replaced (a file by a non-directory,
 * -EISDIR otherwise; a directory only by a directory, and only if empty:
 * -ENOTDIR, -ENOTEMPTY); renaming a directory into its own subtree is
 * -EINVAL; a link to the same inode does nothing.
 */
int ext2_rename(struct ext2_inode *odir, const char *oname, size_t olen,
		struct ext2_inode *ndir, const char *nname, size_t nlen);

/* ------------------------------------------------------------ drivers
 *
 * The block-device drivers (fs/virtio_blk.c, fs/ramdisk.c): how the kernel
 * finds its disks at boot and looks them up afterwards.
 */
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
