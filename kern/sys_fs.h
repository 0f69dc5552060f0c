/*
 * sys_fs.h — private to the file system calls (kern/sys_fs.c: I/O and
 * descriptors, kern/sys_path.c: calls on names, kern/sys_poll.c: poll and
 * select): the Linux constants they share and their two lookups, a
 * descriptor's file and the directory a `*at` path starts from.
 */
#ifndef KERN_SYS_FS_H
#define KERN_SYS_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/vfs.h"

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_EACCESS 0x200
#define AT_REMOVEDIR 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define AT_NO_AUTOMOUNT 0x800
#define AT_EMPTY_PATH 0x1000
#define AT_STATX_FORCE_SYNC 0x2000
#define AT_STATX_DONT_SYNC 0x4000

#define SIGPIPE 13
#define SIGSET_SIZE 8 /* the kernel's sigset_t: 64 signals */

#ifndef EOPNOTSUPP
#define EOPNOTSUPP 95
#endif

/* The file open on fd (Linux takes fds as unsigned int), borrowed, or
 * NULL. */
struct file *fd_file(uint64_t fd);

/*
 * A `*at` call's path: copied from user memory into *path (kfree it) and
 * the directory it starts from in *at (borrowed: the cwd, or dirfd's
 * directory). dirfd is looked at only for a relative path: -EBADF, or
 * -ENOTDIR if its file is no directory. "" is -ENOENT unless empty_ok
 * (AT_EMPTY_PATH: the caller then acts on dirfd itself).
 */
int path_at(uint64_t dirfd, uintptr_t upath, bool empty_ok, char **path,
	    struct vnode **at);

#endif
