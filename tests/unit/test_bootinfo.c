// SOURCES: kern/bootinfo.c tests/unit/libc_host.c
/*
 * Host tests of the boot-information parser (kern/bootinfo.c): multiboot2
 * and PVH structures built in a fake physical memory, good and bad.
 */
#include "kern/bootinfo.h"
#include "kern/kern.h"
#include "tests/unit/unit.h"

#define MEM_SIZE (1u << 20)
static uint8_t mem[MEM_SIZE] __attribute__((aligned(8)));

static const void *map(uint64_t pa, size_t len)
{
	if (pa >= MEM_SIZE || len > MEM_SIZE - pa)
		return NULL;
	return mem + pa;
}

static int nwarn;
static char lastwarn[256];
static void warn(const char *msg)
{
	nwarn++;
	snprintf(lastwarn, sizeof lastwarn, "%s", msg);
}

/* ---- a multiboot2 information builder ---- */
static uint32_t mb_off, mb_base;

static void mb_begin(uint32_t base)
{
	memset(mem, 0, sizeof mem);
	mb_base = base;
	mb_off = 8;
}
static uint8_t *mb_tag(uint32_t type, uint32_t bodylen)
{
	uint8_t *t = mem + mb_base + mb_off;
	uint32_t size = 8 + bodylen;
	memcpy(t, &type, 4);
	memcpy(t + 4, &size, 4);
	mb_off += (size + 7) & ~7u;
	return t + 8;
}
static void mb_string(uint32_t type, const char *s)
{
	memcpy(mb_tag(type, strlen(s) + 1), s, strlen(s) + 1);
}
static void mb_module(uint32_t start, uint32_t end, const char *name)
{
	uint8_t *b = mb_tag(3, 8 + strlen(name) + 1);
	memcpy(b, &start, 4);
	memcpy(b + 4, &end, 4);
	memcpy(b + 8, name, strlen(name) + 1);
}
static void mb_mmap(const struct mem_range *r, int n)
{
	uint8_t *b = mb_tag(6, 8 + 24 * n);
	uint32_t esize = 24, ever = 0;
	memcpy(b, &esize, 4);
	memcpy(b + 4, &ever, 4);
	for (int i = 0; i < n; i++) {
		memcpy(b + 8 + 24 * i, &r[i].base, 8);
		memcpy(b + 16 + 24 * i, &r[i].len, 8);
		memcpy(b + 24 + 24 * i, &r[i].type, 4);
	}
}
static void mb_end(void)
{
	mb_tag(0, 0);
	memcpy(mem + mb_base, &mb_off, 4);
}

static const struct mem_range qemu_map[] = {
	{0, 0x9fc00, MEM_USABLE},
	{0x9fc00, 0x400, MEM_RESERVED},
	{0x100000, 0xff00000, MEM_USABLE},
	{0xfffc0000, 0x40000, MEM_RESERVED},
};

static void parse(uint32_t magic, uint64_t pa, struct bootinfo *bi)
{
	nwarn = 0;
	bootinfo_parse(magic, pa, map, warn, bi);
}

TEST(mb2_good)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	mb_string(1, "node=3 selftest");
	mb_string(2, "GRUB 2.06");
	mb_module(0x400000, 0x800000, "root");
	mb_mmap(qemu_map, 4);
	mb_end();
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(nwarn, 0);
	CHECK_EQ(bi.proto, BOOT_MB2);
	CHECK_STR(bi.cmdline, "node=3 selftest");
	CHECK_STR(bi.loader, "GRUB 2.06");
	CHECK_EQ(bi.nmods, 1);
	CHECK_EQ(bi.mods[0].start, 0x400000);
	CHECK_EQ(bi.mods[0].end, 0x800000);
	CHECK_STR(bi.mods[0].name, "root");
	CHECK_EQ(bi.nmmap, 4);
	CHECK_EQ(bi.mmap[2].base, 0x100000);
	CHECK_EQ(bi.mmap[2].len, 0xff00000);
	CHECK_EQ(bi.mmap[2].type, MEM_USABLE);
	CHECK_EQ(bi.info_start, 0x1000);
	CHECK_EQ(bi.info_end, 0x1000 + mb_off);
}

TEST(mb2_missing_end_tag)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	mb_string(1, "node=1");
	memcpy(mem + 0x1000, &mb_off, 4); /* no end tag */
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(nwarn, 1);
	CHECK(strstr(lastwarn, "no end tag"));
	CHECK_STR(bi.cmdline, "node=1"); /* what was valid is kept */
}

TEST(mb2_tag_size_past_the_end)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	uint8_t *b = mb_tag(1, 8);
	memcpy(b, "node=1\0", 8);
	uint32_t huge = 0x10000;
	memcpy(b - 4, &huge, 4);
	mb_end();
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK(nwarn >= 1);
	CHECK(strstr(lastwarn, "bad size") || strstr(lastwarn, "end tag"));
	CHECK_STR(bi.cmdline, "");
}

TEST(mb2_insane_total_size)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	uint32_t total = 4;
	memcpy(mem + 0x1000, &total, 4);
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(nwarn, 1);
	total = 0xfffffff0;
	memcpy(mem + 0x1000, &total, 4);
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(nwarn, 1);
	CHECK_EQ(bi.nmmap, 0);
}

TEST(mb2_unreadable_or_misaligned)
{
	struct bootinfo bi;
	parse(MB2_BOOTLOADER_MAGIC, MEM_SIZE + 4096, &bi);
	CHECK_EQ(nwarn, 1);
	CHECK(strstr(lastwarn, "unreadable"));
	parse(MB2_BOOTLOADER_MAGIC, 0x1004, &bi);
	CHECK_EQ(nwarn, 1);
	/* the total size reaches past readable memory */
	mb_begin(MEM_SIZE - 64);
	uint32_t total = 4096;
	memcpy(mem + mb_base, &total, 4);
	parse(MB2_BOOTLOADER_MAGIC, MEM_SIZE - 64, &bi);
	CHECK_EQ(nwarn, 1);
}

TEST(mb2_unterminated_cmdline_is_cut)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	uint8_t *b = mb_tag(1, 6);
	memcpy(b, "node=7", 6); /* no NUL inside the tag */
	mb_string(2, "X");
	mb_end();
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_STR(bi.cmdline, "node=7");
	CHECK_STR(bi.loader, "X");
}

TEST(mb2_bad_module_and_mmap_entries)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	mb_module(0x800000, 0x400000, "backwards");
	struct mem_range odd[] = {
		{0x100000, 0, MEM_USABLE}, /* empty: dropped */
		{0xfffffffffffff000, 0x2000, MEM_USABLE}, /* wraps: cut */
		{0x200000, 0x1000, 77}, /* unknown type */
	};
	mb_mmap(odd, 3);
	mb_end();
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(bi.nmods, 0);
	CHECK_EQ(nwarn, 2);
	CHECK_EQ(bi.nmmap, 2);
	CHECK_EQ(bi.mmap[0].base + bi.mmap[0].len, 0); /* ends at 2^64 */
	CHECK_EQ(bi.mmap[1].type, MEM_RESERVED);
}

TEST(mb2_bad_mmap_entry_size)
{
	struct bootinfo bi;
	mb_begin(0x1000);
	uint8_t *b = mb_tag(6, 8 + 16);
	uint32_t esize = 16;
	memcpy(b, &esize, 4);
	mb_end();
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(nwarn, 1);
	CHECK_EQ(bi.nmmap, 0);
}

TEST(mb2_too_many_ranges_and_modules)
{
	struct bootinfo bi;
	struct mem_range many[BOOTINFO_MAX_MMAP + 5];
	for (int i = 0; i < BOOTINFO_MAX_MMAP + 5; i++)
		many[i] = (struct mem_range){0x100000 * (i + 1), 0x1000,
					     MEM_USABLE};
	mb_begin(0x1000);
	mb_mmap(many, BOOTINFO_MAX_MMAP + 5);
	for (int i = 0; i < BOOTINFO_MAX_MODS + 2; i++)
		mb_module(0x10000000 + i * 0x1000, 0x10000800 + i * 0x1000,
			  "m");
	mb_end();
	parse(MB2_BOOTLOADER_MAGIC, 0x1000, &bi);
	CHECK_EQ(bi.nmmap, BOOTINFO_MAX_MMAP);
	CHECK_EQ(bi.nmods, BOOTINFO_MAX_MODS);
	CHECK_EQ(nwarn, 5 + 2);
}

/* ---- PVH ---- */
struct pvh_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct pvh_mod {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct pvh_mm {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static struct pvh_info *pvh_build(void)
{
	memset(mem, 0, sizeof mem);
	struct pvh_info *si = (struct pvh_info *)(mem + 0x6000);
	*si = (struct pvh_info){.magic = PVH_START_MAGIC, .version = 1};
	strcpy((char *)mem + 0x7000, "node=5 loglevel=7");
	si->cmdline_paddr = 0x7000;
	struct pvh_mod *m = (struct pvh_mod *)(mem + 0x7100);
	m[0] = (struct pvh_mod){0xf000000, 0x400000, 0, 0};
	si->nr_modules = 1;
	si->modlist_paddr = 0x7100;
	struct pvh_mm *mm = (struct pvh_mm *)(mem + 0x7200);
	for (int i = 0; i < 4; i++)
		mm[i] = (struct pvh_mm){qemu_map[i].base, qemu_map[i].len,
					qemu_map[i].type, 0};
	si->memmap_paddr = 0x7200;
	si->memmap_entries = 4;
	si->rsdp_paddr = 0xf5000;
	return si;
}

TEST(pvh_good)
{
	struct bootinfo bi;
	pvh_build();
	parse(PVH_START_MAGIC, 0x6000, &bi);
	CHECK_EQ(nwarn, 0);
	CHECK_EQ(bi.proto, BOOT_PVH);
	CHECK_STR(bi.cmdline, "node=5 loglevel=7");
	CHECK_EQ(bi.nmods, 1);
	CHECK_STR(bi.mods[0].name, "root");
	CHECK_EQ(bi.mods[0].end, 0xf400000);
	CHECK_EQ(bi.nmmap, 4);
	CHECK_EQ(bi.rsdp, 0xf5000);
	CHECK_EQ(bi.info_start, 0x6000);
}

TEST(pvh_bad_magic_and_version0)
{
	struct bootinfo bi;
	struct pvh_info *si = pvh_build();
	si->magic = 0x12345678;
	parse(PVH_START_MAGIC, 0x6000, &bi);
	CHECK_EQ(nwarn, 1);
	CHECK(strstr(lastwarn, "bad magic"));
	CHECK_EQ(bi.nmmap, 0);
	si = pvh_build();
	si->version = 0;
	parse(PVH_START_MAGIC, 0x6000, &bi);
	CHECK_EQ(nwarn, 1);
	CHECK(strstr(lastwarn, "no memory map"));
	CHECK_STR(bi.cmdline, "node=5 loglevel=7");
}

TEST(pvh_unreadable_lists)
{
	struct bootinfo bi;
	struct pvh_info *si = pvh_build();
	si->modlist_paddr = MEM_SIZE - 8;
	si->memmap_paddr = 0xfffffffffffffff0ull;
	si->cmdline_paddr = MEM_SIZE - 3; /* string runs off the end */
	memcpy(mem + MEM_SIZE - 3, "abc", 3);
	parse(PVH_START_MAGIC, 0x6000, &bi);
	CHECK_EQ(nwarn, 2);
	CHECK_EQ(bi.nmods, 0);
	CHECK_EQ(bi.nmmap, 0);
	CHECK_STR(bi.cmdline, "abc");
}

TEST(pvh_huge_module_count)
{
	struct bootinfo bi;
	struct pvh_info *si = pvh_build();
	si->nr_modules = 0xffffffff;
	parse(PVH_START_MAGIC, 0x6000, &bi);
	CHECK(nwarn >= 1);
	CHECK(bi.nmods <= BOOTINFO_MAX_MODS);
}

TEST(unknown_magic)
{
	struct bootinfo bi;
	parse(0xdeadbeef, 0x1000, &bi);
	CHECK_EQ(bi.proto, BOOT_NONE);
	CHECK_EQ(nwarn, 1);
}

TEST(modules_overlapping_kernel_dropped)
{
	struct bootinfo bi;
	memset(&bi, 0, sizeof bi);
	bi.nmods = 3;
	bi.mods[0] = (struct boot_module){0x100000, 0x200000, "below"};
	bi.mods[1] = (struct boot_module){0x1ff000, 0x201000, "over"};
	bi.mods[2] = (struct boot_module){0x300000, 0x400000, "above"};
	nwarn = 0;
	bootinfo_drop_overlapping_modules(&bi, 0x200000, 0x300000, warn);
	CHECK_EQ(nwarn, 1);
	CHECK(strstr(lastwarn, "'over'"));
	CHECK_EQ(bi.nmods, 2);
	CHECK_STR(bi.mods[0].name, "below");
	CHECK_STR(bi.mods[1].name, "above");
}

UNIT_MAIN()
