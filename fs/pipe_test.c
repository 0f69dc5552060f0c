/*
 * pipe_test.c — self-tests of pipes (run with `selftest=pipe`): order,
 * end of file, EPIPE, O_NONBLOCK, a reader woken by a writer thread, and
 * atomic PIPE_BUF writes from two threads.
 */
#include "arch/x86/arch.h"
#include "fs/vfs_impl.h"
#include "vm/vm.h"

SELFTEST(pipe_order_eof_epipe)
{
	struct file *r, *w;
	ST_ASSERT(pipe_create(&r, &w, O_CLOEXEC) == 0);
	ST_ASSERT(r->flags == (O_RDONLY | O_CLOEXEC) &&
		  w->flags == (O_WRONLY | O_CLOEXEC));
	char buf[64];
	ST_ASSERT(file_write(w, "hello ", 6) == 6);
	ST_ASSERT(file_write(w, "world", 5) == 5);
	ST_ASSERT(file_read(r, buf, 3) == 3 && !memcmp(buf, "hel", 3));
	ST_ASSERT(file_read(r, buf, sizeof buf) == 8);
	ST_ASSERT(!memcmp(buf, "lo world", 8));
	ST_ASSERT(file_read(w, buf, 1) == -EBADF);
	ST_ASSERT(file_write(r, "x", 1) == -EBADF);
	ST_ASSERT(file_lseek(r, 0, SEEK_SET) == -ESPIPE);
	ST_ASSERT(file_pread(r, buf, 1, 0) == -ESPIPE);
	ST_ASSERT(file_fsync(r) == -EINVAL);
	struct linux_stat st;
	ST_ASSERT(file_stat(r, &st) == 0 && S_ISFIFO(st.st_mode));
	struct linux_stat st2;
	ST_ASSERT(file_stat(w, &st2) == 0 && st2.st_ino == st.st_ino);
	/* Data written before the last writer closes is still read. */
	ST_ASSERT(file_write(w, "tail", 4) == 4);
	struct file *w2 = file_dup(w);
	file_close(w);
	ST_ASSERT(file_read(r, buf, sizeof buf) == 4);
	file_close(w2);
	ST_ASSERT(file_read(r, buf, sizeof buf) == 0);
	ST_ASSERT(file_read(r, buf, sizeof buf) == 0);
	file_close(r);
	/* EPIPE once nobody reads. */
	ST_ASSERT(pipe_create(&r, &w, 0) == 0);
	file_close(r);
	ST_ASSERT(file_write(w, "x", 1) == -EPIPE);
	file_close(w);
	ST_ASSERT(pipe_create(&r, &w, O_TRUNC) == -EINVAL);
	return 0;
}

SELFTEST(pipe_nonblock)
{
	struct file *r, *w;
	ST_ASSERT(pipe_create(&r, &w, O_NONBLOCK) == 0);
	char *buf = kmalloc(70000);
	ST_ASSERT(buf);
	memset(buf, 'q', 70000);
	ST_ASSERT(file_read(r, buf, 10) == -EAGAIN);
	/* A big write fills what fits; then nothing fits. */
	ST_ASSERT(file_write(w, buf, 70000) == 65536);
	ST_ASSERT(file_write(w, buf, 1) == -EAGAIN);
	ST_ASSERT(file_read(r, buf, 100) == 100);
	/* A PIPE_BUF write is all or nothing. */
	ST_ASSERT(file_write(w, buf, 101) == -EAGAIN);
	ST_ASSERT(file_write(w, buf, 100) == 100);
	ST_ASSERT(file_read(r, buf, 70000) == 65536);
	ST_ASSERT(file_read(r, buf, 1) == -EAGAIN);
	file_close(w);
	ST_ASSERT(file_read(r, buf, 1) == 0);
	file_close(r);
	kfree(buf);
	return 0;
}

static volatile int writer_done;

static void late_writer(void *arg)
{
	struct file *w = arg;
	thread_sleep_ns(20000000); /* 20 ms: the reader is asleep by then */
	file_write(w, "wake", 4);
	thread_sleep_ns(20000000);
	file_close(w);
	writer_done = 1;
}

SELFTEST(pipe_reader_woken_by_writer)
{
	struct file *r, *w;
	ST_ASSERT(pipe_create(&r, &w, 0) == 0);
	writer_done = 0;
	uint64_t t0 = time_ns();
	ST_ASSERT(thread_create("pipe-w", late_writer, w));
	char buf[16];
	ST_ASSERT(file_read(r, buf, sizeof buf) == 4);
	ST_ASSERT(!memcmp(buf, "wake", 4));
	ST_ASSERT(time_ns() - t0 >= 15000000);
	/* Blocks until the writer closes: end of file. */
	ST_ASSERT(file_read(r, buf, sizeof buf) == 0);
	ST_ASSERT(writer_done);
	file_close(r);
	return 0;
}

#define RECORDS 64

struct atomic_writer {
	struct file *w;
	char fill;
};

static void record_writer(void *arg)
{
	struct atomic_writer *a = arg;
	char *rec = kmalloc(PIPE_BUF);
	memset(rec, a->fill, PIPE_BUF);
	for (int i = 0; i < RECORDS; i++) {
		if (file_write(a->w, rec, PIPE_BUF) != PIPE_BUF)
			break;
		if (i % 8 == 0)
			thread_yield();
	}
	kfree(rec);
	file_close(a->w);
}

SELFTEST(pipe_atomic_writes)
{
	struct file *r, *w;
	ST_ASSERT(pipe_create(&r, &w, 0) == 0);
	static struct atomic_writer a = {NULL, 'A'}, b = {NULL, 'B'};
	a.w = file_dup(w);
	b.w = file_dup(w);
	file_close(w);
	ST_ASSERT(thread_create("pipe-a", record_writer, &a));
	ST_ASSERT(thread_create("pipe-b", record_writer, &b));
	char *rec = kmalloc(PIPE_BUF);
	ST_ASSERT(rec);
	int counts[2] = {0, 0};
	size_t have = 0;
	int64_t n;
	/* Read in odd sizes; every PIPE_BUF record must be one writer's. */
	while ((n = file_read(r, rec + have, MIN(PIPE_BUF - have, 1000))) > 0) {
		have += (size_t)n;
		if (have < PIPE_BUF)
			continue;
		for (int i = 1; i < PIPE_BUF; i++)
			ST_ASSERT(rec[i] == rec[0]);
		ST_ASSERT(rec[0] == 'A' || rec[0] == 'B');
		counts[rec[0] - 'A']++;
		have = 0;
	}
	ST_ASSERT(n == 0 && have == 0);
	ST_ASSERT(counts[0] == RECORDS && counts[1] == RECORDS);
	kfree(rec);
	file_close(r);
	return 0;
}
