/*
 * devfs.c — character devices and the "devfs" file system on /dev.
 *
 * Interface (fs/vfs.h): chrdev_register; devfs_init registers the devices
 * below, the terminals (tty_init, fs/tty.c) and the type. (fs/vfs_impl.h)
 * chrdev_open: what vfs_open calls for any character-device vnode, in
 * devfs or on ext2.
 *
 *   /dev/null     1:3   reads end at once, writes vanish
 *   /dev/zero     1:5   reads give zeros, writes vanish
 *   /dev/ttyS0    4:64  the serial console (COM1): fs/tty.c
 *   /dev/console  5:1   the same terminal
 *   /dev/tty      5:0   the caller's controlling terminal: the console
 *
 * The device table only grows (an entry is never removed or changed once
 * used), so an entry found under chr_lock may be used without it. devfs is
 * flat: inode 1 is the directory, 2 + i the device of table slot i.
 */
#include "fs/vfs_impl.h"

#define CHRDEV_MAX 32
#define DEVFS_ROOT_INO 1

struct chrdev {
	uint32_t rdev;
	char name[16];
	uint32_t mode; /* permission bits */
	const struct file_ops *fops;
	void *priv;
	bool show;
};

static struct chrdev chrdevs[CHRDEV_MAX];
static unsigned nchrdevs; /* chr_lock */
static struct spinlock chr_lock = {.name = "chrdev"};

int chrdev_register(uint32_t rdev, const char *name, uint32_t mode,
		    const struct file_ops *fops, void *priv, bool show)
{
	size_t len = strnlen(name, sizeof chrdevs[0].name);
	if (!len || len == sizeof chrdevs[0].name || strchr(name, '/') ||
	    !fops || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	int err = 0;
	spin_lock(&chr_lock);
	for (unsigned i = 0; i < nchrdevs && !err; i++)
		if (chrdevs[i].rdev == rdev ||
		    (show && chrdevs[i].show && !strcmp(chrdevs[i].name, name)))
			err = -EEXIST;
	if (!err && nchrdevs == CHRDEV_MAX)
		err = -ENOSPC;
	if (!err) {
		struct chrdev *c = &chrdevs[nchrdevs];
		c->rdev = rdev;
		strlcpy(c->name, name, sizeof c->name);
		c->mode = mode & 07777;
		c->fops = fops;
		c->priv = priv;
		c->show = show;
		nchrdevs++;
	}
	spin_unlock(&chr_lock);
	return err;
}

static int chrdev_count(void)
{
	spin_lock(&chr_lock);
	unsigned n = nchrdevs;
	spin_unlock(&chr_lock);
	return (int)n;
}

int chrdev_open(uint32_t rdev, struct file *f)
{
	int n = chrdev_count();
	for (int i = 0; i < n; i++) {
		if (chrdevs[i].rdev == rdev) {
			f->ops = chrdevs[i].fops;
			f->priv = chrdevs[i].priv;
			return 0;
		}
	}
	return -ENXIO;
}

/* ------------------------------------------------------------ null, zero */

static int64_t null_read(struct file *f, void *buf, size_t len, uint64_t off)
{
	return 0;
}

static int64_t sink_write(struct file *f, const void *buf, size_t len,
			  uint64_t off)
{
	return (int64_t)len;
}

static int64_t zero_read(struct file *f, void *buf, size_t len, uint64_t off)
{
	memset(buf, 0, len);
	return (int64_t)len;
}

static const struct file_ops null_fops = {.read = null_read,
					  .write = sink_write};
static const struct file_ops zero_fops = {.read = zero_read,
					  .write = sink_write};

/* ------------------------------------------------------------ devfs */

static const struct vnode_ops devfs_vops;

static int devfs_vget(struct mount *m, uint64_t ino, struct vnode **out)
{
	struct vnode *vn = vcache_find(m, ino);
	if (vn) {
		*out = vn;
		return 0;
	}
	if (ino == DEVFS_ROOT_INO) {
		vn = vnode_alloc(m, ino, VDIR, &devfs_vops, NULL);
	} else {
		struct chrdev *c = &chrdevs[ino - 2];
		vn = vnode_alloc(m, ino, VCHR, &devfs_vops, c);
		if (vn)
			vn->rdev = c->rdev;
	}
	if (!vn)
		return -ENOMEM;
	*out = vcache_add(vn);
	return 0;
}

static int devfs_lookup(struct vnode *dir, const char *name, size_t len,
			struct vnode **out)
{
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return devfs_vget(dir->mnt, DEVFS_ROOT_INO, out);
	int n = chrdev_count();
	for (int i = 0; i < n; i++) {
		const struct chrdev *c = &chrdevs[i];
		if (c->show && strlen(c->name) == len &&
		    !memcmp(c->name, name, len))
			return devfs_vget(dir->mnt, 2 + (uint64_t)i, out);
	}
	return len > NAME_MAX ? -ENAMETOOLONG : -ENOENT;
}

static int devfs_readdir(struct vnode *dir, uint64_t *pos, vfs_filldir_fn fn,
			 void *ctx)
{
	int n = chrdev_count();
	for (; *pos < 2 + (uint64_t)n; ++*pos) {
		uint64_t p = *pos;
		int stop;
		if (p < 2) { /* "." (the first p + 1 bytes of ".."), ".." */
			stop = fn(ctx, "..", p + 1, DEVFS_ROOT_INO, DT_DIR,
				  p + 1);
		} else {
			const struct chrdev *c = &chrdevs[p - 2];
			if (!c->show)
				continue;
			stop = fn(ctx, c->name, strlen(c->name), p, DT_CHR,
				  p + 1);
		}
		if (stop)
			return 0;
	}
	return 0;
}

static int devfs_getattr(struct vnode *vn, struct vattr *va)
{
	va->ino = vn->ino;
	va->blksize = 4096;
	if (vn->type == VDIR) {
		va->mode = S_IFDIR | 0755;
		va->nlink = 2;
	} else {
		const struct chrdev *c = vn->priv;
		va->mode = S_IFCHR | c->mode;
		va->nlink = 1;
		va->rdev = c->rdev;
	}
	return 0;
}

static const struct vnode_ops devfs_vops = {
	.lookup = devfs_lookup,
	.readdir = devfs_readdir,
	.getattr = devfs_getattr,
};

static int devfs_mount(struct mount *m, struct blockdev *dev, unsigned flags)
{
	return devfs_vget(m, DEVFS_ROOT_INO, &m->root);
}

static int devfs_unmount(struct mount *m)
{
	return 0;
}

static struct fstype devfs_type = {
	.name = "devfs",
	.single = true,
	.mount = devfs_mount,
	.unmount = devfs_unmount,
};

void devfs_init(void)
{
	chrdev_register(vfs_makedev(1, 3), "null", 0666, &null_fops, NULL,
			true);
	chrdev_register(vfs_makedev(1, 5), "zero", 0666, &zero_fops, NULL,
			true);
	tty_init();
	vfs_register_fstype(&devfs_type);
}
