/*
 * fscalls — the file, directory and descriptor system calls of
 * kern/sys_fs.c, sys_path.c and sys_poll.c (children only for waits):
 * I/O and its vector and positional forms, large transfers, open flags,
 * stat/statx, getdents64, access, links, renames, modes, owners, sizes,
 * times, statfs, the cwd, umask, dup*, pipes, fcntl, ioctl, poll, ppoll,
 * select and pselect6, with their error paths (raw system calls where
 * musl would check or translate first); waits woken by another process,
 * interrupted by a signal (EINTR), and SIGPIPE. TAP output (tests/qemu/
 * test_fs_calls.py reads it).
 */
#include "tap.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/statfs.h>
#include <sys/uio.h>

#define BAD ((void *)0x10) /* an address nothing is mapped at */

static long raw(long nr, long a, long b, long c, long d, long e)
{
	long r = syscall(nr, a, b, c, d, e, 0);
	return r;
}

static unsigned char pat(size_t i)
{
	return (unsigned char)(i * 31 + (i >> 12) + 7);
}

static void test_io(void)
{
	char buf[64];
	int fd = SYS(open("f", O_RDWR | O_CREAT | O_EXCL, 0644), "open creat");
	IS(write(fd, "0123456789", 10), 10, "write 10");
	IS(lseek(fd, 0, SEEK_SET), 0, "lseek to 0");
	IS(read(fd, buf, 4), 4, "read 4");
	OK(!memcmp(buf, "0123", 4), "read data");
	IS(pread(fd, buf, 3, 7), 3, "pread at 7");
	OK(!memcmp(buf, "789", 3), "pread data");
	IS(lseek(fd, 0, SEEK_CUR), 4, "pread leaves the offset");
	IS(pwrite(fd, "ab", 2, 12), 2, "pwrite past the end");
	IS(lseek(fd, 0, SEEK_END), 14, "size grew to 14");
	IS(pread(fd, buf, 4, 9), 4, "pread over the hole");
	OK(buf[0] == '9' && buf[1] == 0 && buf[2] == 0 && buf[3] == 'a',
	   "hole reads zeros");
	struct iovec iov[3] = {{"xy", 2}, {"", 0}, {"zw", 2}};
	IS(lseek(fd, 0, SEEK_SET), 0, "rewind");
	IS(writev(fd, iov, 3), 4, "writev 3 vectors (one empty)");
	char a[3] = {0}, b[5] = {0};
	struct iovec riov[2] = {{a, 2}, {b, 4}};
	IS(lseek(fd, 0, SEEK_SET), 0, "rewind again");
	IS(readv(fd, riov, 2), 6, "readv");
	OK(!memcmp(a, "xy", 2) && !memcmp(b, "zw45", 4), "readv scatters");
	IS(lseek(fd, 3, SEEK_DATA), 3, "SEEK_DATA");
	IS(lseek(fd, 3, SEEK_HOLE), 14, "SEEK_HOLE is the end");
	ERR(lseek(fd, 99, SEEK_DATA), ENXIO, "SEEK_DATA past the end");

	ERR(read(99, buf, 1), EBADF, "read bad fd");
	ERR(read(-1, buf, 1), EBADF, "read fd -1");
	ERR(write(fd, BAD, 5), EFAULT, "write from a bad pointer");
	ERR(read(fd, BAD, 5), EFAULT, "read into a bad pointer");
	ERR(lseek(fd, 0, 17), EINVAL, "lseek bad whence");
	ERR(lseek(fd, -100, SEEK_SET), EINVAL, "lseek negative");
	ERR(pread(fd, buf, 1, -1), EINVAL, "pread negative offset");
	ERR(readv(fd, riov, 1025), EINVAL, "readv 1025 vectors");
	ERR(readv(fd, BAD, 1), EFAULT, "readv bad vector");
	struct iovec badv[2] = {{BAD, 1}, {a, 1}};
	ERR(writev(fd, badv, 2), EFAULT, "writev bad first element");
	badv[0].iov_base = a;
	badv[1].iov_base = BAD;
	IS(writev(fd, badv, 2), 1, "writev stops at a bad element");
	ERR(write(fd, (void *)0x800000000000, 1), EFAULT,
	    "write from kernel space");
	ERR(read(fd, buf, -1), EFAULT, "read with a huge length");
	/* A buffer running into unmapped memory gets what fits (as Linux). */
	char *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(pg + 4096, 4096);
	IS(pread(fd, pg + 4096 - 3, 100, 0), 3, "read up to a hole");
	OK(!memcmp(pg + 4093, "xyz", 3), "read data before the hole");
	IS(pwrite(fd, pg + 4096 - 2, 100, 0), 2, "write up to a hole");
	munmap(pg, 4096);
	IS(readv(fd, riov, 0), 0, "readv of no vectors");
	close(fd);

	int ro = SYS(open("f", O_RDONLY), "open read-only");
	ERR(write(ro, "x", 1), EBADF, "write to a read-only fd");
	ERR(ftruncate(ro, 0), EINVAL, "ftruncate a read-only fd");
	close(ro);
	int wo = SYS(open("f", O_WRONLY | O_APPEND), "open O_APPEND");
	ERR(read(wo, buf, 1), EBADF, "read a write-only fd");
	IS(write(wo, "!", 1), 1, "append");
	IS(lseek(wo, 0, SEEK_CUR), 16, "O_APPEND writes at the end");
	close(wo);

	ERR(open("nope/x", O_RDONLY), ENOENT, "open missing");
	ERR(open("f", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST, "O_EXCL");
	ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY file");
	ERR(open(".", O_WRONLY), EISDIR, "open a directory to write");
	ERR(open("", O_RDONLY), ENOENT, "open empty path");
	ERR(open(BAD, O_RDONLY), EFAULT, "open bad path pointer");
	/* (musl's O_ACCMODE holds O_PATH too.) */
	ERR(raw(SYS_open, (long)"f", 3, 0, 0, 0), EINVAL, "open access mode 3");
	ERR(close(99), EBADF, "close bad fd");

	/* Large transfers go through in chunks. */
	size_t n = 300 * 1024 + 123;
	unsigned char *big = malloc(n), *back = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = pat(i);
	fd = SYS(open("big", O_RDWR | O_CREAT | O_TRUNC, 0600), "open big");
	IS(write(fd, big, n), (long)n, "write 300 KiB in one call");
	IS(lseek(fd, 0, SEEK_SET), 0, "rewind big");
	memset(back, 0, n);
	IS(read(fd, back, n + 1000), (long)n, "read it in one call (short)");
	OK(!memcmp(big, back, n), "300 KiB came back intact");
	memset(back, 0, n);
	IS(pread(fd, back, n, 0), (long)n, "pread it in one call");
	OK(!memcmp(big, back, n), "pread data intact");
	IS(read(fd, back, 10), 0, "read at end of file");
	close(fd);
	free(big);
	free(back);
}

static void test_stat(void)
{
	struct stat st, st2;
	SYS(write_file("s", "hello", 5), "make s");
	SYS(symlink("s", "ln"), "symlink");
	IS(raw(SYS_stat, (long)"ln", (long)&st, 0, 0, 0), 0, "stat follows");
	OK(S_ISREG(st.st_mode) && st.st_size == 5, "stat: regular, 5 bytes");
	IS(raw(SYS_lstat, (long)"ln", (long)&st2, 0, 0, 0), 0, "lstat");
	OK(S_ISLNK(st2.st_mode) && st2.st_size == 1, "lstat: the link");
	IS(raw(SYS_newfstatat, AT_FDCWD, (long)"ln", (long)&st2,
	       AT_SYMLINK_NOFOLLOW, 0),
	   0, "newfstatat NOFOLLOW");
	OK(S_ISLNK(st2.st_mode), "newfstatat: the link");
	int fd = open("s", O_RDONLY);
	IS(raw(SYS_fstat, fd, (long)&st2, 0, 0, 0), 0, "fstat");
	OK(st2.st_ino == st.st_ino, "fstat: same inode");
	IS(raw(SYS_newfstatat, fd, (long)"", (long)&st2, AT_EMPTY_PATH, 0), 0,
	   "newfstatat AT_EMPTY_PATH");
	OK(st2.st_ino == st.st_ino, "AT_EMPTY_PATH: the fd's file");
	ERR(raw(SYS_newfstatat, fd, (long)"", (long)&st2, 0, 0), ENOENT,
	    "empty path without AT_EMPTY_PATH");
	ERR(raw(SYS_newfstatat, fd, (long)"x", (long)&st2, 0, 0), ENOTDIR,
	    "relative path from a file fd");
	ERR(raw(SYS_newfstatat, 99, (long)"x", (long)&st2, 0, 0), EBADF,
	    "relative path from a bad fd");
	IS(raw(SYS_newfstatat, 99, (long)"/", (long)&st2, 0, 0), 0,
	   "absolute path ignores the dirfd");
	ERR(raw(SYS_newfstatat, AT_FDCWD, (long)"s", (long)&st2, 0x8000, 0),
	    EINVAL, "newfstatat bad flags");
	ERR(raw(SYS_stat, (long)"s", (long)BAD, 0, 0, 0), EFAULT,
	    "stat into a bad pointer");
	ERR(raw(SYS_fstat, 99, (long)&st2, 0, 0, 0), EBADF, "fstat bad fd");
	ERR(stat("s/", &st2), ENOTDIR, "trailing slash on a file");

	unsigned char sx[256];
	memset(sx, 0xff, sizeof sx);
	long r = raw(SYS_statx, AT_FDCWD, (long)"s", 0, 0x7ff, (long)sx);
	IS(r, 0, "statx");
	unsigned mask, nlink;
	unsigned short mode;
	unsigned long long ino, size;
	memcpy(&mask, sx, 4);
	memcpy(&nlink, sx + 16, 4);
	memcpy(&mode, sx + 28, 2);
	memcpy(&ino, sx + 32, 8);
	memcpy(&size, sx + 40, 8);
	OK(r == 0 && (mask & 0x7ff) == 0x7ff && S_ISREG(mode) &&
		   ino == st.st_ino && size == 5 && nlink == 1,
	   "statx fields match stat");
	ERR(raw(SYS_statx, AT_FDCWD, (long)"s", 0x6000, 0x7ff, (long)sx),
	    EINVAL, "statx FORCE_SYNC|DONT_SYNC");
	close(fd);

	/* access */
	IS(access("s", F_OK), 0, "access F_OK");
	IS(access("s", R_OK | W_OK), 0, "access R_OK|W_OK");
	ERR(access("s", X_OK), EACCES, "access X_OK without x bits");
	IS(access(".", X_OK), 0, "access X_OK a directory");
	ERR(access("s", 8), EINVAL, "access bad mode");
	ERR(access("zz", F_OK), ENOENT, "access missing");
	int d = open(".", O_RDONLY | O_DIRECTORY);
	IS(faccessat(d, "s", R_OK, 0), 0, "faccessat from a dirfd");
	ERR(raw(439 /* faccessat2 */, d, (long)"s", R_OK, 0x8000, 0), EINVAL,
	    "faccessat2 bad flags");
	IS(raw(439, d, (long)"ln", F_OK, AT_SYMLINK_NOFOLLOW, 0), 0,
	   "faccessat2 NOFOLLOW");
	close(d);

	/* readlink */
	char buf[16];
	IS(readlink("ln", buf, sizeof buf), 1, "readlink");
	OK(buf[0] == 's', "readlink target");
	ERR(readlink("s", buf, sizeof buf), EINVAL, "readlink a file");
	ERR(raw(SYS_readlink, (long)"ln", (long)buf, 0, 0, 0), EINVAL,
	    "readlink size 0");
	IS(readlinkat(AT_FDCWD, "ln", buf, 1), 1, "readlinkat truncates");
	ERR(readlink("ln", BAD, 4), EFAULT, "readlink bad buffer");
}

static void test_dirs(void)
{
	SYS(mkdir("d", 0755), "mkdir");
	ERR(mkdir("d", 0755), EEXIST, "mkdir existing");
	ERR(mkdir("nope/d", 0755), ENOENT, "mkdir missing parent");
	int d = SYS(open("d", O_RDONLY | O_DIRECTORY), "open directory");
	SYS(mkdirat(d, "sub", 0700), "mkdirat");
	int fd = SYS(openat(d, "x", O_CREAT | O_WRONLY, 0644), "openat creat");
	close(fd);
	struct stat st;
	IS(stat("d/x", &st), 0, "openat created d/x");
	ERR(rmdir("d"), ENOTEMPTY, "rmdir non-empty");
	ERR(unlink("d"), EISDIR, "unlink a directory");
	ERR(rmdir("d/x"), ENOTDIR, "rmdir a file");
	ERR(unlinkat(d, "x", 0x1), EINVAL, "unlinkat bad flags");

	/* getdents64 */
	char dbuf[1024];
	long n = raw(SYS_getdents64, d, (long)dbuf, sizeof dbuf, 0, 0);
	int seen = 0;
	for (long off = 0; n > 0 && off < n;) {
		unsigned short reclen;
		memcpy(&reclen, dbuf + off + 16, 2);
		const char *name = dbuf + off + 19;
		if (!strcmp(name, "x") || !strcmp(name, "sub") ||
		    !strcmp(name, ".") || !strcmp(name, ".."))
			seen++;
		if (!reclen)
			break;
		off += reclen;
	}
	IS(seen, 4, "getdents64 lists . .. sub x");
	IS(raw(SYS_getdents64, d, (long)dbuf, sizeof dbuf, 0, 0), 0,
	   "getdents64 at the end");
	lseek(d, 0, SEEK_SET);
	ERR(raw(SYS_getdents64, d, (long)dbuf, 8, 0, 0), EINVAL,
	    "getdents64 buffer too small");
	ERR(raw(SYS_getdents64, d, (long)BAD, 1024, 0, 0), EFAULT,
	    "getdents64 bad buffer");
	fd = open("d/x", O_RDONLY);
	ERR(raw(SYS_getdents64, fd, (long)dbuf, sizeof dbuf, 0, 0), ENOTDIR,
	    "getdents64 on a file");
	ERR(mkdirat(fd, "y", 0755), ENOTDIR, "mkdirat from a file fd");
	close(fd);

	/* rename and links */
	SYS(renameat(d, "x", d, "y"), "renameat");
	ERR(stat("d/x", &st), ENOENT, "old name gone");
	SYS(write_file("d/z", "z", 1), "make d/z");
	ERR(raw(SYS_renameat2, d, (long)"y", d, (long)"z", 1), EEXIST,
	    "renameat2 NOREPLACE onto an existing name");
	IS(raw(SYS_renameat2, d, (long)"y", d, (long)"w", 1), 0,
	   "renameat2 NOREPLACE to a new name");
	ERR(raw(SYS_renameat2, d, (long)"w", d, (long)"v", 2), EINVAL,
	    "renameat2 RENAME_EXCHANGE refused");
	SYS(rename("d/w", "d/z"), "rename over an existing file");
	SYS(link("d/z", "d/hard"), "link");
	IS(stat("d/z", &st), 0, "stat after link");
	IS(st.st_nlink, 2, "two links");
	ERR(link("d", "d2"), EPERM, "link a directory");
	ERR(link("d/z", "d/hard"), EEXIST, "link onto an existing name");
	SYS(symlinkat("z", d, "sl"), "symlinkat");
	SYS(linkat(d, "sl", d, "viaf", AT_SYMLINK_FOLLOW),
	    "linkat AT_SYMLINK_FOLLOW");
	IS(lstat("d/viaf", &st), 0, "lstat the followed link");
	OK(S_ISREG(st.st_mode) && st.st_nlink == 3, "linked the target");
	SYS(linkat(d, "sl", d, "lnk2", 0), "linkat without follow");
	IS(lstat("d/lnk2", &st), 0, "lstat the unfollowed link");
	OK(S_ISLNK(st.st_mode), "linked the symlink itself");
	ERR(linkat(d, "z", d, "q", 0x1), EINVAL, "linkat bad flags");
	ERR(symlink("", "d/empty"), ENOENT, "symlink with an empty target");

	/* unlinkat AT_REMOVEDIR */
	SYS(unlinkat(d, "sub", AT_REMOVEDIR), "unlinkat AT_REMOVEDIR");
	ERR(unlinkat(d, "z", AT_REMOVEDIR), ENOTDIR,
	    "unlinkat AT_REMOVEDIR on a file");
	const char *names[] = {"z", "hard", "sl", "viaf", "lnk2"};
	for (int i = 0; i < 5; i++)
		unlinkat(d, names[i], 0);
	close(d);
	SYS(rmdir("d"), "rmdir the emptied directory");
}

static void test_attrs(void)
{
	struct stat st;
	SYS(write_file("m", "0123456789", 10), "make m");
	SYS(chmod("m", 0600), "chmod");
	stat("m", &st);
	IS(st.st_mode & 07777, 0600, "chmod set 0600");
	int fd = open("m", O_RDWR);
	SYS(fchmod(fd, 0640), "fchmod");
	fstat(fd, &st);
	IS(st.st_mode & 07777, 0640, "fchmod set 0640");
	SYS(fchmodat(AT_FDCWD, "m", 0604, 0), "fchmodat");
	stat("m", &st);
	IS(st.st_mode & 07777, 0604, "fchmodat set 0604");
	ERR(fchmod(99, 0600), EBADF, "fchmod bad fd");

	SYS(chown("m", 12, 34), "chown");
	stat("m", &st);
	OK(st.st_uid == 12 && st.st_gid == 34, "chown set 12:34");
	SYS(fchown(fd, -1, 56), "fchown gid only");
	fstat(fd, &st);
	OK(st.st_uid == 12 && st.st_gid == 56, "fchown kept uid");
	SYS(lchown("m", 0, 0), "lchown");
	ERR(fchownat(AT_FDCWD, "m", 0, 0, 0x8000), EINVAL,
	    "fchownat bad flags");

	SYS(truncate("m", 4), "truncate");
	stat("m", &st);
	IS(st.st_size, 4, "truncate to 4");
	SYS(ftruncate(fd, 8192), "ftruncate grows");
	fstat(fd, &st);
	IS(st.st_size, 8192, "ftruncate to 8192");
	ERR(ftruncate(fd, -1), EINVAL, "ftruncate negative");
	ERR(truncate("m", -1), EINVAL, "truncate negative");
	ERR(truncate(".", 0), EISDIR, "truncate a directory");
	SYS(fsync(fd), "fsync");
	SYS(fdatasync(fd), "fdatasync");
	sync();
	OK(1, "sync returned");

	struct timespec ts[2] = {{1000000000, 0}, {1200000000, 5}};
	SYS(utimensat(AT_FDCWD, "m", ts, 0), "utimensat");
	stat("m", &st);
	OK(st.st_atime == 1000000000 && st.st_mtime == 1200000000,
	   "utimensat set both times");
	struct timespec om[2] = {{5, UTIME_OMIT}, {1300000000, 0}};
	SYS(utimensat(AT_FDCWD, "m", om, 0), "utimensat UTIME_OMIT");
	stat("m", &st);
	OK(st.st_atime == 1000000000 && st.st_mtime == 1300000000,
	   "UTIME_OMIT kept atime");
	SYS(futimens(fd, NULL), "futimens now");
	fstat(fd, &st);
	OK(st.st_mtime > 1300000000, "NULL times: now");
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	ERR(utimensat(AT_FDCWD, "m", bad, 0), EINVAL, "utimensat bad nsec");
	ERR(utimensat(AT_FDCWD, "m", NULL, 0x8000), EINVAL,
	    "utimensat bad flags");
	close(fd);

	/* umask */
	mode_t old = umask(027);
	IS(umask(027), 027, "umask returns the previous mask");
	fd = open("um", O_CREAT | O_WRONLY, 0666);
	fstat(fd, &st);
	IS(st.st_mode & 0777, 0640, "umask applies to open");
	close(fd);
	mkdir("umd", 0777);
	stat("umd", &st);
	IS(st.st_mode & 0777, 0750, "umask applies to mkdir");
	rmdir("umd");
	umask(old);

	struct statfs sf;
	SYS(statfs(".", &sf), "statfs");
	OK(sf.f_bsize > 0 && sf.f_blocks > 0, "statfs has sizes");
	IS(sf.f_type, 0xef53, "statfs: ext2");
	fd = open("m", O_RDONLY);
	SYS(fstatfs(fd, &sf), "fstatfs");
	IS(sf.f_type, 0xef53, "fstatfs: ext2");
	close(fd);
	if (statfs("/proc", &sf) == 0)
		IS(sf.f_type, 0x9fa0, "statfs /proc: procfs");
	ERR(statfs("zz", &sf), ENOENT, "statfs missing");
	ERR(fstatfs(99, &sf), EBADF, "fstatfs bad fd");
}

static void test_cwd(void)
{
	char here[PATH_MAX], buf[PATH_MAX];
	OK(getcwd(here, sizeof here) != NULL, "getcwd");
	IS(raw(SYS_getcwd, (long)buf, sizeof buf, 0, 0, 0),
	   (long)strlen(here) + 1, "getcwd returns the length with NUL");
	ERR(raw(SYS_getcwd, (long)buf, 2, 0, 0, 0), ERANGE,
	    "getcwd small buffer");
	ERR(raw(SYS_getcwd, (long)BAD, sizeof buf, 0, 0, 0), EFAULT,
	    "getcwd bad buffer");
	mkdir("c", 0755);
	SYS(chdir("c"), "chdir");
	getcwd(buf, sizeof buf);
	OK(strlen(buf) == strlen(here) + 2 && !strcmp(buf + strlen(here), "/c"),
	   "getcwd after chdir");
	SYS(chdir(".."), "chdir ..");
	write_file("cf", "", 0);
	ERR(chdir("cf"), ENOTDIR, "chdir a file");
	ERR(chdir("zz"), ENOENT, "chdir missing");
	int d = open("c", O_RDONLY | O_DIRECTORY);
	SYS(fchdir(d), "fchdir");
	getcwd(buf, sizeof buf);
	OK(!strcmp(buf + strlen(here), "/c"), "getcwd after fchdir");
	int f = open(here, O_RDONLY);
	SYS(fchdir(f), "fchdir back");
	close(f);
	f = open("cf", O_RDONLY);
	ERR(fchdir(f), ENOTDIR, "fchdir a file");
	close(f);
	close(d);
	rmdir("c");
}

static void test_fds(void)
{
	int fd = open("f", O_RDONLY);
	int d = SYS(dup(fd), "dup");
	OK(d > fd, "dup gives a new fd");
	IS(dup2(fd, 50), 50, "dup2 to 50");
	IS(dup2(fd, 50), 50, "dup2 onto an open fd");
	IS(dup2(50, 50), 50, "dup2 to itself");
	ERR(dup2(77, 77), EBADF, "dup2 closed fd to itself");
	ERR(dup2(fd, 4096), EBADF, "dup2 beyond the table");
	ERR(dup3(fd, fd, 0), EINVAL, "dup3 to itself");
	ERR(raw(SYS_dup3, fd, 51, 1, 0, 0), EINVAL, "dup3 bad flags");
	IS(dup3(fd, 51, O_CLOEXEC), 51, "dup3 O_CLOEXEC");
	IS(fcntl(51, F_GETFD), FD_CLOEXEC, "dup3 set close-on-exec");
	IS(fcntl(50, F_GETFD), 0, "dup2 did not");
	IS(lseek(fd, 3, SEEK_SET), 3, "seek the original");
	IS(lseek(50, 0, SEEK_CUR), 3, "duplicates share the offset");
	ERR(dup(99), EBADF, "dup bad fd");

	IS(fcntl(fd, F_DUPFD, 60), 60, "F_DUPFD from 60");
	IS(fcntl(fd, F_DUPFD_CLOEXEC, 60), 61, "F_DUPFD_CLOEXEC next free");
	IS(fcntl(61, F_GETFD), FD_CLOEXEC, "F_DUPFD_CLOEXEC flag");
	ERR(fcntl(fd, F_DUPFD, 100000), EINVAL, "F_DUPFD beyond the limit");
	IS(fcntl(61, F_SETFD, 0), 0, "F_SETFD 0");
	IS(fcntl(61, F_GETFD), 0, "F_GETFD 0");
	IS(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY, "F_GETFL");
	SYS(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND | O_WRONLY), "F_SETFL");
	IS(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK | O_APPEND),
	   O_RDONLY | O_NONBLOCK | O_APPEND, "F_SETFL changes only its flags");
	ERR(fcntl(fd, 12345), EINVAL, "fcntl bad command");
	ERR(fcntl(99, F_GETFD), EBADF, "fcntl bad fd");
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	IS(fcntl(fd, F_GETLK, &fl), 0, "F_GETLK");
	IS(fl.l_type, F_UNLCK, "F_GETLK: no conflicting lock");
	fl.l_type = F_RDLCK;
	IS(fcntl(fd, F_SETLK, &fl), 0, "F_SETLK read lock");
	fl.l_type = F_WRLCK;
	ERR(fcntl(fd, F_SETLK, &fl), EBADF, "write lock on a read-only fd");
	fl.l_type = 7;
	ERR(fcntl(fd, F_SETLK, &fl), EINVAL, "F_SETLK bad type");

	int on = 0;
	SYS(ioctl(fd, FIONBIO, &on), "FIONBIO off");
	OK(!(fcntl(fd, F_GETFL) & O_NONBLOCK), "FIONBIO cleared O_NONBLOCK");
	SYS(ioctl(fd, FIOCLEX), "FIOCLEX");
	IS(fcntl(fd, F_GETFD), FD_CLOEXEC, "FIOCLEX set close-on-exec");
	SYS(ioctl(fd, FIONCLEX), "FIONCLEX");
	IS(fcntl(fd, F_GETFD), 0, "FIONCLEX cleared it");
	int left = -1;
	SYS(ioctl(fd, FIONREAD, &left), "FIONREAD on a file");
	struct stat st;
	fstat(fd, &st);
	IS(left, st.st_size - 3, "FIONREAD: bytes after the offset");
	struct winsize ws;
	ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY, "tty ioctl on a file");
	ERR(ioctl(99, FIONBIO, &on), EBADF, "ioctl bad fd");
	for (int i = 50; i <= 61; i++)
		close(i);
	close(d);
	close(fd);
	fd = SYS(open("f", O_RDONLY | O_CLOEXEC), "open O_CLOEXEC");
	IS(fcntl(fd, F_GETFD), FD_CLOEXEC, "O_CLOEXEC sets close-on-exec");
	OK(!(fcntl(fd, F_GETFL) & O_CLOEXEC), "F_GETFL hides O_CLOEXEC");
	close(fd);
}

static void test_pipes(void)
{
	int p[2];
	char buf[64];
	SYS(pipe(p), "pipe");
	IS(write(p[1], "abc", 3), 3, "pipe write");
	IS(read(p[0], buf, sizeof buf), 3, "pipe read what is there");
	ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek a pipe");
	ERR(pread(p[0], buf, 1, 0), ESPIPE, "pread a pipe");
	ERR(fsync(p[1]), EINVAL, "fsync a pipe");
	IS(fcntl(p[0], F_GETPIPE_SZ), 65536, "F_GETPIPE_SZ");
	SYS(fcntl(p[0], F_SETFL, O_NONBLOCK), "make the read end non-blocking");
	ERR(read(p[0], buf, 1), EAGAIN, "empty pipe: EAGAIN");
	int left = -1;
	write(p[1], "12345", 5);
	SYS(ioctl(p[0], FIONREAD, &left), "FIONREAD on a pipe");
	IS(left, 5, "FIONREAD: 5 bytes buffered");
	struct iovec iov[2] = {{buf, 2}, {buf + 2, 10}};
	IS(readv(p[0], iov, 2), 5, "readv of a pipe gathers what is there");
	OK(!memcmp(buf, "12345", 5), "readv data");

	/* poll */
	struct pollfd pf[4] = {{p[0], POLLIN, -1},
			       {p[1], POLLOUT, -1},
			       {-5, POLLIN, -1},
			       {99, POLLIN, -1}};
	IS(poll(pf, 4, 0), 2, "poll: write end and bad fd");
	OK(pf[0].revents == 0 && pf[1].revents == POLLOUT &&
		   pf[2].revents == 0 && pf[3].revents == POLLNVAL,
	   "poll revents: none, POLLOUT, ignored, POLLNVAL");
	long long t0 = now_ns();
	IS(poll(pf, 1, 60), 0, "poll an empty pipe times out");
	long long dt = now_ns() - t0;
	OK(dt >= 50000000LL && dt < 2000000000LL, "poll waited ~60 ms");
	write(p[1], "x", 1);
	IS(poll(pf, 1, -1), 1, "poll: data makes it readable");
	IS(pf[0].revents, POLLIN, "POLLIN");
	struct timespec ts = {0, 30000000};
	IS(ppoll(pf, 1, &ts, NULL), 1, "ppoll ready");
	read(p[0], buf, 1);
	/* Raw: musl passes the kernel a copy of the timeout. */
	ts.tv_nsec = 30000000;
	IS(raw(SYS_ppoll, (long)pf, 1, (long)&ts, 0, 8), 0, "ppoll times out");
	OK(ts.tv_sec == 0 && ts.tv_nsec == 0, "ppoll wrote back 0 left");
	uint64_t none = 0;
	ts.tv_nsec = 1000000;
	IS(raw(SYS_ppoll, (long)pf, 1, (long)&ts, (long)&none, 8), 0,
	   "ppoll with a signal mask");
	ts.tv_nsec = -1;
	ERR(ppoll(pf, 1, &ts, NULL), EINVAL, "ppoll bad timespec");
	ERR(raw(SYS_ppoll, (long)pf, 1, 0, (long)&ts, 4), EINVAL,
	    "ppoll bad sigset size");
	ERR(poll(BAD, 1, 0), EFAULT, "poll bad array");
	ERR(raw(SYS_poll, (long)pf, 100000, 0, 0, 0), EINVAL, "poll huge nfds");

	/* select */
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	struct timeval tv = {0, 0};
	IS(select(p[1] + 1, &r, &w, NULL, &tv), 1, "select: writable only");
	OK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w), "select sets");
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_usec = 40000;
	t0 = now_ns();
	IS(raw(SYS_select, p[0] + 1, (long)&r, 0, 0, (long)&tv), 0,
	   "select times out");
	OK(now_ns() - t0 >= 30000000LL, "select waited");
	OK(tv.tv_sec == 0 && tv.tv_usec == 0, "select wrote back 0 left");
	write(p[1], "y", 1);
	FD_SET(p[0], &r);
	IS(select(p[0] + 1, &r, NULL, NULL, NULL), 1, "select readable");
	FD_ZERO(&r);
	FD_SET(77, &r);
	tv.tv_usec = 0;
	ERR(select(78, &r, NULL, NULL, &tv), EBADF, "select closed fd");
	tv.tv_usec = -1;
	FD_ZERO(&r);
	ERR(select(1, &r, NULL, NULL, &tv), EINVAL, "select bad timeval");
	ERR(select(-1, NULL, NULL, NULL, NULL), EINVAL, "select negative n");
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timespec pts = {0, 1000000};
	IS(pselect(p[0] + 1, &r, NULL, NULL, &pts, NULL), 1, "pselect ready");
	read(p[0], buf, 1);

	/* end of file, POLLHUP, EPIPE */
	close(p[1]);
	pf[0].events = POLLIN;
	IS(poll(pf, 1, 0), 1, "poll after the writer closed");
	OK(pf[0].revents & POLLHUP, "POLLHUP");
	IS(read(p[0], buf, 1), 0, "end of file");
	close(p[0]);

	signal(SIGPIPE, SIG_IGN);
	SYS(pipe2(p, O_NONBLOCK | O_CLOEXEC), "pipe2");
	IS(fcntl(p[1], F_GETFD), FD_CLOEXEC, "pipe2 O_CLOEXEC");
	static char big[70000];
	IS(write(p[1], big, sizeof big), 65536, "non-blocking write: a part");
	ERR(write(p[1], big, 1), EAGAIN, "full pipe: EAGAIN");
	pf[0] = (struct pollfd){p[1], POLLOUT, 0};
	IS(poll(pf, 1, 0), 0, "full pipe is not writable");
	close(p[0]);
	IS(poll(pf, 1, 0), 1, "poll the write end after the reader closed");
	OK(pf[0].revents & POLLERR, "POLLERR");
	ERR(write(p[1], "x", 1), EPIPE, "write with no reader: EPIPE");
	close(p[1]);
	ERR(pipe2(p, 0x1), EINVAL, "pipe2 bad flags");
	ERR(raw(SYS_pipe, (long)BAD, 0, 0, 0, 0), EFAULT, "pipe bad pointer");
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A child that sends SIGUSR1 to the parent after ms, then exits. */
static pid_t kill_later(int ms)
{
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		msleep(ms);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	return pid;
}

static int sigpipe_child(void *arg)
{
	(void)arg;
	int p[2];
	signal(SIGPIPE, SIG_DFL);
	if (pipe(p))
		return 1;
	close(p[0]);
	write(p[1], "x", 1);
	return 2; /* not reached: SIGPIPE ends it */
}

/* Waits across processes: wakeups, signals, SIGPIPE. */
static void test_waits(void)
{
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	int p[2];
	char buf[8];
	SYS(pipe(p), "pipe for waits");
	pid_t pid = fork();
	if (pid == 0) {
		msleep(50);
		write(p[1], "w", 1);
		_exit(0);
	}
	struct pollfd pf = {p[0], POLLIN, 0};
	long long t0 = now_ns();
	IS(poll(&pf, 1, 5000), 1, "poll wakes when another process writes");
	OK(now_ns() - t0 < 4000000000LL, "poll woke before its timeout");
	IS(read(p[0], buf, 1), 1, "read the byte");
	IS_EXIT(wait_child(pid, 5000), 0, "writer child");

	pid = fork();
	if (pid == 0) {
		msleep(50);
		write(p[1], "r", 1);
		_exit(0);
	}
	IS(read(p[0], buf, 1), 1, "blocking read wakes on a write");
	wait_child(pid, 5000);

	pid = kill_later(50);
	ERR(read(p[0], buf, 1), EINTR, "blocking pipe read: EINTR on a signal");
	wait_child(pid, 5000);
	pid = kill_later(50);
	ERR(poll(&pf, 1, 5000), EINTR, "poll: EINTR on a signal");
	wait_child(pid, 5000);
	pid = kill_later(50);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ERR(select(p[0] + 1, &r, NULL, NULL, NULL), EINTR,
	    "select: EINTR on a signal");
	wait_child(pid, 5000);
	/* A blocked writer: fill the pipe, then write more. */
	static char fill[65536];
	IS(write(p[1], fill, sizeof fill), (long)sizeof fill, "fill the pipe");
	pid = kill_later(50);
	ERR(write(p[1], "x", 1), EINTR, "blocking pipe write: EINTR");
	wait_child(pid, 5000);
	close(p[0]);
	close(p[1]);
	IS_SIGNALED(in_child(sigpipe_child, NULL, 5000), SIGPIPE,
		    "writing to a pipe without readers raises SIGPIPE");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "fscalls");
	test_io();
	test_stat();
	test_dirs();
	test_attrs();
	test_cwd();
	test_fds();
	test_pipes();
	test_waits();
	return tap_done();
}
