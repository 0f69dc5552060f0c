/*
 * pmm_core.c — the physical page allocator's core: one bitmap per zone (a
 * run of usable pages from physmap), a bit per page, set when allocated.
 * Pure C; the host unit tests (tests/unit/test_pmm.c) compile this file.
 *
 * Interface: pmm_core_init / _take / _alloc / _alloc_contig / _free (see
 * vm_impl.h). The kernel glue (pmm.c) serializes every call.
 *
 * Invariants:
 *   - free_pages == sum of zone nfree == number of clear in-range bits;
 *   - bits past a zone's last page are set, so a word scan never returns
 *     a page outside the zone;
 *   - zone->hint: every word before it is full, so single-page allocation
 *     starts there and is O(1) while memory is not fragmented;
 *   - a bad free (unaligned, unmanaged, or of a free page) is reported and
 *     changes nothing: the whole run is checked before any bit moves.
 * Sparse maps cost nothing: bitmaps cover zones, not the address space.
 */
#include "kern/kern.h"
#include "vm/vm_impl.h"

#define WORD_BITS 64

static void bad(struct pmm *p, const char *fmt, ...) __printf(2, 3);
static void bad(struct pmm *p, const char *fmt, ...)
{
	va_list ap;
	p->errors++;
	va_start(ap, fmt);
	vm_vreportf(p->report, p->report_ctx, fmt, ap);
	va_end(ap);
}

static uint64_t zone_words(uint64_t npages)
{
	return (npages + WORD_BITS - 1) / WORD_BITS;
}

static bool bit_get(const struct pmm_zone *z, uint64_t i)
{
	return (z->bits[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

/* Set or clear bits [i, i + n) of z. */
static void bits_fill(struct pmm_zone *z, uint64_t i, uint64_t n, bool set)
{
	while (n) {
		uint64_t w = i / WORD_BITS, b = i % WORD_BITS;
		uint64_t k = MIN(n, (uint64_t)WORD_BITS - b);
		uint64_t mask = k == WORD_BITS ? ~0ULL : ((1ULL << k) - 1) << b;
		if (set)
			z->bits[w] |= mask;
		else
			z->bits[w] &= ~mask;
		i += k;
		n -= k;
	}
}

/* Are bits [i, i + n) all clear (want == false) or all set (want)? */
static bool bits_all(const struct pmm_zone *z, uint64_t i, uint64_t n,
		     bool want)
{
	while (n) {
		uint64_t w = i / WORD_BITS, b = i % WORD_BITS;
		uint64_t k = MIN(n, (uint64_t)WORD_BITS - b);
		uint64_t mask = k == WORD_BITS ? ~0ULL : ((1ULL << k) - 1) << b;
		uint64_t v = z->bits[w] & mask;
		if (want ? v != mask : v != 0)
			return false;
		i += k;
		n -= k;
	}
	return true;
}

size_t pmm_core_bitmap_bytes(const struct phys_range *r, unsigned n)
{
	size_t words = 0;
	for (unsigned i = 0; i < n; i++)
		words += zone_words((r[i].end - r[i].start) / VM_PAGE);
	return words * sizeof(uint64_t);
}

void pmm_core_init(struct pmm *p, const struct phys_range *r, unsigned n,
		   uint64_t *bitmap, vm_report_fn report, void *ctx)
{
	memset(p, 0, sizeof *p);
	p->report = report;
	p->report_ctx = ctx;
	p->limit = UINT64_MAX;
	for (unsigned i = 0; i < n && p->nzones < PMM_MAX_ZONES; i++) {
		struct pmm_zone *z = &p->zones[p->nzones];
		uint64_t start = r[i].start;
		uint64_t npages = (r[i].end - r[i].start) / VM_PAGE;
		z->bits = bitmap;
		bitmap += zone_words(npages);
		if (start == 0) {
			/* Page 0 would be indistinguishable from failure. */
			start = VM_PAGE;
			npages--;
		}
		if (npages == 0)
			continue;
		z->base = start;
		z->npages = npages;
		z->nfree = npages;
		memset(z->bits, 0, zone_words(npages) * sizeof(uint64_t));
		bits_fill(z, npages, zone_words(npages) * WORD_BITS - npages,
			  true);
		p->total_pages += npages;
		p->free_pages += npages;
		p->nzones++;
	}
}

/* The zone holding page pa, or NULL. */
static struct pmm_zone *zone_of(struct pmm *p, uint64_t pa)
{
	for (unsigned i = 0; i < p->nzones; i++) {
		struct pmm_zone *z = &p->zones[i];
		if (pa >= z->base && (pa - z->base) / VM_PAGE < z->npages)
			return z;
	}
	return NULL;
}

/* Validate the run [pa, pa + npages pages); returns its zone or NULL. */
static struct pmm_zone *run_zone(struct pmm *p, uint64_t pa, uint64_t npages,
				 const char *what, int *err)
{
	if (pa % VM_PAGE || npages == 0) {
		bad(p, "%s of %#lx (%lu pages): not a page-aligned run", what,
		    (unsigned long)pa, (unsigned long)npages);
		*err = -EINVAL;
		return NULL;
	}
	struct pmm_zone *z = zone_of(p, pa);
	if (!z || npages > z->npages - (pa - z->base) / VM_PAGE) {
		bad(p, "%s of %#lx (%lu pages): not managed memory", what,
		    (unsigned long)pa, (unsigned long)npages);
		*err = -ERANGE;
		return NULL;
	}
	return z;
}

int pmm_core_take(struct pmm *p, uint64_t pa, uint64_t npages)
{
	int err = 0;
	struct pmm_zone *z = run_zone(p, pa, npages, "take", &err);
	if (!z)
		return err;
	uint64_t i = (pa - z->base) / VM_PAGE;
	if (!bits_all(z, i, npages, false)) {
		bad(p, "take of %#lx (%lu pages): already allocated",
		    (unsigned long)pa, (unsigned long)npages);
		return -EFAULT;
	}
	bits_fill(z, i, npages, true);
	z->nfree -= npages;
	p->free_pages -= npages;
	return 0;
}

/* Does page i of z lie wholly below the allocation limit? */
static bool below_limit(const struct pmm *p, const struct pmm_zone *z,
			uint64_t i, uint64_t npages)
{
	uint64_t end = z->base + (i + npages) * VM_PAGE;
	return end <= p->limit;
}

uint64_t pmm_core_alloc(struct pmm *p)
{
	for (unsigned zi = 0; zi < p->nzones; zi++) {
		struct pmm_zone *z = &p->zones[zi];
		if (z->nfree == 0 || z->base >= p->limit)
			continue;
		uint64_t nw = zone_words(z->npages);
		for (uint64_t w = z->hint; w < nw; w++) {
			if (z->bits[w] == ~0ULL)
				continue;
			z->hint = w;
			uint64_t i =
				w * WORD_BITS + __builtin_ctzll(~z->bits[w]);
			/* The lowest free page: if it is above the limit,
			 * so is every other free page of this zone. */
			if (!below_limit(p, z, i, 1))
				break;
			z->bits[w] |= 1ULL << (i % WORD_BITS);
			z->nfree--;
			p->free_pages--;
			return z->base + i * VM_PAGE;
		}
	}
	return 0;
}

uint64_t pmm_core_alloc_contig(struct pmm *p, uint64_t npages)
{
	if (npages == 0)
		return 0;
	if (npages == 1)
		return pmm_core_alloc(p);
	for (unsigned zi = 0; zi < p->nzones; zi++) {
		struct pmm_zone *z = &p->zones[zi];
		if (z->nfree < npages || z->base >= p->limit)
			continue;
		uint64_t run = 0, i = z->hint * WORD_BITS;
		while (i < z->npages) {
			if (i % WORD_BITS == 0 &&
			    z->bits[i / WORD_BITS] == ~0ULL) {
				run = 0;
				i += WORD_BITS;
				continue;
			}
			if (bit_get(z, i)) {
				run = 0;
				i++;
				continue;
			}
			run++;
			i++;
			if (run < npages)
				continue;
			uint64_t first = i - npages;
			if (!below_limit(p, z, first, npages))
				break;
			bits_fill(z, first, npages, true);
			z->nfree -= npages;
			p->free_pages -= npages;
			return z->base + first * VM_PAGE;
		}
	}
	return 0;
}

int pmm_core_free(struct pmm *p, uint64_t pa, uint64_t npages)
{
	int err = 0;
	struct pmm_zone *z = run_zone(p, pa, npages, "free", &err);
	if (!z)
		return err;
	uint64_t i = (pa - z->base) / VM_PAGE;
	if (!bits_all(z, i, npages, true)) {
		bad(p,
		    "free of %#lx (%lu pages): page not allocated (double free?)",
		    (unsigned long)pa, (unsigned long)npages);
		return -EFAULT;
	}
	bits_fill(z, i, npages, false);
	z->nfree += npages;
	p->free_pages += npages;
	if (i / WORD_BITS < z->hint)
		z->hint = i / WORD_BITS;
	return 0;
}

bool pmm_core_is_allocated(const struct pmm *p, uint64_t pa)
{
	for (unsigned i = 0; i < p->nzones; i++) {
		const struct pmm_zone *z = &p->zones[i];
		if (pa >= z->base && (pa - z->base) / VM_PAGE < z->npages)
			return bit_get(z, (pa - z->base) / VM_PAGE);
	}
	return false;
}
