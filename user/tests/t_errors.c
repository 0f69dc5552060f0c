/*
 * t_errors — bad arguments must fail cleanly, never crash the process or
 * the kernel: EFAULT for pointers that are unmapped, read-only where the
 * kernel must write, or kernel addresses; EBADF for -1, 9999 and closed
 * fds; EINVAL for bad flags and lengths; ENOSYS for unknown numbers. The
 * raw system calls are used so that libc checks nothing first.
 */
#include "tap.h"

#include <sys/mman.h>

#define BAD ((long)1)
#define KERNEL ((long)0xffff800000000000UL)
#define KTEXT ((long)0xffffffff80200000UL)
#define NONCANON ((long)0x0000800000000000UL)

static const char rodata[4096] = "read-only";

/* An address whose page is certainly unmapped. */
static long unmapped(void)
{
	static long a;
	if (!a) {
		void *p = mmap(NULL, 4096, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(p, 4096);
		a = (long)p;
	}
	return a;
}

static void test_efault(void)
{
	int p[2];
	pipe(p);
	write(p[1], "data", 4);
	ERR(syscall(SYS_write, p[1], BAD, 4), EFAULT, "write from (void *)1");
	ERR(syscall(SYS_write, p[1], KERNEL, 4), EFAULT,
	    "write from a kernel address (no kernel memory leaks out)");
	ERR(syscall(SYS_write, p[1], NONCANON, 4), EFAULT,
	    "write from a non-canonical address");
	ERR(syscall(SYS_write, p[1], unmapped(), 4), EFAULT,
	    "write from an unmapped page");
	ERR(syscall(SYS_read, p[0], BAD, 4), EFAULT, "read into (void *)1");
	ERR(syscall(SYS_read, p[0], KTEXT, 4), EFAULT,
	    "read into the kernel's text");
	ERR(syscall(SYS_read, p[0], (long)rodata, 4), EFAULT,
	    "read into read-only memory");
	char buf[8] = {0};
	IS(read(p[0], buf, 8), 4, "the data is still there afterwards");
	struct iovec {
		long base, len;
	} iov[2] = {{(long)buf, 2}, {BAD, 2}};
	write(p[1], "data", 4);
	long r = syscall(SYS_readv, p[0], iov, 2);
	OK((r == -1 && errno == EFAULT) || r == 2,
	   "readv with a bad second buffer: EFAULT or short (%ld)", r);
	read(p[0], buf, 8);
	ERR(syscall(SYS_readv, p[0], BAD, 1), EFAULT, "readv of a bad iovec");
	ERR(syscall(SYS_writev, p[1], KERNEL, 1), EFAULT,
	    "writev of a kernel iovec");
	close(p[0]);
	close(p[1]);

	struct stat st;
	ERR(syscall(SYS_stat, KERNEL, &st), EFAULT,
	    "stat of a kernel-address path");
	ERR(syscall(SYS_stat, ".", KERNEL), EFAULT,
	    "stat into a kernel address");
	ERR(syscall(SYS_stat, ".", (long)rodata), EFAULT,
	    "stat into read-only memory");
	ERR(syscall(SYS_fstat, 0, BAD), EFAULT, "fstat into (void *)1");
	ERR(syscall(SYS_open, BAD, O_RDONLY), EFAULT, "open of a bad path");
	ERR(syscall(SYS_open, unmapped(), O_RDONLY), EFAULT,
	    "open of an unmapped path");
	ERR(syscall(SYS_mkdir, KERNEL, 0755), EFAULT, "mkdir of a bad path");
	ERR(syscall(SYS_unlink, BAD), EFAULT, "unlink of a bad path");
	ERR(syscall(SYS_chdir, NONCANON), EFAULT, "chdir of a bad path");
	ERR(syscall(SYS_getcwd, BAD, 4096), EFAULT, "getcwd into (void *)1");
	symlink("target", "link");
	ERR(syscall(SYS_readlink, "link", BAD, 10), EFAULT,
	    "readlink into a bad buffer");
	unlink("link");

	/* pipe into an unmapped array: no fds leak either. */
	int before = dup(0);
	close(before);
	ERR(syscall(SYS_pipe, unmapped()), EFAULT,
	    "pipe into an unmapped array");
	ERR(syscall(SYS_pipe2, KERNEL, 0), EFAULT,
	    "pipe2 into a kernel address");
	int after = dup(0);
	close(after);
	IS(after, before, "the failed pipes left no fds behind");

	ERR(syscall(SYS_uname, BAD), EFAULT, "uname into (void *)1");
	ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, KERNEL), EFAULT,
	    "clock_gettime into a kernel address");
	ERR(syscall(SYS_gettimeofday, BAD, 0), EFAULT, "gettimeofday bad");
	ERR(syscall(SYS_nanosleep, BAD, 0), EFAULT, "nanosleep of a bad time");
	ERR(syscall(SYS_rt_sigaction, SIGUSR1, BAD, 0, 8), EFAULT,
	    "rt_sigaction from a bad pointer");
	ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, KERNEL, 0, 8), EFAULT,
	    "rt_sigprocmask from a kernel address");
	ERR(syscall(SYS_poll, BAD, 1, 0), EFAULT, "poll of a bad array");
	ERR(syscall(SYS_select, 1, BAD, 0, 0, 0), EFAULT,
	    "select of a bad fd_set");
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	ERR(syscall(SYS_getdents64, dfd, BAD, 4096), EFAULT,
	    "getdents64 into (void *)1");
	close(dfd);
	ERR(syscall(SYS_getrandom, KERNEL, 16, 0), EFAULT,
	    "getrandom into a kernel address");
	ERR(syscall(SYS_sysinfo, (long)rodata), EFAULT,
	    "sysinfo into read-only memory");
	ERR(syscall(SYS_execve, BAD, 0, 0), EFAULT, "execve of a bad path");

	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	msleep(20);
	ERR(syscall(SYS_wait4, pid, BAD, 0, 0), EFAULT,
	    "wait4 with a bad status pointer");
	int status = wait_child(pid, 5000);
	OK(status == -2 || (status >= 0 && WIFEXITED(status)),
	   "the child can still be (or was) reaped");
}

static void test_ebadf(void)
{
	char c;
	struct stat st;
	int closed = dup(0);
	close(closed);
	int fds[3] = {-1, 9999, closed};
	const char *names[3] = {"-1", "9999", "a closed fd"};
	for (int i = 0; i < 3; i++) {
		int fd = fds[i];
		ERR(syscall(SYS_read, fd, &c, 1), EBADF, "read %s", names[i]);
		ERR(syscall(SYS_write, fd, &c, 1), EBADF, "write %s", names[i]);
		ERR(syscall(SYS_close, fd), EBADF, "close %s", names[i]);
		ERR(syscall(SYS_fstat, fd, &st), EBADF, "fstat %s", names[i]);
		ERR(syscall(SYS_lseek, fd, 0, SEEK_SET), EBADF, "lseek %s",
		    names[i]);
		ERR(syscall(SYS_dup, fd), EBADF, "dup %s", names[i]);
		ERR(syscall(SYS_fcntl, fd, F_GETFL), EBADF, "fcntl %s",
		    names[i]);
	}
	ERR(syscall(SYS_fsync, 9999), EBADF, "fsync a bad fd");
	ERR(syscall(SYS_ftruncate, 9999, 0), EBADF, "ftruncate a bad fd");
	ERR(syscall(SYS_fchdir, -1), EBADF, "fchdir -1");
	ERR(syscall(SYS_getdents64, 9999, &st, sizeof st), EBADF,
	    "getdents64 a bad fd");
	ERR(syscall(SYS_ioctl, 9999, 0x5401, &st), EBADF, "ioctl a bad fd");
	ERR(syscall(SYS_pread64, -1, &c, 1, 0), EBADF, "pread64 -1");
	ERR(syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, 9999, 0), EBADF,
	    "mmap a bad fd");
}

static void test_einval(void)
{
	char buf[16];
	int fd = open("/dev/null", O_RDWR);
	write_file("f", "abc", 3);
	int f = open("f", O_RDWR);
	ERR(syscall(SYS_lseek, f, 0, 1234), EINVAL, "lseek with a bad whence");
	struct {
		long base, len;
	} iov[1] = {{(long)buf, 1}};
	ERR(syscall(SYS_readv, f, iov, 1025), EINVAL, "readv of 1025 vectors");
	ERR(syscall(SYS_writev, f, iov, -1), EINVAL, "writev of -1 vectors");
	struct {
		long base, len;
	} huge[2] = {{(long)buf, 16}, {(long)buf, -1L}};
	ERR(syscall(SYS_writev, f, huge, 2), EINVAL,
	    "writev of a length above SSIZE_MAX");
	ERR(syscall(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0),
	    EINVAL, "mmap of length 0");
	ERR(syscall(SYS_mmap, 0, 4096, PROT_READ, 0x3 | MAP_ANONYMOUS, -1, 0),
	    EINVAL, "mmap with both MAP_SHARED|MAP_PRIVATE bits (bad type)");
	ERR(syscall(SYS_mmap, 0, -4096L, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0),
	    ENOMEM, "mmap of a huge length");
	ERR(syscall(SYS_mprotect, 1, 4096, PROT_READ), EINVAL,
	    "mprotect of an unaligned address");
	ERR(syscall(SYS_munmap, 0, 0), EINVAL, "munmap of length 0");
	ERR(syscall(SYS_pipe2, buf, 0x7fff), EINVAL, "pipe2 with bad flags");
	ERR(syscall(SYS_dup3, fd, fd, 0), EINVAL, "dup3 onto itself");
	ERR(syscall(SYS_kill, getpid(), 1000), EINVAL, "kill with signal 1000");
	uint64_t set = 0;
	ERR(syscall(SYS_rt_sigprocmask, 77, &set, 0, 8), EINVAL,
	    "rt_sigprocmask with a bad how");
	ERR(syscall(SYS_clock_gettime, -77, buf), EINVAL,
	    "clock_gettime of a bad clock");
	ERR(syscall(SYS_wait4, -1, 0, 0x12345678, 0), EINVAL,
	    "wait4 with bad options");
	ERR(syscall(SYS_openat, AT_FDCWD, "f", O_RDONLY | O_DIRECTORY), ENOTDIR,
	    "O_DIRECTORY on a file");
	ERR(syscall(SYS_access, "f", 0777), EINVAL, "access with a bad mode");
	ERR(syscall(SYS_unlinkat, AT_FDCWD, "f", 0x4242), EINVAL,
	    "unlinkat with bad flags");
	ERR(syscall(SYS_fcntl, f, 0x7777), EINVAL, "an unknown fcntl");
	ERR(syscall(SYS_ioctl, f, 0x5401, buf), ENOTTY, "TCGETS on a file");
	ERR(syscall(SYS_getrandom, buf, 4, 0x8000), EINVAL,
	    "getrandom with bad flags");
	ERR(syscall(SYS_getdents64, f, buf, sizeof buf), ENOTDIR,
	    "getdents64 on a file");
	ERR(syscall(SYS_poll, buf, 0x7fffffff, 0), EINVAL,
	    "poll of more fds than RLIMIT_NOFILE");

	char path[5000];
	memset(path, 'a', sizeof path - 1);
	path[sizeof path - 1] = 0;
	ERR(syscall(SYS_open, path, O_RDONLY), ENAMETOOLONG,
	    "a path longer than PATH_MAX");
	memset(path, 'b', 300);
	path[300] = 0;
	ERR(syscall(SYS_open, path, O_RDONLY), ENAMETOOLONG,
	    "a name longer than 255 bytes");
	ERR(syscall(SYS_open, "", O_RDONLY), ENOENT, "the empty path");
	close(f);
	close(fd);
	unlink("f");
}

static void test_enosys(void)
{
	ERR(syscall(99999), ENOSYS, "system call 99999");
	ERR(syscall(-1L), ENOSYS, "system call -1");
	ERR(syscall(600), ENOSYS, "system call 600");
	long r;
	/* An out-of-range number with every register full of junk. */
	__asm__ volatile("mov $-1, %%rdi\n\t"
			 "mov $-1, %%rsi\n\t"
			 "mov $-1, %%rdx\n\t"
			 "mov $-1, %%r10\n\t"
			 "mov $-1, %%r8\n\t"
			 "mov $-1, %%r9\n\t"
			 "syscall"
			 : "=a"(r)
			 : "0"(0x7fffffffL)
			 : "rdi", "rsi", "rdx", "r10", "r8", "r9", "rcx", "r11",
			   "memory");
	IS(r, -ENOSYS, "a huge number with junk arguments");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_errors");
	test_efault();
	test_ebadf();
	test_einval();
	test_enosys();
	OK(1, "still alive after all of that");
	return tap_done();
}
