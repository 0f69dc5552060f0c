// SOURCES: fs/bcache.c fs/blockdev.c tests/unit/kern_host.c tests/unit/sync_host.c
/*
 * test_bcache.c — the buffer cache (fs/bcache.c) over memory devices that
 * log their requests: hits and misses, LRU replacement, write-back of
 * dirty victims, flushes in block order with contiguous runs merged,
 * sequential read-ahead, pins, mixed block sizes, invalidation, I/O errors
 * and the /proc/bcache text. The pool is 64 KiB: 64 buffers of 1 KiB.
 */
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "kern/kern.h"
#include "tests/unit/unit.h"

#define DEV_SECTORS 4096 /* 2 MiB */

struct memdev {
	struct blockdev bd;
	uint8_t *mem;
	unsigned nreads, nwrites, nflush;
	uint64_t wlog[512]; /* first sector of each write request */
	uint32_t wcount[512]; /* its sector count */
	bool fail_reads, fail_writes;
};

static int md_read(struct blockdev *d, uint64_t s, uint32_t n, void *buf)
{
	struct memdev *m = d->priv;
	if (m->fail_reads)
		return -1;
	m->nreads++;
	memcpy(buf, m->mem + s * 512, (size_t)n * 512);
	return 0;
}

static int md_write(struct blockdev *d, uint64_t s, uint32_t n, const void *buf)
{
	struct memdev *m = d->priv;
	if (m->fail_writes)
		return -1;
	if (m->nwrites < 512) {
		m->wlog[m->nwrites] = s;
		m->wcount[m->nwrites] = n;
	}
	m->nwrites++;
	memcpy(m->mem + s * 512, buf, (size_t)n * 512);
	return 0;
}

static int md_flush(struct blockdev *d)
{
	((struct memdev *)d->priv)->nflush++;
	return 0;
}

static struct memdev *md_new(const char *name)
{
	static bool init;
	if (!init) {
		init = true;
		if (bcache_init(64 * 1024))
			abort();
	}
	struct memdev *m = calloc(1, sizeof *m);
	m->mem = malloc(DEV_SECTORS * 512);
	for (size_t i = 0; i < DEV_SECTORS * 512; i++)
		m->mem[i] = (uint8_t)(i / 1024 * 7 + i);
	snprintf(m->bd.name, sizeof m->bd.name, "%s", name);
	m->bd.sector_size = 512;
	m->bd.nsectors = DEV_SECTORS;
	m->bd.read = md_read;
	m->bd.write = md_write;
	m->bd.flush = md_flush;
	m->bd.priv = m;
	return m;
}

static void md_free(struct memdev *m)
{
	if (bcache_invalidate(&m->bd))
		abort();
	free(m->mem);
	free(m);
}

static struct bcache_stats stats(void)
{
	struct bcache_stats s;
	bcache_get_stats(&s);
	return s;
}

static int t_err_bread(struct blockdev *d, uint64_t blk, uint32_t size)
{
	struct buf *b = bread(d, blk, size);
	if (IS_ERR(b))
		return PTR_ERR(b);
	brelse(b);
	return 0;
}

/* bread + check contents + brelse; returns false on a mismatch. */
static bool touch(struct memdev *m, uint64_t blk, uint32_t size)
{
	struct buf *b = bread(&m->bd, blk, size);
	if (IS_ERR(b))
		return false;
	bool ok = !memcmp(b->data, m->mem + blk * size, size);
	brelse(b);
	return ok;
}

TEST(hit_and_miss)
{
	bcache_set_readahead(0);
	struct memdev *m = md_new("hm");
	struct bcache_stats s0 = stats();
	CHECK(touch(m, 5, 1024));
	CHECK(touch(m, 5, 1024));
	CHECK(touch(m, 6, 1024));
	struct bcache_stats s1 = stats();
	CHECK_EQ(s1.misses - s0.misses, 2);
	CHECK_EQ(s1.hits - s0.hits, 1);
	CHECK_EQ(m->nreads, 2);
	CHECK_EQ(s1.referenced, 0);
	CHECK_EQ(t_err_bread(&m->bd, DEV_SECTORS / 2, 1024), -EINVAL);
	CHECK_EQ(t_err_bread(&m->bd, 0, 3000), -EINVAL);
	md_free(m);
}

TEST(lru_replacement)
{
	bcache_set_readahead(0);
	struct memdev *m = md_new("lru");
	for (int i = 0; i < 64; i++)
		CHECK(touch(m, 100 + i * 3, 1024));
	CHECK(touch(m, 100, 1024)); /* now the most recent */
	struct bcache_stats s0 = stats();
	CHECK(touch(m, 900, 1024)); /* evicts the oldest: 103 */
	unsigned r = m->nreads;
	CHECK(touch(m, 100, 1024));
	CHECK_EQ(m->nreads, r);
	CHECK(touch(m, 103, 1024));
	CHECK_EQ(m->nreads, r + 1);
	struct bcache_stats s1 = stats();
	CHECK(s1.evictions - s0.evictions >= 2);
	CHECK(s1.used_bytes <= s1.budget_bytes);
	md_free(m);
}

TEST(dirty_victims_written_back)
{
	bcache_set_readahead(0);
	struct memdev *m = md_new("wb");
	for (int i = 0; i < 64; i++) {
		struct buf *b = bgetz(&m->bd, 200 + i, 1024);
		CHECK(!IS_ERR(b));
		memset(b->data, i + 1, 1024);
		bdirty(b);
		brelse(b);
	}
	CHECK_EQ(stats().dirty, 64);
	CHECK_EQ(m->nwrites, 0);
	for (int i = 0; i < 64; i++)
		CHECK(touch(m, 500 + i, 1024));
	/* The oldest dirty buffer went out with its dirty successors in
	 * one request. */
	CHECK_EQ(m->nwrites, 1);
	CHECK_EQ(m->wlog[0], 400);
	CHECK_EQ(m->wcount[0], 128);
	CHECK_EQ(stats().dirty, 0);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(m->mem[(200 + i) * 1024 + 17], i + 1);
	md_free(m);
}

TEST(flush_in_block_order)
{
	bcache_set_readahead(0);
	struct memdev *m = md_new("fl");
	static const int order[] = {30, 5, 17, 2, 3, 4, 31, 18, 100, 6, 1};
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		struct buf *b = bread(&m->bd, order[i], 1024);
		CHECK(!IS_ERR(b));
		b->data[0] = 0xee;
		bdirty(b);
		brelse(b);
	}
	CHECK_EQ(bcache_flush(&m->bd), 0);
	/* Runs 1-6, 17-18, 30-31, 100: four requests, ascending. */
	CHECK_EQ(m->nwrites, 4);
	CHECK_EQ(m->wlog[0], 2);
	CHECK_EQ(m->wcount[0], 12);
	CHECK_EQ(m->wlog[1], 34);
	CHECK_EQ(m->wlog[2], 60);
	CHECK_EQ(m->wlog[3], 200);
	CHECK(m->nflush >= 1);
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++)
		CHECK_EQ(m->mem[order[i] * 1024], 0xee);
	CHECK_EQ(stats().dirty, 0);
	CHECK_EQ(bcache_flush(&m->bd), 0);
	CHECK_EQ(m->nwrites, 4);
	md_free(m);
}

TEST(sequential_readahead)
{
	bcache_set_readahead(16 * 1024);
	struct memdev *m = md_new("ra");
	struct bcache_stats s0 = stats();
	for (int i = 0; i < 48; i++)
		CHECK(touch(m, 300 + i, 1024));
	struct bcache_stats s1 = stats();
	/* Two single misses start the run, then 16 blocks a request. */
	CHECK(m->nreads <= 5);
	CHECK(s1.ra_issued - s0.ra_issued >= 40);
	CHECK(s1.ra_hits - s0.ra_hits >= 40);
	/* A hot cached block read between the data blocks (an indirect
	 * block) does not break the run. */
	CHECK(touch(m, 50, 1024));
	unsigned r0 = m->nreads;
	for (int i = 0; i < 48; i++) {
		CHECK(touch(m, 50, 1024));
		CHECK(touch(m, 600 + i, 1024));
	}
	CHECK(m->nreads - r0 <= 5);
	s1 = stats();
	/* Random reads prefetch nothing. */
	unsigned r = m->nreads;
	static const int rnd[] = {700, 1500, 900, 1200, 800, 1900};
	for (unsigned i = 0; i < ARRAY_SIZE(rnd); i++)
		CHECK(touch(m, rnd[i], 1024));
	struct bcache_stats s2 = stats();
	CHECK_EQ(m->nreads - r, ARRAY_SIZE(rnd));
	CHECK_EQ(s2.ra_issued, s1.ra_issued);
	/* Read-ahead stops at the end of the device. */
	for (int i = 2040; i < 2048; i++)
		CHECK(touch(m, i, 1024));
	bcache_set_readahead(0);
	md_free(m);
}

TEST(pinned_buffers_stay)
{
	bcache_set_readahead(0);
	struct memdev *m = md_new("pin");
	struct buf *b = bread(&m->bd, 7, 1024);
	CHECK(!IS_ERR(b));
	bpin(b);
	brelse(b);
	for (int i = 0; i < 200; i++)
		CHECK(touch(m, 1000 + i, 1024));
	unsigned r = m->nreads;
	CHECK(touch(m, 7, 1024));
	CHECK_EQ(m->nreads, r);
	CHECK_EQ(bcache_invalidate(&m->bd), -EBUSY);
	bunpin(b);
	md_free(m);
}

TEST(mixed_block_sizes)
{
	bcache_set_readahead(0);
	struct memdev *a = md_new("k1"), *b = md_new("k4");
	for (int i = 0; i < 40; i++) {
		CHECK(touch(a, i * 5, 1024));
		CHECK(touch(b, i * 3, 4096));
		CHECK(touch(b, i, 2048));
	}
	struct bcache_stats s = stats();
	CHECK(s.used_bytes <= s.budget_bytes);
	/* Another size for a cached block replaces the old buffer. */
	CHECK(touch(a, 1, 1024));
	CHECK(touch(a, 1, 4096));
	CHECK(touch(a, 1, 1024));
	md_free(a);
	md_free(b);
}

TEST(invalidate)
{
	bcache_set_readahead(0);
	struct memdev *m = md_new("inv");
	struct buf *b = bread(&m->bd, 9, 2048);
	CHECK(!IS_ERR(b));
	memset(b->data, 0x55, 2048);
	bdirty(b);
	bpin(b);
	brelse(b);
	/* Flushed, but still referenced. */
	CHECK_EQ(bcache_invalidate(&m->bd), -EBUSY);
	CHECK_EQ(m->mem[9 * 2048 + 100], 0x55);
	bunpin(b);
	CHECK_EQ(bcache_invalidate(&m->bd), 0);
	unsigned r = m->nreads;
	CHECK(touch(m, 9, 2048));
	CHECK_EQ(m->nreads, r + 1);
	md_free(m);
}

TEST(io_errors)
{
	bcache_set_readahead(16 * 1024);
	struct memdev *m = md_new("err");
	m->fail_reads = true;
	CHECK_EQ(t_err_bread(&m->bd, 3, 1024), -EIO);
	CHECK_EQ(t_err_bread(&m->bd, 4, 1024), -EIO);
	CHECK_EQ(t_err_bread(&m->bd, 5, 1024), -EIO);
	CHECK_EQ(stats().referenced, 0);
	m->fail_reads = false;
	CHECK(touch(m, 3, 1024));
	CHECK(touch(m, 4, 1024));

	struct bcache_stats s0 = stats();
	struct buf *b = bgetz(&m->bd, 50, 1024);
	CHECK(!IS_ERR(b));
	bdirty(b);
	brelse(b);
	m->fail_writes = true;
	CHECK_EQ(bcache_flush(&m->bd), -EIO);
	CHECK_EQ(bcache_flush(&m->bd), 0); /* reported once */
	CHECK_EQ(stats().write_errors - s0.write_errors, 1);
	m->fail_writes = false;
	bcache_set_readahead(0);
	md_free(m);
}

TEST(proc_text)
{
	char buf[1024];
	int n = bcache_format_stats(buf, sizeof buf);
	CHECK(n > 0 && n < (int)sizeof buf);
	CHECK_EQ(strlen(buf), n);
	static const char *const keys[] = {
		"hits ",	   "misses ",
		"hit_rate_pct ",   "reads ",
		"writes ",	   "readahead_issued ",
		"readahead_hits ", "evictions ",
		"dirty ",	   "bytes_budget 65536\n"};
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		CHECK(strstr(buf, keys[i]));
	char small[16];
	CHECK_EQ(bcache_format_stats(small, sizeof small), n);
	CHECK_EQ(strlen(small), sizeof small - 1);
}

UNIT_MAIN()
