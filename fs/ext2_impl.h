/*
 * ext2_impl.h — private to fs/ext2_*.c: the on-disk format (from the
 * "Second Extended File System" layout document), the in-memory file system
 * and inode, and the helpers the ext2 files share.
 *
 * On-disk structures are little-endian; Shoal (x86_64) and the hosts that
 * run its unit tests are too, so they are used in place. Their layout is
 * checked by _Static_assert below.
 *
 * Lock order (outermost first):
 *   fs->ns_lock      any change to the directory tree (create, link, unlink,
 *                    rmdir, rename, symlink): one at a time per file system
 *   ip->lock         an inode's fields and its data (a directory's entries);
 *                    a parent before its child; two directories by
 *                    ascending inode number (only under ns_lock)
 *   fs->alloc_lock   bitmaps, group descriptors, superblock counters
 *   buffer locks     one at a time, except in ascending block order and
 *                    truncation, which holds the indirect blocks of the
 *                    path it frees (blocks of that inode only, never a
 *                    bitmap) while it takes alloc_lock; alloc_lock holders
 *                    lock only bitmap, descriptor and superblock buffers
 *   fs->icache_lock  (spinlock) the inode hash and reference counts
 *
 * Every in-memory inode pins its inode-table block in the buffer cache, so
 * a file system with n referenced inodes keeps up to n buffers (plus the
 * superblock and descriptor blocks) from being reused.
 */
#ifndef FS_EXT2_IMPL_H
#define FS_EXT2_IMPL_H

#include "fs/fs.h"
#include "kern/kern.h"
#include "kern/sync.h"

#define EXT2_MAGIC 0xef53
#define EXT2_SB_OFFSET 1024
#define EXT2_GOOD_OLD_REV 0
#define EXT2_DYNAMIC_REV 1
#define EXT2_GOOD_OLD_INODE_SIZE 128
#define EXT2_GOOD_OLD_FIRST_INO 11
#define EXT2_NDIR 12 /* direct blocks in i_block */
#define EXT2_IND 12
#define EXT2_DIND 13
#define EXT2_TIND 14
#define EXT2_N_BLOCKS 15
#define EXT2_FAST_SYMLINK_MAX 59 /* bytes that fit in i_block, minus NUL */
#define EXT2_LINK_MAX 65000
#define EXT2_RESIZE_INO 7

/* s_state */
#define EXT2_VALID_FS 1
#define EXT2_ERROR_FS 2

/* Features. */
#define EXT2_COMPAT_DIR_PREALLOC 0x0001
#define EXT2_COMPAT_IMAGIC_INODES 0x0002
#define EXT2_COMPAT_HAS_JOURNAL 0x0004
#define EXT2_COMPAT_EXT_ATTR 0x0008
#define EXT2_COMPAT_RESIZE_INODE 0x0010
#define EXT2_COMPAT_DIR_INDEX 0x0020
#define EXT2_INCOMPAT_COMPRESSION 0x0001
#define EXT2_INCOMPAT_FILETYPE 0x0002
#define EXT2_INCOMPAT_RECOVER 0x0004
#define EXT2_INCOMPAT_JOURNAL_DEV 0x0008
#define EXT2_INCOMPAT_META_BG 0x0010
#define EXT2_INCOMPAT_EXTENTS 0x0040
#define EXT2_INCOMPAT_64BIT 0x0080
#define EXT2_INCOMPAT_MMP 0x0100
#define EXT2_INCOMPAT_FLEX_BG 0x0200
#define EXT2_INCOMPAT_SUPPORTED (EXT2_INCOMPAT_FILETYPE)
#define EXT2_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT2_RO_COMPAT_LARGE_FILE 0x0002
#define EXT2_RO_COMPAT_BTREE_DIR 0x0004
#define EXT2_RO_COMPAT_SUPPORTED                                   \
	(EXT2_RO_COMPAT_SPARSE_SUPER | EXT2_RO_COMPAT_LARGE_FILE | \
	 EXT2_RO_COMPAT_BTREE_DIR)

/* i_flags */
#define EXT2_INDEX_FL 0x00001000 /* hashed directory index (dir_index) */

/* Extended-attribute block header. */
#define EXT2_XATTR_MAGIC 0xea020000

/* The superblock, at byte 1024 of the device (1024 bytes). */
struct ext2_super {
	uint32_t s_inodes_count;
	uint32_t s_blocks_count;
	uint32_t s_r_blocks_count;
	uint32_t s_free_blocks_count;
	uint32_t s_free_inodes_count;
	uint32_t s_first_data_block;
	uint32_t s_log_block_size;
	uint32_t s_log_frag_size;
	uint32_t s_blocks_per_group;
	uint32_t s_frags_per_group;
	uint32_t s_inodes_per_group;
	uint32_t s_mtime;
	uint32_t s_wtime;
	uint16_t s_mnt_count;
	int16_t s_max_mnt_count;
	uint16_t s_magic;
	uint16_t s_state;
	uint16_t s_errors;
	uint16_t s_minor_rev_level;
	uint32_t s_lastcheck;
	uint32_t s_checkinterval;
	uint32_t s_creator_os;
	uint32_t s_rev_level;
	uint16_t s_def_resuid;
	uint16_t s_def_resgid;
	/* Revision 1 (dynamic) from here on. */
	uint32_t s_first_ino;
	uint16_t s_inode_size;
	uint16_t s_block_group_nr;
	uint32_t s_feature_compat;
	uint32_t s_feature_incompat;
	uint32_t s_feature_ro_compat;
	uint8_t s_uuid[16];
	char s_volume_name[16];
	char s_last_mounted[64];
	uint32_t s_algo_bitmap;
	uint8_t s_prealloc_blocks;
	uint8_t s_prealloc_dir_blocks;
	uint16_t s_reserved_gdt_blocks;
	uint8_t s_journal_uuid[16];
	uint32_t s_journal_inum;
	uint32_t s_journal_dev;
	uint32_t s_last_orphan;
	uint32_t s_hash_seed[4];
	uint8_t s_def_hash_version;
	uint8_t s_jnl_backup_type;
	uint16_t s_desc_size;
	uint32_t s_default_mount_opts;
	uint32_t s_first_meta_bg;
	uint32_t s_mkfs_time;
	uint32_t s_jnl_blocks[17];
	uint32_t s_blocks_count_hi;
	uint32_t s_r_blocks_count_hi;
	uint32_t s_free_blocks_count_hi;
	uint16_t s_min_extra_isize;
	uint16_t s_want_extra_isize;
	uint32_t s_flags;
	uint8_t s_rest[1024 - 0x164];
};
_Static_assert(sizeof(struct ext2_super) == 1024, "superblock size");
_Static_assert(offsetof(struct ext2_super, s_reserved_gdt_blocks) == 206,
	       "s_reserved_gdt_blocks");
_Static_assert(offsetof(struct ext2_super, s_min_extra_isize) == 0x15c,
	       "s_min_extra_isize");

/* A group descriptor (32 bytes; the table starts in the block after the
 * superblock's). */
struct ext2_gd {
	uint32_t bg_block_bitmap;
	uint32_t bg_inode_bitmap;
	uint32_t bg_inode_table;
	uint16_t bg_free_blocks_count;
	uint16_t bg_free_inodes_count;
	uint16_t bg_used_dirs_count;
	uint16_t bg_flags;
	uint32_t bg_reserved[3];
};
_Static_assert(sizeof(struct ext2_gd) == 32, "group descriptor size");

/* The first 128 bytes of an on-disk inode (s_inode_size may be larger;
 * the rest is preserved, and zeroed in new inodes but for i_extra_isize). */
struct ext2_dinode {
	uint16_t i_mode;
	uint16_t i_uid;
	uint32_t i_size;
	uint32_t i_atime;
	uint32_t i_ctime;
	uint32_t i_mtime;
	uint32_t i_dtime;
	uint16_t i_gid;
	uint16_t i_links_count;
	uint32_t i_blocks; /* 512-byte units, data + indirect + xattr block */
	uint32_t i_flags;
	uint32_t i_osd1;
	uint32_t i_block[EXT2_N_BLOCKS];
	uint32_t i_generation;
	uint32_t i_file_acl; /* extended-attribute block */
	uint32_t i_size_high; /* i_dir_acl: size bits 32..63 of files */
	uint32_t i_faddr;
	uint8_t i_frag;
	uint8_t i_fsize;
	uint16_t i_blocks_hi;
	uint16_t i_uid_high;
	uint16_t i_gid_high;
	uint32_t i_reserved2;
};
_Static_assert(sizeof(struct ext2_dinode) == 128, "inode size");

/* A directory entry's fixed part; the name follows. */
struct ext2_dirent {
	uint32_t inode; /* 0: unused */
	uint16_t rec_len; /* to the next entry; multiple of 4 */
	uint8_t name_len;
	uint8_t file_type; /* EXT2_FT_*, with the filetype feature */
};
#define EXT2_DIRENT_HDR 8
#define EXT2_DIRENT_LEN(namelen) (((namelen) + EXT2_DIRENT_HDR + 3) & ~3u)

enum {
	EXT2_FT_UNKNOWN,
	EXT2_FT_REG_FILE,
	EXT2_FT_DIR,
	EXT2_FT_CHRDEV,
	EXT2_FT_BLKDEV,
	EXT2_FT_FIFO,
	EXT2_FT_SOCK,
	EXT2_FT_SYMLINK,
};

/* ------------------------------------------------------------- in memory */

/* A block group, validated at mount. */
struct ext2_group {
	uint32_t block_bitmap, inode_bitmap, inode_table;
	uint32_t free_blocks, free_inodes, used_dirs;
};

struct ext2_fs {
	struct blockdev *dev;
	unsigned flags; /* EXT2_MOUNT_* */
	bool ro;
	bool filetype; /* directory entries carry a file type */

	/* Geometry, from the validated superblock. */
	uint32_t bsize, log_bsize; /* bytes per block; log2 */
	uint32_t apb, apb_log; /* block numbers per indirect block */
	uint32_t blocks_count, inodes_count, first_data_block;
	uint32_t bpg, ipg, ngroups;
	uint32_t inode_size, first_ino, inodes_per_block, itable_blocks;
	uint32_t gdt_blocks, reserved_gdt;
	uint16_t extra_isize; /* i_extra_isize for new inodes */
	uint64_t max_size; /* largest file */

	/* Superblock and descriptors. sb is the working copy; sbuf and
	 * gdbufs are pinned buffers that changes are written through to.
	 * Protected by alloc_lock (s_state and feature bits by ns_lock or
	 * alloc_lock). */
	struct ext2_super sb;
	struct buf *sbuf;
	uint32_t sb_off; /* of the superblock in sbuf */
	struct buf **gdbufs;
	struct ext2_group *groups;
	uint32_t dir_rotor; /* next group tried for a new directory */
	uint32_t generation;

	struct sleeplock ns_lock;
	struct sleeplock alloc_lock;
	struct spinlock icache_lock;
#define EXT2_IHASH 64
	struct ext2_inode *ihash[EXT2_IHASH];
	unsigned ninodes; /* referenced in-memory inodes */
	unsigned errors; /* corruptions reported */
};

struct ext2_inode {
	struct ext2_fs *fs;
	uint32_t ino;
	unsigned refcnt; /* under fs->icache_lock */
	struct ext2_inode *hnext; /* under fs->icache_lock */
	bool loaded; /* d is valid (set under lock once) */
	int load_err;
	struct buf *itb; /* its inode-table block, pinned: ext2_iupdate
			    never needs I/O */
	uint32_t itb_off; /* of the inode in itb */
	struct sleeplock lock; /* protects everything below */
	struct ext2_dinode d;
	uint32_t goal; /* block after the last one allocated, 0: none */
};

/* ------------------------------------------------------------- helpers */

/* ext2_super.c */
uint32_t ext2_now(void);
/* Log one line naming the problem (the first 20 per mount) and mark the
 * file system as having errors; returns -EUCLEAN. */
int ext2_corrupt(struct ext2_fs *fs, const char *fmt, ...) __printf(2, 3);
/* Copy fs->sb / group g into their pinned buffers (caller holds
 * alloc_lock, or ns_lock for feature changes). Cannot fail. */
void ext2_write_super(struct ext2_fs *fs);
void ext2_write_group(struct ext2_fs *fs, uint32_t g);
/* True if blk may be a data or indirect block: inside the file system and
 * not part of a group's superblock copy, descriptors, bitmaps or inode
 * table. */
bool ext2_block_ok(const struct ext2_fs *fs, uint32_t blk);
bool ext2_group_has_super(const struct ext2_fs *fs, uint32_t g);
static inline uint32_t ext2_group_first(const struct ext2_fs *fs, uint32_t g)
{
	return fs->first_data_block + g * fs->bpg;
}
static inline uint32_t ext2_group_nblocks(const struct ext2_fs *fs, uint32_t g)
{
	uint32_t first = ext2_group_first(fs, g);
	return MIN(fs->bpg, fs->blocks_count - first);
}
static inline uint32_t ext2_group_of_ino(const struct ext2_fs *fs, uint32_t ino)
{
	return (ino - 1) / fs->ipg;
}
/* Set a ro_compat feature (LARGE_FILE) if not set yet. */
void ext2_set_ro_compat(struct ext2_fs *fs, uint32_t feature);
/* 0, or -EROFS on a read-only mount. */
static inline int ext2_check_rw(const struct ext2_fs *fs)
{
	return fs->ro ? -EROFS : 0;
}

/* ext2_alloc.c — all take alloc_lock themselves. */
/* A free block near goal (0: anywhere), marked used; -ENOSPC, -EIO. */
int ext2_alloc_block(struct ext2_fs *fs, uint32_t goal, uint32_t *out);
/* Free a block; a block that is already free or not a data block is
 * reported (-EUCLEAN) and left alone. */
int ext2_free_block(struct ext2_fs *fs, uint32_t blk);
/* A free inode near the parent's group, marked used; -ENOSPC, -EIO. */
int ext2_alloc_inode(struct ext2_fs *fs, uint32_t parent, bool dir,
		     uint32_t *out);
int ext2_free_inode(struct ext2_fs *fs, uint32_t ino, bool dir);

/* ext2_inode.c */
static inline uint64_t ext2_isize(const struct ext2_inode *ip)
{
	uint64_t size = ip->d.i_size;
	if (S_ISREG(ip->d.i_mode))
		size |= (uint64_t)ip->d.i_size_high << 32;
	return size;
}
void ext2_set_isize(struct ext2_inode *ip, uint64_t size);
/* Write the in-memory inode to its (pinned) inode-table block; cannot
 * fail. Caller holds ip->lock (or is its only user). */
void ext2_iupdate(struct ext2_inode *ip);
/*
 * Map logical block lblk of ip to a disk block in *pblk (0: a hole). With
 * create, holes are filled with new zeroed blocks (data and indirect ones;
 * all allocated before any is linked, freed again on failure). Caller
 * holds ip->lock.
 */
int ext2_bmap(struct ext2_inode *ip, uint32_t lblk, bool create,
	      uint32_t *pblk);
/* Caller holds ip->lock. */
int ext2_truncate_locked(struct ext2_inode *ip, uint64_t size);
int64_t ext2_read_locked(struct ext2_inode *ip, uint64_t off, void *buf,
			 size_t len);
int64_t ext2_write_locked(struct ext2_inode *ip, uint64_t off, const void *buf,
			  size_t len);
/* A new in-memory inode for a just-allocated ino (referenced, unlocked),
 * its disk inode zeroed but for mode, owner, times and one link. On
 * failure the caller still owns (and frees) the inode number. */
struct ext2_inode *ext2_inew(struct ext2_fs *fs, uint32_t ino, uint32_t mode,
			     uint32_t uid, uint32_t gid);
/* True if ip is a symlink whose target is kept in i_block. */
bool ext2_fast_symlink(const struct ext2_inode *ip);
/* True if i_block holds block numbers (files, directories, slow links). */
bool ext2_has_blocks(const struct ext2_inode *ip);
/* The file type of a mode, as stored in directory entries. */
uint8_t ext2_mode_to_ft(uint32_t mode);

/* ext2_dir.c */
int ext2_check_name(const char *name, size_t len);

#endif
