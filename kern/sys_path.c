/*
 * sys_path.c — the system calls on path names (HOME class): stat, lstat,
 * newfstatat, statx, access, faccessat, faccessat2, readlink, readlinkat,
 * mkdir, mkdirat, rmdir, unlink, unlinkat, rename, renameat, renameat2,
 * link, linkat, symlink, symlinkat, chmod, fchmod, fchmodat, chown,
 * fchown, lchown, fchownat, truncate, utimensat, statfs, fstatfs, chdir,
 * fchdir, getcwd, umask, sync.
 *
 * A path is copied in with user_path; a relative one starts at the cwd or
 * at the `*at` call's directory (path_at). Then the VFS does the work.
 *
 * Credentials: every process is root (uid 0), so access() grants
 * everything but writing on a read-only mount (-EROFS) and executing a file
 * without any x bit (-EACCES). chown and utimensat set the owner and the
 * times through the vnode's setattr (the VFS has no path call for them),
 * after the check the VFS makes for its own calls (read-only mount); ext2
 * keeps times in seconds, so nanoseconds are dropped.
 */
#include "arch/x86/arch.h"
#include "kern/sys_fs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define R_OK 4
#define W_OK 2
#define X_OK 1
#define RENAME_NOREPLACE 1
#define UTIME_NOW ((1l << 30) - 1)
#define UTIME_OMIT ((1l << 30) - 2)

int path_at(uint64_t dirfd, uintptr_t upath, bool empty_ok, char **path,
	    struct vnode **at)
{
	char *p;
	int err = user_path(upath, &p);
	if (err)
		return err;
	if (!p[0] && !empty_ok) {
		kfree(p);
		return -ENOENT;
	}
	*at = proc_cwd();
	if (p[0] != '/' && (int)(uint32_t)dirfd != AT_FDCWD) {
		struct file *f = fd_file(dirfd);
		if (!f)
			err = -EBADF;
		else if (f->vn->type != VDIR && p[0])
			err = -ENOTDIR;
		else
			*at = f->vn;
	}
	if (err) {
		kfree(p);
		return err;
	}
	*path = p;
	return 0;
}

/*
 * The vnode (dirfd, upath) names, referenced: a final symlink followed if
 * `follow`; "" with AT_EMPTY_PATH in flags is dirfd's own file (or the
 * cwd).
 */
static int lookup_at(uint64_t dirfd, uintptr_t upath, unsigned flags,
		     bool follow, struct vnode **out)
{
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, flags & AT_EMPTY_PATH, &path, &at);
	if (err)
		return err;
	if (!path[0])
		*out = at ? vnode_ref(at) : vfs_root();
	else
		err = vfs_lookup(at, path, follow ? LOOKUP_FOLLOW : 0, out);
	kfree(path);
	if (!err && !*out)
		err = -ENOENT; /* no root mounted */
	return err;
}

static bool vn_readonly(const struct vnode *vn)
{
	return vn->mnt && (vn->mnt->flags & MNT_RDONLY);
}

/* Set attributes the VFS has no call for (owner, times). */
static int vn_setattr(struct vnode *vn, const struct vsetattr *sa)
{
	if (vn_readonly(vn))
		return -EROFS;
	if (!vn->ops->setattr)
		return -EPERM;
	return vn->ops->setattr(vn, sa);
}

/* ------------------------------------------------------------ stat */

/* stat of (dirfd, path) under newfstatat's flags. */
static int stat_at(uint64_t dirfd, uintptr_t upath, unsigned flags,
		   struct linux_stat *st)
{
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, flags & AT_EMPTY_PATH, &path, &at);
	if (err)
		return err;
	if (path[0]) {
		err = (flags & AT_SYMLINK_NOFOLLOW) ? vfs_lstat(at, path, st)
						    : vfs_stat(at, path, st);
	} else if ((int)(uint32_t)dirfd == AT_FDCWD) {
		err = vfs_stat(at, ".", st);
	} else {
		err = file_stat(fd_file(dirfd), st);
	}
	kfree(path);
	return err;
}

long sys_stat(const uint64_t a[6])
{
	struct linux_stat st;
	int err = stat_at((uint64_t)AT_FDCWD, a[0], 0, &st);
	return err ? err : user_out(a[1], &st, sizeof st);
}

long sys_lstat(const uint64_t a[6])
{
	struct linux_stat st;
	int err = stat_at((uint64_t)AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW, &st);
	return err ? err : user_out(a[1], &st, sizeof st);
}

long sys_newfstatat(const uint64_t a[6])
{
	unsigned flags = (unsigned)a[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	struct linux_stat st;
	int err;
	if (!a[1] && (flags & AT_EMPTY_PATH)) {
		/* Linux 6.11: a NULL path with AT_EMPTY_PATH is fstat. */
		struct file *f = fd_file(a[0]);
		err = f ? file_stat(f, &st) : -EBADF;
	} else {
		err = stat_at(a[0], a[1], flags, &st);
	}
	return err ? err : user_out(a[2], &st, sizeof st);
}

struct statx_timestamp {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct linux_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare[14];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx");
_Static_assert(offsetof(struct linux_statx, stx_atime) == 64, "stx_atime");
_Static_assert(offsetof(struct linux_statx, stx_rdev_major) == 128, "rdev");
#define STATX_BASIC_STATS 0x7ffu
#define STATX_RESERVED 0x80000000u

static struct statx_timestamp stx_time(struct linux_timespec t)
{
	return (struct statx_timestamp){t.tv_sec, (uint32_t)t.tv_nsec, 0};
}

long sys_statx(const uint64_t a[6])
{
	unsigned flags = (unsigned)a[2];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT |
		      AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC))
		return -EINVAL;
	if ((flags & AT_STATX_FORCE_SYNC) && (flags & AT_STATX_DONT_SYNC))
		return -EINVAL;
	if ((uint32_t)a[3] & STATX_RESERVED)
		return -EINVAL;
	struct linux_stat st;
	int err;
	if (!a[1] && (flags & AT_EMPTY_PATH)) {
		struct file *f = fd_file(a[0]);
		err = f ? file_stat(f, &st) : -EBADF;
	} else {
		err = stat_at(a[0], a[1], flags, &st);
	}
	if (err)
		return err;
	struct linux_statx sx = {
		.stx_mask = STATX_BASIC_STATS,
		.stx_blksize = (uint32_t)st.st_blksize,
		.stx_nlink = (uint32_t)st.st_nlink,
		.stx_uid = st.st_uid,
		.stx_gid = st.st_gid,
		.stx_mode = (uint16_t)st.st_mode,
		.stx_ino = st.st_ino,
		.stx_size = (uint64_t)st.st_size,
		.stx_blocks = (uint64_t)st.st_blocks,
		.stx_atime = stx_time(st.st_atim),
		.stx_ctime = stx_time(st.st_ctim),
		.stx_mtime = stx_time(st.st_mtim),
		.stx_rdev_major = vfs_major((uint32_t)st.st_rdev),
		.stx_rdev_minor = vfs_minor((uint32_t)st.st_rdev),
		.stx_dev_major = vfs_major((uint32_t)st.st_dev),
		.stx_dev_minor = vfs_minor((uint32_t)st.st_dev),
	};
	return user_out(a[4], &sx, sizeof sx);
}

/* ------------------------------------------------------------ access */

static long do_access(uint64_t dirfd, uintptr_t upath, uint64_t mode,
		      unsigned flags)
{
	if (mode & ~(uint64_t)(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct vnode *vn;
	int err = lookup_at(dirfd, upath, flags, !(flags & AT_SYMLINK_NOFOLLOW),
			    &vn);
	if (err)
		return err;
	if ((mode & W_OK) && vn_readonly(vn) &&
	    (vn->type == VREG || vn->type == VDIR || vn->type == VLNK))
		err = -EROFS;
	if (!err && (mode & X_OK) && vn->type != VDIR) {
		/* Root may execute a file if anybody may. */
		struct vattr va = {0};
		err = vn->ops->getattr ? vn->ops->getattr(vn, &va) : 0;
		if (!err && !(va.mode & 0111))
			err = -EACCES;
	}
	vnode_put(vn);
	return err;
}

long sys_access(const uint64_t a[6])
{
	return do_access((uint64_t)AT_FDCWD, a[0], a[1], 0);
}

long sys_faccessat(const uint64_t a[6])
{
	return do_access(a[0], a[1], a[2], 0);
}

long sys_faccessat2(const uint64_t a[6])
{
	return do_access(a[0], a[1], a[2], (unsigned)a[3]);
}

/* ------------------------------------------------------------ names */

static long do_readlink(uint64_t dirfd, uintptr_t upath, uintptr_t ubuf,
			uint64_t ubufsiz)
{
	int bufsiz = (int)(uint32_t)ubufsiz;
	if (bufsiz <= 0)
		return -EINVAL;
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, false, &path, &at);
	if (err)
		return err;
	size_t size = MIN((size_t)bufsiz, (size_t)PATH_MAX);
	char *kbuf = kmalloc(size);
	if (!kbuf) {
		kfree(path);
		return -ENOMEM;
	}
	int n = vfs_readlink(at, path, kbuf, size);
	if (n > 0 && user_out(ubuf, kbuf, (size_t)n))
		n = -EFAULT;
	kfree(kbuf);
	kfree(path);
	return n;
}

long sys_readlink(const uint64_t a[6])
{
	return do_readlink((uint64_t)AT_FDCWD, a[0], a[1], a[2]);
}

long sys_readlinkat(const uint64_t a[6])
{
	return do_readlink(a[0], a[1], a[2], a[3]);
}

static long do_mkdir(uint64_t dirfd, uintptr_t upath, uint64_t mode)
{
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, false, &path, &at);
	if (err)
		return err;
	err = vfs_mkdir(at, path, (uint32_t)mode & 01777 & ~proc_umask());
	kfree(path);
	return err;
}

long sys_mkdir(const uint64_t a[6])
{
	return do_mkdir((uint64_t)AT_FDCWD, a[0], a[1]);
}

long sys_mkdirat(const uint64_t a[6])
{
	return do_mkdir(a[0], a[1], a[2]);
}

static long do_unlink(uint64_t dirfd, uintptr_t upath, uint64_t flags)
{
	if (flags & ~(uint64_t)AT_REMOVEDIR)
		return -EINVAL;
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, false, &path, &at);
	if (err)
		return err;
	err = (flags & AT_REMOVEDIR) ? vfs_rmdir(at, path)
				     : vfs_unlink(at, path);
	kfree(path);
	return err;
}

long sys_unlink(const uint64_t a[6])
{
	return do_unlink((uint64_t)AT_FDCWD, a[0], 0);
}

long sys_rmdir(const uint64_t a[6])
{
	return do_unlink((uint64_t)AT_FDCWD, a[0], AT_REMOVEDIR);
}

long sys_unlinkat(const uint64_t a[6])
{
	return do_unlink(a[0], a[1], a[2]);
}

/*
 * rename, link: two paths, each from its own directory. RENAME_NOREPLACE
 * is a check before the rename (one CPU and the call does not sleep
 * between them unless the file system does; good enough until the VFS
 * offers it).
 */
static long do_rename(uint64_t odirfd, uintptr_t uold, uint64_t ndirfd,
		      uintptr_t unew, uint64_t flags)
{
	if (flags & ~(uint64_t)RENAME_NOREPLACE)
		return -EINVAL;
	char *opath, *npath;
	struct vnode *oat, *nat;
	int err = path_at(odirfd, uold, false, &opath, &oat);
	if (err)
		return err;
	err = path_at(ndirfd, unew, false, &npath, &nat);
	if (err) {
		kfree(opath);
		return err;
	}
	if (flags & RENAME_NOREPLACE) {
		struct linux_stat st;
		err = vfs_lstat(oat, opath, &st);
		if (!err)
			err = vfs_lstat(nat, npath, &st) == 0 ? -EEXIST : 0;
	}
	if (!err)
		err = vfs_rename(oat, opath, nat, npath);
	kfree(npath);
	kfree(opath);
	return err;
}

long sys_rename(const uint64_t a[6])
{
	return do_rename((uint64_t)AT_FDCWD, a[0], (uint64_t)AT_FDCWD, a[1], 0);
}

long sys_renameat(const uint64_t a[6])
{
	return do_rename(a[0], a[1], a[2], a[3], 0);
}

long sys_renameat2(const uint64_t a[6])
{
	return do_rename(a[0], a[1], a[2], a[3], (uint32_t)a[4]);
}

/*
 * link with AT_SYMLINK_FOLLOW: vfs_link links what the old name is, so a
 * symlink there is replaced by its target (relative to the link's
 * directory) until a non-link is met.
 */
static int follow_old(struct vnode **oat, char **opath)
{
	for (int n = 0; n < SYMLOOP_MAX; n++) {
		struct linux_stat st;
		int err = vfs_lstat(*oat, *opath, &st);
		if (err)
			return err;
		if (!S_ISLNK(st.st_mode))
			return 0;
		char *t = kmalloc(PATH_MAX);
		if (!t)
			return -ENOMEM;
		int len = vfs_readlink(*oat, *opath, t, PATH_MAX - 1);
		if (len < 0) {
			kfree(t);
			return len;
		}
		t[len] = 0;
		if (t[0] != '/') {
			/* Relative to the link's directory: prefix it. */
			size_t dl = 0;
			for (size_t i = 0; (*opath)[i]; i++)
				if ((*opath)[i] == '/')
					dl = i + 1;
			if (dl + (size_t)len >= PATH_MAX) {
				kfree(t);
				return -ENAMETOOLONG;
			}
			memmove(t + dl, t, (size_t)len + 1);
			memcpy(t, *opath, dl);
		}
		kfree(*opath);
		*opath = t;
	}
	return -ELOOP;
}

static long do_link(uint64_t odirfd, uintptr_t uold, uint64_t ndirfd,
		    uintptr_t unew, uint64_t flags)
{
	if (flags & ~(uint64_t)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (flags & AT_EMPTY_PATH)
		return -ENOENT; /* linking an open file by its fd: not yet */
	char *opath, *npath = NULL;
	struct vnode *oat, *nat;
	int err = path_at(odirfd, uold, false, &opath, &oat);
	if (err)
		return err;
	err = path_at(ndirfd, unew, false, &npath, &nat);
	if (!err && (flags & AT_SYMLINK_FOLLOW))
		err = follow_old(&oat, &opath);
	if (!err)
		err = vfs_link(oat, opath, nat, npath);
	kfree(npath);
	kfree(opath);
	return err;
}

long sys_link(const uint64_t a[6])
{
	return do_link((uint64_t)AT_FDCWD, a[0], (uint64_t)AT_FDCWD, a[1], 0);
}

long sys_linkat(const uint64_t a[6])
{
	return do_link(a[0], a[1], a[2], a[3], (uint32_t)a[4]);
}

static long do_symlink(uintptr_t utarget, uint64_t dirfd, uintptr_t upath)
{
	char *target, *path;
	struct vnode *at;
	int err = user_path(utarget, &target);
	if (err)
		return err;
	err = path_at(dirfd, upath, false, &path, &at);
	if (!err) {
		err = vfs_symlink(target, at, path);
		kfree(path);
	}
	kfree(target);
	return err;
}

long sys_symlink(const uint64_t a[6])
{
	return do_symlink(a[0], (uint64_t)AT_FDCWD, a[1]);
}

long sys_symlinkat(const uint64_t a[6])
{
	return do_symlink(a[0], a[1], a[2]);
}

/* ------------------------------------------------------------ attributes */

static long do_chmod(uint64_t dirfd, uintptr_t upath, uint64_t mode)
{
	char *path;
	struct vnode *at;
	int err = path_at(dirfd, upath, false, &path, &at);
	if (err)
		return err;
	err = vfs_chmod(at, path, (uint32_t)mode & 07777);
	kfree(path);
	return err;
}

long sys_chmod(const uint64_t a[6])
{
	return do_chmod((uint64_t)AT_FDCWD, a[0], a[1]);
}

long sys_fchmodat(const uint64_t a[6])
{
	return do_chmod(a[0], a[1], a[2]);
}

long sys_fchmod(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	return f ? file_chmod(f, (uint32_t)a[1] & 07777) : -EBADF;
}

/* chown: uid or gid (uint32_t)-1 leaves it as it is. */
static int chown_vn(struct vnode *vn, uint64_t uid, uint64_t gid)
{
	struct vsetattr sa = {0};
	if ((uint32_t)uid != UINT32_MAX) {
		sa.mask |= VA_UID;
		sa.uid = (uint32_t)uid;
	}
	if ((uint32_t)gid != UINT32_MAX) {
		sa.mask |= VA_GID;
		sa.gid = (uint32_t)gid;
	}
	return sa.mask ? vn_setattr(vn, &sa) : 0;
}

static long do_chown(uint64_t dirfd, uintptr_t upath, uint64_t uid,
		     uint64_t gid, unsigned flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct vnode *vn;
	int err = lookup_at(dirfd, upath, flags, !(flags & AT_SYMLINK_NOFOLLOW),
			    &vn);
	if (err)
		return err;
	err = chown_vn(vn, uid, gid);
	vnode_put(vn);
	return err;
}

long sys_chown(const uint64_t a[6])
{
	return do_chown((uint64_t)AT_FDCWD, a[0], a[1], a[2], 0);
}

long sys_lchown(const uint64_t a[6])
{
	return do_chown((uint64_t)AT_FDCWD, a[0], a[1], a[2],
			AT_SYMLINK_NOFOLLOW);
}

long sys_fchownat(const uint64_t a[6])
{
	return do_chown(a[0], a[1], a[2], a[3], (unsigned)a[4]);
}

long sys_fchown(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	return f ? chown_vn(f->vn, a[1], a[2]) : -EBADF;
}

long sys_truncate(const uint64_t a[6])
{
	char *path;
	int err = user_path(a[0], &path);
	if (err)
		return err;
	err = vfs_truncate(proc_cwd(), path, (int64_t)a[1]);
	kfree(path);
	return err;
}

/* One time of utimensat: *set tells whether it changes, *sec to what. */
static int utime_one(const struct linux_timespec *t, int64_t now, bool *set,
		     int64_t *sec)
{
	if (!t) {
		*set = true;
		*sec = now;
		return 0;
	}
	if (t->tv_nsec == UTIME_OMIT) {
		*set = false;
		return 0;
	}
	*set = true;
	if (t->tv_nsec == UTIME_NOW) {
		*sec = now;
		return 0;
	}
	if (t->tv_nsec < 0 || t->tv_nsec >= 1000000000)
		return -EINVAL;
	*sec = t->tv_sec;
	return 0;
}

long sys_utimensat(const uint64_t a[6])
{
	unsigned flags = (unsigned)a[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct linux_timespec ts[2];
	if (a[2] && user_in(ts, a[2], sizeof ts))
		return -EFAULT;
	int64_t now = (int64_t)arch_wall_seconds();
	struct vsetattr sa = {0};
	bool seta, setm;
	int err = utime_one(a[2] ? &ts[0] : NULL, now, &seta, &sa.atime);
	if (!err)
		err = utime_one(a[2] ? &ts[1] : NULL, now, &setm, &sa.mtime);
	if (err)
		return err;
	sa.mask = (seta ? VA_ATIME : 0) | (setm ? VA_MTIME : 0);
	struct vnode *vn;
	if (!a[1]) {
		/* futimens: the descriptor's file. */
		if ((int)(uint32_t)a[0] == AT_FDCWD)
			return -EFAULT;
		if (flags & AT_SYMLINK_NOFOLLOW)
			return -EINVAL;
		struct file *f = fd_file(a[0]);
		if (!f)
			return -EBADF;
		vn = vnode_ref(f->vn);
	} else {
		err = lookup_at(a[0], a[1], flags,
				!(flags & AT_SYMLINK_NOFOLLOW), &vn);
		if (err)
			return err;
	}
	err = sa.mask ? vn_setattr(vn, &sa) : 0;
	vnode_put(vn);
	return err;
}

/* ------------------------------------------------------------ statfs */

/* struct statfs of x86_64. */
struct linux_statfs {
	int64_t f_type, f_bsize;
	uint64_t f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	int32_t f_fsid[2];
	int64_t f_namelen, f_frsize, f_flags;
	int64_t f_spare[4];
};
_Static_assert(sizeof(struct linux_statfs) == 120, "x86_64 struct statfs");

#define ST_RDONLY 1
#define ST_VALID 0x20

static int statfs_vn(struct vnode *vn, struct linux_statfs *out)
{
	struct mount *m = vn->mnt;
	memset(out, 0, sizeof *out);
	out->f_bsize = out->f_frsize = 4096;
	out->f_namelen = NAME_MAX;
	out->f_flags = ST_VALID;
	if (!m) {
		out->f_type = 0x50495045; /* PIPEFS_MAGIC */
		return 0;
	}
	struct vstatfs st = {0};
	int err = vfs_statfs(m, &st);
	if (err)
		return err;
	const char *type = m->type->name;
	out->f_type = !strcmp(type, "ext2")   ? 0xef53 /* EXT2_SUPER_MAGIC */
		      : !strcmp(type, "proc") ? 0x9fa0 /* PROC_SUPER_MAGIC */
					      : 0x01021994; /* TMPFS_MAGIC */
	if (st.bsize)
		out->f_bsize = out->f_frsize = st.bsize;
	out->f_blocks = st.blocks;
	out->f_bfree = st.bfree;
	out->f_bavail = st.bavail;
	out->f_files = st.files;
	out->f_ffree = st.ffree;
	if (st.namelen)
		out->f_namelen = st.namelen;
	out->f_fsid[0] = (int32_t)m->dev;
	if (m->flags & MNT_RDONLY)
		out->f_flags |= ST_RDONLY;
	return 0;
}

long sys_statfs(const uint64_t a[6])
{
	struct vnode *vn;
	int err = lookup_at((uint64_t)AT_FDCWD, a[0], 0, true, &vn);
	if (err)
		return err;
	struct linux_statfs st;
	err = statfs_vn(vn, &st);
	vnode_put(vn);
	return err ? err : user_out(a[1], &st, sizeof st);
}

long sys_fstatfs(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f)
		return -EBADF;
	struct linux_statfs st;
	int err = statfs_vn(f->vn, &st);
	return err ? err : user_out(a[1], &st, sizeof st);
}

/* ------------------------------------------------------------ cwd, umask */

static void set_cwd(struct vnode *vn)
{
	struct sys_ctx *s = &proc_current()->sys;
	vnode_put(s->cwd);
	s->cwd = vn;
}

long sys_chdir(const uint64_t a[6])
{
	char *path;
	int err = user_path(a[0], &path);
	if (err)
		return err;
	struct vnode *vn;
	err = vfs_lookup(proc_cwd(), path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY,
			 &vn);
	kfree(path);
	if (!err)
		set_cwd(vn);
	return err;
}

long sys_fchdir(const uint64_t a[6])
{
	struct file *f = fd_file(a[0]);
	if (!f)
		return -EBADF;
	if (f->vn->type != VDIR)
		return -ENOTDIR;
	set_cwd(vnode_ref(f->vn));
	return 0;
}

/* getcwd: the length with the NUL (what the system call returns). */
long sys_getcwd(const uint64_t a[6])
{
	char *buf = kmalloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	struct vnode *cwd = proc_cwd();
	int n;
	if (cwd) {
		n = vfs_path(cwd, buf, PATH_MAX);
	} else {
		strlcpy(buf, "/", PATH_MAX);
		n = 1;
	}
	long rc = n;
	if (n >= 0 && (uint64_t)n + 1 > a[1])
		rc = -ERANGE;
	else if (n >= 0)
		rc = user_out(a[0], buf, (size_t)n + 1) ? -EFAULT : n + 1;
	kfree(buf);
	return rc;
}

long sys_umask(const uint64_t a[6])
{
	uint32_t old = proc_umask();
	proc_set_umask((uint32_t)a[0] & 0777);
	return old;
}

long sys_sync(const uint64_t a[6])
{
	vfs_sync();
	return 0;
}
