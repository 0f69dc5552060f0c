/*
 * vfs.c — the VFS core: vnode reference counts and the vnode cache,
 * file-system types, the mount table, sync.
 *
 * Interface: fs/vfs.h (vnode_*, vcache_*, vfs_register_fstype, vfs_mount,
 * vfs_unmount, vfs_mount_iter, vfs_format_mounts, vfs_sync, vfs_statfs,
 * vfs_root); locks in fs/vfs_impl.h.
 *
 * Invariants:
 *   - a vnode with refcnt > 0 and `cached` is in the cache's hash chain of
 *     (mnt, ino), and no other vnode with that key is; a vnode leaves the
 *     chain in the same vfs_lock section that takes its count to zero, so
 *     vcache_find never returns a dying vnode;
 *   - mount->nvnodes counts the vnodes of the mount not yet freed (the root
 *     included), so a mount with nvnodes == 1 and a root referenced only by
 *     the mount has nothing in use: that is when unmount may go ahead;
 *   - covered_by is set on exactly the vnodes that are some mount's
 *     `covered`, and each such vnode is referenced by its mount.
 */
#include "fs/fs.h"
#include "fs/vfs_impl.h"
#include "vm/vm.h"

struct spinlock vfs_lock = {.name = "vfs"};
struct sleeplock mount_lock = {.name = "mount"};

#define VCACHE_BUCKETS 256
static struct vnode *vcache[VCACHE_BUCKETS];
static struct fstype *fstypes;
static struct mount *mounts; /* in mount order */
static struct mount *root_mount;
static unsigned next_anon_minor = 16;

/* ------------------------------------------------------------ vnodes */

static unsigned vhash(const struct mount *m, uint64_t ino)
{
	uint64_t h = (uintptr_t)m * 0x9e3779b97f4a7c15ull ^ ino;
	h ^= h >> 29;
	return (unsigned)(h * 0xbf58476d1ce4e5b9ull >> 40) % VCACHE_BUCKETS;
}

struct vnode *vnode_ref(struct vnode *vn)
{
	spin_lock(&vfs_lock);
	KASSERT(vn->refcnt > 0);
	vn->refcnt++;
	spin_unlock(&vfs_lock);
	return vn;
}

void vnode_data_changed(struct vnode *vn)
{
	static uint64_t next_gen;
	spin_lock(&vfs_lock);
	vn->data_gen = ++next_gen;
	spin_unlock(&vfs_lock);
}

void vnode_put(struct vnode *vn)
{
	if (!vn)
		return;
	spin_lock(&vfs_lock);
	KASSERT(vn->refcnt > 0);
	if (--vn->refcnt > 0) {
		spin_unlock(&vfs_lock);
		return;
	}
	KASSERT(!vn->covered_by);
	if (vn->cached) {
		struct vnode **pp = &vcache[vhash(vn->mnt, vn->ino)];
		while (*pp != vn)
			pp = &(*pp)->hnext;
		*pp = vn->hnext;
		vn->cached = false;
	}
	spin_unlock(&vfs_lock);
	if (vn->ops && vn->ops->inactive)
		vn->ops->inactive(vn);
	/* Counted until the file system has let go of it (unmount waits). */
	if (vn->mnt) {
		spin_lock(&vfs_lock);
		vn->mnt->nvnodes--;
		spin_unlock(&vfs_lock);
	}
	kfree(vn);
}

struct vnode *vnode_alloc(struct mount *mnt, uint64_t ino, enum vtype type,
			  const struct vnode_ops *ops, void *priv)
{
	struct vnode *vn = kzalloc(sizeof *vn);
	if (!vn)
		return NULL;
	vn->refcnt = 1;
	vn->type = type;
	vn->ino = ino;
	vn->ops = ops;
	vn->priv = priv;
	vn->mnt = mnt;
	sleeplock_init(&vn->lock, "vnode");
	vnode_data_changed(vn);
	if (mnt) {
		spin_lock(&vfs_lock);
		mnt->nvnodes++;
		spin_unlock(&vfs_lock);
	}
	return vn;
}

/* vfs_lock held. */
static struct vnode *vcache_search(struct mount *mnt, uint64_t ino)
{
	for (struct vnode *v = vcache[vhash(mnt, ino)]; v; v = v->hnext)
		if (v->mnt == mnt && v->ino == ino)
			return v;
	return NULL;
}

struct vnode *vcache_find(struct mount *mnt, uint64_t ino)
{
	spin_lock(&vfs_lock);
	struct vnode *v = vcache_search(mnt, ino);
	if (v)
		v->refcnt++;
	spin_unlock(&vfs_lock);
	return v;
}

struct vnode *vcache_add(struct vnode *vn)
{
	spin_lock(&vfs_lock);
	struct vnode *v = vcache_search(vn->mnt, vn->ino);
	if (v) {
		v->refcnt++;
		spin_unlock(&vfs_lock);
		vnode_put(vn);
		return v;
	}
	unsigned h = vhash(vn->mnt, vn->ino);
	vn->hnext = vcache[h];
	vcache[h] = vn;
	vn->cached = true;
	spin_unlock(&vfs_lock);
	return vn;
}

enum vtype vfs_mode_to_vtype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return VREG;
	case S_IFDIR:
		return VDIR;
	case S_IFLNK:
		return VLNK;
	case S_IFCHR:
		return VCHR;
	case S_IFBLK:
		return VBLK;
	case S_IFIFO:
		return VFIFO;
	case S_IFSOCK:
		return VSOCK;
	}
	return VNON;
}

int vnode_getattr(struct vnode *vn, struct vattr *va)
{
	memset(va, 0, sizeof *va);
	if (!vn->ops || !vn->ops->getattr)
		return -EPERM;
	return vn->ops->getattr(vn, va);
}

/* st_dev of pipes (Linux's pipefs is an anonymous device too). */
#define PIPE_DEV_MINOR 12

void vattr_to_stat(const struct vnode *vn, const struct vattr *va,
		   struct linux_stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_dev = vn->mnt ? vn->mnt->dev : vfs_makedev(0, PIPE_DEV_MINOR);
	st->st_ino = va->ino;
	st->st_nlink = va->nlink;
	st->st_mode = va->mode;
	st->st_uid = va->uid;
	st->st_gid = va->gid;
	st->st_rdev = va->rdev;
	st->st_size = (int64_t)va->size;
	st->st_blksize = va->blksize ? va->blksize : 4096;
	st->st_blocks = (int64_t)va->blocks;
	st->st_atim = va->atime;
	st->st_mtim = va->mtime;
	st->st_ctim = va->ctime;
}

bool mount_readonly(const struct vnode *vn)
{
	return vn->mnt && (vn->mnt->flags & MNT_RDONLY);
}

struct vnode *vfs_root(void)
{
	spin_lock(&vfs_lock);
	struct vnode *r = root_mount ? root_mount->root : NULL;
	if (r)
		r->refcnt++;
	spin_unlock(&vfs_lock);
	return r;
}

struct vnode *cross_mounts(struct vnode *vn)
{
	spin_lock(&vfs_lock);
	while (vn->covered_by) {
		struct vnode *r = vn->covered_by->root;
		r->refcnt++;
		/* vn is covered, so its mount holds it: this is no last put. */
		KASSERT(vn->refcnt > 1);
		vn->refcnt--;
		vn = r;
	}
	spin_unlock(&vfs_lock);
	return vn;
}

/* ------------------------------------------------------------ types */

static struct fstype *find_fstype(const char *name)
{
	for (struct fstype *t = fstypes; t; t = t->next)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

int vfs_register_fstype(struct fstype *t)
{
	sleeplock_acquire(&mount_lock);
	int err = find_fstype(t->name) ? -EEXIST : 0;
	if (!err) {
		t->next = fstypes;
		fstypes = t;
	}
	sleeplock_release(&mount_lock);
	return err;
}

/* ------------------------------------------------------------ mounts */

/* mount_lock held. */
static bool type_mounted(const struct fstype *t)
{
	for (struct mount *m = mounts; m; m = m->next)
		if (m->type == t)
			return true;
	return false;
}

/* mount_lock held. */
static bool dev_mounted(const struct blockdev *dev)
{
	for (struct mount *m = mounts; m; m = m->next)
		if (m->bdev == dev)
			return true;
	return false;
}

int vfs_mount(const char *fstype, struct blockdev *dev, const char *path,
	      unsigned flags)
{
	struct fstype *t = find_fstype(fstype);
	if (!t)
		return -ENODEV;
	if (t->needs_dev && !dev)
		return -EINVAL;
	if (flags & ~MNT_RDONLY)
		return -EINVAL;
	sleeplock_acquire(&mount_lock);
	struct vnode *covered = NULL;
	struct mount *m = NULL;
	int err = 0;
	if (!t->needs_dev)
		dev = NULL;
	if ((t->single && type_mounted(t)) || (dev && dev_mounted(dev))) {
		err = -EBUSY;
		goto out;
	}
	if (!root_mount) {
		/* The first mount must be the root. */
		if (strcmp(path, "/")) {
			err = -ENOENT;
			goto out;
		}
	} else {
		err = vfs_lookup(NULL, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY,
				 &covered);
		if (err)
			goto out;
		/* No stacking: a mount's root is never covered again. */
		if (covered == covered->mnt->root) {
			err = -EBUSY;
			goto out;
		}
	}
	m = kzalloc(sizeof *m);
	if (!m) {
		err = -ENOMEM;
		goto out;
	}
	m->type = t;
	m->flags = flags;
	m->bdev = dev;
	if (dev)
		snprintf(m->source, sizeof m->source, "/dev/%s", dev->name);
	else
		strlcpy(m->source, t->name, sizeof m->source);
	m->dev = vfs_makedev(0, next_anon_minor++);
	err = t->mount(m, dev, flags);
	if (err)
		goto out;
	KASSERT(m->root && m->root->type == VDIR && m->root->mnt == m);
	m->covered = covered;
	m->parent = covered ? covered->mnt : NULL;
	spin_lock(&vfs_lock);
	if (covered)
		covered->covered_by = m;
	struct mount **pp = &mounts;
	while (*pp)
		pp = &(*pp)->next;
	*pp = m;
	if (!root_mount)
		root_mount = m;
	spin_unlock(&vfs_lock);
	covered = NULL;
	m = NULL;
out:
	sleeplock_release(&mount_lock);
	kfree(m);
	vnode_put(covered);
	return err;
}

int vfs_unmount(const char *path)
{
	sleeplock_acquire(&mount_lock);
	struct vnode *vn;
	int err = vfs_lookup(NULL, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &vn);
	if (err)
		goto out;
	struct mount *m = vn->mnt;
	bool is_root = vn == m->root;
	vnode_put(vn); /* the mount still holds its root */
	if (!is_root) {
		err = -EINVAL;
		goto out;
	}
	if (m == root_mount) {
		err = -EBUSY;
		goto out;
	}
	spin_lock(&vfs_lock);
	if (m->nvnodes != 1 || m->root->refcnt != 1) {
		spin_unlock(&vfs_lock);
		err = -EBUSY;
		goto out;
	}
	m->covered->covered_by = NULL;
	struct mount **pp = &mounts;
	while (*pp != m)
		pp = &(*pp)->next;
	*pp = m->next;
	spin_unlock(&vfs_lock);
	/* Unreachable now: nothing can find the root again. */
	vnode_put(m->root);
	m->root = NULL;
	int uerr = m->type->unmount(m);
	if (uerr)
		printk(KERN_ERR "vfs: unmount %s: error %d\n", m->source, uerr);
	vnode_put(m->covered);
	kfree(m);
out:
	sleeplock_release(&mount_lock);
	return err;
}

int vfs_mount_iter(int (*fn)(void *ctx, const struct mount_info *mi), void *ctx)
{
	char *path = kmalloc(PATH_MAX);
	if (!path)
		return -ENOMEM;
	int rc = 0;
	sleeplock_acquire(&mount_lock);
	for (struct mount *m = mounts; m && !rc; m = m->next) {
		if (vfs_path(m->root, path, PATH_MAX) < 0)
			strlcpy(path, "?", PATH_MAX);
		struct mount_info mi = {m->source, path, m->type->name,
					m->flags};
		rc = fn(ctx, &mi);
	}
	sleeplock_release(&mount_lock);
	kfree(path);
	return rc;
}

struct fmt_ctx {
	char *buf;
	size_t size, len;
};

static int fmt_mount(void *ctx, const struct mount_info *mi)
{
	struct fmt_ctx *c = ctx;
	size_t room = c->len < c->size ? c->size - c->len : 0;
	int n = snprintf(room ? c->buf + c->len : NULL, room,
			 "%s %s %s %s 0 0\n", mi->source, mi->path, mi->fstype,
			 mi->flags & MNT_RDONLY ? "ro" : "rw");
	c->len += n > 0 ? (size_t)n : 0;
	return 0;
}

int vfs_format_mounts(char *buf, size_t size)
{
	struct fmt_ctx c = {buf, size, 0};
	if (size)
		buf[0] = 0;
	int err = vfs_mount_iter(fmt_mount, &c);
	return err ? err : (int)c.len;
}

int vfs_sync(void)
{
	int err = 0;
	sleeplock_acquire(&mount_lock);
	for (struct mount *m = mounts; m; m = m->next) {
		if (!m->type->sync || (m->flags & MNT_RDONLY))
			continue;
		int e = m->type->sync(m);
		if (e && !err)
			err = e;
	}
	sleeplock_release(&mount_lock);
	return err;
}

int vfs_statfs(struct mount *m, struct vstatfs *st)
{
	memset(st, 0, sizeof *st);
	if (!m->type->statfs) {
		st->bsize = 4096;
		st->namelen = NAME_MAX;
		return 0;
	}
	return m->type->statfs(m, st);
}
