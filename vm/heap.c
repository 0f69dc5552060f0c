/*
 * heap.c — the kernel heap's core: size classes carved from single pages
 * (slabs), larger requests as page runs with a header. Pure C over a page
 * provider (struct heap_ops), so tests/unit/test_heap.c compiles this file;
 * the kernel glue is kmalloc.c.
 *
 * Layout. A slab page starts with struct heap_slab, then equal slots of
 * its class; a large run starts with struct heap_large, the object 32 bytes
 * in. Either way the page holding a pointer tells what it is (p & ~4095),
 * so kfree needs no size and no lookup. Every object is 16-byte aligned.
 *
 * Debug mode (KDEBUG builds) adds to each slot a 16-byte header (state
 * magic, requested size, allocating caller) and an 8-byte canary right
 * after the object. kfree then catches a double free, a pointer that was
 * never returned by kmalloc, and a write past the end; freed slots are
 * poisoned and the poison is checked again when the slot is reused, so a
 * write after free is caught too. A detected corruption calls ops.fail with
 * a message naming the pointer; nothing is changed after that.
 *
 * Empty slabs go back to the page provider, except the last one of a class
 * (so an alloc/free loop does not bounce pages).
 */
#include "kern/kern.h"
#include "vm/vm_impl.h"

#define SLAB_MAGIC 0x51AB51ABu
#define LARGE_MAGIC 0x1A26E0B7u
#define LARGE_FREED 0x1A26DEADu
#define OBJ_LIVE 0xA110C8EDu
#define OBJ_FREE 0xF4EEF4EEu
#define POISON 0x6B
#define POISON_WORD 0x6B6B6B6B6B6B6B6BULL
#define CANARY 0x0DDBA11CA7C0FFEEULL
#define HDR 16 /* debug header before each slab object */
#define CANARY_SIZE 8
#define LARGE_HDR 32

struct heap_slab {
	uint32_t magic;
	uint16_t cls;
	uint16_t nfree;
	void *free; /* free slots, linked through link_of() */
	struct heap_slab *next, *prev; /* the class's partial list */
};

struct heap_large {
	uint32_t magic;
	uint32_t pad;
	uint64_t npages;
	uint64_t size;
	uint64_t caller;
};

struct obj_hdr {
	uint32_t magic;
	uint32_t size;
	uint64_t caller; /* while free: the free-list link */
};

_Static_assert(sizeof(struct heap_slab) == 32, "slab header size");
_Static_assert(sizeof(struct heap_large) == LARGE_HDR, "large header size");
_Static_assert(sizeof(struct obj_hdr) == HDR, "object header size");

/* Slot sizes: multiples of 16 chosen to fill (4096 - 32) bytes well. */
static const uint16_t class_size[HEAP_NCLASSES] = {
	16,  32,  48,  64,  80,	 96,  128,  160,  192,	224,
	256, 336, 448, 576, 672, 800, 1008, 1344, 2032,
};
#define SLAB_ROOM (VM_PAGE - sizeof(struct heap_slab))
#define MAX_SLOT 2032

static void fail(struct heap *h, const char *fmt, ...) __printf(2, 3);
static void fail(struct heap *h, const char *fmt, ...)
{
	char msg[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	h->ops.fail(h->ops.ctx, msg);
}

/* The allocating caller for a message: symbolized when the host can. */
static const char *who(struct heap *h, uint64_t caller, char *buf, size_t n)
{
	if (h->ops.symbolize)
		h->ops.symbolize(h->ops.ctx, caller, buf, n);
	else
		snprintf(buf, n, "%#lx", (unsigned long)caller);
	return buf;
}

void heap_init(struct heap *h, const struct heap_ops *ops, bool debug)
{
	memset(h, 0, sizeof *h);
	h->ops = *ops;
	h->debug = debug;
}

static unsigned slab_capacity(unsigned cls)
{
	return SLAB_ROOM / class_size[cls];
}

static void **link_of(struct heap *h, char *slot)
{
	return (void **)(slot +
			 (h->debug ? offsetof(struct obj_hdr, caller) : 0));
}

static void list_add(struct heap *h, struct heap_slab *s)
{
	s->prev = NULL;
	s->next = h->partial[s->cls];
	if (s->next)
		s->next->prev = s;
	h->partial[s->cls] = s;
}

static void list_del(struct heap *h, struct heap_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static struct heap_slab *slab_new(struct heap *h, unsigned cls)
{
	char *page = h->ops.alloc_pages(h->ops.ctx, 1);
	if (!page)
		return NULL;
	h->pages++;
	struct heap_slab *s = (struct heap_slab *)page;
	unsigned n = slab_capacity(cls), sz = class_size[cls];
	*s = (struct heap_slab){SLAB_MAGIC, (uint16_t)cls, (uint16_t)n,
				NULL,	    NULL,	   NULL};
	/* Link the slots so the lowest address is handed out first. */
	char *first = page + sizeof *s;
	for (unsigned i = n; i-- > 0;) {
		char *slot = first + (size_t)i * sz;
		if (h->debug) {
			struct obj_hdr *o = (struct obj_hdr *)slot;
			o->magic = OBJ_FREE;
			o->size = 0;
			memset(slot + HDR, POISON, sz - HDR);
		}
		*link_of(h, slot) = s->free;
		s->free = slot;
	}
	list_add(h, s);
	return s;
}

/* Debug: a free slot's poison must be intact when it is handed out again. */
static bool slot_check_poison(struct heap *h, struct heap_slab *s, char *slot)
{
	struct obj_hdr *o = (struct obj_hdr *)slot;
	unsigned sz = class_size[s->cls];
	if (o->magic != OBJ_FREE) {
		fail(h,
		     "kmalloc: free %u-byte slot at %p has a broken header (heap corruption)",
		     sz, (void *)(slot + HDR));
		return false;
	}
	/* Eight bytes a step (the slot is 16-byte aligned and its object
	 * area a multiple of 16 bytes long): this runs on every kmalloc of a
	 * debug build, and a byte loop made it most of kmalloc's cost. */
	for (unsigned i = HDR; i < sz; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, slot + i, 8);
		if (w == POISON_WORD)
			continue;
		while ((unsigned char)slot[i] == POISON)
			i++;
		fail(h,
		     "kmalloc: write after free: freed %u-byte object at %p changed at offset %u",
		     o->size, (void *)(slot + HDR), i - HDR);
		return false;
	}
	return true;
}

static void *slab_alloc(struct heap *h, unsigned cls, size_t size,
			uintptr_t caller)
{
	struct heap_slab *s = h->partial[cls];
	if (!s && !(s = slab_new(h, cls)))
		return NULL;
	char *slot = s->free;
	if (h->debug && !slot_check_poison(h, s, slot))
		return NULL;
	s->free = *link_of(h, slot);
	if (--s->nfree == 0)
		list_del(h, s);
	if (!h->debug)
		return slot;
	struct obj_hdr *o = (struct obj_hdr *)slot;
	o->magic = OBJ_LIVE;
	o->size = (uint32_t)size;
	o->caller = caller;
	uint64_t canary = CANARY;
	memcpy(slot + HDR + size, &canary, CANARY_SIZE);
	return slot + HDR;
}

static void *large_alloc(struct heap *h, size_t size, uintptr_t caller)
{
	size_t need = LARGE_HDR + size + (h->debug ? CANARY_SIZE : 0);
	size_t npages = (need + VM_PAGE - 1) / VM_PAGE;
	char *run = h->ops.alloc_pages(h->ops.ctx, npages);
	if (!run)
		return NULL;
	h->pages += npages;
	struct heap_large *l = (struct heap_large *)run;
	*l = (struct heap_large){LARGE_MAGIC, 0, npages, size, caller};
	if (h->debug) {
		uint64_t canary = CANARY;
		memcpy(run + LARGE_HDR + size, &canary, CANARY_SIZE);
	}
	return run + LARGE_HDR;
}

void *heap_alloc(struct heap *h, size_t size, uintptr_t caller)
{
	if (size > SIZE_MAX / 2)
		return NULL;
	size_t need = size + (h->debug ? HDR + CANARY_SIZE : 0);
	need = need ? ALIGN_UP(need, 16) : 16;
	void *p;
	if (need <= MAX_SLOT) {
		unsigned cls = 0;
		while (class_size[cls] < need)
			cls++;
		p = slab_alloc(h, cls, size, caller);
	} else {
		p = large_alloc(h, size, caller);
	}
	if (p)
		h->live++;
	return p;
}

static bool canary_ok(const char *end)
{
	uint64_t v;
	memcpy(&v, end, CANARY_SIZE);
	return v == CANARY;
}

/* The slot of slab s that p is the object of, or NULL if p is not one. */
static char *slab_slot(struct heap *h, struct heap_slab *s, const char *p)
{
	if (s->cls >= HEAP_NCLASSES)
		return NULL;
	size_t sz = class_size[s->cls];
	const char *first = (const char *)s + sizeof *s + (h->debug ? HDR : 0);
	if (p < first)
		return NULL;
	size_t off = (size_t)(p - first);
	if (off % sz || off / sz >= slab_capacity(s->cls))
		return NULL;
	return (char *)s + sizeof *s + off;
}

static bool slab_free(struct heap *h, struct heap_slab *s, char *p)
{
	char *slot = slab_slot(h, s, p);
	if (!slot) {
		fail(h, "kfree(%p): not an object returned by kmalloc", p);
		return false;
	}
	unsigned sz = class_size[s->cls];
	char caller[64];
	if (h->debug) {
		struct obj_hdr *o = (struct obj_hdr *)slot;
		if (o->magic == OBJ_FREE) {
			fail(h, "kfree(%p): double free of a %u-byte object", p,
			     o->size);
			return false;
		}
		if (o->magic != OBJ_LIVE || o->size > sz - HDR - CANARY_SIZE) {
			fail(h,
			     "kfree(%p): object header overwritten (underflow or wild pointer)",
			     p);
			return false;
		}
		if (!canary_ok(p + o->size)) {
			fail(h,
			     "kfree(%p): buffer overflow past the end of a %u-byte allocation from %s",
			     p, o->size,
			     who(h, o->caller, caller, sizeof caller));
			return false;
		}
		o->magic = OBJ_FREE;
		memset(slot + HDR, POISON, sz - HDR);
	}
	*link_of(h, slot) = s->free;
	s->free = slot;
	s->nfree++;
	if (s->nfree == 1)
		list_add(h, s);
	if (s->nfree == slab_capacity(s->cls) &&
	    (h->partial[s->cls] != s || s->next)) {
		list_del(h, s);
		s->magic = 0;
		h->ops.free_pages(h->ops.ctx, s, 1);
		h->pages--;
	}
	return true;
}

static bool large_free(struct heap *h, struct heap_large *l, char *p)
{
	if (p != (char *)l + LARGE_HDR) {
		fail(h, "kfree(%p): points inside a %lu-byte allocation", p,
		     (unsigned long)l->size);
		return false;
	}
	char caller[64];
	if (h->debug && !canary_ok(p + l->size)) {
		fail(h,
		     "kfree(%p): buffer overflow past the end of a %lu-byte allocation from %s",
		     p, (unsigned long)l->size,
		     who(h, l->caller, caller, sizeof caller));
		return false;
	}
	size_t npages = l->npages;
	l->magic = LARGE_FREED;
	h->ops.free_pages(h->ops.ctx, l, npages);
	h->pages -= npages;
	return true;
}

void heap_free(struct heap *h, void *ptr)
{
	char *p = ptr;
	if (!p)
		return;
	if ((uintptr_t)p % 16) {
		fail(h, "kfree(%p): not a heap pointer (misaligned)", p);
		return;
	}
	void *page = (void *)((uintptr_t)p & ~(uintptr_t)(VM_PAGE - 1));
	uint32_t magic = *(uint32_t *)page;
	bool ok = false;
	if (magic == SLAB_MAGIC) {
		ok = slab_free(h, page, p);
	} else if (magic == LARGE_MAGIC) {
		ok = large_free(h, page, p);
	} else if (magic == LARGE_FREED) {
		fail(h, "kfree(%p): double free of a %lu-byte allocation", p,
		     (unsigned long)((struct heap_large *)page)->size);
	} else {
		fail(h, "kfree(%p): not a heap pointer", p);
	}
	if (ok)
		h->live--;
}

size_t heap_size(struct heap *h, const void *ptr)
{
	uintptr_t page = (uintptr_t)ptr & ~(uintptr_t)(VM_PAGE - 1);
	uint32_t magic = *(const uint32_t *)page;
	if (magic == LARGE_MAGIC)
		return ((const struct heap_large *)page)->size;
	if (magic != SLAB_MAGIC)
		return 0;
	const struct heap_slab *s = (const struct heap_slab *)page;
	if (h->debug)
		return ((const struct obj_hdr *)ptr - 1)->size;
	return class_size[s->cls];
}
