/*
 * procfs.c — the "proc" file system on /proc: files whose contents a
 * generator writes when they are opened.
 *
 * Interface (fs/vfs.h): procfs_register (a file), procfs_register_rw (a
 * file with a write handler), procfs_register_link (a symlink),
 * procfs_register_dynset (directories that come and go, e.g. /proc/<pid>,
 * whose files may have write handlers too); procfs_init registers meminfo,
 * uptime, mounts, bcache and the type.
 *
 * Static entries form a tree of pnodes that only grows: a node is filled
 * in completely before it is linked into its parent's list (under
 * reg_lock, with a release store), so lookups walk the tree without a
 * lock. Inode numbers: a static node's index (the root is 1); an entry of
 * a dynamic set is DYN | set << 56 | key << 8 | file (0xff for the
 * entry's directory), so keys must fit in 48 bits.
 *
 * Opening a file for reading calls its generator once into a buffer
 * (grown and called again if too small); reads serve that snapshot at the
 * file's offset, so a reader sees one consistent text however it splits
 * its reads.
 *
 * Writing (Linux's /proc control-file semantics): only files with a write
 * handler may be opened for writing (-EACCES otherwise). A write must be
 * the whole value, at offset 0, at most PROCFS_WRITE_MAX bytes; it is
 * copied into a NUL-terminated buffer, one trailing newline is dropped and
 * the handler called with the text. A second write on the same descriptor
 * is at offset != 0 and gets -EINVAL, as does a longer one; nothing is
 * kept between writes. Truncation (O_TRUNC, `>` in a shell) is accepted
 * and does nothing. The vnode's write operation is the one entry point:
 * write-only opens use the VFS's vnode file ops, read-write opens the
 * snapshot's, which call it too.
 */
#include "arch/x86/arch.h"
#include "arch/x86/pci.h"
#include "fs/fs.h"
#include "fs/vfs_impl.h"
#include "vm/vm.h"

#define PNAME_MAX 32
#define DYNSETS_MAX 16
#define DYN_INO (1ull << 63)
#define DYN_DIR 0xff
#define DYN_LIST_MAX 1024 /* entries of one dynamic set readdir shows */
#define SNAP_MAX (4u << 20)

enum pkind { P_DIR, P_FILE, P_LINK };

struct pnode {
	char name[PNAME_MAX];
	enum pkind kind;
	procfs_gen_fn gen;
	procfs_write_fn write; /* P_FILE: NULL for a read-only file */
	void *arg;
	int dyn; /* P_DIR: index of its dynamic set, or -1 */
	struct pnode *parent, *children, *next;
	uint32_t index;
};

static struct pnode proot = {.kind = P_DIR, .dyn = -1, .index = 1};
static uint32_t next_index = 2;
static const struct procfs_dynset *dynsets[DYNSETS_MAX];
static int ndynsets;
static struct sleeplock reg_lock = {.name = "procfs"};

/* A vnode's priv: a static node, or (node, key, file) of a dynamic set. */
struct pvn {
	struct pnode *node;
	bool dyn;
	uint64_t key;
	unsigned file; /* DYN_DIR: the entry's directory */
};

/* ------------------------------------------------------------ registry */

static struct pnode *child_named(struct pnode *dir, const char *name,
				 size_t len)
{
	for (struct pnode *c =
		     __atomic_load_n(&dir->children, __ATOMIC_ACQUIRE);
	     c; c = c->next)
		if (strlen(c->name) == len && !memcmp(c->name, name, len))
			return c;
	return NULL;
}

/* reg_lock held. A new node named (name, len) in dir, or NULL. It is
 * filled in before it is linked, so lock-free readers see it whole. */
static struct pnode *add_node(struct pnode *dir, const char *name, size_t len,
			      enum pkind kind, procfs_gen_fn gen,
			      procfs_write_fn write, void *arg)
{
	if (len == 0 || len >= PNAME_MAX)
		return NULL;
	struct pnode *n = kzalloc(sizeof *n);
	if (!n)
		return NULL;
	memcpy(n->name, name, len);
	n->kind = kind;
	n->gen = gen;
	n->write = write;
	n->arg = arg;
	n->dyn = -1;
	n->parent = dir;
	n->index = next_index++;
	/* Append, so readdir lists entries in registration order. */
	struct pnode **pp = &dir->children;
	while (*pp)
		pp = &(*pp)->next;
	__atomic_store_n(pp, n, __ATOMIC_RELEASE);
	return n;
}

/* reg_lock held. The directory at path (made if mkdirs), or NULL; *err. */
static struct pnode *walk_dirs(const char *path, size_t plen, bool mkdirs,
			       int *err)
{
	struct pnode *dir = &proot;
	size_t i = 0;
	while (i < plen) {
		size_t j = i;
		while (j < plen && path[j] != '/')
			j++;
		if (j == i || (j - i == 1 && path[i] == '.') ||
		    (j - i == 2 && path[i] == '.' && path[i + 1] == '.')) {
			*err = -EINVAL;
			return NULL;
		}
		struct pnode *c = child_named(dir, path + i, j - i);
		if (!c && mkdirs)
			c = add_node(dir, path + i, j - i, P_DIR, NULL, NULL,
				     NULL);
		if (!c || c->kind != P_DIR) {
			*err = c ? -ENOTDIR : mkdirs ? -ENOMEM : -ENOENT;
			return NULL;
		}
		dir = c;
		i = j + 1;
	}
	return dir;
}

static int reg(const char *path, enum pkind kind, procfs_gen_fn gen,
	       procfs_write_fn write, void *arg)
{
	size_t len = strnlen(path, 256);
	const char *slash = NULL;
	for (const char *s = path; *s; s++)
		if (*s == '/')
			slash = s;
	const char *name = slash ? slash + 1 : path;
	size_t nlen = len - (size_t)(name - path);
	if (!gen || len == 0 || len == 256 || nlen == 0 || nlen >= PNAME_MAX ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	sleeplock_acquire(&reg_lock);
	int err = 0;
	struct pnode *dir =
		walk_dirs(path, slash ? (size_t)(slash - path) : 0, true, &err);
	if (dir && child_named(dir, name, nlen))
		err = -EEXIST;
	if (dir && !err && !add_node(dir, name, nlen, kind, gen, write, arg))
		err = -ENOMEM;
	sleeplock_release(&reg_lock);
	return err;
}

int procfs_register(const char *path, procfs_gen_fn gen, void *arg)
{
	return reg(path, P_FILE, gen, NULL, arg);
}

int procfs_register_rw(const char *path, procfs_gen_fn gen,
		       procfs_write_fn write, void *arg)
{
	return write ? reg(path, P_FILE, gen, write, arg) : -EINVAL;
}

int procfs_register_link(const char *path, procfs_gen_fn gen, void *arg)
{
	return reg(path, P_LINK, gen, NULL, arg);
}

int procfs_register_dynset(const char *dir, const struct procfs_dynset *set)
{
	if (!set || !set->list || !set->lookup || !set->name ||
	    set->nfiles >= DYN_DIR)
		return -EINVAL;
	for (unsigned i = 0; i < set->nfiles; i++)
		if (set->files[i].link && set->files[i].write)
			return -EINVAL;
	sleeplock_acquire(&reg_lock);
	int err = 0;
	struct pnode *d = walk_dirs(dir, strnlen(dir, 256), true, &err);
	if (d && d->dyn >= 0)
		err = -EEXIST;
	else if (d && ndynsets == DYNSETS_MAX)
		err = -ENOSPC;
	if (d && !err) {
		dynsets[ndynsets] = set;
		__atomic_store_n(&d->dyn, ndynsets, __ATOMIC_RELEASE);
		ndynsets++;
	}
	sleeplock_release(&reg_lock);
	return err;
}

/* ------------------------------------------------------------ vnodes */

static const struct vnode_ops procfs_vops;

static const struct procfs_dynset *set_of(const struct pnode *n)
{
	int d = __atomic_load_n(&n->dyn, __ATOMIC_ACQUIRE);
	return d >= 0 ? dynsets[d] : NULL;
}

static uint64_t pvn_ino(const struct pvn *p)
{
	if (!p->dyn)
		return p->node->index;
	return DYN_INO | (uint64_t)p->node->dyn << 56 |
	       (p->key & 0xffffffffffffull) << 8 | p->file;
}

static enum vtype pvn_type(const struct pvn *p)
{
	if (p->dyn && p->file == DYN_DIR)
		return VDIR;
	if (p->dyn)
		return set_of(p->node)->files[p->file].link ? VLNK : VREG;
	return p->node->kind == P_DIR	 ? VDIR
	       : p->node->kind == P_LINK ? VLNK
					 : VREG;
}

static int pvget(struct mount *m, const struct pvn *want, struct vnode **out)
{
	uint64_t ino = pvn_ino(want);
	struct vnode *vn = vcache_find(m, ino);
	if (vn) {
		*out = vn;
		return 0;
	}
	struct pvn *p = kmalloc(sizeof *p);
	if (!p)
		return -ENOMEM;
	*p = *want;
	vn = vnode_alloc(m, ino, pvn_type(p), &procfs_vops, p);
	if (!vn) {
		kfree(p);
		return -ENOMEM;
	}
	*out = vcache_add(vn);
	return 0;
}

static int procfs_lookup(struct vnode *dir, const char *name, size_t len,
			 struct vnode **out)
{
	const struct pvn *d = dir->priv;
	struct pvn want = {d->node, false, 0, 0};
	if (len == 1 && name[0] == '.')
		return pvget(dir->mnt, d, out);
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		if (d->dyn) /* the entry's directory is in node */
			return pvget(dir->mnt, &want, out);
		want.node = d->node->parent ? d->node->parent : &proot;
		return pvget(dir->mnt, &want, out);
	}
	const struct procfs_dynset *set = set_of(d->node);
	if (d->dyn) {
		for (unsigned i = 0; i < set->nfiles; i++) {
			const char *fn = set->files[i].name;
			if (strlen(fn) == len && !memcmp(fn, name, len)) {
				want = (struct pvn){d->node, true, d->key, i};
				return pvget(dir->mnt, &want, out);
			}
		}
		return -ENOENT;
	}
	struct pnode *c = child_named(d->node, name, len);
	if (c) {
		want.node = c;
		return pvget(dir->mnt, &want, out);
	}
	uint64_t key;
	if (set && set->lookup(set->arg, name, len, &key) == 0) {
		want = (struct pvn){d->node, true, key, DYN_DIR};
		return pvget(dir->mnt, &want, out);
	}
	return len > NAME_MAX ? -ENAMETOOLONG : -ENOENT;
}

static unsigned dtype_of(enum pkind k)
{
	return k == P_DIR ? DT_DIR : k == P_LINK ? DT_LNK : DT_REG;
}

static int procfs_readdir(struct vnode *dir, uint64_t *pos, vfs_filldir_fn fn,
			  void *ctx)
{
	const struct pvn *d = dir->priv;
	for (; *pos < 2; ++*pos) /* "." then "..": p + 1 bytes of ".." */
		if (fn(ctx, "..", *pos + 1, dir->ino, DT_DIR, *pos + 1))
			return 0;
	const struct procfs_dynset *set = set_of(d->node);
	if (d->dyn) {
		for (; *pos - 2 < set->nfiles; ++*pos) {
			const struct procfs_dynfile *f = &set->files[*pos - 2];
			struct pvn e = {d->node, true, d->key,
					(unsigned)*pos - 2};
			if (fn(ctx, f->name, strlen(f->name), pvn_ino(&e),
			       f->link ? DT_LNK : DT_REG, *pos + 1))
				return 0;
		}
		return 0;
	}
	uint64_t i = 2;
	for (struct pnode *c =
		     __atomic_load_n(&d->node->children, __ATOMIC_ACQUIRE);
	     c; c = c->next, i++) {
		if (i < *pos)
			continue;
		if (fn(ctx, c->name, strlen(c->name), c->index,
		       dtype_of(c->kind), i + 1))
			return 0;
		*pos = i + 1;
	}
	if (!set)
		return 0;
	uint64_t *keys = kmalloc(DYN_LIST_MAX * sizeof *keys);
	if (!keys)
		return -ENOMEM;
	int n = set->list(set->arg, keys, DYN_LIST_MAX);
	n = MIN(n, DYN_LIST_MAX);
	char name[PNAME_MAX];
	for (int k = 0; k < n; k++, i++) {
		if (i < *pos)
			continue;
		set->name(set->arg, keys[k], name, sizeof name);
		struct pvn e = {d->node, true, keys[k], DYN_DIR};
		if (fn(ctx, name, strnlen(name, sizeof name), pvn_ino(&e),
		       DT_DIR, i + 1))
			break;
		*pos = i + 1;
	}
	kfree(keys);
	return 0;
}

/* The generator of a file or link vnode, with its argument. */
static procfs_gen_fn gen_of(const struct pvn *p, void **arg)
{
	if (p->dyn) {
		const struct procfs_dynset *set = set_of(p->node);
		*arg = set->arg;
		return set->files[p->file].gen;
	}
	*arg = p->node->arg;
	return p->node->gen;
}

/* The write handler of a vnode (NULL: not writable), with its argument
 * in *arg if arg is not NULL. */
static procfs_write_fn write_of(const struct pvn *p, void **arg)
{
	if (p->dyn && p->file == DYN_DIR)
		return NULL;
	if (p->dyn) {
		const struct procfs_dynset *set = set_of(p->node);
		if (arg)
			*arg = set->arg;
		return set->files[p->file].write;
	}
	if (arg)
		*arg = p->node->arg;
	return p->node->kind == P_FILE ? p->node->write : NULL;
}

static int procfs_getattr(struct vnode *vn, struct vattr *va)
{
	va->ino = vn->ino;
	va->blksize = 4096;
	switch (vn->type) {
	case VDIR:
		va->mode = S_IFDIR | 0555;
		va->nlink = 2;
		break;
	case VLNK:
		va->mode = S_IFLNK | 0777;
		va->nlink = 1;
		break;
	default:
		va->mode = S_IFREG | (write_of(vn->priv, NULL) ? 0644 : 0444);
		va->nlink = 1;
		break;
	}
	uint64_t now = time_ns();
	va->atime.tv_sec = va->mtime.tv_sec = va->ctime.tv_sec =
		(int64_t)(now / 1000000000);
	return 0;
}

static int procfs_readlink(struct vnode *vn, char *buf, size_t size)
{
	const struct pvn *p = vn->priv;
	void *arg;
	procfs_gen_fn gen = gen_of(p, &arg);
	int n = gen(buf, size, arg, p->key);
	return n < 0 ? n : (int)MIN((size_t)n, size);
}

struct snapshot {
	size_t len;
	char data[];
};

static int64_t snap_read(struct file *f, void *buf, size_t len, uint64_t off)
{
	const struct snapshot *s = f->priv;
	if (off >= s->len)
		return 0;
	size_t n = MIN(len, s->len - (size_t)off);
	memcpy(buf, s->data + off, n);
	return (int64_t)n;
}

/* The one write path (see the top of the file): the whole value at 0. */
static int64_t procfs_write(struct vnode *vn, uint64_t off, const void *buf,
			    size_t len)
{
	const struct pvn *p = vn->priv;
	void *arg;
	procfs_write_fn write = write_of(p, &arg);
	if (!write || off != 0 || len > PROCFS_WRITE_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	char text[PROCFS_WRITE_MAX + 1];
	memcpy(text, buf, len);
	size_t n = text[len - 1] == '\n' ? len - 1 : len;
	text[n] = 0;
	int rc = write(arg, p->key, text, n);
	return rc < 0 ? rc : (int64_t)len;
}

static int64_t snap_write(struct file *f, const void *buf, size_t len,
			  uint64_t off)
{
	return procfs_write(f->vn, off, buf, len);
}

static void snap_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops snap_fops = {
	.read = snap_read,
	.write = snap_write,
	.release = snap_release,
};

/* Truncation of a writable file is accepted and changes nothing (a
 * shell's `>` opens with O_TRUNC); nothing else may be set. */
static int procfs_setattr(struct vnode *vn, const struct vsetattr *sa)
{
	if (sa->mask != VA_SIZE || !write_of(vn->priv, NULL))
		return -EPERM;
	return 0;
}

static int procfs_open(struct vnode *vn, struct file *f)
{
	if (vn->type != VREG)
		return 0;
	const struct pvn *p = vn->priv;
	int acc = f->flags & O_ACCMODE;
	if (acc != O_RDONLY && !write_of(p, NULL))
		return -EACCES;
	if (acc == O_WRONLY)
		return 0; /* the VFS's vnode file ops: procfs_write */
	void *arg;
	procfs_gen_fn gen = gen_of(p, &arg);
	size_t size = 4096;
	for (;;) {
		struct snapshot *s = kmalloc(sizeof *s + size);
		if (!s)
			return -ENOMEM;
		int n = gen(s->data, size, arg, p->key);
		if (n >= 0 && (size_t)n < size) {
			s->len = (size_t)n;
			f->priv = s;
			f->ops = &snap_fops;
			return 0;
		}
		kfree(s);
		if (n < 0)
			return n;
		if ((size_t)n + 1 > SNAP_MAX)
			return -EFBIG;
		size = (size_t)n + 1;
	}
}

static void procfs_inactive(struct vnode *vn)
{
	kfree(vn->priv);
}

static const struct vnode_ops procfs_vops = {
	.lookup = procfs_lookup,
	.readdir = procfs_readdir,
	.getattr = procfs_getattr,
	.setattr = procfs_setattr,
	.readlink = procfs_readlink,
	.write = procfs_write,
	.open = procfs_open,
	.inactive = procfs_inactive,
};

static int procfs_mount(struct mount *m, struct blockdev *dev, unsigned flags)
{
	struct pvn root = {&proot, false, 0, 0};
	return pvget(m, &root, &m->root);
}

static int procfs_unmount(struct mount *m)
{
	return 0;
}

static struct fstype procfs_type = {
	.name = "proc",
	.mount = procfs_mount,
	.unmount = procfs_unmount,
};

/* ------------------------------------------------------------ the files */

static int gen_meminfo(char *buf, size_t size, void *arg, uint64_t key)
{
	struct mem_stats ms;
	struct bcache_stats bs;
	mem_get_stats(&ms);
	bcache_get_stats(&bs);
	const struct {
		const char *name;
		uint64_t bytes;
	} rows[] = {
		{"MemTotal:", ms.total_bytes},
		{"MemFree:", ms.free_bytes},
		{"MemAvailable:", ms.free_bytes},
		{"Buffers:", bs.used_bytes},
		{"Cached:", 0},
		{"SwapTotal:", 0},
		{"SwapFree:", 0},
		{"Slab:", ms.heap_bytes},
	};
	size_t len = 0;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t room = len < size ? size - len : 0;
		len += (size_t)snprintf(room ? buf + len : NULL, room,
					"%-16s%8lu kB\n", rows[i].name,
					(unsigned long)(rows[i].bytes >> 10));
	}
	/* Shoal's own: live kernel heap blocks (a leak makes it grow). */
	size_t room = len < size ? size - len : 0;
	len += (size_t)snprintf(room ? buf + len : NULL, room, "%-16s%8lu\n",
				"KernelAllocs:", (unsigned long)ms.heap_allocs);
	return (int)len;
}

static int gen_uptime(char *buf, size_t size, void *arg, uint64_t key)
{
	uint64_t cs = time_ns() / 10000000; /* centiseconds */
	uint64_t idle = sched_idle_ns() / 10000000;
	return snprintf(buf, size, "%lu.%02lu %lu.%02lu\n",
			(unsigned long)(cs / 100), (unsigned long)(cs % 100),
			(unsigned long)(idle / 100),
			(unsigned long)(idle % 100));
}

static int gen_interrupts(char *buf, size_t size, void *arg, uint64_t key)
{
	struct irq_stat st[64];
	unsigned n = irq_stats(st, ARRAY_SIZE(st));
	size_t len = 0;
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(st); i++) {
		size_t room = len < size ? size - len : 0;
		char src[16] = "-";
		if (st[i].irq >= 0)
			snprintf(src, sizeof src, "%d", st[i].irq);
		len += (size_t)snprintf(room ? buf + len : NULL, room,
					"%3u: %12lu  %-4s %-14s %s\n",
					st[i].vector,
					(unsigned long)st[i].count, src,
					st[i].name,
					st[i].owner ? st[i].owner : "");
	}
	return (int)len;
}

static int gen_pci(char *buf, size_t size, void *arg, uint64_t key)
{
	return pci_format(buf, size);
}

static int gen_mounts(char *buf, size_t size, void *arg, uint64_t key)
{
	return vfs_format_mounts(buf, size);
}

static int gen_bcache(char *buf, size_t size, void *arg, uint64_t key)
{
	return bcache_format_stats(buf, size);
}

void procfs_init(void)
{
	procfs_register("meminfo", gen_meminfo, NULL);
	procfs_register("uptime", gen_uptime, NULL);
	procfs_register("mounts", gen_mounts, NULL);
	procfs_register("bcache", gen_bcache, NULL);
	procfs_register("interrupts", gen_interrupts, NULL);
	procfs_register("pci", gen_pci, NULL);
	vfs_register_fstype(&procfs_type);
}
