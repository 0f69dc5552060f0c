/*
 * t_fileio — reading and writing files: read, write, readv, writev,
 * pread64, pwrite64, lseek, open, openat, close and the open flags
 * O_APPEND, O_TRUNC, O_EXCL, O_CREAT, O_CLOEXEC, O_DIRECTORY; holes, a
 * file large enough to need indirect blocks, /dev/null and /dev/zero.
 */
#include "tap.h"

#include <sys/uio.h>

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 10) * 13 + 1);
}

static void test_basic(void)
{
	char buf[64];
	int fd = SYS(open("a", O_RDWR | O_CREAT | O_EXCL, 0644),
		     "open O_CREAT|O_EXCL creates a file");
	IS(write(fd, "hello, world", 12), 12, "write returns the count");
	IS(lseek(fd, 0, SEEK_CUR), 12, "lseek SEEK_CUR is the offset");
	IS(read(fd, buf, sizeof buf), 0, "read at end of file returns 0");
	IS(lseek(fd, 0, SEEK_SET), 0, "lseek SEEK_SET 0");
	memset(buf, 0, sizeof buf);
	IS(read(fd, buf, 5), 5, "read 5 bytes");
	OK(!memcmp(buf, "hello", 5), "read returns what was written");
	IS(read(fd, buf, sizeof buf), 7, "short read up to end of file");
	OK(!memcmp(buf, ", world", 7), "second read continues at the offset");
	IS(lseek(fd, -5, SEEK_END), 7, "lseek SEEK_END -5");
	IS(read(fd, buf, 5), 5, "read after SEEK_END");
	OK(!memcmp(buf, "world", 5), "data at SEEK_END -5");
	ERR(lseek(fd, -100, SEEK_SET), EINVAL, "lseek to a negative offset");
	ERR(lseek(fd, 0, 99), EINVAL, "lseek with a bad whence");
	IS(lseek(fd, 0, SEEK_CUR), 12, "failed lseek leaves the offset");
	SYS(close(fd), "close");
	ERR(close(fd), EBADF, "close twice");

	ERR(open("a", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST,
	    "O_CREAT|O_EXCL on an existing file");
	ERR(open("missing", O_RDONLY), ENOENT, "open a missing file");
	ERR(open("a/b", O_RDONLY), ENOTDIR, "open through a regular file");
	ERR(open("a", O_RDONLY | O_DIRECTORY), ENOTDIR,
	    "O_DIRECTORY on a regular file");
	ERR(open(".", O_WRONLY), EISDIR, "open a directory for writing");

	fd = SYS(open("a", O_RDONLY), "open O_RDONLY");
	ERR(write(fd, "x", 1), EBADF, "write to an O_RDONLY fd");
	close(fd);
	fd = SYS(open("a", O_WRONLY), "open O_WRONLY");
	ERR(read(fd, buf, 1), EBADF, "read from an O_WRONLY fd");
	close(fd);
}

static void test_flags(void)
{
	char buf[64];
	struct stat st;
	int fd = SYS(open("a", O_WRONLY | O_TRUNC), "open O_TRUNC");
	SYS(fstat(fd, &st), "fstat after O_TRUNC");
	IS(st.st_size, 0, "O_TRUNC empties the file");
	IS(write(fd, "0123456789", 10), 10, "write 10 bytes");
	close(fd);

	fd = SYS(open("a", O_WRONLY | O_APPEND), "open O_APPEND");
	IS(lseek(fd, 0, SEEK_SET), 0, "lseek to 0 on O_APPEND fd");
	IS(write(fd, "ab", 2), 2, "write with O_APPEND");
	IS(lseek(fd, 0, SEEK_CUR), 12,
	   "O_APPEND write moves the offset to the end");
	close(fd);
	fd = open("a", O_RDONLY);
	memset(buf, 0, sizeof buf);
	IS(read(fd, buf, sizeof buf), 12, "file holds both writes");
	OK(!memcmp(buf, "0123456789ab", 12), "O_APPEND wrote at the end");
	close(fd);

	fd = SYS(open("a", O_RDONLY | O_CLOEXEC), "open O_CLOEXEC");
	IS(fcntl(fd, F_GETFD), FD_CLOEXEC, "O_CLOEXEC sets FD_CLOEXEC");
	close(fd);
	fd = open("a", O_RDONLY);
	IS(fcntl(fd, F_GETFD), 0, "without O_CLOEXEC FD_CLOEXEC is clear");
	IS(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY, "F_GETFL access mode");
	close(fd);

	/* The lowest free descriptor is the one open returns. */
	int a = open("a", O_RDONLY), b = open("a", O_RDONLY);
	close(a);
	IS(open("a", O_RDONLY), a, "open reuses the lowest free fd");
	close(a);
	close(b);
}

static void test_at(void)
{
	char buf[16] = {0};
	SYS(mkdir("d", 0755), "mkdir d");
	int dfd = SYS(open("d", O_RDONLY | O_DIRECTORY), "open a directory");
	int fd = SYS(openat(dfd, "f", O_RDWR | O_CREAT, 0644),
		     "openat relative to a directory fd");
	IS(write(fd, "xyz", 3), 3, "write through openat fd");
	close(fd);
	fd = SYS(open("d/f", O_RDONLY), "the file is where openat put it");
	IS(read(fd, buf, sizeof buf), 3, "read it back");
	close(fd);
	fd = SYS(openat(AT_FDCWD, "d/f", O_RDONLY), "openat AT_FDCWD");
	close(fd);
	fd = open("a", O_RDONLY);
	ERR(openat(fd, "f", O_RDONLY), ENOTDIR,
	    "openat with a regular file as dirfd");
	close(fd);
	ERR(openat(9999, "f", O_RDONLY), EBADF, "openat with a bad dirfd");
	fd = SYS(openat(dfd, "/dev/null", O_RDONLY),
		 "openat ignores dirfd for an absolute path");
	close(fd);
	close(dfd);
	unlink("d/f");
	rmdir("d");
}

static void test_vectors(void)
{
	char a[4], b[6], c[8];
	int fd = open("v", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iovec w[3] = {
		{"abc", 3}, {(void *)"", 0}, {"defghijklmnop", 13}};
	IS(writev(fd, w, 3), 16, "writev three vectors (one empty)");
	IS(lseek(fd, 0, SEEK_SET), 0, "rewind");
	struct iovec r[3] = {{a, 4}, {b, 6}, {c, 8}};
	IS(readv(fd, r, 3), 16, "readv fills vectors up to end of file");
	OK(!memcmp(a, "abcd", 4) && !memcmp(b, "efghij", 6) &&
		   !memcmp(c, "klmnop", 6),
	   "readv scatters in order");
	IS(readv(fd, r, 3), 0, "readv at end of file returns 0");

	IS(pwrite(fd, "XY", 2, 3), 2, "pwrite64 at offset 3");
	IS(lseek(fd, 0, SEEK_CUR), 16, "pwrite64 leaves the offset");
	memset(a, 0, sizeof a);
	IS(pread(fd, a, 4, 2), 4, "pread64 at offset 2");
	OK(!memcmp(a, "cXYf", 4), "pread64 sees pwrite64's bytes");
	IS(lseek(fd, 0, SEEK_CUR), 16, "pread64 leaves the offset");
	IS(pread(fd, a, 4, 100), 0, "pread64 beyond end of file returns 0");
	ERR(pread(fd, a, 4, -1), EINVAL, "pread64 at a negative offset");
	close(fd);
	unlink("v");

	int p[2];
	pipe(p);
	ERR(pread(p[0], a, 1, 0), ESPIPE, "pread64 on a pipe");
	ERR(lseek(p[0], 0, SEEK_SET), ESPIPE, "lseek on a pipe");
	close(p[0]);
	close(p[1]);
}

/* 1 MiB written in odd-sized chunks, read back in other sizes; a hole. */
static void test_large(void)
{
	enum { SIZE = 1 << 20 };
	static unsigned char buf[SIZE];
	for (size_t i = 0; i < SIZE; i++)
		buf[i] = pattern(i);
	int fd = open("big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	size_t off = 0, chunk = 1000;
	int bad = 0;
	while (off < SIZE) {
		size_t n = SIZE - off < chunk ? SIZE - off : chunk;
		if (write(fd, buf + off, n) != (ssize_t)n)
			bad++;
		off += n;
		chunk = chunk * 3 % 20011 + 1;
	}
	IS(bad, 0, "write 1 MiB in odd-sized chunks");
	struct stat st;
	fstat(fd, &st);
	IS(st.st_size, SIZE, "file size is 1 MiB");
	memset(buf, 0, SIZE);
	lseek(fd, 0, SEEK_SET);
	off = 0;
	while (off < SIZE) {
		ssize_t n = read(fd, buf + off, 65536 - 17);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	IS(off, SIZE, "read 1 MiB back");
	size_t wrong = 0;
	for (size_t i = 0; i < SIZE; i++)
		wrong += buf[i] != pattern(i);
	IS(wrong, 0, "every byte read back matches");

	/* A hole: writing past the end leaves zeros between. */
	IS(pwrite(fd, "end", 3, 4 * SIZE), 3, "pwrite64 at 4 MiB");
	fstat(fd, &st);
	IS(st.st_size, 4 * SIZE + 3, "size after writing past the end");
	memset(buf, 0xff, 8192);
	IS(pread(fd, buf, 8192, 2 * SIZE), 8192, "read inside the hole");
	wrong = 0;
	for (size_t i = 0; i < 8192; i++)
		wrong += buf[i] != 0;
	IS(wrong, 0, "a hole reads as zeros");
	close(fd);
	unlink("big");
}

static void test_devices(void)
{
	char buf[32];
	int fd = SYS(open("/dev/null", O_RDWR), "open /dev/null");
	IS(write(fd, "abc", 3), 3, "write to /dev/null");
	IS(read(fd, buf, sizeof buf), 0, "read from /dev/null is end of file");
	close(fd);
	fd = SYS(open("/dev/zero", O_RDONLY), "open /dev/zero");
	memset(buf, 1, sizeof buf);
	IS(read(fd, buf, sizeof buf), (long)sizeof buf, "read /dev/zero");
	int nz = 0;
	for (size_t i = 0; i < sizeof buf; i++)
		nz += buf[i] != 0;
	IS(nz, 0, "/dev/zero gives zeros");
	close(fd);
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_fileio");
	test_basic();
	test_flags();
	test_at();
	test_vectors();
	test_large();
	test_devices();
	unlink("a");
	return tap_done();
}
