/*
 * fsbench.c — the monitor's `fsbench DIR [MB]`: a file-system benchmark on
 * the mount that holds DIR (tools/bench/fs.py runs it; the figures are in
 * docs/performance.md). A benchmark, not a test: it checks only that each
 * call succeeded, and prints figures as "fsbench: key=value" lines.
 *
 * Phases, each timed with time_ns():
 *   seq_write  MB MiB (default 16) to DIR/fsbench.dat in 64 KiB writes,
 *              fsync included;
 *   cold_read  that file read sequentially after the cache was dropped;
 *   warm_read  read again, now from the cache;
 *   create     1000 files of 1 KiB in DIR/fsbench.create, sync included;
 *              then delete: removing them, sync included;
 *   build      a source tree (20 directories of 30 files of 2-8 KiB and 5
 *              shared headers) built 3 times, the first time with a cold
 *              cache: each unit stats and reads its source and every
 *              header and writes an object; a link step reads every object
 *              and writes one program. Hit rates are deltas of the buffer
 *              cache's counters (hits / (hits + misses) of bread).
 * Sizes are MiB (2^20 bytes). Everything fsbench makes is removed at the
 * end, after an error too, and before it starts (a run that was cut off).
 *
 * Dropping the cache: bcache_invalidate refuses a mounted ext2 device, whose
 * superblock, group descriptors and the inode-table blocks of in-memory
 * inodes stay pinned. So after a sync, drop_cache streams a scratch device
 * as large as the cache's budget through it with bgetz (no I/O, no hit or
 * miss counted): LRU replacement pushes out every unreferenced buffer of every
 * device; then bcache_invalidate forgets the scratch buffers. Only pinned
 * metadata stays cached, as it would stay on any system. The cache is left
 * empty, not full: nothing else is disturbed beyond losing cached blocks.
 */
#include "arch/x86/arch.h"
#include "fs/fs.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "vm/vm.h"

#define IO_SIZE (64 * 1024) /* bytes per read or write call */
#define NCREATE 1000 /* files of the create phase */
#define CREATE_SIZE 1024
#define NDIRS 20 /* the build tree: directories */
#define NSRC 30 /* sources per directory */
#define NHDR 5 /* headers every unit reads */
#define HDR_SIZE 4096
#define NPASS 3 /* builds; the first starts cold */
#define DIR_MAX 128 /* bytes of DIR */
#define MB_MAX 1024

struct bench {
	const char *dir; /* DIR without a trailing slash; "" for / */
	uint8_t *buf; /* IO_SIZE bytes */
	char path[DIR_MAX + 64];
	const char *step; /* what failed, for the message */
};

/* b->path = DIR/<fmt...>; a path too long was refused in fs_bench. */
static const char *path(struct bench *b, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(b->path, sizeof b->path, "%s/", b->dir);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->path + n, sizeof b->path - n, fmt, ap);
	va_end(ap);
	return b->path;
}

/* A cheap deterministic sequence for sizes and contents. */
static uint32_t next_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static uint32_t src_size(unsigned d, unsigned s)
{
	uint32_t seed = d * NSRC + s + 1;
	next_rand(&seed);
	return 2048 + next_rand(&seed) % (6 * 1024 + 1);
}

static uint32_t obj_size(unsigned d, unsigned s)
{
	return 1024 + src_size(d, s) / 2;
}

/* ------------------------------------------------------------ file I/O */

/* Write len bytes (len <= IO_SIZE) of b->buf as the file at p. */
static int put(struct bench *b, const char *p, size_t len)
{
	struct file *f;
	int err = vfs_open(NULL, p, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
	if (err)
		return err;
	int64_t n = file_write(f, b->buf, len);
	file_close(f);
	return n < 0 ? (int)n : (size_t)n == len ? 0 : -ENOSPC;
}

/* Read the file at p to its end in IO_SIZE pieces; the bytes read, or an
 * error. If out is given, each piece is appended to it. */
static int64_t get(struct bench *b, const char *p, struct file *out)
{
	struct file *f;
	int err = vfs_open(NULL, p, O_RDONLY, 0, &f);
	if (err)
		return err;
	int64_t total = 0, n;
	while ((n = file_read(f, b->buf, IO_SIZE)) > 0) {
		total += n;
		if (out) {
			int64_t w = file_write(out, b->buf, (size_t)n);
			if (w != n) {
				n = w < 0 ? w : -ENOSPC;
				break;
			}
		}
	}
	file_close(f);
	return n < 0 ? n : total;
}

/* ------------------------------------------------------------ the cache */

static int scratch_read(struct blockdev *d, uint64_t sector, uint32_t count,
			void *buf)
{
	memset(buf, 0, (size_t)count * d->sector_size);
	return 0;
}

static int scratch_write(struct blockdev *d, uint64_t sector, uint32_t count,
			 const void *buf)
{
	return -EIO;
}

/* Write everything dirty, then empty the cache of unpinned blocks (see
 * the top of the file). */
static int drop_cache(void)
{
	static struct blockdev scratch; /* no buffer of it outlives this */
	int err = vfs_sync();
	if (err)
		return err;
	struct bcache_stats st;
	bcache_get_stats(&st);
	uint64_t nblocks = st.budget_bytes / 1024 + 64;
	memset(&scratch, 0, sizeof scratch);
	strlcpy(scratch.name, "fsbench", sizeof scratch.name);
	scratch.sector_size = 512;
	scratch.nsectors = nblocks * 2;
	scratch.readonly = true;
	scratch.read = scratch_read;
	scratch.write = scratch_write;
	for (uint64_t i = 0; i < nblocks && !err; i++) {
		struct buf *bp = bgetz(&scratch, i, 1024);
		if (IS_ERR(bp))
			err = PTR_ERR(bp);
		else
			brelse(bp);
	}
	int e = bcache_invalidate(&scratch);
	return err ? err : e;
}

struct counts {
	uint64_t t; /* time_ns */
	uint64_t hits, misses;
	uint64_t reads; /* blocks read from devices */
};

static void mark(struct counts *c)
{
	struct bcache_stats st;
	bcache_get_stats(&st);
	c->hits = st.hits;
	c->misses = st.misses;
	c->reads = st.reads;
	c->t = time_ns();
}

/* ------------------------------------------------------------ output */

static uint64_t elapsed(const struct counts *a, const struct counts *z)
{
	return z->t > a->t ? z->t - a->t : 1;
}

/* bytes per second in MiB/s, one decimal */
static void print_mbps(const char *key, uint64_t bytes, const struct counts *a,
		       const struct counts *z)
{
	uint64_t x10 = (bytes >> 10) * 10000000000ull / elapsed(a, z) / 1024;
	printk("fsbench: %s=%lu.%lu\n", key, (unsigned long)(x10 / 10),
	       (unsigned long)(x10 % 10));
}

static void print_rate(const char *key, uint64_t n, const struct counts *a,
		       const struct counts *z)
{
	uint64_t x10 = n * 10000000000ull / elapsed(a, z);
	printk("fsbench: %s=%lu.%lu\n", key, (unsigned long)(x10 / 10),
	       (unsigned long)(x10 % 10));
}

static void print_seconds(const char *key, uint64_t ns)
{
	uint64_t ms = ns / 1000000;
	printk("fsbench: %s=%lu.%03lu\n", key, (unsigned long)(ms / 1000),
	       (unsigned long)(ms % 1000));
}

static void print_hit_rate(const char *key, const struct counts *a,
			   const struct counts *z)
{
	uint64_t hits = z->hits - a->hits, all = hits + z->misses - a->misses;
	unsigned r = all ? (unsigned)(hits * 1000 / all) : 0;
	printk("fsbench: %s=%u.%03u\n", key, r / 1000, r % 1000);
}

/* ------------------------------------------------------------ phases */

static int seq_phases(struct bench *b, uint64_t bytes)
{
	struct counts c0, c1;
	const char *p = path(b, "fsbench.dat");
	for (size_t i = 0; i < IO_SIZE; i++)
		b->buf[i] = (uint8_t)(i * 7 + (i >> 9));

	b->step = "write fsbench.dat";
	mark(&c0);
	struct file *f;
	int err = vfs_open(NULL, p, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
	if (err)
		return err;
	for (uint64_t done = 0; done < bytes && !err; done += IO_SIZE) {
		int64_t n = file_write(f, b->buf, IO_SIZE);
		err = n < 0 ? (int)n : n == IO_SIZE ? 0 : -ENOSPC;
	}
	if (!err)
		err = file_fsync(f);
	file_close(f);
	if (err)
		return err;
	mark(&c1);
	print_mbps("seq_write_MBps", bytes, &c0, &c1);

	b->step = "drop the cache";
	err = drop_cache();
	if (err)
		return err;
	static const char *const keys[2][2] = {
		{"cold_read_MBps", "cold_read_disk_blocks"},
		{"warm_read_MBps", "warm_read_disk_blocks"}};
	for (int warm = 0; warm < 2; warm++) {
		b->step = "read fsbench.dat";
		mark(&c0);
		int64_t n = get(b, p, NULL);
		mark(&c1);
		if (n < 0)
			return (int)n;
		if ((uint64_t)n != bytes)
			return -EIO;
		print_mbps(keys[warm][0], bytes, &c0, &c1);
		printk("fsbench: %s=%lu\n", keys[warm][1],
		       (unsigned long)(c1.reads - c0.reads));
	}
	b->step = "remove fsbench.dat";
	return vfs_unlink(NULL, p);
}

static int create_phase(struct bench *b)
{
	struct counts c0, c1;
	memset(b->buf, 'c', CREATE_SIZE);
	b->step = "create fsbench.create";
	mark(&c0);
	int err = vfs_mkdir(NULL, path(b, "fsbench.create"), 0755);
	for (unsigned i = 0; i < NCREATE && !err; i++)
		err = put(b, path(b, "fsbench.create/f%04u", i), CREATE_SIZE);
	if (!err)
		err = vfs_sync();
	if (err)
		return err;
	mark(&c1);
	print_rate("create_files_per_s", NCREATE, &c0, &c1);

	b->step = "remove fsbench.create";
	mark(&c0);
	for (unsigned i = 0; i < NCREATE && !err; i++)
		err = vfs_unlink(NULL, path(b, "fsbench.create/f%04u", i));
	if (!err)
		err = vfs_rmdir(NULL, path(b, "fsbench.create"));
	if (!err)
		err = vfs_sync();
	if (err)
		return err;
	mark(&c1);
	print_rate("delete_files_per_s", NCREATE, &c0, &c1);
	return 0;
}

/* The source tree: fsbench.build/include/hN.h, fsbench.build/dNN/sNN.c. */
static int build_setup(struct bench *b)
{
	b->step = "make the build tree";
	uint32_t seed = 42;
	for (size_t i = 0; i < IO_SIZE; i++)
		b->buf[i] = (uint8_t)(' ' + next_rand(&seed) % 95);
	int err = vfs_mkdir(NULL, path(b, "fsbench.build"), 0755);
	if (!err)
		err = vfs_mkdir(NULL, path(b, "fsbench.build/include"), 0755);
	for (unsigned h = 0; h < NHDR && !err; h++)
		err = put(b, path(b, "fsbench.build/include/h%u.h", h),
			  HDR_SIZE);
	for (unsigned d = 0; d < NDIRS && !err; d++) {
		err = vfs_mkdir(NULL, path(b, "fsbench.build/d%02u", d), 0755);
		for (unsigned s = 0; s < NSRC && !err; s++)
			err = put(b,
				  path(b, "fsbench.build/d%02u/s%02u.c", d, s),
				  src_size(d, s));
	}
	return err;
}

/* One unit: stat and read the source and every header, write the object. */
static int build_unit(struct bench *b, unsigned d, unsigned s)
{
	struct linux_stat st;
	int err = vfs_stat(NULL, path(b, "fsbench.build/d%02u/s%02u.c", d, s),
			   &st);
	if (err)
		return err;
	int64_t n = get(b, b->path, NULL);
	if (n < 0)
		return (int)n;
	for (unsigned h = 0; h < NHDR; h++) {
		err = vfs_stat(NULL, path(b, "fsbench.build/include/h%u.h", h),
			       &st);
		n = err ? err : get(b, b->path, NULL);
		if (n < 0)
			return (int)n;
	}
	/* An object that is missing is fine: the first build makes it. */
	err = vfs_stat(NULL, path(b, "fsbench.build/d%02u/s%02u.o", d, s), &st);
	if (err && err != -ENOENT)
		return err;
	return put(b, b->path, obj_size(d, s));
}

/* Link: every object, in order, into fsbench.build/prog. */
static int build_link(struct bench *b)
{
	struct file *out;
	int err = vfs_open(NULL, path(b, "fsbench.build/prog"),
			   O_WRONLY | O_CREAT | O_TRUNC, 0755, &out);
	if (err)
		return err;
	for (unsigned d = 0; d < NDIRS && !err; d++) {
		for (unsigned s = 0; s < NSRC && !err; s++) {
			int64_t n = get(
				b, path(b, "fsbench.build/d%02u/s%02u.o", d, s),
				out);
			err = n < 0 ? (int)n : 0;
		}
	}
	file_close(out);
	return err;
}

static int build_phase(struct bench *b)
{
	int err = build_setup(b);
	if (err)
		return err;
	b->step = "drop the cache";
	err = drop_cache();
	if (err)
		return err;
	b->step = "build";
	struct counts start, warm, end;
	mark(&start);
	for (unsigned pass = 0; pass < NPASS && !err; pass++) {
		for (unsigned d = 0; d < NDIRS && !err; d++)
			for (unsigned s = 0; s < NSRC && !err; s++)
				err = build_unit(b, d, s);
		if (!err)
			err = build_link(b);
		if (pass == 0)
			mark(&warm);
	}
	if (err)
		return err;
	mark(&end);
	printk("fsbench: build_units=%u build_passes=%u\n", NDIRS * NSRC,
	       NPASS);
	print_hit_rate("build_hit_rate", &start, &end);
	print_hit_rate("build_cold_hit_rate", &start, &warm);
	print_hit_rate("build_warm_hit_rate", &warm, &end);
	print_seconds("build_seconds", elapsed(&start, &end));
	print_seconds("build_cold_seconds", elapsed(&start, &warm));
	printk("fsbench: build_cold_disk_blocks=%lu build_warm_disk_blocks=%lu\n",
	       (unsigned long)(warm.reads - start.reads),
	       (unsigned long)(end.reads - warm.reads));
	return 0;
}

/* ------------------------------------------------------------ the command */

/* Remove whatever fsbench may have left in DIR; errors are ignored. */
static void cleanup(struct bench *b)
{
	vfs_unlink(NULL, path(b, "fsbench.dat"));
	for (unsigned i = 0; i < NCREATE; i++)
		vfs_unlink(NULL, path(b, "fsbench.create/f%04u", i));
	vfs_rmdir(NULL, path(b, "fsbench.create"));
	for (unsigned d = 0; d < NDIRS; d++) {
		for (unsigned s = 0; s < NSRC; s++) {
			vfs_unlink(NULL, path(b, "fsbench.build/d%02u/s%02u.c",
					      d, s));
			vfs_unlink(NULL, path(b, "fsbench.build/d%02u/s%02u.o",
					      d, s));
		}
		vfs_rmdir(NULL, path(b, "fsbench.build/d%02u", d));
	}
	for (unsigned h = 0; h < NHDR; h++)
		vfs_unlink(NULL, path(b, "fsbench.build/include/h%u.h", h));
	vfs_rmdir(NULL, path(b, "fsbench.build/include"));
	vfs_unlink(NULL, path(b, "fsbench.build/prog"));
	vfs_rmdir(NULL, path(b, "fsbench.build"));
	vfs_sync();
}

static int parse_mb(const char *s, unsigned *mb)
{
	unsigned v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > MB_MAX)
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v < 1 || v > MB_MAX)
		return -EINVAL;
	*mb = v;
	return 0;
}

int fs_bench(int argc, char **argv)
{
	unsigned mb = 16;
	if (argc < 2 || argc > 3 || (argc == 3 && parse_mb(argv[2], &mb))) {
		printk("usage: fsbench DIR [MB]  (MB: 1..%u, default 16)\n",
		       MB_MAX);
		return 2;
	}
	char dir[DIR_MAX];
	size_t len = strlen(argv[1]);
	while (len > 1 && argv[1][len - 1] == '/')
		len--;
	if (argv[1][0] != '/' || len >= sizeof dir) {
		printk("fsbench: %s: want an absolute path of at most %u "
		       "bytes\n",
		       argv[1], DIR_MAX - 1);
		return 2;
	}
	memcpy(dir, argv[1], len);
	dir[len == 1 ? 0 : len] = 0;
	struct linux_stat st;
	int err = vfs_stat(NULL, argv[1], &st);
	if (!err && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (err) {
		printk("fsbench: %s: %s\n", argv[1], errno_text(err));
		return 1;
	}

	struct bench b = {.dir = dir, .buf = kmalloc(IO_SIZE), .step = "start"};
	if (!b.buf) {
		printk("fsbench: %s\n", errno_text(-ENOMEM));
		return 1;
	}
	cleanup(&b);
	struct bcache_stats bs;
	bcache_get_stats(&bs);
	printk("fsbench: dir=%s mb=%u cache_kb=%lu\n", argv[1], mb,
	       (unsigned long)(bs.budget_bytes >> 10));
	err = seq_phases(&b, (uint64_t)mb << 20);
	if (!err)
		err = create_phase(&b);
	if (!err)
		err = build_phase(&b);
	cleanup(&b);
	kfree(b.buf);
	if (err) {
		printk("fsbench: %s: %s: %s (%d)\n", argv[1], b.step,
		       errno_text(err), err);
		return 1;
	}
	printk("fsbench: done\n");
	return 0;
}
