/*
 * ext2_dir.c — directories: entries, lookup, readdir and every change to
 * the tree (create, symlink, link, unlink, rmdir, rename).
 *
 * Interface (fs/fs.h): ext2_lookup, ext2_readdir, ext2_create,
 * ext2_symlink, ext2_link, ext2_unlink, ext2_rmdir, ext2_rename.
 *
 * A directory is a sequence of blocks, each a chain of entries whose
 * rec_len values add up to the block size exactly. Every entry is checked
 * before use (rec_len a multiple of 4, inside the block, large enough for
 * its name; inode number in range); a bad one makes the call fail with
 * -EUCLEAN. Inserting splits the slack after an entry (or reuses an empty
 * one, or appends a block); removing merges the entry into its
 * predecessor (or clears it when first in its block). Changing a directory
 * clears its hashed-index flag, so the dir_index htree is never stale.
 *
 * Every change is checked first and done second: names, existence,
 * emptiness, loops and free space are settled (inodes and blocks
 * allocated, blocks about to be changed read and pinned) before the first
 * entry is touched; the only step that allocates, adding an entry, comes
 * first, and a new inode is freed again if it fails.
 */
#include "fs/ext2_impl.h"

int ext2_check_name(const char *name, size_t len)
{
	if (len == 0)
		return -ENOENT;
	if (len > EXT2_NAME_MAX)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == 0)
			return -EINVAL;
	return 0;
}

static bool is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

static const uint8_t ft_to_dt[] = {
	EXT2_DT_UNKNOWN, EXT2_DT_REG,  EXT2_DT_DIR,  EXT2_DT_CHR,
	EXT2_DT_BLK,	 EXT2_DT_FIFO, EXT2_DT_SOCK, EXT2_DT_LNK,
};

/* The number of blocks of a directory, checked. */
static int dir_nblocks(struct ext2_inode *dir, uint32_t *n)
{
	struct ext2_fs *fs = dir->fs;
	if (!S_ISDIR(dir->d.i_mode))
		return -ENOTDIR;
	uint32_t size = dir->d.i_size;
	if (!size || (size & (fs->bsize - 1)) ||
	    (size >> fs->log_bsize) > fs->blocks_count)
		return ext2_corrupt(fs, "directory inode %u: bad size %u",
				    dir->ino, size);
	*n = size >> fs->log_bsize;
	return 0;
}

/* Block lblk of a directory, which may not be a hole. */
static struct buf *dir_bread(struct ext2_inode *dir, uint32_t lblk,
			     uint32_t *pblk)
{
	struct ext2_fs *fs = dir->fs;
	uint32_t p;
	int err = ext2_bmap(dir, lblk, false, &p);
	if (err)
		return ERR_PTR(err);
	if (!p)
		return ERR_PTR(ext2_corrupt(fs,
					    "directory inode %u: hole at "
					    "block %u",
					    dir->ino, lblk));
	*pblk = p;
	return bread(fs->dev, p, fs->bsize);
}

/* Copy and check the header of the entry at off of a directory block. */
static int dirent_at(struct ext2_inode *dir, uint32_t lblk, const uint8_t *data,
		     uint32_t off, struct ext2_dirent *de)
{
	struct ext2_fs *fs = dir->fs;
	if (off > fs->bsize - EXT2_DIRENT_HDR)
		return ext2_corrupt(fs,
				    "directory inode %u block %u: entry "
				    "at %u past the end",
				    dir->ino, lblk, off);
	memcpy(de, data + off, sizeof *de);
	if (de->rec_len < EXT2_DIRENT_HDR || (de->rec_len & 3) ||
	    de->rec_len > fs->bsize - off ||
	    de->name_len + EXT2_DIRENT_HDR > de->rec_len ||
	    de->inode > fs->inodes_count)
		return ext2_corrupt(fs,
				    "directory inode %u block %u offset "
				    "%u: bad entry (inode %u, rec_len %u, "
				    "name_len %u)",
				    dir->ino, lblk, off, de->inode, de->rec_len,
				    de->name_len);
	return 0;
}

static void put_dirent(struct ext2_fs *fs, uint8_t *p, uint32_t ino,
		       uint32_t rec_len, const char *name, size_t len,
		       uint8_t ft)
{
	struct ext2_dirent de = {ino, (uint16_t)rec_len, (uint8_t)len,
				 fs->filetype ? ft : 0};
	memcpy(p, &de, sizeof de);
	memcpy(p + EXT2_DIRENT_HDR, name, len);
	memset(p + EXT2_DIRENT_HDR + len, 0,
	       EXT2_DIRENT_LEN(len) - EXT2_DIRENT_HDR - len);
}

/* Where an entry is; its block stays pinned until dloc_release. */
struct dloc {
	uint32_t pblk, off, ino;
	uint8_t ft;
	struct buf *pin;
};

static void dloc_release(struct dloc *l)
{
	if (l->pin)
		bunpin(l->pin);
	l->pin = NULL;
}

/*
 * Call visit for every entry of dir, block by block, until it returns
 * non-zero: 1 ends the walk (dir_walk returns 1), a negative errno ends it
 * with that error. The block's buffer is released after visit returns;
 * visit may bpin or bdirty it. Returns 0 when every entry was visited.
 */
typedef int (*dirent_visit_fn)(void *ctx, struct buf *b, uint32_t pblk,
			       uint32_t off, const struct ext2_dirent *de);

static int dir_walk(struct ext2_inode *dir, dirent_visit_fn visit, void *ctx)
{
	uint32_t n;
	int r = dir_nblocks(dir, &n);
	if (r)
		return r;
	for (uint32_t lblk = 0; lblk < n && !r; lblk++) {
		uint32_t p;
		struct buf *b = dir_bread(dir, lblk, &p);
		if (IS_ERR(b))
			return PTR_ERR(b);
		for (uint32_t off = 0; !r && off < dir->fs->bsize;) {
			struct ext2_dirent de;
			r = dirent_at(dir, lblk, b->data, off, &de);
			if (!r) {
				r = visit(ctx, b, p, off, &de);
				off += de.rec_len;
			}
		}
		brelse(b);
	}
	return r;
}

struct find_ctx {
	const char *name;
	size_t len;
	struct dloc *loc;
};

static int find_visit(void *ctx, struct buf *b, uint32_t pblk, uint32_t off,
		      const struct ext2_dirent *de)
{
	struct find_ctx *f = ctx;
	if (!de->inode || de->name_len != f->len ||
	    memcmp(b->data + off + EXT2_DIRENT_HDR, f->name, f->len))
		return 0;
	f->loc->pblk = pblk;
	f->loc->off = off;
	f->loc->ino = de->inode;
	f->loc->ft = de->file_type;
	bpin(b);
	f->loc->pin = b;
	return 1;
}

/* Find name in dir. Caller holds dir->lock (or ns_lock, to read). */
static int find_entry(struct ext2_inode *dir, const char *name, size_t len,
		      struct dloc *loc)
{
	struct find_ctx f = {name, len, loc};
	int r = dir_walk(dir, find_visit, &f);
	return r == 1 ? 0 : r ? r : -ENOENT;
}

/* The ".." entry of directory dir (the second entry of block 0). */
static int find_dotdot(struct ext2_inode *dir, struct dloc *loc)
{
	uint32_t p, n;
	int err = dir_nblocks(dir, &n);
	if (err)
		return err;
	struct buf *b = dir_bread(dir, 0, &p);
	if (IS_ERR(b))
		return PTR_ERR(b);
	struct ext2_dirent d0, d1;
	err = dirent_at(dir, 0, b->data, 0, &d0);
	if (!err && d0.rec_len < dir->fs->bsize)
		err = dirent_at(dir, 0, b->data, d0.rec_len, &d1);
	else if (!err)
		err = -EUCLEAN;
	if (!err && (d0.name_len != 1 || b->data[EXT2_DIRENT_HDR] != '.' ||
		     d1.name_len != 2 ||
		     memcmp(b->data + d0.rec_len + EXT2_DIRENT_HDR, "..", 2) ||
		     !d1.inode))
		err = -EUCLEAN;
	if (err) {
		brelse(b);
		return err == -EUCLEAN ? ext2_corrupt(dir->fs,
						      "directory inode %u: no "
						      "'.' and '..' entries",
						      dir->ino)
				       : err;
	}
	loc->pblk = p;
	loc->off = d0.rec_len;
	loc->ino = d1.inode;
	loc->ft = d1.file_type;
	bpin(b);
	loc->pin = b;
	brelse(b);
	return 0;
}

static int nondot_visit(void *ctx, struct buf *b, uint32_t pblk, uint32_t off,
			const struct ext2_dirent *de)
{
	return de->inode &&
	       !is_dot((const char *)b->data + off + EXT2_DIRENT_HDR,
		       de->name_len);
}

static int dir_is_empty(struct ext2_inode *dir, bool *empty)
{
	int r = dir_walk(dir, nondot_visit, NULL);
	if (r < 0)
		return r;
	*empty = r == 0;
	return 0;
}

/* A directory changed: drop its hashed index, update its times. */
static void dir_touch(struct ext2_inode *dir)
{
	dir->d.i_flags &= ~EXT2_INDEX_FL;
	dir->d.i_mtime = dir->d.i_ctime = ext2_now();
	ext2_iupdate(dir);
}

struct add_ctx {
	struct ext2_fs *fs;
	const char *name;
	size_t len;
	uint32_t ino;
	uint8_t ft;
};

/* Put the new entry in the slack after de, if it fits there. */
static int add_visit(void *ctx, struct buf *b, uint32_t pblk, uint32_t off,
		     const struct ext2_dirent *de)
{
	struct add_ctx *a = ctx;
	uint32_t used = de->inode ? EXT2_DIRENT_LEN(de->name_len) : 0;
	if (de->rec_len - used < EXT2_DIRENT_LEN(a->len))
		return 0;
	if (used) {
		uint16_t shrunk = used;
		memcpy(b->data + off + 4, &shrunk, 2);
	}
	put_dirent(a->fs, b->data + off + used, a->ino, de->rec_len - used,
		   a->name, a->len, a->ft);
	bdirty(b);
	return 1;
}

/* Add an entry; the name must not exist. Caller holds dir->lock. */
static int add_entry(struct ext2_inode *dir, const char *name, size_t len,
		     uint32_t ino, uint8_t ft)
{
	struct ext2_fs *fs = dir->fs;
	struct add_ctx a = {fs, name, len, ino, ft};
	int err = dir_walk(dir, add_visit, &a);
	if (err == 1) {
		dir_touch(dir);
		return 0;
	}
	uint32_t n;
	if (err || (err = dir_nblocks(dir, &n)))
		return err;
	/* No room: a new block at the end. */
	uint32_t p;
	err = ext2_bmap(dir, n, true, &p);
	if (err)
		return err;
	struct buf *b = bread(fs->dev, p, fs->bsize);
	if (IS_ERR(b)) {
		ext2_truncate_locked(dir, dir->d.i_size);
		return PTR_ERR(b);
	}
	put_dirent(fs, b->data, ino, fs->bsize, name, len, ft);
	bdirty(b);
	brelse(b);
	dir->d.i_size += fs->bsize;
	dir_touch(dir);
	return 0;
}

/* Remove the entry at loc (found under the same lock hold). */
static int remove_entry(struct ext2_inode *dir, struct dloc *loc)
{
	struct ext2_fs *fs = dir->fs;
	struct buf *b = bread(fs->dev, loc->pblk, fs->bsize);
	if (IS_ERR(b))
		return PTR_ERR(b);
	struct ext2_dirent de, pde;
	uint32_t off = 0, prev = UINT32_MAX;
	int err = 0;
	for (;;) {
		err = dirent_at(dir, 0, b->data, off, &de);
		if (err || off >= loc->off)
			break;
		prev = off;
		pde = de;
		off += de.rec_len;
	}
	if (!err && (off != loc->off || de.inode != loc->ino))
		err = ext2_corrupt(fs, "directory inode %u: entry moved",
				   dir->ino);
	if (!err) {
		if (prev != UINT32_MAX) {
			uint16_t rl = pde.rec_len + de.rec_len;
			memcpy(b->data + prev + 4, &rl, 2);
		} else {
			uint32_t zero = 0;
			memcpy(b->data + off, &zero, 4);
		}
		bdirty(b);
	}
	brelse(b);
	if (!err)
		dir_touch(dir);
	return err;
}

/* Point the entry at loc to another inode. */
static int retarget_entry(struct ext2_inode *dir, struct dloc *loc,
			  uint32_t ino, uint8_t ft)
{
	struct ext2_fs *fs = dir->fs;
	struct buf *b = bread(fs->dev, loc->pblk, fs->bsize);
	if (IS_ERR(b))
		return PTR_ERR(b);
	memcpy(b->data + loc->off, &ino, 4);
	b->data[loc->off + 7] = fs->filetype ? ft : 0;
	bdirty(b);
	brelse(b);
	dir_touch(dir);
	return 0;
}

/* Common checks of a directory about to change. Caller holds dir->lock. */
static int dir_usable(const struct ext2_inode *dir)
{
	if (!S_ISDIR(dir->d.i_mode))
		return -ENOTDIR;
	return dir->d.i_links_count ? 0 : -ENOENT;
}

/* ------------------------------------------------------------ lookup */

struct ext2_inode *ext2_lookup(struct ext2_inode *dir, const char *name,
			       size_t len)
{
	int err = ext2_check_name(name, len);
	if (err)
		return ERR_PTR(err);
	struct ext2_inode *ip = NULL;
	struct dloc loc = {0};
	sleeplock_acquire(&dir->lock);
	err = dir_usable(dir);
	if (!err)
		err = find_entry(dir, name, len, &loc);
	dloc_release(&loc);
	if (!err)
		ip = loc.ino == dir->ino ? ext2_igrab(dir)
					 : ext2_iget(dir->fs, loc.ino);
	sleeplock_release(&dir->lock);
	return err ? ERR_PTR(err) : ip;
}

int ext2_readdir(struct ext2_inode *dir, uint64_t *pos, ext2_filldir_fn fn,
		 void *ctx)
{
	struct ext2_fs *fs = dir->fs;
	uint32_t n;
	sleeplock_acquire(&dir->lock);
	int err = dir_usable(dir);
	if (err == -ENOENT) /* removed: empty */
		err = 0, n = 0;
	else if (!err)
		err = dir_nblocks(dir, &n);
	while (!err && *pos < (uint64_t)n << fs->log_bsize) {
		uint32_t lblk = *pos >> fs->log_bsize, p;
		struct buf *b = dir_bread(dir, lblk, &p);
		if (IS_ERR(b)) {
			err = PTR_ERR(b);
			break;
		}
		/* The next entry at or after *pos in this block. */
		uint32_t want = *pos & (fs->bsize - 1), off = 0;
		struct ext2_dirent de;
		bool found = false;
		char name[EXT2_NAME_MAX + 1];
		for (; off < fs->bsize; off += de.rec_len) {
			err = dirent_at(dir, lblk, b->data, off, &de);
			if (err)
				break;
			if (off >= want && de.inode) {
				found = true;
				memcpy(name, b->data + off + EXT2_DIRENT_HDR,
				       de.name_len);
				name[de.name_len] = 0;
				break;
			}
		}
		brelse(b);
		if (err)
			break;
		uint64_t start = (uint64_t)lblk << fs->log_bsize;
		if (!found) {
			*pos = start + fs->bsize;
			continue;
		}
		unsigned type = 0;
		if (fs->filetype && de.file_type < ARRAY_SIZE(ft_to_dt))
			type = ft_to_dt[de.file_type];
		if (fn(ctx, name, de.name_len, de.inode, type)) {
			*pos = start + off;
			break;
		}
		*pos = start + off + de.rec_len;
	}
	sleeplock_release(&dir->lock);
	return err;
}

/* ----------------------------------------------------------- creating */

/* Give a new, locked inode its contents. */
static int init_node(struct ext2_inode *dir, struct ext2_inode *ip,
		     uint32_t rdev, const char *target, size_t tlen)
{
	struct ext2_fs *fs = ip->fs;
	uint32_t mode = ip->d.i_mode, p;
	int err = 0;
	if (S_ISDIR(mode)) {
		ip->d.i_links_count = 2;
		err = ext2_bmap(ip, 0, true, &p);
		if (err)
			return err;
		struct buf *b = bread(fs->dev, p, fs->bsize);
		if (IS_ERR(b))
			return PTR_ERR(b);
		put_dirent(fs, b->data, ip->ino, 12, ".", 1, EXT2_FT_DIR);
		put_dirent(fs, b->data + 12, dir->ino, fs->bsize - 12, "..", 2,
			   EXT2_FT_DIR);
		bdirty(b);
		brelse(b);
		ext2_set_isize(ip, fs->bsize);
	} else if (S_ISCHR(mode) || S_ISBLK(mode)) {
		if (rdev & ~0xffffu)
			ip->d.i_block[1] = rdev;
		else
			ip->d.i_block[0] = rdev;
	} else if (S_ISLNK(mode)) {
		if (tlen < sizeof ip->d.i_block) {
			memcpy(ip->d.i_block, target, tlen);
		} else {
			err = ext2_bmap(ip, 0, true, &p);
			if (err)
				return err;
			struct buf *b = bread(fs->dev, p, fs->bsize);
			if (IS_ERR(b))
				return PTR_ERR(b);
			memcpy(b->data, target, tlen);
			bdirty(b);
			brelse(b);
		}
		ext2_set_isize(ip, tlen);
	}
	ext2_iupdate(ip);
	return 0;
}

static struct ext2_inode *make_node(struct ext2_inode *dir, const char *name,
				    size_t len, uint32_t mode, uint32_t uid,
				    uint32_t gid, uint32_t rdev,
				    const char *target, size_t tlen)
{
	struct ext2_fs *fs = dir->fs;
	int err = ext2_check_rw(fs);
	if (!err)
		err = ext2_check_name(name, len);
	if (!err && is_dot(name, len))
		err = -EEXIST;
	if (err)
		return ERR_PTR(err);
	bool isdir = S_ISDIR(mode);
	struct ext2_inode *ip = NULL;
	struct dloc loc = {0};
	sleeplock_acquire(&fs->ns_lock);
	sleeplock_acquire(&dir->lock);
	err = dir_usable(dir);
	if (!err) {
		err = find_entry(dir, name, len, &loc);
		dloc_release(&loc);
		err = err == 0 ? -EEXIST : err == -ENOENT ? 0 : err;
	}
	if (!err && isdir && dir->d.i_links_count >= EXT2_LINK_MAX)
		err = -EMLINK;
	uint32_t ino;
	if (!err)
		err = ext2_alloc_inode(fs, dir->ino, isdir, &ino);
	if (!err) {
		ip = ext2_inew(fs, ino, mode, uid, gid);
		if (IS_ERR(ip)) {
			err = PTR_ERR(ip);
			ip = NULL;
			ext2_free_inode(fs, ino, isdir);
		}
	}
	if (ip) {
		sleeplock_acquire(&ip->lock);
		err = init_node(dir, ip, rdev, target, tlen);
		if (!err)
			err = add_entry(dir, name, len, ino,
					ext2_mode_to_ft(mode));
		if (err) {
			/* The last iput frees what was allocated. */
			ip->d.i_links_count = 0;
			ext2_iupdate(ip);
		}
		sleeplock_release(&ip->lock);
		if (err) {
			ext2_iput(ip);
			ip = NULL;
		}
	}
	if (!err && isdir) {
		dir->d.i_links_count++;
		ext2_iupdate(dir);
	}
	sleeplock_release(&dir->lock);
	sleeplock_release(&fs->ns_lock);
	return err ? ERR_PTR(err) : ip;
}

struct ext2_inode *ext2_create(struct ext2_inode *dir, const char *name,
			       size_t len, uint32_t mode, uint32_t uid,
			       uint32_t gid, uint32_t rdev)
{
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	if (S_ISLNK(mode) || ext2_mode_to_ft(mode) == EXT2_FT_UNKNOWN)
		return ERR_PTR(-EINVAL);
	return make_node(dir, name, len, mode & (S_IFMT | 07777), uid, gid,
			 rdev, NULL, 0);
}

struct ext2_inode *ext2_symlink(struct ext2_inode *dir, const char *name,
				size_t len, const char *target, size_t tlen,
				uint32_t uid, uint32_t gid)
{
	if (tlen == 0)
		return ERR_PTR(-ENOENT);
	if (tlen >= dir->fs->bsize)
		return ERR_PTR(-ENAMETOOLONG);
	return make_node(dir, name, len, S_IFLNK | 0777, uid, gid, 0, target,
			 tlen);
}

int ext2_link(struct ext2_inode *dir, const char *name, size_t len,
	      struct ext2_inode *ip)
{
	struct ext2_fs *fs = dir->fs;
	int err = ext2_check_rw(fs);
	if (!err)
		err = ext2_check_name(name, len);
	if (!err && is_dot(name, len))
		err = -EEXIST;
	if (!err && ip->fs != fs)
		err = -EXDEV;
	if (!err && S_ISDIR(ip->d.i_mode))
		err = -EPERM;
	if (err)
		return err;
	struct dloc loc = {0};
	sleeplock_acquire(&fs->ns_lock);
	sleeplock_acquire(&dir->lock);
	err = dir_usable(dir);
	if (!err) {
		err = find_entry(dir, name, len, &loc);
		dloc_release(&loc);
		err = err == 0 ? -EEXIST : err == -ENOENT ? 0 : err;
	}
	if (!err) {
		sleeplock_acquire(&ip->lock);
		if (!ip->d.i_links_count)
			err = -ENOENT;
		else if (ip->d.i_links_count >= EXT2_LINK_MAX)
			err = -EMLINK;
		if (!err)
			err = add_entry(dir, name, len, ip->ino,
					ext2_mode_to_ft(ip->d.i_mode));
		if (!err) {
			ip->d.i_links_count++;
			ip->d.i_ctime = ext2_now();
			ext2_iupdate(ip);
		}
		sleeplock_release(&ip->lock);
	}
	sleeplock_release(&dir->lock);
	sleeplock_release(&fs->ns_lock);
	return err;
}

/* ----------------------------------------------------------- removing */

/* Find name in dir (locked) and get its inode, which is not dir. */
static int find_child(struct ext2_inode *dir, const char *name, size_t len,
		      struct dloc *loc, struct ext2_inode **out)
{
	int err = find_entry(dir, name, len, loc);
	if (err)
		return err;
	if (loc->ino == dir->ino)
		return ext2_corrupt(dir->fs,
				    "directory inode %u: entry '%.*s' "
				    "points to itself",
				    dir->ino, (int)len, name);
	struct ext2_inode *ip = ext2_iget(dir->fs, loc->ino);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	*out = ip;
	return 0;
}

static int remove_common(struct ext2_inode *dir, const char *name, size_t len,
			 bool rmdir)
{
	struct ext2_fs *fs = dir->fs;
	int err = ext2_check_rw(fs);
	if (!err)
		err = ext2_check_name(name, len);
	if (!err && is_dot(name, len))
		err = rmdir && len == 2 ? -ENOTEMPTY : -EINVAL;
	if (err)
		return err;
	struct dloc loc = {0};
	struct ext2_inode *ip = NULL;
	sleeplock_acquire(&fs->ns_lock);
	sleeplock_acquire(&dir->lock);
	err = dir_usable(dir);
	if (!err)
		err = find_child(dir, name, len, &loc, &ip);
	if (!err && rmdir && !S_ISDIR(ip->d.i_mode))
		err = -ENOTDIR;
	if (!err && !rmdir && S_ISDIR(ip->d.i_mode))
		err = -EISDIR;
	if (!err && rmdir && ip->ino == EXT2_ROOT_INO)
		err = -EBUSY;
	if (!err) {
		sleeplock_acquire(&ip->lock);
		bool empty = true;
		if (rmdir)
			err = dir_is_empty(ip, &empty);
		if (!err && !empty)
			err = -ENOTEMPTY;
		if (!err)
			err = remove_entry(dir, &loc);
		if (!err) {
			if (rmdir) {
				ip->d.i_links_count = 0;
				if (dir->d.i_links_count > 2)
					dir->d.i_links_count--;
				ext2_iupdate(dir);
			} else if (ip->d.i_links_count) {
				ip->d.i_links_count--;
			}
			ip->d.i_ctime = ext2_now();
			ext2_iupdate(ip);
		}
		sleeplock_release(&ip->lock);
	}
	dloc_release(&loc);
	sleeplock_release(&dir->lock);
	sleeplock_release(&fs->ns_lock);
	if (ip)
		ext2_iput(ip);
	return err;
}

int ext2_unlink(struct ext2_inode *dir, const char *name, size_t len)
{
	return remove_common(dir, name, len, false);
}

int ext2_rmdir(struct ext2_inode *dir, const char *name, size_t len)
{
	return remove_common(dir, name, len, true);
}

/* ------------------------------------------------------------- rename */

/* -EINVAL if directory src is dir or one of its ancestors. Caller holds
 * ns_lock, so no ".." changes meanwhile. */
static int check_not_ancestor(struct ext2_inode *src, struct ext2_inode *dir)
{
	struct ext2_fs *fs = src->fs;
	uint32_t cur = dir->ino;
	for (unsigned steps = 0;; steps++) {
		if (cur == src->ino)
			return -EINVAL;
		if (cur == EXT2_ROOT_INO)
			return 0;
		if (steps > 4096)
			return ext2_corrupt(fs,
					    "directory inode %u: no way up "
					    "to the root",
					    dir->ino);
		struct ext2_inode *ip = cur == dir->ino ? ext2_igrab(dir)
							: ext2_iget(fs, cur);
		if (IS_ERR(ip))
			return PTR_ERR(ip);
		struct dloc l = {0};
		int err = find_dotdot(ip, &l);
		dloc_release(&l);
		ext2_iput(ip);
		if (err)
			return err;
		if (l.ino == cur)
			return ext2_corrupt(fs,
					    "directory inode %u is its own "
					    "parent",
					    cur);
		cur = l.ino;
	}
}

static void lock_dirs(struct ext2_inode *a, struct ext2_inode *b)
{
	if (a == b) {
		sleeplock_acquire(&a->lock);
	} else if (a->ino < b->ino) {
		sleeplock_acquire(&a->lock);
		sleeplock_acquire(&b->lock);
	} else {
		sleeplock_acquire(&b->lock);
		sleeplock_acquire(&a->lock);
	}
}

static void unlock_dirs(struct ext2_inode *a, struct ext2_inode *b)
{
	sleeplock_release(&a->lock);
	if (a != b)
		sleeplock_release(&b->lock);
}

int ext2_rename(struct ext2_inode *odir, const char *oname, size_t olen,
		struct ext2_inode *ndir, const char *nname, size_t nlen)
{
	struct ext2_fs *fs = odir->fs;
	int err = ext2_check_rw(fs);
	if (!err && ndir->fs != fs)
		err = -EXDEV;
	if (!err)
		err = ext2_check_name(oname, olen);
	if (!err)
		err = ext2_check_name(nname, nlen);
	if (!err && (is_dot(oname, olen) || is_dot(nname, nlen)))
		err = -EINVAL;
	if (err)
		return err;

	struct dloc ol = {0}, nl = {0}, dd = {0};
	struct ext2_inode *src = NULL, *tgt = NULL;
	sleeplock_acquire(&fs->ns_lock);
	lock_dirs(odir, ndir);
	err = dir_usable(odir);
	if (!err)
		err = dir_usable(ndir);
	if (!err)
		err = find_child(odir, oname, olen, &ol, &src);
	if (!err && src == ndir)
		err = -EINVAL; /* a directory into itself */
	bool same = false;
	if (!err) {
		int e = find_entry(ndir, nname, nlen, &nl);
		if (e == 0 && nl.ino == src->ino)
			same = true; /* two names of one inode: nothing to do */
		else if (e == 0 && nl.ino == ndir->ino)
			err = ext2_corrupt(fs,
					   "directory inode %u: entry "
					   "points to itself",
					   ndir->ino);
		else if (e == 0 && nl.ino == odir->ino)
			err = -ENOTEMPTY; /* the target contains the source */
		else if (e == 0)
			tgt = ext2_iget(fs, nl.ino);
		else if (e != -ENOENT)
			err = e;
		if (IS_ERR(tgt)) {
			err = PTR_ERR(tgt);
			tgt = NULL;
		}
	}
	bool sdir = src && S_ISDIR(src->d.i_mode);
	bool tdir = tgt && S_ISDIR(tgt->d.i_mode);
	if (!err && !same && tgt) {
		if (sdir && !tdir)
			err = -ENOTDIR;
		else if (!sdir && tdir)
			err = -EISDIR;
		else if (tdir) {
			bool empty;
			err = dir_is_empty(tgt, &empty);
			if (!err && !empty)
				err = -ENOTEMPTY;
		}
	}
	if (!err && !same && sdir && odir != ndir) {
		err = check_not_ancestor(src, ndir);
		if (!err)
			err = find_dotdot(src, &dd);
		if (!err && !tgt && ndir->d.i_links_count >= EXT2_LINK_MAX)
			err = -EMLINK;
	}
	if (!err && !same) {
		/* Everything is checked; only adding the entry can fail. */
		uint8_t ft = ext2_mode_to_ft(src->d.i_mode);
		sleeplock_acquire(&src->lock);
		if (tgt)
			sleeplock_acquire(&tgt->lock);
		if (tgt)
			err = retarget_entry(ndir, &nl, src->ino, ft);
		else
			err = add_entry(ndir, nname, nlen, src->ino, ft);
		if (!err) {
			remove_entry(odir, &ol);
			if (sdir && odir != ndir) {
				retarget_entry(src, &dd, ndir->ino,
					       EXT2_FT_DIR);
				if (odir->d.i_links_count > 2)
					odir->d.i_links_count--;
				ndir->d.i_links_count++;
			}
			if (tgt) {
				if (tdir) {
					tgt->d.i_links_count = 0;
					if (ndir->d.i_links_count > 2)
						ndir->d.i_links_count--;
				} else if (tgt->d.i_links_count) {
					tgt->d.i_links_count--;
				}
				tgt->d.i_ctime = ext2_now();
				ext2_iupdate(tgt);
			}
			src->d.i_ctime = ext2_now();
			ext2_iupdate(src);
			ext2_iupdate(odir);
			ext2_iupdate(ndir);
		}
		if (tgt)
			sleeplock_release(&tgt->lock);
		sleeplock_release(&src->lock);
	}
	dloc_release(&ol);
	dloc_release(&nl);
	dloc_release(&dd);
	unlock_dirs(odir, ndir);
	sleeplock_release(&fs->ns_lock);
	if (tgt)
		ext2_iput(tgt);
	if (src)
		ext2_iput(src);
	return err;
}
