/*
 * ext2_inode.c — in-memory inodes, the block map and file data.
 *
 * Interface (fs/fs.h): ext2_iget/igrab/iput/root, ext2_read/write/
 * truncate/fsync, ext2_getattr/setattr, ext2_readlink; (ext2_impl.h)
 * ext2_inew, ext2_iupdate, ext2_bmap and the *_locked variants.
 *
 * Inode cache: one object per inode number in use, found through
 * fs->ihash; refcnt counts references (fs->icache_lock). The object is
 * loaded once, under its sleeplock, by whichever thread takes that lock
 * first; `loaded` is then set and never cleared while referenced. Loading
 * pins the inode-table block, so writing the inode back never needs I/O.
 * The last iput of an inode with no links frees its blocks, its xattr
 * block and the inode itself.
 *
 * Block map: i_block[0..11] direct, [12] single, [13] double, [14] triple
 * indirect. Every block number read from disk is checked (ext2_block_ok)
 * before use. Filling a hole allocates every block the path needs first
 * and links the new chain last, so a failure leaves the map unchanged.
 * Truncation holds the indirect blocks of the path it frees (at most three,
 * refusing a block that is its own ancestor).
 */
#include "fs/ext2_impl.h"
#include "vm/vm.h"

static uint32_t spb(const struct ext2_fs *fs)
{
	return fs->bsize >> 9; /* 512-byte sectors per block */
}

bool ext2_fast_symlink(const struct ext2_inode *ip)
{
	if (!S_ISLNK(ip->d.i_mode))
		return false;
	uint32_t ea = ip->d.i_file_acl ? spb(ip->fs) : 0;
	return ip->d.i_blocks <= ea;
}

bool ext2_has_blocks(const struct ext2_inode *ip)
{
	uint32_t m = ip->d.i_mode;
	return S_ISREG(m) || S_ISDIR(m) ||
	       (S_ISLNK(m) && !ext2_fast_symlink(ip));
}

uint8_t ext2_mode_to_ft(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EXT2_FT_REG_FILE;
	case S_IFDIR:
		return EXT2_FT_DIR;
	case S_IFCHR:
		return EXT2_FT_CHRDEV;
	case S_IFBLK:
		return EXT2_FT_BLKDEV;
	case S_IFIFO:
		return EXT2_FT_FIFO;
	case S_IFSOCK:
		return EXT2_FT_SOCK;
	case S_IFLNK:
		return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

void ext2_set_isize(struct ext2_inode *ip, uint64_t size)
{
	ip->d.i_size = (uint32_t)size;
	if (S_ISREG(ip->d.i_mode))
		ip->d.i_size_high = (uint32_t)(size >> 32);
}

static void sub_blocks(struct ext2_inode *ip, uint32_t n)
{
	ip->d.i_blocks = ip->d.i_blocks > n ? ip->d.i_blocks - n : 0;
}

/* ------------------------------------------------------------ inode cache */

static struct ext2_inode *ihash_find(struct ext2_fs *fs, uint32_t ino)
{
	struct ext2_inode *ip = fs->ihash[ino % EXT2_IHASH];
	while (ip && ip->ino != ino)
		ip = ip->hnext;
	return ip;
}

static void ihash_remove(struct ext2_inode *ip)
{
	struct ext2_inode **pp = &ip->fs->ihash[ip->ino % EXT2_IHASH];
	while (*pp && *pp != ip)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = ip->hnext;
	ip->hnext = NULL;
}

static struct ext2_inode *ialloc_obj(struct ext2_fs *fs, uint32_t ino)
{
	struct ext2_inode *ip = kzalloc(sizeof *ip);
	if (!ip)
		return NULL;
	ip->fs = fs;
	ip->ino = ino;
	ip->refcnt = 1;
	sleeplock_init(&ip->lock, "ext2-inode");
	return ip;
}

/* Read ip's disk inode and pin its block. Caller holds ip->lock. */
static int load(struct ext2_inode *ip)
{
	struct ext2_fs *fs = ip->fs;
	uint32_t g = ext2_group_of_ino(fs, ip->ino);
	uint64_t off = (uint64_t)((ip->ino - 1) % fs->ipg) * fs->inode_size;
	struct buf *b = bread(
		fs->dev, fs->groups[g].inode_table + (off >> fs->log_bsize),
		fs->bsize);
	if (IS_ERR(b))
		return PTR_ERR(b);
	ip->itb_off = off & (fs->bsize - 1);
	memcpy(&ip->d, b->data + ip->itb_off, sizeof ip->d);
	bpin(b);
	ip->itb = b;
	brelse(b);
	if (!ip->d.i_links_count || !ip->d.i_mode)
		return ext2_corrupt(fs, "inode %u: referenced but not in use",
				    ip->ino);
	if (ext2_mode_to_ft(ip->d.i_mode) == EXT2_FT_UNKNOWN)
		return ext2_corrupt(fs, "inode %u: bad mode %#o", ip->ino,
				    ip->d.i_mode);
	return 0;
}

struct ext2_inode *ext2_iget(struct ext2_fs *fs, uint32_t ino)
{
	if (ino < 1 || ino > fs->inodes_count ||
	    (ino < fs->first_ino && ino != EXT2_ROOT_INO))
		return ERR_PTR(ext2_corrupt(fs,
					    "inode number %u is reserved "
					    "or out of range",
					    ino));
	spin_lock(&fs->icache_lock);
	struct ext2_inode *ip = ihash_find(fs, ino);
	if (ip)
		ip->refcnt++;
	spin_unlock(&fs->icache_lock);
	if (!ip) {
		struct ext2_inode *fresh = ialloc_obj(fs, ino);
		if (!fresh)
			return ERR_PTR(-ENOMEM);
		spin_lock(&fs->icache_lock);
		ip = ihash_find(fs, ino);
		if (ip) {
			ip->refcnt++;
		} else {
			ip = fresh;
			ip->hnext = fs->ihash[ino % EXT2_IHASH];
			fs->ihash[ino % EXT2_IHASH] = ip;
			fs->ninodes++;
			fresh = NULL;
		}
		spin_unlock(&fs->icache_lock);
		kfree(fresh);
	}
	if (!__atomic_load_n(&ip->loaded, __ATOMIC_ACQUIRE)) {
		sleeplock_acquire(&ip->lock);
		if (!ip->loaded && !ip->load_err) {
			ip->load_err = load(ip);
			if (!ip->load_err)
				__atomic_store_n(&ip->loaded, true,
						 __ATOMIC_RELEASE);
		}
		int err = ip->loaded ? 0 : ip->load_err;
		sleeplock_release(&ip->lock);
		if (err) {
			ext2_iput(ip);
			return ERR_PTR(err);
		}
	}
	return ip;
}

struct ext2_inode *ext2_root(struct ext2_fs *fs)
{
	return ext2_iget(fs, EXT2_ROOT_INO);
}

struct ext2_inode *ext2_igrab(struct ext2_inode *ip)
{
	spin_lock(&ip->fs->icache_lock);
	KASSERT(ip->refcnt > 0);
	ip->refcnt++;
	spin_unlock(&ip->fs->icache_lock);
	return ip;
}

uint32_t ext2_ino(const struct ext2_inode *ip)
{
	return ip->ino;
}

uint32_t ext2_mode(const struct ext2_inode *ip)
{
	return ip->d.i_mode; /* the type bits never change */
}

struct ext2_fs *ext2_inode_fs(const struct ext2_inode *ip)
{
	return ip->fs;
}

void ext2_iupdate(struct ext2_inode *ip)
{
	struct ext2_fs *fs = ip->fs;
	struct buf *b = bread(fs->dev, ip->itb->blockno, fs->bsize);
	KASSERT(!IS_ERR(b)); /* pinned and valid: no I/O */
	memcpy(b->data + ip->itb_off, &ip->d, sizeof ip->d);
	bdirty(b);
	brelse(b);
}

static int truncate_blocks(struct ext2_inode *ip, uint64_t first);

/* Drop ip's reference to its xattr block, freeing the block with the
 * last reference. */
static void free_xattr(struct ext2_inode *ip)
{
	struct ext2_fs *fs = ip->fs;
	uint32_t blk = ip->d.i_file_acl;
	ip->d.i_file_acl = 0;
	if (!ext2_block_ok(fs, blk)) {
		ext2_corrupt(fs, "inode %u: bad xattr block %u", ip->ino, blk);
		return;
	}
	struct buf *b = bread(fs->dev, blk, fs->bsize);
	if (IS_ERR(b))
		return;
	uint32_t hdr[2];
	memcpy(hdr, b->data, sizeof hdr);
	if (hdr[0] != EXT2_XATTR_MAGIC || hdr[1] == 0) {
		brelse(b);
		ext2_corrupt(fs, "inode %u: xattr block %u has a bad header",
			     ip->ino, blk);
		return;
	}
	sub_blocks(ip, spb(fs));
	if (hdr[1] > 1) {
		hdr[1]--;
		memcpy(b->data, hdr, sizeof hdr);
		bdirty(b);
		brelse(b);
		return;
	}
	brelse(b);
	ext2_free_block(fs, blk);
}

/* Free an unreferenced inode with no links: its blocks, xattr block and
 * the inode. Errors are logged and leave blocks leaked, never reused. */
static void idelete(struct ext2_inode *ip)
{
	struct ext2_fs *fs = ip->fs;
	sleeplock_acquire(&ip->lock);
	if (ext2_has_blocks(ip)) {
		ext2_set_isize(ip, 0);
		truncate_blocks(ip, 0);
	}
	if (ip->d.i_file_acl)
		free_xattr(ip);
	ip->d.i_dtime = MAX(ext2_now(), 1u);
	ext2_iupdate(ip);
	ext2_free_inode(fs, ip->ino, S_ISDIR(ip->d.i_mode));
	sleeplock_release(&ip->lock);
}

void ext2_iput(struct ext2_inode *ip)
{
	struct ext2_fs *fs = ip->fs;
	spin_lock(&fs->icache_lock);
	KASSERT(ip->refcnt > 0);
	if (--ip->refcnt > 0) {
		spin_unlock(&fs->icache_lock);
		return;
	}
	ihash_remove(ip);
	spin_unlock(&fs->icache_lock);
	if (ip->loaded && ip->d.i_links_count == 0 && !fs->ro)
		idelete(ip);
	if (ip->itb)
		bunpin(ip->itb);
	spin_lock(&fs->icache_lock);
	fs->ninodes--;
	spin_unlock(&fs->icache_lock);
	kfree(ip);
}

struct ext2_inode *ext2_inew(struct ext2_fs *fs, uint32_t ino, uint32_t mode,
			     uint32_t uid, uint32_t gid)
{
	struct ext2_inode *ip = ialloc_obj(fs, ino);
	if (!ip)
		return ERR_PTR(-ENOMEM);
	sleeplock_acquire(&ip->lock);
	spin_lock(&fs->icache_lock);
	bool clash = ihash_find(fs, ino) != NULL;
	if (!clash) {
		ip->hnext = fs->ihash[ino % EXT2_IHASH];
		fs->ihash[ino % EXT2_IHASH] = ip;
		fs->ninodes++;
	}
	spin_unlock(&fs->icache_lock);
	if (clash) {
		sleeplock_release(&ip->lock);
		kfree(ip);
		return ERR_PTR(ext2_corrupt(fs,
					    "inode %u: allocated while in "
					    "use",
					    ino));
	}

	uint32_t g = ext2_group_of_ino(fs, ino);
	uint64_t off = (uint64_t)((ino - 1) % fs->ipg) * fs->inode_size;
	struct buf *b = bread(
		fs->dev, fs->groups[g].inode_table + (off >> fs->log_bsize),
		fs->bsize);
	if (IS_ERR(b)) {
		ip->load_err = PTR_ERR(b);
		sleeplock_release(&ip->lock);
		ext2_iput(ip);
		return ERR_PTR(PTR_ERR(b));
	}
	ip->itb_off = off & (fs->bsize - 1);
	uint8_t *raw = b->data + ip->itb_off;
	memset(raw, 0, fs->inode_size);
	uint32_t now = ext2_now();
	ip->d.i_mode = mode;
	ip->d.i_uid = (uint16_t)uid;
	ip->d.i_uid_high = (uint16_t)(uid >> 16);
	ip->d.i_gid = (uint16_t)gid;
	ip->d.i_gid_high = (uint16_t)(gid >> 16);
	ip->d.i_atime = ip->d.i_ctime = ip->d.i_mtime = now;
	ip->d.i_links_count = 1;
	ip->d.i_generation = ++fs->generation;
	memcpy(raw, &ip->d, sizeof ip->d);
	if (fs->extra_isize) {
		uint16_t extra = fs->extra_isize;
		memcpy(raw + 128, &extra, 2);
		if (extra >= 20) /* i_crtime, at 144 */
			memcpy(raw + 144, &now, 4);
	}
	bdirty(b);
	bpin(b);
	ip->itb = b;
	brelse(b);
	__atomic_store_n(&ip->loaded, true, __ATOMIC_RELEASE);
	sleeplock_release(&ip->lock);
	return ip;
}

/* -------------------------------------------------------------- block map */

/* The path to logical block lblk: the i_block slot and the index in each
 * indirect block. Returns the depth (0..3) or -EFBIG. */
static int map_path(const struct ext2_fs *fs, uint32_t lblk, uint32_t *slot,
		    uint32_t idx[3])
{
	uint64_t n = lblk, mask = fs->apb - 1;
	unsigned l = fs->apb_log;
	if (n < EXT2_NDIR) {
		*slot = n;
		return 0;
	}
	n -= EXT2_NDIR;
	if (n < fs->apb) {
		*slot = EXT2_IND;
		idx[0] = n;
		return 1;
	}
	n -= fs->apb;
	if (n < (1ull << 2 * l)) {
		*slot = EXT2_DIND;
		idx[0] = n >> l;
		idx[1] = n & mask;
		return 2;
	}
	n -= 1ull << 2 * l;
	if (n < (1ull << 3 * l)) {
		*slot = EXT2_TIND;
		idx[0] = n >> 2 * l;
		idx[1] = (n >> l) & mask;
		idx[2] = n & mask;
		return 3;
	}
	return -EFBIG;
}

static uint32_t get_entry(const struct buf *b, uint32_t i)
{
	uint32_t v;
	memcpy(&v, b->data + 4 * i, 4);
	return v;
}

static void set_entry(struct buf *b, uint32_t i, uint32_t v)
{
	memcpy(b->data + 4 * i, &v, 4);
}

int ext2_bmap(struct ext2_inode *ip, uint32_t lblk, bool create, uint32_t *pblk)
{
	struct ext2_fs *fs = ip->fs;
	uint32_t slot, idx[3];
	int depth = map_path(fs, lblk, &slot, idx);
	if (depth < 0)
		return depth;

	/* ptr[j]: the block at position j of the path (j == depth: the
	 * data block); k: the first position that is a hole. */
	uint32_t ptr[4];
	int k;
	ptr[0] = ip->d.i_block[slot];
	for (k = 0;; k++) {
		if (!ptr[k])
			break;
		if (!ext2_block_ok(fs, ptr[k]))
			return ext2_corrupt(fs,
					    "inode %u: bad block %u mapping "
					    "logical block %u",
					    ip->ino, ptr[k], lblk);
		if (k == depth) {
			*pblk = ptr[k];
			return 0;
		}
		struct buf *b = bread(fs->dev, ptr[k], fs->bsize);
		if (IS_ERR(b))
			return PTR_ERR(b);
		ptr[k + 1] = get_entry(b, idx[k]);
		brelse(b);
	}
	if (!create) {
		*pblk = 0;
		return 0;
	}
	if (fs->ro)
		return -EROFS;

	/* Allocate positions k..depth, then fill the new indirect blocks
	 * bottom-up, then link the chain. */
	uint32_t nb[4];
	int n = depth + 1 - k, err = 0, got;
	uint32_t goal = ip->goal;
	if (!goal)
		goal = ext2_group_first(fs, ext2_group_of_ino(fs, ip->ino));
	for (got = 0; got < n; got++) {
		err = ext2_alloc_block(fs, goal, &nb[got]);
		if (err)
			goto undo;
		goal = nb[got] + 1;
	}
	for (int j = depth; j >= k; j--) {
		struct buf *b = bgetz(fs->dev, nb[j - k], fs->bsize);
		if (IS_ERR(b)) {
			err = PTR_ERR(b);
			goto undo;
		}
		if (j < depth)
			set_entry(b, idx[j], nb[j - k + 1]);
		bdirty(b);
		brelse(b);
	}
	if (k == 0) {
		ip->d.i_block[slot] = nb[0];
	} else {
		struct buf *b = bread(fs->dev, ptr[k - 1], fs->bsize);
		if (IS_ERR(b)) {
			err = PTR_ERR(b);
			goto undo;
		}
		set_entry(b, idx[k - 1], nb[0]);
		bdirty(b);
		brelse(b);
	}
	ip->d.i_blocks += n * spb(fs);
	ip->goal = nb[n - 1] + 1;
	*pblk = nb[n - 1];
	return 0;
undo:
	while (got-- > 0)
		ext2_free_block(fs, nb[got]);
	return err;
}

struct trunc {
	struct ext2_inode *ip;
	uint64_t first; /* first logical block to free */
	uint64_t budget; /* block pointers left to visit */
};

/*
 * Free the part of the subtree at *pp that maps logical blocks >= t->first.
 * The subtree has `depth` levels of indirection and maps logical blocks
 * from base on; held[0..nheld) are the indirect blocks above it (locked by
 * the callers). A map cannot hold more pointers than the file system has
 * blocks, so a corrupted one that does (blocks shared between subtrees)
 * stops at the budget. Caller holds ip->lock. Returns 0 or the first error.
 */
static int free_tree(struct trunc *t, uint32_t *pp, int depth, uint64_t base,
		     const uint32_t *held, int nheld)
{
	struct ext2_inode *ip = t->ip;
	struct ext2_fs *fs = ip->fs;
	uint32_t blk = *pp;
	uint64_t span = 1ull << (depth * fs->apb_log);
	if (!blk || base + span <= t->first)
		return 0;
	if (!t->budget)
		return -EUCLEAN;
	if (--t->budget == 0)
		return ext2_corrupt(fs,
				    "inode %u: block map larger than the "
				    "file system",
				    ip->ino);
	int err = 0;
	for (int i = 0; i < nheld; i++)
		if (held[i] == blk)
			err = ext2_corrupt(fs,
					   "inode %u: indirect block %u "
					   "inside itself",
					   ip->ino, blk);
	if (!err && !ext2_block_ok(fs, blk))
		err = ext2_corrupt(fs, "inode %u: bad block %u in its map",
				   ip->ino, blk);
	if (err) {
		if (base >= t->first)
			*pp = 0;
		return err;
	}
	if (depth > 0) {
		struct buf *b = bread(fs->dev, blk, fs->bsize);
		if (IS_ERR(b))
			return PTR_ERR(b);
		uint64_t cspan = span >> fs->apb_log;
		uint32_t start = t->first > base ? (t->first - base) / cspan
						 : 0;
		uint32_t path[3];
		for (int i = 0; i < nheld; i++)
			path[i] = held[i];
		path[nheld] = blk;
		bool changed = false;
		for (uint32_t i = start; i < fs->apb && t->budget; i++) {
			uint32_t e = get_entry(b, i);
			if (!e)
				continue;
			int e2 = free_tree(t, &e, depth - 1, base + i * cspan,
					   path, nheld + 1);
			if (e2 && !err)
				err = e2;
			if (e != get_entry(b, i)) {
				set_entry(b, i, e);
				changed = true;
			}
		}
		if (changed)
			bdirty(b);
		brelse(b);
	}
	if (base >= t->first) {
		ext2_free_block(fs, blk);
		*pp = 0;
		sub_blocks(ip, spb(fs));
	}
	return err;
}

/* Free every block mapping logical blocks >= first. */
static int truncate_blocks(struct ext2_inode *ip, uint64_t first)
{
	struct ext2_fs *fs = ip->fs;
	uint64_t apb = fs->apb;
	struct trunc t = {ip, first, (uint64_t)fs->blocks_count + 1};
	uint64_t base[EXT2_N_BLOCKS];
	int depth[EXT2_N_BLOCKS];
	for (int i = 0; i < EXT2_NDIR; i++) {
		base[i] = i;
		depth[i] = 0;
	}
	base[EXT2_IND] = EXT2_NDIR;
	base[EXT2_DIND] = EXT2_NDIR + apb;
	base[EXT2_TIND] = EXT2_NDIR + apb + apb * apb;
	depth[EXT2_IND] = 1;
	depth[EXT2_DIND] = 2;
	depth[EXT2_TIND] = 3;
	int err = 0;
	for (int i = 0; i < EXT2_N_BLOCKS; i++) {
		int e = free_tree(&t, &ip->d.i_block[i], depth[i], base[i],
				  NULL, 0);
		err = err ? err : e;
	}
	ip->goal = 0;
	return err;
}

/* ---------------------------------------------------------------- data */

int ext2_truncate_locked(struct ext2_inode *ip, uint64_t size)
{
	struct ext2_fs *fs = ip->fs;
	if (!ext2_has_blocks(ip))
		return -EINVAL;
	if (fs->ro)
		return -EROFS;
	if (size > fs->max_size)
		return -EFBIG;
	uint64_t old = ext2_isize(ip);
	int err = 0;
	if (size < old && (size & (fs->bsize - 1))) {
		/* Zero the tail of the new last block, so that extending the
		 * file again reads zeros there. */
		uint32_t p, off = size & (fs->bsize - 1);
		err = ext2_bmap(ip, size >> fs->log_bsize, false, &p);
		if (err)
			return err;
		if (p) {
			struct buf *b = bread(fs->dev, p, fs->bsize);
			if (IS_ERR(b))
				return PTR_ERR(b);
			memset(b->data + off, 0, fs->bsize - off);
			bdirty(b);
			brelse(b);
		}
	}
	ext2_set_isize(ip, size);
	if (size <= old)
		err = truncate_blocks(ip,
				      (size + fs->bsize - 1) >> fs->log_bsize);
	else if (size > 0x7fffffff)
		ext2_set_ro_compat(fs, EXT2_RO_COMPAT_LARGE_FILE);
	ip->d.i_mtime = ip->d.i_ctime = ext2_now();
	ext2_iupdate(ip);
	return err;
}

int64_t ext2_read_locked(struct ext2_inode *ip, uint64_t off, void *buf,
			 size_t len)
{
	struct ext2_fs *fs = ip->fs;
	uint64_t size = ext2_isize(ip);
	if (!ext2_has_blocks(ip))
		return -EINVAL;
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	size_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint32_t boff = pos & (fs->bsize - 1);
		size_t n = MIN((size_t)(fs->bsize - boff), len - done);
		uint32_t p = 0;
		int err = pos >> fs->log_bsize > UINT32_MAX
				  ? -EFBIG
				  : ext2_bmap(ip, pos >> fs->log_bsize, false,
					      &p);
		if (err)
			return done ? (int64_t)done : err;
		if (!p) {
			memset((char *)buf + done, 0, n);
		} else {
			struct buf *b = bread(fs->dev, p, fs->bsize);
			if (IS_ERR(b))
				return done ? (int64_t)done : PTR_ERR(b);
			memcpy((char *)buf + done, b->data + boff, n);
			brelse(b);
		}
		done += n;
	}
	return done;
}

int64_t ext2_write_locked(struct ext2_inode *ip, uint64_t off, const void *buf,
			  size_t len)
{
	struct ext2_fs *fs = ip->fs;
	if (fs->ro)
		return -EROFS;
	if (!len)
		return 0;
	if (off >= fs->max_size)
		return -EFBIG;
	if (len > fs->max_size - off)
		len = fs->max_size - off;
	uint64_t old = ext2_isize(ip);
	size_t done = 0;
	int err = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint32_t boff = pos & (fs->bsize - 1);
		size_t n = MIN((size_t)(fs->bsize - boff), len - done);
		uint32_t p;
		err = ext2_bmap(ip, pos >> fs->log_bsize, true, &p);
		if (err)
			break;
		struct buf *b = n == fs->bsize ? bgetz(fs->dev, p, fs->bsize)
					       : bread(fs->dev, p, fs->bsize);
		if (IS_ERR(b)) {
			err = PTR_ERR(b);
			break;
		}
		memcpy(b->data + boff, (const char *)buf + done, n);
		bdirty(b);
		brelse(b);
		done += n;
		if (pos + n > ext2_isize(ip))
			ext2_set_isize(ip, pos + n);
	}
	if (err && ext2_isize(ip) < off + len) {
		/* A block may have been mapped past the new end and not
		 * written: give back whatever lies beyond it. */
		truncate_blocks(ip, (ext2_isize(ip) + fs->bsize - 1) >>
					    fs->log_bsize);
	}
	if (done) {
		ip->d.i_mtime = ip->d.i_ctime = ext2_now();
		if (ext2_isize(ip) > 0x7fffffff && old <= 0x7fffffff)
			ext2_set_ro_compat(fs, EXT2_RO_COMPAT_LARGE_FILE);
	}
	ext2_iupdate(ip);
	return done ? (int64_t)done : err;
}

int64_t ext2_read(struct ext2_inode *ip, uint64_t off, void *buf, size_t len)
{
	sleeplock_acquire(&ip->lock);
	int64_t r = ext2_read_locked(ip, off, buf, len);
	sleeplock_release(&ip->lock);
	return r;
}

static int file_only(const struct ext2_inode *ip)
{
	if (S_ISDIR(ip->d.i_mode))
		return -EISDIR;
	return S_ISREG(ip->d.i_mode) ? 0 : -EINVAL;
}

int64_t ext2_write(struct ext2_inode *ip, uint64_t off, const void *buf,
		   size_t len)
{
	sleeplock_acquire(&ip->lock);
	int64_t r = file_only(ip);
	if (!r)
		r = ext2_write_locked(ip, off, buf, len);
	sleeplock_release(&ip->lock);
	return r;
}

int ext2_truncate(struct ext2_inode *ip, uint64_t size)
{
	sleeplock_acquire(&ip->lock);
	int r = file_only(ip);
	if (!r)
		r = ext2_truncate_locked(ip, size);
	sleeplock_release(&ip->lock);
	return r;
}

int ext2_fsync(struct ext2_inode *ip)
{
	return bcache_flush(ip->fs->dev);
}

/* ----------------------------------------------------------- attributes */

int ext2_getattr(struct ext2_inode *ip, struct ext2_stat *st)
{
	sleeplock_acquire(&ip->lock);
	const struct ext2_dinode *d = &ip->d;
	st->ino = ip->ino;
	st->mode = d->i_mode;
	st->nlink = d->i_links_count;
	st->uid = d->i_uid | (uint32_t)d->i_uid_high << 16;
	st->gid = d->i_gid | (uint32_t)d->i_gid_high << 16;
	st->size = ext2_isize(ip);
	st->blocks = d->i_blocks;
	st->blksize = ip->fs->bsize;
	st->rdev = 0;
	if (S_ISCHR(d->i_mode) || S_ISBLK(d->i_mode))
		st->rdev = d->i_block[0] ? d->i_block[0] : d->i_block[1];
	st->atime = d->i_atime;
	st->mtime = d->i_mtime;
	st->ctime = d->i_ctime;
	sleeplock_release(&ip->lock);
	return 0;
}

int ext2_setattr(struct ext2_inode *ip, const struct ext2_setattr *sa)
{
	int err = ext2_check_rw(ip->fs);
	if (err)
		return err;
	sleeplock_acquire(&ip->lock);
	struct ext2_dinode *d = &ip->d;
	if (sa->mask & EXT2_ATTR_SIZE) {
		err = file_only(ip);
		if (!err)
			err = ext2_truncate_locked(ip, sa->size);
	}
	if (!err) {
		if (sa->mask & EXT2_ATTR_MODE)
			d->i_mode = (d->i_mode & S_IFMT) | (sa->mode & 07777);
		if (sa->mask & EXT2_ATTR_UID) {
			d->i_uid = (uint16_t)sa->uid;
			d->i_uid_high = (uint16_t)(sa->uid >> 16);
		}
		if (sa->mask & EXT2_ATTR_GID) {
			d->i_gid = (uint16_t)sa->gid;
			d->i_gid_high = (uint16_t)(sa->gid >> 16);
		}
		if (sa->mask & EXT2_ATTR_ATIME)
			d->i_atime = (uint32_t)sa->atime;
		if (sa->mask & EXT2_ATTR_MTIME)
			d->i_mtime = (uint32_t)sa->mtime;
		d->i_ctime = (sa->mask & EXT2_ATTR_CTIME) ? (uint32_t)sa->ctime
							  : ext2_now();
		ext2_iupdate(ip);
	}
	sleeplock_release(&ip->lock);
	return err;
}

int ext2_readlink(struct ext2_inode *ip, char *buf, size_t size)
{
	struct ext2_fs *fs = ip->fs;
	int err = 0;
	sleeplock_acquire(&ip->lock);
	uint32_t len = ip->d.i_size;
	if (!S_ISLNK(ip->d.i_mode)) {
		err = -EINVAL;
	} else if (ext2_fast_symlink(ip)) {
		if (len >= sizeof ip->d.i_block)
			err = ext2_corrupt(fs,
					   "inode %u: fast symlink of %u "
					   "bytes",
					   ip->ino, len);
		else
			memcpy(buf, ip->d.i_block, MIN((size_t)len, size));
	} else if (len == 0 || len >= fs->bsize) {
		err = ext2_corrupt(fs, "inode %u: symlink of %u bytes", ip->ino,
				   len);
	} else {
		uint32_t p;
		err = ext2_bmap(ip, 0, false, &p);
		if (!err && !p)
			err = ext2_corrupt(fs,
					   "inode %u: symlink without a "
					   "block",
					   ip->ino);
		if (!err) {
			struct buf *b = bread(fs->dev, p, fs->bsize);
			if (IS_ERR(b)) {
				err = PTR_ERR(b);
			} else {
				memcpy(buf, b->data, MIN((size_t)len, size));
				brelse(b);
			}
		}
	}
	sleeplock_release(&ip->lock);
	return err ? err : (int)MIN((size_t)len, size);
}
