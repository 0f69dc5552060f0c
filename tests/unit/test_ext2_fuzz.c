// SOURCES: fs/bcache.c fs/blockdev.c fs/ext2_super.c fs/ext2_alloc.c fs/ext2_inode.c fs/ext2_dir.c tests/unit/kern_host.c tests/unit/sync_host.c tests/unit/ext2_util_host.c
/*
 * test_ext2_fuzz.c — a seeded corruptor for ext2 (no libFuzzer needed).
 *
 * Four small template images are made once with mke2fs -d (1, 2 and 4 KiB
 * blocks, one with four block groups; files with single and double indirect blocks, a sparse file,
 * fast and slow symlinks, hard links, a device node, a multi-block and an
 * htree-indexed directory, extended-attribute blocks). debugfs and dumpe2fs
 * tell where their metadata is. Each case copies a template into a RAM
 * disk, corrupts 1-8 (sometimes up to 47) spots of the superblock, group
 * descriptors, bitmaps, inode table, directory or indirect blocks (random
 * bytes, bit flips, boundary values in 1/2/4-byte fields, indirect blocks
 * pointing at themselves, metadata blocks copied over each other), mounts
 * it (a fifth of the cases on a device whose requests fail at random) and
 * walks everything:
 * readdir recursively, stat, read files (start, end, random offsets),
 * readlink, then creates, writes, truncates, links, renames and removes,
 * syncs and unmounts. A case fails if the process crashes (ASan, UBSan, an
 * assertion, a lock taken twice), takes longer than 10 s (SIGALRM), leaves
 * a buffer or inode referenced, or a call returns a value outside its
 * contract.
 *
 * FUZZ_CASES (default 5000) and FUZZ_SEED (default 1) select the batch;
 * `make fuzz` runs a long one with a random seed. A failing case prints
 * its seed and number: rerun with FUZZ_SEED=seed FUZZ_FROM=case
 * FUZZ_CASES=1 to reproduce.
 */
#include <signal.h>
#include <unistd.h>

#include "tests/unit/ext2_tree_host.h"
#include "tests/unit/unit.h"

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

struct region {
	uint64_t off, len;
};

struct tmpl {
	unsigned bsize;
	uint8_t *img;
	size_t size;
	uint32_t blocks_count;
	struct region sb, gdt, meta[64], dirs[64], ind[32], itable;
	unsigned nmeta, ndirs, nind;
};

#define NTMPL 4
static struct tmpl tmpls[NTMPL];

/* Blocks of a path listed by debugfs stat: directory or file data, and
 * indirect blocks. */
static void add_blocks(struct tmpl *t, const char *path, bool dir)
{
	char out[16384];
	host_run(out, sizeof out, "debugfs -R 'stat %s' '%s'", path,
		 host_path("tmpl.img"));
	char *p = strstr(out, "BLOCKS:");
	if (!p)
		return;
	while ((p = strchr(p, '(')) != NULL) {
		bool ind = p[1] == 'I' || p[1] == 'D' || p[1] == 'T';
		char *colon = strchr(p, ':');
		if (!colon)
			break;
		unsigned long b = strtoul(colon + 1, NULL, 10);
		struct region r = {(uint64_t)b * t->bsize, t->bsize};
		if (ind && t->nind < ARRAY_SIZE(t->ind))
			t->ind[t->nind++] = r;
		else if (dir && t->ndirs < ARRAY_SIZE(t->dirs))
			t->dirs[t->ndirs++] = r;
		p = colon;
	}
}

static bool make_template(struct tmpl *t, unsigned bsize, unsigned kb,
			  const char *opts)
{
	const char *src = host_path("fsrc");
	const char *img = host_path("tmpl.img");
	host_run(NULL, 0, "rm -rf '%s'", src);
	int rc = host_run(
		NULL, 0,
		"mkdir -p '%s/d1/d2/d3' '%s/d1/many' '%s/empty' && cd '%s' && "
		"head -c 300000 /dev/urandom > big && echo hello > d1/d2/d3/f && "
		"ln d1/d2/d3/f hard && ln -s d1/d2/d3/f fast && "
		"ln -s %0150d slow && truncate -s 5M sparse && "
		"printf tail | dd of=sparse bs=1 seek=4718592 conv=notrunc "
		"2>/dev/null && for i in $(seq 1 60); do echo $i > "
		"d1/many/a-file-with-a-long-name-$i; done",
		src, src, src, src, 0);
	if (rc || host_mkfs(img, bsize, kb, opts, src))
		return false;
	host_run(NULL, 0, "e2fsck -fyD '%s'", img);
	host_run(NULL, 0,
		 "debugfs -w -R 'mknod cdev c 1 3' '%s' && "
		 "debugfs -w -R 'ea_set /big user.x 0123456789' '%s' && "
		 "debugfs -w -R 'ea_set /d1 user.y abcdefghij' '%s'",
		 img, img, img);
	if (host_fsck(img))
		return false;
	FILE *f = fopen(img, "rb");
	fseek(f, 0, SEEK_END);
	t->size = ftell(f);
	t->img = malloc(t->size);
	fseek(f, 0, SEEK_SET);
	if (fread(t->img, 1, t->size, f) != t->size)
		return false;
	fclose(f);
	t->bsize = bsize;
	memcpy(&t->blocks_count, t->img + 1024 + 4, 4);
	t->sb = (struct region){1024, 1024};
	t->gdt = (struct region){(bsize == 1024 ? 2 : 1) * (uint64_t)bsize,
				 bsize};
	char out[65536];
	host_run(out, sizeof out, "dumpe2fs '%s'", img);
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		unsigned long a, b;
		char *s;
		if ((s = strstr(l, "bitmap at ")) &&
		    sscanf(s, "bitmap at %lu", &a) == 1 &&
		    t->nmeta < ARRAY_SIZE(t->meta))
			t->meta[t->nmeta++] = (struct region){a * bsize, bsize};
		if ((s = strstr(l, "Inode table at ")) &&
		    sscanf(s, "Inode table at %lu-%lu", &a, &b) == 2) {
			if (!t->itable.len)
				t->itable = (struct region){
					a * bsize, (b - a + 1) * bsize};
			if (t->nmeta < ARRAY_SIZE(t->meta))
				t->meta[t->nmeta++] = (struct region){
					a * bsize, (b - a + 1) * bsize};
		}
	}
	static const char *const dirs[] = {"/",		 "/d1",	     "/d1/d2",
					   "/d1/d2/d3",	 "/d1/many", "/empty",
					   "/lost+found"};
	for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++)
		add_blocks(t, dirs[i], true);
	add_blocks(t, "/big", false);
	add_blocks(t, "/sparse", false);
	add_blocks(t, "/slow", false);
	return t->itable.len && t->ndirs && t->nind;
}

/* ---------------------------------------------------------- corruption */

static void poke(uint8_t *img, size_t size, uint64_t off, unsigned width,
		 uint32_t v)
{
	for (unsigned i = 0; i < width && off + i < size; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t interesting(const struct tmpl *t)
{
	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return 0xffffffff;
	case 3:
		return 0x7fffffff;
	case 4:
		return t->blocks_count;
	case 5:
		return t->blocks_count - 1;
	case 6:
		return 2; /* the root inode, the first GDT block... */
	case 7:
		return t->bsize;
	case 8:
		return (uint32_t)below(t->blocks_count + 16);
	case 9:
		return 0x8000 | (uint32_t)below(16);
	case 10:
		return (uint32_t)below(256);
	default:
		return (uint32_t)rnd();
	}
}

static void corrupt(const struct tmpl *t, uint8_t *img)
{
	const struct region *r;
	switch (below(9)) {
	case 0:
		r = &t->sb;
		break;
	case 1:
		r = &t->gdt;
		break;
	case 2:
		r = &t->meta[below(t->nmeta)];
		break;
	case 3:
	case 4: {
		/* The in-use inodes at the start of the table. */
		static struct region used;
		used = (struct region){t->itable.off,
				       MIN(t->itable.len, 80 * 256)};
		r = &used;
		break;
	}
	case 5:
	case 6:
		r = &t->dirs[below(t->ndirs)];
		break;
	case 7:
		r = &t->ind[below(t->nind)];
		break;
	default: {
		static struct region any;
		any = (struct region){0, t->size};
		r = &any;
		break;
	}
	}
	uint64_t off = r->off + below(r->len);
	if (below(10) == 0) {
		/* Cross-link: another metadata block copied over this one
		 * (or a block of this region over another place in it). */
		const struct region *from = below(2) ? &t->dirs[below(t->ndirs)]
						     : &t->ind[below(t->nind)];
		uint64_t dst = r->off + below(r->len / t->bsize + 1) * t->bsize;
		if (dst + t->bsize <= t->size && from->off != dst)
			memcpy(img + dst, t->img + from->off, t->bsize);
		return;
	}
	if (r >= t->ind && r < t->ind + t->nind) {
		if (below(3) == 0) {
			/* An indirect block pointing at itself or another
			 * indirect block. */
			uint32_t self = (uint32_t)(t->ind[below(t->nind)].off /
						   t->bsize);
			poke(img, t->size, off & ~3ull, 4, self);
			return;
		}
	}
	switch (below(4)) {
	case 0:
		img[off] = (uint8_t)rnd();
		break;
	case 1:
		img[off] ^= (uint8_t)(1u << below(8));
		break;
	case 2:
		poke(img, t->size, off & ~1ull, 2, interesting(t));
		break;
	default:
		poke(img, t->size, off & ~3ull, 4, interesting(t));
		break;
	}
}

/* ------------------------------------------------------------- the walk */

struct ent {
	char name[256];
	size_t len;
};

struct dirlist {
	struct ent e[64];
	unsigned n;
};

static int collect(void *ctx, const char *name, size_t len, uint32_t ino,
		   unsigned type)
{
	struct dirlist *d = ctx;
	if (len > EXT2_NAME_MAX)
		abort(); /* the contract: names fit */
	if (d->n == ARRAY_SIZE(d->e))
		return 1;
	memcpy(d->e[d->n].name, name, len);
	d->e[d->n].len = len;
	d->n++;
	return 0;
}

static unsigned visited;
static uint8_t iobuf[70000];

/* A call's result must be 0 or a negative errno. */
static void check_rc(long r)
{
	if (r > 0 || r < -4095)
		abort();
}

static void exercise_file(struct ext2_inode *ip, const struct ext2_stat *st,
			  bool rw)
{
	int64_t r = ext2_read(ip, 0, iobuf, 65536);
	if (r > 65536)
		abort();
	check_rc(r < 0 ? r : 0);
	uint64_t offs[2] = {st->size > 100 ? st->size - 100 : 0,
			    below(st->size + 1)};
	for (int i = 0; i < 2; i++) {
		r = ext2_read(ip, offs[i], iobuf, 8192);
		if (r > 8192)
			abort();
	}
	if (!rw)
		return;
	switch (below(4)) {
	case 0:
		r = ext2_write(ip, below(st->size + 20000), iobuf,
			       below(20000));
		if (r > 20000)
			abort();
		break;
	case 1:
		check_rc(ext2_truncate(ip, below(st->size + 1)));
		break;
	case 2: {
		struct ext2_setattr sa = {.mask = EXT2_ATTR_MODE |
						  EXT2_ATTR_UID,
					  .mode = 0600,
					  .uid = 7};
		check_rc(ext2_setattr(ip, &sa));
		break;
	}
	default:
		break;
	}
}

static void walk(struct ext2_fs *fs, struct ext2_inode *dir, int depth, bool rw,
		 struct ext2_inode *root)
{
	static struct dirlist lists[10];
	struct dirlist *dl = &lists[depth];
	dl->n = 0;
	uint64_t pos = 0;
	check_rc(ext2_readdir(dir, &pos, collect, dl));
	for (unsigned i = 0; i < dl->n && visited < 300; i++) {
		struct ent *e = &dl->e[i];
		if ((e->len == 1 && e->name[0] == '.') ||
		    (e->len == 2 && !memcmp(e->name, "..", 2)))
			continue;
		struct ext2_inode *ip = ext2_lookup(dir, e->name, e->len);
		if (IS_ERR(ip)) {
			check_rc(PTR_ERR(ip));
			continue;
		}
		visited++;
		struct ext2_stat st;
		check_rc(ext2_getattr(ip, &st));
		if (S_ISREG(st.mode)) {
			exercise_file(ip, &st, rw);
		} else if (S_ISLNK(st.mode)) {
			char target[4096];
			int n = ext2_readlink(ip, target, sizeof target);
			if (n > (int)sizeof target)
				abort();
		} else if (S_ISDIR(st.mode) && depth + 1 < 10) {
			walk(fs, ip, depth + 1, rw, root);
		}
		ext2_iput(ip);
	}
	if (!rw)
		return;
	/* Change the directory. */
	const struct ent *pick = dl->n ? &dl->e[below(dl->n)] : NULL;
	static const char *const names[] = {"fz", "fzd", "fzs", "fzl", "fzr"};
	if (below(25) == 0) {
		/* Enough names to need another directory block. */
		char name[40];
		for (int k = 0; k < 40; k++) {
			int len = snprintf(name, sizeof name,
					   "burst-of-names-%02d", k);
			struct ext2_inode *ip = ext2_create(
				dir, name, len, S_IFREG | 0600, 0, 0, 0);
			if (IS_ERR(ip))
				check_rc(PTR_ERR(ip));
			else
				ext2_iput(ip);
		}
	}
	for (int k = 0; k < 3; k++) {
		struct ext2_inode *ip = NULL;
		switch (below(9)) {
		case 0:
			ip = ext2_create(dir, names[0], 2, S_IFREG | 0644, 0, 0,
					 0);
			if (!IS_ERR(ip))
				ext2_write(ip, below(5000), iobuf,
					   below(sizeof iobuf));
			break;
		case 1:
			ip = ext2_create(dir, names[1], 3, S_IFDIR | 0755, 0, 0,
					 0);
			break;
		case 2:
			ip = ext2_symlink(dir, names[2], 3, (char *)iobuf,
					  1 + below(200), 0, 0);
			break;
		case 3:
			if (pick)
				check_rc(ext2_unlink(dir, pick->name,
						     pick->len));
			break;
		case 4:
			if (pick)
				check_rc(
					ext2_rmdir(dir, pick->name, pick->len));
			break;
		case 5:
			if (pick)
				check_rc(ext2_rename(dir, pick->name, pick->len,
						     dir, names[4], 3));
			break;
		case 6:
			if (pick)
				check_rc(ext2_rename(dir, pick->name, pick->len,
						     root, pick->name,
						     pick->len));
			break;
		case 7:
			if (pick)
				check_rc(ext2_rename(root, "d1", 2, dir,
						     pick->name, pick->len));
			break;
		default:
			if (pick) {
				struct ext2_inode *t =
					ext2_lookup(dir, pick->name, pick->len);
				if (!IS_ERR(t)) {
					check_rc(
						ext2_link(dir, names[3], 3, t));
					ext2_iput(t);
				}
			}
			break;
		}
		if (ip && !IS_ERR(ip))
			ext2_iput(ip);
		else if (ip)
			check_rc(PTR_ERR(ip));
	}
}

/* ----------------------------------------------------------- the driver */

/* A RAM disk whose requests fail at random (1 in fail_one_in; 0: never). */
static unsigned fail_one_in;

static int fz_read(struct blockdev *d, uint64_t sector, uint32_t count,
		   void *buf)
{
	if (fail_one_in && below(fail_one_in) == 0)
		return -1;
	memcpy(buf, (uint8_t *)d->priv + sector * 512, (size_t)count * 512);
	return 0;
}

static int fz_write(struct blockdev *d, uint64_t sector, uint32_t count,
		    const void *buf)
{
	if (fail_one_in && below(fail_one_in) == 0)
		return -1;
	memcpy((uint8_t *)d->priv + sector * 512, buf, (size_t)count * 512);
	return 0;
}

static uint64_t cur_seed, cur_case;

static void on_alarm(int sig)
{
	static const char msg[] = "fuzz: case took more than 10 s\n";
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(3);
	abort();
}

static void fail_info(void)
{
	fprintf(stderr, "fuzz: failing case: FUZZ_SEED=%llu FUZZ_FROM=%llu\n",
		(unsigned long long)cur_seed, (unsigned long long)cur_case);
}

static void on_abort(int sig)
{
	fail_info();
	signal(SIGABRT, SIG_DFL);
	abort();
}

static void run_case(uint64_t seed, uint64_t n, unsigned *mounted)
{
	rng = seed * 0x9e3779b97f4a7c15ull + n * 0xbf58476d1ce4e5b9ull + 1;
	for (int i = 0; i < 4; i++)
		rnd();
	const struct tmpl *t = &tmpls[below(NTMPL)];
	static uint8_t *img;
	static size_t cap;
	if (cap < t->size) {
		free(img);
		img = malloc(t->size);
		cap = t->size;
	}
	memcpy(img, t->img, t->size);
	unsigned k = below(4) ? 1 + below(8) : 8 + below(40);
	for (unsigned i = 0; i < k; i++)
		corrupt(t, img);
	for (size_t i = 0; i < sizeof iobuf; i++)
		iobuf[i] = (uint8_t)(i * 7 + n);

	struct blockdev dev;
	ramdisk_init(&dev, "fuzz", img, t->size, false);
	fail_one_in = below(5) ? 0 : 20 + (unsigned)below(500);
	dev.read = fz_read;
	dev.write = fz_write;
	bool ro = below(10) == 0;
	struct ext2_fs *fs = ext2_mount(&dev, ro ? EXT2_MOUNT_RDONLY : 0);
	if (!IS_ERR(fs)) {
		(*mounted)++;
		visited = 0;
		struct ext2_inode *root = ext2_root(fs);
		if (!IS_ERR(root)) {
			walk(fs, root, 0, !ext2_is_readonly(fs), root);
			if (!ext2_is_readonly(fs)) {
				/* A second pass sees the first one's work. */
				visited = 0;
				walk(fs, root, 0, false, root);
			}
			ext2_iput(root);
		}
		struct ext2_statfs sf;
		check_rc(ext2_statfs(fs, &sf));
		check_rc(ext2_sync(fs));
		int r = ext2_unmount(fs);
		if (r == -EBUSY) {
			fprintf(stderr, "fuzz: an inode is still referenced\n");
			abort();
		}
		check_rc(r);
	} else {
		check_rc(PTR_ERR(fs));
	}
	struct bcache_stats st;
	bcache_get_stats(&st);
	if (st.referenced) {
		fprintf(stderr, "fuzz: %u buffers still referenced\n",
			st.referenced);
		abort();
	}
	/* Nothing of this device may stay cached (it is on our stack). */
	fail_one_in = 0;
	if (bcache_invalidate(&dev))
		abort();
}

TEST(corrupted_images)
{
	host_bcache_init(1 << 20);
	CHECK(make_template(&tmpls[0], 1024, 1024, NULL));
	CHECK(make_template(&tmpls[1], 2048, 2048, NULL));
	CHECK(make_template(&tmpls[2], 4096, 4096, "-I 128"));
	CHECK(make_template(&tmpls[3], 1024, 2048, "-g 512 -N 256"));
	const char *e = getenv("FUZZ_CASES");
	uint64_t cases = e ? strtoull(e, NULL, 10) : 5000;
	e = getenv("FUZZ_SEED");
	uint64_t seed = e ? strtoull(e, NULL, 10) : 1;
	e = getenv("FUZZ_FROM");
	uint64_t from = e ? strtoull(e, NULL, 10) : 0;
	host_log_verbose = getenv("FUZZ_VERBOSE") != NULL;
	printf("# seed %llu, cases %llu..%llu\n", (unsigned long long)seed,
	       (unsigned long long)from, (unsigned long long)(from + cases));
	fflush(stdout);
	signal(SIGALRM, on_alarm);
	signal(SIGABRT, on_abort);
	unsigned mounted = 0;
	cur_seed = seed;
	for (uint64_t n = from; n < from + cases; n++) {
		cur_case = n;
		alarm(10);
		run_case(seed, n, &mounted);
	}
	alarm(0);
	signal(SIGABRT, SIG_DFL);
	printf("# %llu cases, %u mounted, %lu lines logged\n",
	       (unsigned long long)cases, mounted, host_log_lines);
	/* The corruptor must not be so blunt that nothing mounts. */
	CHECK(cases < 100 || mounted > cases / 4);
	for (int i = 0; i < NTMPL; i++)
		free(tmpls[i].img);
}

UNIT_MAIN()
