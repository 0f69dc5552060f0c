/*
 * t_dir — the name space: mkdir, mkdirat, rmdir, getdents64, chdir,
 * fchdir, getcwd, rename, renameat, renameat2, link, linkat, symlink,
 * symlinkat, readlink, readlinkat, unlink, unlinkat, chmod, fchmod,
 * fchmodat, chown and friends, truncate, ftruncate, fsync, fdatasync,
 * sync, umask, statfs, fstatfs; an unlinked file stays readable while open.
 */
#include "tap.h"

#include <sys/statfs.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * List directory fd with getdents64 in a buffer of bufsize bytes: count
 * the entries other than . and .., flag which of names[0..n) were seen
 * (bit i) and what type each had. Returns the count or -1.
 */
static int list_dir(int fd, size_t bufsize, const char **names, int n,
		    unsigned *seen, unsigned char *types, int *dots)
{
	char buf[4096];
	int count = 0;
	*seen = 0;
	*dots = 0;
	for (;;) {
		long len = syscall(SYS_getdents64, fd, buf, bufsize);
		if (len < 0)
			return -1;
		if (len == 0)
			return count;
		for (long off = 0; off < len;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			if (d->d_reclen == 0)
				return -1;
			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") ||
			    !strcmp(d->d_name, "..")) {
				(*dots)++;
				continue;
			}
			count++;
			for (int i = 0; i < n; i++)
				if (!strcmp(d->d_name, names[i])) {
					*seen |= 1U << i;
					types[i] = d->d_type;
				}
		}
	}
}

static void test_mkdir(void)
{
	struct stat st;
	SYS(mkdir("d", 0755), "mkdir");
	SYS(stat("d", &st), "stat the new directory");
	OK(S_ISDIR(st.st_mode), "it is a directory");
	ERR(mkdir("d", 0755), EEXIST, "mkdir an existing name");
	ERR(mkdir("nope/x", 0755), ENOENT, "mkdir in a missing directory");
	write_file("file", "x", 1);
	ERR(mkdir("file/x", 0755), ENOTDIR, "mkdir under a regular file");
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	SYS(mkdirat(dfd, "e", 0700), "mkdirat relative to a dirfd");
	SYS(stat("d/e", &st), "mkdirat made d/e");
	IS(st.st_mode & 0777, 0700, "mkdir mode bits");
	SYS(mkdirat(AT_FDCWD, "d2", 0755), "mkdirat AT_FDCWD");
	close(dfd);
	write_file("d/e/f", "x", 1);
	ERR(rmdir("d/e"), ENOTEMPTY, "rmdir a non-empty directory");
	ERR(rmdir("file"), ENOTDIR, "rmdir a regular file");
	ERR(rmdir("missing"), ENOENT, "rmdir a missing name");
	unlink("d/e/f");
	SYS(rmdir("d/e"), "rmdir an empty directory");
	ERR(stat("d/e", &st), ENOENT, "it is gone");
	SYS(rmdir("d2"), "rmdir d2");
	IS(stat("d", &st) == 0 ? st.st_nlink : 0, 2,
	   "nlink of a directory without subdirectories");
	mkdir("d/s", 0755);
	IS(stat("d", &st) == 0 ? st.st_nlink : 0, 3,
	   "a subdirectory adds a link to its parent");
	rmdir("d/s");
}

static void test_getdents(void)
{
	const char *names[] = {"alpha", "beta", "gamma", "sub", "sym"};
	unsigned char types[5] = {0};
	unsigned seen;
	int dots;
	mkdir("ls", 0755);
	write_file("ls/alpha", "a", 1);
	write_file("ls/beta", "b", 1);
	write_file("ls/gamma", "c", 1);
	mkdir("ls/sub", 0755);
	symlink("alpha", "ls/sym");
	int fd = SYS(open("ls", O_RDONLY | O_DIRECTORY), "open a directory");
	IS(list_dir(fd, 4096, names, 5, &seen, types, &dots), 5,
	   "getdents64 lists five entries besides . and ..");
	IS(seen, 0x1f, "every name is listed");
	IS(dots, 2, ". and .. are listed");
	OK(types[0] == DT_REG || types[0] == DT_UNKNOWN, "d_type of a file");
	OK(types[3] == DT_DIR || types[3] == DT_UNKNOWN,
	   "d_type of a directory");
	OK(types[4] == DT_LNK || types[4] == DT_UNKNOWN, "d_type of a symlink");
	IS(syscall(SYS_getdents64, fd, (char[4096]){0}, 4096), 0,
	   "getdents64 at the end returns 0");
	lseek(fd, 0, SEEK_SET);
	IS(list_dir(fd, 4096, names, 5, &seen, types, &dots), 5,
	   "lseek to 0 rewinds a directory");
	char tiny[8];
	lseek(fd, 0, SEEK_SET);
	ERR(syscall(SYS_getdents64, fd, tiny, sizeof tiny), EINVAL,
	    "getdents64 with a buffer too small for one entry");
	close(fd);
	fd = open("ls/alpha", O_RDONLY);
	ERR(syscall(SYS_getdents64, fd, tiny, sizeof tiny), ENOTDIR,
	    "getdents64 on a regular file");
	close(fd);

	/* Many entries read through a small buffer: several calls. */
	char name[32];
	mkdir("many", 0755);
	int made = 0;
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "many/entry-with-long-name-%03d",
			 i);
		made += write_file(name, "", 0) == 0;
	}
	IS(made, 150, "create 150 files");
	fd = open("many", O_RDONLY | O_DIRECTORY);
	IS(list_dir(fd, 200, names, 0, &seen, types, &dots), 150,
	   "getdents64 with a 200-byte buffer lists all 150");
	close(fd);
	int gone = 0;
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "many/entry-with-long-name-%03d",
			 i);
		gone += unlink(name) == 0;
	}
	IS(gone, 150, "unlink 150 files");
	SYS(rmdir("many"), "rmdir the emptied directory");
}

static void test_cwd(void)
{
	char top[PATH_MAX], buf[PATH_MAX];
	struct stat a, b;
	SYS((long)getcwd(top, sizeof top), "getcwd");
	OK(top[0] == '/', "getcwd is absolute");
	stat(".", &a);
	stat(top, &b);
	OK(a.st_ino == b.st_ino && a.st_dev == b.st_dev,
	   "getcwd names the current directory");
	SYS(chdir("d"), "chdir");
	SYS((long)getcwd(buf, sizeof buf), "getcwd after chdir");
	size_t n = strlen(top);
	OK(!strncmp(buf, top, n) && !strcmp(buf + n, "/d"),
	   "getcwd is the old one plus /d");
	write_file("in-d", "", 0);
	SYS(chdir(".."), "chdir ..");
	SYS(stat("d/in-d", &a), "relative paths follow the cwd");
	unlink("d/in-d");
	int fd = open("d", O_RDONLY | O_DIRECTORY);
	SYS(fchdir(fd), "fchdir");
	getcwd(buf, sizeof buf);
	OK(!strcmp(buf + n, "/d"), "fchdir moved the cwd");
	close(fd);
	fd = open(top, O_RDONLY | O_DIRECTORY);
	fchdir(fd);
	close(fd);
	ERR(chdir("file"), ENOTDIR, "chdir to a regular file");
	ERR(chdir("missing"), ENOENT, "chdir to a missing name");
	fd = open("file", O_RDONLY);
	ERR(fchdir(fd), ENOTDIR, "fchdir to a regular file");
	close(fd);
	ERR(fchdir(9999), EBADF, "fchdir a bad fd");
	ERR(syscall(SYS_getcwd, buf, 2), ERANGE, "getcwd with a small buffer");
	SYS(chdir("/"), "chdir /");
	getcwd(buf, sizeof buf);
	OK(!strcmp(buf, "/"), "getcwd at the root is /");
	SYS(chdir(".."), "chdir .. at the root");
	getcwd(buf, sizeof buf);
	OK(!strcmp(buf, "/"), ".. of the root is the root");
	chdir(top);
}

static void test_rename(void)
{
	struct stat st;
	char buf[8] = {0};
	write_file("r1", "one", 3);
	write_file("r2", "two", 3);
	SYS(rename("r1", "r3"), "rename to a new name");
	ERR(stat("r1", &st), ENOENT, "old name is gone");
	SYS(rename("r3", "r2"), "rename over an existing file");
	int fd = open("r2", O_RDONLY);
	read(fd, buf, 3);
	close(fd);
	OK(!strcmp(buf, "one"), "the target now holds the renamed file");
	SYS(rename("r2", "d/r2"), "rename into a subdirectory");
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	SYS(renameat(dfd, "r2", AT_FDCWD, "r4"), "renameat between dirfds");
	SYS(stat("r4", &st), "renameat moved it back");
	close(dfd);
	SYS(rename("r4", "r4"), "rename a name onto itself");
	ERR(rename("missing", "x"), ENOENT, "rename a missing name");
	mkdir("rd", 0755);
	mkdir("rd/in", 0755);
	SYS(rename("rd", "rd2"), "rename a directory");
	SYS(stat("rd2/in", &st), "its contents moved with it");
	ERR(rename("rd2", "rd2/in/x"), EINVAL,
	    "rename a directory into itself");
	ERR(rename("r4", "rd2"), EISDIR, "rename a file over a directory");
	ERR(rename("rd2", "r4"), ENOTDIR, "rename a directory over a file");
	mkdir("rd3", 0755);
	write_file("rd3/x", "", 0);
	ERR2(rename("rd2", "rd3"), ENOTEMPTY, EEXIST,
	     "rename over a non-empty directory");
	unlink("rd3/x");
	SYS(rename("rd2", "rd3"), "rename over an empty directory");
	rmdir("rd3/in");
	rmdir("rd3");
	write_file("r5", "", 0);
	long r = syscall(SYS_renameat2, AT_FDCWD, "r5", AT_FDCWD, "r4",
			 1 /* RENAME_NOREPLACE */);
	if (r == -1 && errno == EINVAL)
		SKIP("file system without RENAME_NOREPLACE",
		     "renameat2 RENAME_NOREPLACE");
	else
		OK(r == -1 && errno == EEXIST,
		   "renameat2 RENAME_NOREPLACE onto an existing name");
	SYS(syscall(SYS_renameat2, AT_FDCWD, "r5", AT_FDCWD, "r6", 0),
	    "renameat2 without flags");
	unlink("r4");
	unlink("r6");
}

static void test_links(void)
{
	struct stat a, b;
	char buf[64];
	write_file("orig", "data", 4);
	SYS(link("orig", "hard"), "link");
	stat("orig", &a);
	stat("hard", &b);
	OK(a.st_ino == b.st_ino, "a hard link shares the inode");
	IS(a.st_nlink, 2, "st_nlink is 2");
	ERR(link("orig", "hard"), EEXIST, "link onto an existing name");
	ERR(link("d", "dlink"), EPERM, "link a directory");
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	SYS(linkat(AT_FDCWD, "orig", dfd, "h2", 0), "linkat");
	stat("orig", &a);
	IS(a.st_nlink, 3, "st_nlink is 3");
	SYS(unlinkat(dfd, "h2", 0), "unlinkat a file");
	SYS(unlink("hard"), "unlink one link");
	stat("orig", &a);
	IS(a.st_nlink, 1, "st_nlink back to 1");
	ERR(unlink("hard"), ENOENT, "unlink twice");
	ERR(unlink("d"), EISDIR, "unlink a directory");

	SYS(symlink("orig", "soft"), "symlink");
	memset(buf, 0, sizeof buf);
	IS(readlink("soft", buf, sizeof buf), 4, "readlink returns the length");
	OK(!strcmp(buf, "orig"), "readlink returns the target");
	IS(readlink("soft", buf, 2), 2, "readlink truncates to the buffer");
	ERR(readlink("orig", buf, sizeof buf), EINVAL,
	    "readlink a regular file");
	ERR(readlink("missing", buf, sizeof buf), ENOENT,
	    "readlink a missing name");
	SYS(symlinkat("../orig", dfd, "up"), "symlinkat");
	memset(buf, 0, sizeof buf);
	IS(readlinkat(dfd, "up", buf, sizeof buf), 7, "readlinkat");
	OK(!strcmp(buf, "../orig"), "readlinkat target");
	int fd = open("d/up", O_RDONLY);
	memset(buf, 0, sizeof buf);
	OK(fd >= 0 && read(fd, buf, sizeof buf) == 4 && !strcmp(buf, "data"),
	   "a relative symlink resolves from its own directory");
	close(fd);
	ERR(symlink("x", "soft"), EEXIST, "symlink onto an existing name");
	symlink("loop1", "loop2");
	symlink("loop2", "loop1");
	ERR(open("loop1", O_RDONLY), ELOOP, "a symlink loop is ELOOP");
	ERR(open("soft", O_RDONLY | O_NOFOLLOW), ELOOP,
	    "O_NOFOLLOW on a symlink");
	mkdir("d/x", 0755);
	ERR(unlinkat(dfd, "x", 0), EISDIR, "unlinkat a directory without flag");
	SYS(unlinkat(dfd, "x", AT_REMOVEDIR), "unlinkat AT_REMOVEDIR");
	SYS(unlinkat(dfd, "up", 0), "unlinkat a symlink");
	close(dfd);
	SYS(unlink("soft"), "unlink a symlink");
	SYS(stat("orig", &a), "its target stays");
	unlink("loop1");
	unlink("loop2");

	/* An unlinked file lives on while open. */
	fd = open("orig", O_RDWR);
	SYS(unlink("orig"), "unlink an open file");
	memset(buf, 0, sizeof buf);
	OK(pread(fd, buf, sizeof buf, 0) == 4 && !strcmp(buf, "data"),
	   "an unlinked open file is still readable");
	IS(write(fd, "more", 4), 4, "and writable");
	fstat(fd, &a);
	IS(a.st_nlink, 0, "its st_nlink is 0");
	close(fd);
}

static void test_attrs(void)
{
	struct stat st;
	write_file("m", "0123456789", 10);
	SYS(chmod("m", 0600), "chmod");
	stat("m", &st);
	IS(st.st_mode & 07777, 0600, "chmod set the bits");
	int fd = open("m", O_RDWR);
	SYS(fchmod(fd, 0640), "fchmod");
	fstat(fd, &st);
	IS(st.st_mode & 07777, 0640, "fchmod set the bits");
	SYS(fchmodat(AT_FDCWD, "m", 0604, 0), "fchmodat");
	stat("m", &st);
	IS(st.st_mode & 07777, 0604, "fchmodat set the bits");
	OK(S_ISREG(st.st_mode), "chmod keeps the file type");
	ERR(chmod("missing", 0644), ENOENT, "chmod a missing name");

	SYS(chown("m", getuid(), getgid()), "chown to our own ids");
	SYS(fchown(fd, -1, -1), "fchown with -1 (no change)");
	symlink("m", "ml");
	SYS(lchown("ml", getuid(), getgid()), "lchown a symlink");
	SYS(fchownat(AT_FDCWD, "m", getuid(), getgid(), 0), "fchownat");
	unlink("ml");

	SYS(truncate("m", 4), "truncate shrinks");
	stat("m", &st);
	IS(st.st_size, 4, "size after truncate");
	SYS(ftruncate(fd, 8192), "ftruncate grows");
	fstat(fd, &st);
	IS(st.st_size, 8192, "size after ftruncate");
	char buf[16];
	memset(buf, 1, sizeof buf);
	IS(pread(fd, buf, 8, 2), 8, "read across the old end");
	OK(!memcmp(buf, "23\0\0\0\0\0\0", 8), "grown part reads as zeros");
	ERR(ftruncate(fd, -1), EINVAL, "ftruncate to a negative size");
	ERR(truncate("d", 0), EISDIR, "truncate a directory");
	SYS(fsync(fd), "fsync");
	SYS(fdatasync(fd), "fdatasync");
	sync();
	OK(1, "sync returns");
	close(fd);
	int ro = open("m", O_RDONLY);
	ERR2(ftruncate(ro, 0), EBADF, EINVAL, "ftruncate a read-only fd");
	close(ro);
	unlink("m");

	mode_t old = umask(027);
	IS(umask(027), 027, "umask returns the previous mask");
	write_file("u", "", 0);
	mkdir("ud", 0777);
	stat("u", &st);
	IS(st.st_mode & 0777, 0640, "umask applies to new files");
	stat("ud", &st);
	IS(st.st_mode & 0777, 0750, "umask applies to new directories");
	umask(old);
	unlink("u");
	rmdir("ud");

	struct statfs sf;
	SYS(statfs(".", &sf), "statfs");
	OK(sf.f_bsize > 0 && sf.f_blocks > 0, "statfs block size and count");
	fd = open(".", O_RDONLY | O_DIRECTORY);
	SYS(fstatfs(fd, &sf), "fstatfs");
	close(fd);
	ERR(statfs("missing", &sf), ENOENT, "statfs a missing name");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_dir");
	umask(022);
	test_mkdir();
	test_getdents();
	test_cwd();
	test_rename();
	test_links();
	test_attrs();
	return tap_done();
}
