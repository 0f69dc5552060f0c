/*
 * sys_mem.c — the memory system calls (LOCAL class: they act on the user
 * context, wherever the process runs): brk, mmap, munmap, mprotect,
 * mremap, madvise. The address space itself is vm/uspace.c (vm/vm.h).
 *
 * Arguments are checked in Linux's order with Linux's errors (mm/mmap.c,
 * mm/mprotect.c, mm/mremap.c, mm/madvise.c), before anything changes.
 *
 * Mappings, and where they depart from Linux:
 *   - MAP_PRIVATE anonymous and file-backed. A file mapping keeps the open
 *     file (one reference per region, through file_pager) and its pages
 *     are read on first touch, so clean pages stay clean (design §4: a
 *     later pager can fetch them again instead of migrating them). Bytes
 *     past the end of the file read as zero (Linux: SIGBUS for pages wholly
 *     past the end).
 *   - MAP_SHARED|MAP_ANONYMOUS is accepted as private anonymous memory: a
 *     process is one thread, and memory shared with a forked child is rare
 *     in the programs Shoal runs; after fork the two copies diverge.
 *   - MAP_SHARED of a file is accepted read-only (nothing can write through
 *     it, so private is indistinguishable); with PROT_WRITE it is -ENODEV.
 *   - MAP_NORESERVE, MAP_POPULATE (pages faulted in at once), MAP_STACK,
 *     MAP_GROWSDOWN (no growing), MAP_DENYWRITE, MAP_EXECUTABLE,
 *     MAP_LOCKED, MAP_NONBLOCK, MAP_32BIT (placed below 2 GiB) are
 *     accepted; MAP_HUGETLB is -ENOMEM (no huge pages reserved).
 *   - madvise checks the whole range first: a hole fails the call with
 *     -ENOMEM before any page is dropped (Linux applies it to the mapped
 *     parts, then reports -ENOMEM).
 *   - Placement: the lowest free range at or above PROC_MMAP_BASE (bottom
 *     up; Linux goes top down), or the hint when it is free.
 */
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define PROT_SEM 0x8
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP 0x02000000

#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_32BIT 0x40
#define MAP_GROWSDOWN 0x100
#define MAP_DENYWRITE 0x800
#define MAP_EXECUTABLE 0x1000
#define MAP_LOCKED 0x2000
#define MAP_NORESERVE 0x4000
#define MAP_POPULATE 0x8000
#define MAP_NONBLOCK 0x10000
#define MAP_STACK 0x20000
#define MAP_HUGETLB 0x40000
#define MAP_SYNC 0x80000
#define MAP_FIXED_NOREPLACE 0x100000
#define MAP_UNINITIALIZED 0x4000000
/* The flags MAP_SHARED_VALIDATE knows (Linux's LEGACY_MAP_MASK). */
#define MAP_KNOWN                                                             \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS |               \
	 MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | \
	 MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK |           \
	 MAP_STACK | MAP_HUGETLB | MAP_32BIT | MAP_FIXED_NOREPLACE)

#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4

#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_REMOVE 9
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23

/* Linux's TASK_SIZE: the user half minus its last page. */
#define TASK_SIZE (VM_USER_TOP - PAGE_SIZE)
#define MMAP_MIN_ADDR 0x10000ull
#define MAP_32BIT_BASE 0x40000000ull
#define MAP_32BIT_TOP 0x80000000ull
#define PF_WRITE 2u

static struct vm_space *space(void)
{
	return proc_current()->user.space;
}

/* ------------------------------------------------------------ file pager */

/* A file region's backing is its struct file (a reference per region). */
static int file_fill(void *backing, uint64_t off, void *page)
{
	struct file *f = backing;
	size_t done = 0;
	while (done < PAGE_SIZE) {
		int64_t n = file_pread(f, (char *)page + done, PAGE_SIZE - done,
				       (int64_t)(off + done));
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	memset((char *)page + done, 0, PAGE_SIZE - done);
	return 0;
}

static void file_hold(void *backing)
{
	file_dup(backing);
}

static void file_release(void *backing)
{
	file_close(backing);
}

/*
 * The page cache of file mappings: pages read for a private file mapping
 * (program text above all) are kept, up to PCACHE_SLOTS of them, keyed by
 * (vnode, data version, offset), and mapped copy-on-write into every later
 * mapping of the same data. A new exec of a program then maps pages that
 * already hold its code instead of reading them again, and under QEMU's
 * TCG the code's translations stay valid (a fresh page would be
 * translated anew). The version (vnode->data_gen) changes on every write
 * or truncate and is unique across vnodes, so an entry is never stale.
 * Each slot holds a reference on its vnode, so the vnode (and its
 * version) lives on between two runs of a program; umount2 drops the
 * cache first. Direct-mapped: a new page replaces whatever held its slot.
 * Bounded: at most PCACHE_SLOTS pages (4 MiB) stay in memory for it.
 *
 * Locking: pcache_lock (a spinlock) guards the table. publish runs with
 * interrupts off and may not sleep, so the vnode references it lets go of
 * wait in put_later until a caller that may sleep (lookup, drop) puts
 * them.
 */
#define PCACHE_SLOTS 1024
#define PUT_LATER 32

struct pcache_slot {
	struct vnode *vn; /* a reference; NULL: empty */
	uint64_t version, off, pa;
};
static struct pcache_slot pcache[PCACHE_SLOTS];
static struct vnode *put_later[PUT_LATER];
static unsigned nput_later;
static struct spinlock pcache_lock = {.name = "pcache"};

static struct pcache_slot *pcache_slot(const struct vnode *vn, uint64_t off)
{
	uint64_t h = (uint64_t)(uintptr_t)vn * 0x9E3779B97F4A7C15ull ^
		     (off >> PAGE_SHIFT) * 0xC2B2AE3D27D4EB4Full;
	return &pcache[(h >> 32) % PCACHE_SLOTS];
}

/* Put the vnode references publish could not (may sleep). */
static void put_deferred(void)
{
	for (;;) {
		spin_lock(&pcache_lock);
		struct vnode *vn = nput_later ? put_later[--nput_later] : NULL;
		spin_unlock(&pcache_lock);
		if (!vn)
			return;
		vnode_put(vn);
	}
}

/* A page leaving the cache: scrubbed if nobody maps it (see drop_leaf in
 * vm/uspace.c), then unreferenced. */
static void page_release(uint64_t pa)
{
	if (vm_page_refs(pa) == 1)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	vm_page_unref(pa);
}

/* data_gen is written under vfs_lock; one aligned 64-bit load reads it
 * whole, and a version that moves right after is caught by publish. */
static uint64_t file_version(void *backing)
{
	return ((struct file *)backing)->vn->data_gen;
}

static uint64_t file_lookup(void *backing, uint64_t off)
{
	struct file *f = backing;
	if (irq_enabled()) /* vnode_put may sleep */
		put_deferred();
	if (f->vn->type != VREG)
		return 0;
	uint64_t version = file_version(backing), pa = 0;
	spin_lock(&pcache_lock);
	struct pcache_slot *sl = pcache_slot(f->vn, off);
	if (sl->vn == f->vn && sl->version == version && sl->off == off &&
	    vm_page_ref(sl->pa))
		pa = sl->pa;
	spin_unlock(&pcache_lock);
	return pa;
}

static void file_publish(void *backing, uint64_t off, uint64_t pa,
			 uint64_t version)
{
	struct file *f = backing;
	if (f->vn->type != VREG || f->vn->data_gen != version)
		return; /* written meanwhile: the page may be torn */
	spin_lock(&pcache_lock);
	struct pcache_slot *sl = pcache_slot(f->vn, off);
	if ((sl->vn && nput_later == PUT_LATER) || !vm_page_ref(pa)) {
		spin_unlock(&pcache_lock);
		return; /* no room to let the old entry go: keep it */
	}
	struct pcache_slot old = *sl;
	if (old.vn)
		put_later[nput_later++] = old.vn;
	*sl = (struct pcache_slot){vnode_ref(f->vn), version, off, pa};
	spin_unlock(&pcache_lock);
	if (old.vn)
		page_release(old.pa);
}

unsigned file_pcache_pages(void)
{
	unsigned n = 0;
	spin_lock(&pcache_lock);
	for (unsigned i = 0; i < PCACHE_SLOTS; i++)
		n += pcache[i].vn != NULL;
	spin_unlock(&pcache_lock);
	return n;
}

void file_pcache_drop(void)
{
	for (unsigned i = 0; i < PCACHE_SLOTS; i++) {
		spin_lock(&pcache_lock);
		struct pcache_slot old = pcache[i];
		pcache[i].vn = NULL;
		spin_unlock(&pcache_lock);
		if (old.vn) {
			page_release(old.pa);
			vnode_put(old.vn);
		}
	}
	put_deferred();
}

static const struct vm_pager file_pager = {
	.fill = file_fill,
	.hold = file_hold,
	.release = file_release,
	.lookup = file_lookup,
	.version = file_version,
	.publish = file_publish,
};

const struct vm_pager *sys_file_pager(void)
{
	return &file_pager;
}

/* ------------------------------------------------------------ brk */

long sys_brk(const uint64_t a[6])
{
	struct user_ctx *u = &proc_current()->user;
	uintptr_t want = a[0];
	if (want < u->brk_start || want >= PROC_MMAP_BASE)
		return u->brk;
	uintptr_t have_end = ALIGN_UP(u->brk, PAGE_SIZE);
	uintptr_t want_end = ALIGN_UP(want, PAGE_SIZE);
	if (want_end > have_end) {
		/* Grow the heap's region in place, so the heap stays one
		 * region however many times it grows. */
		struct vm_region *r =
			have_end ? vm_region_find(u->space, have_end - 1)
				 : NULL;
		bool heap = r && r->end == have_end &&
			    r->flags == VM_REGION_ANON &&
			    r->prot == (VM_PROT_READ | VM_PROT_WRITE) &&
			    r->start >= ALIGN_DOWN(u->brk_start, PAGE_SIZE);
		int rc = heap ? vm_region_resize(u->space, r->start,
						 have_end - r->start,
						 want_end - r->start)
			      : vm_region_add(u->space, have_end,
					      want_end - have_end,
					      VM_PROT_READ | VM_PROT_WRITE,
					      VM_REGION_ANON, NULL, 0);
		if (rc)
			return u->brk;
	}
	if (want_end < have_end &&
	    vm_region_remove(u->space, want_end, have_end - want_end))
		return u->brk;
	u->brk = want;
	return u->brk;
}

/* ------------------------------------------------------------ mmap */

/* The lowest free range of len bytes in [from, limit), or 0. */
static uintptr_t find_free(struct vm_space *s, uintptr_t from, uintptr_t limit,
			   size_t len)
{
	uintptr_t cand = from;
	for (struct vm_region *r = s->regions; r; r = r->next) {
		if (r->end <= cand)
			continue;
		if (r->start >= cand + len)
			break;
		cand = r->end;
	}
	if (len > limit || cand > limit - len)
		return 0;
	return cand;
}

/* Where a mapping of len bytes goes without MAP_FIXED: the hint when it is
 * free, else the lowest free range; 0 when there is none. */
static uintptr_t place(struct vm_space *s, uintptr_t hint, size_t len,
		       bool low32)
{
	hint = ALIGN_UP(hint, PAGE_SIZE);
	uintptr_t lo = low32 ? MAP_32BIT_BASE : PROC_MMAP_BASE;
	uintptr_t hi = low32 ? MAP_32BIT_TOP : PROC_STACK_TOP - PROC_STACK_SIZE;
	if (hint >= MMAP_MIN_ADDR && hint <= TASK_SIZE - len &&
	    (!low32 || hint + len <= MAP_32BIT_TOP) &&
	    find_free(s, hint, hint + len, len) == hint)
		return hint;
	return find_free(s, lo, hi, len);
}

/* Fault in every page of a new mapping (MAP_POPULATE, MADV_POPULATE_*). */
static int populate(struct vm_space *s, uintptr_t addr, size_t len, bool write)
{
	for (uintptr_t va = addr; va < addr + len; va += PAGE_SIZE) {
		int rc = vm_fault(s, va, write ? PF_WRITE : 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* Check a file for mmap: 0 or the Linux error. */
static int file_mappable(struct file *f, unsigned type, uint64_t prot)
{
	struct linux_stat st;
	int rc = file_stat(f, &st);
	if (rc)
		return rc;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	int acc = f->flags & O_ACCMODE;
	if (acc == O_WRONLY)
		return -EACCES;
	if (type != MAP_PRIVATE && (prot & PROT_WRITE))
		return acc == O_RDWR ? -ENODEV : -EACCES;
	return 0;
}

long sys_mmap(const uint64_t a[6])
{
	uintptr_t addr = a[0];
	uint64_t raw_len = a[1], prot = a[2], flags = a[3], off = a[5];
	unsigned type = flags & MAP_TYPE;
	bool anon = flags & MAP_ANONYMOUS;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);

	if (off & (PAGE_SIZE - 1))
		return -EINVAL;
	struct file *f = NULL;
	if (!anon) {
		f = a[4] < PROC_MAX_FD ? fd_get((int)a[4]) : NULL;
		if (!f)
			return -EBADF;
	}
	if (!raw_len)
		return -EINVAL;
	size_t len = ALIGN_UP(raw_len, PAGE_SIZE);
	if (!len || len > TASK_SIZE)
		return -ENOMEM;
	if (!anon && off + len < off)
		return -EOVERFLOW;
	if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_KNOWN))
		return -EOPNOTSUPP;
	if (type != MAP_SHARED && type != MAP_PRIVATE &&
	    (type != MAP_SHARED_VALIDATE || anon)) /* as Linux: anonymous
						      memory knows only the
						      two plain types */
		return -EINVAL;
	if (fixed) {
		if (addr > TASK_SIZE - len)
			return -ENOMEM;
		if (addr & (PAGE_SIZE - 1))
			return -EINVAL;
		if (addr < MMAP_MIN_ADDR)
			return -EPERM;
	}
	if (flags & MAP_HUGETLB)
		return -ENOMEM;
	if (f) {
		int rc = file_mappable(
			f, type == MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED,
			prot);
		if (rc)
			return rc;
	}

	struct vm_space *s = space();
	if (fixed) {
		if (find_free(s, addr, addr + len, len) != addr) {
			if (!(flags & MAP_FIXED))
				return -EEXIST; /* MAP_FIXED_NOREPLACE */
			int rc = vm_region_remove(s, addr, len);
			if (rc)
				return rc;
		}
	} else {
		addr = place(s, addr, len, flags & MAP_32BIT);
		if (!addr)
			return -ENOMEM;
	}
	unsigned vprot = prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	int rc = anon ? vm_region_add(s, addr, len, vprot, VM_REGION_ANON, NULL,
				      0)
		      : vm_region_add_file(s, addr, len, vprot, &file_pager, f,
					   off);
	if (rc)
		return rc;
	/* Like Linux, a failed populate still leaves the mapping. */
	if ((flags & MAP_POPULATE) && vprot)
		populate(s, addr, len, vprot & PROT_WRITE);
	return (long)addr;
}

long sys_munmap(const uint64_t a[6])
{
	uintptr_t start = a[0];
	if ((start & (PAGE_SIZE - 1)) || start > TASK_SIZE ||
	    a[1] > TASK_SIZE - start)
		return -EINVAL;
	size_t len = ALIGN_UP(a[1], PAGE_SIZE);
	if (!len)
		return -EINVAL;
	return vm_region_remove(space(), start, len);
}

long sys_mprotect(const uint64_t a[6])
{
	uintptr_t start = a[0];
	uint64_t prot = a[2];
	if (start & (PAGE_SIZE - 1))
		return -EINVAL;
	if (!a[1])
		return 0;
	size_t len = ALIGN_UP(a[1], PAGE_SIZE);
	if (!len || start + len <= start)
		return -ENOMEM;
	/* No region grows, so PROT_GROWSDOWN/UP never applies. */
	if (prot & ~(uint64_t)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
		return -EINVAL;
	if (start + len > VM_USER_TOP)
		return -ENOMEM;
	return vm_region_protect(space(), start, len,
				 prot & (PROT_READ | PROT_WRITE | PROT_EXEC));
}

long sys_mremap(const uint64_t a[6])
{
	uintptr_t addr = a[0], new_addr = a[4];
	uint64_t flags = a[3];
	if (flags &
	    ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	bool maymove = flags & MREMAP_MAYMOVE;
	bool keep = flags & MREMAP_DONTUNMAP;
	if ((flags & MREMAP_FIXED) && !maymove)
		return -EINVAL;
	if (keep && (!maymove || a[1] != a[2]))
		return -EINVAL;
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	size_t old_len = ALIGN_UP(a[1], PAGE_SIZE);
	size_t new_len = ALIGN_UP(a[2], PAGE_SIZE);
	/* old_len 0 duplicates a shared mapping; every mapping is private. */
	if (!new_len || !old_len)
		return -EINVAL;
	struct vm_space *s = space();

	if (flags & MREMAP_FIXED) {
		if ((new_addr & (PAGE_SIZE - 1)) || new_len > TASK_SIZE ||
		    new_addr > TASK_SIZE - new_len)
			return -EINVAL;
		if (new_addr < addr + old_len && addr < new_addr + new_len)
			return -EINVAL;
	}
	if (old_len > VM_USER_TOP || addr > VM_USER_TOP - old_len)
		return -EFAULT;
	struct vm_region *r = vm_region_find(s, addr);
	if (!r || old_len > r->end - addr)
		return -EFAULT;

	if (flags & MREMAP_FIXED) {
		int rc = vm_region_remove(s, new_addr, new_len);
		if (!rc)
			rc = vm_region_move(s, addr, old_len, new_addr, new_len,
					    keep);
		return rc ? rc : (long)new_addr;
	}
	if (!keep) {
		int rc = vm_region_resize(s, addr, old_len, new_len);
		if (rc != -ENOMEM || !maymove)
			return rc ? rc : (long)addr;
	}
	new_addr = place(s, 0, new_len, false);
	if (!new_addr)
		return -ENOMEM;
	int rc = vm_region_move(s, addr, old_len, new_addr, new_len, keep);
	return rc ? rc : (long)new_addr;
}

static bool madvise_known(uint64_t advice)
{
	return advice <= 4 || (advice >= MADV_FREE && advice <= 23);
}

long sys_madvise(const uint64_t a[6])
{
	uintptr_t start = a[0];
	uint64_t advice = a[2];
	if (!madvise_known(advice) || (start & (PAGE_SIZE - 1)))
		return -EINVAL;
	size_t len = ALIGN_UP(a[1], PAGE_SIZE);
	if (a[1] && !len)
		return -EINVAL;
	if (start + len < start)
		return -EINVAL;
	if (!len)
		return 0;
	struct vm_space *s = space();
	if (start + len > VM_USER_TOP || !vm_range_mapped(s, start, len))
		return -ENOMEM;
	switch (advice) {
	case MADV_DONTNEED:
		return vm_range_discard(s, start, len);
	case MADV_FREE:
		for (struct vm_region *r = vm_region_find(s, start);
		     r && r->start < start + len; r = r->next)
			if (r->flags != VM_REGION_ANON)
				return -EINVAL;
		return vm_range_discard(s, start, len);
	case MADV_REMOVE:
		return -EINVAL; /* needs a shared mapping */
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE: {
		int rc = populate(s, start, len, advice == MADV_POPULATE_WRITE);
		return rc == -ENOMEM ? -ENOMEM : rc ? -EFAULT : 0;
	}
	default:
		return 0; /* advice only */
	}
}
