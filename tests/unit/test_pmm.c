// SOURCES: vm/pmm_core.c vm/physmap.c
/*
 * test_pmm.c — the page allocator core (vm/pmm_core.c): exhaustion gives
 * back exactly the managed pages, contiguous runs, the allocation limit,
 * bad frees detected without damage, and a random workload checked against
 * a shadow model. The bitmap is a heap buffer of exactly the size asked
 * for, so AddressSanitizer catches any access past it.
 */
#include "tests/unit/unit.h"
#include "kern/errno.h"
#include "vm/vm_impl.h"

#define PG VM_PAGE
#define MiB (1024 * 1024ULL)

static struct pmm P;
static uint64_t *bitmap;
static char lastmsg[256];

static void report(void *ctx, const char *msg)
{
	snprintf(lastmsg, sizeof lastmsg, "%s", msg);
}

static void setup(const struct phys_range *r, unsigned n)
{
	free(bitmap);
	size_t bytes = pmm_core_bitmap_bytes(r, n);
	bitmap = malloc(bytes ? bytes : 1);
	memset(bitmap, 0xa5, bytes); /* init must not rely on zeroed memory */
	pmm_core_init(&P, r, n, bitmap, report, NULL);
	lastmsg[0] = 0;
}

static int in_ranges(const struct phys_range *r, unsigned n, uint64_t pa)
{
	for (unsigned i = 0; i < n; i++)
		if (pa >= r[i].start && pa + PG <= r[i].end)
			return 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

TEST(bitmap_size_and_counts)
{
	const struct phys_range r[] = {{MiB, 2 * MiB},
				       {4 * MiB, 4 * MiB + 65 * PG}};
	CHECK_EQ(pmm_core_bitmap_bytes(r, 2), (4 + 2) * 8);
	setup(r, 2);
	CHECK_EQ(P.nzones, 2);
	CHECK_EQ(P.total_pages, 256 + 65);
	CHECK_EQ(P.free_pages, 256 + 65);
}

TEST(exhaust_gives_exactly_all_pages)
{
	const struct phys_range r[] = {{MiB, 2 * MiB},
				       {4 * MiB, 4 * MiB + 65 * PG},
				       {1ULL << 40, (1ULL << 40) + 3 * PG}};
	setup(r, 3);
	uint64_t total = P.total_pages, got[400], n = 0, pa;
	while ((pa = pmm_core_alloc(&P))) {
		CHECK(n < 400);
		CHECK(pa % PG == 0 && in_ranges(r, 3, pa));
		got[n++] = pa;
	}
	CHECK_EQ(n, total);
	CHECK_EQ(P.free_pages, 0);
	CHECK_EQ(pmm_core_alloc_contig(&P, 2), 0);
	qsort(got, n, sizeof got[0], cmp_u64);
	for (uint64_t i = 1; i < n; i++)
		CHECK(got[i] != got[i - 1]);
	for (uint64_t i = 0; i < n; i++)
		CHECK_EQ(pmm_core_free(&P, got[i], 1), 0);
	CHECK_EQ(P.free_pages, total);
	CHECK_EQ(P.errors, 0);
	/* And again, after the hints moved around. */
	for (n = 0; pmm_core_alloc(&P); n++)
		;
	CHECK_EQ(n, total);
}

TEST(page_zero_is_never_handed_out)
{
	const struct phys_range r[] = {{0, 16 * PG}};
	setup(r, 1);
	CHECK_EQ(P.total_pages, 15);
	uint64_t n = 0, pa;
	while ((pa = pmm_core_alloc(&P)))
		n++;
	CHECK_EQ(n, 15);
	CHECK(!pmm_core_is_allocated(&P, 0));
	CHECK_EQ(pmm_core_free(&P, 0, 1), -ERANGE);
}

TEST(contiguous_runs)
{
	const struct phys_range r[] = {{MiB, MiB + 10 * PG},
				       {8 * MiB, 8 * MiB + 200 * PG}};
	setup(r, 2);
	uint64_t a = pmm_core_alloc_contig(&P, 10);
	CHECK_EQ(a, MiB); /* a whole zone fits */
	uint64_t b = pmm_core_alloc_contig(&P, 150);
	CHECK_EQ(b, 8 * MiB);
	for (unsigned i = 0; i < 150; i++)
		CHECK(pmm_core_is_allocated(&P, b + i * PG));
	CHECK(!pmm_core_is_allocated(&P, b + 150 * PG));
	CHECK_EQ(pmm_core_alloc_contig(&P, 51), 0); /* only 50 left */
	CHECK_EQ(pmm_core_alloc_contig(&P, 0), 0);
	uint64_t c = pmm_core_alloc_contig(&P, 50);
	CHECK_EQ(c, b + 150 * PG);
	CHECK_EQ(P.free_pages, 0);
	CHECK_EQ(pmm_core_free(&P, b, 150), 0);
	CHECK_EQ(pmm_core_free(&P, a, 10), 0);
	CHECK_EQ(pmm_core_free(&P, c, 50), 0);
	CHECK_EQ(P.free_pages, 210);
	CHECK_EQ(P.errors, 0);
}

TEST(contiguous_in_fragmented_memory)
{
	const struct phys_range r[] = {{MiB, MiB + 256 * PG}};
	setup(r, 1);
	uint64_t pages[256];
	for (int i = 0; i < 256; i++)
		pages[i] = pmm_core_alloc(&P);
	for (int i = 0; i < 256; i += 2)
		CHECK_EQ(pmm_core_free(&P, pages[i], 1), 0);
	CHECK_EQ(P.free_pages, 128);
	CHECK_EQ(pmm_core_alloc_contig(&P, 2), 0);
	/* Free pages 100 and 101's neighbour: 100..102 become a run of 3. */
	CHECK_EQ(pmm_core_free(&P, pages[101], 1), 0);
	CHECK_EQ(pmm_core_alloc_contig(&P, 3), pages[100]);
	CHECK_EQ(pmm_core_alloc_contig(&P, 2), 0);
	/* A run across a 64-page bitmap word boundary. */
	CHECK_EQ(pmm_core_free(&P, pages[63], 1), 0);
	CHECK_EQ(pmm_core_alloc_contig(&P, 3), pages[62]);
}

TEST(double_free_detected_nothing_changes)
{
	const struct phys_range r[] = {{MiB, 2 * MiB}};
	setup(r, 1);
	uint64_t a = pmm_core_alloc(&P);
	CHECK_EQ(pmm_core_free(&P, a, 1), 0);
	uint64_t before = P.free_pages;
	CHECK_EQ(pmm_core_free(&P, a, 1), -EFAULT);
	CHECK_EQ(P.errors, 1);
	CHECK_EQ(P.free_pages, before);
	CHECK(strstr(lastmsg, "not allocated"));
	/* A run that is only partly allocated is refused whole. */
	uint64_t run = pmm_core_alloc_contig(&P, 4);
	CHECK_EQ(pmm_core_free(&P, run + PG, 1), 0);
	before = P.free_pages;
	CHECK_EQ(pmm_core_free(&P, run, 4), -EFAULT);
	CHECK_EQ(P.free_pages, before);
	CHECK(pmm_core_is_allocated(&P, run));
	CHECK(pmm_core_is_allocated(&P, run + 2 * PG));
	CHECK_EQ(P.errors, 2);
}

TEST(bad_frees_out_of_range)
{
	const struct phys_range r[] = {{MiB, 2 * MiB}};
	setup(r, 1);
	uint64_t a = pmm_core_alloc(&P);
	uint64_t before = P.free_pages;
	CHECK_EQ(pmm_core_free(&P, 0, 1), -ERANGE);
	CHECK_EQ(pmm_core_free(&P, 3 * MiB, 1), -ERANGE);
	CHECK_EQ(pmm_core_free(&P, MiB - PG, 1), -ERANGE);
	CHECK_EQ(pmm_core_free(&P, UINT64_MAX & ~(PG - 1), 1), -ERANGE);
	CHECK_EQ(pmm_core_free(&P, a + 8, 1), -EINVAL);
	CHECK_EQ(pmm_core_free(&P, a, 0), -EINVAL);
	CHECK(strstr(lastmsg, "not a page-aligned run"));
	/* Running off the end of the zone. */
	CHECK_EQ(pmm_core_free(&P, 2 * MiB - PG, 2), -ERANGE);
	CHECK_EQ(pmm_core_free(&P, a, UINT64_MAX / PG), -ERANGE);
	CHECK_EQ(P.errors, 8);
	CHECK_EQ(P.free_pages, before);
	CHECK(pmm_core_is_allocated(&P, a));
}

TEST(take_reserves_pages)
{
	const struct phys_range r[] = {{MiB, MiB + 100 * PG}};
	setup(r, 1);
	CHECK_EQ(pmm_core_take(&P, MiB, 3), 0);
	CHECK_EQ(P.free_pages, 97);
	CHECK_EQ(pmm_core_take(&P, MiB + 2 * PG, 2), -EFAULT);
	CHECK_EQ(P.free_pages, 97);
	uint64_t pa;
	while ((pa = pmm_core_alloc(&P)))
		CHECK(pa >= MiB + 3 * PG);
	CHECK_EQ(P.free_pages, 0);
}

TEST(limit_keeps_allocations_low)
{
	const struct phys_range r[] = {{MiB, 3 * MiB}, {5 * MiB, 6 * MiB}};
	setup(r, 2);
	P.limit = 2 * MiB;
	uint64_t n = 0, pa;
	while ((pa = pmm_core_alloc(&P))) {
		CHECK(pa + PG <= 2 * MiB);
		n++;
	}
	CHECK_EQ(n, 256);
	CHECK_EQ(pmm_core_alloc_contig(&P, 2), 0);
	P.limit = 5 * MiB + 2 * PG;
	CHECK_EQ(pmm_core_alloc_contig(&P, 300), 0); /* 256 + 2 only */
	CHECK_EQ(pmm_core_alloc_contig(&P, 200), 2 * MiB);
	P.limit = UINT64_MAX;
	for (n = 0; pmm_core_alloc(&P); n++)
		;
	CHECK_EQ(n, 56 + 256);
}

TEST(random_workload_matches_model)
{
	enum { NP = 700 };
	const struct phys_range r[] = {{MiB, MiB + 300 * PG},
				       {16 * MiB, 16 * MiB + 400 * PG}};
	setup(r, 2);
	static unsigned char used[NP]; /* model: page index -> allocated */
	static uint64_t runs[NP][2]; /* live allocations: pa, npages */
	unsigned nruns = 0;
	uint64_t seed = 12345;
	memset(used, 0, sizeof used);
	for (int step = 0; step < 20000; step++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned op = (seed >> 33) % 10;
		if (op < 6 || nruns == 0) {
			uint64_t np = op < 4 ? 1 : 1 + (seed >> 40) % 20;
			uint64_t pa = np == 1 ? pmm_core_alloc(&P)
					      : pmm_core_alloc_contig(&P, np);
			if (!pa)
				continue;
			CHECK(nruns < NP);
			for (uint64_t i = 0; i < np; i++) {
				uint64_t q = pa + i * PG;
				CHECK(in_ranges(r, 2, q));
				unsigned idx =
					q < 16 * MiB
						? (q - MiB) / PG
						: 300 + (q - 16 * MiB) / PG;
				CHECK(!used[idx]);
				used[idx] = 1;
			}
			runs[nruns][0] = pa;
			runs[nruns][1] = np;
			nruns++;
		} else {
			unsigned k = (seed >> 20) % nruns;
			uint64_t pa = runs[k][0], np = runs[k][1];
			CHECK_EQ(pmm_core_free(&P, pa, np), 0);
			for (uint64_t i = 0; i < np; i++) {
				uint64_t q = pa + i * PG;
				unsigned idx =
					q < 16 * MiB
						? (q - MiB) / PG
						: 300 + (q - 16 * MiB) / PG;
				used[idx] = 0;
			}
			runs[k][0] = runs[nruns - 1][0];
			runs[k][1] = runs[nruns - 1][1];
			nruns--;
		}
		uint64_t nused = 0;
		for (unsigned i = 0; i < NP; i++)
			nused += used[i];
		CHECK_EQ(P.free_pages, NP - nused);
	}
	CHECK_EQ(P.errors, 0);
}

TEST(with_physmap_never_hands_out_reserved)
{
	const struct mem_range raw[] = {
		{0, 0x9fc00, MEM_USABLE},
		{0xf0000, 0x10000, MEM_RESERVED},
		{0x100000, 0x3f00000, MEM_USABLE},
		{0x2000000, 0x1000, MEM_ACPI},
	};
	const struct phys_range resv[] = {
		{0, MiB}, {2 * MiB, 2 * MiB + 0x2d123}, {0x3000000, 0x3400000}};
	static struct physmap pm;
	physmap_build(raw, 4, resv, 3, 1ULL << 46, &pm, NULL, NULL);
	setup(pm.free, pm.nfree);
	uint64_t pa, n = 0;
	while ((pa = pmm_core_alloc(&P))) {
		n++;
		CHECK(pa >= MiB);
		CHECK(pa + PG <= 2 * MiB || pa >= 2 * MiB + 0x2e000);
		CHECK(pa + PG <= 0x2000000 || pa >= 0x2001000);
		CHECK(pa + PG <= 0x3000000 || pa >= 0x3400000);
		CHECK(pa + PG <= 0x4000000);
	}
	CHECK_EQ(n * PG, pm.free_bytes);
	CHECK_EQ(n, 256 + (0x3000000 - 0x22e000) / PG - 1 + 0xc00000 / PG);
}

UNIT_MAIN()
