/*
 * t_mem — the address space: mmap (anonymous, private file-backed, fixed,
 * executable), munmap, mprotect, mremap (ENOMEM accepted for growing in
 * place), madvise, brk, copy-on-write after fork, the stack. Accesses that
 * must fault run in children that are expected to die of SIGSEGV.
 */
#include "tap.h"

#include <sys/mman.h>

#define PG 4096UL

/* Touch one byte at arg in a child: read if (arg & 1) == 0, else write. */
static int child_touch(void *arg)
{
	uintptr_t a = (uintptr_t)arg;
	volatile char *p = (volatile char *)(a & ~1UL);
	if (a & 1)
		*p = 1;
	else
		(void)*p;
	return 0;
}

static int touch_status(void *addr, int write)
{
	return in_child(child_touch, (void *)((uintptr_t)addr | !!write), 5000);
}

static void test_anon(void)
{
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	OK(p != MAP_FAILED, "mmap anonymous 4 pages");
	OK(((uintptr_t)p & (PG - 1)) == 0, "page aligned");
	int nz = 0;
	for (size_t i = 0; i < 4 * PG; i++)
		nz += p[i] != 0;
	IS(nz, 0, "anonymous memory is zero-filled");
	memset(p, 0x5a, 4 * PG);
	OK(p[0] == 0x5a && p[4 * PG - 1] == 0x5a, "and writable");

	SYS(munmap(p + PG, PG), "munmap one page in the middle");
	IS_SIGNALED(touch_status(p + PG, 0), SIGSEGV,
		    "reading an unmapped page: SIGSEGV");
	OK(p[0] == 0x5a && p[2 * PG] == 0x5a, "the neighbours stay");
	char *q = mmap(p + PG, PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	OK(q == p + PG, "MAP_FIXED fills the hole");
	IS(q[0], 0, "with zeros");
	q = mmap(p, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	OK(q == p && p[0] == 0, "MAP_FIXED over a mapping replaces it");
	SYS(munmap(p, 4 * PG), "munmap the whole range");
	SYS(munmap(p, 4 * PG), "munmap of nothing mapped is fine");

	ERR((long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
	    EINVAL, "mmap length 0");
	ERR((long)mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL,
	    "mmap without MAP_PRIVATE or MAP_SHARED");
	ERR((long)mmap((void *)0x10001, PG, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
	    EINVAL, "MAP_FIXED at an unaligned address");
	ERR((long)mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0),
	    ENOMEM, "mmap 4 EiB");
	ERR(munmap((void *)0x10001, PG), EINVAL, "munmap unaligned");
	ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 9999, 0), EBADF,
	    "mmap a bad fd");

	/* A large mapping is demand-paged: touch a few pages of 64 MiB. */
	size_t big = 64UL << 20;
	p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	OK(p != MAP_FAILED, "mmap 64 MiB");
	if (p != MAP_FAILED) {
		for (size_t off = 0; off < big; off += big / 16)
			p[off] = (char)(off >> 20);
		OK(p[big / 2] == (char)((big / 2) >> 20) && p[big - 1] == 0,
		   "sparse touches of it work");
		munmap(p, big);
	}
}

static void test_protect(void)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 7;
	p[PG] = 8;
	SYS(mprotect(p, PG, PROT_READ), "mprotect PROT_READ");
	IS(p[0], 7, "a read-only page reads");
	IS_SIGNALED(touch_status(p, 1), SIGSEGV,
		    "a write to a read-only page: SIGSEGV");
	IS_EXIT(touch_status(p + PG, 1), 0, "the next page stays writable");
	SYS(mprotect(p, PG, PROT_READ | PROT_WRITE), "mprotect back to RW");
	p[0] = 9;
	IS(p[0], 9, "writable again");
	SYS(mprotect(p, 2 * PG, PROT_NONE), "mprotect PROT_NONE");
	IS_SIGNALED(touch_status(p + PG, 0), SIGSEGV,
		    "a read of a PROT_NONE page: SIGSEGV");
	mprotect(p, 2 * PG, PROT_READ);
	IS(p[PG], 8, "contents survive PROT_NONE");
	ERR(syscall(SYS_mprotect, p + 1, PG, PROT_READ), EINVAL,
	    "mprotect unaligned");
	munmap(p, 2 * PG);
	ERR(mprotect(p, PG, PROT_READ), ENOMEM, "mprotect an unmapped range");

	/* Code written at run time runs in a PROT_EXEC mapping. */
	unsigned char code[] = {0xb8, 42, 0,
				0,    0,  0xc3}; /* mov $42,%eax; ret */
	unsigned char *x = mmap(NULL, PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(x, code, sizeof code);
	SYS(mprotect(x, PG, PROT_READ | PROT_EXEC), "mprotect PROT_EXEC");
	int (*fn)(void) = (int (*)(void))(uintptr_t)x;
	IS(fn(), 42, "generated code runs");
	mprotect(x, PG, PROT_READ | PROT_WRITE);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	IS_SIGNALED(wait_child(pid, 5000), SIGSEGV,
		    "executing a non-executable page: SIGSEGV");
	munmap(x, PG);
}

static void test_file(void)
{
	static char data[3 * PG];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i % 251);
	write_file("m", data, sizeof data - 100);
	int fd = open("m", O_RDWR);
	char *p =
		mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	OK(p != MAP_FAILED, "mmap a file MAP_PRIVATE");
	if (p == MAP_FAILED) {
		close(fd);
		return;
	}
	OK(!memcmp(p, data, sizeof data - 100), "the mapping shows the file");
	int nz = 0;
	for (size_t i = sizeof data - 100; i < 3 * PG; i++)
		nz += p[i] != 0;
	IS(nz, 0, "past end of file the last page is zero");
	p[10] = 'X';
	char c = 0;
	pread(fd, &c, 1, 10);
	IS(c, data[10], "a write to a private mapping stays private");
	pid_t pid = fork();
	if (pid == 0)
		_exit(p[10] == 'X' ? 0 : 1);
	IS_EXIT(wait_child(pid, 5000), 0, "a child sees the private copy");
	munmap(p, 3 * PG);

	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, PG);
	OK(p != MAP_FAILED && !memcmp(p, data + PG, PG),
	   "mmap at a file offset of one page");
	if (p != MAP_FAILED)
		munmap(p, PG);
	ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL,
	    "mmap at an unaligned file offset");
	close(fd);
	fd = open("m", O_RDONLY);
	p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	OK(p != MAP_FAILED && p[1] == data[1] && p[PG - 1] == data[PG - 1],
	   "a file mapping outlives its closed fd");
	if (p != MAP_FAILED)
		munmap(p, PG);
	fd = open("m", O_RDONLY);
	ERR2((long)mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
	     EACCES, ENODEV, "a writable shared mapping of a read-only fd");
	close(fd);
	fd = open("m", O_WRONLY);
	ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), EACCES,
	    "mapping a write-only fd");
	close(fd);
	unlink("m");
}

static void test_mremap_madvise(void)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 3, 2 * PG);
	char *q = mremap(p, 2 * PG, PG, 0);
	OK(q == p, "mremap shrinks in place");
	char *r = mremap(q, PG, 8 * PG, MREMAP_MAYMOVE);
	if (r == MAP_FAILED && errno == ENOMEM) {
		SKIP("mremap gave ENOMEM (allowed)", "mremap MAYMOVE grows");
		munmap(q, PG);
	} else {
		OK(r != MAP_FAILED, "mremap MREMAP_MAYMOVE grows");
		OK(r[0] == 3 && r[PG - 1] == 3, "the contents moved with it");
		r[8 * PG - 1] = 1;
		OK(r[PG] == 0, "the new part is zero");
		munmap(r, 8 * PG);
	}
	ERR((long)mremap((void *)0x10001, PG, PG, 0), EINVAL,
	    "mremap unaligned");

	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 9, 2 * PG);
	SYS(madvise(p, 2 * PG, MADV_DONTNEED), "madvise MADV_DONTNEED");
	OK(p[0] == 0 && p[PG] == 0,
	   "MADV_DONTNEED drops private anonymous pages (they read zero)");
	SYS(madvise(p, 2 * PG, MADV_WILLNEED), "madvise MADV_WILLNEED");
	ERR(madvise(p + 1, PG, MADV_DONTNEED), EINVAL, "madvise unaligned");
	munmap(p, 2 * PG);
}

static void test_brk(void)
{
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	OK(cur != 0, "brk(0) returns the break");
	uintptr_t want = cur + 64 * 1024;
	IS(syscall(SYS_brk, want), want, "brk grows by 64 KiB");
	char *p = (char *)cur;
	int nz = 0;
	for (size_t i = 0; i < 64 * 1024; i++)
		nz += p[i] != 0;
	IS(nz, 0, "new break memory is zero");
	memset(p, 1, 64 * 1024);
	IS(syscall(SYS_brk, cur + PG), cur + PG, "brk shrinks");
	IS_SIGNALED(touch_status(p + 8 * PG, 0), SIGSEGV,
		    "memory above a lowered break is gone");
	IS(syscall(SYS_brk, want), want, "brk grows again");
	IS(p[8 * PG], 0, "and the regrown part is zero again");
	IS(syscall(SYS_brk, 1), cur + 64 * 1024,
	   "a bad brk returns the current break");
	syscall(SYS_brk, cur);

	void *m = malloc(1 << 20);
	OK(m != NULL, "malloc 1 MiB");
	if (m)
		memset(m, 1, 1 << 20);
	free(m);
}

static volatile int cow_value = 1;

static void test_cow(void)
{
	static char buf[3 * PG];
	memset(buf, 'p', sizeof buf);
	char *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	anon[0] = 'a';
	int p[2], q[2]; /* child to parent, parent to child */
	pipe(p);
	pipe(q);
	pid_t pid = fork();
	if (pid == 0) {
		int r = 0;
		if (cow_value != 1 || buf[PG] != 'p' || anon[0] != 'a')
			r = 1; /* the child sees the parent's memory */
		cow_value = 2;
		memset(buf, 'c', sizeof buf);
		anon[0] = 'b';
		write(p[1], "x", 1); /* written: now let the parent look */
		char c;
		read(q[0], &c, 1);
		if (cow_value != 2 || buf[0] != 'c' || anon[0] != 'b')
			r |= 2; /* and its own writes */
		_exit(r);
	}
	char c;
	read(p[0], &c, 1);
	IS(cow_value, 1, "a child's write to data does not show in the parent");
	IS(buf[0], 'p', "nor to bss");
	IS(anon[0], 'a', "nor to an anonymous mapping");
	cow_value = 3;
	anon[0] = 'z';
	write(q[1], "x", 1);
	IS_EXIT(wait_child(pid, 5000), 0,
		"the child saw the parent's data, then only its own writes");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	munmap(anon, PG);
	cow_value = 1;
}

static int deep(int n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	pad[4095] = (char)n;
	if (n == 0)
		return 0;
	return deep(n - 1) + (pad[0] != pad[4095]);
}

static void test_stack(void)
{
	/* 512 KiB of stack in 4 KiB frames: the stack grows (or is big). */
	IS(deep(128), 0, "512 KiB of stack");
}

int main(int argc, char **argv)
{
	tap_init(argc, argv, "t_mem");
	test_anon();
	test_protect();
	test_file();
	test_mremap_madvise();
	test_brk();
	test_cow();
	test_stack();
	return tap_done();
}
