/*
 * vfs_test.c — self-tests of the VFS, devfs and procfs on the booted
 * node's mounts (run with `selftest=vfs`). They write under /vfstest on the
 * root RAM disk (in memory) and remove it again; each checks at the end
 * that no vnode of the root mount leaked.
 */
#include "arch/x86/arch.h"
#include "fs/fs.h"
#include "fs/vfs_impl.h"
#include "vm/vm.h"

#define TDIR "/vfstest"

static unsigned root_vnodes(void)
{
	struct vnode *r = vfs_root();
	if (!r)
		return 0;
	spin_lock(&vfs_lock);
	unsigned n = r->mnt->nvnodes;
	spin_unlock(&vfs_lock);
	vnode_put(r);
	return n;
}

static int put_file(const char *path, const char *text)
{
	struct file *f;
	int err = vfs_open(NULL, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
	if (err)
		return err;
	int64_t n = file_write(f, text, strlen(text));
	file_close(f);
	return n == (int64_t)strlen(text) ? 0 : n < 0 ? (int)n : -EIO;
}

/* The whole file (up to size - 1 bytes) as a string; its length. */
static int64_t get_file(const char *path, char *buf, size_t size)
{
	struct file *f;
	int err = vfs_open(NULL, path, O_RDONLY, 0, &f);
	if (err)
		return err;
	size_t len = 0;
	int64_t n;
	while (len + 1 < size &&
	       (n = file_read(f, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	file_close(f);
	buf[len] = 0;
	return (int64_t)len;
}

static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncmp(hay, needle, n))
			return true;
	return false;
}

static bool same_vnode(const char *a, const char *b)
{
	struct vnode *x, *y;
	if (vfs_lookup(NULL, a, LOOKUP_FOLLOW, &x))
		return false;
	if (vfs_lookup(NULL, b, LOOKUP_FOLLOW, &y)) {
		vnode_put(x);
		return false;
	}
	bool same = x == y;
	vnode_put(x);
	vnode_put(y);
	return same;
}

static void cleanup(void)
{
	static const char *const files[] = {
		TDIR "/a/b/f",	 TDIR "/a/b/g", TDIR "/a/f",   TDIR "/l1",
		TDIR "/l2",	 TDIR "/labs",	TDIR "/lrel",  TDIR "/lfile",
		TDIR "/ldang",	 TDIR "/made",	TDIR "/t",     TDIR "/x",
		TDIR "/c/moved", TDIR "/c/f",	TDIR "/a/b/h",
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		vfs_unlink(NULL, files[i]);
	for (int i = 0; i < 40; i++) {
		char p[64];
		snprintf(p, sizeof p, TDIR "/d/n%02d", i);
		vfs_unlink(NULL, p);
	}
	vfs_rmdir(NULL, TDIR "/d");
	vfs_rmdir(NULL, TDIR "/a/b");
	vfs_rmdir(NULL, TDIR "/a");
	vfs_rmdir(NULL, TDIR "/c/sub");
	vfs_rmdir(NULL, TDIR "/c");
	vfs_rmdir(NULL, TDIR);
}

static int setup(void)
{
	cleanup();
	int err = vfs_mkdir(NULL, TDIR, 0755);
	if (!err)
		err = vfs_mkdir(NULL, TDIR "/a", 0755);
	if (!err)
		err = vfs_mkdir(NULL, TDIR "/a/b", 0755);
	if (!err)
		err = put_file(TDIR "/a/b/f", "file f\n");
	return err;
}

SELFTEST(vfs_stat_root)
{
	struct linux_stat st;
	ST_ASSERT(vfs_stat(NULL, "/", &st) == 0);
	ST_ASSERT(S_ISDIR(st.st_mode) && st.st_ino == 2 && st.st_nlink >= 3);
	ST_ASSERT(st.st_blksize == 1024);
	struct linux_stat s2;
	ST_ASSERT(vfs_stat(NULL, "//.//..///", &s2) == 0);
	ST_ASSERT(s2.st_ino == st.st_ino && s2.st_dev == st.st_dev);
	ST_ASSERT(vfs_stat(NULL, "/etc/motd", &s2) == 0 && S_ISREG(s2.st_mode));
	ST_ASSERT(s2.st_dev == st.st_dev && s2.st_size > 0);
	char buf[64];
	struct vnode *r = vfs_root();
	ST_ASSERT(vfs_path(r, buf, sizeof buf) == 1 && !strcmp(buf, "/"));
	vnode_put(r);
	return 0;
}

SELFTEST(vfs_lookup_dots_and_errors)
{
	unsigned base = root_vnodes();
	ST_ASSERT(setup() == 0);
	ST_ASSERT(same_vnode(TDIR "/a/b/../b/./f", TDIR "/a/b/f"));
	ST_ASSERT(same_vnode("/..", "/"));
	ST_ASSERT(same_vnode("/../../..", "/"));
	ST_ASSERT(same_vnode(TDIR "/a/..", TDIR));
	struct vnode *vn;
	ST_ASSERT(vfs_lookup(NULL, TDIR "/a/b/f/", 0, &vn) == -ENOTDIR);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/a/b/f/x", 0, &vn) == -ENOTDIR);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/a/b/nope", 0, &vn) == -ENOENT);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/nope/x", 0, &vn) == -ENOENT);
	ST_ASSERT(vfs_lookup(NULL, "", 0, &vn) == -ENOENT);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/a/", LOOKUP_DIRECTORY, &vn) == 0);
	vnode_put(vn);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/a/b/f", LOOKUP_DIRECTORY, &vn) ==
		  -ENOTDIR);
	/* Relative to a directory vnode (openat, the cwd). */
	struct vnode *a;
	ST_ASSERT(vfs_lookup(NULL, TDIR "/a", LOOKUP_DIRECTORY, &a) == 0);
	ST_ASSERT(vfs_lookup(a, "b/f", 0, &vn) == 0 && vn->type == VREG);
	vnode_put(vn);
	ST_ASSERT(vfs_lookup(a, "../a/b", 0, &vn) == 0 && vn->type == VDIR);
	vnode_put(vn);
	char buf[128];
	ST_ASSERT(vfs_path(a, buf, sizeof buf) == (int)strlen(TDIR "/a"));
	ST_ASSERT(!strcmp(buf, TDIR "/a"));
	ST_ASSERT(vfs_path(a, buf, 4) == -ERANGE);
	vnode_put(a);
	/* Names and paths too long. */
	char *p = kmalloc(PATH_MAX + 8);
	ST_ASSERT(p);
	memset(p, 'x', 300);
	p[0] = '/';
	p[300] = 0;
	ST_ASSERT(vfs_lookup(NULL, p, 0, &vn) == -ENAMETOOLONG);
	for (int i = 0; i < PATH_MAX + 4; i++)
		p[i] = i % 2 ? '/' : 'y';
	p[PATH_MAX + 4] = 0;
	ST_ASSERT(vfs_lookup(NULL, p, 0, &vn) == -ENAMETOOLONG);
	memset(p, '/', PATH_MAX - 1);
	p[PATH_MAX - 1] = 0; /* 4095 slashes: just fits, and is "/" */
	ST_ASSERT(vfs_lookup(NULL, p, 0, &vn) == 0 && vn->mnt->root == vn);
	vnode_put(vn);
	kfree(p);
	cleanup();
	ST_ASSERT(root_vnodes() == base);
	return 0;
}

SELFTEST(vfs_symlinks)
{
	unsigned base = root_vnodes();
	ST_ASSERT(setup() == 0);
	ST_ASSERT(vfs_symlink(TDIR "/a/b", NULL, TDIR "/labs") == 0);
	ST_ASSERT(vfs_symlink("a/b/f", NULL, TDIR "/lrel") == 0);
	ST_ASSERT(vfs_symlink("../../labs/f", NULL, TDIR "/a/b/g") == 0);
	ST_ASSERT(same_vnode(TDIR "/labs/f", TDIR "/a/b/f"));
	ST_ASSERT(same_vnode(TDIR "/lrel", TDIR "/a/b/f"));
	ST_ASSERT(same_vnode(TDIR "/a/b/g", TDIR "/a/b/f"));
	ST_ASSERT(same_vnode(TDIR "/labs/../b", TDIR "/a/b"));
	char buf[64];
	ST_ASSERT(vfs_readlink(NULL, TDIR "/lrel", buf, sizeof buf) == 5);
	ST_ASSERT(!memcmp(buf, "a/b/f", 5));
	ST_ASSERT(vfs_readlink(NULL, TDIR "/a", buf, sizeof buf) == -EINVAL);
	struct linux_stat st, lst;
	ST_ASSERT(vfs_stat(NULL, TDIR "/lrel", &st) == 0 &&
		  S_ISREG(st.st_mode));
	ST_ASSERT(vfs_lstat(NULL, TDIR "/lrel", &lst) == 0);
	ST_ASSERT(S_ISLNK(lst.st_mode) && lst.st_size == 5);
	/* A trailing slash follows a final link. */
	struct vnode *vn;
	ST_ASSERT(vfs_lookup(NULL, TDIR "/labs/", 0, &vn) == 0);
	ST_ASSERT(vn->type == VDIR);
	vnode_put(vn);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/lrel/", 0, &vn) == -ENOTDIR);
	/* Loops: each other, and itself. */
	ST_ASSERT(vfs_symlink("l2", NULL, TDIR "/l1") == 0);
	ST_ASSERT(vfs_symlink(TDIR "/l1", NULL, TDIR "/l2") == 0);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/l1", LOOKUP_FOLLOW, &vn) == -ELOOP);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/l1/x", 0, &vn) == -ELOOP);
	ST_ASSERT(vfs_lookup(NULL, TDIR "/l1", 0, &vn) == 0);
	ST_ASSERT(vn->type == VLNK);
	vnode_put(vn);
	ST_ASSERT(vfs_stat(NULL, TDIR "/l2", &st) == -ELOOP);
	/* A dangling link. */
	ST_ASSERT(vfs_symlink("nothing", NULL, TDIR "/ldang") == 0);
	ST_ASSERT(vfs_stat(NULL, TDIR "/ldang", &st) == -ENOENT);
	ST_ASSERT(vfs_lstat(NULL, TDIR "/ldang", &st) == 0);
	cleanup();
	ST_ASSERT(root_vnodes() == base);
	return 0;
}

SELFTEST(vfs_mount_crossing)
{
	struct linux_stat root, proc, dev;
	ST_ASSERT(vfs_stat(NULL, "/", &root) == 0);
	ST_ASSERT(vfs_stat(NULL, "/proc", &proc) == 0);
	ST_ASSERT(vfs_stat(NULL, "/dev", &dev) == 0);
	ST_ASSERT(proc.st_dev != root.st_dev && dev.st_dev != root.st_dev);
	ST_ASSERT(proc.st_mode == (S_IFDIR | 0555));
	ST_ASSERT(same_vnode("/proc/..", "/"));
	ST_ASSERT(same_vnode("/dev/../proc/../etc", "/etc"));
	ST_ASSERT(same_vnode("/proc/./../proc/..", "/"));
	struct vnode *p;
	ST_ASSERT(vfs_lookup(NULL, "/proc", 0, &p) == 0);
	ST_ASSERT(p == p->mnt->root);
	char buf[32];
	ST_ASSERT(vfs_path(p, buf, sizeof buf) == 5 && !strcmp(buf, "/proc"));
	struct vnode *vn;
	ST_ASSERT(vfs_lookup(p, "../dev/null", 0, &vn) == 0);
	ST_ASSERT(vn->type == VCHR && vn->rdev == vfs_makedev(1, 3));
	vnode_put(vn);
	vnode_put(p);
	/* Mount points are busy; unmount wants a mount's root. */
	ST_ASSERT(vfs_rmdir(NULL, "/proc") == -EBUSY);
	ST_ASSERT(vfs_rename(NULL, "/dev", NULL, "/dev2") == -EBUSY);
	ST_ASSERT(vfs_unmount("/") == -EBUSY);
	ST_ASSERT(vfs_unmount("/etc") == -EINVAL);
	/* proc may be mounted twice (mount(2) of a second view); devfs not. */
	ST_ASSERT(vfs_mount("proc", NULL, "/etc", 0) == 0);
	struct linux_stat pst;
	ST_ASSERT(vfs_stat(NULL, "/etc/uptime", &pst) == 0);
	ST_ASSERT(vfs_unmount("/etc") == 0);
	ST_ASSERT(vfs_stat(NULL, "/etc/motd", &pst) == 0);
	ST_ASSERT(vfs_mount("nofs", NULL, "/etc", 0) == -ENODEV);
	ST_ASSERT(vfs_mount("devfs", NULL, "/proc", 0) == -EBUSY);
	struct file *f;
	ST_ASSERT(vfs_open(NULL, "/proc/uptime", O_RDONLY, 0, &f) == 0);
	ST_ASSERT(vfs_unmount("/proc") == -EBUSY);
	file_close(f);
	/* Unmounted, /proc is the root file system's directory again. */
	ST_ASSERT(vfs_unmount("/proc") == 0);
	ST_ASSERT(vfs_stat(NULL, "/proc", &proc) == 0);
	ST_ASSERT(proc.st_dev == root.st_dev);
	ST_ASSERT(vfs_stat(NULL, "/proc/meminfo", &proc) == -ENOENT);
	ST_ASSERT(vfs_mount("proc", NULL, "/proc", 0) == 0);
	ST_ASSERT(vfs_stat(NULL, "/proc/meminfo", &proc) == 0);
	/* /proc/mounts names them. */
	char *m = kmalloc(1024);
	ST_ASSERT(m && get_file("/proc/mounts", m, 1024) > 0);
	ST_ASSERT(!strncmp(m, "/dev/root / ext2 rw 0 0\n", 24));
	ST_ASSERT(contains(m, "proc /proc proc rw 0 0\n"));
	ST_ASSERT(contains(m, "devfs /dev devfs rw 0 0\n"));
	kfree(m);
	return 0;
}

SELFTEST(vfs_open_flags)
{
	unsigned base = root_vnodes();
	ST_ASSERT(setup() == 0);
	struct file *f;
	char buf[64];
	const char *t = TDIR "/t";
	ST_ASSERT(vfs_open(NULL, t, O_RDONLY, 0, &f) == -ENOENT);
	ST_ASSERT(vfs_open(NULL, t, O_WRONLY | O_CREAT | O_EXCL, 0600, &f) ==
		  0);
	ST_ASSERT(file_write(f, "12345", 5) == 5);
	ST_ASSERT(file_read(f, buf, 1) == -EBADF);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, t, O_RDWR | O_CREAT | O_EXCL, 0600, &f) ==
		  -EEXIST);
	struct linux_stat st;
	ST_ASSERT(vfs_stat(NULL, t, &st) == 0 && st.st_size == 5);
	ST_ASSERT((st.st_mode & 07777) == 0600);
	/* O_APPEND writes at the end whatever the offset. */
	ST_ASSERT(vfs_open(NULL, t, O_RDWR | O_APPEND, 0, &f) == 0);
	ST_ASSERT(file_lseek(f, 0, SEEK_SET) == 0);
	ST_ASSERT(file_write(f, "67", 2) == 2);
	ST_ASSERT(file_lseek(f, 0, SEEK_CUR) == 7);
	ST_ASSERT(file_pread(f, buf, sizeof buf, 0) == 7);
	ST_ASSERT(!memcmp(buf, "1234567", 7));
	ST_ASSERT(file_lseek(f, -2, SEEK_END) == 5);
	ST_ASSERT(file_read(f, buf, sizeof buf) == 2 && !memcmp(buf, "67", 2));
	ST_ASSERT(file_lseek(f, -8, SEEK_END) == -EINVAL);
	ST_ASSERT(file_lseek(f, 0, 7) == -EINVAL);
	ST_ASSERT(file_pread(f, buf, 1, -1) == -EINVAL);
	file_close(f);
	/* O_TRUNC empties; pwrite leaves the offset alone; holes are zeros. */
	ST_ASSERT(vfs_open(NULL, t, O_RDWR | O_TRUNC, 0, &f) == 0);
	ST_ASSERT(file_stat(f, &st) == 0 && st.st_size == 0);
	ST_ASSERT(file_pwrite(f, "z", 1, 3) == 1);
	ST_ASSERT(file_lseek(f, 0, SEEK_CUR) == 0);
	ST_ASSERT(file_read(f, buf, sizeof buf) == 4);
	ST_ASSERT(!memcmp(buf, "\0\0\0z", 4));
	ST_ASSERT(file_truncate(f, 2) == 0 && file_stat(f, &st) == 0);
	ST_ASSERT(st.st_size == 2);
	ST_ASSERT(file_fsync(f) == 0);
	file_close(f);
	/* O_DIRECTORY, O_NOFOLLOW, directories, bad flags. */
	ST_ASSERT(vfs_open(NULL, t, O_RDONLY | O_DIRECTORY, 0, &f) == -ENOTDIR);
	ST_ASSERT(vfs_open(NULL, TDIR, O_RDONLY | O_DIRECTORY, 0, &f) == 0);
	ST_ASSERT(file_read(f, buf, 1) == -EISDIR);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, TDIR, O_WRONLY, 0, &f) == -EISDIR);
	ST_ASSERT(vfs_open(NULL, TDIR, O_RDONLY | O_TRUNC, 0, &f) == -EISDIR);
	ST_ASSERT(vfs_open(NULL, TDIR, O_RDONLY | O_CREAT, 0644, &f) ==
		  -EISDIR);
	ST_ASSERT(vfs_open(NULL, TDIR "/new/", O_RDWR | O_CREAT, 0644, &f) ==
		  -EISDIR);
	ST_ASSERT(vfs_open(NULL, t, O_ACCMODE, 0, &f) == -EINVAL);
	ST_ASSERT(vfs_open(NULL, t, O_CREAT | O_DIRECTORY, 0, &f) == -EINVAL);
	ST_ASSERT(vfs_symlink("t", NULL, TDIR "/lfile") == 0);
	ST_ASSERT(vfs_open(NULL, TDIR "/lfile", O_RDONLY | O_NOFOLLOW, 0, &f) ==
		  -ELOOP);
	ST_ASSERT(vfs_open(NULL, TDIR "/lfile", O_RDONLY, 0, &f) == 0);
	ST_ASSERT(file_read(f, buf, sizeof buf) == 2);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, TDIR "/lfile", O_RDWR | O_CREAT | O_EXCL, 0,
			   &f) == -EEXIST);
	/* O_CREAT through a dangling link makes its target. */
	ST_ASSERT(vfs_symlink("made", NULL, TDIR "/ldang") == 0);
	ST_ASSERT(vfs_open(NULL, TDIR "/ldang", O_WRONLY | O_CREAT, 0644, &f) ==
		  0);
	file_close(f);
	ST_ASSERT(vfs_stat(NULL, TDIR "/made", &st) == 0 &&
		  S_ISREG(st.st_mode));
	/* O_CLOEXEC and O_NONBLOCK are kept; the open-only flags are not. */
	ST_ASSERT(vfs_open(NULL, t, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_TRUNC,
			   0, &f) == 0);
	ST_ASSERT(f->flags == (O_RDONLY | O_CLOEXEC | O_NONBLOCK));
	file_set_flags(f, O_APPEND);
	ST_ASSERT(f->flags == (O_RDONLY | O_CLOEXEC | O_APPEND));
	ST_ASSERT(file_dup(f) == f && f->refcnt == 2);
	file_close(f);
	file_close(f);
	cleanup();
	ST_ASSERT(root_vnodes() == base);
	return 0;
}

static int count_entries(const char *dir, size_t bufsize, int *nrecords,
			 bool *seen, int nseen)
{
	struct file *f;
	int err = vfs_open(NULL, dir, O_RDONLY | O_DIRECTORY, 0, &f);
	if (err)
		return err;
	char *buf = kmalloc(bufsize);
	int64_t n;
	*nrecords = 0;
	while ((n = file_getdents64(f, buf, bufsize)) > 0) {
		for (int64_t off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			if (d->d_reclen % 8 || d->d_reclen < 20)
				return -EUCLEAN;
			off += d->d_reclen;
			++*nrecords;
			int i;
			if (d->d_name[0] == 'n' && d->d_type == DT_REG &&
			    (i = (d->d_name[1] - '0') * 10 + d->d_name[2] -
				 '0') < nseen)
				seen[i] = true;
		}
	}
	kfree(buf);
	file_close(f);
	return (int)n;
}

SELFTEST(vfs_getdents64)
{
	unsigned base = root_vnodes();
	ST_ASSERT(setup() == 0);
	ST_ASSERT(vfs_mkdir(NULL, TDIR "/d", 0755) == 0);
	ST_ASSERT(vfs_mkdir(NULL, TDIR "/d", 0755) == -EEXIST);
	for (int i = 0; i < 40; i++) {
		char p[64];
		snprintf(p, sizeof p, TDIR "/d/n%02d", i);
		ST_ASSERT(put_file(p, "x") == 0);
	}
	/* A small buffer (one record per call) and a large one agree. */
	bool seen[40];
	int nrec;
	for (size_t size = 32; size <= 4096; size *= 128) {
		memset(seen, 0, sizeof seen);
		ST_ASSERT(count_entries(TDIR "/d", size, &nrec, seen, 40) == 0);
		ST_ASSERT(nrec == 42);
		for (int i = 0; i < 40; i++)
			ST_ASSERT(seen[i]);
	}
	/* d_off resumes; a buffer too small for one record is -EINVAL. */
	struct file *f;
	ST_ASSERT(vfs_open(NULL, TDIR "/d", O_RDONLY | O_DIRECTORY, 0, &f) ==
		  0);
	char buf[256];
	ST_ASSERT(file_getdents64(f, buf, 10) == -EINVAL);
	int64_t n = file_getdents64(f, buf, sizeof buf);
	ST_ASSERT(n > 0);
	struct linux_dirent64 *d = (void *)buf;
	ST_ASSERT(!strcmp(d->d_name, ".") && d->d_type == DT_DIR);
	struct linux_dirent64 *d2 = (void *)(buf + d->d_reclen);
	char second[16];
	strlcpy(second, d2->d_name, sizeof second);
	ST_ASSERT(file_lseek(f, d->d_off, SEEK_SET) == d->d_off);
	ST_ASSERT(file_getdents64(f, buf, sizeof buf) > 0);
	ST_ASSERT(!strcmp(d->d_name, second));
	file_close(f);
	ST_ASSERT(vfs_open(NULL, TDIR "/d/n00", O_RDONLY, 0, &f) == 0);
	ST_ASSERT(file_getdents64(f, buf, sizeof buf) == -ENOTDIR);
	file_close(f);
	/* Removal shows. */
	ST_ASSERT(vfs_unlink(NULL, TDIR "/d/n07") == 0);
	ST_ASSERT(vfs_unlink(NULL, TDIR "/d/n07") == -ENOENT);
	memset(seen, 0, sizeof seen);
	ST_ASSERT(count_entries(TDIR "/d", 512, &nrec, seen, 40) == 0);
	ST_ASSERT(nrec == 41 && !seen[7] && seen[8]);
	ST_ASSERT(vfs_rmdir(NULL, TDIR "/d") == -ENOTEMPTY);
	cleanup();
	ST_ASSERT(root_vnodes() == base);
	return 0;
}

SELFTEST(vfs_names)
{
	unsigned base = root_vnodes();
	ST_ASSERT(setup() == 0);
	ST_ASSERT(vfs_mkdir(NULL, TDIR "/c", 0755) == 0);
	ST_ASSERT(vfs_mkdir(NULL, TDIR "/c/sub/", 0755) == 0);
	/* rename across directories, replacing a file */
	ST_ASSERT(put_file(TDIR "/c/f", "old") == 0);
	ST_ASSERT(vfs_rename(NULL, TDIR "/a/b/f", NULL, TDIR "/c/f") == 0);
	char buf[64];
	ST_ASSERT(get_file(TDIR "/c/f", buf, sizeof buf) == 7);
	ST_ASSERT(!strcmp(buf, "file f\n"));
	ST_ASSERT(vfs_rename(NULL, TDIR "/c/f", NULL, TDIR "/a/f") == 0);
	ST_ASSERT(vfs_rename(NULL, TDIR "/c/sub", NULL, TDIR "/a") ==
		  -ENOTEMPTY);
	ST_ASSERT(vfs_rename(NULL, TDIR "/a", NULL, TDIR "/a/b/x") == -EINVAL);
	ST_ASSERT(vfs_rename(NULL, TDIR "/a/f", NULL, TDIR "/c/sub") ==
		  -EISDIR);
	ST_ASSERT(vfs_rename(NULL, TDIR "/a/f/", NULL, TDIR "/c/x") ==
		  -ENOTDIR);
	ST_ASSERT(vfs_rename(NULL, TDIR "/a/.", NULL, TDIR "/c/x") == -EBUSY);
	ST_ASSERT(vfs_rename(NULL, TDIR "/nope", NULL, TDIR "/c/x") == -ENOENT);
	/* across mounts */
	ST_ASSERT(vfs_rename(NULL, TDIR "/a/f", NULL, "/proc/f") == -EXDEV);
	ST_ASSERT(vfs_link(NULL, TDIR "/a/f", NULL, "/dev/f") == -EXDEV);
	ST_ASSERT(vfs_rename(NULL, "/dev/null", NULL, TDIR "/x") == -EXDEV);
	struct linux_stat st;
	ST_ASSERT(vfs_stat(NULL, TDIR "/a/f", &st) == 0);
	/* hard links */
	ST_ASSERT(vfs_link(NULL, TDIR "/a/f", NULL, TDIR "/c/moved") == 0);
	ST_ASSERT(vfs_stat(NULL, TDIR "/c/moved", &st) == 0 &&
		  st.st_nlink == 2);
	ST_ASSERT(vfs_link(NULL, TDIR "/a", NULL, TDIR "/c/dirlink") == -EPERM);
	ST_ASSERT(vfs_link(NULL, TDIR "/a/f", NULL, TDIR "/c/moved") ==
		  -EEXIST);
	ST_ASSERT(same_vnode(TDIR "/c/moved", TDIR "/a/f"));
	/* unlink, rmdir, mkdir corner cases */
	ST_ASSERT(vfs_unlink(NULL, TDIR "/a") == -EISDIR);
	ST_ASSERT(vfs_unlink(NULL, TDIR "/a/f/") == -ENOTDIR);
	ST_ASSERT(vfs_rmdir(NULL, TDIR "/a/f") == -ENOTDIR);
	ST_ASSERT(vfs_rmdir(NULL, TDIR "/a/.") == -EINVAL);
	ST_ASSERT(vfs_rmdir(NULL, TDIR "/a/..") == -ENOTEMPTY);
	ST_ASSERT(vfs_rmdir(NULL, "/") == -EBUSY);
	ST_ASSERT(vfs_mkdir(NULL, "/", 0755) == -EEXIST);
	ST_ASSERT(vfs_mkdir(NULL, TDIR "/nope/x", 0755) == -ENOENT);
	ST_ASSERT(vfs_mkdir(NULL, TDIR "/a/f/x", 0755) == -ENOTDIR);
	ST_ASSERT(vfs_mkdir(NULL, "/proc/x", 0755) == -EPERM);
	ST_ASSERT(vfs_chmod(NULL, TDIR "/a/f", 0600) == 0);
	ST_ASSERT(vfs_stat(NULL, TDIR "/c/moved", &st) == 0);
	ST_ASSERT(st.st_mode == (S_IFREG | 0600));
	ST_ASSERT(vfs_truncate(NULL, TDIR "/a/f", 3) == 0);
	ST_ASSERT(vfs_truncate(NULL, TDIR "/a", 3) == -EISDIR);
	ST_ASSERT(vfs_truncate(NULL, TDIR "/a/f", -1) == -EINVAL);
	ST_ASSERT(get_file(TDIR "/c/moved", buf, sizeof buf) == 3);
	/* An unlinked file stays readable while open. */
	struct file *f;
	ST_ASSERT(vfs_open(NULL, TDIR "/a/f", O_RDONLY, 0, &f) == 0);
	ST_ASSERT(vfs_unlink(NULL, TDIR "/a/f") == 0);
	ST_ASSERT(vfs_unlink(NULL, TDIR "/c/moved") == 0);
	ST_ASSERT(file_read(f, buf, sizeof buf) == 3 && !memcmp(buf, "fil", 3));
	file_close(f);
	ST_ASSERT(vfs_rmdir(NULL, TDIR "/c/sub") == 0);
	cleanup();
	ST_ASSERT(vfs_stat(NULL, TDIR, &st) == -ENOENT);
	ST_ASSERT(root_vnodes() == base);
	return 0;
}

SELFTEST(vfs_devices)
{
	struct file *f;
	char buf[64];
	ST_ASSERT(vfs_open(NULL, "/dev/null", O_RDWR, 0, &f) == 0);
	ST_ASSERT(file_read(f, buf, sizeof buf) == 0);
	ST_ASSERT(file_write(f, "gone", 4) == 4);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, "/dev/zero", O_RDONLY, 0, &f) == 0);
	memset(buf, 0x55, sizeof buf);
	ST_ASSERT(file_read(f, buf, sizeof buf) == sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		ST_ASSERT(buf[i] == 0);
	ST_ASSERT(file_write(f, "x", 1) == -EBADF);
	file_close(f);
	struct linux_stat st;
	ST_ASSERT(vfs_stat(NULL, "/dev/zero", &st) == 0);
	ST_ASSERT(st.st_mode == (S_IFCHR | 0666) && st.st_rdev == 0x105);
	ST_ASSERT(vfs_stat(NULL, "/dev/ttyS0", &st) == 0);
	ST_ASSERT(st.st_rdev == vfs_makedev(4, 64) && st.st_rdev == 0x440);
	ST_ASSERT(vfs_stat(NULL, "/dev/console", &st) == 0);
	ST_ASSERT(st.st_rdev == vfs_makedev(5, 1));
	/* The console writes; it is a stream. */
	ST_ASSERT(vfs_open(NULL, "/dev/console", O_WRONLY, 0, &f) == 0);
	ST_ASSERT(file_write(f, "# console write\n", 16) == 16);
	ST_ASSERT(file_lseek(f, 0, SEEK_SET) == -ESPIPE);
	/* The tty's ioctls take user pointers: a kernel caller has none. */
	ST_ASSERT(file_ioctl(f, 0x5401, 0) == -EFAULT); /* TCGETS */
	ST_ASSERT(file_ioctl(f, 0x54ff, 0) == -ENOTTY);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, "/dev/nothing", O_RDONLY, 0, &f) == -ENOENT);
	ST_ASSERT(vfs_open(NULL, "/dev/null", O_RDONLY | O_CREAT, 0, &f) == 0);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, "/dev/new", O_RDONLY | O_CREAT, 0, &f) ==
		  -EACCES);
	ST_ASSERT(vfs_unlink(NULL, "/dev/null") == -EPERM);
	/* A device number nobody drives. */
	ST_ASSERT(chrdev_register(vfs_makedev(1, 3), "null2", 0666,
				  &(struct file_ops){0}, NULL,
				  false) == -EEXIST);
	struct file dummy = {0};
	ST_ASSERT(chrdev_open(vfs_makedev(200, 1), &dummy) == -ENXIO);
	return 0;
}

/* Parses "Name:   N kB" lines; returns the value of name or -1. */
static long meminfo_value(const char *text, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = text; *l;) {
		if (!strncmp(l, name, nl) && l[nl] == ':') {
			const char *p = l + nl + 1;
			while (*p == ' ')
				p++;
			long v = 0;
			if (*p < '0' || *p > '9')
				return -1;
			while (*p >= '0' && *p <= '9')
				v = v * 10 + (*p++ - '0');
			return strncmp(p, " kB\n", 4) ? -1 : v;
		}
		const char *nlp = strchr(l, '\n');
		if (!nlp)
			break;
		l = nlp + 1;
	}
	return -1;
}

static int gen_big(char *buf, size_t size, void *arg, uint64_t key)
{
	size_t n = 10000;
	for (size_t i = 0; i < size && i < n; i++)
		buf[i] = (char)('a' + i % 26);
	if (size)
		buf[MIN(n, size - 1)] = 0;
	return (int)n;
}

static int gen_target(char *buf, size_t size, void *arg, uint64_t key)
{
	return snprintf(buf, size, "%lu", (unsigned long)key);
}

static int gen_up(char *buf, size_t size, void *arg, uint64_t key)
{
	return snprintf(buf, size, "../%lu", (unsigned long)key);
}

static int gen_key(char *buf, size_t size, void *arg, uint64_t key)
{
	return key == 13 ? -ENOENT
			 : snprintf(buf, size, "key %lu of %s\n",
				    (unsigned long)key, (const char *)arg);
}

static int set_list(void *arg, uint64_t *keys, int max)
{
	static const uint64_t k[] = {7, 13, 400};
	for (int i = 0; i < 3 && i < max; i++)
		keys[i] = k[i];
	return 3;
}

static int set_lookup(void *arg, const char *name, size_t len, uint64_t *key)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -ENOENT;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*key = v;
	return len && (v == 7 || v == 13 || v == 400) ? 0 : -ENOENT;
}

static void set_name(void *arg, uint64_t key, char *buf, size_t size)
{
	snprintf(buf, size, "%lu", (unsigned long)key);
}

/* A writable file's value: what the last accepted write carried. */
static char knob[PROCFS_WRITE_MAX + 1];
static size_t knob_len;
static uint64_t knob_key;

static int gen_knob(char *buf, size_t size, void *arg, uint64_t key)
{
	return snprintf(buf, size, "%s\n", knob);
}

/* "bad" is refused; the text must arrive NUL-terminated. */
static int write_knob(void *arg, uint64_t key, const char *buf, size_t len)
{
	if (buf[len] != 0)
		return -EFAULT;
	if (len == 3 && !memcmp(buf, "bad", 3))
		return -EINVAL;
	memcpy(knob, buf, len + 1);
	knob_len = len;
	knob_key = key;
	return 0;
}

static const struct procfs_dynfile test_files[] = {
	{"info", gen_key, false, NULL},
	{"self", gen_up, true, NULL},
	{"knob", gen_knob, false, write_knob},
};
static const struct procfs_dynset test_set = {
	set_list, set_lookup, set_name, test_files, 3, "selftest",
};

SELFTEST(vfs_procfs)
{
	char *buf = kmalloc(16384);
	ST_ASSERT(buf);
	ST_ASSERT(get_file("/proc/meminfo", buf, 16384) > 0);
	long total = meminfo_value(buf, "MemTotal");
	long free = meminfo_value(buf, "MemFree");
	struct mem_stats ms;
	mem_get_stats(&ms);
	ST_ASSERT(total == (long)(ms.total_bytes >> 10));
	ST_ASSERT(free > 0 && free <= total);
	ST_ASSERT(meminfo_value(buf, "Buffers") >= 0);
	ST_ASSERT(get_file("/proc/uptime", buf, 16384) > 0);
	ST_ASSERT(buf[0] >= '0' && buf[0] <= '9' && contains(buf, "."));
	ST_ASSERT(get_file("/proc/bcache", buf, 16384) > 0);
	ST_ASSERT(contains(buf, "hits ") && contains(buf, "misses "));
	/* Registration: nested directories, big files, links, dynamic sets. */
	ST_ASSERT(procfs_register("selftest/deep/big", gen_big, NULL) == 0);
	ST_ASSERT(procfs_register("selftest/deep/big", gen_big, NULL) ==
		  -EEXIST);
	ST_ASSERT(procfs_register("selftest/deep/big/x", gen_big, NULL) ==
		  -ENOTDIR);
	ST_ASSERT(procfs_register("selftest/../x", gen_big, NULL) == -EINVAL);
	ST_ASSERT(procfs_register_link("selftest/link", gen_target, NULL) == 0);
	ST_ASSERT(procfs_register_dynset("selftest/set", &test_set) == 0);
	ST_ASSERT(get_file("/proc/selftest/deep/big", buf, 16384) == 10000);
	ST_ASSERT(buf[0] == 'a' && buf[9999] == 'a' + 9999 % 26);
	char t[16];
	ST_ASSERT(vfs_readlink(NULL, "/proc/selftest/link", t, sizeof t) == 1);
	ST_ASSERT(t[0] == '0');
	ST_ASSERT(get_file("/proc/selftest/set/7/info", buf, 16384) > 0);
	ST_ASSERT(!strcmp(buf, "key 7 of selftest\n"));
	ST_ASSERT(get_file("/proc/selftest/set/13/info", buf, 16384) ==
		  -ENOENT);
	ST_ASSERT(get_file("/proc/selftest/set/8/info", buf, 16384) == -ENOENT);
	ST_ASSERT(vfs_readlink(NULL, "/proc/selftest/set/400/self", t,
			       sizeof t) == 6);
	ST_ASSERT(!memcmp(t, "../400", 6));
	ST_ASSERT(same_vnode("/proc/selftest/set/400/self",
			     "/proc/selftest/set/400"));
	ST_ASSERT(same_vnode("/proc/selftest/set/400/self/..",
			     "/proc/selftest/set"));
	ST_ASSERT(same_vnode("/proc/selftest/set/7/..", "/proc/selftest/set"));
	ST_ASSERT(same_vnode("/proc/selftest/set/7/../../deep/..",
			     "/proc/selftest"));
	struct vnode *d;
	ST_ASSERT(vfs_lookup(NULL, "/proc/selftest/set/400", 0, &d) == 0);
	ST_ASSERT(vfs_path(d, t, sizeof t) == -ERANGE);
	ST_ASSERT(vfs_path(d, buf, 64) > 0);
	ST_ASSERT(!strcmp(buf, "/proc/selftest/set/400"));
	vnode_put(d);
	int nrec;
	bool seen[1];
	ST_ASSERT(count_entries("/proc/selftest/set", 64, &nrec, seen, 0) == 0);
	ST_ASSERT(nrec == 5);
	ST_ASSERT(count_entries("/proc/selftest/set/7", 64, &nrec, seen, 0) ==
		  0);
	ST_ASSERT(nrec == 5);
	/* Read-only: no writing, no new names. */
	struct file *f;
	ST_ASSERT(vfs_open(NULL, "/proc/meminfo", O_WRONLY, 0, &f) == -EACCES);
	ST_ASSERT(vfs_open(NULL, "/proc/meminfo", O_RDONLY, 0, &f) == 0);
	ST_ASSERT(file_read(f, buf, 5) == 5 && !memcmp(buf, "MemTo", 5));
	ST_ASSERT(file_pread(f, buf, 5, 3) == 5 && !memcmp(buf, "Total", 5));
	ST_ASSERT(file_lseek(f, 100000, SEEK_SET) == 100000);
	ST_ASSERT(file_read(f, buf, 5) == 0);
	file_close(f);
	kfree(buf);
	return 0;
}

/* Writable files: one whole value at offset 0, handed over without one
 * trailing newline; everything else refused before the handler runs. */
SELFTEST(vfs_procfs_write)
{
	static const struct procfs_dynset set = {
		set_list, set_lookup, set_name, test_files, 3, "selftest",
	};
	ST_ASSERT(procfs_register_rw("selftest/w/knob", gen_knob, NULL, NULL) ==
		  -EINVAL);
	ST_ASSERT(procfs_register_rw("selftest/w/knob", gen_knob, write_knob,
				     NULL) == 0);
	ST_ASSERT(procfs_register_dynset("selftest/w/set", &set) == 0);
	struct linux_stat st;
	ST_ASSERT(vfs_stat(NULL, "/proc/selftest/w/knob", &st) == 0);
	ST_ASSERT(st.st_mode == (S_IFREG | 0644));
	ST_ASSERT(vfs_stat(NULL, "/proc/selftest/w/set/7/knob", &st) == 0);
	ST_ASSERT(st.st_mode == (S_IFREG | 0644));
	ST_ASSERT(vfs_stat(NULL, "/proc/selftest/w/set/7/info", &st) == 0);
	ST_ASSERT(st.st_mode == (S_IFREG | 0444));
	ST_ASSERT(vfs_stat(NULL, "/proc/meminfo", &st) == 0);
	ST_ASSERT(st.st_mode == (S_IFREG | 0444));
	/* As a shell's `echo 7 > knob` does it. */
	struct file *f;
	ST_ASSERT(vfs_open(NULL, "/proc/selftest/w/knob",
			   O_WRONLY | O_CREAT | O_TRUNC, 0644, &f) == 0);
	ST_ASSERT(file_write(f, "7\n", 2) == 2);
	ST_ASSERT(knob_len == 1 && !strcmp(knob, "7") && knob_key == 0);
	ST_ASSERT(file_write(f, "8", 1) == -EINVAL); /* at offset 2 */
	ST_ASSERT(file_pwrite(f, "8", 1, 1) == -EINVAL);
	ST_ASSERT(!strcmp(knob, "7"));
	ST_ASSERT(file_pwrite(f, "8", 1, 0) == 1 && !strcmp(knob, "8"));
	ST_ASSERT(file_pwrite(f, "bad\n", 4, 0) == -EINVAL);
	ST_ASSERT(file_pwrite(f, "a\n\n", 3, 0) == 3);
	ST_ASSERT(knob_len == 2 && !strcmp(knob, "a\n"));
	ST_ASSERT(file_pwrite(f, "", 0, 0) == 0 && knob_len == 2);
	char *big = kmalloc(PROCFS_WRITE_MAX + 1);
	ST_ASSERT(big);
	memset(big, 'x', PROCFS_WRITE_MAX + 1);
	ST_ASSERT(file_pwrite(f, big, PROCFS_WRITE_MAX + 1, 0) == -EINVAL);
	ST_ASSERT(knob_len == 2);
	ST_ASSERT(file_pwrite(f, big, PROCFS_WRITE_MAX, 0) == PROCFS_WRITE_MAX);
	ST_ASSERT(knob_len == PROCFS_WRITE_MAX);
	kfree(big);
	char buf[16];
	ST_ASSERT(file_read(f, buf, sizeof buf) == -EBADF);
	file_close(f);
	/* Read-write: the snapshot of the open, and writes at 0. */
	ST_ASSERT(vfs_open(NULL, "/proc/selftest/w/set/400/knob", O_RDWR, 0,
			   &f) == 0);
	ST_ASSERT(file_read(f, buf, 2) == 2 && !memcmp(buf, "xx", 2));
	ST_ASSERT(file_write(f, "z", 1) == -EINVAL); /* at offset 2 */
	ST_ASSERT(file_pwrite(f, "z", 1, 0) == 1);
	ST_ASSERT(!strcmp(knob, "z") && knob_key == 400);
	ST_ASSERT(file_pread(f, buf, 2, 0) == 2 && !memcmp(buf, "xx", 2));
	file_close(f);
	/* O_APPEND writes at the size, 0. Truncation changes nothing. */
	ST_ASSERT(vfs_open(NULL, "/proc/selftest/w/knob", O_WRONLY | O_APPEND,
			   0, &f) == 0);
	ST_ASSERT(file_write(f, "q\n", 2) == 2 && !strcmp(knob, "q"));
	ST_ASSERT(file_truncate(f, 0) == 0);
	file_close(f);
	ST_ASSERT(vfs_truncate(NULL, "/proc/selftest/w/knob", 0) == 0);
	ST_ASSERT(vfs_chmod(NULL, "/proc/selftest/w/knob", 0666) == -EPERM);
	ST_ASSERT(get_file("/proc/selftest/w/knob", buf, sizeof buf) == 2);
	ST_ASSERT(!strcmp(buf, "q\n"));
	/* Files without a handler cannot be opened for writing. */
	ST_ASSERT(vfs_open(NULL, "/proc/meminfo", O_RDWR, 0, &f) == -EACCES);
	ST_ASSERT(vfs_open(NULL, "/proc/meminfo", O_WRONLY | O_TRUNC, 0, &f) ==
		  -EACCES);
	ST_ASSERT(vfs_open(NULL, "/proc/selftest/w/set/7/info", O_WRONLY, 0,
			   &f) == -EACCES);
	ST_ASSERT(vfs_truncate(NULL, "/proc/meminfo", 0) == -EPERM);
	ST_ASSERT(vfs_open(NULL, "/proc/selftest/w/set/8/knob", O_WRONLY, 0,
			   &f) == -ENOENT);
	ST_ASSERT(!strcmp(knob, "q"));
	return 0;
}

/* A copy of the root image as a read-only RAM disk, mounted in the tree. */
SELFTEST(vfs_ext2_readonly_mount)
{
	struct blockdev *rd = ramdisk_get("root");
	if (!rd) {
		printk("# skipped: no root RAM disk\n");
		return 0;
	}
	unsigned base = root_vnodes();
	ST_ASSERT(bcache_flush(rd) == 0);
	uint64_t size = blockdev_size(rd);
	size_t pages = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;
	uint64_t pa = pmm_alloc_contig(pages);
	ST_ASSERT(pa);
	ST_ASSERT(blockdev_read(rd, 0, phys_to_virt(pa), size) == 0);
	static struct blockdev ro;
	ramdisk_init(&ro, "rotest", phys_to_virt(pa), size, true);
	vfs_rmdir(NULL, "/vfstest_ro");
	ST_ASSERT(vfs_mkdir(NULL, "/vfstest_ro", 0755) == 0);
	ST_ASSERT(vfs_mount("ext2", &ro, "/vfstest_ro", 0) == 0);
	ST_ASSERT(vfs_mount("ext2", &ro, "/etc", 0) == -EBUSY);
	ST_ASSERT(vfs_mount("ext2", rd, "/etc", 0) == -EBUSY);
	ST_ASSERT(vfs_mount("ext2", NULL, "/etc", 0) == -EINVAL);
	struct linux_stat st, rst;
	ST_ASSERT(vfs_stat(NULL, "/vfstest_ro/etc/motd", &st) == 0);
	ST_ASSERT(vfs_stat(NULL, "/etc/motd", &rst) == 0);
	ST_ASSERT(st.st_ino == rst.st_ino && st.st_dev != rst.st_dev);
	ST_ASSERT(same_vnode("/vfstest_ro/etc/../..", "/"));
	struct file *f;
	ST_ASSERT(vfs_open(NULL, "/vfstest_ro/etc/motd", O_RDONLY, 0, &f) == 0);
	char buf[64];
	ST_ASSERT(file_read(f, buf, sizeof buf) == rst.st_size);
	ST_ASSERT(file_truncate(f, 0) == -EINVAL);
	file_close(f);
	ST_ASSERT(vfs_open(NULL, "/vfstest_ro/etc/motd", O_WRONLY, 0, &f) ==
		  -EROFS);
	ST_ASSERT(vfs_open(NULL, "/vfstest_ro/etc/motd", O_RDONLY | O_TRUNC, 0,
			   &f) == -EROFS);
	ST_ASSERT(vfs_open(NULL, "/vfstest_ro/new", O_WRONLY | O_CREAT, 0644,
			   &f) == -EROFS);
	ST_ASSERT(vfs_mkdir(NULL, "/vfstest_ro/d", 0755) == -EROFS);
	ST_ASSERT(vfs_mkdir(NULL, "/vfstest_ro/etc", 0755) == -EEXIST);
	ST_ASSERT(vfs_unlink(NULL, "/vfstest_ro/etc/motd") == -EROFS);
	ST_ASSERT(vfs_rename(NULL, "/vfstest_ro/etc/motd", NULL,
			     "/vfstest_ro/m") == -EROFS);
	ST_ASSERT(vfs_symlink("x", NULL, "/vfstest_ro/l") == -EROFS);
	ST_ASSERT(vfs_chmod(NULL, "/vfstest_ro/etc/motd", 0600) == -EROFS);
	ST_ASSERT(vfs_truncate(NULL, "/vfstest_ro/etc/motd", 0) == -EROFS);
	char *m = kmalloc(1024);
	ST_ASSERT(m && get_file("/proc/mounts", m, 1024) > 0);
	ST_ASSERT(contains(m, "/dev/rotest /vfstest_ro ext2 ro 0 0\n"));
	kfree(m);
	ST_ASSERT(vfs_rmdir(NULL, "/vfstest_ro") == -EBUSY);
	ST_ASSERT(vfs_unmount("/vfstest_ro/etc") == -EINVAL);
	ST_ASSERT(vfs_open(NULL, "/vfstest_ro/etc", O_RDONLY, 0, &f) == 0);
	ST_ASSERT(vfs_unmount("/vfstest_ro") == -EBUSY);
	file_close(f);
	ST_ASSERT(vfs_unmount("/vfstest_ro") == 0);
	ST_ASSERT(vfs_stat(NULL, "/vfstest_ro/etc", &st) == -ENOENT);
	ST_ASSERT(bcache_invalidate(&ro) == 0);
	pmm_free_contig(pa, pages);
	ST_ASSERT(vfs_rmdir(NULL, "/vfstest_ro") == 0);
	ST_ASSERT(root_vnodes() == base);
	return 0;
}

/* The persistent disk, when one is mounted on /data. */
SELFTEST(vfs_data_disk)
{
	struct linux_stat root, data;
	ST_ASSERT(vfs_stat(NULL, "/", &root) == 0);
	if (vfs_stat(NULL, "/data", &data) || data.st_dev == root.st_dev) {
		printk("# skipped: no disk on /data\n");
		return 0;
	}
	const char *p = "/data/vfs_selftest";
	ST_ASSERT(put_file(p, "on the disk\n") == 0);
	char buf[32];
	ST_ASSERT(get_file(p, buf, sizeof buf) == 12);
	ST_ASSERT(!strcmp(buf, "on the disk\n"));
	ST_ASSERT(vfs_rename(NULL, p, NULL, "/vfs_selftest") == -EXDEV);
	ST_ASSERT(vfs_link(NULL, p, NULL, "/vfs_selftest") == -EXDEV);
	ST_ASSERT(same_vnode("/data/..", "/"));
	ST_ASSERT(vfs_sync() == 0);
	ST_ASSERT(vfs_unlink(NULL, p) == 0);
	ST_ASSERT(vfs_sync() == 0);
	return 0;
}
