/*
 * vfs_impl.h — private to fs/vfs*.c: the VFS's locks and the path walker
 * shared by its files.
 *
 * Locks (outermost first):
 *   mount_lock  (sleeplock) the mount list and every change to which
 *               directory is covered: mount, unmount, and rmdir/rename
 *               (which must not remove a mount point under a mount)
 *   f->pos_lock (sleeplock) an open file's offset
 *   vn->lock    (sleeplock) O_APPEND writes to one vnode
 *   file systems' own locks (ext2: see fs/ext2_impl.h)
 *   vfs_lock    (spinlock) vnode and file reference counts, the vnode
 *               cache, covered_by, mount->nvnodes; never held across a
 *               call into a file system or a sleep
 */
#ifndef FS_VFS_IMPL_H
#define FS_VFS_IMPL_H

#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/sync.h"

extern struct spinlock vfs_lock;
extern struct sleeplock mount_lock;

/* What the last component of a path is. */
enum { LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT };

/*
 * A path walk in progress. nd_init copies the path into buf (PATH_MAX
 * bytes); walk_parent resolves everything but the last component, leaving
 * dir (a reference) and last/len/last_type/slash; symlinks met on the way
 * are spliced into buf, counted in nlinks.
 */
struct nameidata {
	char *buf;
	struct vnode *root; /* what "/" means (a reference) */
	struct vnode *dir;
	const char *last;
	size_t len;
	int last_type;
	bool slash; /* the path ended in '/' */
	int nlinks;
};

int nd_init(struct nameidata *nd, const char *path);
void nd_done(struct nameidata *nd);
/* From `at` (NULL = root); on success nd->dir is set. */
int walk_parent(struct nameidata *nd, struct vnode *at);
/* Resolve the last component in nd->dir (consumed), following a final
 * symlink when `follow` (or a trailing slash), into *out. */
int walk_last(struct nameidata *nd, bool follow, struct vnode **out);
/* Follow the symlink vn found as the last component: splice its target
 * into buf and walk to the new parent from nd->dir (consumed). */
int walk_follow(struct nameidata *nd, struct vnode *vn);
/* Look a name up in dir without crossing into a mount on the result. */
int vfs_lookup_raw(struct vnode *dir, const char *name, size_t len,
		   struct vnode **out);
/* If vn is covered by a mount, the mount's root instead (vn is dropped). */
struct vnode *cross_mounts(struct vnode *vn);

int vnode_getattr(struct vnode *vn, struct vattr *va);
void vattr_to_stat(const struct vnode *vn, const struct vattr *va,
		   struct linux_stat *st);
bool mount_readonly(const struct vnode *vn);

/* Files (vfs_file.c); file_alloc is public (vfs.h). */
int vfs_open_vnode(struct vnode *vn, int flags, struct file **out);

/* devfs.c: the driver of a character device number. */
int chrdev_open(uint32_t rdev, struct file *f);

#endif
