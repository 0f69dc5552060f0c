/*
 * vfs_file.c — open files: vfs_open and the file_* calls on struct file.
 *
 * Interface: fs/vfs.h. A file has a reference count (vfs_lock), its
 * vnode (a reference), ops, and an offset guarded by pos_lock. Regular
 * files and directories use vnode_fops, which reads and writes through
 * the vnode's ops at the file's offset; devices, procfs snapshots and
 * pipes install their own ops when opened.
 *
 * vfs_open settles every error (flags, types, read-only mount, O_EXCL)
 * before the only changes it makes: creating the file (O_CREAT) and then
 * truncating it (O_TRUNC).
 */
#include "fs/vfs_impl.h"
#include "vm/vm.h"

#define RW_MAX 0x7ffff000 /* Linux's MAX_RW_COUNT: the most one call moves */

static int64_t vnode_read(struct file *f, void *buf, size_t len, uint64_t off)
{
	struct vnode *vn = f->vn;
	if (vn->type == VDIR)
		return -EISDIR;
	if (!vn->ops->read)
		return -EINVAL;
	return vn->ops->read(vn, off, buf, len);
}

static int64_t vnode_write(struct file *f, const void *buf, size_t len,
			   uint64_t off)
{
	struct vnode *vn = f->vn;
	if (vn->type == VDIR)
		return -EISDIR;
	if (!vn->ops->write)
		return -EINVAL;
	return vn->ops->write(vn, off, buf, len);
}

static const struct file_ops vnode_fops = {
	.read = vnode_read,
	.write = vnode_write,
};

struct file *file_alloc(struct vnode *vn, int flags)
{
	struct file *f = kzalloc(sizeof *f);
	if (!f)
		return NULL;
	f->refcnt = 1;
	f->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW);
	f->vn = vn;
	f->ops = &vnode_fops;
	sleeplock_init(&f->pos_lock, "file");
	return f;
}

static bool readable(const struct file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static bool writable(const struct file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* Checks that need only the vnode and the flags (after lookup). */
static int open_check(struct vnode *vn, int flags)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	if ((flags & O_DIRECTORY) && vn->type != VDIR)
		return -ENOTDIR;
	switch (vn->type) {
	case VDIR:
		if (wr)
			return -EISDIR;
		break;
	case VLNK:
		return -ELOOP; /* O_NOFOLLOW */
	case VREG:
		if (wr && mount_readonly(vn))
			return -EROFS;
		if ((flags & O_ACCMODE) != O_RDONLY && !vn->ops->write)
			return -EACCES;
		break;
	case VCHR:
		break;
	case VFIFO:
	case VBLK:
	case VSOCK:
	case VNON:
		return -ENXIO; /* named pipes and block devices: not yet */
	}
	return 0;
}

int vfs_open_vnode(struct vnode *vn, int flags, struct file **out)
{
	int err = open_check(vn, flags);
	if (err)
		return err;
	struct file *f = file_alloc(vn, flags);
	if (!f)
		return -ENOMEM;
	if (vn->type == VCHR)
		err = chrdev_open(vn->rdev, f);
	else if (vn->ops->open)
		err = vn->ops->open(vn, f);
	if (!err && (flags & O_TRUNC) && vn->type == VREG) {
		struct vsetattr sa = {.mask = VA_SIZE, .size = 0};
		err = vn->ops->setattr ? vn->ops->setattr(vn, &sa) : -EPERM;
		vnode_data_changed(vn);
		if (err && f->ops->release)
			f->ops->release(f);
	}
	if (err) {
		kfree(f);
		return err;
	}
	vnode_ref(vn);
	*out = f;
	return 0;
}

/* O_CREAT: the last component, made if missing. */
static int open_create(struct nameidata *nd, int flags, uint32_t mode,
		       struct vnode **out)
{
	for (int tries = 0;; tries++) {
		if (nd->last_type != LAST_NORM || nd->slash)
			return -EISDIR;
		struct vnode *dir = nd->dir, *vn;
		if (dir->type != VDIR)
			return -ENOTDIR;
		int err = vfs_lookup_raw(dir, nd->last, nd->len, &vn);
		if (!err) {
			vn = cross_mounts(vn);
			if (flags & O_EXCL) {
				vnode_put(vn);
				return -EEXIST;
			}
			if (vn->type == VDIR) {
				vnode_put(vn);
				return -EISDIR;
			}
			if (vn->type == VLNK) {
				if (flags & O_NOFOLLOW) {
					vnode_put(vn);
					return -ELOOP;
				}
				/* A dangling link: create its target. */
				err = walk_follow(nd, vn);
				vnode_put(vn);
				if (err)
					return err;
				continue;
			}
			*out = vn;
			return 0;
		}
		if (err != -ENOENT)
			return err;
		if (mount_readonly(dir))
			return -EROFS;
		if (!dir->ops->create)
			return -EACCES;
		err = dir->ops->create(dir, nd->last, nd->len,
				       S_IFREG | (mode & 07777), 0, &vn);
		if (err == -EEXIST && !(flags & O_EXCL) && tries < 3)
			continue; /* created by someone else meanwhile */
		if (err)
			return err;
		*out = vn;
		return 0;
	}
}

int vfs_open(struct vnode *at, const char *path, int flags, uint32_t mode,
	     struct file **out)
{
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if ((flags & O_CREAT) && (flags & O_DIRECTORY))
		return -EINVAL;
	struct nameidata nd;
	int err = nd_init(&nd, path);
	if (!err)
		err = walk_parent(&nd, at);
	struct vnode *vn = NULL;
	if (!err && (flags & O_CREAT))
		err = open_create(&nd, flags, mode, &vn);
	else if (!err)
		err = walk_last(&nd, !(flags & O_NOFOLLOW), &vn);
	nd_done(&nd);
	if (err)
		return err;
	err = vfs_open_vnode(vn, flags, out);
	vnode_put(vn);
	return err;
}

/* ------------------------------------------------------------ I/O */

static int64_t clamp_len(size_t len)
{
	return len > RW_MAX ? RW_MAX : (int64_t)len;
}

int64_t file_read(struct file *f, void *buf, size_t len)
{
	if (!readable(f))
		return -EBADF;
	if (!f->ops->read)
		return -EINVAL;
	len = (size_t)clamp_len(len);
	if (f->ops->stream)
		return f->ops->read(f, buf, len, 0);
	sleeplock_acquire(&f->pos_lock);
	int64_t n = f->ops->read(f, buf, len, f->offset);
	if (n > 0)
		f->offset += (uint64_t)n;
	sleeplock_release(&f->pos_lock);
	return n;
}

/* The offset an O_APPEND write goes to: the size (vn->lock held). */
static int64_t append_offset(struct file *f)
{
	struct vattr va;
	int err = vnode_getattr(f->vn, &va);
	return err ? err : (int64_t)va.size;
}

static int64_t write_at(struct file *f, const void *buf, size_t len,
			int64_t off, bool append)
{
	struct vnode *vn = f->vn;
	if (!append || vn->type != VREG) {
		if (off > INT64_MAX - (int64_t)len)
			return -EFBIG;
		int64_t n = f->ops->write(f, buf, len, (uint64_t)off);
		if (vn->type == VREG)
			vnode_data_changed(vn);
		return n;
	}
	sleeplock_acquire(&vn->lock);
	int64_t n = append_offset(f);
	if (n >= 0)
		n = n > INT64_MAX - (int64_t)len
			    ? -EFBIG
			    : f->ops->write(f, buf, len, (uint64_t)n);
	vnode_data_changed(vn);
	sleeplock_release(&vn->lock);
	return n;
}

int64_t file_write(struct file *f, const void *buf, size_t len)
{
	if (!writable(f))
		return -EBADF;
	if (!f->ops->write)
		return -EINVAL;
	len = (size_t)clamp_len(len);
	if (f->ops->stream)
		return f->ops->write(f, buf, len, 0);
	sleeplock_acquire(&f->pos_lock);
	int64_t n;
	if ((f->flags & O_APPEND) && f->vn->type == VREG) {
		/* The new offset is the end of what we wrote. */
		sleeplock_acquire(&f->vn->lock);
		n = append_offset(f);
		if (n >= 0) {
			int64_t at = n;
			n = at > INT64_MAX - (int64_t)len
				    ? -EFBIG
				    : f->ops->write(f, buf, len, (uint64_t)at);
			if (n > 0)
				f->offset = (uint64_t)(at + n);
		}
		vnode_data_changed(f->vn);
		sleeplock_release(&f->vn->lock);
	} else {
		n = write_at(f, buf, len, (int64_t)f->offset, false);
		if (n > 0)
			f->offset += (uint64_t)n;
	}
	sleeplock_release(&f->pos_lock);
	return n;
}

int64_t file_pread(struct file *f, void *buf, size_t len, int64_t off)
{
	if (!readable(f))
		return -EBADF;
	if (f->ops->stream)
		return -ESPIPE;
	if (off < 0)
		return -EINVAL;
	if (!f->ops->read)
		return -EINVAL;
	return f->ops->read(f, buf, (size_t)clamp_len(len), (uint64_t)off);
}

int64_t file_pwrite(struct file *f, const void *buf, size_t len, int64_t off)
{
	if (!writable(f))
		return -EBADF;
	if (f->ops->stream)
		return -ESPIPE;
	if (off < 0)
		return -EINVAL;
	if (!f->ops->write)
		return -EINVAL;
	/* As Linux: with O_APPEND, pwrite appends. */
	return write_at(f, buf, (size_t)clamp_len(len), off,
			f->flags & O_APPEND);
}

int64_t file_lseek(struct file *f, int64_t off, int whence)
{
	if (f->ops->stream)
		return -ESPIPE;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return -EINVAL;
	sleeplock_acquire(&f->pos_lock);
	int64_t base = 0, res;
	if (whence == SEEK_CUR) {
		base = (int64_t)f->offset;
	} else if (whence == SEEK_END) {
		struct vattr va;
		int err = vnode_getattr(f->vn, &va);
		base = err ? err : (int64_t)va.size;
		if (err) {
			sleeplock_release(&f->pos_lock);
			return err;
		}
	}
	if (off > 0 && base > INT64_MAX - off)
		res = -EINVAL;
	else if (base + off < 0)
		res = -EINVAL;
	else
		res = base + off;
	if (res >= 0)
		f->offset = (uint64_t)res;
	sleeplock_release(&f->pos_lock);
	return res;
}

/* ------------------------------------------------------------ getdents */

struct dents_ctx {
	char *buf;
	size_t size, used;
	uint64_t pos; /* the position after the last record placed */
	bool full; /* a record did not fit */
};

static int fill_dirent(void *ctx, const char *name, size_t len, uint64_t ino,
		       unsigned dtype, uint64_t next)
{
	struct dents_ctx *c = ctx;
	size_t reclen = ALIGN_UP(LINUX_DIRENT64_NAME + len + 1, 8);
	if (c->used + reclen > c->size) {
		c->full = true;
		return 1;
	}
	struct linux_dirent64 d = {
		.d_ino = ino,
		.d_off = (int64_t)next,
		.d_reclen = (uint16_t)reclen,
		.d_type = (uint8_t)dtype,
	};
	char *p = c->buf + c->used;
	memcpy(p, &d, LINUX_DIRENT64_NAME);
	memcpy(p + LINUX_DIRENT64_NAME, name, len);
	memset(p + LINUX_DIRENT64_NAME + len, 0,
	       reclen - LINUX_DIRENT64_NAME - len);
	c->used += reclen;
	c->pos = next;
	return 0;
}

int64_t file_getdents64(struct file *f, void *buf, size_t size)
{
	struct vnode *vn = f->vn;
	if (vn->type != VDIR)
		return -ENOTDIR;
	if (!vn->ops->readdir)
		return -ENOTDIR;
	if (size > RW_MAX)
		size = RW_MAX;
	sleeplock_acquire(&f->pos_lock);
	struct dents_ctx c = {buf, size, 0, f->offset, false};
	uint64_t pos = f->offset;
	int err = vn->ops->readdir(vn, &pos, fill_dirent, &c);
	int64_t n;
	if (c.used) {
		/* Resume after the last record given, whatever readdir left. */
		f->offset = c.pos;
		n = (int64_t)c.used;
	} else if (err) {
		n = err;
	} else {
		/* Nothing placed: the first did not fit, or the end. */
		n = c.full ? -EINVAL : 0;
		if (!c.full)
			f->offset = pos;
	}
	sleeplock_release(&f->pos_lock);
	return n;
}

/* ------------------------------------------------------------ the rest */

int file_stat(struct file *f, struct linux_stat *st)
{
	struct vattr va;
	int err = vnode_getattr(f->vn, &va);
	if (!err)
		vattr_to_stat(f->vn, &va, st);
	return err;
}

int file_fsync(struct file *f)
{
	struct vnode *vn = f->vn;
	if (vn->type != VREG && vn->type != VDIR)
		return -EINVAL;
	return vn->ops->fsync ? vn->ops->fsync(vn) : 0;
}

int file_truncate(struct file *f, int64_t length)
{
	struct vnode *vn = f->vn;
	if (length < 0 || vn->type != VREG || !writable(f))
		return -EINVAL;
	if (mount_readonly(vn))
		return -EROFS;
	if (!vn->ops->setattr)
		return -EPERM;
	struct vsetattr sa = {.mask = VA_SIZE, .size = (uint64_t)length};
	int rc = vn->ops->setattr(vn, &sa);
	vnode_data_changed(vn);
	return rc;
}

int file_chmod(struct file *f, uint32_t mode)
{
	struct vnode *vn = f->vn;
	if (mount_readonly(vn))
		return -EROFS;
	if (!vn->ops->setattr)
		return -EPERM;
	struct vsetattr sa = {.mask = VA_MODE, .mode = mode & 07777};
	return vn->ops->setattr(vn, &sa);
}

int file_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	return f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
}

void file_set_flags(struct file *f, int flags)
{
	const int settable = O_APPEND | O_NONBLOCK;
	sleeplock_acquire(&f->pos_lock);
	f->flags = (f->flags & ~settable) | (flags & settable);
	sleeplock_release(&f->pos_lock);
}

struct file *file_dup(struct file *f)
{
	spin_lock(&vfs_lock);
	KASSERT(f->refcnt > 0);
	f->refcnt++;
	spin_unlock(&vfs_lock);
	return f;
}

void file_close(struct file *f)
{
	spin_lock(&vfs_lock);
	KASSERT(f->refcnt > 0);
	bool last = --f->refcnt == 0;
	spin_unlock(&vfs_lock);
	if (!last)
		return;
	if (f->ops->release)
		f->ops->release(f);
	vnode_put(f->vn);
	kfree(f);
}
