/*
 * physmap.c — turns the loader's memory map into the list of pages the
 * allocator may hand out. Pure C: no kernel state, no machine access; the
 * host unit tests (tests/unit/test_physmap.c) compile this very file.
 *
 * Interface: physmap_build(raw map, reserved ranges, max_addr) -> struct
 * physmap with ram[] (usable RAM) and free[] (RAM minus the reserved ranges).
 *
 * Invariants of the result: both lists are sorted, disjoint, page-aligned,
 * no range is empty, nothing reaches max_addr. Usable entries only ever
 * shrink to whole pages, everything else (firmware types, unknown types,
 * the caller's reserved ranges) grows to whole pages and wins over usable
 * memory, so a page that is partly anything else is never handed out.
 * Firmware maps are often unsorted (qboot lists the 64-bit hole before the
 * RAM above 1 MiB), so order alone is not an oddity; overlaps, empty, tiny,
 * wrapping or out-of-reach entries are.
 */
#include "kern/kern.h"
#include "vm/vm_impl.h"

#define BLOCKED_MAX (2 * PHYSMAP_MAX)

struct builder {
	struct physmap *out;
	vm_report_fn report;
	void *ctx;
};

static void odd(struct builder *b, const char *fmt, ...) __printf(2, 3);
void vm_vreportf(vm_report_fn report, void *ctx, const char *fmt, va_list ap)
{
	char msg[160];
	if (!report)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	report(ctx, msg);
}

static void odd(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	b->out->oddities++;
	va_start(ap, fmt);
	vm_vreportf(b->report, b->ctx, fmt, ap);
	va_end(ap);
}

static uint64_t page_up(uint64_t x)
{
	/* The last page's end is not representable: stop one page short. */
	if (x > UINT64_MAX - (VM_PAGE - 1))
		return UINT64_MAX & ~(VM_PAGE - 1);
	return ALIGN_UP(x, VM_PAGE);
}

static void sort_ranges(struct phys_range *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct phys_range x = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].start > x.start) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
}

/* Remove [cut.start, cut.end) from the sorted list r[0..*n). */
static void subtract(struct builder *b, struct phys_range *r, unsigned *n,
		     struct phys_range cut)
{
	for (unsigned i = 0; i < *n; i++) {
		struct phys_range *x = &r[i];
		if (cut.end <= x->start || cut.start >= x->end)
			continue;
		if (cut.start <= x->start && cut.end >= x->end) {
			/* Swallowed whole. */
			for (unsigned j = i + 1; j < *n; j++)
				r[j - 1] = r[j];
			(*n)--;
			i--;
		} else if (cut.start <= x->start) {
			x->start = cut.end;
		} else if (cut.end >= x->end) {
			x->end = cut.start;
		} else {
			/* A hole in the middle: split in two. */
			if (*n == PHYSMAP_MAX) {
				odd(b,
				    "too many memory ranges; dropping %#lx-%#lx",
				    (unsigned long)cut.end,
				    (unsigned long)x->end - 1);
				x->end = cut.start;
				continue;
			}
			for (unsigned j = *n; j > i + 1; j--)
				r[j] = r[j - 1];
			r[i + 1] = (struct phys_range){cut.end, x->end};
			x->end = cut.start;
			(*n)++;
			i++;
		}
	}
}

static uint64_t sum(const struct phys_range *r, unsigned n)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < n; i++)
		s += r[i].end - r[i].start;
	return s;
}

uint64_t phys_ranges_overlap(const struct phys_range *r, unsigned n,
			     uint64_t start, uint64_t end)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = MAX(start, r[i].start), z = MIN(end, r[i].end);
		if (a < z)
			s += z - a;
	}
	return s;
}

/*
 * Collect the usable entries below max_addr, merge them (two halves of a
 * page in adjacent entries make a whole page), then shrink to whole pages.
 */
static unsigned collect_usable(struct builder *b, const struct mem_range *raw,
			       unsigned nraw, uint64_t max_addr,
			       struct phys_range *u)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nraw; i++) {
		const struct mem_range *m = &raw[i];
		if (m->type != MEM_USABLE)
			continue;
		uint64_t end = m->base + m->len;
		if (m->len == 0) {
			odd(b,
			    "memory map entry %u is empty (at %#lx); ignored",
			    i, (unsigned long)m->base);
			continue;
		}
		if (end < m->base) {
			odd(b,
			    "memory map entry %u (%#lx + %#lx) wraps past 2^64; cut",
			    i, (unsigned long)m->base, (unsigned long)m->len);
			end = UINT64_MAX;
		}
		if (m->base >= max_addr) {
			odd(b,
			    "usable memory at %#lx-%#lx lies beyond %#lx; ignored",
			    (unsigned long)m->base, (unsigned long)end - 1,
			    (unsigned long)max_addr);
			continue;
		}
		if (end > max_addr) {
			odd(b,
			    "usable memory at %#lx-%#lx reaches beyond %#lx; cut",
			    (unsigned long)m->base, (unsigned long)end - 1,
			    (unsigned long)max_addr);
			end = max_addr;
		}
		if (n == PHYSMAP_MAX) {
			odd(b, "too many memory ranges; dropping %#lx-%#lx",
			    (unsigned long)m->base, (unsigned long)end - 1);
			continue;
		}
		u[n++] = (struct phys_range){m->base, end};
	}
	sort_ranges(u, n);

	/* Merge overlapping and touching neighbours. */
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (k > 0 && u[i].start <= u[k - 1].end) {
			if (u[i].start < u[k - 1].end)
				odd(b,
				    "usable entries overlap at %#lx-%#lx; merged",
				    (unsigned long)u[i].start,
				    (unsigned long)MIN(u[i].end, u[k - 1].end) -
					    1);
			u[k - 1].end = MAX(u[k - 1].end, u[i].end);
		} else {
			u[k++] = u[i];
		}
	}

	/* Whole pages only. */
	n = 0;
	for (unsigned i = 0; i < k; i++) {
		uint64_t s = page_up(u[i].start);
		uint64_t e = ALIGN_DOWN(u[i].end, VM_PAGE);
		if (e <= s) {
			odd(b,
			    "usable memory at %#lx-%#lx holds no whole page; ignored",
			    (unsigned long)u[i].start,
			    (unsigned long)u[i].end - 1);
			continue;
		}
		u[n++] = (struct phys_range){s, e};
	}
	return n;
}

void physmap_build(const struct mem_range *raw, unsigned nraw,
		   const struct phys_range *reserved, unsigned nreserved,
		   uint64_t max_addr, struct physmap *out, vm_report_fn report,
		   void *ctx)
{
	struct builder b = {out, report, ctx};
	memset(out, 0, sizeof *out);
	max_addr = ALIGN_DOWN(max_addr, VM_PAGE);

	out->nram = collect_usable(&b, raw, nraw, max_addr, out->ram);

	/* Firmware and unknown types win over usable memory. */
	for (unsigned i = 0; i < nraw; i++) {
		const struct mem_range *m = &raw[i];
		if (m->type == MEM_USABLE || m->len == 0)
			continue;
		uint64_t end = m->base + m->len;
		if (end < m->base)
			end = UINT64_MAX;
		struct phys_range cut = {ALIGN_DOWN(m->base, VM_PAGE),
					 page_up(end)};
		if (phys_ranges_overlap(out->ram, out->nram, cut.start,
					cut.end))
			odd(&b,
			    "type %u memory at %#lx-%#lx overlaps usable memory; treated as reserved",
			    m->type, (unsigned long)m->base,
			    (unsigned long)end - 1);
		subtract(&b, out->ram, &out->nram, cut);
	}

	/* What the kernel already uses (image, modules, boot information). */
	memcpy(out->free, out->ram, out->nram * sizeof out->ram[0]);
	out->nfree = out->nram;
	for (unsigned i = 0; i < nreserved; i++) {
		if (reserved[i].end <= reserved[i].start)
			continue;
		struct phys_range cut = {ALIGN_DOWN(reserved[i].start, VM_PAGE),
					 page_up(reserved[i].end)};
		subtract(&b, out->free, &out->nfree, cut);
	}

	out->ram_bytes = sum(out->ram, out->nram);
	out->free_bytes = sum(out->free, out->nfree);
}
