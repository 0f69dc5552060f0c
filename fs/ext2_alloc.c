/*
 * ext2_alloc.c — block and inode allocation from the groups' bitmaps.
 *
 * Interface (ext2_impl.h): ext2_alloc_block, ext2_free_block,
 * ext2_alloc_inode, ext2_free_inode. Each takes fs->alloc_lock and keeps
 * the bitmap, the group descriptor and the superblock counts in step: a
 * bit changes together with both counts, or nothing changes.
 *
 * Policy: a block is taken at or after the goal in the goal's group, then
 * in the following groups; an inode for a file in its parent's group, else
 * the next group with free inodes and blocks, else any; a directory's
 * inode in the group (from a rotor) with at least the average number of
 * free inodes and the most free blocks, which spreads directories.
 *
 * A bitmap that disagrees with the descriptor's count, a "free" block that
 * is metadata, or a "free" inode that is in use is reported as corruption
 * and skipped, never used.
 */
#include "fs/ext2_impl.h"

static bool test_bit(const uint8_t *map, uint32_t i)
{
	return map[i >> 3] & (1u << (i & 7));
}

static void set_bit(uint8_t *map, uint32_t i)
{
	map[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void clear_bit(uint8_t *map, uint32_t i)
{
	map[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* First clear bit in [from, n), or n. */
static uint32_t find_zero(const uint8_t *map, uint32_t from, uint32_t n)
{
	uint32_t i = from;
	while (i < n) {
		if ((i & 7) == 0 && i + 8 <= n && map[i >> 3] == 0xff) {
			i += 8;
			continue;
		}
		if (!test_bit(map, i))
			return i;
		i++;
	}
	return n;
}

/* Take a free block of group g at or after bit `from` (wrapping). Caller
 * holds alloc_lock. Returns 0, -ENOSPC (none usable) or -EIO. */
static int alloc_in_group(struct ext2_fs *fs, uint32_t g, uint32_t from,
			  uint32_t *out)
{
	struct ext2_group *gr = &fs->groups[g];
	uint32_t n = ext2_group_nblocks(fs, g);
	uint32_t first = ext2_group_first(fs, g);
	struct buf *b = bread(fs->dev, gr->block_bitmap, fs->bsize);
	if (IS_ERR(b))
		return PTR_ERR(b);
	if (from >= n)
		from = 0;
	/* Search [from, n), then [0, from). */
	uint32_t bit = n;
	for (int pass = 0; pass < 2 && bit == n; pass++) {
		uint32_t lo = pass ? 0 : from, hi = pass ? from : n;
		uint32_t i = find_zero(b->data, lo, hi);
		while (i < hi && !ext2_block_ok(fs, first + i)) {
			ext2_corrupt(fs,
				     "group %u: bitmap shows metadata "
				     "block %u free",
				     g, first + i);
			i = find_zero(b->data, i + 1, hi);
		}
		if (i < hi)
			bit = i;
	}
	if (bit == n) {
		brelse(b);
		ext2_corrupt(fs,
			     "group %u: %u free blocks counted, bitmap %u "
			     "has none",
			     g, gr->free_blocks, gr->block_bitmap);
		return -ENOSPC;
	}
	set_bit(b->data, bit);
	bdirty(b);
	brelse(b);
	gr->free_blocks--;
	if (fs->sb.s_free_blocks_count)
		fs->sb.s_free_blocks_count--;
	ext2_write_group(fs, g);
	ext2_write_super(fs);
	*out = first + bit;
	return 0;
}

int ext2_alloc_block(struct ext2_fs *fs, uint32_t goal, uint32_t *out)
{
	if (goal < fs->first_data_block || goal >= fs->blocks_count)
		goal = fs->first_data_block;
	uint32_t g0 = (goal - fs->first_data_block) / fs->bpg;
	int err = -ENOSPC;
	sleeplock_acquire(&fs->alloc_lock);
	for (uint32_t i = 0; i < fs->ngroups; i++) {
		uint32_t g = (g0 + i) % fs->ngroups;
		if (!fs->groups[g].free_blocks)
			continue;
		uint32_t from = i == 0 ? goal - ext2_group_first(fs, g) : 0;
		err = alloc_in_group(fs, g, from, out);
		if (err != -ENOSPC)
			break;
	}
	sleeplock_release(&fs->alloc_lock);
	return err;
}

int ext2_free_block(struct ext2_fs *fs, uint32_t blk)
{
	if (!ext2_block_ok(fs, blk))
		return ext2_corrupt(fs, "freeing block %u: not a data block",
				    blk);
	uint32_t g = (blk - fs->first_data_block) / fs->bpg;
	uint32_t bit = blk - ext2_group_first(fs, g);
	struct ext2_group *gr = &fs->groups[g];
	sleeplock_acquire(&fs->alloc_lock);
	struct buf *b = bread(fs->dev, gr->block_bitmap, fs->bsize);
	int err = 0;
	if (IS_ERR(b)) {
		err = PTR_ERR(b);
	} else if (!test_bit(b->data, bit)) {
		brelse(b);
		err = ext2_corrupt(fs, "freeing block %u: already free", blk);
	} else {
		clear_bit(b->data, bit);
		bdirty(b);
		brelse(b);
		if (gr->free_blocks < ext2_group_nblocks(fs, g))
			gr->free_blocks++;
		if (fs->sb.s_free_blocks_count < fs->blocks_count)
			fs->sb.s_free_blocks_count++;
		ext2_write_group(fs, g);
		ext2_write_super(fs);
	}
	sleeplock_release(&fs->alloc_lock);
	return err;
}

/* Is inode ino in use on disk (links and mode set, no deletion time)? */
static int inode_in_use(struct ext2_fs *fs, uint32_t ino, bool *used)
{
	uint32_t g = ext2_group_of_ino(fs, ino), idx = (ino - 1) % fs->ipg;
	uint64_t off = (uint64_t)idx * fs->inode_size;
	struct buf *b = bread(
		fs->dev, fs->groups[g].inode_table + (off >> fs->log_bsize),
		fs->bsize);
	if (IS_ERR(b))
		return PTR_ERR(b);
	struct ext2_dinode d;
	memcpy(&d, b->data + (off & (fs->bsize - 1)), sizeof d);
	brelse(b);
	*used = d.i_mode && d.i_links_count && !d.i_dtime;
	return 0;
}

/* Take a free inode of group g. Caller holds alloc_lock. Returns 0,
 * -ENOSPC (none usable) or -EIO. */
static int ialloc_in_group(struct ext2_fs *fs, uint32_t g, bool dir,
			   uint32_t *out)
{
	struct ext2_group *gr = &fs->groups[g];
	uint32_t bit = 0;
	if (g == 0)
		bit = fs->first_ino - 1; /* reserved inodes */
	for (;;) {
		struct buf *b = bread(fs->dev, gr->inode_bitmap, fs->bsize);
		if (IS_ERR(b))
			return PTR_ERR(b);
		bit = find_zero(b->data, bit, fs->ipg);
		brelse(b);
		if (bit >= fs->ipg) {
			ext2_corrupt(fs,
				     "group %u: %u free inodes counted, "
				     "bitmap %u has none",
				     g, gr->free_inodes, gr->inode_bitmap);
			return -ENOSPC;
		}
		uint32_t ino = g * fs->ipg + bit + 1;
		bool used = false;
		int err = inode_in_use(fs, ino, &used);
		if (err)
			return err;
		if (used) {
			ext2_corrupt(fs,
				     "inode %u: in use but free in its "
				     "bitmap",
				     ino);
			bit++;
			continue;
		}
		b = bread(fs->dev, gr->inode_bitmap, fs->bsize);
		if (IS_ERR(b))
			return PTR_ERR(b);
		set_bit(b->data, bit);
		bdirty(b);
		brelse(b);
		gr->free_inodes--;
		if (dir)
			gr->used_dirs++;
		if (fs->sb.s_free_inodes_count)
			fs->sb.s_free_inodes_count--;
		ext2_write_group(fs, g);
		ext2_write_super(fs);
		*out = ino;
		return 0;
	}
}

int ext2_alloc_inode(struct ext2_fs *fs, uint32_t parent, bool dir,
		     uint32_t *out)
{
	uint32_t n = fs->ngroups;
	uint32_t pg = 0;
	if (parent >= 1 && parent <= fs->inodes_count)
		pg = ext2_group_of_ino(fs, parent);
	sleeplock_acquire(&fs->alloc_lock);
	int err = -ENOSPC;
	if (dir) {
		uint32_t avg = fs->sb.s_free_inodes_count / n, best = n;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t g = (fs->dir_rotor + i) % n;
			const struct ext2_group *gr = &fs->groups[g];
			if (!gr->free_inodes || gr->free_inodes < avg)
				continue;
			if (best == n ||
			    gr->free_blocks > fs->groups[best].free_blocks)
				best = g;
		}
		if (best < n) {
			fs->dir_rotor = (best + 1) % n;
			err = ialloc_in_group(fs, best, dir, out);
		}
	}
	/* Near the parent: first a group with inodes and blocks, then any
	 * group with inodes. */
	for (int pass = 0; pass < 2 && err == -ENOSPC; pass++) {
		for (uint32_t i = 0; i < n && err == -ENOSPC; i++) {
			uint32_t g = (pg + i) % n;
			const struct ext2_group *gr = &fs->groups[g];
			if (!gr->free_inodes || (pass == 0 && !gr->free_blocks))
				continue;
			err = ialloc_in_group(fs, g, dir, out);
		}
	}
	sleeplock_release(&fs->alloc_lock);
	return err;
}

int ext2_free_inode(struct ext2_fs *fs, uint32_t ino, bool dir)
{
	if (ino < fs->first_ino || ino > fs->inodes_count)
		return ext2_corrupt(fs,
				    "freeing inode %u: reserved or out of "
				    "range",
				    ino);
	uint32_t g = ext2_group_of_ino(fs, ino), bit = (ino - 1) % fs->ipg;
	struct ext2_group *gr = &fs->groups[g];
	sleeplock_acquire(&fs->alloc_lock);
	struct buf *b = bread(fs->dev, gr->inode_bitmap, fs->bsize);
	int err = 0;
	if (IS_ERR(b)) {
		err = PTR_ERR(b);
	} else if (!test_bit(b->data, bit)) {
		brelse(b);
		err = ext2_corrupt(fs, "freeing inode %u: already free", ino);
	} else {
		clear_bit(b->data, bit);
		bdirty(b);
		brelse(b);
		if (gr->free_inodes < fs->ipg)
			gr->free_inodes++;
		if (dir && gr->used_dirs)
			gr->used_dirs--;
		if (fs->sb.s_free_inodes_count < fs->inodes_count)
			fs->sb.s_free_inodes_count++;
		ext2_write_group(fs, g);
		ext2_write_super(fs);
	}
	sleeplock_release(&fs->alloc_lock);
	return err;
}
