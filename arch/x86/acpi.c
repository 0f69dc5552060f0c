/*
 * acpi.c — just enough ACPI to find the static tables the kernel reads at
 * boot (MADT for the IOAPIC and the ISA overrides, HPET for its address).
 *
 * Interface (x86.h): acpi_find_table(sig, &len) returns a checksummed table,
 * mapped, or NULL. arch_acpi_set_rsdp() (arch.h) hands over the RSDP the boot
 * loader reported; without one we search the EBDA's first KiB and the BIOS
 * area 0xE0000-0xFFFFF, where qboot and SeaBIOS put it (ACPI 6.x §5.2.5.1).
 *
 * Tables live in reserved or ACPI memory that the direct map need not cover,
 * so everything is read through vm_map_firmware (read-only, cached; mapping
 * a range twice is fine). Only called during single-threaded boot.
 */
#include "arch/x86/x86.h"
#include "kern/kern.h"
#include "vm/vm.h"

struct acpi_rsdp {
	char sig[8]; /* "RSD PTR " */
	uint8_t checksum; /* over the first 20 bytes */
	char oem[6];
	uint8_t revision; /* 0: ACPI 1.0, RSDT only; >= 2: XSDT */
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 from here on */
	uint64_t xsdt;
	uint8_t xchecksum; /* over `length` bytes */
	uint8_t reserved[3];
} __packed;

struct acpi_sdt {
	char sig[4];
	uint32_t length; /* including this header */
	uint8_t revision;
	uint8_t checksum; /* the whole table sums to 0 */
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
} __packed;

#define MAX_TABLE_LEN (1UL << 20)

static uint64_t rsdp_hint; /* from the boot loader, 0 if none */
static uint64_t root_pa; /* RSDT or XSDT */
static bool root_is_xsdt;
static bool searched;

void arch_acpi_set_rsdp(uint64_t pa)
{
	rsdp_hint = pa;
}

/* Map [pa, pa+len) for reading; NULL if it cannot be mapped. */
static const void *acpi_map(uint64_t pa, size_t len)
{
	return vm_map_firmware(pa, len);
}

static bool checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	while (len--)
		sum += *b++;
	return sum == 0;
}

static bool rsdp_valid(const struct acpi_rsdp *r)
{
	if (memcmp(r->sig, "RSD PTR ", 8) || !checksum_ok(r, 20))
		return false;
	if (r->revision >= 2 && (r->length < sizeof *r || r->length > 4096 ||
				 !checksum_ok(r, sizeof *r)))
		return false;
	return true;
}

/* Scan [pa, pa+len) on 16-byte boundaries for a valid RSDP. */
static const struct acpi_rsdp *rsdp_scan(uint64_t pa, size_t len)
{
	const uint8_t *p = acpi_map(pa, len);
	if (!p)
		return NULL;
	for (size_t off = 0; off + sizeof(struct acpi_rsdp) <= len; off += 16)
		if (rsdp_valid((const struct acpi_rsdp *)(p + off)))
			return (const struct acpi_rsdp *)(p + off);
	return NULL;
}

static const struct acpi_rsdp *rsdp_find(void)
{
	if (rsdp_hint) {
		const struct acpi_rsdp *r = acpi_map(rsdp_hint, sizeof *r);
		if (r && rsdp_valid(r))
			return r;
		printk(KERN_WARN
		       "shoal: acpi: RSDP at %#lx from the loader is invalid; searching\n",
		       (unsigned long)rsdp_hint);
	}
	/* The BDA word at 0x40E holds the EBDA's real-mode segment. */
	const uint16_t *ebda_seg = acpi_map(0x40E, 2);
	if (ebda_seg) {
		uint64_t ebda = (uint64_t)*ebda_seg << 4;
		if (ebda >= 0x80000 && ebda < 0xA0000) {
			const struct acpi_rsdp *r = rsdp_scan(ebda, 1024);
			if (r)
				return r;
		}
	}
	return rsdp_scan(0xE0000, 0x20000);
}

/* Map a whole table after checking its header; NULL if bad. */
static const struct acpi_sdt *table_map(uint64_t pa)
{
	const struct acpi_sdt *h = acpi_map(pa, sizeof *h);
	if (!h || h->length < sizeof *h || h->length > MAX_TABLE_LEN)
		return NULL;
	uint32_t len = h->length;
	h = acpi_map(pa, len);
	if (!h || !checksum_ok(h, len))
		return NULL;
	return h;
}

static void acpi_init(void)
{
	searched = true;
	const struct acpi_rsdp *r = rsdp_find();
	if (!r) {
		printk(KERN_NOTICE "shoal: acpi: no RSDP found\n");
		return;
	}
	if (r->revision >= 2 && r->xsdt) {
		root_pa = r->xsdt;
		root_is_xsdt = true;
	} else {
		root_pa = r->rsdt;
	}
	const struct acpi_sdt *root = table_map(root_pa);
	if (!root || memcmp(root->sig, root_is_xsdt ? "XSDT" : "RSDT", 4)) {
		printk(KERN_WARN "shoal: acpi: bad %s at %#lx\n",
		       root_is_xsdt ? "XSDT" : "RSDT", (unsigned long)root_pa);
		root_pa = 0;
	}
}

const void *acpi_find_table(const char *sig, uint32_t *len)
{
	if (!searched)
		acpi_init();
	if (!root_pa)
		return NULL;
	const struct acpi_sdt *root = table_map(root_pa);
	if (!root)
		return NULL;
	size_t esize = root_is_xsdt ? 8 : 4;
	size_t n = (root->length - sizeof *root) / esize;
	const uint8_t *ents = (const uint8_t *)(root + 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		memcpy(&pa, ents + i * esize, esize);
		const struct acpi_sdt *h = acpi_map(pa, sizeof *h);
		if (!h || memcmp(h->sig, sig, 4))
			continue;
		h = table_map(pa);
		if (!h) {
			printk(KERN_WARN
			       "shoal: acpi: table %.4s at %#lx is corrupt\n",
			       sig, (unsigned long)pa);
			continue;
		}
		if (len)
			*len = h->length;
		return h;
	}
	return NULL;
}
