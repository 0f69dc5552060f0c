// SOURCES: fs/bcache.c fs/blockdev.c fs/ext2_super.c fs/ext2_alloc.c fs/ext2_inode.c fs/ext2_dir.c tests/unit/kern_host.c tests/unit/sync_host.c tests/unit/ext2_util_host.c
/*
 * test_ext2.c — ext2 (fs/ext2_*.c) over a file-backed block device, with
 * e2fsprogs as the oracle: images made by mke2fs (-d to pre-populate), our
 * code reads, creates, writes, renames, truncates and removes, then
 * `e2fsck -fn` must find the image clean and debugfs must see the same
 * tree (names, inode numbers, modes, sizes, contents) as we do.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/ext2_tree_host.h"
#include "tests/unit/unit.h"

struct mnt {
	struct blockdev *dev;
	struct ext2_fs *fs;
};

static bool mnt_open(struct mnt *m, const char *img, unsigned flags)
{
	host_bcache_init(4 << 20);
	m->dev = filedev_open(img, 512, false);
	if (!m->dev) {
		printf("# cannot open %s\n", img);
		return false;
	}
	m->fs = ext2_mount(m->dev, flags);
	if (IS_ERR(m->fs)) {
		printf("# mount %s: %d (%s)\n", img, PTR_ERR(m->fs),
		       host_log_last);
		filedev_close(m->dev);
		return false;
	}
	return true;
}

static bool mnt_close(struct mnt *m)
{
	int r = ext2_unmount(m->fs);
	if (r)
		printf("# unmount: %d\n", r);
	else
		filedev_close(m->dev);
	struct bcache_stats st;
	bcache_get_stats(&st);
	if (st.referenced) {
		printf("# %u buffers still referenced\n", st.referenced);
		return false;
	}
	return r == 0;
}

#define MOUNT(m, img, flags) CHECK(mnt_open(&(m), (img), (flags)))
#define UMOUNT(m) CHECK(mnt_close(&(m)))

/* Free blocks and inodes as statfs reports them. */
static void counts(struct ext2_fs *fs, uint64_t *bfree, uint64_t *ffree)
{
	struct ext2_statfs st;
	ext2_statfs(fs, &st);
	*bfree = st.bfree;
	*ffree = st.ffree;
}

static const unsigned bsizes[] = {1024, 2048, 4096};

static void write_host_file(const char *path, uint64_t size, unsigned seed)
{
	FILE *f = fopen(path, "wb");
	uint8_t buf[4096];
	for (uint64_t off = 0; off < size; off += sizeof buf) {
		size_t n = size - off < sizeof buf ? size - off : sizeof buf;
		t_fill(buf, n, off, seed);
		fwrite(buf, 1, n, f);
	}
	fclose(f);
}

/* A host tree for mke2fs -d: files of sizes around the block-map
 * boundaries, a sparse file, symlinks, deep and wide directories. */
static const char *make_src(void)
{
	static char src[256];
	if (src[0])
		return src;
	snprintf(src, sizeof src, "%s", host_path("src"));
	char p[512];
	host_run(NULL, 0, "mkdir -p '%s/a/b/c/d/e' '%s/wide' '%s/empty'", src,
		 src, src);
	static const uint64_t sizes[] = {0,	     1,		1000,
					 1024,	     4096,	5000,
					 12 * 1024,  13 * 1024, 300 * 1024,
					 2100 * 1024};
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		snprintf(p, sizeof p, "%s/f%u", src, i);
		write_host_file(p, sizes[i], i);
	}
	snprintf(p, sizeof p, "%s/a/b/c/d/e/deep", src);
	write_host_file(p, 777, 42);
	for (int i = 0; i < 150; i++) {
		snprintf(p, sizeof p, "%s/wide/entry-with-a-longer-name-%03d",
			 src, i);
		write_host_file(p, i * 10, i);
	}
	host_run(
		NULL, 0,
		"cd '%s' && truncate -s 3M sparse && printf x | dd "
		"of=sparse bs=1 seek=2000000 conv=notrunc 2>/dev/null && ln -s f1 fast "
		"&& ln -s %0100d slow",
		src, 0);
	return src;
}

TEST(mount_geometry)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bsizes); i++) {
		const char *img = host_path("geo.img");
		CHECK(!host_mkfs(img, bsizes[i], 8192, NULL, NULL));
		char out[4096];
		host_run(out, sizeof out, "dumpe2fs -h '%s'", img);
		const char *fb = strstr(out, "Free blocks:");
		const char *fi = strstr(out, "Free inodes:");
		CHECK(fb && fi);
		struct mnt m;
		MOUNT(m, img, 0);
		CHECK(!ext2_is_readonly(m.fs));
		struct ext2_statfs st;
		ext2_statfs(m.fs, &st);
		CHECK_EQ(st.bsize, bsizes[i]);
		CHECK_EQ(st.blocks, 8192 * 1024 / bsizes[i]);
		CHECK_EQ(st.bfree, strtoull(fb + 12, NULL, 10));
		CHECK_EQ(st.ffree, strtoull(fi + 12, NULL, 10));
		CHECK_EQ(st.namelen, 255);
		UMOUNT(m);
		CHECK(!host_fsck(img));
	}
}

TEST(read_mke2fs_tree)
{
	const char *src = make_src();
	for (unsigned i = 0; i < ARRAY_SIZE(bsizes); i++) {
		const char *img = host_path("ro.img");
		CHECK(!host_mkfs(img, bsizes[i], 16384, NULL, src));
		struct mnt m;
		MOUNT(m, img, EXT2_MOUNT_RDONLY);
		CHECK(ext2_is_readonly(m.fs));
		CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
		/* Straight from the source files too. */
		uint8_t want[3000], got[3000];
		t_fill(want, 1000, 0, 2);
		CHECK_EQ(t_pread(m.fs, "/f2", got, sizeof got, 0), 1000);
		CHECK(!memcmp(got, want, 1000));
		CHECK_EQ(t_pread(m.fs, "/a/b/c/d/e/deep", got, 100, 700), 77);
		t_fill(want, 77, 700, 42);
		CHECK(!memcmp(got, want, 77));
		CHECK_EQ(t_pread(m.fs, "/sparse", got, 3000, 1999000), 3000);
		for (int k = 0; k < 3000; k++)
			CHECK_EQ(got[k], k == 1000 ? 'x' : 0);
		char target[200];
		struct ext2_inode *ip = t_walk(m.fs, "/fast");
		CHECK(!IS_ERR(ip));
		CHECK_EQ(ext2_readlink(ip, target, sizeof target), 2);
		CHECK(!memcmp(target, "f1", 2));
		ext2_iput(ip);
		ip = t_walk(m.fs, "/slow");
		CHECK(!IS_ERR(ip));
		CHECK_EQ(ext2_readlink(ip, target, sizeof target), 100);
		CHECK_EQ(ext2_readlink(ip, target, 10), 10);
		ext2_iput(ip);
		UMOUNT(m);
		CHECK(!host_fsck(img));
	}
}

/* Build the same tree with our code on every block size. */
TEST(write_tree)
{
	static const uint64_t sizes[] = {
		0,	    1,	       1023,	      1024,
		1025,	    12 * 1024, 12 * 1024 + 1, 270 * 1024,
		1300 * 1024};
	static const size_t chunks[] = {1000, 4096, 65536};
	for (unsigned i = 0; i < ARRAY_SIZE(bsizes); i++) {
		const char *img = host_path("rw.img");
		CHECK(!host_mkfs(img, bsizes[i], 16384, NULL, NULL));
		struct mnt m;
		MOUNT(m, img, 0);
		CHECK_EQ(t_mkdir(m.fs, "/a"), 0);
		CHECK_EQ(t_mkdir(m.fs, "/a/b"), 0);
		CHECK_EQ(t_mkdir(m.fs, "/a/b/c"), 0);
		CHECK_EQ(t_mkdir(m.fs, "/a/b"), -EEXIST);
		char p[64];
		for (unsigned k = 0; k < ARRAY_SIZE(sizes); k++) {
			snprintf(p, sizeof p, "/a/%s/file%u",
				 k % 2 ? "b" : "b/c", k);
			CHECK_EQ(t_write_pattern(m.fs, p, sizes[k], k,
						 chunks[k % 3]),
				 0);
		}
		for (int k = 0; k < 40; k++) {
			snprintf(p, sizeof p, "/a/n%02d", k);
			CHECK_EQ(t_write_pattern(m.fs, p, 100 + k, k, 64), 0);
		}
		CHECK_EQ(t_symlink(m.fs, "/a/fast", "b/c/file0"), 0);
		char longt[300];
		memset(longt, 'z', sizeof longt - 1);
		longt[sizeof longt - 1] = 0;
		CHECK_EQ(t_symlink(m.fs, "/a/slow", longt), 0);
		longt[59] = 0; /* the longest fast symlink */
		CHECK_EQ(t_symlink(m.fs, "/a/l59", longt), 0);
		longt[59] = 'z';
		longt[60] = 0; /* the shortest slow one */
		CHECK_EQ(t_symlink(m.fs, "/a/l60", longt), 0);
		UMOUNT(m);
		CHECK(!host_fsck(img));
		MOUNT(m, img, EXT2_MOUNT_RDONLY);
		CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
		UMOUNT(m);
		CHECK(t_debugfs_dump(img, "/a/b/c/file8", host_path("o")));
		CHECK(t_host_file_is(host_path("o"), sizes[8], 8));
	}
}

/* 1 KiB blocks: single, double and triple indirect blocks, the largest
 * offset the map reaches, and debugfs's bmap agreeing with our data. */
TEST(indirect_1k)
{
	const char *img = host_path("ind.img");
	CHECK(!host_mkfs(img, 1024, 16384, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	CHECK_EQ(t_write_pattern(m.fs, "/dense", 2 * 1024 * 1024 + 333, 5,
				 7000),
		 0);
	uint8_t buf[4096], want[4096];
	uint64_t max = (12ull + 256 + 65536 + 16777216) * 1024;
	t_fill(buf, 3000, 0, 9);
	CHECK_EQ(t_pwrite(m.fs, "/sparse", buf, 3000, 70ull << 20), 3000);
	CHECK_EQ(t_pwrite(m.fs, "/sparse", "x", 1, max - 1), 1);
	CHECK_EQ(t_pwrite(m.fs, "/sparse", "x", 1, max), -EFBIG);
	struct ext2_stat st;
	CHECK_EQ(t_stat(m.fs, "/sparse", &st), 0);
	CHECK_EQ(st.size, max);
	UMOUNT(m);
	CHECK(!host_fsck(img));

	char out[8192];
	host_run(out, sizeof out, "debugfs -R 'stat /sparse' '%s'", img);
	CHECK(strstr(out, "(TIND)") && strstr(out, "(DIND)"));
	/* debugfs's mapping of logical block 70 MiB / 1 KiB holds our data. */
	host_run(out, sizeof out, "debugfs -R 'bmap /sparse %llu' '%s'",
		 (70ull << 20) / 1024, img);
	char *nl = strrchr(out, '\n');
	while (nl && nl > out && nl[-1] != '\n')
		nl--;
	unsigned long blk = strtoul(strstr(out, "\n") + 1, NULL, 10);
	CHECK(blk > 0);
	FILE *f = fopen(img, "rb");
	CHECK(f);
	fseek(f, (long)blk * 1024, SEEK_SET);
	CHECK_EQ(fread(want, 1, 1024, f), 1024);
	fclose(f);
	CHECK(!memcmp(want, buf, 1024));

	MOUNT(m, img, 0);
	CHECK_EQ(t_pread(m.fs, "/sparse", want, 4096, (70ull << 20) - 1000),
		 4096);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(want[i], 0);
	CHECK(!memcmp(want + 1000, buf, 3000));
	CHECK_EQ(t_pread(m.fs, "/sparse", want, 10, max - 1), 1);
	CHECK_EQ(want[0], 'x');
	CHECK_EQ(t_pread(m.fs, "/sparse", want, 10, max), 0);
	/* Shrink step by step through every level. */
	const uint64_t to[] = {max - 5000, 70ull << 20, 300 * 1024, 268 * 1024,
			       12 * 1024,  100,		0};
	for (unsigned i = 0; i < ARRAY_SIZE(to); i++)
		CHECK_EQ(t_truncate(m.fs, "/sparse", to[i]), 0);
	CHECK_EQ(t_stat(m.fs, "/sparse", &st), 0);
	CHECK_EQ(st.blocks, 0);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

static void set_sb_bits(const char *img, unsigned off, uint32_t set,
			uint32_t clear)
{
	FILE *f = fopen(img, "r+b");
	uint32_t v;
	fseek(f, 1024 + off, SEEK_SET);
	if (fread(&v, 4, 1, f) != 1)
		v = 0;
	v = (v | set) & ~clear;
	fseek(f, 1024 + off, SEEK_SET);
	fwrite(&v, 4, 1, f);
	fclose(f);
}

/* 4 KiB blocks: a file past 4 GiB; LARGE_FILE gets set. */
TEST(large_file_4k)
{
	const char *img = host_path("large.img");
	CHECK(!host_mkfs(img, 4096, 32768, NULL, NULL));
	set_sb_bits(img, 100, 0, 2); /* clear ro_compat LARGE_FILE */
	struct mnt m;
	MOUNT(m, img, 0);
	uint64_t bfree0, ffree0, bfree, ffree;
	counts(m.fs, &bfree0, &ffree0);
	uint8_t buf[8192], got[8192];
	t_fill(buf, sizeof buf, 0, 77);
	uint64_t off = (5ull << 30) + 123;
	CHECK_EQ(t_pwrite(m.fs, "/big", buf, sizeof buf, off), 8192);
	CHECK_EQ(t_pwrite(m.fs, "/big", "head", 4, 0), 4);
	UMOUNT(m);
	CHECK(!host_fsck(img));
	char out[8192];
	host_run(out, sizeof out, "dumpe2fs -h '%s'", img);
	CHECK(strstr(out, "large_file"));
	host_run(out, sizeof out, "debugfs -R 'stat /big' '%s'", img);
	CHECK(strstr(out, "Size: 5368717435"));
	MOUNT(m, img, 0);
	CHECK_EQ(t_pread(m.fs, "/big", got, sizeof got, off), 8192);
	CHECK(!memcmp(got, buf, sizeof got));
	CHECK_EQ(t_truncate(m.fs, "/big", 1ull << 30), 0);
	CHECK_EQ(t_pread(m.fs, "/big", got, 4, 0), 4);
	CHECK(!memcmp(got, "head", 4));
	UMOUNT(m);
	CHECK(!host_fsck(img));
	MOUNT(m, img, 0);
	CHECK_EQ(t_unlink(m.fs, "/big", false), 0);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, bfree0);
	CHECK_EQ(ffree, ffree0);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

TEST(truncate_and_extend)
{
	const char *img = host_path("trunc.img");
	CHECK(!host_mkfs(img, 1024, 8192, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	uint64_t bfree0, ffree0, bfree, ffree;
	counts(m.fs, &bfree0, &ffree0);
	CHECK_EQ(t_write_pattern(m.fs, "/t", 300 * 1024, 3, 4096), 0);
	static const uint64_t sizes[] = {200 * 1024, 12 * 1024 + 1, 12 * 1024,
					 5000,	     1024,	    1};
	uint8_t got[4096], want[4096];
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		CHECK_EQ(t_truncate(m.fs, "/t", sizes[i]), 0);
		uint64_t n = sizes[i] < sizeof got ? sizes[i] : sizeof got;
		uint64_t at = sizes[i] - n;
		CHECK_EQ(t_pread(m.fs, "/t", got, sizeof got, at), n);
		t_fill(want, n, at, 3);
		CHECK(!memcmp(got, want, n));
	}
	/* Growing again reads zeros after the old end. */
	CHECK_EQ(t_truncate(m.fs, "/t", 100 * 1024), 0);
	CHECK_EQ(t_pread(m.fs, "/t", got, sizeof got, 0), sizeof got);
	CHECK_EQ(got[0], want[0]);
	for (unsigned i = 1; i < sizeof got; i++)
		CHECK_EQ(got[i], 0);
	CHECK_EQ(t_pwrite(m.fs, "/t", "y", 1, 50000), 1);
	struct ext2_inode *d = t_walk(m.fs, "/");
	CHECK_EQ(ext2_truncate(d, 0), -EISDIR);
	ext2_iput(d);
	UMOUNT(m);
	CHECK(!host_fsck(img));
	MOUNT(m, img, 0);
	CHECK_EQ(t_pread(m.fs, "/t", got, 2, 49999), 2);
	CHECK_EQ(got[0], 0);
	CHECK_EQ(got[1], 'y');
	CHECK_EQ(t_truncate(m.fs, "/t", 0), 0);
	CHECK_EQ(t_unlink(m.fs, "/t", false), 0);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, bfree0);
	CHECK_EQ(ffree, ffree0);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

/* Create and remove a tree: every block and inode comes back. */
TEST(unlink_rmdir_counts)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bsizes); i++) {
		const char *img = host_path("rm.img");
		CHECK(!host_mkfs(img, bsizes[i], 8192, NULL, NULL));
		struct mnt m;
		MOUNT(m, img, 0);
		uint64_t bfree0, ffree0, bfree, ffree;
		counts(m.fs, &bfree0, &ffree0);
		char p[64];
		for (int d = 0; d < 5; d++) {
			snprintf(p, sizeof p, "/d%d", d);
			CHECK_EQ(t_mkdir(m.fs, p), 0);
			for (int k = 0; k < 20; k++) {
				snprintf(p, sizeof p, "/d%d/f%d", d, k);
				CHECK_EQ(t_write_pattern(m.fs, p,
							 (uint64_t)k * k * 97,
							 k, 3000),
					 0);
			}
		}
		CHECK_EQ(t_unlink(m.fs, "/d0", true), -ENOTEMPTY);
		CHECK_EQ(t_unlink(m.fs, "/d0", false), -EISDIR);
		CHECK_EQ(t_unlink(m.fs, "/d0/f1", true), -ENOTDIR);
		CHECK_EQ(t_unlink(m.fs, "/d0/nothere", false), -ENOENT);
		UMOUNT(m);
		CHECK(!host_fsck(img));
		MOUNT(m, img, 0);
		for (int d = 0; d < 5; d++) {
			for (int k = 0; k < 20; k++) {
				snprintf(p, sizeof p, "/d%d/f%d", d, k);
				CHECK_EQ(t_unlink(m.fs, p, false), 0);
			}
			snprintf(p, sizeof p, "/d%d", d);
			CHECK_EQ(t_unlink(m.fs, p, true), 0);
		}
		counts(m.fs, &bfree, &ffree);
		CHECK_EQ(bfree, bfree0);
		CHECK_EQ(ffree, ffree0);
		UMOUNT(m);
		CHECK(!host_fsck(img));
	}
}

static uint32_t ino_of(struct ext2_fs *fs, const char *path)
{
	struct ext2_stat st;
	return t_stat(fs, path, &st) ? 0 : st.ino;
}

TEST(rename_cases)
{
	const char *img = host_path("ren.img");
	CHECK(!host_mkfs(img, 1024, 8192, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	struct ext2_fs *fs = m.fs;
	CHECK_EQ(t_mkdir(fs, "/d1"), 0);
	CHECK_EQ(t_mkdir(fs, "/d2"), 0);
	CHECK_EQ(t_mkdir(fs, "/d3"), 0);
	CHECK_EQ(t_mkdir(fs, "/d4"), 0);
	CHECK_EQ(t_mkdir(fs, "/d1/sub"), 0);
	CHECK_EQ(t_write_pattern(fs, "/d1/sub/x", 5000, 9, 4096), 0);
	CHECK_EQ(t_write_pattern(fs, "/d4/y", 10, 9, 4096), 0);
	CHECK_EQ(t_write_pattern(fs, "/d1/f1", 3000, 1, 4096), 0);
	CHECK_EQ(t_write_pattern(fs, "/d1/f2", 2000, 2, 4096), 0);
	struct ext2_inode *f1 = t_walk(fs, "/d1/f1");
	struct ext2_inode *d1 = t_walk(fs, "/d1");
	CHECK_EQ(ext2_link(d1, "hl", 2, f1), 0);
	CHECK_EQ(ext2_link(d1, "hl", 2, f1), -EEXIST);
	CHECK_EQ(ext2_link(d1, "dirlink", 7, d1), -EPERM);
	ext2_iput(f1);
	ext2_iput(d1);

	CHECK_EQ(t_rename(fs, "/d1/f1", "/d1/g1"), 0);
	CHECK_EQ(ino_of(fs, "/d1/f1"), 0);
	CHECK_EQ(t_rename(fs, "/d1/g1", "/d2/g1"), 0);
	CHECK_EQ(t_rename(fs, "/d1/f2", "/d2/g1"), 0); /* over a file */
	uint8_t got[3000], want[3000];
	CHECK_EQ(t_pread(fs, "/d2/g1", got, sizeof got, 0), 2000);
	t_fill(want, 2000, 0, 2);
	CHECK(!memcmp(got, want, 2000));
	CHECK_EQ(t_pread(fs, "/d1/hl", got, sizeof got, 0), 3000);
	t_fill(want, 3000, 0, 1);
	CHECK(!memcmp(got, want, 3000));
	struct ext2_stat st;
	CHECK_EQ(t_stat(fs, "/d1/hl", &st), 0);
	CHECK_EQ(st.nlink, 1);

	CHECK_EQ(t_rename(fs, "/d3", "/d4"), -ENOTEMPTY);
	CHECK_EQ(t_rename(fs, "/d1/sub", "/d3"), 0); /* over an empty dir */
	CHECK(ino_of(fs, "/d3/x") != 0);
	CHECK_EQ(t_rename(fs, "/d2/g1", "/d4"), -EISDIR);
	CHECK_EQ(t_rename(fs, "/d4", "/d2/g1"), -ENOTDIR);
	CHECK_EQ(t_rename(fs, "/d3", "/d3/inside"), -EINVAL);
	CHECK_EQ(t_mkdir(fs, "/d3/child"), 0);
	CHECK_EQ(t_rename(fs, "/d3", "/d3/child/deeper"), -EINVAL);
	CHECK_EQ(t_rename(fs, "/d3/child", "/d3"), -ENOTEMPTY);
	CHECK_EQ(t_rename(fs, "/nothere", "/d3/z"), -ENOENT);
	CHECK_EQ(t_rename(fs, "/d3/.", "/d2/z"), -EINVAL);
	CHECK_EQ(t_rename(fs, "/d3", "/d2/.."), -EINVAL);

	/* Two names of one inode: nothing happens. */
	struct ext2_inode *g1 = t_walk(fs, "/d2/g1");
	struct ext2_inode *d2 = t_walk(fs, "/d2");
	CHECK_EQ(ext2_link(d2, "h2", 2, g1), 0);
	ext2_iput(g1);
	ext2_iput(d2);
	CHECK_EQ(t_rename(fs, "/d2/g1", "/d2/h2"), 0);
	CHECK(ino_of(fs, "/d2/g1") &&
	      ino_of(fs, "/d2/g1") == ino_of(fs, "/d2/h2"));

	/* A directory across directories: its ".." follows. */
	CHECK_EQ(t_rename(fs, "/d3", "/d1/moved"), 0);
	CHECK_EQ(ino_of(fs, "/d1/moved/.."), ino_of(fs, "/d1"));
	CHECK_EQ(t_stat(fs, "/d1", &st), 0);
	CHECK_EQ(st.nlink, 3);
	/* A directory over an empty directory elsewhere. */
	CHECK_EQ(t_mkdir(fs, "/d2/empty"), 0);
	CHECK_EQ(t_rename(fs, "/d1/moved", "/d2/empty"), 0);
	CHECK_EQ(ino_of(fs, "/d2/empty/.."), ino_of(fs, "/d2"));
	CHECK_EQ(t_pread(fs, "/d2/empty/x", got, sizeof got, 0), 3000);
	UMOUNT(m);
	CHECK(!host_fsck(img));
	char out[4096];
	host_run(out, sizeof out, "debugfs -R 'ls -p /d2/empty' '%s'", img);
	char expect[64];
	MOUNT(m, img, EXT2_MOUNT_RDONLY);
	snprintf(expect, sizeof expect, "/%u/040755/0/0/../",
		 ino_of(m.fs, "/d2"));
	CHECK(strstr(out, expect));
	CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
	UMOUNT(m);
}

/* A full disk: writes come back short or -ENOSPC, mkdir fails without
 * leaking an inode, and e2fsck finds nothing half-done. */
TEST(enospc)
{
	const char *img = host_path("full.img");
	CHECK(!host_mkfs(img, 1024, 1024, "-N 256", NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	uint64_t bfree0, ffree0, bfree, ffree;
	counts(m.fs, &bfree0, &ffree0);
	CHECK_EQ(t_mkdir(m.fs, "/dir"), 0);
	CHECK_EQ(t_pwrite(m.fs, "/one", "1", 1, 0), 1);
	uint8_t buf[7000];
	t_fill(buf, sizeof buf, 0, 1);
	uint64_t off = 0;
	int64_t r;
	while ((r = t_pwrite(m.fs, "/fill", buf, sizeof buf, off)) ==
	       sizeof buf)
		off += r;
	CHECK(r == -ENOSPC || (r > 0 && r < (int64_t)sizeof buf));
	if (r > 0)
		off += r;
	CHECK_EQ(t_pwrite(m.fs, "/fill", buf, 100, off), -ENOSPC);
	struct ext2_stat st;
	CHECK_EQ(t_stat(m.fs, "/fill", &st), 0);
	CHECK_EQ(st.size, off);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, 0);
	/* One block free; a block behind an indirect one needs two: the
	 * indirect block allocated first is given back. */
	CHECK_EQ(t_unlink(m.fs, "/one", false), 0);
	CHECK_EQ(t_pwrite(m.fs, "/two", "2", 1, 12 * 1024), -ENOSPC);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, 1);
	CHECK_EQ(t_stat(m.fs, "/two", &st), 0);
	CHECK_EQ(st.size, 0);
	CHECK_EQ(st.blocks, 0);
	CHECK_EQ(t_pwrite(m.fs, "/two", "2", 1, 0), 1);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, 0);
	CHECK_EQ(t_mkdir(m.fs, "/nospace"), -ENOSPC);
	CHECK_EQ(t_symlink(m.fs, "/slowlink",
			   "0123456789012345678901234567890123456789012345678"
			   "90123456789012345678901234567890123456789"),
		 -ENOSPC);
	/* Fill the directory's block with names until it needs another. */
	int k, e = 0;
	char p[300];
	for (k = 0; k < 1000 && !e; k++) {
		snprintf(p, sizeof p, "/dir/%0200d", k);
		e = t_mknod(m.fs, p, S_IFREG | 0600, 0);
	}
	CHECK_EQ(e, -ENOSPC);
	uint64_t ffree1;
	counts(m.fs, &bfree, &ffree1);
	CHECK_EQ(ffree1, ffree - (k - 1));
	UMOUNT(m);
	CHECK(!host_fsck(img));
	MOUNT(m, img, 0);
	uint8_t got[7000];
	CHECK_EQ(t_pread(m.fs, "/fill", got, sizeof got, 0), sizeof got);
	CHECK(!memcmp(got, buf, sizeof got));
	CHECK_EQ(t_unlink(m.fs, "/fill", false), 0);
	CHECK_EQ(t_unlink(m.fs, "/two", false), 0);
	for (int i = 0; i < k - 1; i++) {
		snprintf(p, sizeof p, "/dir/%0200d", i);
		CHECK_EQ(t_unlink(m.fs, p, false), 0);
	}
	CHECK_EQ(t_unlink(m.fs, "/dir", true), 0);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, bfree0);
	CHECK_EQ(ffree, ffree0);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

TEST(inode_exhaustion)
{
	const char *img = host_path("ino.img");
	CHECK(!host_mkfs(img, 1024, 2048, "-N 32", NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	uint64_t bfree0, ffree0, bfree, ffree;
	counts(m.fs, &bfree0, &ffree0);
	char p[32];
	int n = 0, e = 0;
	while (!e) {
		snprintf(p, sizeof p, "/%s%d", n % 3 ? "f" : "d", n);
		e = n % 3 ? t_mknod(m.fs, p, S_IFREG | 0644, 0)
			  : t_mkdir(m.fs, p);
		n += !e;
	}
	CHECK_EQ(e, -ENOSPC);
	CHECK_EQ(n, ffree0);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(ffree, 0);
	CHECK_EQ(t_symlink(m.fs, "/sl", "x"), -ENOSPC);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

TEST(readonly)
{
	const char *img = host_path("rofs.img");
	CHECK(!host_mkfs(img, 2048, 4096, NULL, make_src()));
	CHECK_EQ(host_run(NULL, 0, "cp '%s' '%s'", img, host_path("rofs.0")),
		 0);
	struct mnt m;
	MOUNT(m, img, EXT2_MOUNT_RDONLY);
	CHECK_EQ(t_mkdir(m.fs, "/x"), -EROFS);
	CHECK_EQ(t_pwrite(m.fs, "/f3", "a", 1, 0), -EROFS);
	CHECK_EQ(t_truncate(m.fs, "/f3", 0), -EROFS);
	CHECK_EQ(t_unlink(m.fs, "/f3", false), -EROFS);
	CHECK_EQ(t_unlink(m.fs, "/empty", true), -EROFS);
	CHECK_EQ(t_rename(m.fs, "/f3", "/f33"), -EROFS);
	CHECK_EQ(t_symlink(m.fs, "/s", "t"), -EROFS);
	struct ext2_inode *ip = t_walk(m.fs, "/f3");
	struct ext2_setattr sa = {.mask = EXT2_ATTR_MODE, .mode = 0600};
	CHECK_EQ(ext2_setattr(ip, &sa), -EROFS);
	ext2_iput(ip);
	UMOUNT(m);
	CHECK_EQ(host_run(NULL, 0, "cmp '%s' '%s'", img, host_path("rofs.0")),
		 0);

	/* An unknown read-only-compatible feature: read-only mount. */
	set_sb_bits(img, 100, 0x8000, 0);
	MOUNT(m, img, 0);
	CHECK(ext2_is_readonly(m.fs));
	CHECK_EQ(t_mkdir(m.fs, "/x"), -EROFS);
	CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
	UMOUNT(m);
	set_sb_bits(img, 100, 0, 0x8000);

	/* Incompatible features are refused by name. */
	static const struct {
		uint32_t bit;
		const char *name;
	} bad[] = {{0x40, "extents"},	    {0x80, "64bit"},
		   {0x10, "meta_bg"},	    {0x200, "flex_bg"},
		   {0x4, "needs_recovery"}, {0x100000, "0x100000"}};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		set_sb_bits(img, 96, bad[i].bit, 0);
		struct blockdev *dev = filedev_open(img, 512, false);
		struct ext2_fs *fs = ext2_mount(dev, 0);
		CHECK_EQ(t_err(fs), -EINVAL);
		CHECK(strstr(host_log_last, bad[i].name));
		filedev_close(dev);
		set_sb_bits(img, 96, 0, bad[i].bit);
	}
	/* Not ext2 at all. */
	set_sb_bits(img, 56, 0, 0xffff);
	struct blockdev *dev = filedev_open(img, 512, false);
	CHECK_EQ(t_err(ext2_mount(dev, 0)), -EINVAL);
	/* A read-only device. */
	filedev_close(dev);
	set_sb_bits(img, 56, 0xef53, 0);
	dev = filedev_open(img, 512, true);
	struct ext2_fs *fs = ext2_mount(dev, 0);
	CHECK(!IS_ERR(fs));
	CHECK(ext2_is_readonly(fs));
	CHECK_EQ(ext2_unmount(fs), 0);
	filedev_close(dev);
	CHECK(!host_fsck(img));
}

TEST(names)
{
	const char *img = host_path("names.img");
	CHECK(!host_mkfs(img, 1024, 2048, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	struct ext2_inode *root = ext2_root(m.fs);
	char name[300];
	memset(name, 'n', sizeof name);
	struct ext2_inode *ip =
		ext2_create(root, name, 255, S_IFREG | 0644, 0, 0, 0);
	CHECK(!IS_ERR(ip));
	ext2_iput(ip);
	CHECK_EQ(t_err(ext2_create(root, name, 256, S_IFREG, 0, 0, 0)),
		 -ENAMETOOLONG);
	CHECK_EQ(t_err(ext2_lookup(root, name, 256)), -ENAMETOOLONG);
	CHECK_EQ(t_err(ext2_create(root, "a/b", 3, S_IFREG, 0, 0, 0)), -EINVAL);
	CHECK_EQ(t_err(ext2_create(root, "a\0b", 3, S_IFREG, 0, 0, 0)),
		 -EINVAL);
	CHECK_EQ(t_err(ext2_create(root, "", 0, S_IFREG, 0, 0, 0)), -ENOENT);
	CHECK_EQ(t_err(ext2_create(root, ".", 1, S_IFDIR, 0, 0, 0)), -EEXIST);
	CHECK_EQ(t_err(ext2_create(root, "x", 1, S_IFLNK, 0, 0, 0)), -EINVAL);
	CHECK_EQ(ext2_unlink(root, ".", 1), -EINVAL);
	CHECK_EQ(ext2_rmdir(root, ".", 1), -EINVAL);
	CHECK_EQ(ext2_rmdir(root, "..", 2), -ENOTEMPTY);
	CHECK_EQ(ext2_rmdir(root, "lost+found", 10), 0);
	ip = ext2_lookup(root, ".", 1);
	CHECK(ip == root);
	ext2_iput(ip);
	ip = ext2_lookup(root, "..", 2);
	CHECK(ip == root);
	ext2_iput(ip);
	CHECK_EQ(t_err(ext2_lookup(root, name, 254)), -ENOENT);
	char target[2048];
	memset(target, 't', sizeof target);
	CHECK_EQ(t_err(ext2_symlink(root, "s", 1, target, 1024, 0, 0)),
		 -ENAMETOOLONG);
	CHECK_EQ(t_err(ext2_symlink(root, "s", 1, target, 0, 0, 0)), -ENOENT);
	ip = ext2_symlink(root, "s", 1, target, 1023, 0, 0);
	CHECK(!IS_ERR(ip));
	CHECK_EQ(ext2_readlink(ip, target, sizeof target), 1023);
	CHECK_EQ(ext2_write(ip, 0, "x", 1), -EINVAL);
	ext2_iput(ip);
	CHECK_EQ(ext2_readlink(root, target, 10), -EINVAL);
	CHECK_EQ(ext2_write(root, 0, "x", 1), -EISDIR);
	ext2_iput(root);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

struct rd {
	int calls, stop_every;
	char names[700][16];
	int n;
};

static int rd_fn(void *ctx, const char *name, size_t len, uint32_t ino,
		 unsigned type)
{
	struct rd *r = ctx;
	if (r->stop_every && ++r->calls % r->stop_every == 0)
		return 1;
	if (len < 16 && r->n < 700) {
		memcpy(r->names[r->n], name, len);
		r->names[r->n][len] = 0;
		r->n++;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

TEST(readdir_many)
{
	const char *img = host_path("many.img");
	CHECK(!host_mkfs(img, 1024, 8192, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	CHECK_EQ(t_mkdir(m.fs, "/many"), 0);
	char p[64];
	for (int i = 0; i < 600; i++) {
		snprintf(p, sizeof p, "/many/name%04d", i);
		CHECK_EQ(t_mknod(m.fs, p, S_IFREG | 0644, 0), 0);
	}
	for (int i = 0; i < 600; i += 2) {
		snprintf(p, sizeof p, "/many/name%04d", i);
		CHECK_EQ(t_unlink(m.fs, p, false), 0);
	}
	CHECK_EQ(t_mkdir(m.fs, "/many/sub"), 0);
	struct ext2_inode *dir = t_walk(m.fs, "/many");
	for (int stop = 0; stop < 8; stop += 7) {
		static struct rd r;
		memset(&r, 0, sizeof r);
		r.stop_every = stop;
		uint64_t pos = 0, last = 1;
		while (pos != last) {
			last = pos;
			CHECK_EQ(ext2_readdir(dir, &pos, rd_fn, &r), 0);
		}
		CHECK_EQ(r.n, 303);
		qsort(r.names, r.n, sizeof r.names[0], cmp_names);
		CHECK_STR(r.names[0], ".");
		CHECK_STR(r.names[1], "..");
		CHECK_STR(r.names[2], "name0001");
		CHECK_STR(r.names[301], "name0599");
		CHECK_STR(r.names[302], "sub");
	}
	uint64_t pos = 0;
	static struct rd r;
	memset(&r, 0, sizeof r);
	CHECK_EQ(ext2_readdir(dir, &pos, rd_fn, &r), 0);
	CHECK_EQ(r.n, 303);
	memset(&r, 0, sizeof r);
	CHECK_EQ(ext2_readdir(dir, &pos, rd_fn, &r), 0);
	CHECK_EQ(r.n, 0);
	ext2_iput(dir);
	UMOUNT(m);
	CHECK(!host_fsck(img));
	MOUNT(m, img, EXT2_MOUNT_RDONLY);
	CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
	UMOUNT(m);
}

/* A directory indexed by e2fsck -D (dir_index htree): found by a linear
 * scan; changed, it loses its index flag and stays consistent. */
TEST(htree_directory)
{
	const char *src = host_path("hsrc");
	char p[512];
	host_run(NULL, 0, "mkdir -p '%s/big'", src);
	for (int i = 0; i < 400; i++) {
		snprintf(p, sizeof p, "%s/big/some-file-name-%d", src, i);
		write_host_file(p, 1, i);
	}
	const char *img = host_path("htree.img");
	CHECK(!host_mkfs(img, 1024, 8192, NULL, src));
	host_run(NULL, 0, "e2fsck -fyD '%s'", img);
	char out[4096];
	host_run(out, sizeof out, "debugfs -R 'stat /big' '%s'", img);
	CHECK(strstr(out, "Flags: 0x1000"));
	struct mnt m;
	MOUNT(m, img, 0);
	CHECK(ino_of(m.fs, "/big/some-file-name-399") != 0);
	for (int i = 0; i < 400; i += 3) {
		snprintf(p, sizeof p, "/big/some-file-name-%d", i);
		CHECK_EQ(t_unlink(m.fs, p, false), 0);
	}
	for (int i = 0; i < 60; i++) {
		snprintf(p, sizeof p, "/big/new-%d", i);
		CHECK_EQ(t_mknod(m.fs, p, S_IFREG | 0644, 0), 0);
	}
	UMOUNT(m);
	CHECK(!host_fsck(img));
	host_run(out, sizeof out, "debugfs -R 'stat /big' '%s'", img);
	CHECK(strstr(out, "Flags: 0x0"));
	MOUNT(m, img, EXT2_MOUNT_RDONLY);
	CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
	UMOUNT(m);
}

/* Extended-attribute blocks are freed with their last inode; a shared
 * one (h_refcount 2) survives its first user. */
TEST(xattr_block)
{
	const char *src = host_path("xsrc");
	char img[256];
	snprintf(img, sizeof img, "%s", host_path("xattr.img"));
	host_run(NULL, 0,
		 "mkdir -p '%s' && cd '%s' && echo f > f && echo g > g "
		 "&& echo h > h",
		 src, src);
	CHECK(!host_mkfs(img, 1024, 2048, "-I 128", src));
	CHECK_EQ(host_run(NULL, 0,
			  "debugfs -w -R 'ea_set /f user.test hello' '%s' && "
			  "debugfs -w -R 'ea_set /g user.t2 world' '%s'",
			  img, img),
		 0);
	char out[4096];
	host_run(out, sizeof out, "debugfs -R 'stat /f' '%s'", img);
	char *acl = strstr(out, "File ACL: ");
	CHECK(acl);
	unsigned long blk = strtoul(acl + 10, NULL, 10);
	CHECK(blk > 0);
	/* /h shares /f's block. */
	CHECK_EQ(
		host_run(NULL, 0,
			 "debugfs -w -R 'sif /h file_acl %lu' '%s' && "
			 "debugfs -w -R 'sif /h blocks 4' '%s' && printf '\\002' | "
			 "dd of='%s' bs=1 seek=%lu conv=notrunc",
			 blk, img, img, img, blk * 1024 + 4),
		0);
	CHECK(!host_fsck(img));
	struct mnt m;
	MOUNT(m, img, 0);
	uint64_t bfree0, ffree0, bfree, ffree;
	counts(m.fs, &bfree0, &ffree0);
	CHECK_EQ(t_unlink(m.fs, "/f", false), 0);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, bfree0 + 1); /* its data block only */
	UMOUNT(m);
	CHECK(!host_fsck(img));
	MOUNT(m, img, 0);
	CHECK_EQ(t_unlink(m.fs, "/g", false), 0);
	CHECK_EQ(t_unlink(m.fs, "/h", false), 0);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(ffree, ffree0 + 3);
	CHECK_EQ(bfree, bfree0 + 5); /* three data, two xattr blocks */
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

TEST(hardlinks_and_open_unlinked)
{
	const char *img = host_path("links.img");
	CHECK(!host_mkfs(img, 4096, 4096, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	uint64_t bfree0, ffree0, bfree, ffree;
	counts(m.fs, &bfree0, &ffree0);
	CHECK_EQ(t_write_pattern(m.fs, "/a", 100000, 4, 5000), 0);
	struct ext2_inode *a = t_walk(m.fs, "/a");
	struct ext2_inode *root = ext2_root(m.fs);
	CHECK_EQ(ext2_link(root, "b", 1, a), 0);
	struct ext2_stat st;
	ext2_getattr(a, &st);
	CHECK_EQ(st.nlink, 2);
	CHECK_EQ(ext2_unlink(root, "a", 1), 0);
	CHECK_EQ(ext2_unlink(root, "b", 1), 0);
	ext2_getattr(a, &st);
	CHECK_EQ(st.nlink, 0);
	uint8_t got[5000], want[5000];
	CHECK_EQ(ext2_read(a, 50000, got, sizeof got), 5000);
	t_fill(want, 5000, 50000, 4);
	CHECK(!memcmp(got, want, 5000));
	CHECK_EQ(ext2_link(root, "c", 1, a), -ENOENT);
	CHECK_EQ(ext2_unmount(m.fs), -EBUSY);
	ext2_iput(a);
	ext2_iput(root);
	counts(m.fs, &bfree, &ffree);
	CHECK_EQ(bfree, bfree0);
	CHECK_EQ(ffree, ffree0);
	/* A second mount of a mounted device is refused. */
	CHECK_EQ(t_err(ext2_mount(m.dev, 0)), -EBUSY);
	UMOUNT(m);
	CHECK(!host_fsck(img));
}

TEST(devices_and_attributes)
{
	const char *img = host_path("dev.img");
	CHECK(!host_mkfs(img, 1024, 2048, NULL, NULL));
	struct mnt m;
	MOUNT(m, img, 0);
	CHECK_EQ(t_mknod(m.fs, "/null", S_IFCHR | 0666, (1 << 8) | 3), 0);
	CHECK_EQ(t_mknod(m.fs, "/sda", S_IFBLK | 0660, (8 << 8) | 0), 0);
	CHECK_EQ(t_mknod(m.fs, "/big", S_IFCHR | 0600,
			 (300 << 8) | 5 | (0x12u << 20)),
		 0);
	CHECK_EQ(t_mknod(m.fs, "/fifo", S_IFIFO | 0644, 0), 0);
	CHECK_EQ(t_mknod(m.fs, "/sock", S_IFSOCK | 0755, 0), 0);
	CHECK_EQ(t_mknod(m.fs, "/plain", 0640, 0), 0);
	CHECK_EQ(t_write_pattern(m.fs, "/f", 10, 1, 10), 0);
	struct ext2_inode *ip = t_walk(m.fs, "/f");
	struct ext2_setattr sa = {
		.mask = EXT2_ATTR_MODE | EXT2_ATTR_UID | EXT2_ATTR_GID |
			EXT2_ATTR_MTIME | EXT2_ATTR_ATIME | EXT2_ATTR_SIZE,
		.mode = S_IFDIR | 04711, /* the type cannot change */
		.uid = 100000,
		.gid = 100,
		.mtime = 1000000000,
		.atime = 1000000001,
		.size = 5,
	};
	CHECK_EQ(ext2_setattr(ip, &sa), 0);
	struct ext2_stat st;
	ext2_getattr(ip, &st);
	CHECK_EQ(st.mode, S_IFREG | 04711);
	CHECK_EQ(st.uid, 100000);
	CHECK_EQ(st.size, 5);
	CHECK_EQ(st.mtime, 1000000000);
	ext2_iput(ip);
	CHECK_EQ(t_stat(m.fs, "/null", &st), 0);
	CHECK_EQ(st.rdev, (1 << 8) | 3);
	CHECK_EQ(t_stat(m.fs, "/big", &st), 0);
	CHECK_EQ(st.rdev, (300 << 8) | 5 | (0x12u << 20));
	CHECK_EQ(t_stat(m.fs, "/plain", &st), 0);
	CHECK_EQ(st.mode, S_IFREG | 0640);
	CHECK_EQ(t_pread(m.fs, "/null", &st, 1, 0), -EINVAL);
	UMOUNT(m);
	CHECK(!host_fsck(img));
	char out[8192];
	host_run(out, sizeof out, "debugfs -R 'stat /null' '%s'", img);
	CHECK(strstr(out, "Device major/minor number: 01:03"));
	host_run(out, sizeof out, "debugfs -R 'stat /f' '%s'", img);
	CHECK(strstr(out, "User: 100000"));
	CHECK(strstr(out, "Group:   100"));
	CHECK(strstr(out, "Mode:  04711"));
	MOUNT(m, img, EXT2_MOUNT_RDONLY);
	CHECK_EQ(t_compare_tree(m.fs, img, "/"), 0);
	UMOUNT(m);
}

/* Device errors never crash and leave no buffer referenced; the mount
 * fails or the operation returns -EIO. */
TEST(io_errors)
{
	const char *img = host_path("eio.img");
	CHECK(!host_mkfs(img, 1024, 4096, NULL, make_src()));
	CHECK_EQ(host_run(NULL, 0, "cp '%s' '%s'", img, host_path("eio.0")), 0);
	int mounted = 0, failed = 0;
	for (long n = 0; n < 120; n += 3) {
		struct blockdev *dev = filedev_open(img, 512, false);
		filedev_fail(dev, n, -1);
		struct ext2_fs *fs = ext2_mount(dev, 0);
		if (IS_ERR(fs)) {
			CHECK(PTR_ERR(fs) == -EIO);
			failed++;
			filedev_close(dev);
			continue;
		}
		mounted++;
		uint8_t buf[8192];
		t_pread(fs, "/f9", buf, sizeof buf, 100000);
		t_pread(fs, "/a/b/c/d/e/deep", buf, sizeof buf, 0);
		t_pwrite(fs, "/new", buf, sizeof buf, 0);
		t_mkdir(fs, "/wide/newdir");
		t_unlink(fs, "/f5", false);
		t_rename(fs, "/f6", "/wide/f6");
		/* The unmount may fail to write; it still unmounts. */
		filedev_fail(dev, -1, -1);
		int r = ext2_unmount(fs);
		if (r != 0 && r != -EIO)
			printf("# unmount after %ld reads: %d\n", n, r);
		CHECK(r == 0 || r == -EIO);
		filedev_close(dev);
		struct bcache_stats st;
		bcache_get_stats(&st);
		CHECK_EQ(st.referenced, 0);
		host_run(NULL, 0, "cp '%s' '%s'", host_path("eio.0"), img);
	}
	CHECK(mounted > 0 && failed > 0);
	/* Writes failing: the flush reports -EIO once. */
	struct blockdev *dev = filedev_open(img, 512, false);
	struct ext2_fs *fs = ext2_mount(dev, 0);
	CHECK(!IS_ERR(fs));
	filedev_fail(dev, -1, 0);
	CHECK_EQ(t_write_pattern(fs, "/w", 50000, 1, 4096), 0);
	CHECK_EQ(ext2_sync(fs), -EIO);
	filedev_fail(dev, -1, -1);
	CHECK_EQ(ext2_sync(fs), 0);
	CHECK_EQ(ext2_unmount(fs), 0);
	filedev_close(dev);
}

UNIT_MAIN()
