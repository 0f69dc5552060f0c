/*
 * vfs_ext2.c — the "ext2" file-system type: vnodes over fs/fs.h's ext2
 * inodes.
 *
 * Interface: vfs_ext2_init registers the type; vfs_mount("ext2", dev, ...)
 * mounts a struct blockdev. Each vnode holds one reference to its ext2
 * inode (priv), dropped by inactive; the vnode cache, keyed by (mount,
 * inode number), gives one vnode per inode. ext2 does its own locking, so
 * these functions only translate. A read-only ext2 mount (asked for, a
 * read-only device, or an unknown ro_compat feature) sets MNT_RDONLY, and
 * the VFS then refuses changes with -EROFS before they get here.
 *
 * readdir: the VFS wants the position after each entry (getdents64's
 * d_off); ext2_readdir leaves *pos at the entry its callback refused, so
 * each entry is fetched by a call that takes one entry and refuses the
 * next: the position it stops at is the one after the entry taken.
 */
#include "fs/fs.h"
#include "fs/vfs_impl.h"

static const struct vnode_ops e2_vops;

static struct ext2_inode *IP(struct vnode *vn)
{
	return vn->priv;
}

/* The vnode of ip, whose reference is consumed. */
static int e2_vget(struct mount *m, struct ext2_inode *ip, struct vnode **out)
{
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	uint32_t ino = ext2_ino(ip);
	struct vnode *vn = vcache_find(m, ino);
	if (vn) {
		ext2_iput(ip);
		*out = vn;
		return 0;
	}
	struct ext2_stat st;
	int err = ext2_getattr(ip, &st);
	if (!err) {
		vn = vnode_alloc(m, ino, vfs_mode_to_vtype(st.mode), &e2_vops,
				 ip);
		err = vn ? 0 : -ENOMEM;
	}
	if (err) {
		ext2_iput(ip);
		return err;
	}
	vn->rdev = st.rdev;
	*out = vcache_add(vn);
	return 0;
}

static int e2_lookup(struct vnode *dir, const char *name, size_t len,
		     struct vnode **out)
{
	return e2_vget(dir->mnt, ext2_lookup(IP(dir), name, len), out);
}

static int e2_create(struct vnode *dir, const char *name, size_t len,
		     uint32_t mode, uint32_t rdev, struct vnode **out)
{
	return e2_vget(dir->mnt,
		       ext2_create(IP(dir), name, len, mode, 0, 0, rdev), out);
}

static int e2_symlink(struct vnode *dir, const char *name, size_t len,
		      const char *target, size_t tlen)
{
	struct ext2_inode *ip =
		ext2_symlink(IP(dir), name, len, target, tlen, 0, 0);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	ext2_iput(ip);
	return 0;
}

static int e2_link(struct vnode *dir, const char *name, size_t len,
		   struct vnode *vn)
{
	return ext2_link(IP(dir), name, len, IP(vn));
}

static int e2_unlink(struct vnode *dir, const char *name, size_t len)
{
	return ext2_unlink(IP(dir), name, len);
}

static int e2_rmdir(struct vnode *dir, const char *name, size_t len)
{
	return ext2_rmdir(IP(dir), name, len);
}

static int e2_rename(struct vnode *odir, const char *oname, size_t olen,
		     struct vnode *ndir, const char *nname, size_t nlen)
{
	return ext2_rename(IP(odir), oname, olen, IP(ndir), nname, nlen);
}

static int e2_readlink(struct vnode *vn, char *buf, size_t size)
{
	return ext2_readlink(IP(vn), buf, size);
}

struct one_entry {
	bool have;
	char name[EXT2_NAME_MAX];
	size_t len;
	uint32_t ino;
	unsigned type;
};

static int take_one(void *ctx, const char *name, size_t len, uint32_t ino,
		    unsigned type)
{
	struct one_entry *e = ctx;
	if (e->have)
		return 1;
	e->have = true;
	e->len = MIN(len, sizeof e->name);
	memcpy(e->name, name, e->len);
	e->ino = ino;
	e->type = type;
	return 0;
}

static int e2_readdir(struct vnode *dir, uint64_t *pos, vfs_filldir_fn fn,
		      void *ctx)
{
	for (;;) {
		struct one_entry e;
		e.have = false;
		uint64_t next = *pos;
		int err = ext2_readdir(IP(dir), &next, take_one, &e);
		if (err)
			return err;
		if (!e.have) {
			*pos = next;
			return 0;
		}
		if (fn(ctx, e.name, e.len, e.ino, e.type, next))
			return 0;
		*pos = next;
	}
}

static int e2_getattr(struct vnode *vn, struct vattr *va)
{
	struct ext2_stat st;
	int err = ext2_getattr(IP(vn), &st);
	if (err)
		return err;
	va->ino = st.ino;
	va->mode = st.mode;
	va->nlink = st.nlink;
	va->uid = st.uid;
	va->gid = st.gid;
	va->rdev = st.rdev;
	va->size = st.size;
	va->blocks = st.blocks;
	va->blksize = st.blksize;
	va->atime.tv_sec = (int64_t)st.atime;
	va->mtime.tv_sec = (int64_t)st.mtime;
	va->ctime.tv_sec = (int64_t)st.ctime;
	return 0;
}

static int e2_setattr(struct vnode *vn, const struct vsetattr *sa)
{
	struct ext2_setattr e = {0};
	if (sa->mask & VA_MODE) {
		e.mask |= EXT2_ATTR_MODE;
		e.mode = sa->mode;
	}
	if (sa->mask & VA_UID) {
		e.mask |= EXT2_ATTR_UID;
		e.uid = sa->uid;
	}
	if (sa->mask & VA_GID) {
		e.mask |= EXT2_ATTR_GID;
		e.gid = sa->gid;
	}
	if (sa->mask & VA_SIZE) {
		e.mask |= EXT2_ATTR_SIZE;
		e.size = sa->size;
	}
	if (sa->mask & VA_ATIME) {
		e.mask |= EXT2_ATTR_ATIME;
		e.atime = (uint64_t)sa->atime;
	}
	if (sa->mask & VA_MTIME) {
		e.mask |= EXT2_ATTR_MTIME;
		e.mtime = (uint64_t)sa->mtime;
	}
	return ext2_setattr(IP(vn), &e);
}

static int64_t e2_read(struct vnode *vn, uint64_t off, void *buf, size_t len)
{
	return ext2_read(IP(vn), off, buf, len);
}

static int64_t e2_write(struct vnode *vn, uint64_t off, const void *buf,
			size_t len)
{
	return ext2_write(IP(vn), off, buf, len);
}

static int e2_fsync(struct vnode *vn)
{
	return ext2_fsync(IP(vn));
}

static void e2_inactive(struct vnode *vn)
{
	ext2_iput(IP(vn));
}

static const struct vnode_ops e2_vops = {
	.lookup = e2_lookup,
	.create = e2_create,
	.symlink = e2_symlink,
	.link = e2_link,
	.unlink = e2_unlink,
	.rmdir = e2_rmdir,
	.rename = e2_rename,
	.readlink = e2_readlink,
	.readdir = e2_readdir,
	.getattr = e2_getattr,
	.setattr = e2_setattr,
	.read = e2_read,
	.write = e2_write,
	.fsync = e2_fsync,
	.inactive = e2_inactive,
};

static int e2_mount(struct mount *m, struct blockdev *dev, unsigned flags)
{
	struct ext2_fs *fs =
		ext2_mount(dev, flags & MNT_RDONLY ? EXT2_MOUNT_RDONLY : 0);
	if (IS_ERR(fs))
		return PTR_ERR(fs);
	if (ext2_is_readonly(fs))
		m->flags |= MNT_RDONLY;
	m->priv = fs;
	int err = e2_vget(m, ext2_root(fs), &m->root);
	if (err) {
		ext2_unmount(fs);
		return err;
	}
	return 0;
}

static int e2_unmount(struct mount *m)
{
	return ext2_unmount(m->priv);
}

static int e2_sync(struct mount *m)
{
	return ext2_sync(m->priv);
}

static int e2_statfs(struct mount *m, struct vstatfs *st)
{
	struct ext2_statfs s;
	int err = ext2_statfs(m->priv, &s);
	if (err)
		return err;
	st->bsize = s.bsize;
	st->blocks = s.blocks;
	st->bfree = s.bfree;
	st->bavail = s.bavail;
	st->files = s.files;
	st->ffree = s.ffree;
	st->namelen = s.namelen;
	return 0;
}

static struct fstype ext2_type = {
	.name = "ext2",
	.needs_dev = true,
	.mount = e2_mount,
	.unmount = e2_unmount,
	.sync = e2_sync,
	.statfs = e2_statfs,
};

void vfs_ext2_init(void)
{
	vfs_register_fstype(&ext2_type);
}
