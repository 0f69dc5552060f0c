/*
 * ext2_super.c — mounting ext2: the superblock and group descriptors,
 * validated once at mount and then kept in memory and written through to
 * pinned buffers; sync, statfs, unmount; corruption reports.
 *
 * Interface (fs/fs.h): ext2_mount, ext2_unmount, ext2_sync, ext2_statfs,
 * ext2_is_readonly, ext2_set_clock; (ext2_impl.h) ext2_corrupt,
 * ext2_write_super, ext2_write_group, ext2_block_ok, ext2_now.
 *
 * Invariants after a successful mount: every group's bitmaps and inode
 * table lie inside the group, after its superblock and descriptor copies,
 * without overlapping; the superblock's free counts are the sums of the
 * groups'. While mounted read-write, s_state lacks EXT2_VALID_FS, so a
 * crash is visible to e2fsck; unmount sets it back (with EXT2_ERROR_FS if
 * corruption was seen).
 */
#include "fs/ext2_impl.h"
#include "vm/vm.h"

static uint64_t (*clock_fn)(void);

void ext2_set_clock(uint64_t (*now)(void))
{
	clock_fn = now;
}

uint32_t ext2_now(void)
{
	return clock_fn ? (uint32_t)clock_fn() : 0;
}

/* Reports after this many per mount are counted but not printed, so a
 * badly damaged disk cannot flood the console. */
#define EXT2_MAX_REPORTS 20

int ext2_corrupt(struct ext2_fs *fs, const char *fmt, ...)
{
	unsigned n = __atomic_add_fetch(&fs->errors, 1, __ATOMIC_RELAXED);
	if (n > EXT2_MAX_REPORTS)
		return -EUCLEAN;
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printk(KERN_ERR "ext2 %s: %s%s\n", fs->dev->name, msg,
	       n == EXT2_MAX_REPORTS ? " (further reports suppressed)" : "");
	return -EUCLEAN;
}

bool ext2_group_has_super(const struct ext2_fs *fs, uint32_t g)
{
	if (g <= 1 ||
	    !(fs->sb.s_feature_ro_compat & EXT2_RO_COMPAT_SPARSE_SUPER))
		return true;
	static const uint32_t bases[] = {3, 5, 7};
	for (unsigned i = 0; i < ARRAY_SIZE(bases); i++) {
		uint32_t n = g;
		while (n % bases[i] == 0)
			n /= bases[i];
		if (n == 1)
			return true;
	}
	return false;
}

/* Blocks at the start of group g taken by superblock and descriptor copies
 * (and the descriptor blocks reserved for resizing). */
static uint32_t group_meta(const struct ext2_fs *fs, uint32_t g)
{
	if (!ext2_group_has_super(fs, g))
		return 0;
	return 1 + fs->gdt_blocks + fs->reserved_gdt;
}

bool ext2_block_ok(const struct ext2_fs *fs, uint32_t blk)
{
	if (blk < fs->first_data_block || blk >= fs->blocks_count)
		return false;
	uint32_t g = (blk - fs->first_data_block) / fs->bpg;
	const struct ext2_group *gr = &fs->groups[g];
	if (blk - ext2_group_first(fs, g) < group_meta(fs, g))
		return false;
	if (blk == gr->block_bitmap || blk == gr->inode_bitmap)
		return false;
	return blk < gr->inode_table ||
	       blk - gr->inode_table >= fs->itable_blocks;
}

void ext2_write_super(struct ext2_fs *fs)
{
	struct buf *b = bread(fs->dev, fs->sbuf->blockno, fs->bsize);
	KASSERT(!IS_ERR(b)); /* pinned and valid: no I/O */
	memcpy(b->data + fs->sb_off, &fs->sb, sizeof fs->sb);
	bdirty(b);
	brelse(b);
}

void ext2_write_group(struct ext2_fs *fs, uint32_t g)
{
	uint32_t per = fs->bsize / sizeof(struct ext2_gd);
	struct buf *pin = fs->gdbufs[g / per];
	struct buf *b = bread(fs->dev, pin->blockno, fs->bsize);
	KASSERT(!IS_ERR(b));
	struct ext2_gd gd;
	memcpy(&gd, b->data + (g % per) * sizeof gd, sizeof gd);
	gd.bg_free_blocks_count = fs->groups[g].free_blocks;
	gd.bg_free_inodes_count = fs->groups[g].free_inodes;
	gd.bg_used_dirs_count = fs->groups[g].used_dirs;
	memcpy(b->data + (g % per) * sizeof gd, &gd, sizeof gd);
	bdirty(b);
	brelse(b);
}

void ext2_set_ro_compat(struct ext2_fs *fs, uint32_t feature)
{
	sleeplock_acquire(&fs->alloc_lock);
	if (!(fs->sb.s_feature_ro_compat & feature)) {
		fs->sb.s_feature_ro_compat |= feature;
		ext2_write_super(fs);
	}
	sleeplock_release(&fs->alloc_lock);
}

bool ext2_is_readonly(const struct ext2_fs *fs)
{
	return fs->ro;
}

/* ------------------------------------------------------------------ mount */

static int read_super(struct blockdev *dev, struct ext2_super *sb)
{
	uint32_t ss = dev->sector_size;
	if (ss < 512 || ss > 4096 || (ss & (ss - 1)))
		return -EINVAL;
	uint64_t off = ALIGN_DOWN((uint64_t)EXT2_SB_OFFSET, ss);
	size_t len = ALIGN_UP(EXT2_SB_OFFSET + 1024, ss) - off;
	if (blockdev_size(dev) < off + len)
		return -EINVAL;
	uint8_t *tmp = kmalloc(len);
	if (!tmp)
		return -ENOMEM;
	int err = blockdev_read(dev, off, tmp, len);
	if (!err)
		memcpy(sb, tmp + (EXT2_SB_OFFSET - off), sizeof *sb);
	kfree(tmp);
	return err;
}

static const char *const incompat_names[] = {
	"compression",
	"filetype",
	"needs_recovery",
	"journal_dev",
	"meta_bg",
	"(0x20)",
	"extents",
	"64bit",
	"mmp",
	"flex_bg",
	"ea_inode",
	"(0x800)",
	"dirdata",
	"metadata_csum_seed",
	"large_dir",
	"inline_data",
	"encrypt",
	"casefold",
};

/* Check the superblock; fill the geometry. Returns 0, -EINVAL (not ours)
 * or -EUCLEAN, having said why. */
static int check_super(struct ext2_fs *fs, bool *ro)
{
	struct ext2_super *sb = &fs->sb;
	const char *dn = fs->dev->name;
	if (sb->s_magic != EXT2_MAGIC) {
		printk(KERN_ERR "ext2 %s: no ext2 file system (magic %#x)\n",
		       dn, sb->s_magic);
		return -EINVAL;
	}
	if (sb->s_rev_level > EXT2_DYNAMIC_REV) {
		printk(KERN_ERR "ext2 %s: revision %u not supported\n", dn,
		       sb->s_rev_level);
		return -EINVAL;
	}
	if (sb->s_rev_level == EXT2_GOOD_OLD_REV) {
		sb->s_first_ino = EXT2_GOOD_OLD_FIRST_INO;
		sb->s_inode_size = EXT2_GOOD_OLD_INODE_SIZE;
		sb->s_feature_compat = sb->s_feature_incompat =
			sb->s_feature_ro_compat = 0;
	}
	uint32_t unsup = sb->s_feature_incompat & ~EXT2_INCOMPAT_SUPPORTED;
	if (unsup) {
		char names[160];
		size_t n = 0;
		names[0] = 0;
		for (unsigned i = 0; i < 32; i++) {
			if (!(unsup & (1u << i)) || n >= sizeof names)
				continue;
			if (i < ARRAY_SIZE(incompat_names))
				n += snprintf(names + n, sizeof names - n,
					      " %s", incompat_names[i]);
			else
				n += snprintf(names + n, sizeof names - n,
					      " (%#x)", 1u << i);
		}
		printk(KERN_ERR "ext2 %s: unsupported incompatible "
				"features:%s (%#x); not mounted\n",
		       dn, names, unsup);
		return -EINVAL;
	}
	uint32_t ro_unsup = sb->s_feature_ro_compat & ~EXT2_RO_COMPAT_SUPPORTED;
	if (ro_unsup && !*ro) {
		printk(KERN_WARN "ext2 %s: unsupported read-only-compatible "
				 "features %#x: mounting read-only\n",
		       dn, ro_unsup);
		*ro = true;
	}
	if (sb->s_log_block_size > 2) {
		printk(KERN_ERR "ext2 %s: block size 1024 << %u not "
				"supported\n",
		       dn, sb->s_log_block_size);
		return -EINVAL;
	}
	fs->log_bsize = 10 + sb->s_log_block_size;
	fs->bsize = 1u << fs->log_bsize;
	fs->apb_log = fs->log_bsize - 2;
	fs->apb = 1u << fs->apb_log;
	if (fs->bsize < fs->dev->sector_size) {
		printk(KERN_ERR "ext2 %s: block size %u below sector size %u\n",
		       dn, fs->bsize, fs->dev->sector_size);
		return -EINVAL;
	}

	fs->blocks_count = sb->s_blocks_count;
	fs->inodes_count = sb->s_inodes_count;
	fs->first_data_block = sb->s_first_data_block;
	fs->bpg = sb->s_blocks_per_group;
	fs->ipg = sb->s_inodes_per_group;
	fs->inode_size = sb->s_inode_size;
	fs->first_ino = sb->s_first_ino;
	const char *why = NULL;
	if (fs->first_data_block != (fs->bsize == 1024 ? 1u : 0u))
		why = "first data block";
	else if (fs->bpg < 8 || fs->bpg > 8 * fs->bsize || fs->bpg % 8)
		why = "blocks per group";
	else if (fs->ipg < 1 || fs->ipg > 8 * fs->bsize)
		why = "inodes per group";
	else if (fs->inode_size < EXT2_GOOD_OLD_INODE_SIZE ||
		 fs->inode_size > fs->bsize ||
		 (fs->inode_size & (fs->inode_size - 1)))
		why = "inode size";
	else if (fs->blocks_count <= fs->first_data_block + 1)
		why = "block count";
	if (why) {
		printk(KERN_ERR "ext2 %s: bad superblock: %s\n", dn, why);
		return -EUCLEAN;
	}
	fs->ngroups = (fs->blocks_count - fs->first_data_block + fs->bpg - 1) /
		      fs->bpg;
	fs->inodes_per_block = fs->bsize / fs->inode_size;
	fs->itable_blocks =
		(fs->ipg + fs->inodes_per_block - 1) / fs->inodes_per_block;
	uint32_t per = fs->bsize / sizeof(struct ext2_gd);
	fs->gdt_blocks = (fs->ngroups + per - 1) / per;
	fs->reserved_gdt = 0;
	if (sb->s_feature_compat & EXT2_COMPAT_RESIZE_INODE)
		fs->reserved_gdt = sb->s_reserved_gdt_blocks;
	if ((uint64_t)fs->ngroups * fs->ipg != fs->inodes_count)
		why = "inode count";
	else if (fs->first_ino < EXT2_GOOD_OLD_FIRST_INO ||
		 fs->first_ino > fs->inodes_count)
		why = "first inode";
	else if (fs->reserved_gdt > fs->bsize / 4)
		why = "reserved GDT blocks";
	else if (1 + fs->gdt_blocks + fs->reserved_gdt + 3 + fs->itable_blocks >
		 MIN(fs->bpg, fs->blocks_count - fs->first_data_block))
		why = "group 0 too small for its metadata";
	if (why) {
		printk(KERN_ERR "ext2 %s: bad superblock: %s\n", dn, why);
		return -EUCLEAN;
	}
	if ((uint64_t)fs->blocks_count * fs->bsize > blockdev_size(fs->dev)) {
		printk(KERN_ERR "ext2 %s: file system (%u blocks) larger than "
				"the device\n",
		       dn, fs->blocks_count);
		return -EINVAL;
	}

	/* Largest file: what the block map reaches, and what a 32-bit count
	 * of 512-byte sectors (data plus indirect blocks) can hold. */
	uint64_t apb = fs->apb;
	uint64_t mapped = EXT2_NDIR + apb + apb * apb + apb * apb * apb;
	uint64_t by_count = (0xffffffffull >> (fs->log_bsize - 9)) -
			    (3 + 2 * apb + apb * apb);
	fs->max_size = MIN(mapped, by_count) << fs->log_bsize;

	fs->extra_isize = 0;
	if (fs->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		uint32_t room = fs->inode_size - EXT2_GOOD_OLD_INODE_SIZE;
		uint32_t want =
			MAX(sb->s_want_extra_isize, sb->s_min_extra_isize);
		if (want < 4 || want > room || (want & 3))
			want = MIN(32u, room);
		fs->extra_isize = want;
	}
	fs->filetype = sb->s_feature_incompat & EXT2_INCOMPAT_FILETYPE;
	return 0;
}

/* Read, check and pin the group descriptors. */
static int load_groups(struct ext2_fs *fs)
{
	uint32_t per = fs->bsize / sizeof(struct ext2_gd);
	fs->groups = kzalloc(sizeof(struct ext2_group) * fs->ngroups);
	fs->gdbufs = kzalloc(sizeof(struct buf *) * fs->gdt_blocks);
	if (!fs->groups || !fs->gdbufs)
		return -ENOMEM;
	for (uint32_t i = 0; i < fs->gdt_blocks; i++) {
		struct buf *b =
			bread(fs->dev, fs->first_data_block + 1 + i, fs->bsize);
		if (IS_ERR(b))
			return PTR_ERR(b);
		for (uint32_t j = 0; j < per && i * per + j < fs->ngroups;
		     j++) {
			struct ext2_gd gd;
			struct ext2_group *gr = &fs->groups[i * per + j];
			memcpy(&gd, b->data + j * sizeof gd, sizeof gd);
			gr->block_bitmap = gd.bg_block_bitmap;
			gr->inode_bitmap = gd.bg_inode_bitmap;
			gr->inode_table = gd.bg_inode_table;
			gr->free_blocks = gd.bg_free_blocks_count;
			gr->free_inodes = gd.bg_free_inodes_count;
			gr->used_dirs = gd.bg_used_dirs_count;
		}
		bpin(b);
		fs->gdbufs[i] = b;
		brelse(b);
	}
	uint64_t free_blocks = 0, free_inodes = 0;
	for (uint32_t g = 0; g < fs->ngroups; g++) {
		struct ext2_group *gr = &fs->groups[g];
		uint32_t first = ext2_group_first(fs, g);
		uint32_t n = ext2_group_nblocks(fs, g);
		uint32_t lo = first + group_meta(fs, g), hi = first + n;
		const char *why = NULL;
		if (gr->block_bitmap < lo || gr->block_bitmap >= hi)
			why = "block bitmap outside its group";
		else if (gr->inode_bitmap < lo || gr->inode_bitmap >= hi)
			why = "inode bitmap outside its group";
		else if (gr->inode_table < lo ||
			 (uint64_t)gr->inode_table + fs->itable_blocks > hi)
			why = "inode table outside its group";
		else if (gr->block_bitmap == gr->inode_bitmap)
			why = "bitmaps overlap";
		else if ((gr->block_bitmap >= gr->inode_table &&
			  gr->block_bitmap <
				  gr->inode_table + fs->itable_blocks) ||
			 (gr->inode_bitmap >= gr->inode_table &&
			  gr->inode_bitmap <
				  gr->inode_table + fs->itable_blocks))
			why = "bitmap inside the inode table";
		else if (gr->free_blocks > n || gr->free_inodes > fs->ipg ||
			 gr->used_dirs > fs->ipg)
			why = "counts out of range";
		if (why) {
			printk(KERN_ERR "ext2 %s: group %u: %s\n",
			       fs->dev->name, g, why);
			return -EUCLEAN;
		}
		free_blocks += gr->free_blocks;
		free_inodes += gr->free_inodes;
	}
	/* The groups' counts are authoritative, as in e2fsck. */
	fs->sb.s_free_blocks_count = free_blocks;
	fs->sb.s_free_inodes_count = free_inodes;
	return 0;
}

static void release(struct ext2_fs *fs)
{
	if (fs->gdbufs)
		for (uint32_t i = 0; i < fs->gdt_blocks; i++)
			if (fs->gdbufs[i])
				bunpin(fs->gdbufs[i]);
	if (fs->sbuf)
		bunpin(fs->sbuf);
	bcache_invalidate(fs->dev);
	kfree(fs->gdbufs);
	kfree(fs->groups);
	kfree(fs);
}

struct ext2_fs *ext2_mount(struct blockdev *dev, unsigned flags)
{
	struct ext2_fs *fs = kzalloc(sizeof *fs);
	if (!fs)
		return ERR_PTR(-ENOMEM);
	fs->dev = dev;
	fs->flags = flags;
	sleeplock_init(&fs->ns_lock, "ext2-ns");
	sleeplock_init(&fs->alloc_lock, "ext2-alloc");
	spin_init(&fs->icache_lock, "ext2-icache");
	bool ro = (flags & EXT2_MOUNT_RDONLY) || dev->readonly;

	/* Buffers of another block size may be cached for this device. */
	int err = bcache_invalidate(dev);
	if (!err)
		err = read_super(dev, &fs->sb);
	if (!err)
		err = check_super(fs, &ro);
	if (err) {
		kfree(fs);
		return ERR_PTR(err);
	}
	fs->ro = ro;

	uint32_t sblk = EXT2_SB_OFFSET / fs->bsize;
	fs->sb_off = EXT2_SB_OFFSET % fs->bsize;
	struct buf *b = bread(dev, sblk, fs->bsize);
	if (IS_ERR(b)) {
		release(fs);
		return ERR_PTR(PTR_ERR(b));
	}
	bpin(b);
	fs->sbuf = b;
	brelse(b);
	err = load_groups(fs);
	if (err) {
		release(fs);
		return ERR_PTR(err);
	}

	struct ext2_inode *root = ext2_iget(fs, EXT2_ROOT_INO);
	if (IS_ERR(root) || !S_ISDIR(root->d.i_mode)) {
		printk(KERN_ERR "ext2 %s: root inode is not a directory\n",
		       dev->name);
		if (!IS_ERR(root))
			ext2_iput(root);
		release(fs);
		return ERR_PTR(-EUCLEAN);
	}
	ext2_iput(root);

	if (!(fs->sb.s_state & EXT2_VALID_FS))
		printk(KERN_WARN "ext2 %s: not cleanly unmounted; run "
				 "e2fsck\n",
		       dev->name);
	else if (fs->sb.s_state & EXT2_ERROR_FS)
		printk(KERN_WARN "ext2 %s: has errors; run e2fsck\n",
		       dev->name);
	if (!fs->ro) {
		fs->sb.s_state &= ~EXT2_VALID_FS;
		fs->sb.s_mnt_count++;
		fs->sb.s_mtime = fs->sb.s_wtime = ext2_now();
		ext2_write_super(fs);
		err = bcache_flush(dev);
		if (err) {
			release(fs);
			return ERR_PTR(err);
		}
	}
	fs->generation = fs->sb.s_wtime;
	printk(KERN_INFO "ext2 %s: mounted %s, %u KiB blocks, %u blocks, "
			 "%u inodes, %u groups\n",
	       dev->name, fs->ro ? "read-only" : "read-write", fs->bsize / 1024,
	       fs->blocks_count, fs->inodes_count, fs->ngroups);
	return fs;
}

int ext2_sync(struct ext2_fs *fs)
{
	if (!fs->ro) {
		sleeplock_acquire(&fs->alloc_lock);
		fs->sb.s_wtime = ext2_now();
		if (fs->errors)
			fs->sb.s_state |= EXT2_ERROR_FS;
		ext2_write_super(fs);
		sleeplock_release(&fs->alloc_lock);
	}
	return bcache_flush(fs->dev);
}

int ext2_unmount(struct ext2_fs *fs)
{
	spin_lock(&fs->icache_lock);
	unsigned busy = fs->ninodes;
	spin_unlock(&fs->icache_lock);
	if (busy)
		return -EBUSY;
	if (!fs->ro) {
		sleeplock_acquire(&fs->alloc_lock);
		fs->sb.s_state |= EXT2_VALID_FS;
		sleeplock_release(&fs->alloc_lock);
	}
	int err = ext2_sync(fs);
	release(fs);
	return err;
}

int ext2_statfs(struct ext2_fs *fs, struct ext2_statfs *st)
{
	sleeplock_acquire(&fs->alloc_lock);
	st->bsize = fs->bsize;
	st->blocks = fs->blocks_count;
	st->bfree = fs->sb.s_free_blocks_count;
	st->bavail = st->bfree > fs->sb.s_r_blocks_count
			     ? st->bfree - fs->sb.s_r_blocks_count
			     : 0;
	st->files = fs->inodes_count;
	st->ffree = fs->sb.s_free_inodes_count;
	st->namelen = EXT2_NAME_MAX;
	sleeplock_release(&fs->alloc_lock);
	return 0;
}
