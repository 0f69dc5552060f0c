/*
 * bcache.c — the buffer cache: block buffers shared by every file system.
 *
 * Interface (fs/fs.h): bcache_init sets the pool; bread/bgetz return a
 * locked, referenced buffer; bdirty marks it for a delayed write; bwrite
 * writes at once; brelse drops it; bpin/bunpin keep a block cached;
 * bcache_flush writes dirty buffers in (device, block) order and
 * bcache_invalidate forgets a device; bcache_get_stats/format_stats report.
 *
 * The pool: `budget` bytes of block data, allocated from the heap as
 * buffers are first used (kmalloc never sleeps, so it is called with the
 * cache lock held), and budget/1 KiB headers. A buffer is
 *   free    no data, on the free list;
 *   cached  data, in the hash table (keyed by device and block); on the LRU
 *           list exactly when refcnt == 0 (most recently used at the head).
 * A new buffer takes a free header while the data budget allows, else the
 * least recently used clean unreferenced buffer (reusing its data when the
 * sizes match). When every unreferenced buffer is dirty, the oldest is
 * written back first; when every buffer is referenced the caller sleeps.
 *
 * Read-ahead: each device remembers the block a sequential reader would
 * read next (after its last miss or read-ahead hit; other hits, such as an
 * indirect block read between data blocks, do not count). A miss on that
 * block reads it together with up to the window's following uncached
 * blocks in one device request; those buffers carry B_RA until first used
 * (a read-ahead hit).
 *
 * Locks: bc.lock (a spinlock, innermost) protects the lists, the hash,
 * refcnt, flags and the counters; each buffer's sleeplock protects its data
 * and serializes its I/O and is held from bread to brelse. A thread holding
 * several buffer locks takes them in ascending (device, block) order, as
 * read-ahead and flush do. bc.flush_lock serializes flushes (it guards the
 * sort array) and is taken before any buffer lock.
 */
#include "fs/fs.h"
#include "kern/kern.h"
#include "kern/sync.h"
#include "vm/vm.h"

#define RA_MAX_BYTES (64 * 1024)
#define RUN_MAX_BUFS 64 /* buffers in one read-ahead or write-back request */
#define FLUSH_RUN_BYTES (64 * 1024)
#define LRU_SKIP 8 /* dirty buffers a victim search looks past */

static struct {
	struct spinlock lock;
	struct buf *bufs;
	unsigned nbuf;
	struct buf **hash;
	unsigned hmask;
	struct buf lru; /* sentinel: next = most recent, prev = oldest */
	struct buf freel; /* sentinel: headers without data */
	size_t budget, used;
	size_t ra_bytes;
	struct waitq wait; /* threads waiting for an unreferenced buffer */
	unsigned waiters;
	struct bcache_stats st;
	struct sleeplock flush_lock;
	struct buf **sortv; /* flush's array, under flush_lock */
} bc;

/* ---------------------------------------------------------- list helpers */

static void list_init(struct buf *s)
{
	s->next = s->prev = s;
}

static bool list_empty(const struct buf *s)
{
	return s->next == s;
}

static void list_del(struct buf *b)
{
	b->prev->next = b->next;
	b->next->prev = b->prev;
	b->next = b->prev = NULL;
}

static void list_add_head(struct buf *s, struct buf *b)
{
	b->next = s->next;
	b->prev = s;
	s->next->prev = b;
	s->next = b;
}

static void list_add_tail(struct buf *s, struct buf *b)
{
	list_add_head(s->prev, b);
}

static unsigned hash_of(const struct blockdev *dev, uint64_t blockno)
{
	uint64_t h = ((uintptr_t)dev >> 4) ^ (blockno * 0x9e3779b97f4a7c15ull);
	return (unsigned)(h >> 32 ^ h) & bc.hmask;
}

/* Caller holds bc.lock. */
static struct buf *lookup(const struct blockdev *dev, uint64_t blockno)
{
	for (struct buf *b = bc.hash[hash_of(dev, blockno)]; b; b = b->hnext)
		if (b->dev == dev && b->blockno == blockno)
			return b;
	return NULL;
}

/* Caller holds bc.lock. */
static void hash_insert(struct buf *b)
{
	unsigned h = hash_of(b->dev, b->blockno);
	b->hnext = bc.hash[h];
	bc.hash[h] = b;
}

/* Caller holds bc.lock. */
static void hash_remove(struct buf *b)
{
	struct buf **pp = &bc.hash[hash_of(b->dev, b->blockno)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	KASSERT(*pp == b);
	*pp = b->hnext;
	b->hnext = NULL;
}

/* Turn an unreferenced cached buffer into a free header. Caller holds
 * bc.lock and has taken b off the LRU list. */
static void drop_data(struct buf *b)
{
	hash_remove(b);
	kfree(b->data);
	bc.used -= b->size;
	b->data = NULL;
	b->dev = NULL;
	b->flags = 0;
	list_add_head(&bc.freel, b);
}

int bcache_init(size_t bytes)
{
	if (bytes < 64 * 1024)
		bytes = 64 * 1024;
	unsigned n = bytes / 1024;
	unsigned hsize = 64;
	while (hsize < n / 2)
		hsize <<= 1;
	bc.bufs = kzalloc(sizeof(struct buf) * n);
	bc.hash = kzalloc(sizeof(struct buf *) * hsize);
	bc.sortv = kzalloc(sizeof(struct buf *) * n);
	if (!bc.bufs || !bc.hash || !bc.sortv) {
		kfree(bc.bufs);
		kfree(bc.hash);
		kfree(bc.sortv);
		bc.bufs = NULL;
		return -ENOMEM;
	}
	spin_init(&bc.lock, "bcache");
	sleeplock_init(&bc.flush_lock, "bcache-flush");
	waitq_init(&bc.wait);
	list_init(&bc.lru);
	list_init(&bc.freel);
	for (unsigned i = 0; i < n; i++) {
		sleeplock_init(&bc.bufs[i].lock, "buf");
		list_add_tail(&bc.freel, &bc.bufs[i]);
	}
	bc.nbuf = n;
	bc.hmask = hsize - 1;
	bc.budget = bytes;
	bc.used = 0;
	bc.ra_bytes = 32 * 1024;
	return 0;
}

void bcache_set_readahead(size_t bytes)
{
	spin_lock(&bc.lock);
	bc.ra_bytes = MIN(bytes, (size_t)RA_MAX_BYTES);
	spin_unlock(&bc.lock);
}

/*
 * Find memory for a new buffer of `size` bytes: returns a header holding
 * size bytes of data, on no list and not hashed, or NULL. With NULL, *wb
 * (if wb is given) is the oldest unreferenced buffer, dirty (as are the
 * LRU_SKIP oldest), for the caller to write back, or NULL if every buffer
 * is referenced. Caller holds bc.lock.
 */
static struct buf *alloc_buf(uint32_t size, struct buf **wb)
{
	if (wb)
		*wb = NULL;
	for (;;) {
		if (!list_empty(&bc.freel) && bc.used + size <= bc.budget) {
			struct buf *h = bc.freel.next;
			h->data = kmalloc(size);
			if (h->data) {
				list_del(h);
				bc.used += size;
				h->size = size;
				h->flags = 0;
				return h;
			}
		}
		/* The oldest clean buffer, looking past a few dirty ones. */
		struct buf *v = NULL;
		unsigned k = 0;
		for (struct buf *b = bc.lru.prev; b != &bc.lru && k < LRU_SKIP;
		     b = b->prev, k++) {
			if (!(b->flags & B_DIRTY)) {
				v = b;
				break;
			}
		}
		if (!v) {
			if (wb && !list_empty(&bc.lru))
				*wb = bc.lru.prev;
			return NULL;
		}
		list_del(v);
		if (v->flags & B_VALID)
			bc.st.evictions++;
		if (v->size == size) {
			hash_remove(v);
			v->flags = 0;
			return v;
		}
		drop_data(v);
	}
}

static void write_run(struct buf **v, unsigned n, uint8_t *bounce, bool old);

/*
 * Write back the oldest buffer v (unreferenced, dirty) together with the
 * unreferenced dirty buffers that follow it on the device, in one request;
 * they go back to the old end of the LRU list, clean, ready for reuse.
 * Called with bc.lock held; returns with it held, having dropped it.
 */
static void write_back_cluster(struct buf *v)
{
	struct buf *run[RUN_MAX_BUFS];
	unsigned n = 0, max = MIN(FLUSH_RUN_BYTES / v->size, RUN_MAX_BUFS);
	for (struct buf *b = v; b && n < max;
	     b = lookup(v->dev, v->blockno + n)) {
		if (b->size != v->size || b->refcnt || !(b->flags & B_DIRTY))
			break;
		list_del(b);
		b->refcnt++;
		run[n++] = b;
	}
	spin_unlock(&bc.lock);
	uint8_t *bounce = n > 1 ? kmalloc((size_t)n * v->size) : NULL;
	write_run(run, n, bounce, true);
	kfree(bounce);
	spin_lock(&bc.lock);
}

/*
 * The buffer for (dev, blockno), referenced and locked, valid or not.
 */
static struct buf *get(struct blockdev *dev, uint64_t blockno, uint32_t size)
{
	if (size < 512 || size > 4096 || (size & (size - 1)) ||
	    size < dev->sector_size || blockno >= blockdev_size(dev) / size)
		return ERR_PTR(-EINVAL);
	spin_lock(&bc.lock);
	for (;;) {
		struct buf *b = lookup(dev, blockno);
		if (b && b->size == size) {
			if (b->refcnt++ == 0)
				list_del(b);
			spin_unlock(&bc.lock);
			sleeplock_acquire(&b->lock);
			return b;
		}
		if (b) {
			/* Another block size on this device: drop the stale
			 * buffer if nobody uses it (see bcache_invalidate). */
			if (b->refcnt) {
				spin_unlock(&bc.lock);
				printk(KERN_ERR "bcache: %s block %llu in use "
						"with size %u, not %u\n",
				       dev->name, (unsigned long long)blockno,
				       b->size, size);
				return ERR_PTR(-EINVAL);
			}
			if (b->flags & B_DIRTY) {
				write_back_cluster(b);
				continue;
			}
			list_del(b);
			drop_data(b);
		}
		struct buf *wb;
		b = alloc_buf(size, &wb);
		if (b) {
			b->dev = dev;
			b->blockno = blockno;
			b->refcnt = 1;
			hash_insert(b);
			spin_unlock(&bc.lock);
			sleeplock_acquire(&b->lock);
			return b;
		}
		if (wb) {
			write_back_cluster(wb);
			continue;
		}
		if (bc.used == 0) {
			/* Nothing cached and the heap is empty. */
			spin_unlock(&bc.lock);
			return ERR_PTR(-ENOMEM);
		}
		/* Every buffer is referenced: wait for a brelse. */
		bc.waiters++;
		waitq_sleep(&bc.wait, &bc.lock);
		bc.waiters--;
	}
}

/*
 * Read-ahead on a miss of `b` (locked, not valid): collect the following
 * blocks that are not cached (up to the window, stopping at the first
 * cached one or when no clean buffer is free), read the run with one
 * request, and fill every buffer still not valid. Returns the read's result
 * for b. Buffers are locked in ascending block order.
 */
static int read_run(struct buf *b)
{
	struct blockdev *dev = b->dev;
	uint32_t size = b->size;
	struct buf *ra[RUN_MAX_BUFS];
	unsigned n = 0, want = 0;

	spin_lock(&bc.lock);
	if (bc.ra_bytes >= 2 * size && dev->bc.seq > 0)
		want = MIN(bc.ra_bytes / size - 1, RUN_MAX_BUFS);
	uint64_t last = blockdev_size(dev) / size;
	while (n < want && b->blockno + 1 + n < last) {
		uint64_t blk = b->blockno + 1 + n;
		if (lookup(dev, blk))
			break;
		struct buf *r = alloc_buf(size, NULL);
		if (!r)
			break;
		r->dev = dev;
		r->blockno = blk;
		r->refcnt = 1;
		hash_insert(r);
		ra[n++] = r;
	}
	spin_unlock(&bc.lock);

	uint8_t *bounce = n ? kmalloc((size_t)(n + 1) * size) : NULL;
	int err;
	if (bounce) {
		err = blockdev_read(dev, b->blockno * size, bounce,
				    (size_t)(n + 1) * size);
		if (!err)
			memcpy(b->data, bounce, size);
	} else {
		err = blockdev_read(dev, b->blockno * size, b->data, size);
	}
	spin_lock(&bc.lock);
	if (!err) {
		b->flags |= B_VALID;
		bc.st.reads++;
	}
	spin_unlock(&bc.lock);
	for (unsigned i = 0; i < n; i++) {
		struct buf *r = ra[i];
		sleeplock_acquire(&r->lock);
		if (!err && bounce && !(r->flags & B_VALID)) {
			memcpy(r->data, bounce + (size_t)(i + 1) * size, size);
			spin_lock(&bc.lock);
			r->flags |= B_VALID | B_RA;
			bc.st.reads++;
			bc.st.ra_issued++;
			spin_unlock(&bc.lock);
		}
		brelse(r);
	}
	kfree(bounce);
	return err;
}

struct buf *bread(struct blockdev *dev, uint64_t blockno, uint32_t size)
{
	struct buf *b = get(dev, blockno, size);
	if (IS_ERR(b))
		return b;
	/* A sequential reader misses or uses read-ahead blocks in order;
	 * hits on other cached blocks (an indirect block between data
	 * blocks) do not break its run. */
	spin_lock(&bc.lock);
	bool valid = b->flags & B_VALID;
	if (valid) {
		bc.st.hits++;
		if (b->flags & B_RA) {
			b->flags &= ~B_RA;
			bc.st.ra_hits++;
			dev->bc.seq++;
			dev->bc.next = blockno + 1;
		}
	} else {
		bc.st.misses++;
		if (blockno == dev->bc.next)
			dev->bc.seq++;
		else
			dev->bc.seq = 0;
		dev->bc.next = blockno + 1;
	}
	spin_unlock(&bc.lock);
	if (valid)
		return b;
	if (read_run(b)) {
		printk(KERN_ERR "bcache: %s: read error at block %llu\n",
		       dev->name, (unsigned long long)blockno);
		brelse(b);
		return ERR_PTR(-EIO);
	}
	return b;
}

struct buf *bgetz(struct blockdev *dev, uint64_t blockno, uint32_t size)
{
	struct buf *b = get(dev, blockno, size);
	if (IS_ERR(b))
		return b;
	memset(b->data, 0, size);
	spin_lock(&bc.lock);
	b->flags |= B_VALID;
	b->flags &= ~B_RA;
	spin_unlock(&bc.lock);
	return b;
}

void bdirty(struct buf *b)
{
	KASSERT(b->refcnt > 0);
	spin_lock(&bc.lock);
	b->flags |= B_DIRTY | B_VALID;
	b->flags &= ~B_RA;
	spin_unlock(&bc.lock);
}

int bwrite(struct buf *b)
{
	int err =
		blockdev_write(b->dev, b->blockno * b->size, b->data, b->size);
	spin_lock(&bc.lock);
	if (err) {
		/* The data stays cached (and readable) but is not retried:
		 * the next flush of the device reports the error once. */
		bc.st.write_errors++;
		b->dev->bc.write_error = -EIO;
	} else {
		bc.st.writes++;
	}
	b->flags &= ~B_DIRTY;
	spin_unlock(&bc.lock);
	if (err)
		printk(KERN_ERR "bcache: %s: write error at block %llu\n",
		       b->dev->name, (unsigned long long)b->blockno);
	return err ? -EIO : 0;
}

void bpin(struct buf *b)
{
	spin_lock(&bc.lock);
	KASSERT(b->refcnt > 0);
	b->refcnt++;
	spin_unlock(&bc.lock);
}

/* Drop a reference; an unreferenced buffer goes to the recent end of the
 * LRU list, or the old end if `old` or not valid. */
static void unpin(struct buf *b, bool old)
{
	spin_lock(&bc.lock);
	KASSERT(b->refcnt > 0);
	if (--b->refcnt == 0) {
		if ((b->flags & B_VALID) && !old)
			list_add_head(&bc.lru, b);
		else
			list_add_tail(&bc.lru, b);
		if (bc.waiters)
			waitq_wakeup_all(&bc.wait);
	}
	spin_unlock(&bc.lock);
}

void bunpin(struct buf *b)
{
	unpin(b, false);
}

void brelse(struct buf *b)
{
	sleeplock_release(&b->lock);
	bunpin(b);
}

/* ------------------------------------------------------------------ flush */

static bool buf_before(const struct buf *a, const struct buf *b)
{
	if (a->dev != b->dev)
		return (uintptr_t)a->dev < (uintptr_t)b->dev;
	return a->blockno < b->blockno;
}

static void sift_down(struct buf **v, unsigned i, unsigned n)
{
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && buf_before(v[c], v[c + 1]))
			c++;
		if (!buf_before(v[i], v[c]))
			return;
		struct buf *t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

static void sort_bufs(struct buf **v, unsigned n)
{
	for (unsigned i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (unsigned i = n; i-- > 1;) {
		struct buf *t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift_down(v, 0, i);
	}
}

/* Write v[0..n) (pinned, consecutive blocks of one device) with one request
 * when a bounce buffer is available, else one by one; unpins them (to the
 * old end of the LRU list if `old`). */
static void write_run(struct buf **v, unsigned n, uint8_t *bounce, bool old)
{
	for (unsigned i = 0; i < n; i++)
		sleeplock_acquire(&v[i]->lock);
	struct blockdev *dev = v[0]->dev;
	uint32_t size = v[0]->size;
	if (n > 1 && bounce) {
		for (unsigned i = 0; i < n; i++)
			memcpy(bounce + (size_t)i * size, v[i]->data, size);
		int err = blockdev_write(dev, v[0]->blockno * size, bounce,
					 (size_t)n * size);
		spin_lock(&bc.lock);
		for (unsigned i = 0; i < n; i++)
			v[i]->flags &= ~B_DIRTY;
		if (err) {
			bc.st.write_errors += n;
			dev->bc.write_error = -EIO;
		} else {
			bc.st.writes += n;
		}
		spin_unlock(&bc.lock);
		if (err)
			printk(KERN_ERR "bcache: %s: write error at blocks "
					"%llu-%llu\n",
			       dev->name, (unsigned long long)v[0]->blockno,
			       (unsigned long long)v[n - 1]->blockno);
	} else {
		for (unsigned i = 0; i < n; i++)
			if (v[i]->flags & B_DIRTY)
				bwrite(v[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		sleeplock_release(&v[i]->lock);
		unpin(v[i], old);
	}
}

int bcache_flush(struct blockdev *dev)
{
	sleeplock_acquire(&bc.flush_lock);
	unsigned n = 0;
	spin_lock(&bc.lock);
	for (unsigned i = 0; i < bc.nbuf; i++) {
		struct buf *b = &bc.bufs[i];
		if (b->data && (b->flags & B_DIRTY) &&
		    (!dev || b->dev == dev)) {
			if (b->refcnt++ == 0)
				list_del(b);
			bc.sortv[n++] = b;
		}
	}
	spin_unlock(&bc.lock);
	sort_bufs(bc.sortv, n);
	uint8_t *bounce = n > 1 ? kmalloc(FLUSH_RUN_BYTES) : NULL;
	for (unsigned i = 0; i < n;) {
		unsigned j = i + 1;
		struct buf *a = bc.sortv[i];
		while (j < n && bc.sortv[j]->dev == a->dev &&
		       bc.sortv[j]->size == a->size &&
		       bc.sortv[j]->blockno == a->blockno + (j - i) &&
		       (j - i + 1) * a->size <= FLUSH_RUN_BYTES)
			j++;
		write_run(bc.sortv + i, j - i, bounce, false);
		/* Flush each device once, after its last buffer. */
		if (!dev && (j == n || bc.sortv[j]->dev != a->dev))
			blockdev_flush(a->dev);
		i = j;
	}
	kfree(bounce);
	int err = 0;
	if (dev) {
		if (blockdev_flush(dev))
			err = -EIO;
		spin_lock(&bc.lock);
		if (dev->bc.write_error)
			err = dev->bc.write_error;
		dev->bc.write_error = 0;
		spin_unlock(&bc.lock);
	}
	sleeplock_release(&bc.flush_lock);
	return err;
}

int bcache_invalidate(struct blockdev *dev)
{
	int err = bcache_flush(dev);
	spin_lock(&bc.lock);
	for (unsigned i = 0; i < bc.nbuf; i++) {
		if (bc.bufs[i].data && bc.bufs[i].dev == dev &&
		    bc.bufs[i].refcnt) {
			spin_unlock(&bc.lock);
			return -EBUSY;
		}
	}
	for (unsigned i = 0; i < bc.nbuf; i++) {
		struct buf *b = &bc.bufs[i];
		if (b->data && b->dev == dev) {
			list_del(b);
			drop_data(b);
		}
	}
	dev->bc.next = 0;
	dev->bc.seq = 0;
	spin_unlock(&bc.lock);
	return err;
}

void bcache_get_stats(struct bcache_stats *st)
{
	spin_lock(&bc.lock);
	*st = bc.st;
	st->budget_bytes = bc.budget;
	st->used_bytes = bc.used;
	st->nbuf = bc.nbuf;
	st->ra_kb = bc.ra_bytes / 1024;
	st->cached = st->dirty = st->referenced = 0;
	for (unsigned i = 0; i < bc.nbuf; i++) {
		const struct buf *b = &bc.bufs[i];
		st->cached += b->data != NULL;
		st->dirty += b->data && (b->flags & B_DIRTY);
		st->referenced += b->refcnt > 0;
	}
	spin_unlock(&bc.lock);
}

int bcache_format_stats(char *buf, size_t size)
{
	struct bcache_stats s;
	bcache_get_stats(&s);
	uint64_t lookups = s.hits + s.misses;
	unsigned pct = lookups ? (unsigned)(s.hits * 100 / lookups) : 0;
	return snprintf(
		buf, size,
		"hits %llu\nmisses %llu\nhit_rate_pct %u\n"
		"reads %llu\nwrites %llu\nreadahead_issued %llu\n"
		"readahead_hits %llu\nevictions %llu\n"
		"write_errors %llu\nbuffers %u\ncached %u\ndirty %u\n"
		"referenced %u\nbytes_used %llu\nbytes_budget %llu\n"
		"readahead_kb %u\n",
		(unsigned long long)s.hits, (unsigned long long)s.misses, pct,
		(unsigned long long)s.reads, (unsigned long long)s.writes,
		(unsigned long long)s.ra_issued, (unsigned long long)s.ra_hits,
		(unsigned long long)s.evictions,
		(unsigned long long)s.write_errors, s.nbuf, s.cached, s.dirty,
		s.referenced, (unsigned long long)s.used_bytes,
		(unsigned long long)s.budget_bytes, s.ra_kb);
}
