/*
 * vfs.h — the virtual file system: how the kernel and the system-call layer
 * reach files. (fs/fs.h is the other audience of fs/: block drivers and
 * ext2.) Implemented in fs/vfs*.c, fs/devfs.c, fs/pipe.c, fs/procfs.c; see
 * docs/filesystem.md, section "VFS".
 *
 * Interface, top to bottom:
 *   paths    vfs_open, vfs_stat/lstat, vfs_mkdir, vfs_rmdir, vfs_unlink,
 *            vfs_link, vfs_symlink, vfs_readlink, vfs_rename, vfs_truncate,
 *            vfs_chmod, vfs_lookup, vfs_path (getcwd). Every path function
 *            takes `at`, the directory relative paths start from (the cwd,
 *            or openat's directory); NULL means the root.
 *   files    struct file: an open file with its offset and flags (file_*).
 *   mounts   vfs_mount, vfs_unmount, vfs_mount_iter, vfs_sync.
 *   devices  chrdev_register (character devices by number), the console tty
 *            and its line-discipline hook; devfs at /dev.
 *   pipes    pipe_create.
 *   procfs   procfs_register_* (files generated at open time, some
 *            writable).
 *   fs types struct vnode / vnode_ops / fstype / mount: for file-system
 *            implementations (ext2 adapter, devfs, procfs), not for callers.
 *
 * Conventions: 0 or a negative errno (Linux values); functions that return
 * a count return it or a negative errno. Every function validates all of
 * its arguments before it changes anything, so a refused call leaves
 * nothing half-done. Buffers passed in are never touched with a spinlock
 * held, so they may later be user memory that faults in.
 */
#ifndef FS_VFS_H
#define FS_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"
#include "kern/sync.h"

struct blockdev;
struct vnode;
struct file;
struct mount;

#define PATH_MAX 4096 /* bytes in a path, with its NUL */
#define NAME_MAX 255 /* bytes in one component */
#define SYMLOOP_MAX 40 /* symbolic links followed in one lookup */
#define PIPE_BUF 4096 /* writes up to this size to a pipe are atomic */

/* open(2) flags: the Linux x86_64 values. */
#define O_ACCMODE 03
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DSYNC 010000
#define O_LARGEFILE 0100000 /* musl always passes it; ignored */
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

/* File types and permission bits (S_IF*, S_IS*): fs/fs.h. */

/* getdents64 d_type values. */
enum {
	DT_UNKNOWN = 0,
	DT_FIFO = 1,
	DT_CHR = 2,
	DT_DIR = 4,
	DT_BLK = 6,
	DT_REG = 8,
	DT_LNK = 10,
	DT_SOCK = 12,
};

/* Device numbers as Linux encodes them in st_dev/st_rdev (new_encode_dev:
 * major:minor below 256 give major << 8 | minor). */
static inline uint32_t vfs_makedev(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | (major & 0xfff) << 8 | (minor & ~0xffu) << 12;
}
static inline uint32_t vfs_major(uint32_t dev)
{
	return (dev >> 8) & 0xfff;
}
static inline uint32_t vfs_minor(uint32_t dev)
{
	return (dev & 0xff) | ((dev >> 12) & ~0xffu);
}

/* struct stat of the x86_64 Linux ABI (what stat/fstat/lstat/newfstatat
 * copy out), byte for byte. */
struct linux_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};
struct linux_stat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_nlink;
	uint32_t st_mode;
	uint32_t st_uid;
	uint32_t st_gid;
	uint32_t pad0;
	uint64_t st_rdev;
	int64_t st_size;
	int64_t st_blksize;
	int64_t st_blocks; /* 512-byte units */
	struct linux_timespec st_atim;
	struct linux_timespec st_mtim;
	struct linux_timespec st_ctim;
	int64_t unused[3];
};
_Static_assert(sizeof(struct linux_stat) == 144, "x86_64 struct stat");
_Static_assert(offsetof(struct linux_stat, st_mode) == 24, "st_mode");
_Static_assert(offsetof(struct linux_stat, st_rdev) == 40, "st_rdev");
_Static_assert(offsetof(struct linux_stat, st_size) == 48, "st_size");
_Static_assert(offsetof(struct linux_stat, st_atim) == 72, "st_atim");
_Static_assert(offsetof(struct linux_stat, st_ctim) == 104, "st_ctim");

/* One getdents64 record: d_reclen bytes, a multiple of 8; d_off is the
 * directory offset of the next record (lseek there to resume). */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
} __attribute__((packed));
#define LINUX_DIRENT64_NAME 19 /* offsetof(d_name) */
_Static_assert(offsetof(struct linux_dirent64, d_name) == LINUX_DIRENT64_NAME,
	       "dirent64 layout");

/* --------------------------------------------------------------- paths */

/*
 * Lookup rules (all path functions): a path is at most PATH_MAX - 1 bytes
 * (-ENAMETOOLONG), each component at most NAME_MAX (-ENAMETOOLONG); "" is
 * -ENOENT. "/" starts at the root; "." and ".." as usual, ".." crosses back
 * over mount points and stays put at the root. Symbolic links in the
 * middle are always followed, the last one as each function says; more
 * than SYMLOOP_MAX links in one lookup give -ELOOP. A component that is not
 * a directory where one is needed gives -ENOTDIR; a trailing slash demands
 * a directory.
 */
enum {
	LOOKUP_FOLLOW = 1 << 0, /* follow a symlink in the last component */
	LOOKUP_DIRECTORY = 1 << 1, /* the result must be a directory */
};
/* The vnode `path` names (a reference: vnode_put it). For chdir/fchdir,
 * openat's directory, mount points. */
int vfs_lookup(struct vnode *at, const char *path, unsigned flags,
	       struct vnode **out);
/* The root directory (a reference). NULL until / is mounted. */
struct vnode *vfs_root(void);
/* The absolute path of a directory (getcwd): its length without the NUL,
 * -ERANGE if size is too small, -ENOENT if it was removed. */
int vfs_path(struct vnode *dir, char *buf, size_t size);

/*
 * Open (O_* flags above; mode is used with O_CREAT, after the caller's
 * umask). Errors: -EEXIST (O_CREAT|O_EXCL on an existing name, symlinks
 * included), -ENOTDIR (O_DIRECTORY on a non-directory), -ELOOP (O_NOFOLLOW
 * and the last component is a symlink), -EISDIR (a directory opened for
 * writing or O_TRUNC, or O_CREAT on one), -EINVAL (access mode 3,
 * O_CREAT|O_DIRECTORY), -EROFS (writing on a read-only mount), -ENXIO (a
 * device number no driver has). O_TRUNC empties a regular file. O_CLOEXEC
 * and O_NONBLOCK are kept in f->flags.
 */
int vfs_open(struct vnode *at, const char *path, int flags, uint32_t mode,
	     struct file **out);
/* stat follows a final symlink, lstat does not. */
int vfs_stat(struct vnode *at, const char *path, struct linux_stat *st);
int vfs_lstat(struct vnode *at, const char *path, struct linux_stat *st);
int vfs_mkdir(struct vnode *at, const char *path, uint32_t mode);
/* -ENOTEMPTY, -EBUSY (a mount point or the root), -EINVAL (".") */
int vfs_rmdir(struct vnode *at, const char *path);
/* -EISDIR on a directory */
int vfs_unlink(struct vnode *at, const char *path);
/* A new name for an existing non-directory (-EPERM); -EXDEV across mounts. */
int vfs_link(struct vnode *oat, const char *oldpath, struct vnode *nat,
	     const char *newpath);
int vfs_symlink(const char *target, struct vnode *at, const char *path);
/* The target, not NUL-terminated, truncated to size: its length. -EINVAL
 * if path is not a symlink. */
int vfs_readlink(struct vnode *at, const char *path, char *buf, size_t size);
/* POSIX rename within one mount (-EXDEV across mounts, -EBUSY for mount
 * points). */
int vfs_rename(struct vnode *oat, const char *oldpath, struct vnode *nat,
	       const char *newpath);
/* Set the size of a regular file (-EISDIR, -EINVAL for other types or a
 * negative length). Follows symlinks. */
int vfs_truncate(struct vnode *at, const char *path, int64_t length);
/* Permission bits (mode & 07777). Follows symlinks. */
int vfs_chmod(struct vnode *at, const char *path, uint32_t mode);

/* ------------------------------------------------------------ open files */

/*
 * An open file. The reference count is the number of holders (fd-table
 * slots, the kernel); file_dup adds one, file_close drops one and the last
 * closes the file. `offset` is guarded by pos_lock, which read, write,
 * lseek and getdents hold while they use it (streams — pipes, terminals —
 * have no offset and skip it). flags: the O_* flags given to open, minus
 * O_CREAT|O_EXCL|O_TRUNC|O_NOFOLLOW.
 */
struct file_ops;
struct file {
	unsigned refcnt; /* vfs_lock */
	int flags;
	struct vnode *vn; /* a reference */
	const struct file_ops *ops;
	void *priv; /* the driver's or file system's per-open data */
	uint64_t offset;
	struct sleeplock pos_lock;
};

/* Read/write at the offset (advanced by the count); -EBADF if not open for
 * it, -EISDIR for directories, -EAGAIN for O_NONBLOCK with nothing to do,
 * -EPIPE writing to a pipe nobody reads. O_APPEND writes at the end. */
int64_t file_read(struct file *f, void *buf, size_t len);
int64_t file_write(struct file *f, const void *buf, size_t len);
/* At an explicit offset; the file's offset is unchanged. -ESPIPE on
 * streams, -EINVAL for a negative offset. */
int64_t file_pread(struct file *f, void *buf, size_t len, int64_t off);
int64_t file_pwrite(struct file *f, const void *buf, size_t len, int64_t off);
/* The new offset; -EINVAL (bad whence, negative result), -ESPIPE. */
int64_t file_lseek(struct file *f, int64_t off, int whence);
/* Fill buf with linux_dirent64 records from the offset on; returns the
 * bytes used, 0 at the end, -EINVAL if the first record does not fit,
 * -ENOTDIR. */
int64_t file_getdents64(struct file *f, void *buf, size_t size);
int file_stat(struct file *f, struct linux_stat *st); /* fstat */
int file_fsync(struct file *f); /* -EINVAL for pipes and devices */
int file_truncate(struct file *f, int64_t length); /* ftruncate */
int file_chmod(struct file *f, uint32_t mode); /* fchmod */
/* fcntl(F_SETFL): only O_APPEND and O_NONBLOCK change. */
void file_set_flags(struct file *f, int flags);
struct file *file_dup(struct file *f); /* one more reference; returns f */
/* A new open file on vn (which it takes over) for a driver that makes its
 * own files (pipes, sockets): one reference, offset 0; the caller sets
 * ops and priv. NULL when out of memory. */
struct file *file_alloc(struct vnode *vn, int flags);
void file_close(struct file *f); /* drop a reference */

/* ioctl(2): the driver's answer; -ENOTTY when it has none. */
int file_ioctl(struct file *f, unsigned long cmd, unsigned long arg);

/* A driver's operations on an open file. Missing read/write give -EINVAL.
 * A `stream` has no offset: lseek, pread, pwrite give -ESPIPE. */
struct file_ops {
	int64_t (*read)(struct file *f, void *buf, size_t len, uint64_t off);
	int64_t (*write)(struct file *f, const void *buf, size_t len,
			 uint64_t off);
	int (*ioctl)(struct file *f, unsigned long cmd, unsigned long arg);
	void (*release)(struct file *f); /* last reference gone */
	/* Optional: readiness now, POLL* bits (poll, select). Without it a
	 * file is always readable and writable (regular files, directories,
	 * null). A driver whose readiness changes calls poll_notify(). */
	unsigned (*poll)(struct file *f);
	bool stream;
};

/*
 * poll(2)/select(2) readiness (fs/poll.c). One wait queue for the whole
 * node: every file whose readiness can change (pipes, the tty) calls
 * poll_notify() after each change, and a poller sleeps until the next one.
 * A poller takes poll_seq() before asking its files, then poll_wait(seq,
 * deadline) returns at once if anything changed meanwhile, so no wakeup is
 * lost between the check and the sleep. Spurious wakeups are fine: the
 * poller asks again.
 */
#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLRDBAND 0x080
#define POLLWRNORM 0x100
#define POLLWRBAND 0x200
#define POLLRDHUP 0x2000
uint64_t poll_seq(void);
void poll_notify(void);
/* 0 after a notify (or one since seq), -ETIMEDOUT at deadline_ns
 * (time_ns; 0 = none), -ERESTARTSYS when a signal is pending. */
int poll_wait(uint64_t seq, uint64_t deadline_ns);

/* ---------------------------------------------------------------- mounts */

enum {
	MNT_RDONLY = 1 << 0,
};
/*
 * Mount a file system of type fstype ("ext2", "devfs", "proc") on the
 * directory path (or "/" as the first mount). dev is the block device for
 * types that need one, else NULL. Errors: -ENODEV (unknown type), -ENOTDIR,
 * -EBUSY (already a mount point, or this singleton type is mounted), -EINVAL
 * (device missing or not a file system of that type), the type's own.
 */
int vfs_mount(const char *fstype, struct blockdev *dev, const char *path,
	      unsigned flags);
/* Unmount the file system whose root path names: -EINVAL if it is not one,
 * -EBUSY while anything in it is in use or mounted on, or for "/". */
int vfs_unmount(const char *path);
/* Call fn for each mount, parents before children, under the mount lock
 * (fn must not mount or unmount); stops when fn returns non-zero. */
struct mount_info {
	const char *source; /* "/dev/vda", "proc", ... */
	const char *path; /* where it is mounted */
	const char *fstype;
	unsigned flags; /* MNT_* */
};
int vfs_mount_iter(int (*fn)(void *ctx, const struct mount_info *mi),
		   void *ctx);
/* /proc/mounts text ("source path type rw 0 0" lines): snprintf's return. */
int vfs_format_mounts(char *buf, size_t size);
/* Write every mount's dirty data to its device. */
int vfs_sync(void);
/* At boot (fs/vfs_boot.c): the buffer cache, its flusher thread, and the
 * mounts: the root RAM disk on /, devfs on /dev, procfs on /proc, the first
 * virtio disk on /data. */
void fs_boot_mount(void);
/* The monitor's `fsbench DIR [MB]` (fs/fsbench.c): a file-system benchmark
 * on DIR's mount, printing "fsbench: key=value" lines. Returns the
 * command's status: 0, 1 after an error, 2 for bad arguments. */
int fs_bench(int argc, char **argv);

/* --------------------------------------------------------------- devices */

/*
 * Character devices by number (vfs_makedev). Opening any character-device
 * vnode — in devfs or a device node on ext2 — finds its driver here.
 * `show` puts it in /dev under name. -EEXIST if the number is taken.
 */
int chrdev_register(uint32_t rdev, const char *name, uint32_t mode,
		    const struct file_ops *fops, void *priv, bool show);

/*
 * The console terminal (fs/tty.c): COM1 as /dev/console 5:1, /dev/ttyS0
 * 4:64 and /dev/tty 5:0 (the console, for every process). A Linux tty: termios (TCGETS/TCSETS*, the x86_64 layout),
 * canonical input with echo and editing, raw input (VMIN/VTIME), window
 * size, job control (session, foreground group, TIOC[GS]PGRP, TIOCSCTTY,
 * TIOCNOTTY, SIGTTIN for background readers) and ^C ^\ ^Z as signals to
 * the foreground group. Input is processed as it arrives by a kernel
 * thread, so ^C reaches a program that is not reading. /proc/tty/console
 * shows its state and counters. Details: docs/filesystem.md.
 */
struct tty;
/* From devfs_init: the console, its input thread, its devices. */
void tty_init(void);
struct tty *tty_console(void);
/* The console's foreground process group, -1 when it has none (the tpgid
 * of /proc/<pid>/stat). */
int tty_fg_pgrp(void);
/* The kernel monitor's command line: one canonical line without its end
 * (longer lines are cut at size - 1), 0 at end of file, -EINTR when ^C,
 * ^\ or ^Z is typed (the input was flushed and the character echoed).
 * A session still holding the terminal (init ended) is let go first. */
int64_t tty_read_line(struct tty *t, char *buf, size_t size);
/* The kernel monitor runs a program in the foreground: the terminal
 * becomes the controlling terminal of session sid with group pgrp in
 * front. When the program ends, tty_reclaim takes it back: no session or
 * foreground group, the default termios (typed-ahead input stays). */
void tty_set_session(struct tty *t, int sid, int pgrp);
void tty_reclaim(struct tty *t);

/* ----------------------------------------------------------------- pipes */

/* A pipe: *rf reads, *wf writes (flags may hold O_NONBLOCK, O_CLOEXEC).
 * 64 KiB of buffer (as Linux); writes of at most PIPE_BUF bytes are never
 * interleaved with others. -ENOMEM. */
int pipe_create(struct file **rf, struct file **wf, int flags);

/* ---------------------------------------------------------------- procfs */

/*
 * procfs files are generated when opened (a snapshot read at any offset):
 * gen writes at most size bytes into buf and returns the length it wanted,
 * as snprintf does (it is called again with a larger buffer if needed), or
 * a negative errno (the open fails with it). key is 0 for static files,
 * the entry's key for dynamic ones.
 *
 * A file with a write handler is writable (mode 0644, else 0444, and
 * opening it for writing is -EACCES), as Linux's /proc/<pid> control
 * files: one write(2) of at most PROCFS_WRITE_MAX bytes at offset 0
 * carries the whole value (anything else is -EINVAL; O_TRUNC is accepted
 * and ignored). The handler gets the text with one trailing newline
 * removed, NUL-terminated (buf[len] == 0), and returns 0 (the write
 * returns the full count) or a negative errno (the write fails with it).
 */
typedef int (*procfs_gen_fn)(char *buf, size_t size, void *arg, uint64_t key);
typedef int (*procfs_write_fn)(void *arg, uint64_t key, const char *buf,
			       size_t len);
#define PROCFS_WRITE_MAX 256
/* A file (or, with link, a symlink whose target gen writes) at path
 * relative to /proc; missing directories are made. -EEXIST, -EINVAL. */
int procfs_register(const char *path, procfs_gen_fn gen, void *arg);
int procfs_register_link(const char *path, procfs_gen_fn gen, void *arg);
/* A writable file: gen for reads, write for writes. */
int procfs_register_rw(const char *path, procfs_gen_fn gen,
		       procfs_write_fn write, void *arg);

/* A set of directories that come and go (/proc/<pid>): each entry of
 * directory dir ("" for /proc) whose name `lookup` accepts is a directory
 * holding `files`. */
struct procfs_dynfile {
	const char *name;
	procfs_gen_fn gen;
	bool link; /* a symlink: gen writes the target */
	procfs_write_fn write; /* optional: the file is writable (not links) */
};
struct procfs_dynset {
	/* Fill keys[0..max) with the entries that exist; return how many. */
	int (*list)(void *arg, uint64_t *keys, int max);
	/* The key of a name, or -ENOENT. */
	int (*lookup)(void *arg, const char *name, size_t len, uint64_t *key);
	/* The name of a key. */
	void (*name)(void *arg, uint64_t key, char *buf, size_t size);
	const struct procfs_dynfile *files;
	unsigned nfiles;
	void *arg;
};
int procfs_register_dynset(const char *dir, const struct procfs_dynset *set);

/* ------------------------------------------ for file-system implementations */

enum vtype { VNON, VREG, VDIR, VLNK, VCHR, VBLK, VFIFO, VSOCK };

/* Attributes, as getattr reports them. Times are seconds + nanoseconds. */
struct vattr {
	uint64_t ino;
	uint32_t mode; /* type and permission bits */
	uint32_t nlink;
	uint32_t uid, gid;
	uint32_t rdev;
	uint64_t size;
	uint64_t blocks; /* 512-byte units */
	uint32_t blksize;
	struct linux_timespec atime, mtime, ctime;
};
enum {
	VA_MODE = 1 << 0, /* permission bits */
	VA_UID = 1 << 1,
	VA_GID = 1 << 2,
	VA_SIZE = 1 << 3,
	VA_ATIME = 1 << 4,
	VA_MTIME = 1 << 5,
};
struct vsetattr {
	unsigned mask; /* VA_* */
	uint32_t mode, uid, gid;
	uint64_t size;
	int64_t atime, mtime;
};

/*
 * readdir's callback: one entry, and `next`, the position just after it.
 * Returning non-zero stops readdir with *pos left at this entry.
 */
typedef int (*vfs_filldir_fn)(void *ctx, const char *name, size_t len,
			      uint64_t ino, unsigned dtype, uint64_t next);

/*
 * Operations on vnodes. Names are (pointer, length), never "." or ".."
 * except for lookup (which must answer both; ".." of a file system's root
 * is the root itself). Everything returning a vnode returns a reference.
 * The VFS has already checked the mount's read-only flag, the types the
 * call needs (dir is a directory) and names. A missing operation makes the
 * call fail with -EPERM (-EINVAL for readlink, -ENOTDIR for lookup and
 * readdir). The file system does its own locking.
 */
struct vnode_ops {
	int (*lookup)(struct vnode *dir, const char *name, size_t len,
		      struct vnode **out);
	/* mode holds the type (S_IFREG, S_IFDIR, S_IFCHR, ...) */
	int (*create)(struct vnode *dir, const char *name, size_t len,
		      uint32_t mode, uint32_t rdev, struct vnode **out);
	int (*symlink)(struct vnode *dir, const char *name, size_t len,
		       const char *target, size_t tlen);
	int (*link)(struct vnode *dir, const char *name, size_t len,
		    struct vnode *vn);
	int (*unlink)(struct vnode *dir, const char *name, size_t len);
	int (*rmdir)(struct vnode *dir, const char *name, size_t len);
	int (*rename)(struct vnode *odir, const char *oname, size_t olen,
		      struct vnode *ndir, const char *nname, size_t nlen);
	int (*readlink)(struct vnode *vn, char *buf, size_t size);
	/* From position *pos (0 = the start, "." and ".." first). */
	int (*readdir)(struct vnode *dir, uint64_t *pos, vfs_filldir_fn fn,
		       void *ctx);
	int (*getattr)(struct vnode *vn, struct vattr *va);
	int (*setattr)(struct vnode *vn, const struct vsetattr *sa);
	/* Data of regular files: a count, 0 at the end. */
	int64_t (*read)(struct vnode *vn, uint64_t off, void *buf, size_t len);
	int64_t (*write)(struct vnode *vn, uint64_t off, const void *buf,
			 size_t len);
	int (*fsync)(struct vnode *vn);
	/* Optional: set f->ops / f->priv for this open (procfs snapshots);
	 * without it regular files and directories use the vnode's read and
	 * write. */
	int (*open)(struct vnode *vn, struct file *f);
	/* The last reference is gone: free priv. May sleep. */
	void (*inactive)(struct vnode *vn);
};

/*
 * A vnode: one per file in use. Reference counted (vnode_ref/vnode_put);
 * the vnode cache keeps one vnode per (mount, ino) while referenced, so
 * vnodes compare by pointer. covered_by is set on a directory another file
 * system is mounted on. `lock` serializes O_APPEND writes of one file.
 */
struct vnode {
	unsigned refcnt; /* vfs_lock */
	enum vtype type;
	uint64_t ino;
	uint32_t rdev; /* VCHR/VBLK: the device number */
	const struct vnode_ops *ops;
	void *priv; /* the file system's: ext2 inode, devfs node, ... */
	struct mount *mnt; /* NULL for pipes */
	struct mount *covered_by; /* vfs_lock */
	struct sleeplock lock;
	struct vnode *hnext; /* vnode cache chain; vfs_lock */
	bool cached;
	/* A new value, unique among all vnodes ever, after every change of
	 * a regular file's data (write, truncate): caches of file pages key
	 * on (vnode, data_gen), so they never return stale data, even when a
	 * freed vnode's memory is reused. vfs_lock. */
	uint64_t data_gen;
};

struct vnode *vnode_ref(struct vnode *vn);
/* The VFS calls this after writing or truncating vn's data. */
void vnode_data_changed(struct vnode *vn);
void vnode_put(struct vnode *vn); /* NULL is fine */
/* A new vnode with one reference (not yet in the cache). */
struct vnode *vnode_alloc(struct mount *mnt, uint64_t ino, enum vtype type,
			  const struct vnode_ops *ops, void *priv);
/* The cached vnode of (mnt, ino), referenced, or NULL. */
struct vnode *vcache_find(struct mount *mnt, uint64_t ino);
/* Put vn (from vnode_alloc) in the cache. If another thread cached (mnt,
 * ino) first, that one is returned (referenced) and vn is released. */
struct vnode *vcache_add(struct vnode *vn);
enum vtype vfs_mode_to_vtype(uint32_t mode);

/* A file-system type. mount sets m->root (a reference) and m->priv; after
 * unmount nothing of the mount is referenced any more. */
struct vstatfs {
	uint32_t bsize;
	uint64_t blocks, bfree, bavail, files, ffree;
	uint32_t namelen;
};
struct fstype {
	const char *name;
	bool needs_dev; /* mount takes a struct blockdev */
	bool single; /* at most one mount at a time */
	int (*mount)(struct mount *m, struct blockdev *dev, unsigned flags);
	int (*unmount)(struct mount *m);
	int (*sync)(struct mount *m); /* optional */
	int (*statfs)(struct mount *m, struct vstatfs *st); /* optional */
	struct fstype *next; /* the VFS's list */
};
int vfs_register_fstype(struct fstype *t);

struct mount {
	const struct fstype *type;
	char source[24];
	unsigned flags; /* MNT_*; the file system may add MNT_RDONLY */
	uint32_t dev; /* st_dev of its files */
	struct vnode *root; /* a reference */
	struct vnode *covered; /* the directory it hides (a reference); NULL
				  for / */
	struct mount *parent;
	void *priv; /* the file system's */
	struct blockdev *bdev; /* the device, for types that need one */
	unsigned nvnodes; /* vnodes alive; vfs_lock */
	struct mount *next; /* the mount list, in mount order */
};
int vfs_statfs(struct mount *m, struct vstatfs *st);

/* The type a file system registers at boot (vfs_boot.c calls these). */
void vfs_ext2_init(void);
void devfs_init(void);
void procfs_init(void);

#endif
