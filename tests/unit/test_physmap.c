// SOURCES: vm/physmap.c
/*
 * test_physmap.c — the boot memory map normalization (vm/physmap.c) on
 * real, odd and random maps. The random test checks every page against a
 * page-by-page oracle written from the rules in physmap.c's header.
 */
#include "tests/unit/unit.h"
#include "vm/vm_impl.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define MAXA (1ULL << 46)

static char msgs[4096];
static unsigned nmsgs;

static void report(void *ctx, const char *msg)
{
	nmsgs++;
	size_t l = strlen(msgs);
	snprintf(msgs + l, sizeof msgs - l, "%s\n", msg);
}

static struct physmap pm;

static void build(const struct mem_range *raw, unsigned n,
		  const struct phys_range *resv, unsigned nr, uint64_t max)
{
	msgs[0] = 0;
	nmsgs = 0;
	physmap_build(raw, n, resv, nr, max, &pm, report, NULL);
}

/* Sorted, disjoint, non-empty, page-aligned, below max. */
static int well_formed(const struct phys_range *r, unsigned n, uint64_t max)
{
	for (unsigned i = 0; i < n; i++) {
		if (r[i].start % VM_PAGE || r[i].end % VM_PAGE)
			return 0;
		if (r[i].start >= r[i].end || r[i].end > max)
			return 0;
		if (i && r[i].start <= r[i - 1].end)
			return 0;
	}
	return 1;
}

#define CHECK_RANGE(r, s, e)              \
	do {                              \
		CHECK_EQ((r).start, (s)); \
		CHECK_EQ((r).end, (e));   \
	} while (0)

TEST(qemu_map_unsorted)
{
	/* What qboot hands over for -m 256: the 1 TiB hole comes before the
	 * RAM above 1 MiB. */
	const struct mem_range raw[] = {
		{0, 0x9fc00, MEM_USABLE},
		{0x9fc00, 0x400, MEM_RESERVED},
		{0xd0000, 0x20000, MEM_NVS},
		{0xf0000, 0x10000, MEM_RESERVED},
		{0xfd00000000, 0x300000000, MEM_RESERVED},
		{0x100000, 0xff00000, MEM_USABLE},
	};
	const struct phys_range resv[] = {
		{0, MiB},
		{0x200000, 0x22d000}, /* kernel */
		{0xfbd7000, 0xffd7000}, /* module */
		{0xf000, 0xf0a0}, /* boot info, unaligned */
	};
	build(raw, 6, resv, 4, MAXA);
	CHECK_EQ(pm.oddities, 0);
	CHECK_EQ(nmsgs, 0);
	CHECK_EQ(pm.nram, 2);
	CHECK_RANGE(pm.ram[0], 0, 0x9f000);
	CHECK_RANGE(pm.ram[1], MiB, 256 * MiB);
	CHECK_EQ(pm.nfree, 3);
	CHECK_RANGE(pm.free[0], MiB, 2 * MiB);
	CHECK_RANGE(pm.free[1], 0x22d000, 0xfbd7000);
	CHECK_RANGE(pm.free[2], 0xffd7000, 256 * MiB);
	CHECK_EQ(pm.ram_bytes, 0x9f000 + 255 * MiB);
	CHECK_EQ(pm.free_bytes, MiB + (0xfbd7000 - 0x22d000) + 0x29000);
}

TEST(overlapping_usable_merged)
{
	const struct mem_range raw[] = {
		{MiB, 8 * MiB, MEM_USABLE},
		{4 * MiB, 8 * MiB, MEM_USABLE},
		{12 * MiB, 4 * MiB, MEM_USABLE}, /* touches: no oddity */
	};
	build(raw, 3, NULL, 0, MAXA);
	CHECK_EQ(pm.nram, 1);
	CHECK_RANGE(pm.ram[0], MiB, 16 * MiB);
	CHECK_EQ(pm.oddities, 1);
	CHECK(strstr(msgs, "overlap at 0x400000-0x8fffff"));
}

TEST(reserved_inside_usable_wins)
{
	const struct mem_range raw[] = {
		{MiB, 63 * MiB, MEM_USABLE},
		{8 * MiB + 100, 50, MEM_RESERVED},
		{32 * MiB - 10, 20, MEM_ACPI},
		{40 * MiB, 4 * KiB, 77}, /* unknown type: also not RAM */
	};
	build(raw, 4, NULL, 0, MAXA);
	CHECK_EQ(pm.nram, 4);
	CHECK_RANGE(pm.ram[0], MiB, 8 * MiB);
	CHECK_RANGE(pm.ram[1], 8 * MiB + 4 * KiB, 32 * MiB - 4 * KiB);
	CHECK_RANGE(pm.ram[2], 32 * MiB + 4 * KiB, 40 * MiB);
	CHECK_RANGE(pm.ram[3], 40 * MiB + 4 * KiB, 64 * MiB);
	CHECK_EQ(pm.oddities, 3);
	CHECK(strstr(msgs, "type 3 memory at 0x1fffff6-0x2000009"));
}

TEST(reserved_list_unaligned_grows_to_pages)
{
	const struct mem_range raw[] = {{0, 16 * MiB, MEM_USABLE}};
	const struct phys_range resv[] = {
		{0, MiB},
		{2 * MiB + 16, 2 * MiB + 32},
		{4 * MiB - 1, 4 * MiB + 1},
		{5 * MiB, 5 * MiB}, /* empty: ignored */
	};
	build(raw, 1, resv, 4, MAXA);
	CHECK_EQ(pm.oddities, 0);
	CHECK_EQ(pm.nram, 1);
	CHECK_EQ(pm.nfree, 3);
	CHECK_RANGE(pm.free[0], MiB, 2 * MiB);
	CHECK_RANGE(pm.free[1], 2 * MiB + 4 * KiB, 4 * MiB - 4 * KiB);
	CHECK_RANGE(pm.free[2], 4 * MiB + 4 * KiB, 16 * MiB);
}

TEST(unaligned_and_tiny_regions)
{
	const struct mem_range raw[] = {
		{0x100123, 0x100000, MEM_USABLE}, /* -> 0x101000-0x200000 */
		{0x300100, 0x800, MEM_USABLE}, /* no whole page */
		{0x400800, 0x1000, MEM_USABLE}, /* a page, straddling two */
		{0x500000, 0x1000, MEM_USABLE}, /* exactly one page */
		{0x600000, 0x800, MEM_USABLE}, /* two halves of ... */
		{0x600800, 0x800, MEM_USABLE}, /* ... one page: kept */
	};
	build(raw, 6, NULL, 0, MAXA);
	CHECK(well_formed(pm.ram, pm.nram, MAXA));
	CHECK_EQ(pm.nram, 3);
	CHECK_RANGE(pm.ram[0], 0x101000, 0x200000);
	CHECK_RANGE(pm.ram[1], 0x500000, 0x501000);
	CHECK_RANGE(pm.ram[2], 0x600000, 0x601000);
	CHECK_EQ(pm.oddities, 2);
	CHECK(strstr(msgs, "0x300100-0x3008ff holds no whole page"));
	CHECK(strstr(msgs, "0x400800-0x4017ff holds no whole page"));
}

TEST(nothing_above_1mib)
{
	const struct mem_range raw[] = {
		{0, 0x9fc00, MEM_USABLE},
		{0xf0000, 0x10000, MEM_RESERVED},
	};
	const struct phys_range resv[] = {{0, MiB}};
	build(raw, 2, resv, 1, MAXA);
	CHECK_EQ(pm.nram, 1);
	CHECK_EQ(pm.nfree, 0);
	CHECK_EQ(pm.free_bytes, 0);
}

TEST(empty_map)
{
	build(NULL, 0, NULL, 0, MAXA);
	CHECK_EQ(pm.nram, 0);
	CHECK_EQ(pm.nfree, 0);
	CHECK_EQ(pm.oddities, 0);
}

TEST(out_of_order_entries)
{
	const struct mem_range raw[] = {
		{64 * MiB, 64 * MiB, MEM_USABLE},
		{MiB, 15 * MiB, MEM_USABLE},
		{4 * GiB, 2 * GiB, MEM_USABLE},
		{16 * MiB, 16 * MiB, MEM_RESERVED},
		{32 * MiB, 32 * MiB, MEM_USABLE},
	};
	build(raw, 5, NULL, 0, MAXA);
	CHECK_EQ(pm.oddities, 0);
	CHECK_EQ(pm.nram, 3);
	CHECK_RANGE(pm.ram[0], MiB, 16 * MiB);
	CHECK_RANGE(pm.ram[1], 32 * MiB, 128 * MiB);
	CHECK_RANGE(pm.ram[2], 4 * GiB, 6 * GiB);
}

TEST(empty_and_wrapping_entries)
{
	const struct mem_range raw[] = {
		{MiB, 0, MEM_USABLE},
		{0xFFFFFFFFFFFFF000ULL, 0x2000, MEM_USABLE},
		{0xFFFFFFFFFFFF0000ULL, 0x10000, MEM_RESERVED},
		{UINT64_MAX, UINT64_MAX, MEM_RESERVED},
		{2 * MiB, 2 * MiB, MEM_USABLE},
	};
	build(raw, 5, NULL, 0, UINT64_MAX);
	CHECK(well_formed(pm.ram, pm.nram, UINT64_MAX));
	CHECK_EQ(pm.nram, 1);
	CHECK_RANGE(pm.ram[0], 2 * MiB, 4 * MiB);
	CHECK(strstr(msgs, "entry 0 is empty"));
	CHECK(strstr(msgs, "entry 1 (0xfffffffffffff000 + 0x2000) wraps"));
}

TEST(wrapping_reserved_entry_still_blocks)
{
	/* A firmware entry running past 2^64 must still cover what it can. */
	const struct mem_range raw[] = {
		{0xFFFFFFFFFF000000ULL, 0x800000, MEM_USABLE},
		{0xFFFFFFFFFF700000ULL, 0x1000000, MEM_RESERVED},
	};
	build(raw, 2, NULL, 0, UINT64_MAX);
	CHECK_EQ(pm.nram, 1);
	CHECK_RANGE(pm.ram[0], 0xFFFFFFFFFF000000ULL, 0xFFFFFFFFFF700000ULL);
	CHECK_EQ(pm.oddities, 1);
}

TEST(huge_addresses_clipped)
{
	const struct mem_range raw[] = {
		{MiB, 15 * MiB, MEM_USABLE},
		{MAXA - 8 * MiB, 16 * MiB, MEM_USABLE}, /* straddles max */
		{1ULL << 63, 1ULL << 62, MEM_USABLE}, /* far beyond */
		{UINT64_MAX - 0x1fff, 0x2000,
		 MEM_USABLE}, /* the last 2 pages */
	};
	build(raw, 4, NULL, 0, MAXA);
	CHECK(well_formed(pm.ram, pm.nram, MAXA));
	CHECK_EQ(pm.nram, 2);
	CHECK_RANGE(pm.ram[1], MAXA - 8 * MiB, MAXA);
	CHECK_EQ(pm.oddities, 4); /* cut, beyond, wraps + beyond */
	CHECK(strstr(msgs, "reaches beyond 0x400000000000; cut"));
}

TEST(max_addr_not_page_aligned)
{
	const struct mem_range raw[] = {{MiB, 16 * MiB, MEM_USABLE}};
	build(raw, 1, NULL, 0, 8 * MiB + 123);
	CHECK_EQ(pm.nram, 1);
	CHECK_RANGE(pm.ram[0], MiB, 8 * MiB);
}

TEST(too_many_ranges_stays_well_formed)
{
	struct mem_range raw[64];
	struct phys_range resv[200];
	for (unsigned i = 0; i < 64; i++)
		raw[i] = (struct mem_range){(uint64_t)i * 16 * MiB, 8 * MiB,
					    MEM_USABLE};
	/* Punch 3 holes in each usable range: 256 pieces wanted. */
	unsigned nr = 0;
	for (unsigned i = 0; i < 64; i++)
		for (unsigned j = 1; j <= 3; j++)
			resv[nr++] = (struct phys_range){
				(uint64_t)i * 16 * MiB + j * 2 * MiB,
				(uint64_t)i * 16 * MiB + j * 2 * MiB + 4096};
	build(raw, 64, resv, nr, MAXA);
	CHECK(well_formed(pm.ram, pm.nram, MAXA));
	CHECK(well_formed(pm.free, pm.nfree, MAXA));
	CHECK_EQ(pm.nram, 64);
	CHECK_EQ(pm.nfree, PHYSMAP_MAX);
	CHECK(pm.oddities > 0);
	CHECK(strstr(msgs, "too many memory ranges"));
	/* Nothing reserved leaked into the free list. */
	for (unsigned i = 0; i < nr; i++)
		CHECK_EQ(phys_ranges_overlap(pm.free, pm.nfree, resv[i].start,
					     resv[i].end),
			 0);
}

/* ------------------------------------------------------ random vs oracle */

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

#define SPACE (64 * VM_PAGE) /* a small physical address space */

static int covered(const struct mem_range *raw, unsigned n, uint64_t a,
		   uint64_t b)
{
	/* Is every byte of [a, b) inside some usable entry? */
	for (uint64_t x = a; x < b; x++) {
		int in = 0;
		for (unsigned i = 0; i < n && !in; i++)
			in = raw[i].type == MEM_USABLE && x >= raw[i].base &&
			     x < raw[i].base + raw[i].len;
		if (!in)
			return 0;
	}
	return 1;
}

static int touched(uint64_t s, uint64_t e, uint64_t a, uint64_t b)
{
	return s < e && s < b && e > a;
}

TEST(random_maps_match_oracle)
{
	for (int iter = 0; iter < 300; iter++) {
		struct mem_range raw[12];
		struct phys_range resv[4];
		unsigned n = 1 + rnd(12), nr = rnd(5);
		for (unsigned i = 0; i < n; i++) {
			uint64_t base = rnd(SPACE);
			uint64_t len = rnd(4) ? rnd(16 * VM_PAGE) : rnd(3000);
			raw[i] = (struct mem_range){
				base, len, rnd(3) ? MEM_USABLE : 2 + rnd(4)};
		}
		for (unsigned i = 0; i < nr; i++) {
			uint64_t s = rnd(SPACE);
			resv[i] = (struct phys_range){s, s + rnd(8 * VM_PAGE)};
		}
		uint64_t max = SPACE - rnd(8 * VM_PAGE);
		build(raw, n, resv, nr, max);
		CHECK(well_formed(pm.ram, pm.nram, max));
		CHECK(well_formed(pm.free, pm.nfree, max));
		for (uint64_t p = 0; p < SPACE; p += VM_PAGE) {
			int ram = p + VM_PAGE <= (max & ~(VM_PAGE - 1)) &&
				  covered(raw, n, p, p + VM_PAGE);
			for (unsigned i = 0; i < n && ram; i++)
				if (raw[i].type != MEM_USABLE &&
				    touched(raw[i].base,
					    raw[i].base + raw[i].len, p,
					    p + VM_PAGE))
					ram = 0;
			int fr = ram;
			for (unsigned i = 0; i < nr && fr; i++)
				if (touched(resv[i].start, resv[i].end, p,
					    p + VM_PAGE))
					fr = 0;
			if ((phys_ranges_overlap(pm.ram, pm.nram, p,
						 p + VM_PAGE) != 0) != ram ||
			    (phys_ranges_overlap(pm.free, pm.nfree, p,
						 p + VM_PAGE) != 0) != fr) {
				printf("# iteration %d, page %#lx: ram %d free %d\n",
				       iter, (unsigned long)p, ram, fr);
				CHECK(0);
			}
		}
	}
}

UNIT_MAIN()
