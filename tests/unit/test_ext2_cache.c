// SOURCES: fs/bcache.c fs/blockdev.c fs/ext2_super.c fs/ext2_alloc.c fs/ext2_inode.c fs/ext2_dir.c tests/unit/kern_host.c tests/unit/sync_host.c tests/unit/ext2_util_host.c
/*
 * test_ext2_cache.c — ext2 through a buffer cache far smaller than the
 * work (128 KiB): every block is evicted, written back and read again many
 * times; e2fsck and debugfs must still agree with what we wrote.
 */
#include "tests/unit/ext2_tree_host.h"
#include "tests/unit/unit.h"

static void workload(unsigned bsize)
{
	const char *img = host_path("cache.img");
	CHECK(!host_mkfs(img, bsize, 16384, NULL, NULL));
	struct blockdev *dev = filedev_open(img, 512, false);
	struct ext2_fs *fs = ext2_mount(dev, 0);
	CHECK(!IS_ERR(fs));
	struct bcache_stats s0;
	bcache_get_stats(&s0);

	CHECK_EQ(t_write_pattern(fs, "/big", 3 << 20, 1, 3000), 0);
	uint8_t got[5000], want[5000];
	for (uint64_t off = 0; off < (3 << 20); off += sizeof got) {
		int64_t n = t_pread(fs, "/big", got, sizeof got, off);
		CHECK(n > 0);
		t_fill(want, n, off, 1);
		CHECK(!memcmp(got, want, n));
	}
	char p[64], q[64];
	for (int d = 0; d < 3; d++) {
		snprintf(p, sizeof p, "/d%d", d);
		CHECK_EQ(t_mkdir(fs, p), 0);
		for (int i = 0; i < 100; i++) {
			snprintf(p, sizeof p, "/d%d/file-%d", d, i);
			CHECK_EQ(t_write_pattern(fs, p, i * 37, i, 100), 0);
		}
	}
	for (int i = 0; i < 100; i += 2) {
		snprintf(p, sizeof p, "/d0/file-%d", i);
		snprintf(q, sizeof q, "/d%d/renamed-%d", 1 + i % 2, i);
		CHECK_EQ(t_rename(fs, p, q), 0);
	}
	for (int i = 0; i < 100; i += 3) {
		snprintf(p, sizeof p, "/d2/file-%d", i);
		CHECK_EQ(t_unlink(fs, p, false), 0);
	}
	CHECK_EQ(t_truncate(fs, "/big", 1 << 20), 0);
	CHECK_EQ(t_rename(fs, "/d1", "/d2/d1"), 0);

	struct bcache_stats s1;
	bcache_get_stats(&s1);
	CHECK(s1.evictions > s0.evictions + 100);
	CHECK(s1.ra_hits > s0.ra_hits);
	CHECK(s1.used_bytes <= s1.budget_bytes);
	CHECK_EQ(ext2_unmount(fs), 0);
	filedev_close(dev);
	CHECK(!host_fsck(img));

	dev = filedev_open(img, 512, false);
	fs = ext2_mount(dev, EXT2_MOUNT_RDONLY);
	CHECK(!IS_ERR(fs));
	CHECK_EQ(t_compare_tree(fs, img, "/"), 0);
	CHECK_EQ(ext2_unmount(fs), 0);
	filedev_close(dev);
	bcache_get_stats(&s1);
	CHECK_EQ(s1.referenced, 0);
}

TEST(small_cache_1k)
{
	host_bcache_init(128 * 1024);
	workload(1024);
}

TEST(small_cache_4k)
{
	host_bcache_init(128 * 1024);
	workload(4096);
}

UNIT_MAIN()
