/*
 * vfs_path.c — path lookup and the calls that work on names: lookup,
 * stat/lstat, mkdir, rmdir, unlink, link, symlink, readlink, rename,
 * truncate, chmod, and vfs_path (getcwd).
 *
 * Interface: fs/vfs.h; the walker (nd_init, walk_parent, walk_last,
 * walk_follow) in fs/vfs_impl.h for vfs_open.
 *
 * The walker works on a private copy of the path (PATH_MAX bytes). It
 * resolves one component at a time from a referenced vnode; each step asks
 * the file system (lookup), then crosses into a mount covering the result.
 * A symlink in the middle is replaced in the buffer by its target followed
 * by the rest of the path ("target/rest"), so no recursion and no stack
 * beyond two buffers; all links met in one call count toward SYMLOOP_MAX.
 * ".." at the root of a mount first steps to the directory the mount
 * covers, then asks that file system; ".." at the walk's root stays there.
 *
 * Every name-changing call resolves, then checks everything (types, the
 * read-only flag, mount points, same mount), then asks the file system,
 * which checks its own conditions (existence, emptiness) before changing
 * anything. rmdir and rename run under mount_lock so no mount can appear on
 * or below what they remove.
 */
#include "fs/vfs_impl.h"
#include "vm/vm.h"

int nd_init(struct nameidata *nd, const char *path)
{
	memset(nd, 0, sizeof *nd);
	size_t n = strnlen(path, PATH_MAX);
	if (n == PATH_MAX)
		return -ENAMETOOLONG;
	if (n == 0)
		return -ENOENT;
	nd->root = vfs_root();
	if (!nd->root)
		return -ENOENT;
	nd->buf = kmalloc(PATH_MAX);
	if (!nd->buf) {
		vnode_put(nd->root);
		nd->root = NULL;
		return -ENOMEM;
	}
	memcpy(nd->buf, path, n + 1);
	return 0;
}

void nd_done(struct nameidata *nd)
{
	vnode_put(nd->dir);
	vnode_put(nd->root);
	kfree(nd->buf);
	nd->dir = nd->root = NULL;
	nd->buf = NULL;
}

int vfs_lookup_raw(struct vnode *dir, const char *name, size_t len,
		   struct vnode **out)
{
	if (dir->type != VDIR)
		return -ENOTDIR;
	if (!dir->ops->lookup)
		return -ENOTDIR;
	return dir->ops->lookup(dir, name, len, out);
}

/* The parent of cur (a reference), as ".." sees it from the walk. */
static int dotdot(struct nameidata *nd, struct vnode *cur, struct vnode **out)
{
	struct vnode *v = vnode_ref(cur);
	for (;;) {
		if (v == nd->root) {
			*out = v;
			return 0;
		}
		struct mount *m = v->mnt;
		if (!m || v != m->root || !m->covered)
			break;
		/* Mounted on: the parent is the covered directory's. The mount
		 * is busy while we hold its root, so covered stays. */
		struct vnode *c = vnode_ref(m->covered);
		vnode_put(v);
		v = c;
	}
	struct vnode *p;
	int err = vfs_lookup_raw(v, "..", 2, &p);
	vnode_put(v);
	if (err)
		return err;
	*out = cross_mounts(p);
	return 0;
}

/* One step from directory cur (still held by the caller) by name. */
static int step(struct nameidata *nd, struct vnode *cur, const char *name,
		size_t len, struct vnode **out)
{
	if (cur->type != VDIR)
		return -ENOTDIR;
	if (len == 1 && name[0] == '.') {
		*out = vnode_ref(cur);
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return dotdot(nd, cur, out);
	struct vnode *v;
	int err = vfs_lookup_raw(cur, name, len, &v);
	if (err)
		return err;
	*out = cross_mounts(v);
	return 0;
}

/*
 * Replace the path with link's target followed by "/" and rest (rest
 * points into nd->buf); with an empty rest the result ends in '/' only if
 * nd->slash asks for a directory.
 */
static int splice_link(struct nameidata *nd, struct vnode *link,
		       const char *rest)
{
	if (++nd->nlinks > SYMLOOP_MAX)
		return -ELOOP;
	if (!link->ops->readlink)
		return -EINVAL;
	char *t = kmalloc(PATH_MAX);
	if (!t)
		return -ENOMEM;
	int n = link->ops->readlink(link, t, PATH_MAX);
	if (n >= 0)
		n = (int)strnlen(t, (size_t)n);
	int err = 0;
	if (n < 0)
		err = n;
	else if (n == 0)
		err = -ENOENT;
	else if (n >= PATH_MAX)
		err = -ENAMETOOLONG;
	if (err) {
		kfree(t);
		return err;
	}
	size_t rl = strlen(rest);
	bool sep = rl > 0 || nd->slash;
	if ((size_t)n + sep + rl >= PATH_MAX) {
		kfree(t);
		return -ENAMETOOLONG;
	}
	memmove(nd->buf + n + sep, rest, rl + 1);
	memcpy(nd->buf, t, (size_t)n);
	if (sep)
		nd->buf[n] = '/';
	kfree(t);
	return 0;
}

static int classify(const char *name, size_t len)
{
	if (len == 1 && name[0] == '.')
		return LAST_DOT;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return LAST_DOTDOT;
	return LAST_NORM;
}

int walk_parent(struct nameidata *nd, struct vnode *at)
{
	char *p = nd->buf;
	struct vnode *cur = vnode_ref(*p == '/' || !at ? nd->root : at);
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			/* Only slashes (after a symlink to "/", too). */
			nd->dir = cur;
			nd->last = p;
			nd->len = 0;
			nd->last_type = LAST_ROOT;
			nd->slash = true;
			return 0;
		}
		char *q = p;
		while (*q && *q != '/')
			q++;
		size_t len = (size_t)(q - p);
		if (len > NAME_MAX) {
			vnode_put(cur);
			return -ENAMETOOLONG;
		}
		char *r = q;
		while (*r == '/')
			r++;
		if (!*r) {
			nd->dir = cur;
			nd->last = p;
			nd->len = len;
			nd->last_type = classify(p, len);
			nd->slash = r != q;
			return 0;
		}
		struct vnode *next;
		int err = step(nd, cur, p, len, &next);
		if (err) {
			vnode_put(cur);
			return err;
		}
		if (next->type == VLNK) {
			err = splice_link(nd, next, r);
			vnode_put(next);
			if (err) {
				vnode_put(cur);
				return err;
			}
			p = nd->buf;
			if (*p == '/') {
				vnode_put(cur);
				cur = vnode_ref(nd->root);
			}
			continue;
		}
		if (next->type != VDIR) {
			vnode_put(next);
			vnode_put(cur);
			return -ENOTDIR;
		}
		vnode_put(cur);
		cur = next;
		p = r;
	}
}

int walk_follow(struct nameidata *nd, struct vnode *vn)
{
	struct vnode *dir = nd->dir;
	nd->dir = NULL;
	int err = splice_link(nd, vn, "");
	if (!err)
		err = walk_parent(nd, dir);
	vnode_put(dir);
	return err;
}

int walk_last(struct nameidata *nd, bool follow, struct vnode **out)
{
	for (;;) {
		struct vnode *vn;
		if (nd->last_type == LAST_ROOT) {
			vn = nd->dir;
			nd->dir = NULL;
		} else {
			int err = step(nd, nd->dir, nd->last, nd->len, &vn);
			if (err)
				return err;
			if (vn->type == VLNK && (follow || nd->slash)) {
				err = walk_follow(nd, vn);
				vnode_put(vn);
				if (err)
					return err;
				continue;
			}
			vnode_put(nd->dir);
			nd->dir = NULL;
		}
		if (nd->slash && vn->type != VDIR) {
			vnode_put(vn);
			return -ENOTDIR;
		}
		*out = vn;
		return 0;
	}
}

int vfs_lookup(struct vnode *at, const char *path, unsigned flags,
	       struct vnode **out)
{
	struct nameidata nd;
	int err = nd_init(&nd, path);
	if (!err)
		err = walk_parent(&nd, at);
	struct vnode *vn = NULL;
	if (!err)
		err = walk_last(&nd, flags & LOOKUP_FOLLOW, &vn);
	nd_done(&nd);
	if (!err && (flags & LOOKUP_DIRECTORY) && vn->type != VDIR) {
		vnode_put(vn);
		err = -ENOTDIR;
	}
	if (!err)
		*out = vn;
	return err;
}

/* ------------------------------------------------------------ getcwd */

struct find_ctx {
	uint64_t ino;
	char *name;
	size_t len;
	bool found;
};

static int find_ino(void *ctx, const char *name, size_t len, uint64_t ino,
		    unsigned dtype, uint64_t next)
{
	struct find_ctx *c = ctx;
	if (ino != c->ino || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	memcpy(c->name, name, len);
	c->len = len;
	c->found = true;
	return 1;
}

int vfs_path(struct vnode *dir, char *buf, size_t size)
{
	struct vnode *root = vfs_root();
	if (!root)
		return -ENOENT;
	char *tmp = kmalloc(PATH_MAX + NAME_MAX + 1);
	if (!tmp) {
		vnode_put(root);
		return -ENOMEM;
	}
	char *name = tmp + PATH_MAX;
	size_t pos = PATH_MAX; /* the path is built backwards in tmp */
	struct vnode *v = vnode_ref(dir);
	int err = 0;
	for (;;) {
		if (v == root)
			break;
		struct mount *m = v->mnt;
		if (m && v == m->root) {
			if (!m->covered) {
				err = -ENOENT; /* not under our root */
				break;
			}
			struct vnode *c = vnode_ref(m->covered);
			vnode_put(v);
			v = c;
			continue;
		}
		struct vnode *parent;
		err = vfs_lookup_raw(v, "..", 2, &parent);
		if (err)
			break;
		struct find_ctx fc = {v->ino, name, 0, false};
		uint64_t dpos = 0;
		err = parent->ops->readdir ? parent->ops->readdir(parent, &dpos,
								  find_ino, &fc)
					   : -ENOTDIR;
		if (!err && !fc.found)
			err = -ENOENT; /* removed */
		if (!err && pos < fc.len + 1 + 1)
			err = -ENAMETOOLONG;
		if (err) {
			vnode_put(parent);
			break;
		}
		pos -= fc.len;
		memcpy(tmp + pos, name, fc.len);
		tmp[--pos] = '/';
		vnode_put(v);
		v = parent;
	}
	vnode_put(v);
	vnode_put(root);
	if (!err) {
		if (pos == PATH_MAX)
			tmp[--pos] = '/';
		size_t len = PATH_MAX - pos;
		if (len + 1 > size) {
			err = -ERANGE;
		} else {
			memcpy(buf, tmp + pos, len);
			buf[len] = 0;
			err = (int)len;
		}
	}
	kfree(tmp);
	return err;
}

/* ------------------------------------------------------------ stat */

static int stat_path(struct vnode *at, const char *path, bool follow,
		     struct linux_stat *st)
{
	struct vnode *vn;
	int err = vfs_lookup(at, path, follow ? LOOKUP_FOLLOW : 0, &vn);
	if (err)
		return err;
	struct vattr va;
	err = vnode_getattr(vn, &va);
	if (!err)
		vattr_to_stat(vn, &va, st);
	vnode_put(vn);
	return err;
}

int vfs_stat(struct vnode *at, const char *path, struct linux_stat *st)
{
	return stat_path(at, path, true, st);
}

int vfs_lstat(struct vnode *at, const char *path, struct linux_stat *st)
{
	return stat_path(at, path, false, st);
}

int vfs_readlink(struct vnode *at, const char *path, char *buf, size_t size)
{
	if (size == 0 || size > INT32_MAX)
		return -EINVAL;
	struct vnode *vn;
	int err = vfs_lookup(at, path, 0, &vn);
	if (err)
		return err;
	if (vn->type != VLNK || !vn->ops->readlink)
		err = -EINVAL;
	else
		err = vn->ops->readlink(vn, buf, size);
	vnode_put(vn);
	return err;
}

/* ------------------------------------------------------------ names */

/*
 * Resolve path to the directory holding its last component, which must be
 * a name: "." , ".." and "/" give err_dot, err_dotdot, err_root (each call
 * has Linux's own). The caller runs nd_done whatever this returns.
 */
static int parent_of(struct nameidata *nd, struct vnode *at, const char *path,
		     int err_dot, int err_dotdot, int err_root)
{
	int err = nd_init(nd, path);
	if (!err)
		err = walk_parent(nd, at);
	if (err)
		return err;
	switch (nd->last_type) {
	case LAST_DOT:
		return err_dot;
	case LAST_DOTDOT:
		return err_dotdot;
	case LAST_ROOT:
		return err_root;
	}
	if (nd->dir->type != VDIR)
		return -ENOTDIR;
	return 0;
}

int vfs_mkdir(struct vnode *at, const char *path, uint32_t mode)
{
	struct nameidata nd;
	int err = parent_of(&nd, at, path, -EEXIST, -EEXIST, -EEXIST);
	struct vnode *vn = NULL;
	if (!err && mount_readonly(nd.dir)) {
		/* Linux says EEXIST before EROFS for an existing name. */
		err = vfs_lookup_raw(nd.dir, nd.last, nd.len, &vn);
		err = err == 0 ? -EEXIST : -EROFS;
	}
	if (!err)
		err = nd.dir->ops->create
			      ? nd.dir->ops->create(nd.dir, nd.last, nd.len,
						    S_IFDIR | (mode & 07777), 0,
						    &vn)
			      : -EPERM;
	vnode_put(vn);
	nd_done(&nd);
	return err;
}

int vfs_symlink(const char *target, struct vnode *at, const char *path)
{
	size_t tlen = strnlen(target, PATH_MAX);
	if (tlen == PATH_MAX)
		return -ENAMETOOLONG;
	if (tlen == 0)
		return -ENOENT;
	struct nameidata nd;
	int err = parent_of(&nd, at, path, -EEXIST, -EEXIST, -EEXIST);
	if (!err && nd.slash)
		err = -ENOENT;
	if (!err && mount_readonly(nd.dir))
		err = -EROFS;
	if (!err)
		err = nd.dir->ops->symlink
			      ? nd.dir->ops->symlink(nd.dir, nd.last, nd.len,
						     target, tlen)
			      : -EPERM;
	nd_done(&nd);
	return err;
}

int vfs_link(struct vnode *oat, const char *oldpath, struct vnode *nat,
	     const char *newpath)
{
	struct vnode *old;
	int err = vfs_lookup(oat, oldpath, 0, &old);
	if (err)
		return err;
	struct nameidata nd;
	err = parent_of(&nd, nat, newpath, -EEXIST, -EEXIST, -EEXIST);
	if (!err && old->type == VDIR)
		err = -EPERM;
	if (!err && nd.slash)
		err = -ENOENT;
	if (!err && old->mnt != nd.dir->mnt)
		err = -EXDEV;
	if (!err && mount_readonly(nd.dir))
		err = -EROFS;
	if (!err)
		err = nd.dir->ops->link
			      ? nd.dir->ops->link(nd.dir, nd.last, nd.len, old)
			      : -EPERM;
	nd_done(&nd);
	vnode_put(old);
	return err;
}

int vfs_unlink(struct vnode *at, const char *path)
{
	struct nameidata nd;
	int err = parent_of(&nd, at, path, -EISDIR, -EISDIR, -EISDIR);
	struct vnode *vn = NULL;
	if (!err)
		err = vfs_lookup_raw(nd.dir, nd.last, nd.len, &vn);
	if (!err && vn->type == VDIR)
		err = -EISDIR;
	if (!err && nd.slash)
		err = -ENOTDIR;
	if (!err && mount_readonly(nd.dir))
		err = -EROFS;
	vnode_put(vn);
	if (!err)
		err = nd.dir->ops->unlink
			      ? nd.dir->ops->unlink(nd.dir, nd.last, nd.len)
			      : -EPERM;
	nd_done(&nd);
	return err;
}

int vfs_rmdir(struct vnode *at, const char *path)
{
	struct nameidata nd;
	int err = parent_of(&nd, at, path, -EINVAL, -ENOTEMPTY, -EBUSY);
	struct vnode *vn = NULL;
	sleeplock_acquire(&mount_lock);
	if (!err)
		err = vfs_lookup_raw(nd.dir, nd.last, nd.len, &vn);
	if (!err && vn->type != VDIR)
		err = -ENOTDIR;
	if (!err && vn->covered_by)
		err = -EBUSY;
	if (!err && mount_readonly(nd.dir))
		err = -EROFS;
	vnode_put(vn);
	if (!err)
		err = nd.dir->ops->rmdir
			      ? nd.dir->ops->rmdir(nd.dir, nd.last, nd.len)
			      : -EPERM;
	sleeplock_release(&mount_lock);
	nd_done(&nd);
	return err;
}

int vfs_rename(struct vnode *oat, const char *oldpath, struct vnode *nat,
	       const char *newpath)
{
	struct nameidata o, n;
	memset(&n, 0, sizeof n);
	struct vnode *ovn = NULL, *nvn = NULL;
	int err = parent_of(&o, oat, oldpath, -EBUSY, -EBUSY, -EBUSY);
	if (!err)
		err = parent_of(&n, nat, newpath, -EBUSY, -EBUSY, -EBUSY);
	sleeplock_acquire(&mount_lock);
	if (!err && o.dir->mnt != n.dir->mnt)
		err = -EXDEV;
	if (!err)
		err = vfs_lookup_raw(o.dir, o.last, o.len, &ovn);
	if (!err && (o.slash || n.slash) && ovn->type != VDIR)
		err = -ENOTDIR;
	if (!err && ovn->covered_by)
		err = -EBUSY;
	if (!err) {
		int e = vfs_lookup_raw(n.dir, n.last, n.len, &nvn);
		if (e && e != -ENOENT)
			err = e;
		else if (!e && nvn->covered_by)
			err = -EBUSY;
	}
	if (!err && mount_readonly(o.dir))
		err = -EROFS;
	vnode_put(ovn);
	vnode_put(nvn);
	if (!err)
		err = o.dir->ops->rename
			      ? o.dir->ops->rename(o.dir, o.last, o.len, n.dir,
						   n.last, n.len)
			      : -EPERM;
	sleeplock_release(&mount_lock);
	nd_done(&n);
	nd_done(&o);
	return err;
}

static int setattr_path(struct vnode *at, const char *path,
			const struct vsetattr *sa)
{
	struct vnode *vn;
	int err = vfs_lookup(at, path, LOOKUP_FOLLOW, &vn);
	if (err)
		return err;
	if ((sa->mask & VA_SIZE) && vn->type == VDIR)
		err = -EISDIR;
	else if ((sa->mask & VA_SIZE) && vn->type != VREG)
		err = -EINVAL;
	else if (mount_readonly(vn))
		err = -EROFS;
	else if (!vn->ops->setattr)
		err = -EPERM;
	else
		err = vn->ops->setattr(vn, sa);
	if (sa->mask & VA_SIZE)
		vnode_data_changed(vn);
	vnode_put(vn);
	return err;
}

int vfs_truncate(struct vnode *at, const char *path, int64_t length)
{
	if (length < 0)
		return -EINVAL;
	struct vsetattr sa = {.mask = VA_SIZE, .size = (uint64_t)length};
	return setattr_path(at, path, &sa);
}

int vfs_chmod(struct vnode *at, const char *path, uint32_t mode)
{
	struct vsetattr sa = {.mask = VA_MODE, .mode = mode & 07777};
	return setattr_path(at, path, &sa);
}
