/*
 * ext2_tree_host.h — path-level helpers over fs/fs.h's ext2 calls for the
 * host tests (test_ext2*.c): walk absolute paths, create, write and read
 * whole files, and compare a mounted file system with what debugfs sees
 * in the same image. Header-only; each test binary includes it once.
 */
#ifndef TESTS_UNIT_EXT2_TREE_HOST_H
#define TESTS_UNIT_EXT2_TREE_HOST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "tests/unit/ext2_host.h"

/* The inode at an absolute path ("/" is the root), or ERR_PTR. */
static inline struct ext2_inode *t_walk(struct ext2_fs *fs, const char *path)
{
	struct ext2_inode *ip = ext2_root(fs);
	while (!IS_ERR(ip) && *path) {
		while (*path == '/')
			path++;
		size_t n = strcspn(path, "/");
		if (!n)
			break;
		struct ext2_inode *next = ext2_lookup(ip, path, n);
		ext2_iput(ip);
		ip = next;
		path += n;
	}
	return ip;
}

/* The parent directory of path (referenced) and the last component. */
static inline struct ext2_inode *t_parent(struct ext2_fs *fs, const char *path,
					  const char **name, size_t *len)
{
	const char *slash = strrchr(path, '/');
	char dir[1024];
	size_t dl = slash ? (size_t)(slash - path) : 0;
	snprintf(dir, sizeof dir, "%.*s", (int)dl, path);
	*name = slash ? slash + 1 : path;
	*len = strlen(*name);
	return t_walk(fs, dir[0] ? dir : "/");
}

static inline int t_err(void *p)
{
	return IS_ERR(p) ? PTR_ERR(p) : 0;
}

/* Create a node (mode gives the type); returns 0 or -errno. */
static inline int t_mknod(struct ext2_fs *fs, const char *path, uint32_t mode,
			  uint32_t rdev)
{
	const char *name;
	size_t len;
	struct ext2_inode *dir = t_parent(fs, path, &name, &len);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	struct ext2_inode *ip = ext2_create(dir, name, len, mode, 0, 0, rdev);
	ext2_iput(dir);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	ext2_iput(ip);
	return 0;
}

static inline int t_mkdir(struct ext2_fs *fs, const char *path)
{
	return t_mknod(fs, path, S_IFDIR | 0755, 0);
}

static inline int t_symlink(struct ext2_fs *fs, const char *path,
			    const char *target)
{
	const char *name;
	size_t len;
	struct ext2_inode *dir = t_parent(fs, path, &name, &len);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	struct ext2_inode *ip =
		ext2_symlink(dir, name, len, target, strlen(target), 0, 0);
	ext2_iput(dir);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	ext2_iput(ip);
	return 0;
}

/* Write len bytes at off of path, creating it if needed. Returns what
 * ext2_write returned. */
static inline int64_t t_pwrite(struct ext2_fs *fs, const char *path,
			       const void *buf, size_t len, uint64_t off)
{
	struct ext2_inode *ip = t_walk(fs, path);
	if (IS_ERR(ip) && PTR_ERR(ip) == -ENOENT) {
		int err = t_mknod(fs, path, S_IFREG | 0644, 0);
		if (err)
			return err;
		ip = t_walk(fs, path);
	}
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	int64_t r = ext2_write(ip, off, buf, len);
	ext2_iput(ip);
	return r;
}

static inline int64_t t_pread(struct ext2_fs *fs, const char *path, void *buf,
			      size_t len, uint64_t off)
{
	struct ext2_inode *ip = t_walk(fs, path);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	int64_t r = ext2_read(ip, off, buf, len);
	ext2_iput(ip);
	return r;
}

static inline int t_stat(struct ext2_fs *fs, const char *path,
			 struct ext2_stat *st)
{
	struct ext2_inode *ip = t_walk(fs, path);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	ext2_getattr(ip, st);
	ext2_iput(ip);
	return 0;
}

static inline int t_unlink(struct ext2_fs *fs, const char *path, bool dir)
{
	const char *name;
	size_t len;
	struct ext2_inode *d = t_parent(fs, path, &name, &len);
	if (IS_ERR(d))
		return PTR_ERR(d);
	int r = dir ? ext2_rmdir(d, name, len) : ext2_unlink(d, name, len);
	ext2_iput(d);
	return r;
}

static inline int t_rename(struct ext2_fs *fs, const char *from, const char *to)
{
	const char *on, *nn;
	size_t ol, nl;
	struct ext2_inode *od = t_parent(fs, from, &on, &ol);
	if (IS_ERR(od))
		return PTR_ERR(od);
	struct ext2_inode *nd = t_parent(fs, to, &nn, &nl);
	if (IS_ERR(nd)) {
		ext2_iput(od);
		return PTR_ERR(nd);
	}
	int r = ext2_rename(od, on, ol, nd, nn, nl);
	ext2_iput(od);
	ext2_iput(nd);
	return r;
}

static inline int t_truncate(struct ext2_fs *fs, const char *path,
			     uint64_t size)
{
	struct ext2_inode *ip = t_walk(fs, path);
	if (IS_ERR(ip))
		return PTR_ERR(ip);
	int r = ext2_truncate(ip, size);
	ext2_iput(ip);
	return r;
}

/* Deterministic file contents: byte at offset off of stream `seed`. */
static inline void t_fill(uint8_t *buf, size_t n, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = off + i;
		buf[i] = (uint8_t)(x * 131 + seed * 7 + (x >> 10) + (x >> 17));
	}
}

/* Write size bytes of stream seed to path in chunks of `chunk`. */
static inline int t_write_pattern(struct ext2_fs *fs, const char *path,
				  uint64_t size, unsigned seed, size_t chunk)
{
	uint8_t *buf = malloc(chunk);
	int err = 0;
	for (uint64_t off = 0; off < size && !err; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		t_fill(buf, n, off, seed);
		int64_t r = t_pwrite(fs, path, buf, n, off);
		if (r != (int64_t)n)
			err = r < 0 ? (int)r : -EIO;
	}
	if (!size)
		err = t_mknod(fs, path, S_IFREG | 0644, 0);
	free(buf);
	return err;
}

/* Does a host file hold exactly size bytes of stream seed? */
static inline bool t_host_file_is(const char *host, uint64_t size,
				  unsigned seed)
{
	FILE *f = fopen(host, "rb");
	if (!f)
		return false;
	uint8_t buf[8192], want[8192];
	uint64_t off = 0;
	size_t n;
	bool ok = true;
	while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) {
		t_fill(want, n, off, seed);
		ok = !memcmp(buf, want, n);
		off += n;
	}
	fclose(f);
	return ok && off == size;
}

/* debugfs's view of one path: dump it to a host file. */
static inline bool t_debugfs_dump(const char *img, const char *path,
				  const char *out)
{
	char msg[1024];
	remove(out);
	host_run(msg, sizeof msg, "debugfs -R 'dump %s %s' '%s'", path, out,
		 img);
	FILE *f = fopen(out, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

struct t_entry {
	char name[256];
	uint32_t ino, mode;
	uint64_t size;
	bool seen;
};

static inline int t_collect(void *ctx, const char *name, size_t len,
			    uint32_t ino, unsigned type)
{
	struct t_entry **v = ctx;
	size_t n = 0;
	while ((*v)[n].name[0])
		n++;
	*v = realloc(*v, (n + 2) * sizeof **v);
	memset(&(*v)[n], 0, 2 * sizeof **v);
	memcpy((*v)[n].name, name, len);
	(*v)[n].ino = ino;
	(*v)[n].mode = type;
	return 0;
}

/*
 * Compare directory `path` of a mounted fs, recursively, with debugfs's
 * view of img: the same names, inode numbers, modes and sizes; regular
 * files up to 4 MiB the same bytes. Returns the number of differences
 * (each printed as a TAP comment).
 */
static inline int t_compare_tree(struct ext2_fs *fs, const char *img,
				 const char *path)
{
	int bad = 0;
	struct ext2_inode *dir = t_walk(fs, path);
	if (IS_ERR(dir)) {
		printf("# %s: walk failed %d\n", path, PTR_ERR(dir));
		return 1;
	}
	struct t_entry *ours = calloc(1, sizeof *ours);
	uint64_t pos = 0;
	int err = ext2_readdir(dir, &pos, t_collect, &ours);
	ext2_iput(dir);
	if (err) {
		printf("# %s: readdir failed %d\n", path, err);
		free(ours);
		return 1;
	}
	char *out = malloc(1 << 20), *save = NULL;
	struct {
		char path[1024];
		uint64_t size;
	} *files = NULL;
	int nfiles = 0;
	host_run(out, 1 << 20, "debugfs -R 'ls -p %s' '%s'", path, img);
	int theirs = 0;
	for (char *l = strtok_r(out, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		unsigned ino, mode, uid, gid;
		char name[300];
		unsigned long long size = 0;
		if (l[0] != '/' ||
		    sscanf(l, "/%u/%o/%u/%u/%299[^/]/%llu/", &ino, &mode, &uid,
			   &gid, name, &size) < 5 ||
		    ino == 0) /* an empty slot, listed by debugfs */
			continue;
		theirs++;
		struct t_entry *e = ours;
		while (e->name[0] && strcmp(e->name, name))
			e++;
		if (!e->name[0]) {
			printf("# %s/%s: debugfs has it, we do not\n", path,
			       name);
			bad++;
			continue;
		}
		e->seen = true;
		if (e->ino != ino) {
			printf("# %s/%s: inode %u, debugfs %u\n", path, name,
			       e->ino, ino);
			bad++;
			continue;
		}
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		char child[1024];
		snprintf(child, sizeof child, "%s/%s",
			 strcmp(path, "/") ? path : "", name);
		struct ext2_stat st;
		if (t_stat(fs, child, &st)) {
			printf("# %s: stat failed\n", child);
			bad++;
			continue;
		}
		if (st.mode != mode || (S_ISREG(mode) && st.size != size)) {
			printf("# %s: mode %o size %llu, debugfs %o %llu\n",
			       child, st.mode, (unsigned long long)st.size,
			       mode, size);
			bad++;
		}
		if (S_ISDIR(mode)) {
			bad += t_compare_tree(fs, img, child);
		} else if (S_ISREG(mode) && size <= (4u << 20)) {
			files = realloc(files, (nfiles + 1) * sizeof *files);
			snprintf(files[nfiles].path, sizeof files[nfiles].path,
				 "%s", child);
			files[nfiles++].size = size;
		} else if (S_ISLNK(mode)) {
			char target[4096];
			int n = 0;
			struct ext2_inode *ip = t_walk(fs, child);
			if (!IS_ERR(ip)) {
				n = ext2_readlink(ip, target, sizeof target);
				ext2_iput(ip);
			}
			if (n != (int)st.size) {
				printf("# %s: readlink %d\n", child, n);
				bad++;
			}
		}
	}
	if (!theirs)
		printf("# debugfs ls -p %s said: %.300s\n", path, out);
	/* The regular files' contents, dumped by one debugfs run. */
	if (nfiles) {
		char cmds[300];
		snprintf(cmds, sizeof cmds, "%s/cmp.cmds", host_tmpdir());
		FILE *cf = fopen(cmds, "w");
		for (int i = 0; i < nfiles; i++)
			fprintf(cf, "dump %s %s/cmp.%d\n", files[i].path,
				host_tmpdir(), i);
		fclose(cf);
		host_run(NULL, 0, "debugfs -f '%s' '%s'", cmds, img);
	}
	for (int i = 0; i < nfiles; i++) {
		char host[300];
		snprintf(host, sizeof host, "%s/cmp.%d", host_tmpdir(), i);
		uint64_t size = files[i].size;
		uint8_t *a = malloc(size + 1), *b = malloc(size + 1);
		FILE *f = fopen(host, "rb");
		if (!f || fread(a, 1, size + 1, f) != size ||
		    t_pread(fs, files[i].path, b, size + 1, 0) !=
			    (int64_t)size ||
		    memcmp(a, b, size)) {
			printf("# %s: contents differ\n", files[i].path);
			bad++;
		}
		if (f)
			fclose(f);
		remove(host);
		free(a);
		free(b);
	}
	free(files);
	int n = 0;
	for (struct t_entry *e = ours; e->name[0]; e++, n++)
		if (!e->seen) {
			printf("# %s/%s: we have it, debugfs does not\n", path,
			       e->name);
			bad++;
		}
	if (n != theirs) {
		printf("# %s: %d entries, debugfs %d\n", path, n, theirs);
		bad++;
	}
	free(ours);
	free(out);
	return bad;
}

#endif
