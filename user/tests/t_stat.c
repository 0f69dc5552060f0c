/*
 * t_stat — file status: stat, fstat, lstat, newfstatat (AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH, relative to a dirfd), statx (ENOSYS accepted), access,
 * faccessat and faccessat2, utimensat, and the types of special files.
 */
#include "tap.h"

/* struct statx as the kernel lays it out (musl's headers may lack it). */
struct kstatx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct {
		int64_t sec;
		uint32_t nsec;
		int32_t pad;
	} atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare[14];
};
#define KSTATX_BASIC_STATS 0x7ffU
#define KSTATX_SIZE 0x200U

static void test_stat(void)
{
	struct stat st, st2;
	write_file("f", "0123456789", 10);
	SYS(stat("f", &st), "stat a regular file");
	OK(S_ISREG(st.st_mode), "S_ISREG");
	IS(st.st_mode & 07777, 0644 & ~umask(022), "permission bits");
	IS(st.st_size, 10, "st_size");
	IS(st.st_nlink, 1, "st_nlink of a new file");
	OK(st.st_ino != 0, "st_ino is set");
	OK(st.st_blksize > 0, "st_blksize > 0");
	IS(st.st_uid, getuid(), "st_uid is the creator's");
	OK(st.st_mtime > 0, "st_mtime is set");

	int fd = open("f", O_RDONLY);
	SYS(fstat(fd, &st2), "fstat");
	OK(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev,
	   "fstat and stat agree on st_dev/st_ino");
	IS(st2.st_size, 10, "fstat st_size");
	SYS(fstatat(fd, "", &st2, AT_EMPTY_PATH), "newfstatat AT_EMPTY_PATH");
	IS(st2.st_ino, st.st_ino, "AT_EMPTY_PATH stats the fd itself");

	/* musl's stat and lstat use newfstatat: the old calls, raw. */
	SYS(syscall(SYS_stat, "f", &st2), "the stat system call");
	OK(st2.st_ino == st.st_ino && st2.st_size == 10, "agrees with stat");
	SYS(syscall(SYS_fstat, fd, &st2), "the fstat system call");
	close(fd);

	SYS(stat(".", &st), "stat a directory");
	OK(S_ISDIR(st.st_mode), "S_ISDIR");
	OK(st.st_nlink >= 2, "a directory has at least 2 links");

	SYS(symlink("f", "l"), "symlink");
	SYS(lstat("l", &st), "lstat a symlink");
	OK(S_ISLNK(st.st_mode), "lstat gives S_ISLNK");
	IS(st.st_size, 1, "a symlink's size is its target's length");
	SYS(syscall(SYS_lstat, "l", &st2), "the lstat system call");
	OK(S_ISLNK(st2.st_mode), "it does not follow either");
	SYS(stat("l", &st2), "stat through a symlink");
	OK(S_ISREG(st2.st_mode) && st2.st_size == 10,
	   "stat follows the symlink");
	SYS(fstatat(AT_FDCWD, "l", &st2, AT_SYMLINK_NOFOLLOW),
	    "newfstatat AT_SYMLINK_NOFOLLOW");
	OK(S_ISLNK(st2.st_mode), "AT_SYMLINK_NOFOLLOW does not follow");
	SYS(symlink("nowhere", "dangling"), "symlink to nothing");
	ERR(stat("dangling", &st), ENOENT, "stat a dangling symlink");
	SYS(lstat("dangling", &st), "lstat a dangling symlink");

	mkdir("sub", 0755);
	write_file("sub/g", "abc", 3);
	int dfd = open("sub", O_RDONLY | O_DIRECTORY);
	SYS(fstatat(dfd, "g", &st, 0), "newfstatat relative to a dirfd");
	IS(st.st_size, 3, "newfstatat found the file in the directory");
	ERR(fstatat(dfd, "nope", &st, 0), ENOENT,
	    "newfstatat of a missing name");
	ERR(fstatat(9999, "g", &st, 0), EBADF, "newfstatat with a bad dirfd");
	close(dfd);

	ERR(stat("missing", &st), ENOENT, "stat a missing file");
	ERR(stat("", &st), ENOENT, "stat the empty path");
	ERR(stat("f/x", &st), ENOTDIR, "stat through a regular file");
	ERR(fstat(9999, &st), EBADF, "fstat a bad fd");

	SYS(stat("/dev/null", &st), "stat /dev/null");
	OK(S_ISCHR(st.st_mode), "/dev/null is a character device");
	int p[2];
	pipe(p);
	SYS(fstat(p[0], &st), "fstat a pipe");
	OK(S_ISFIFO(st.st_mode), "a pipe is S_ISFIFO");
	close(p[0]);
	close(p[1]);
}

static void test_statx(void)
{
	struct kstatx sx;
	struct stat st;
	memset(&sx, 0, sizeof sx);
	stat("f", &st);
	long r = syscall(SYS_statx, AT_FDCWD, "f", 0, KSTATX_BASIC_STATS, &sx);
	if (r == -1 && errno == ENOSYS) {
		SKIP("statx returned ENOSYS (allowed)", "statx");
		return;
	}
	IS(r, 0, "statx");
	OK((sx.mask & KSTATX_SIZE) != 0, "statx reports the size");
	IS(sx.size, 10, "statx size");
	IS(sx.ino, st.st_ino, "statx ino matches stat");
	OK((sx.mode & S_IFMT) == S_IFREG, "statx mode is a regular file");
	r = syscall(SYS_statx, AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW,
		    KSTATX_BASIC_STATS, &sx);
	OK(r == 0 && (sx.mode & S_IFMT) == S_IFLNK,
	   "statx AT_SYMLINK_NOFOLLOW on a symlink");
	ERR(syscall(SYS_statx, AT_FDCWD, "missing", 0, KSTATX_BASIC_STATS, &sx),
	    ENOENT, "statx of a missing file");
}

static void test_access(void)
{
	SYS(access("f", F_OK), "access F_OK");
	SYS(access("f", R_OK | W_OK), "access R_OK|W_OK on a 0644 file");
	ERR(access("f", X_OK), EACCES, "access X_OK on a file without x bits");
	ERR(access("missing", F_OK), ENOENT, "access a missing file");
	ERR(access("f", 0x80), EINVAL, "access with a bad mode");
	chmod("f", 0755);
	SYS(access("f", X_OK), "access X_OK after chmod 0755");
	chmod("f", 0644);
	SYS(access(".", X_OK), "access X_OK on a directory");
	SYS(faccessat(AT_FDCWD, "f", R_OK, 0), "faccessat AT_FDCWD");
	int dfd = open("sub", O_RDONLY | O_DIRECTORY);
	SYS(syscall(SYS_faccessat, dfd, "g", R_OK), "faccessat with a dirfd");
	ERR(syscall(SYS_faccessat, dfd, "x", R_OK), ENOENT,
	    "faccessat of a missing name");
	long r = syscall(SYS_faccessat2, dfd, "g", R_OK, 0);
	if (r == -1 && errno == ENOSYS)
		SKIP("faccessat2 returned ENOSYS", "faccessat2");
	else
		IS(r, 0, "faccessat2");
	r = syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK,
		    AT_SYMLINK_NOFOLLOW);
	if (r == -1 && errno == ENOSYS)
		SKIP("faccessat2 returned ENOSYS",
		     "faccessat2 AT_SYMLINK_NOFOLLOW");
	else
		IS(r, 0, "faccessat2 AT_SYMLINK_NOFOLLOW on a dangling link");
	close(dfd);
}

static void test_utimens(void)
{
	struct stat st;
	struct timespec ts[2] = {{1000000000, 0}, {1200000000, 0}};
	SYS(utimensat(AT_FDCWD, "f", ts, 0), "utimensat sets times");
	stat("f", &st);
	IS(st.st_atime, 1000000000, "st_atime as set");
	IS(st.st_mtime, 1200000000, "st_mtime as set");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	time_t before = time(NULL);
	SYS(utimensat(AT_FDCWD, "f", ts, 0), "utimensat UTIME_OMIT/UTIME_NOW");
	stat("f", &st);
	IS(st.st_atime, 1000000000, "UTIME_OMIT keeps st_atime");
	OK(st.st_mtime >= before - 1 && st.st_mtime <= time(NULL) + 1,
	   "UTIME_NOW sets st_mtime to now");
	int fd = open("f", O_RDONLY);
	SYS(futimens(fd, NULL), "utimensat on an fd (futimens)");
	close(fd);
	ts[0].tv_nsec = 2000000000;
	ERR(utimensat(AT_FDCWD, "f", ts, 0), EINVAL,
	    "utimensat with a bad tv_nsec");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_stat");
	umask(022);
	test_stat();
	test_statx();
	test_access();
	test_utimens();
	return tap_done();
}
